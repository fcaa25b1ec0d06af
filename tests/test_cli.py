"""`denoise clean` as a user runs it: exit codes, messages, skipping, reports, signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import ROOT, read_audio, temp_leftovers, tree_hashes, voiced, write_audio
from denoise_cli import __version__
from denoise_cli.cli import app
from denoise_cli.config import SpectralOptions

runner = CliRunner()




def denoise(*args):
    return runner.invoke(app, [str(a) for a in args])


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.fixture
def inputs(tmp_path) -> Path:
    """Three short files: 16 kHz mono WAV, 44.1 kHz stereo 24-bit FLAC, 8 kHz WAV."""
    root = tmp_path / "in"
    rng = np.random.default_rng(0)
    write_audio(root / "a.wav", voiced(0.8, 16_000) + 0.01 * rng.standard_normal(12_800), 16_000)
    write_audio(root / "sub" / "b.flac", np.stack([voiced(0.6, 44_100, 200), voiced(0.6, 44_100, 150)]),
                44_100, "PCM_24")
    write_audio(root / "C.WAV", voiced(0.5, 8_000, 110) + 0.01 * rng.standard_normal(4_000), 8_000)
    return root


OUTPUTS = ["C.WAV", "a.wav", "sub/b.flac"]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _summary(out: Path) -> dict:
    return json.loads((out / "denoise-run.json").read_text())


# --- help, version, usage errors ----------------------------------------------------------------
def test_version():
    result = denoise("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"denoise {__version__}"


@pytest.mark.parametrize("args", [["--help"], ["clean", "--help"]])
def test_help_lists_the_exit_codes(args):
    result = denoise(*args)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Exit codes" in text
    for code, word in [("0", "cleaned"), ("1", "failed"), ("2", "usage"), ("130", "interrupted"),
                       ("143", "terminated")]:
        assert re.search(rf"\b{code}\b[^;]*{word}", text, re.I), (code, word)


def test_no_arguments_shows_help_and_is_a_usage_error():
    result = denoise()
    assert result.exit_code == 2
    assert "clean" in result.output


@pytest.mark.parametrize("extra,message", [
    (["--bogus"], r"No such option"),
    (["--jobs", "-1"], r"Invalid value"),
    (["--format", "mp3"], r"Invalid value"),
    (["--vad-threshold", "2"], r"Invalid value"),
])
def test_bad_options_are_usage_errors(inputs, tmp_path, extra, message):
    result = denoise("clean", inputs, tmp_path / "out", *extra)
    assert result.exit_code == 2
    assert re.search(message, result.stderr)
    assert not (tmp_path / "out").exists()


def test_one_path_is_a_usage_error(inputs):
    result = denoise("clean", inputs)
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: give at least one INPUT and an OUTPUT_DIR"


@pytest.mark.parametrize("case", ["missing", "out_is_input_folder", "out_is_input_file", "no_audio",
                                  "missing_weights", "cuda"])
def test_path_usage_errors(inputs, tmp_path, random_weights, case):
    (tmp_path / "empty").mkdir()
    args, expected = {
        "missing": ([tmp_path / "nope", tmp_path / "out"], f"error: {tmp_path / 'nope'}: no such file or folder"),
        "out_is_input_folder": ([inputs, inputs], f"error: {inputs}: the output folder is an input"),
        "out_is_input_file": ([inputs / "a.wav", inputs / "a.wav"], f"error: {inputs / 'a.wav'}: "),
        "no_audio": ([tmp_path / "empty", tmp_path / "out"], "error: nothing to do: no .wav or .flac files"),
        "missing_weights": ([inputs, tmp_path / "out", "--weights", tmp_path / "w.pt"],
                            f"error: {tmp_path / 'w.pt'}: no such checkpoint"),
        "cuda": ([inputs, tmp_path / "out", "--device", "cuda"], "error: --device cuda: no CUDA device"),
    }[case]
    if case == "cuda":
        import torch

        if torch.cuda.is_available():
            pytest.skip("a CUDA device is available")
    before = tree_hashes(inputs)
    result = denoise("clean", *args, "-j", "1", "--weights", random_weights) if case != "missing_weights" \
        else denoise("clean", *args, "-j", "1")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(expected), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert tree_hashes(inputs) == before
    assert not (tmp_path / "out").exists()


# --- a normal run, re-runs and what decides skipping -----------------------------------------------
def test_clean_folder_then_rerun_skips_and_changes_redo(inputs, tmp_path, random_weights):
    out = tmp_path / "out"
    before = tree_hashes(inputs)
    base = ["clean", inputs, out, "-j", "1", "--weights", random_weights]

    result = denoise(*base)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 4 and lines[-1].startswith("3 cleaned, 0 skipped, 0 failed")
    for rel in OUTPUTS:
        assert any(line.startswith(f"cleaned {inputs / rel} -> {out / rel} (") for line in lines), rel
    assert _files(out) == sorted([".denoise-state.json", ".denoise.lock", "denoise-run.json"] + OUTPUTS +
                                 [r + ".json" for r in OUTPUTS])
    for rel in OUTPUTS:
        a, rate_a = read_audio(inputs / rel)
        b, rate_b = read_audio(out / rel)
        assert (rate_a, a.shape) == (rate_b, b.shape)
    report = json.loads((out / "a.wav.json").read_text())
    assert report["input"] == str(inputs / "a.wav") and report["output"] == str(out / "a.wav")
    mtimes = {rel: (out / rel).stat().st_mtime_ns for rel in OUTPUTS}

    # the same command again: everything up to date, nothing rewritten
    result = denoise(*base)
    assert result.exit_code == 0
    assert [f["status"] for f in _summary(out)["files"]] == ["skipped"] * 3
    assert {rel: (out / rel).stat().st_mtime_ns for rel in OUTPUTS} == mtimes
    assert "0 cleaned, 3 skipped, 0 failed" in result.stderr

    # --overwrite redoes everything
    result = denoise(*base, "--overwrite")
    assert result.exit_code == 0
    assert [f["status"] for f in _summary(out)["files"]] == ["cleaned"] * 3

    # a changed setting redoes everything
    result = denoise(*base, "--over-subtraction", "2.0")
    assert result.exit_code == 0
    assert [f["status"] for f in _summary(out)["files"]] == ["cleaned"] * 3
    report = json.loads((out / "a.wav.json").read_text())
    assert report["noise_profile"]["over_subtraction"] == 2.0  # one alpha for every file, steady or not
    assert report["settings"]["spectral"]["steady_over_subtraction"] is None
    profile = report["noise_profile"]
    assert profile["spectral_floor"] == SpectralOptions().floor_for(profile["level_spread_db"])  # still by the noise
    result = denoise(*base, "--over-subtraction", "2.0")
    assert [f["status"] for f in _summary(out)["files"]] == ["skipped"] * 3

    # a touched input is redone, the others are not
    st = (inputs / "a.wav").stat()
    os.utime(inputs / "a.wav", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    before["a.wav"] = tree_hashes(inputs)["a.wav"]
    result = denoise(*base, "--over-subtraction", "2.0")
    assert result.exit_code == 0
    statuses = {Path(f["input"]).name: f["status"] for f in _summary(out)["files"]}
    assert statuses == {"a.wav": "cleaned", "b.flac": "skipped", "C.WAV": "skipped"}

    # a deleted report is remade
    (out / "C.WAV.json").unlink()
    result = denoise(*base, "--over-subtraction", "2.0")
    statuses = {Path(f["input"]).name: f["status"] for f in _summary(out)["files"]}
    assert statuses == {"a.wav": "skipped", "b.flac": "skipped", "C.WAV": "cleaned"}
    assert (out / "C.WAV.json").exists()

    result = denoise(*base, "--over-subtraction", "2.0", "--spectral-floor", "0.3")
    assert [f["status"] for f in _summary(out)["files"]] == ["cleaned"] * 3
    report = json.loads((out / "a.wav.json").read_text())
    assert report["noise_profile"]["spectral_floor"] == 0.3  # one floor for every file, steady or not
    assert report["settings"]["spectral"]["steady_floor"] is None

    assert tree_hashes(inputs) == before
    assert temp_leftovers(tmp_path) == []


def test_json_summary_on_stdout(inputs, tmp_path, random_weights):
    out = tmp_path / "out"
    result = denoise("clean", inputs / "a.wav", out, "-j", "1", "--weights", random_weights, "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary == _summary(out)
    assert (summary["cleaned"], summary["failed"], summary["exit_code"]) == (1, 0, 0)
    assert summary["files"][0]["output"] == str(out / "a.wav")
    assert summary["audio_s_cleaned"] == pytest.approx(0.8)


def test_quiet_prints_nothing_on_success(inputs, tmp_path, random_weights):
    result = denoise("clean", inputs, tmp_path / "out", "-j", "1", "--weights", random_weights, "--quiet")
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    assert (tmp_path / "out" / "a.wav").exists()


def test_verbose_describes_each_file(inputs, tmp_path, random_weights):
    result = denoise("clean", inputs / "a.wav", tmp_path / "out", "-j", "1", "--weights", random_weights, "-v")
    assert result.exit_code == 0
    assert re.search(r"segments, speech \d+%, noise from (non-speech|minimum-statistics), SNR", result.stderr)


def test_report_dir_and_no_report(inputs, tmp_path, random_weights):
    out, reports = tmp_path / "out", tmp_path / "reports"
    result = denoise("clean", inputs, out, "-j", "1", "--weights", random_weights, "--report-dir", reports)
    assert result.exit_code == 0
    assert _files(reports) == sorted(r + ".json" for r in OUTPUTS)
    assert not list(out.rglob("*.wav.json")) and not list(out.rglob("*.flac.json"))
    assert (out / "denoise-run.json").exists()
    assert json.loads((reports / "sub" / "b.flac.json").read_text())["output"] == str(out / "sub" / "b.flac")

    out2 = tmp_path / "out2"
    result = denoise("clean", inputs, out2, "-j", "1", "--weights", random_weights, "--no-report")
    assert result.exit_code == 0
    assert _files(out2) == sorted([".denoise-state.json", ".denoise.lock", "denoise-run.json"] + OUTPUTS)


def test_format_flac_and_speech_only_flags(inputs, tmp_path, random_weights):
    out = tmp_path / "out"
    result = denoise("clean", inputs, out, "-j", "1", "--weights", random_weights, "--format", "flac",
                     "--no-dns", "--atten-limit-db", "12")
    assert result.exit_code == 0
    assert _files(out) == sorted([".denoise-state.json", ".denoise.lock", "denoise-run.json", "C.flac", "C.flac.json",
                                  "a.flac", "a.flac.json", "sub/b.flac", "sub/b.flac.json"])
    report = json.loads((out / "a.flac.json").read_text())
    assert report["output_format"] == {"container": "FLAC", "subtype": "PCM_16"}
    assert report["settings"]["attenuation_limit_db"] == 12.0
    assert report["stages"]["dns"] is False and report["checkpoint"] is None


def test_output_folder_inside_the_input_folder(inputs, random_weights):
    out = inputs / "cleaned"
    for _ in range(2):  # the second run must not take the first run's outputs as inputs
        result = denoise("clean", inputs, out, "-j", "1", "--weights", random_weights)
        assert result.exit_code == 0, result.output
    assert sorted(Path(f["input"]).name for f in _summary(out)["files"]) == ["C.WAV", "a.wav", "b.flac"]
    assert not (out / "cleaned").exists()


def test_parallel_jobs_give_the_same_outputs(inputs, tmp_path, random_weights):
    one, two = tmp_path / "one", tmp_path / "two"
    assert denoise("clean", inputs, one, "-j", "1", "--weights", random_weights).exit_code == 0
    result = denoise("clean", inputs, two, "-j", "2", "--weights", random_weights)
    assert result.exit_code == 0, result.output
    assert _summary(two)["cleaned"] == 3
    for rel in OUTPUTS:
        a, _ = read_audio(one / rel, "int32")
        b, _ = read_audio(two / rel, "int32")
        assert a.shape == b.shape
        lsb = 2 ** (32 - (24 if rel.endswith(".flac") else 16))
        assert np.abs(a.astype(np.int64) - b).max() <= lsb, rel
    assert temp_leftovers(tmp_path) == []


# --- failures -------------------------------------------------------------------------------------------
def test_one_bad_file_fails_alone(inputs, tmp_path, random_weights):
    (inputs / "bad.wav").write_text("not audio at all\n" * 50)
    before = tree_hashes(inputs)
    out = tmp_path / "out"
    result = denoise("clean", inputs, out, "-j", "1", "--weights", random_weights)
    assert result.exit_code == 1
    assert error_lines(result.stderr) == [f"error: {inputs / 'bad.wav'}: not readable as audio (Format not recognised)"]
    assert "3 cleaned, 0 skipped, 1 failed" in result.stderr
    for rel in OUTPUTS:
        assert (out / rel).exists()
    assert not (out / "bad.wav").exists() and not (out / "bad.wav.json").exists()
    failed = [f for f in _summary(out)["files"] if f["status"] == "failed"]
    assert failed == [{"input": str(inputs / "bad.wav"), "output": str(out / "bad.wav"), "status": "failed",
                       "reason": "not readable as audio (Format not recognised)", "duration_s": 0.0,
                       "seconds": failed[0]["seconds"]}]
    assert _summary(out)["exit_code"] == 1
    assert tree_hashes(inputs) == before
    assert temp_leftovers(tmp_path) == []
    # the failed file is tried again on the next run; the good ones are skipped
    result = denoise("clean", inputs, out, "-j", "1", "--weights", random_weights)
    assert result.exit_code == 1
    assert sorted(f["status"] for f in _summary(out)["files"]) == ["failed", "skipped", "skipped", "skipped"]


def test_output_that_cannot_be_written_fails_with_a_message(inputs, tmp_path, random_weights):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where the folder sub/ should go")
    result = denoise("clean", inputs, out, "-j", "1", "--weights", random_weights)
    assert result.exit_code == 1
    lines = error_lines(result.stderr)
    assert len(lines) == 1
    assert re.fullmatch(rf"error: {re.escape(str(inputs / 'sub' / 'b.flac'))}: cannot write "
                        rf"{re.escape(str(out / 'sub'))} \(.+\)", lines[0]), lines[0]
    assert (out / "a.wav").exists() and (out / "C.WAV").exists()
    assert temp_leftovers(tmp_path) == []


def test_corrupt_checkpoint_fails_each_file_with_one_line(inputs, tmp_path):
    weights = tmp_path / "broken.pt"
    weights.write_bytes(b"\x00not a checkpoint" * 100)
    result = denoise("clean", inputs, tmp_path / "out", "-j", "1", "--weights", weights)
    assert result.exit_code == 1
    lines = error_lines(result.stderr)
    assert len(lines) == 3
    for line in lines:
        assert f"{weights}: not a usable denoise checkpoint" in line
    # one line per failed file plus the summary: the reason must not spill over several lines
    assert len(result.stderr.strip().splitlines()) == 4, result.stderr


# --- the installed command, end to end -----------------------------------------------------------
def _run(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "denoise_cli", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=300, **kw)


def test_subprocess_exit_codes(inputs, tmp_path, random_weights):
    ok = _run("clean", inputs / "a.wav", tmp_path / "out", "-j", "1", "--weights", random_weights)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "out" / "a.wav").exists()
    usage = _run("clean", tmp_path / "nope.wav", tmp_path / "out2")
    assert usage.returncode == 2
    assert usage.stderr.strip() == f"error: {tmp_path / 'nope.wav'}: no such file or folder"
    (inputs / "zero.wav").write_bytes(b"")
    failed = _run("clean", inputs / "zero.wav", inputs / "a.wav", tmp_path / "out3", "-j", "1",
                  "--weights", random_weights, "-q")
    assert failed.returncode == 1
    assert failed.stderr.strip() == f"error: {inputs / 'zero.wav'}: empty file (0 bytes)"
    assert failed.stdout == ""
    assert (tmp_path / "out3" / "a.wav").exists()




@pytest.mark.parametrize("body,code,out,err", [
    ("print('x' * 5000); sys.exit(3)", 3, "x" * 5000 + "\n", ""),  # buffered output still arrives
    ("print('done')", 0, "done\n", ""),
    ("sys.exit('bad thing')", 1, "", "bad thing\n"),
])
@pytest.mark.parametrize("imports", ["sys, torch", "sys"], ids=["torch", "no-torch"])
def test_the_fast_exit_keeps_output_and_exit_code(body, code, out, err, imports):
    """``run`` ends the process without teardown: output flushed, code kept."""
    script = (f"import {imports}\nfrom denoise_cli import cli\n"
              f"def fake(**kw):\n    {body}\ncli.app = fake\ncli.run()\nprint('never')")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout block-buffered
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, env=env)
    assert (done.returncode, done.stdout, done.stderr) == (code, out, err)


LONG_INPUT_S = 60


@pytest.fixture(scope="module")
def long_inputs(tmp_path_factory) -> Path:
    """Five 60 s files, long enough that a signal arrives while one of them is being cleaned."""
    root = tmp_path_factory.mktemp("long") / "in"
    rng = np.random.default_rng(9)
    for name in "abcde":
        x = np.tile(voiced(2.0, 16_000, 120 + 10 * "abcde".index(name)), LONG_INPUT_S // 2)
        write_audio(root / f"{name}.wav", x + 0.01 * rng.standard_normal(x.size), 16_000)
    return root


@pytest.mark.parametrize("jobs", [["-j", "1"], ["-j", "2"], ["-j", "2", "--parallel", "threads"]],
                         ids=["1", "2", "2-threads"])
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_the_batch_cleanly(long_inputs, tmp_path, random_weights, sig, code, jobs):
    out = tmp_path / "out"
    before = tree_hashes(long_inputs)
    # A test run started in the background (nohup, `cmd &` in a script) ignores SIGINT, and
    # its children inherit that, as they should; the CLI gets it back at its default here.
    proc = subprocess.Popen([sys.executable, "-m", "denoise_cli", "clean", str(long_inputs), str(out),
                             *jobs, "--weights", random_weights],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        # Wait for the run's own log line, not the worker's files: with -j 2 a worker
        # writes its report a moment before the parent hears that its file is done.
        # Any file may come first: with -j 2, this process and a worker start together.
        deadline = time.monotonic() + 240
        while not (first := [line for line in list(lines) if line.startswith("cleaned ")]):
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "no file was ever reported cleaned"
            time.sleep(0.05)
        proc.send_signal(sig)
        proc.wait(timeout=120)
        reader.join(timeout=30)
        stderr = "".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, stderr
    summary = _summary(out)
    assert summary["interrupted"] is True
    done = first[0].split()[1]  # "cleaned IN -> OUT (...)"
    entry = [f for f in summary["files"] if f["input"] == done]
    assert entry and entry[0]["status"] == "cleaned"
    assert summary["cleaned"] < 5
    assert read_audio(out / Path(done).name)[0].shape == (1, LONG_INPUT_S * 16_000)
    for name in "abcde":  # nothing half-written: an output is whole, and every file reported cleaned exists
        if any(f["input"].endswith(f"{name}.wav") and f["status"] == "cleaned" for f in summary["files"]):
            assert (out / f"{name}.wav").exists()
        if (out / f"{name}.wav").exists():  # with -j 2, a worker may finish a file the summary missed
            assert read_audio(out / f"{name}.wav")[0].shape == (1, LONG_INPUT_S * 16_000)
    assert temp_leftovers(out) == []
    assert tree_hashes(long_inputs) == before
    assert "interrupted" in stderr
    assert summary["exit_code"] == code  # the run summary records the exit code the process returned


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the worker through /proc")
def test_a_killed_worker_fails_only_its_file(long_inputs, tmp_path, random_weights):
    """With -j 2, a worker killed part way fails the file it had; this process cleans the rest."""
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "denoise_cli", "clean", str(long_inputs), str(out), "-j", "2",
                             "--weights", random_weights],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 240
        workers: list[int] = []
        while not workers:  # the fork server is our child; the worker is its child
            assert proc.poll() is None and time.monotonic() < deadline, "no worker process appeared"
            workers = [w for server in _children(proc.pid) for w in _children(server)]
            time.sleep(0.01)
        os.kill(workers[0], signal.SIGKILL)  # it is still loading models or cleaning its first file
        stderr = proc.communicate(timeout=240)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    summary = _summary(out)
    failed = [f for f in summary["files"] if f["status"] == "failed"]
    assert [f["reason"] for f in failed] == ["a worker process died (killed, or out of memory)"], stderr
    assert summary["cleaned"] == 4 and not (out / Path(failed[0]["output"]).name).exists()
    assert temp_leftovers(out) == []
    assert f"error: {failed[0]['input']}: a worker process died" in stderr
