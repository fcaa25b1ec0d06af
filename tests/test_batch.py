"""Walking inputs, planning outputs, and the library entry point clean_paths."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import temp_leftovers, tree_hashes, voiced, write_audio
from denoise_cli.batch import STATE_NAME, clean_paths, plan_jobs, remove_temporaries, walk_audio
from denoise_cli.config import CleanOptions, ModelOptions, RunOptions
from denoise_cli.errors import UsageError


def _touch_audio(path: Path) -> Path:
    fmt = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
    return write_audio(path, np.zeros(160, np.float32), 16_000, "PCM_16", fmt=fmt)


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "in"
    for rel in ["a.wav", "B.WAV", "sub/c.Flac", "sub/deeper/d.flac", ".hidden.wav", ".git/e.wav",
                "sub/.cache/f.wav", "out/g.wav", "z/h.wav"]:
        _touch_audio(root / rel)
    (root / "notes.txt").write_text("not audio")
    (root / "sub" / "song.mp3").write_bytes(b"ID3")
    (root / "sub" / "loop").symlink_to(root / "sub")  # a link loop is walked once
    return root


def test_walk_audio_finds_audio_case_insensitively_and_skips_hidden(tree):
    found = [str(p.relative_to(tree)) for p in walk_audio(tree, exclude=[tree / "out"])]
    assert found == ["B.WAV", "a.wav", "sub/c.Flac", "sub/deeper/d.flac", "z/h.wav"]


def test_plan_jobs_mirrors_relative_paths(tree, tmp_path):
    out = tmp_path / "cleaned"
    jobs = plan_jobs([tree, tree / "out" / "g.wav"], out, CleanOptions(), RunOptions())
    assert [(str(j.input.relative_to(tmp_path)), str(j.output.relative_to(out)), str(j.report.relative_to(out)))
            for j in jobs] == [
        ("in/B.WAV", "B.WAV", "B.WAV.json"),
        ("in/a.wav", "a.wav", "a.wav.json"),
        ("in/out/g.wav", "out/g.wav", "out/g.wav.json"),  # "out" is an ordinary folder here
        ("in/sub/c.Flac", "sub/c.Flac", "sub/c.Flac.json"),
        ("in/sub/deeper/d.flac", "sub/deeper/d.flac", "sub/deeper/d.flac.json"),
        ("in/z/h.wav", "z/h.wav", "z/h.wav.json"),
        ("in/out/g.wav", "g.wav", "g.wav.json"),
    ]
    assert all(j.duration_s == pytest.approx(0.01) and j.samples_per_s == 16_000 for j in jobs)


def test_plan_jobs_with_format_and_report_dir(tree, tmp_path):
    out, reports = tmp_path / "cleaned", tmp_path / "reports"
    jobs = plan_jobs([tree / "sub"], out, CleanOptions(output_format="flac"),
                     RunOptions(report_dir=str(reports)))
    assert [str(j.output.relative_to(out)) for j in jobs] == ["c.flac", "deeper/d.flac"]
    assert [str(j.report.relative_to(reports)) for j in jobs] == ["c.flac.json", "deeper/d.flac.json"]
    assert all(j.report is None for j in plan_jobs([tree / "sub"], out, CleanOptions(),
                                                     RunOptions(write_report=False)))


def test_output_folder_inside_the_input_folder_is_not_walked(tree):
    jobs = plan_jobs([tree], tree / "out", CleanOptions(), RunOptions())
    assert "out/g.wav" not in [str(j.input.relative_to(tree)) for j in jobs]
    assert len(jobs) == 5


@pytest.mark.parametrize("case,message", [
    ("missing", r"nope: no such file or folder$"),
    ("out_is_input_folder", r"the output folder is an input; choose another folder$"),
    ("out_is_input_file", r"a\.wav: (the output folder is an input; choose another folder|exists and is not a folder)$"),
    ("no_audio", r"^nothing to do: no \.wav or \.flac files in the inputs$"),
    ("not_audio_file", r"notes\.txt: not a \.wav or \.flac file$"),
    ("same_output", r"a\.wav and .*a\.wav would both be written to .*a\.wav$"),
    ("no_inputs", r"^no inputs given$"),
])
def test_plan_jobs_usage_errors(tree, tmp_path, case, message):
    other = tmp_path / "other"
    _touch_audio(other / "a.wav")
    (tmp_path / "empty").mkdir()
    inputs, out = {
        "missing": ([tree / "nope"], tmp_path / "o"),
        "out_is_input_folder": ([tree], tree),
        "out_is_input_file": ([tree / "a.wav"], tree / "a.wav"),
        "no_audio": ([tmp_path / "empty"], tmp_path / "o"),
        "not_audio_file": ([tree / "notes.txt"], tmp_path / "o"),
        "same_output": ([tree / "a.wav", other / "a.wav"], tmp_path / "o"),
        "no_inputs": ([], tmp_path / "o"),
    }[case]
    with pytest.raises(UsageError, match=message):
        plan_jobs(inputs, out, CleanOptions(), RunOptions())


def test_remove_temporaries_removes_only_temporaries(tmp_path):
    keep = [tmp_path / "a.wav", tmp_path / "x.denoise-tmp.wav", tmp_path / "sub" / "b.json"]
    gone = [tmp_path / ".a.wav.abc123.denoise-tmp", tmp_path / "sub" / ".b.json.xyz.denoise-tmp"]
    for p in keep + gone:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")
    assert remove_temporaries(tmp_path) == 2
    assert all(p.exists() for p in keep) and not any(p.exists() for p in gone)


# --- clean_paths from Python ----------------------------------------------------------------------------
@pytest.fixture
def small_inputs(tmp_path) -> Path:
    root = tmp_path / "in"
    rng = np.random.default_rng(0)
    write_audio(root / "a.wav", voiced(0.8, 16_000) + 0.01 * rng.standard_normal(12_800), 16_000)
    write_audio(root / "sub" / "b.flac", np.stack([voiced(0.6, 22_050, 200)] * 2), 22_050, "PCM_24")
    return root


def test_clean_paths_from_python(small_inputs, tmp_path, clean_opts):
    before = tree_hashes(small_inputs)
    out = tmp_path / "out"
    seen = []
    report = clean_paths([small_inputs], out, clean_opts, RunOptions(jobs=1),
                         on_start=lambda jobs: seen.append(len(jobs)), on_outcome=lambda o: seen.append(o.status))
    assert report.return_code == 0
    assert seen == [2, "cleaned", "cleaned"]
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        STATE_NAME, ".denoise.lock", "a.wav", "a.wav.json", "denoise-run.json", "sub/b.flac", "sub/b.flac.json"]
    summary = json.loads((out / "denoise-run.json").read_text())
    assert (summary["cleaned"], summary["skipped"], summary["failed"], summary["exit_code"]) == (2, 0, 0, 0)
    assert summary["audio_s_cleaned"] == pytest.approx(1.4, abs=1e-3)
    assert tree_hashes(small_inputs) == before
    assert temp_leftovers(tmp_path) == []
    # the second run has nothing to do
    again = clean_paths([small_inputs], out, clean_opts, RunOptions(jobs=1))
    assert [o.status for o in again.outcomes] == ["skipped", "skipped"]
    assert again.return_code == 0


def test_clean_paths_missing_checkpoint_is_a_usage_error(small_inputs, tmp_path):
    opts = CleanOptions(model=ModelOptions(weights=str(tmp_path / "nope.pt")))
    with pytest.raises(UsageError, match=r"nope\.pt: no such checkpoint"):
        clean_paths([small_inputs], tmp_path / "out", opts, RunOptions(jobs=1))
    assert not (tmp_path / "out").exists()


def test_fingerprint_ignores_block_size_but_not_settings():
    base = CleanOptions()
    assert base.fingerprint("x") == CleanOptions(block_s=1.0).fingerprint("x")
    assert base.fingerprint("x") != base.fingerprint("y")
    assert base.fingerprint("x") != CleanOptions(attenuation_limit_db=6.0).fingerprint("x")
    assert len(base.fingerprint(None)) == 16


def test_several_workers_take_the_longest_files_first(monkeypatch, tmp_path):
    """Handed out longest first (ties in walk order) when several workers run; one worker
    keeps the walk's order."""
    from denoise_cli import batch
    from denoise_cli.batch import Job, longest_first

    jobs = [Job(Path(f"{n}.wav"), Path(f"{n}.wav"), tmp_path / f"{n}.wav", None, d)
            for n, d in [("a", 30.0), ("b", 600.0), ("c", 0.0), ("d", 30.0), ("e", 45.5)]]
    assert [j.input.stem for j in longest_first(jobs)] == ["b", "e", "a", "d", "c"]
    handed = {}
    monkeypatch.setattr(batch, "_run_local_pool", lambda todo, *a: handed.setdefault("pool", todo) and iter(()))
    monkeypatch.setattr(batch, "clean_job", lambda job, *a, **k: handed.setdefault("one", []).append(job))
    monkeypatch.setattr("denoise_cli.preload.load_heavy_modules", lambda: None)
    list(batch._run_jobs(jobs, CleanOptions(), "cpu", RunOptions(jobs=2)))
    list(batch._run_jobs(jobs, CleanOptions(), "cpu", RunOptions(jobs=1)))
    assert [j.input.stem for j in handed["pool"]] == ["b", "e", "a", "d", "c"]
    assert [j.input.stem for j in handed["one"]] == ["a", "b", "c", "d", "e"]


