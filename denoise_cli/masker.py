"""Running the mask network: directly, or shared by many threads in merged batches.

``MaskRunner`` is the net on one device: (n, 161, frames) float32 magnitudes in,
masks of the same shape out (numpy both ways). ``SharedMasker`` puts one
``MaskRunner`` behind a queue so that several threads, each cleaning its own
file, send their chunk batches to one model: the requests that queue up while
the device is busy run together as one batch. On a GPU this keeps the device fed
with large batches across files while the other threads do their CPU stages
(read, VAD, STFT, subtraction, write) in the meantime.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Optional

import numpy as np
import torch

from .model import MaskNet

MAX_MERGED_CHUNKS = 512  # a merged batch never holds more chunks than this (memory bound)


class Cancelled(Exception):
    """The run was interrupted: a thread's file is abandoned (its temporary output removed)."""


class MaskRunner:
    """``model`` on ``device``; bfloat16 runs it under autocast."""

    def __init__(self, model: MaskNet, device: torch.device, bfloat16: bool = False):
        self.model, self.device, self.bfloat16 = model, device, bfloat16

    @torch.inference_mode()
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(n, bins, frames) float32 magnitudes -> (n, bins, frames) float32 masks."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bfloat16):
            y = self.model(torch.from_numpy(x).to(self.device, non_blocking=True))
        return y.float().cpu().numpy()


class SharedMasker:
    """A ``MaskRunner`` for many threads; call it like the runner, from any thread.

    One server thread takes the first waiting request, adds every other waiting
    request with the same frame count (up to ``max_chunks`` chunks in all), runs
    them as one batch and hands each caller its rows. Nothing waits on a timer:
    batches grow exactly as fast as the callers outpace the device.
    ``cancel``: when set, waiting and later callers get ``Cancelled``.
    Use as a context manager, or call ``close()``. ``batches`` and ``requests``
    count the model calls made and the requests served.
    """

    def __init__(self, runner: MaskRunner, max_chunks: int = MAX_MERGED_CHUNKS,
                 cancel: Optional[threading.Event] = None):
        self.runner, self.max_chunks = runner, max_chunks
        self.cancel = cancel or threading.Event()
        self.batches = self.requests = 0
        self._queue: queue.Queue = queue.Queue()
        self._held: list = []  # requests taken from the queue that did not fit the last batch
        self._closing = False  # close() was seen while taking requests
        self._thread = threading.Thread(target=self._serve, name="denoise-masker", daemon=True)
        self._thread.start()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.cancel.is_set():
            raise Cancelled("interrupted")
        future: Future = Future()
        self._queue.put((x, future))
        return future.result()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def __enter__(self) -> "SharedMasker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _next_batch(self, first) -> list:
        """``first`` and the waiting requests that can run with it; the rest stay held."""
        batch, rows = [first], first[0].shape[0]
        waiting, self._held = self._held, []
        while True:
            try:
                waiting.append(self._queue.get_nowait())
            except queue.Empty:
                break
        for item in waiting:
            if item is None:  # close(): stop once everything held is served
                self._closing = True
            elif item[0].shape[1:] == first[0].shape[1:] and rows + item[0].shape[0] <= self.max_chunks:
                batch.append(item)
                rows += item[0].shape[0]
            else:
                self._held.append(item)
        return batch

    def _serve(self) -> None:
        while True:
            if self._held:
                first = self._held.pop(0)
            elif self._closing:
                return
            else:
                first = self._queue.get()
                if first is None:
                    return
            batch = self._next_batch(first)
            if self.cancel.is_set():
                for _, future in batch:
                    future.set_exception(Cancelled("interrupted"))
                continue
            try:
                masks = self.runner(np.concatenate([x for x, _ in batch]) if len(batch) > 1 else first[0])
            except BaseException as exc:  # the callers get the error; the server goes on
                for _, future in batch:
                    future.set_exception(exc)
                continue
            self.batches += 1
            self.requests += len(batch)
            row = 0
            for x, future in batch:
                future.set_result(masks[row : row + x.shape[0]])
                row += x.shape[0]
