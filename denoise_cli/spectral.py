"""STFT/ISTFT, noise profiles and spectral subtraction (pure functions on arrays).

Framing: 20 ms windows, 10 ms hop at the file's own sample rate, with a periodic
sqrt-Hann window for analysis and synthesis. At 50 % overlap the squared window
sums to exactly one, so the inverse is exact: no gain error, no delay, no length
drift. Frame ``t`` is centred on sample ``t * hop`` and covers samples
``[t*hop - hop, t*hop + hop)``; a signal of ``n`` samples has
``n_frames(n) = ceil(n / hop) + 1`` frames, and every sample is covered by two.

Spectra are arrays of shape (channels, frames, bins), complex64 or float32 power.
The FFTs run in single precision through torch.fft (pocketfft/MKL, already loaded
with the model): about 2.5 times numpy.fft's speed, which computes in double.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from .config import (
    EPS,
    HOP_MS,
    MINSTAT_BIAS,
    MINSTAT_SMOOTH,
    MINSTAT_WINDOW_S,
    MODEL_BIN_HZ,
    MODEL_N_BINS,
    MODEL_N_FFT,
    STEADY_BAND_HZ,
    TONAL_EXCESS_DB,
    TONAL_HALF_WIDTH_HZ,
    TONAL_MIN_FLOOR,
    UPPER_BAND_REF_HZ,
)


@dataclass(frozen=True)
class StftGeometry:
    """STFT sizes for one sample rate: hop = 10 ms, window = 2 hops."""

    sample_rate_hz: int

    @property
    def hop(self) -> int:
        return max(1, round(self.sample_rate_hz * HOP_MS / 1000))

    @property
    def n_fft(self) -> int:
        return 2 * self.hop

    @property
    def n_bins(self) -> int:
        return self.n_fft // 2 + 1

    @cached_property
    def window(self) -> np.ndarray:
        n = np.arange(self.n_fft)
        return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * n / self.n_fft)).astype(np.float32)

    @cached_property
    def bin_hz(self) -> np.ndarray:
        return np.arange(self.n_bins) * self.sample_rate_hz / self.n_fft

    def n_frames(self, n_samples: int) -> int:
        return -(-n_samples // self.hop) + 1

    def frame_span(self, first: int, stop: int) -> tuple[int, int]:
        """Samples [start, end) that frames [first, stop) read (may reach past the file)."""
        return (first - 1) * self.hop, stop * self.hop


def stft_frames(x: np.ndarray, geo: StftGeometry, select: np.ndarray | None = None,
                out: np.ndarray | None = None) -> np.ndarray:
    """Spectra of consecutive frames of an already-spanned signal.

    x: (channels, (frames + 1) * hop) float32, as given by ``frame_span``.
    select: optional (frames,) bool: transform only these frames.
    out: optional (channels, frames, bins) complex64 to write the spectra into, each
    channel's frames contiguous (a slice of a larger array along the frames, say);
    the same numbers either way.
    Returns (channels, frames, bins) complex64 (frames: the selected ones): ``out`` if given.
    """
    n_frames = x.shape[-1] // geo.hop - 1
    frames = np.lib.stride_tricks.sliding_window_view(x, geo.n_fft, axis=-1)[..., :: geo.hop, :]
    frames = frames[..., :n_frames, :]
    if select is not None:
        frames = frames[..., select, :]
    import torch  # loaded by whoever needs spectra; kept off the CLI's import path

    frames = torch.from_numpy(np.ascontiguousarray(frames * geo.window, dtype=np.float32))
    if out is None:
        return torch.fft.rfft(frames, dim=-1).numpy()
    for channel in range(frames.shape[0]):  # each channel's rows are one contiguous block of out
        torch.fft.rfft(frames[channel], dim=-1, out=torch.from_numpy(out[channel]))
    return out


def overlap_add(spec: np.ndarray, geo: StftGeometry) -> np.ndarray:
    """Inverse of ``stft_frames``: (channels, frames, bins) -> (channels, (frames+1)*hop).

    Only samples [hop, frames*hop) are covered by two frames and exact; the first
    and last hop are half-windowed.
    """
    import torch

    channels, n_frames, _ = spec.shape
    spec = torch.from_numpy(np.ascontiguousarray(spec, dtype=np.complex64))
    frames = torch.fft.irfft(spec, n=geo.n_fft, dim=-1)
    frames = frames.mul_(torch.from_numpy(geo.window)).numpy()  # windowed in place: no second array
    out = np.empty((channels, (n_frames + 1) * geo.hop), dtype=np.float32)
    # frame t's first half lands on hop t, its second half on hop t + 1 (views, no copies)
    hops = out.reshape(channels, n_frames + 1, geo.hop)
    hops[:, :n_frames] = frames[:, :, : geo.hop]
    hops[:, n_frames] = 0.0
    hops[:, 1:] += frames[:, :, geo.hop :]
    return out


def stft(x: np.ndarray, geo: StftGeometry) -> np.ndarray:
    """Whole-signal STFT: x (channels, samples) -> (channels, n_frames(samples), bins)."""
    n = x.shape[-1]
    n_frames = geo.n_frames(n)
    padded = np.zeros((x.shape[0], (n_frames + 1) * geo.hop), dtype=np.float32)
    padded[:, geo.hop : geo.hop + n] = x
    return stft_frames(padded, geo)


def istft(spec: np.ndarray, geo: StftGeometry, n_samples: int) -> np.ndarray:
    """Whole-signal inverse: (channels, frames, bins) -> (channels, n_samples)."""
    return overlap_add(spec, geo)[:, geo.hop : geo.hop + n_samples]


def subtraction_gain(
    power: np.ndarray, noise_power: np.ndarray, over_subtraction: float, floor: float | np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Power spectral subtraction as a gain in [floor, 1].

    power: (channels, frames, bins) noisy power; noise_power: (channels, bins).
    floor: a number, or per-bin floors broadcastable to ``power`` (``tonal_floor``).
    out: optional float32 array shaped like ``power`` for the gain (it may be ``power``
    itself); default a new one.
    gain**2 = max(1 - over_subtraction * noise / power, floor**2). With a zero
    noise profile the gain is exactly 1, so a clean signal passes unchanged.
    """
    gain = np.maximum(power, np.float32(EPS), dtype=np.float32, out=out)  # computed in place from here
    np.divide(noise_power[:, None, :], gain, out=gain)
    gain *= np.float32(-over_subtraction)
    gain += np.float32(1.0)
    np.maximum(gain, np.float32(0.0), out=gain)
    np.sqrt(gain, out=gain)
    floor = np.float32(floor) if np.isscalar(floor) else floor
    return np.maximum(gain, floor, out=gain)  # floor after the root: floor**2 may underflow


