"""Unattended runs: a full disk and an output folder removed mid-run."""

import errno
import json
import shutil

import soundfile as sf

from denoise_cli.batch import clean_paths
from denoise_cli.config import CleanOptions, ModelOptions, RunOptions
from denoise_cli.report import CLEANED, FAILED

from conftest import temp_leftovers, tree_hashes, voiced, write_audio


def _folder(tmp_path, n=3):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(n):
        write_audio(src / f"f{i}.wav", voiced(1.5, 16_000, seed=i), 16_000)
    return src


def test_disk_full_fails_that_file_cleanly_and_the_run_goes_on(tmp_path, random_weights, monkeypatch):
    src, out = _folder(tmp_path), tmp_path / "out"
    before = tree_hashes(src)
    real_write = sf.SoundFile.write
    calls = {"n": 0}

    def write(self, data):
        calls["n"] += 1
        if calls["n"] == 1:  # the first output block of the run finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", write)
    opts = CleanOptions(model=ModelOptions(weights=random_weights))
    report = clean_paths([src], out, opts, RunOptions(jobs=1))
    statuses = sorted(o.status for o in report.outcomes)
    assert statuses == [CLEANED, CLEANED, FAILED]
    failed = next(o for o in report.outcomes if o.status == FAILED)
    assert failed.reason == "write failed (no space left on device)"
    assert report.return_code == 1
    assert not (out / failed.output).exists() and not temp_leftovers(out)
    assert tree_hashes(src) == before
    assert json.loads((out / "denoise-run.json").read_text())["failed"] == 1


def test_output_folder_removed_mid_run(tmp_path, random_weights):
    src, out = _folder(tmp_path), tmp_path / "out"
    removed = []

    def on_outcome(outcome):
        if not removed:  # someone deletes the output folder after the first file
            shutil.rmtree(out)
            removed.append(outcome.output)

    opts = CleanOptions(model=ModelOptions(weights=random_weights))
    report = clean_paths([src], out, opts, RunOptions(jobs=1), on_outcome=on_outcome)
    assert [o.status for o in report.outcomes] == [CLEANED] * 3
    assert sorted(p.name for p in out.glob("*.wav")) == ["f1.wav", "f2.wav"]
    summary = json.loads((out / "denoise-run.json").read_text())
    assert summary["cleaned"] == 3 and not temp_leftovers(out)
