"""Polyphase resampling in numpy, the same filter and alignment as scipy's resample_poly.

scipy.signal takes about half a second to import, longer than the VAD needs to
resample a minute of 48 kHz audio; this module imports only numpy. The filter is
scipy's default: a Kaiser-windowed sinc (beta 5) of 2 * 10 * max(up, down) + 1
taps with its cutoff at the lower Nyquist frequency, unit gain at DC times ``up``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

TAPS_PER_SIDE = 10      # filter half-length, in units of max(up, down)
KAISER_BETA = 5.0


@lru_cache(maxsize=16)
def lowpass(up: int, down: int) -> np.ndarray:
    """The anti-aliasing filter for up/down (float64, odd length, scaled by ``up``)."""
    max_rate = max(up, down)
    cutoff = 1.0 / max_rate  # relative to the Nyquist frequency
    n_taps = 2 * TAPS_PER_SIDE * max_rate + 1
    m = np.arange(n_taps) - (n_taps - 1) / 2
    h = cutoff * np.sinc(cutoff * m) * np.kaiser(n_taps, KAISER_BETA)
    return h / h.sum() * up


@lru_cache(maxsize=16)
def _phases(up: int, down: int) -> tuple[int, list[np.ndarray]]:
    """(first kept output index of the full convolution, per-phase float32 taps)."""
    h = lowpass(up, down)
    half = (h.size - 1) // 2
    pre_pad = down - half % down  # as resample_poly: centre the output samples
    h = np.concatenate([np.zeros(pre_pad), h])
    h = np.concatenate([h, np.zeros(-h.size % up)])  # every phase the same length
    first_kept = (half + pre_pad) // down
    return first_kept, [h[r::up].astype(np.float32) for r in range(up)]


def resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """``x`` (n,) resampled by up/down, zero beyond both ends: ceil(n * up / down) samples.

    Equal to scipy.signal.resample_poly(x, up, down) within float32 rounding.
    Returns float32.
    """
    g = math.gcd(up, down)
    up, down = up // g, down // g
    x = np.asarray(x, dtype=np.float32)
    if up == down:
        return x.copy()
    n_out = -(-x.size * up // down)
    first_kept, phases = _phases(up, down)
    taps_per_phase = phases[0].size
    y = np.empty(n_out, dtype=np.float32)
    # Output k of the full (upsample, filter, downsample) chain is
    #   sum_i h[r + i*up] * x[(k*down - r) / up - i],   r = k*down mod up;
    # outputs of one phase r are every up-th k, and their inputs step by down: one
    # product of a strided window view with the phase's taps. einsum's contiguous
    # inner loop does it 2-3 times faster than a loop over taps or matmul (which
    # copies the overlapping windows), and sums more accurately.
    pad = taps_per_phase + (first_kept + 1) * down // up + down + 1
    padded = np.concatenate([np.zeros(taps_per_phase, np.float32), x, np.zeros(pad, np.float32)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, taps_per_phase)
    for k0 in range(min(up, n_out)):
        k = k0 + first_kept
        r = k * down % up
        count = len(range(k0, n_out, up))
        first_window = (k * down - r) // up + 1  # the window whose last sample meets tap 0
        taps = np.ascontiguousarray(phases[r][::-1])
        y[k0::up] = np.einsum("ij,j->i", windows[first_window : first_window + (count - 1) * down + 1 : down], taps)
    return y