def smooth_over_frames(gain: np.ndarray, radius: int, left: int, right: int) -> np.ndarray:
    """Each frame's gain replaced by the mean of the ``2 * radius + 1`` frames centred on it.

    gain: (channels, frames, bins) holding ``left`` frames before the frames
    wanted and ``right`` after them. Each is ``radius`` except at the ends of
    the file, where the end frame stands in for those missing. Returns
    (channels, frames - left - right, bins). Every output frame is summed in the
    same order whatever the block around it, so blocks give the whole-file
    result exactly. Averaging the gain over 70 ms (radius 3 at the 10 ms hop, the
    default) takes out its frame-to-frame jitter, the "musical noise" of subtraction.
    """
    if not 0 <= left <= radius or not 0 <= right <= radius:
        raise ValueError(f"context frames {left}, {right} outside 0..{radius}")
    if radius == 0:
        return gain
    if left < radius or right < radius:
        gain = np.concatenate([np.repeat(gain[:, :1], radius - left, axis=1), gain,
                               np.repeat(gain[:, -1:], radius - right, axis=1)], axis=1)
    n = gain.shape[1] - 2 * radius
    out = gain[:, :n].copy()
    for i in range(1, 2 * radius + 1):
        out += gain[:, i : i + n]
    out *= np.float32(1.0 / (2 * radius + 1))
    return out


def tonal_floor(noise_power: np.ndarray, floor: float, bin_hz: float, skip_hz: Sequence[float] = (),
                excess_db: float = TONAL_EXCESS_DB, half_width_hz: float = TONAL_HALF_WIDTH_HZ,
                min_floor: float = TONAL_MIN_FLOOR) -> np.ndarray:
    """Per-bin subtraction floors that take stationary tones down to the noise around them.

    noise_power: (channels, bins) profile; bin_hz: the bin spacing. A bin whose
    noise power exceeds the median of the bins within ``half_width_hz`` by more
    than ``excess_db`` gets floor * sqrt(threshold / excess) (at least
    ``min_floor``), so what the floor leaves of the tone is no louder than the
    floor leaves of a bin at the threshold; every other bin keeps ``floor``, and
    so do the bins within one bin of ``skip_hz`` (tones already notched out: hum
    harmonics; flooring them deeper too only took speech with them).
    Returns (channels, 1, bins) float32, for ``subtraction_gain``.
    """
    half = max(1, round(half_width_hz / bin_hz))
    padded = np.pad(noise_power.astype(np.float64), ((0, 0), (half, half)), mode="edge")
    baseline = np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1, axis=-1), axis=-1)
    threshold = 10 ** (excess_db / 10)
    excess = np.maximum(noise_power / np.maximum(baseline * threshold, EPS), 1.0)
    floors = np.maximum(floor / np.sqrt(excess), min(min_floor, floor))
    centres = np.arange(noise_power.shape[-1]) * bin_hz
    for f in skip_hz:
        floors[:, np.abs(centres - f) <= bin_hz] = floor
    return floors.astype(np.float32)[:, None, :]


