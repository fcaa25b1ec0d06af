"""--backend dask: the same per-file work on a real (local, loopback) Dask cluster."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from denoise_cli.cli import app

from conftest import read_audio, voiced, write_audio

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as c:
        yield c


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_dask_run_equals_local_run(tmp_path, random_weights, cluster):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, rel in enumerate(["a.wav", "sub/b.flac", "c.wav"]):
        x = voiced(2.0, 16_000, seed=i) + 0.02 * rng.standard_normal(32_000).astype(np.float32)
        write_audio(src / rel, x, 16_000)
    (src / "bad.wav").write_text("not audio")
    local = _run("clean", src, tmp_path / "local", "-j", "1", "--weights", random_weights)
    remote = _run("clean", src, tmp_path / "dask", "--backend", "dask",
                  "--scheduler", cluster.scheduler_address, "--weights", random_weights)
    assert local.exit_code == remote.exit_code == 1  # the bad file fails in both
    assert f"error: {src / 'bad.wav'}: not readable as audio" in remote.stderr
    for rel in ["a.wav", "sub/b.flac", "c.wav"]:
        a, rate_a = read_audio(tmp_path / "local" / rel, "int16")
        b, rate_b = read_audio(tmp_path / "dask" / rel, "int16")
        assert rate_a == rate_b and a.shape == b.shape
        assert np.abs(a.astype(int) - b).max() <= 1
    summary = json.loads((tmp_path / "dask" / "denoise-run.json").read_text())
    assert (summary["cleaned"], summary["failed"]) == (3, 1)
    again = _run("clean", src, tmp_path / "dask", "--backend", "dask",
                 "--scheduler", cluster.scheduler_address, "--weights", random_weights)
    statuses = [f["status"] for f in json.loads((tmp_path / "dask" / "denoise-run.json").read_text())["files"]]
    assert again.exit_code == 1 and sorted(statuses) == ["failed", "skipped", "skipped", "skipped"]


def test_dask_without_scheduler_is_a_usage_error(tmp_path, random_weights):
    src = tmp_path / "in"
    src.mkdir()
    write_audio(src / "a.wav", voiced(1.0, 16_000), 16_000)
    result = _run("clean", src, tmp_path / "out", "--backend", "dask", "--weights", random_weights)
    assert result.exit_code == 2
    assert "--backend dask needs --scheduler ADDRESS" in result.stderr
