"""WriteBehind: blocks reach the writer in order from a background thread; errors come back."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf

from conftest import temp_leftovers
from denoise_cli.audio import AtomicWriter
from denoise_cli.errors import OutputError
from denoise_cli.writebehind import WriteBehind


class Recorder:
    def __init__(self, fail_at: int = -1):
        self.blocks, self.threads, self.fail_at = [], set(), fail_at

    def write(self, block):
        if len(self.blocks) == self.fail_at:
            raise OutputError("write failed (no space left on device)")
        self.blocks.append(block)
        self.threads.add(threading.get_ident())


def test_blocks_are_written_in_order_by_another_thread():
    rec = Recorder()
    blocks = [np.full((2, 10), i, np.float32) for i in range(20)]
    with WriteBehind(rec, depth=2) as writer:
        for block in blocks:
            writer.write(block)
    assert [b[0, 0] for b in rec.blocks] == list(range(20))
    assert rec.threads and threading.get_ident() not in rec.threads


def test_a_writer_error_comes_back_and_later_blocks_are_dropped():
    rec = Recorder(fail_at=3)
    with pytest.raises(OutputError, match="no space left"):
        with WriteBehind(rec, depth=1) as writer:
            for i in range(50):
                writer.write(np.zeros((1, 4), np.float32))
    assert len(rec.blocks) == 3


def test_the_callers_error_stops_the_thread_and_leaves_no_output(tmp_path):
    """An error in the cleaning loop: the queued blocks are dropped, the thread ends, and
    the atomic writer discards its temporary file (no partial output)."""
    out = tmp_path / "out.flac"
    with pytest.raises(RuntimeError, match="boom"):
        with AtomicWriter(out, 16_000, 1, "FLAC", "PCM_16") as atomic, WriteBehind(atomic) as writer:
            writer.write(np.zeros((1, 16_000), np.float32))
            raise RuntimeError("boom")
    assert not out.exists() and temp_leftovers(tmp_path) == []
    assert not [t for t in threading.enumerate() if t.name == "denoise-write"]


def test_the_file_equals_one_written_directly(tmp_path):
    x = np.clip(0.3 * np.random.default_rng(1).standard_normal((2, 48_000)), -1, 1).astype(np.float32)
    paths = tmp_path / "direct.flac", tmp_path / "behind.flac"
    with AtomicWriter(paths[0], 48_000, 2, "FLAC", "PCM_24") as direct:
        for i in range(0, 48_000, 5000):
            direct.write(x[:, i : i + 5000])
    with AtomicWriter(paths[1], 48_000, 2, "FLAC", "PCM_24") as atomic, WriteBehind(atomic) as behind:
        for i in range(0, 48_000, 5000):
            behind.write(x[:, i : i + 5000])
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert sf.info(paths[1]).frames == 48_000