class NoiseProfileAccumulator:
    """Mean noise power per channel and bin over frames marked as noise.

    Feed it blocks with ``add(power, is_noise)``; ``result()`` gives
    (channels, bins) float32, ``seconds`` the noise time it averaged and
    ``spread_db`` how steady that noise was (``STEADY_*`` in config).
    """

    def __init__(self, channels: int, geo: StftGeometry):
        self.geo = geo
        self.total = np.zeros((channels, geo.n_bins), dtype=np.float64)
        self.count = 0
        lo, hi = STEADY_BAND_HZ
        self.band = slice(int(np.ceil(lo / geo.bin_hz[1])), int(np.floor(hi / geo.bin_hz[1])) + 1)
        self.level_sum = 0.0  # of each frame's band level in dB, and of its square
        self.level_sq_sum = 0.0

    def add(self, power: np.ndarray, is_noise: np.ndarray | None = None) -> None:
        """power: (channels, frames, bins); is_noise: (frames,) bool (None: every frame is noise)."""
        if is_noise is not None:
            power = power[:, is_noise, :]
        self.total += power.sum(axis=1)
        self.count += power.shape[1]
        level = 10 * np.log10(power[:, :, self.band].mean(axis=0).sum(axis=-1, dtype=np.float64) + EPS)
        self.level_sum += float(level.sum())
        self.level_sq_sum += float(np.square(level).sum())

    @property
    def spread_db(self) -> float | None:
        """Standard deviation over the frames of their noise level in STEADY_BAND_HZ, in dB,
        rounded to 0.01 dB (blocks and whole files sum in another order; the rounding hides
        that); None before two frames."""
        if self.count < 2:
            return None
        mean = self.level_sum / self.count
        return round(float(np.sqrt(max(self.level_sq_sum / self.count - mean * mean, 0.0))), 2)

    @property
    def seconds(self) -> float:
        return self.count * self.geo.hop / self.geo.sample_rate_hz

    def result(self) -> np.ndarray:
        return (self.total / max(self.count, 1)).astype(np.float32)


SMOOTH_BLOCK_FRAMES = 32  # frames per matrix product in recursive_smooth


