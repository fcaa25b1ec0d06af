"""Loading the heavy modules once, with Python's cyclic garbage collector paused.

Importing torch creates about 160,000 long-lived objects that the collector
tracks; its full passes over them while they are being made cost about 0.15 s
of a 1.1 s import, and a later full pass in a forked worker walked them all
again, copying every page they sit on (about 0.1 s of its first file). Nothing
in these imports is garbage, so the collector is paused while they run and what
they made is then frozen (``gc.freeze``): no later collection looks at it, in
this process or in the processes forked from it.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic collector; on exit, freeze every object then alive and restore it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


_loaded = False


def load_heavy_modules() -> None:
    """Import torch, silero-vad and the pipeline (with numpy.ma, which np.median loads lazily).

    Does its work once per process; later calls return at once (a freeze on every
    call would keep each file's cyclic garbage forever). Importing silero_vad
    leaves torch's thread count as it was (``vad._import_silero``).
    """
    global _loaded
    if _loaded:
        return
    _loaded = True
    with paused_gc():
        import numpy.ma  # noqa: F401

        from . import pipeline  # noqa: F401  (torch, the model, spectral, audio)
        from .vad import _import_silero

        _import_silero()