def test_spare_cores_decode_and_encode_beside_the_work(small_inputs, tmp_path, clean_opts, monkeypatch):
    """Fewer files than --jobs: each worker's file gets background I/O, with the same bytes out
    as --jobs 1 (in this process for one file, in forked workers for two)."""
    from denoise_cli import pipeline
    from denoise_cli.batch import spare_cores

    assert [spare_cores(j, w) for j, w in [(1, 1), (2, 1), (2, 2), (3, 2), (4, 2), (8, 3)]] == [
        False, True, False, False, True, True]
    one = small_inputs / "a.wav"
    seen, clean_file = [], pipeline.clean_file
    monkeypatch.setattr(pipeline, "clean_file", lambda *a, **k: seen.append(k["background_io"]) or clean_file(*a, **k))
    clean_paths([one], tmp_path / "j1", clean_opts, RunOptions(jobs=1))
    clean_paths([one], tmp_path / "j2", clean_opts, RunOptions(jobs=2))
    assert seen == [False, True]
    assert (tmp_path / "j1" / "a.wav").read_bytes() == (tmp_path / "j2" / "a.wav").read_bytes()
    monkeypatch.undo()
    report = clean_paths([small_inputs], tmp_path / "j4", clean_opts, RunOptions(jobs=4))
    assert report.return_code == 0
    ones = clean_paths([small_inputs], tmp_path / "one", clean_opts, RunOptions(jobs=1))
    assert ones.return_code == 0
    for rel in ("a.wav", "sub/b.flac"):
        assert (tmp_path / "j4" / rel).read_bytes() == (tmp_path / "one" / rel).read_bytes()
    assert temp_leftovers(tmp_path) == []


