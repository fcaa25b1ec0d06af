"""Broken inputs among good ones: each fails alone with one line naming the file and the cause."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import temp_leftovers, tree_hashes, voiced, write_audio
from denoise_cli.cli import app

GOOD = ["good1.wav", "sub/good2.flac"]


def _bad_files(root):
    """name -> regex the file's error line must match after 'error: <path>: '."""
    full = write_audio(root / "_full.wav", np.zeros(16_000, np.float32), 16_000)
    data = full.read_bytes()
    full.unlink()
    (root / "truncated.wav").write_bytes(data[: len(data) // 2])
    (root / "empty.wav").write_bytes(b"")
    (root / "notes.wav").write_text("meeting notes, not audio\n" * 40)
    write_audio(root / "zero.wav", np.zeros(0, np.float32), 16_000)
    nan = np.zeros((2, 16_000), np.float32)
    nan[0, 4_000] = np.nan
    write_audio(root / "nan.wav", nan, 16_000, "FLOAT")
    inf = np.zeros(8_000, np.float32)
    inf[6_000] = np.inf
    write_audio(root / "inf.wav", inf, 8_000, "FLOAT")
    write_audio(root / "aiff.wav", np.zeros(100, np.float32), 16_000, fmt="AIFF")
    return {
        "truncated.wav": r"truncated: header declares 32000 bytes of audio, file holds \d+",
        "empty.wav": r"empty file \(0 bytes\)",
        "notes.wav": r"not readable as audio \(Format not recognised\)",
        "zero.wav": r"no audio samples \(0 frames\)",
        "nan.wav": r"NaN or infinite sample at 0\.250 s",
        "inf.wav": r"NaN or infinite sample at 0\.750 s",
        "aiff.wav": r"unsupported container AIFF \(WAV and FLAC only\)",
    }


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory, random_weights):
    root = tmp_path_factory.mktemp("bad")
    inputs, out = root / "in", root / "out"
    rng = np.random.default_rng(0)
    write_audio(inputs / "good1.wav", voiced(0.6, 16_000) + 0.01 * rng.standard_normal(9_600), 16_000)
    write_audio(inputs / "sub" / "good2.flac", voiced(0.5, 22_050, 180), 22_050)
    expected = _bad_files(inputs)
    before = tree_hashes(inputs)
    result = CliRunner().invoke(app, ["clean", str(inputs), str(out), "-j", "1", "--weights", random_weights])
    return result, inputs, out, expected, before


def test_exit_code_is_1(bad_run):
    result, *_ = bad_run
    assert result.exit_code == 1, result.output


def test_one_error_line_per_bad_file_naming_it_and_the_cause(bad_run):
    result, inputs, _, expected, _ = bad_run
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == len(expected)
    for name, reason in expected.items():
        pattern = rf"error: {re.escape(str(inputs / name))}: {reason}"
        assert sum(bool(re.fullmatch(pattern, line)) for line in lines) == 1, (name, lines)
    assert f"{len(GOOD)} cleaned, 0 skipped, {len(expected)} failed" in result.stderr


def test_good_files_are_cleaned_and_bad_ones_leave_nothing(bad_run):
    _, _, out, expected, _ = bad_run
    for rel in GOOD:
        assert (out / rel).is_file() and (out / (rel + ".json")).is_file()
    for name in expected:
        assert not (out / name).exists() and not (out / (name + ".json")).exists()
    assert temp_leftovers(out.parent) == []


def test_run_summary_lists_the_failures_with_reasons(bad_run):
    _, inputs, out, expected, _ = bad_run
    summary = json.loads((out / "denoise-run.json").read_text())
    assert (summary["cleaned"], summary["failed"], summary["exit_code"]) == (len(GOOD), len(expected), 1)
    failed = {os.path.basename(f["input"]): f["reason"] for f in summary["files"] if f["status"] == "failed"}
    assert set(failed) == set(expected)
    for name, reason in expected.items():
        assert re.fullmatch(reason, failed[name]), (name, failed[name])


def test_inputs_are_untouched(bad_run):
    _, inputs, _, _, before = bad_run
    assert tree_hashes(inputs) == before
