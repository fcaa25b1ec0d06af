"""The corpus of awkward inputs (tests/corpus.py) through `denoise clean`, as a user runs it.

The corpus is built once, cleaned once by a real `python -m denoise_cli clean ... -j 2`
subprocess, and every case is then checked as its own test: the expected output
(rate, channels, frames, subtype, container, finite samples) or exactly one
`error: <path>: <cause>` line; and for the run as a whole: exit code 1, the run
summary's counts, no temporary file left, inputs byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ROOT, temp_leftovers
from corpus import CASES, CLEAN, ERROR, IGNORED, Case, build_corpus, speechy, write

RUN_TIMEOUT_S = 600
FIFO_TIMEOUT_S = 60
CLEAN_CASES = [c for c in CASES if c.kind == CLEAN]
ERROR_CASES = [c for c in CASES if c.kind == ERROR]


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` without following links: kind, content hash or link target, mtime."""
    entries = {}
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = os.path.join(root, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, folder)
            if stat.S_ISLNK(st.st_mode):
                entries[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    entries[rel] = ("file", hashlib.sha256(f.read()).hexdigest(), st.st_size, st.st_mtime_ns)
            else:
                entries[rel] = ("dir" if stat.S_ISDIR(st.st_mode) else "other",)
    return entries


def displays(path: Path) -> set[str]:
    """Ways a CLI may print ``path`` in a one-line message: as is (when that is one
    line), or with control characters and undecodable bytes escaped, maybe quoted."""
    text = str(path)
    shown = text.encode("utf-8", "backslashreplace").decode("utf-8")  # what Python's stderr prints
    raw = os.fsencode(path).decode("utf-8", "backslashreplace")
    forms = {shown, raw}
    for form in list(forms):
        escaped = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in form)
        forms |= {escaped, f"'{escaped}'", f'"{escaped}"'}
    return {f for f in forms if "\n" not in f and "\r" not in f}


@dataclass
class CorpusRun:
    inputs: Path
    out: Path
    cases: list[Case]
    before: dict
    after: dict
    returncode: int
    stderr: str
    stdout: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return self.stderr.splitlines()

    def error_lines(self, case: Case) -> list[str]:
        prefixes = tuple(f"error: {d}: " for d in displays(self.inputs / case.name))
        return [line for line in self.lines if line.startswith(prefixes)]

    def summary(self) -> dict:
        path = self.out / "denoise-run.json"
        assert path.is_file(), f"no run summary; stderr ends:\n{self.stderr[-3000:]}"
        return json.loads(path.read_text(encoding="utf-8"))

    def summary_entries(self, case: Case) -> list[dict] | None:
        """The run summary's entries for ``case``; None without a summary (its own test fails)."""
        if not (self.out / "denoise-run.json").is_file():
            return None
        want = os.fsencode(self.inputs / case.name)
        return [f for f in self.summary()["files"] if os.fsencode(f["input"]) == want]


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory, random_weights) -> CorpusRun:
    root = tmp_path_factory.mktemp("corpus")
    inputs, out = root / "in", root / "out"
    cases = build_corpus(inputs)
    before = snapshot(inputs)
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "denoise_cli", "clean", str(inputs), str(out), "-j", "2",
         "--weights", random_weights],
        capture_output=True, timeout=RUN_TIMEOUT_S, cwd=ROOT,
    )
    seconds = time.perf_counter() - started
    return CorpusRun(inputs, out, cases, before, snapshot(inputs), proc.returncode,
                     proc.stderr.decode("utf-8", "surrogateescape"),
                     proc.stdout.decode("utf-8", "surrogateescape"), seconds)


# --- the run as a whole ---------------------------------------------------------------------
def test_corpus_is_a_real_mix():
    kinds = {k: sum(c.kind == k for c in CASES) for k in (CLEAN, ERROR, IGNORED)}
    assert kinds[CLEAN] >= 40 and kinds[ERROR] >= 40 and kinds[IGNORED] >= 5, kinds
    assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


def test_exit_code_is_1(corpus_run):
    assert corpus_run.returncode == 1, corpus_run.stderr[-3000:]


def test_no_traceback_or_numpy_warning(corpus_run):
    assert "Traceback" not in corpus_run.stderr, corpus_run.stderr[corpus_run.stderr.find("Traceback"):][:3000]
    warnings = [line for line in corpus_run.lines if "RuntimeWarning" in line]
    assert warnings == [], warnings


def test_every_error_line_belongs_to_an_error_case(corpus_run):
    errors = [line for line in corpus_run.lines if line.startswith("error:")]
    claimed = [line for case in ERROR_CASES for line in corpus_run.error_lines(case)]
    assert sorted(errors) == sorted(claimed), sorted(set(errors) - set(claimed))


