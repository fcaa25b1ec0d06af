"""Keep freed memory for reuse instead of handing it back to the kernel (glibc only).

A file's blocks allocate the same large arrays over and over: at 48 kHz stereo,
30 s blocks give STFT frames, spectra and gains of 13-26 MB each. glibc's malloc
serves such sizes with mmap, or from the top of the heap, and gives them back to
the kernel when they are freed, so the next block touches fresh pages again: on
these virtual machines that cost about 100,000 page faults and 0.3-0.5 s per
10-minute 48 kHz stereo file (5.0-5.3 s instead of 5.3-5.8 s in one process,
peak memory within 2 %). Raising the two thresholds keeps those blocks in the
heap for the next block to reuse. The process's peak memory is unchanged; it is
held until the process ends instead of shrinking between blocks.

Only our own processes call this (the CLI and the local pool's workers):
it changes malloc for the whole process, so library code does not.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's upper limit: larger arrays are still mmap'ed
TRIM_THRESHOLD_BYTES = 2**30  # free memory kept at the top of the heap before trimming


def keep_freed_memory() -> bool:
    """Set malloc's mmap and trim thresholds; True where the C library took them (glibc)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