def recursive_smooth(x: np.ndarray, a: float, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First-order recursive smoothing along axis 1: y[t] = a * y[t-1] + (1 - a) * x[t].

    x: (channels, frames, bins), float32 or float64; last: (channels, bins), y[-1]
    (the previous call's last output). Computed in float64; returns (y, float64,
    shaped like x; y's last frame). The same
    filter as scipy.signal.lfilter([1 - a], [1, -a]) with its state carried,
    without importing scipy.signal (about half a second per process): each
    block of SMOOTH_BLOCK_FRAMES frames is one matrix product with the
    filter's impulse response, and only the carry between blocks is a loop.
    """
    channels, n, bins = x.shape
    L = SMOOTH_BLOCK_FRAMES
    blocks = -(-n // L)
    padded = np.zeros((channels, blocks * L, bins))
    padded[:, :n] = x
    padded = padded.reshape(channels, blocks, L, bins)
    lag = np.arange(L)[:, None] - np.arange(L)[None, :]
    response = np.where(lag >= 0, (1 - a) * a ** np.maximum(lag, 0), 0.0)  # (L, L) lower triangle
    y = np.matmul(response, padded)  # each block from a zero start
    decay = a ** np.arange(1, L + 1)  # what the previous output still adds, frame by frame
    starts = np.empty((channels, blocks, bins))
    carry, decay_block = last, decay[-1]
    for b in range(blocks):
        starts[:, b] = carry
        carry = y[:, b, -1] + decay_block * carry
    y += decay[None, None, :, None] * starts[:, :, None, :]
    y = y.reshape(channels, blocks * L, bins)[:, :n]
    return y, y[:, -1].copy()


class MinimumStatistics:
    """Noise power from the minima of smoothed power (for files with little pause).

    Power is smoothed recursively over time, its minimum taken in consecutive
    windows of ``MINSTAT_WINDOW_S``, and the minima averaged and scaled by
    ``MINSTAT_BIAS``. Windows are aligned to absolute frame numbers, so feeding
    the file in blocks gives the same result as feeding it whole.
    """

    def __init__(self, channels: int, geo: StftGeometry):
        self.geo = geo
        self.window_frames = max(1, round(MINSTAT_WINDOW_S * geo.sample_rate_hz / geo.hop))
        self.last = None  # the smoothed power of the last frame seen, (channels, bins)
        self.current_min = np.full((channels, geo.n_bins), np.inf)
        self.in_window = 0
        self.minima_sum = np.zeros((channels, geo.n_bins))
        self.n_minima = 0
        self.frames_seen = 0

    def add(self, power: np.ndarray) -> None:
        """power: (channels, frames, bins) for the next frames of the file."""
        if power.shape[1] == 0:
            return
        if self.last is None:  # start the recursion at the first frame's power
            self.last = power[:, 0, :].astype(np.float64)
        smoothed, self.last = recursive_smooth(power, MINSTAT_SMOOTH, self.last)
        start = 0
        while start < smoothed.shape[1]:
            take = min(self.window_frames - self.in_window, smoothed.shape[1] - start)
            np.minimum(self.current_min, smoothed[:, start : start + take].min(axis=1), out=self.current_min)
            self.in_window += take
            start += take
            if self.in_window == self.window_frames:
                self._close_window()
        self.frames_seen += power.shape[1]

    def _close_window(self) -> None:
        self.minima_sum += self.current_min
        self.n_minima += 1
        self.current_min[:] = np.inf
        self.in_window = 0

    @property
    def seconds(self) -> float:
        return self.frames_seen * self.geo.hop / self.geo.sample_rate_hz

    def result(self) -> np.ndarray:
        total, count = self.minima_sum.copy(), self.n_minima
        if self.in_window:
            total += self.current_min
            count += 1
        return (MINSTAT_BIAS * total / max(count, 1)).astype(np.float32)


class ModelBandMap:
    """Maps native-rate STFT bins to the model's 161 bins (0-8 kHz, 50 Hz) and back.

    Magnitudes are scaled by MODEL_N_FFT / n_fft, so a band-limited signal gives
    the same model features at any sample rate. Model bins above the file's
    Nyquist frequency (8 kHz files) get zero magnitude. Gains reach native bins
    above 8 kHz as the power-weighted mean model gain over 4-8 kHz of that frame
    (speech energy above 8 kHz follows the upper speech band).
    """

    def __init__(self, geo: StftGeometry):
        self.geo = geo
        self.scale = MODEL_N_FFT / geo.n_fft
        model_hz = np.arange(MODEL_N_BINS) * MODEL_BIN_HZ
        nyquist = geo.sample_rate_hz / 2
        self.model_valid = model_hz <= nyquist + 1e-6
        self.to_model_pos = np.interp(model_hz[self.model_valid], geo.bin_hz, np.arange(geo.n_bins))
        low = geo.bin_hz <= model_hz[-1] + 1e-6
        self.native_low = int(low.sum())
        self.from_model_pos = geo.bin_hz[low] / MODEL_BIN_HZ
        lo_hz, hi_hz = UPPER_BAND_REF_HZ
        self.ref_bins = (model_hz >= lo_hz) & (model_hz <= hi_hz) & self.model_valid

    @staticmethod
    def _take(values: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Linear interpolation of ``values`` along the last axis at fractional ``pos``."""
        if len(pos) and np.array_equal(pos, np.arange(len(pos))):  # same 50 Hz bins: a slice
            return values[..., : len(pos)].copy()
        i0 = np.minimum(np.floor(pos).astype(int), values.shape[-1] - 1)
        i1 = np.minimum(i0 + 1, values.shape[-1] - 1)
        w = (pos - i0).astype(np.float32)
        return values[..., i0] * (1 - w) + values[..., i1] * w

    def to_model(self, magnitude: np.ndarray) -> np.ndarray:
        """(..., native bins) magnitude -> (..., 161) model-scale magnitude."""
        out = np.zeros(magnitude.shape[:-1] + (MODEL_N_BINS,), dtype=np.float32)
        out[..., self.model_valid] = self._take(magnitude, self.to_model_pos) * self.scale
        return out

    def from_model(self, gain: np.ndarray, model_power: np.ndarray) -> np.ndarray:
        """(..., 161) gains -> (..., native bins), extended above 8 kHz.

        model_power: (..., 161) power the gains were computed for (weights the
        4-8 kHz mean that drives the upper band).
        """
        out = np.empty(gain.shape[:-1] + (self.geo.n_bins,), dtype=np.float32)
        out[..., : self.native_low] = self._take(gain, self.from_model_pos)
        if self.native_low < self.geo.n_bins:
            w = model_power[..., self.ref_bins] + EPS
            upper = (gain[..., self.ref_bins] * w).sum(-1) / w.sum(-1)
            out[..., self.native_low :] = upper[..., None]
        return out


def db(power: float | np.ndarray) -> float | np.ndarray:
    """Power ratio to decibels, with a floor at -200 dB."""
    return 10 * np.log10(np.maximum(power, 1e-20))
