"""`denoise report`: the page's rows, escaping, earlier runs, errors (no browser needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from conftest import write_audio
from denoise_cli.cli import app
from denoise_cli.html_report import collect_rows

runner = CliRunner()
HTML_NAME = "<b>bold</b> & <img src=x onerror=alert(1)>"


def make_run(root, speech_16k, weights, extra=()):
    """An input folder with two good files (one with HTML in its name) and a broken one, cleaned."""
    rate = 16000
    x = np.concatenate([np.zeros(rate // 2), speech_16k, np.zeros(rate // 2)])
    x = x + 0.01 * np.random.default_rng(0).standard_normal(x.size)
    write_audio(root / "in" / f"{HTML_NAME}.wav", x, rate)
    write_audio(root / "in" / "sub" / "long one.flac", np.tile(x, 2), rate, fmt="FLAC")
    (root / "in" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    r = runner.invoke(app, ["clean", str(root / "in"), str(root / "out"), "--weights", weights, "-q",
                            "-j", "1", *extra])
    assert r.exit_code == 1, r.output  # the broken file fails; the others are cleaned
    return root / "out"


def test_page_has_one_row_per_file_with_figures(tmp_path, speech_16k, random_weights):
    out = make_run(tmp_path, speech_16k, random_weights, ["--plot"])
    r = runner.invoke(app, ["report", str(out)])
    assert r.exit_code == 0 and "(3 files)" in r.output
    summary, rows = collect_rows(out)
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {f"{HTML_NAME}.wav", "sub/long one.flac", "broken.wav"}
    failed = by_name["broken.wav"]
    assert failed["status"] == "failed" and failed["reason"] and set(failed["links"]) == {"input"}
    good = by_name["sub/long one.flac"]
    report = json.loads((out / "sub" / "long one.flac.json").read_text())
    assert good["duration_s"] == report["duration_s"] and good["speech_ratio"] == report["speech_ratio"]
    assert good["snr_before_db"] == report["snr_estimate_db"]["before"]
    assert good["links"]["output"] == "sub/long%20one.flac"
    assert good["links"]["plot"] == "sub/long%20one.flac.png"
    assert good["links"]["input"] == "../in/sub/long%20one.flac"


def test_file_names_never_reach_the_page_as_html(tmp_path, speech_16k, random_weights):
    out = make_run(tmp_path, speech_16k, random_weights)
    runner.invoke(app, ["report", str(out)])
    page = (out / "index.html").read_text()
    assert "<b>bold" not in page and "<img src=x" not in page
    assert "\\u003cb\\u003ebold\\u003c/b\\u003e \\u0026" in page  # the name, as escaped JSON data


def test_files_of_earlier_runs_are_listed_too(tmp_path, speech_16k, random_weights):
    out = make_run(tmp_path, speech_16k, random_weights)
    other = tmp_path / "other"
    write_audio(other / "later.wav", np.tile(speech_16k, 2), 16000)
    assert runner.invoke(app, ["clean", str(other), str(out), "--weights", random_weights, "-q"]).exit_code == 0
    _, rows = collect_rows(out)
    assert sorted(r["name"] for r in rows) == sorted(["later.wav", f"{HTML_NAME}.wav", "sub/long one.flac"])
    assert {r["status"] for r in rows} == {"cleaned"}


def test_report_on_a_folder_without_a_run_is_a_usage_error(tmp_path):
    r = runner.invoke(app, ["report", str(tmp_path)])
    assert r.exit_code == 2 and "no denoise-run.json and no per-file reports" in r.output
    r = runner.invoke(app, ["report", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "missing: not a folder" in r.output


def test_page_is_the_same_from_any_folder_after_a_run_with_relative_paths(tmp_path, speech_16k,
                                                                         random_weights, monkeypatch):
    write_audio(tmp_path / "in" / "a.wav", np.tile(speech_16k, 2), 16000)
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["clean", "in", "out", "--weights", random_weights, "-q"]).exit_code == 0
    monkeypatch.chdir(tmp_path / "out")  # the page made from inside the output folder
    _, rows = collect_rows(Path("."))
    assert [r["name"] for r in rows] == ["a.wav"]  # not "out/a.wav", and no second row from the scan
    assert rows[0]["links"] == {"input": "../in/a.wav", "output": "a.wav", "report": "a.wav.json"}
    assert rows[0]["speech_ratio"] is not None  # its report was found through the run's cwd
