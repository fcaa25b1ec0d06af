"""Clicks: short broadband bursts taken down to the level of the frames around them.

A keyboard click, a tap on the microphone or a crackle lasts a few
milliseconds and raises the whole spectrum at once, for one or two 10 ms
frames. One long-term noise profile cannot follow it: the click passes the
subtraction, and its share of the profile's mean makes the subtraction remove
speech between the clicks. Speech itself rises and falls over several frames,
so a frame stands out from the ``CLICK_MEDIAN_FRAMES`` frames around it only
for a burst shorter than about half of them.

A frame is a click, per channel, when both
- its high-band energy (the Hann-weighted energy of the first difference of
  its samples, a high-pass measured without a transform) is over
  ``CLICK_RATIO`` times its median over the ``CLICK_MEDIAN_FRAMES`` frames
  centred on it, and
- at least ``CLICK_SHARE`` of the bins in ``CLICK_BAND_HZ`` are each over
  ``CLICK_RATIO`` times their own median over the same frames.
Only the frames around candidates of the first test are transformed.
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

CANDIDATES_PER_BATCH = 256  # candidate frames whose medians are taken at once (memory: 7 frames each)


def _edge_padded(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """(channels, frames, ...) with the first frame repeated ``before`` times, the last ``after``."""
    if before == 0 and after == 0:
        return a
    width = [(0, 0)] * a.ndim
    width[1] = (before, after)
    return np.pad(a, width, mode="edge")


def jumps(energy: np.ndarray) -> np.ndarray:
    """(channels, frames + 2 * half) -> (channels, frames) bool: over CLICK_RATIO x the median around."""
    windows = np.lib.stride_tricks.sliding_window_view(energy, CLICK_MEDIAN_FRAMES, axis=1)
    half = CLICK_MEDIAN_FRAMES // 2
    return energy[:, half:-half] > CLICK_RATIO * np.median(windows, axis=-1)


def click_gains(power: np.ndarray, band: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Gains for the frames of ``candidates``, from the power of the frames around them.

    power: (channels, frames + 2 * half, bins), half = CLICK_MEDIAN_FRAMES // 2
    (edge-repeated at the file's ends; only frames within half of a candidate
    are read); band: (bins,) bool, the bins that detect; candidates: (channels,
    frames) bool, the frames whose band power jumped. Returns (channels, frames,
    bins) float32: 1 except in click frames, min(1, sqrt(median / power)) there.
    """
    half = CLICK_MEDIAN_FRAMES // 2
    channels, frames = candidates.shape
    gains = np.ones((channels, frames, power.shape[-1]), np.float32)
    where = np.nonzero(candidates)
    for i in range(0, where[0].size, CANDIDATES_PER_BATCH):
        c, t = where[0][i : i + CANDIDATES_PER_BATCH], where[1][i : i + CANDIDATES_PER_BATCH]
        around = power[c[:, None], t[:, None] + np.arange(CLICK_MEDIAN_FRAMES)]  # (n, frames, bins)
        median = np.median(around, axis=1)
        frame = around[:, half]
        click = np.mean(frame[:, band] > CLICK_RATIO * median[:, band], axis=-1) >= CLICK_SHARE
        gains[c[click], t[click]] = np.minimum(1.0, np.sqrt(median[click] / np.maximum(frame[click], EPS)))
    return gains


class ClickSuppressedInput:
    """An ``AudioInput`` (or a wrapper of one) with its clicks taken down; same ``info`` and ``read``.

    Each read looks at the frames that touch it, plus the context the medians
    need; nothing is kept between reads. The first difference weighs power by
    4 sin^2(w/2): at 16 kHz, 1 kHz counts 11 dB less than 4 kHz and 14 dB less
    than 8 kHz.
    """

    def __init__(self, inp, geo: StftGeometry):
        self.inp, self.info, self.geo = inp, inp.info, geo
        self.total_frames = geo.n_frames(self.info.frames)
        lo, hi = CLICK_BAND_HZ
        self.band = (geo.bin_hz >= lo) & (geo.bin_hz <= min(hi, geo.sample_rate_hz / 2))

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) as (channels, stop - start) float32; zeros outside the file."""
        hop, half = self.geo.hop, CLICK_MEDIAN_FRAMES // 2
        first, last = max(0, start // hop), min(self.total_frames, -(-stop // hop) + 1)  # frames touching
        c0, c1 = max(0, first - half), min(self.total_frames, last + half)  # and their context
        if last <= first or not self.band.any():
            return self.inp.read(start, stop)
        lo, hi = min(start, (c0 - 1) * hop - 1), max(stop, c1 * hop)
        y = self.inp.read(lo, hi)
        x = y[:, start - lo : stop - lo]
        seg = y[:, (c0 - 1) * hop - 1 - lo : c1 * hop - lo]  # the frames' samples and the one before
        hops = np.square(np.diff(seg, axis=-1)).reshape(seg.shape[0], -1, hop)
        hann = np.square(self.geo.window)  # each frame's weights, as its power spectrum has them
        # (channels, c1 - c0); einsum's own loop, not BLAS, whose threads would spin against
        # the other worker's process
        energy = np.einsum("chn,n->ch", hops[:, :-1], hann[:hop]) + np.einsum("chn,n->ch", hops[:, 1:], hann[hop:])
        energy = _edge_padded(energy, half - (first - c0), half - (c1 - last))
        candidates = jumps(energy)  # (channels, last - first)
        if not candidates.any():
            return x
        near = np.zeros(c1 - c0, np.int32)  # the frames whose medians the candidates need: within half
        near[first - c0 : last - c0] = candidates.any(axis=0)
        need = np.convolve(near, np.ones(CLICK_MEDIAN_FRAMES, np.int32), mode="same") > 0
        spec = np.zeros((y.shape[0], c1 - c0, self.geo.n_bins), np.complex64)
        spec[:, need] = stft_frames(seg[:, 1:], self.geo, need)
        power = _edge_padded(np.abs(spec) ** 2, half - (first - c0), half - (c1 - last))
        gains = click_gains(power, self.band, candidates)
        if np.all(gains == 1.0):
            return x
        correction = np.zeros_like(spec)
        inner = slice(first - c0, last - c0)
        correction[:, inner] = spec[:, inner] * (gains - 1.0)
        span0 = (c0 - 1) * hop
        delta = overlap_add(correction, self.geo)  # from sample span0
        a = max(start, span0, 0)
        b = min(stop, span0 + delta.shape[1], self.info.frames)  # zeros outside the file stay zeros
        out = x.copy()  # the input's read may be a view of its cache
        out[:, a - start : b - start] += delta[:, a - span0 : b - span0]
        return out
