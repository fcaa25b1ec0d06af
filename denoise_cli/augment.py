"""Speech augmentation for training: EQ, room reverberation, band limiting, clipping.

Each function takes a numpy Generator and 16 kHz mono float32 speech of shape
(n_samples,) and returns float32 of the same shape. ``augment_speech`` returns
the speech that goes into the mixture and the training target. The model learns
to keep colouring, telephone band and clipping as recorded (they are in both),
and, by default, to remove the late reverberation along with the noise: the
target of a reverberated example keeps only the direct sound and the first
``EARLY_REFLECTIONS_MS`` of the room.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, fftconvolve, lfilter, sosfilt

EQ_GAIN_DB_RANGE = (-9.0, 9.0)        # peaking/shelf gains
EQ_CENTRE_HZ_RANGE = (150.0, 6000.0)  # peaking filter centres
RT60_S_RANGE = (0.15, 0.8)            # room decay times
DIRECT_TO_REVERB_DB_RANGE = (0.0, 12.0)
BAND_LIMIT_HZ = 3800.0                # 8 kHz telephone speech played back at 16 kHz
CLIP_HEADROOM_DB_RANGE = (1.0, 8.0)   # clip this far below the speech peak
EARLY_REFLECTIONS_MS = 50.0           # the part of a room kept in a dry target


@dataclass(frozen=True)
class AugmentOptions:
    """Share of training examples (0-1) that get each augmentation."""

    eq_share: float = 0.5
    reverb_share: float = 0.2
    band_limit_share: float = 0.1
    clip_share: float = 0.05
    dry_target: bool = True  # target keeps only the early reflections (False: the whole room)

    @classmethod
    def none(cls) -> "AugmentOptions":
        return cls(0.0, 0.0, 0.0, 0.0)


def _biquad_peaking(f0_hz: float, gain_db: float, q: float, sample_rate_hz: int):
    """RBJ cookbook peaking EQ coefficients (b, a)."""
    amp = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0_hz / sample_rate_hz
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * amp, -2 * np.cos(w0), 1 - alpha * amp])
    a = np.array([1 + alpha / amp, -2 * np.cos(w0), 1 - alpha / amp])
    return b / a[0], a / a[0]


def random_eq(rng: np.random.Generator, x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """One to three random peaking filters (microphone and room colouring)."""
    y = x.astype(np.float64)
    for _ in range(rng.integers(1, 4)):
        f0 = np.exp(rng.uniform(*np.log(EQ_CENTRE_HZ_RANGE)))
        b, a = _biquad_peaking(f0, rng.uniform(*EQ_GAIN_DB_RANGE), rng.uniform(0.5, 2.0), sample_rate_hz)
        y = lfilter(b, a, y)
    return y.astype(np.float32)


def random_room(rng: np.random.Generator, sample_rate_hz: int) -> np.ndarray:
    """A synthetic room impulse response: direct path plus exponentially decaying noise."""
    rt60 = rng.uniform(*RT60_S_RANGE)
    n = int(rt60 * sample_rate_hz)
    t = np.arange(n) / sample_rate_hz
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail[: int(0.002 * sample_rate_hz)] = 0.0               # reflections start after 2 ms
    tail /= np.sqrt(np.sum(tail**2)) + 1e-12
    rir = tail * 10 ** (-rng.uniform(*DIRECT_TO_REVERB_DB_RANGE) / 20)
    rir[0] = 1.0
    return rir


def reverberate(rng: np.random.Generator, x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """``x`` convolved with a random room, kept at its original RMS."""
    return reverberate_with_early(rng, x, sample_rate_hz)[0]


def reverberate_with_early(rng: np.random.Generator, x: np.ndarray,
                           sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """(``x`` in a random room, ``x`` with only the room's first EARLY_REFLECTIONS_MS).

    Both are scaled by the one gain that keeps the reverberant signal at the RMS of ``x``.
    """
    x64 = x.astype(np.float64)
    rir = random_room(rng, sample_rate_hz)
    y = fftconvolve(x64, rir)[: x.size]
    early = fftconvolve(x64, rir[: int(EARLY_REFLECTIONS_MS * sample_rate_hz / 1000)])[: x.size]
    gain = np.sqrt(np.mean(x64**2) / (np.mean(y**2) + 1e-20))
    return (y * gain).astype(np.float32), (early * gain).astype(np.float32)


def band_limit(rng: np.random.Generator, x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Telephone-band speech: nothing above ~3.8 kHz."""
    sos = butter(8, BAND_LIMIT_HZ, fs=sample_rate_hz, output="sos")
    return sosfilt(sos, x.astype(np.float64)).astype(np.float32)


def clip(rng: np.random.Generator, x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Hard clipping a few dB below the peak."""
    return np.clip(x, -(limit := _clip_limit(rng, x)), limit).astype(np.float32)


def _clip_limit(rng: np.random.Generator, x: np.ndarray) -> float:
    return float(np.abs(x).max() * 10 ** (-rng.uniform(*CLIP_HEADROOM_DB_RANGE) / 20))


def augment_speech(rng: np.random.Generator, x: np.ndarray, sample_rate_hz: int,
                   opts: AugmentOptions) -> tuple[np.ndarray, np.ndarray]:
    """Apply each augmentation with its share's probability, in a fixed order.

    Returns (speech for the mixture, training target), each shaped like ``x``.
    They differ only after reverberation with ``opts.dry_target``: band limiting
    and clipping (at the mixture's clip level) then apply to both.
    An augmentation whose share is 0 draws nothing from ``rng``, so with every
    share at 0 the random stream (and a training run) is as without augmentation,
    and both returned arrays are ``x`` itself.
    """
    target = x
    if opts.eq_share > 0 and rng.random() < opts.eq_share:
        x = target = random_eq(rng, x, sample_rate_hz)
    if opts.reverb_share > 0 and rng.random() < opts.reverb_share:
        x, early = reverberate_with_early(rng, x, sample_rate_hz)
        target = early if opts.dry_target else x
    if opts.band_limit_share > 0 and rng.random() < opts.band_limit_share:
        x, target = _both(lambda a: band_limit(rng, a, sample_rate_hz), x, target)
    if opts.clip_share > 0 and rng.random() < opts.clip_share:
        limit = _clip_limit(rng, x)
        x, target = _both(lambda a: np.clip(a, -limit, limit).astype(np.float32), x, target)
    return x, target


def _both(fn, x: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``fn`` applied to the mixture speech and the target, once when they are the same array."""
    y = fn(x)
    return y, (y if target is x else fn(target))
