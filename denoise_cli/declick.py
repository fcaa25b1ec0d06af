"""Clicks: short broadband bursts taken down to the level of the frames around them.

A keyboard click, a tap on the microphone or a crackle lasts a few
milliseconds and raises the whole spectrum at once, for one or two 10 ms
frames. One long-term noise profile cannot follow it: the click passes the
subtraction, and its share of the profile's mean makes the subtraction remove
speech between the clicks. Speech itself rises and falls over several frames,
so a frame stands out from the ``CLICK_MEDIAN_FRAMES`` frames around it only
for a burst shorter than about half of them.

A frame is a click, per channel, when both
- its power in ``CLICK_BAND_HZ`` is over ``CLICK_RATIO`` times the median of
  that band power over the ``CLICK_MEDIAN_FRAMES`` frames centred on it, and
- at least ``CLICK_SHARE`` of that band's bins are each over ``CLICK_RATIO``
  times their own median over the same frames.
Each bin of a click frame is then scaled down to that median (never up). The
gains reach the signal through the STFT of ``spectral.py`` (sqrt-Hann, whose
squared window sums to one), as a correction added to the input: samples that no
click frame touches are returned unchanged, bit for bit.

Frames near the file's ends see its first or last frame repeated. Any range
of samples reads the same as the whole file does there (tested).
"""

from __future__ import annotations

import numpy as np

from .config import CLICK_BAND_HZ, CLICK_MEDIAN_FRAMES, CLICK_RATIO, CLICK_SHARE, EPS
from .spectral import StftGeometry, overlap_add, stft_frames


def _edge_padded(power: np.ndarray, before: int, after: int) -> np.ndarray:
    """(channels, frames, ...) with the first frame repeated ``before`` times, the last ``after``."""
    if before == 0 and after == 0:
        return power
    width = [(0, 0)] * power.ndim
    width[1] = (before, after)
    return np.pad(power, width, mode="edge")


def click_gains(power: np.ndarray, band: np.ndarray, first: int, stop: int) -> np.ndarray:
    """Gains for frames [first, stop) of ``power``, from the frames around them.

    power: (channels, frames, bins) float power, with at least
    ``CLICK_MEDIAN_FRAMES // 2`` frames of context on each side of [first, stop)
    (edge-repeated at the file's ends); band: (bins,) bool, the bins that
    detect. Returns (channels, stop - first, bins) float32: 1 outside click
    frames, min(1, sqrt(median / power)) in them.
    """
    half = CLICK_MEDIAN_FRAMES // 2
    channels, _, bins = power.shape
    gains = np.ones((channels, stop - first, bins), np.float32)
    band_power = power[:, first - half : stop + half, band].sum(axis=-1)  # (channels, frames)
    windows = np.lib.stride_tricks.sliding_window_view(band_power, CLICK_MEDIAN_FRAMES, axis=1)
    loud = band_power[:, half:-half] > CLICK_RATIO * np.median(windows, axis=-1)
    for c, t in zip(*np.nonzero(loud)):
        around = power[c, first + t - half : first + t + half + 1]  # (CLICK_MEDIAN_FRAMES, bins)
        median = np.median(around, axis=0)
        frame = power[c, first + t]
        if np.mean(frame[band] > CLICK_RATIO * median[band]) >= CLICK_SHARE:
            gains[c, t] = np.minimum(1.0, np.sqrt(median / np.maximum(frame, EPS)))
    return gains


class ClickSuppressedInput:
    """An ``AudioInput`` (or a wrapper of one) with its clicks taken down; same ``info`` and ``read``.

    Each read transforms the frames that touch it, plus the context the medians
    need; nothing is kept between reads. ``stage`` names its time in the reports.
    """

    stage = "declick"

    def __init__(self, inp, geo: StftGeometry):
        self.inp, self.info, self.geo = inp, inp.info, geo
        self.total_frames = geo.n_frames(self.info.frames)
        lo, hi = CLICK_BAND_HZ
        self.band = (geo.bin_hz >= lo) & (geo.bin_hz <= min(hi, geo.sample_rate_hz / 2))

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) as (channels, stop - start) float32; zeros outside the file."""
        x = self.inp.read(start, stop)
        hop, half = self.geo.hop, CLICK_MEDIAN_FRAMES // 2
        first, last = max(0, start // hop), min(self.total_frames, -(-stop // hop) + 1)  # frames touching
        if last <= first or not self.band.any():
            return x
        c0, c1 = max(0, first - half), min(self.total_frames, last + half)
        span = self.geo.frame_span(c0, c1)
        spec = stft_frames(self.inp.read(*span), self.geo)
        power = _edge_padded(np.abs(spec) ** 2, half - (first - c0), half - (c1 - last))
        gains = click_gains(power, self.band, half, half + last - first)
        if np.all(gains == 1.0):
            return x
        correction = np.zeros_like(spec)
        correction[:, first - c0 : last - c0] = spec[:, first - c0 : last - c0] * (gains - 1.0)
        delta = overlap_add(correction, self.geo)  # from sample span[0]
        a = max(start, span[0], 0)
        b = min(stop, span[0] + delta.shape[1], self.info.frames)  # zeros outside the file stay zeros
        out = x.copy()  # the input's read may be a view of its cache
        out[:, a - start : b - start] += delta[:, a - span[0] : b - span[0]]
        return out