def test_a_spare_core_serves_the_model_as_a_torch_thread_or_a_thread_of_its_own(tmp_path, clean_opts, monkeypatch):
    """With a spare core, a 16 kHz mono file (the model most of its work) gets two torch
    threads and no model thread; a 48 kHz stereo one the model thread and one torch thread;
    without a spare core, one torch thread and neither. The thread count is back after."""
    import torch

    from denoise_cli import pipeline
    from denoise_cli.batch import Job, clean_job
    from denoise_cli.report import CLEANED

    mono = write_audio(tmp_path / "mono.wav", voiced(0.5, 16_000), 16_000)
    stereo = write_audio(tmp_path / "stereo.wav", np.stack([voiced(0.5, 48_000)] * 2), 48_000)
    seen, real = [], pipeline.clean_file
    monkeypatch.setattr(pipeline, "clean_file", lambda *a, **k: seen.append(
        (torch.get_num_threads(), k["model_thread"])) or real(*a, **k))
    for src, spare in ((mono, True), (stereo, True), (mono, False)):
        rate = 16_000 if src == mono else 2 * 48_000
        job = Job(src, Path(src.name), tmp_path / "out" / f"{spare}-{src.name}", None, 0.5, samples_per_s=rate)
        assert clean_job(job, clean_opts, "cpu", background_io=spare).status == CLEANED
        assert torch.get_num_threads() == 1
    assert seen == [(2, False), (1, True), (1, False)]