def test_run_summary_counts(corpus_run):
    summary = corpus_run.summary()
    got = {k: summary[k] for k in ("cleaned", "skipped", "failed", "interrupted", "exit_code")}
    assert got == {"cleaned": len(CLEAN_CASES), "skipped": 0, "failed": len(ERROR_CASES),
                   "interrupted": False, "exit_code": 1}
    inputs = [f["input"] for f in summary["files"]]
    assert len(inputs) == len(set(inputs)), "an input listed twice"


def test_outputs_are_exactly_the_clean_cases(corpus_run):
    """No output for failed or ignored inputs, none twice (a link loop walked once)."""
    audio = {os.path.relpath(os.path.join(root, name), corpus_run.out)
             for root, _, files in os.walk(corpus_run.out) for name in files
             if not name.endswith(".json") and not name.startswith(".")}
    assert audio == {c.output_name for c in CLEAN_CASES}


def test_no_temporary_file_left(corpus_run):
    assert temp_leftovers(corpus_run.inputs, corpus_run.out) == []
    assert [p for p in corpus_run.out.rglob("*") if p.name.endswith(".denoise-tmp")] == []


def test_inputs_are_byte_identical(corpus_run):
    assert corpus_run.after == corpus_run.before


# --- every case -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(corpus_run, case: Case):
    run = corpus_run
    out = run.out / case.output_name
    if case.kind == ERROR:
        lines = run.error_lines(case)
        assert len(lines) == 1, (case.name, lines, [l for l in run.lines if os.path.basename(case.name) in l])
        cause = lines[0].split(": ", 2)[2] if lines[0].count(": ") >= 2 else lines[0]
        assert re.search(case.error, cause), f"{case.name}: cause {cause!r} does not match {case.error!r}"
        assert not os.path.lexists(out), f"{out} written for a failed input"
        assert not os.path.lexists(str(out) + ".json")
        entries = run.summary_entries(case)
        if entries is not None:
            assert [e["status"] for e in entries] == ["failed"]
            assert re.search(case.error, entries[0]["reason"])
    elif case.kind == CLEAN:
        assert run.error_lines(case) == [], run.error_lines(case)
        assert os.path.isfile(out), f"no output {out}"
        info = sf.info(os.fsencode(out))
        got = (info.samplerate, info.channels, info.frames, info.subtype, info.format)
        assert got == (case.rate_hz, case.channels, case.frames, case.subtype, case.container)
        with sf.SoundFile(os.fsencode(out)) as f:
            samples = f.read(dtype="float64", always_2d=True)
        assert samples.shape == (case.frames, case.channels)
        assert np.isfinite(samples).all(), f"{out}: non-finite samples"
        report = json.loads(Path(str(out) + ".json").read_text(encoding="utf-8"))
        assert report["status"] == "cleaned" and report["channels"] == case.channels
        entries = run.summary_entries(case)
        if entries is not None:
            assert [e["status"] for e in entries] == ["cleaned"]
    else:
        assert run.error_lines(case) == []
        assert run.summary_entries(case) in ([], None)
        inside = [c.output_name for c in CLEAN_CASES if c.output_name.startswith(case.name + "/")]
        if os.path.isdir(out):  # a folder (x.wav/, the link loop): only the outputs of cases inside it
            found = sorted(os.path.relpath(os.path.join(r, n), run.out) for r, _, fs in os.walk(out)
                           for n in fs if not n.endswith(".json"))
            assert found == sorted(inside)
        else:
            assert not os.path.lexists(out)


# --- a FIFO among the inputs ------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs mkfifo")
@pytest.mark.parametrize("jobs", ["1", "4"])  # 4: more jobs than files, each worker with a spare core
def test_a_fifo_named_wav_does_not_hang_the_run(tmp_path, random_weights, jobs):
    """A named pipe called x.wav is not a file to open and wait on: the run must finish,
    reporting it (or leaving it out) and cleaning the rest."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    write(inputs / "good.wav", speechy(4_800, 16_000), 16_000)
    os.mkfifo(inputs / "pipe.wav")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "denoise_cli", "clean", str(inputs), str(out), "-j", jobs,
             "--weights", random_weights],
            capture_output=True, text=True, timeout=FIFO_TIMEOUT_S, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail("denoise clean hung on a FIFO named pipe.wav (opened it and waited for a writer)")
    assert (out / "good.wav").is_file(), proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors in ([], [f"error: {inputs / 'pipe.wav'}: not a regular file"]) or (
        len(errors) == 1 and errors[0].startswith(f"error: {inputs / 'pipe.wav'}: ")), errors
    assert not (out / "pipe.wav").exists()
