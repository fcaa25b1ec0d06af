"""Runs that share an output folder: the lock, --wait, and --dry-run's reasons."""

import json
import os
import threading
import time

from typer.testing import CliRunner

from denoise_cli.batch import OutputLock
from denoise_cli.cli import app

from conftest import voiced, write_audio  # noqa: F401  (shared helpers)


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _inputs(tmp_path, names=("a.wav", "b.wav")):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(names):
        write_audio(folder / name, voiced(2.0, 16_000, seed=i), 16_000)
    return folder


def test_second_run_on_a_locked_folder_exits_75_and_writes_nothing(tmp_path, random_weights):
    src, out = _inputs(tmp_path), tmp_path / "out"
    with OutputLock(out):
        result = _run("clean", src, out, "-j", "1", "--weights", random_weights)
    assert result.exit_code == 75
    assert "another denoise run (pid " in result.stderr and "--wait" in result.stderr
    assert sorted(os.listdir(out)) == [".denoise.lock"]


def test_wait_queues_behind_the_holder(tmp_path, random_weights):
    src, out = _inputs(tmp_path), tmp_path / "out"
    lock = OutputLock(out).__enter__()
    released = []

    def release():
        time.sleep(1.0)
        released.append(time.monotonic())
        lock.__exit__(None, None, None)

    threading.Thread(target=release).start()
    result = _run("clean", src, out, "-j", "1", "--wait", "--weights", random_weights)
    assert result.exit_code == 0, result.output
    assert released, "the run must not have finished before the lock was released"
    assert (out / "a.wav").is_file() and (out / "b.wav").is_file()


def _plan(src, out, weights, *extra):
    result = _run("clean", src, out, "--dry-run", "--json", "--weights", weights, *extra)
    assert result.exit_code == 0, result.output
    return {os.path.basename(item["input"]): (item["action"], item["reason"])
            for item in json.loads(result.stdout)}


def test_dry_run_says_what_and_why_and_changes_nothing(tmp_path, random_weights):
    src, out = _inputs(tmp_path), tmp_path / "out"
    assert _plan(src, out, random_weights) == {"a.wav": ("clean", "new"), "b.wav": ("clean", "new")}
    assert not out.exists()
    assert _run("clean", src, out, "-j", "1", "-q", "--weights", random_weights).exit_code == 0
    listing = sorted(os.listdir(out))
    assert _plan(src, out, random_weights) == {"a.wav": ("skip", "up to date"),
                                               "b.wav": ("skip", "up to date")}
    st = (src / "a.wav").stat()
    os.utime(src / "a.wav", ns=(st.st_atime_ns, st.st_mtime_ns - 10_000_000_000))
    (out / "b.wav").unlink()
    assert _plan(src, out, random_weights) == {"a.wav": ("clean", "input changed"),
                                               "b.wav": ("clean", "output missing")}
    assert _plan(src, out, random_weights, "--over-subtraction", "2.5")["a.wav"] == (
        "clean", "settings or model changed")
    assert _plan(src, out, random_weights, "--overwrite")["b.wav"] == ("clean", "overwrite")
    assert sorted(os.listdir(out)) == sorted(set(listing) - {"b.wav"})


def test_dry_run_plain_lines(tmp_path, random_weights):
    src, out = _inputs(tmp_path, ("a.wav",)), tmp_path / "out"
    result = _run("clean", src, out, "--dry-run", "--weights", random_weights)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [f"clean  {src / 'a.wav'}  (new)"]