def test_threads_sharing_one_model_give_the_outputs_of_one_process(tmp_path, clean_opts):
    """--parallel threads (the GPU path, here on the CPU) equals the in-process run; a bad file fails alone."""
    import soundfile as sf

    root = tmp_path / "in"
    rng = np.random.default_rng(3)
    for i, (rate, channels) in enumerate([(16_000, 1), (48_000, 2), (22_050, 1), (16_000, 2), (44_100, 1)]):
        x = np.stack([voiced(3.0, rate, 110 + 20 * i)] * channels)
        write_audio(root / f"f{i}.wav", x + 0.02 * rng.standard_normal(x.shape), rate)
    (root / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    before = tree_hashes(root)
    one = clean_paths([root], tmp_path / "one", clean_opts, RunOptions(jobs=1))
    threads = clean_paths([root], tmp_path / "threads", clean_opts, RunOptions(jobs=3, parallel="threads"))
    for report in (one, threads):
        assert sorted((Path(o.input).name, o.status) for o in report.outcomes) == [
            ("bad.wav", "failed")] + [(f"f{i}.wav", "cleaned") for i in range(5)]
        assert report.return_code == 1
    assert [o.reason for o in threads.outcomes if o.status == "failed"] == [
        o.reason for o in one.outcomes if o.status == "failed"]
    for i in range(5):
        a, _ = sf.read(tmp_path / "one" / f"f{i}.wav", dtype="int16")
        b, _ = sf.read(tmp_path / "threads" / f"f{i}.wav", dtype="int16")
        assert a.shape == b.shape and np.abs(a.astype(int) - b).max() <= 1
    assert tree_hashes(root) == before
    assert temp_leftovers(tmp_path) == []


@pytest.mark.cuda
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device")
def test_cuda_threads_equal_the_cpu_within_a_tolerance(small_inputs, tmp_path, clean_opts):
    """--device cuda runs files in threads sharing one model on the GPU: outputs match the CPU's."""
    import soundfile as sf

    cpu = clean_paths([small_inputs], tmp_path / "cpu", clean_opts, RunOptions(jobs=1, device="cpu"))
    gpu = clean_paths([small_inputs], tmp_path / "gpu", clean_opts, RunOptions(jobs=2, device="cuda"))
    assert cpu.return_code == gpu.return_code == 0
    for rel in ("a.wav", "sub/b.flac"):
        a, _ = sf.read(tmp_path / "cpu" / rel, dtype="float32")
        b, _ = sf.read(tmp_path / "gpu" / rel, dtype="float32")
        assert a.shape == b.shape and np.abs(a - b).max() < 2e-3


def test_auto_device_without_a_gpu_node_does_not_import_torch():
    """The parent of worker processes answers --device auto without loading torch where no GPU can be."""
    import subprocess
    import sys

    script = ("import sys\nfrom denoise_cli import batch\nbatch._no_gpu_device_node = lambda: True\n"
              "print(batch.resolve_device('auto'), 'torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["cpu", "False"], done.stderr


def test_a_file_finished_as_the_run_is_interrupted_is_kept_not_redone(small_inputs, tmp_path, clean_opts,
                                                                       monkeypatch):
    """A worker can finish a file (outputs renamed into place) just before the parent hears of it and is
    interrupted: the summary and the state still count it, so a re-run skips it. An older output of the
    other file, left by an earlier run, is not taken for new work."""
    from denoise_cli import batch

    out = tmp_path / "out"
    old = write_audio(out / "sub" / "b.flac", np.zeros(100), 22_050, "PCM_24", "FLAC")
    (out / "sub" / "b.flac.json").write_text("{}")
    for path in (old, out / "sub" / "b.flac.json"):
        os.utime(path, ns=(1, 1))

    def finish_a_then_interrupt(todo, opts, device, run):
        job = next(j for j in todo if j.input.name == "a.wav")
        batch.clean_job(job, opts, "cpu")  # the worker's work; its result never reaches the parent
        raise KeyboardInterrupt
        yield  # a generator, like the real one

    monkeypatch.setattr(batch, "_run_jobs", finish_a_then_interrupt)
    report = clean_paths([small_inputs], out, clean_opts, RunOptions(jobs=2))
    assert report.interrupted and report.return_code == 130
    assert [(Path(o.input).name, o.status) for o in report.outcomes] == [("a.wav", "cleaned")]
    assert report.outcomes[0].report["status"] == "cleaned"  # read back from its JSON report
    monkeypatch.undo()
    again = clean_paths([small_inputs], out, clean_opts, RunOptions(jobs=1))
    assert sorted((Path(o.input).name, o.status) for o in again.outcomes) == [("a.wav", "skipped"),
                                                                               ("b.flac", "cleaned")]


def test_a_worker_error_fails_only_its_file_and_the_next_gets_a_fresh_worker():
    """_feed_worker: a pool whose task raises (not a dead worker) fails that file with the error named."""
    import queue
    import threading
    from concurrent.futures import Future

    from denoise_cli.batch import Job, _feed_worker

    class Pool:
        started = 0

        def __init__(self):
            Pool.started += 1
            self.n = Pool.started

        def submit(self, fn, job, *args):
            future = Future()
            if self.n == 1:
                future.set_exception(RuntimeError("result could not be unpickled"))
            else:
                future.set_result(f"cleaned {job.input} on pool {self.n}")
            return future

        def shutdown(self, wait=True):
            pass

    jobs = [Job(Path(f"{name}.wav"), Path(f"{name}.wav"), Path(f"out/{name}.wav"), None, 1.0) for name in "ab"]
    todo, results = list(jobs), queue.SimpleQueue()
    _feed_worker(Pool, lambda: todo.pop(0) if todo else None, results, threading.Event(), CleanOptions(), "cpu")
    (first, failed), (second, cleaned), end = (results.get(timeout=5) for _ in range(3))
    assert (first, second, end) == (jobs[0], jobs[1], None)
    assert failed.status == "failed" and failed.input == "a.wav"
    assert failed.reason == "internal error: RuntimeError: result could not be unpickled"
    assert cleaned == "cleaned b.wav on pool 2"
