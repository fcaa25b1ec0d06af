"""Encoding an output in a background thread while the next block is cleaned.

For a file that has a spare core (``pipeline.clean_file`` with ``background_io``):
libsndfile and numpy free the GIL while they convert and encode, so the FLAC or
WAV encoding of one block runs on another core beside the cleaning of the next.
"""

from __future__ import annotations

import queue
import threading
from typing import Optional

import numpy as np

WRITE_BEHIND_BLOCKS = 2  # blocks that may wait to be written (each one block_s of audio)


class WriteBehind:
    """Hands blocks to ``writer.write`` in one background thread, in order.

    ``write`` returns once the block is queued (it waits while ``depth`` blocks
    already wait); the caller must not change a block after handing it over. An
    error raised by ``writer.write`` is raised again by the next ``write`` or by
    ``close``; the blocks after it are dropped. Use as a context manager inside
    the writer's own, so that every block is written (or the error raised)
    before the writer commits or discards its file.
    """

    def __init__(self, writer, depth: int = WRITE_BEHIND_BLOCKS):
        self.writer = writer
        self._queue: queue.Queue = queue.Queue(depth)
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name="denoise-write", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (block := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.writer.write(block)
                except BaseException as exc:  # raised in the caller's thread
                    self._error = exc

    def write(self, block: np.ndarray) -> None:
        """block: what ``writer.write`` takes, e.g. (channels, samples) float32."""
        self._raise_error()
        self._queue.put(block)

    def close(self) -> None:
        """Wait until every queued block is written; raise the writer's error, if any."""
        self._end_thread()
        self._raise_error()

    def _end_thread(self) -> None:
        """Let the thread take what is queued (dropped after an error), then end it."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> "WriteBehind":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:  # the caller's error wins; stop the thread before the writer discards its file
            self._error = self._error or exc
            self._end_thread()
