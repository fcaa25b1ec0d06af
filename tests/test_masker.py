"""The shared mask model: threads' requests merged into batches, each caller gets its own rows."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from denoise_cli.masker import Cancelled, MaskRunner, SharedMasker
from denoise_cli.model import MaskNet

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def runner() -> MaskRunner:
    torch.manual_seed(5)
    return MaskRunner(MaskNet().eval(), CPU)


class GatedRunner:
    """Holds its first call until ``expected`` more requests wait in the masker's queue."""

    def __init__(self, inner: MaskRunner, expected: int):
        self.inner, self.expected = inner, expected
        self.masker: SharedMasker | None = None
        self.rows: list[int] = []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if not self.rows:
            deadline = time.monotonic() + 30
            while self.masker._queue.qsize() < self.expected and time.monotonic() < deadline:
                time.sleep(0.005)
        self.rows.append(x.shape[0])
        return self.inner(x)


def _inputs(seed: int, n: int, frames: int = 120) -> np.ndarray:
    return np.random.default_rng(seed).random((n, 161, frames), dtype=np.float32)


def _call_from_threads(masker, inputs) -> list:
    results = [None] * len(inputs)

    def call(i):
        results[i] = masker(inputs[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
        time.sleep(0.01)  # the first request reaches the server before the others
    for t in threads:
        t.join(60)
    return results


def test_requests_waiting_together_run_as_one_batch_and_match_separate_runs(runner):
    inputs = [_inputs(i, n) for i, n in enumerate([3, 5, 2, 4, 1])]
    gated = GatedRunner(runner, expected=len(inputs) - 1)
    with SharedMasker(gated) as masker:
        gated.masker = masker
        results = _call_from_threads(masker, inputs)
        assert (masker.batches, masker.requests) == (2, 5)
    assert gated.rows == [3, 5 + 2 + 4 + 1]  # the first alone, then all that waited, merged
    for x, got in zip(inputs, results):
        np.testing.assert_allclose(got, runner(x), atol=1e-5)


def test_different_frame_counts_are_not_merged_and_the_chunk_cap_holds(runner):
    inputs = [_inputs(0, 2), _inputs(1, 3, frames=80), _inputs(2, 4), _inputs(3, 4), _inputs(4, 1, frames=80)]
    gated = GatedRunner(runner, expected=len(inputs) - 1)
    with SharedMasker(gated, max_chunks=6) as masker:
        gated.masker = masker
        results = _call_from_threads(masker, inputs)
    assert sorted(gated.rows) == sorted([2, 3 + 1, 4, 4])  # 4 + 4 > 6 chunks: two batches
    for x, got in zip(inputs, results):
        np.testing.assert_allclose(got, runner(x), atol=1e-5)


def test_a_model_error_reaches_its_caller_and_the_server_goes_on(runner):
    calls = []

    def flaky(x):
        calls.append(x.shape)
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory")
        return runner(x)

    with SharedMasker(flaky) as masker:
        with pytest.raises(RuntimeError, match="out of memory"):
            masker(_inputs(0, 2))
        np.testing.assert_allclose(masker(_inputs(1, 2)), runner(_inputs(1, 2)), atol=1e-5)


def test_cancel_stops_callers_and_close_ends_the_server(runner):
    masker = SharedMasker(runner)
    masker.cancel.set()
    with pytest.raises(Cancelled):
        masker(_inputs(0, 1))
    masker.close()
    assert not masker._thread.is_alive()
