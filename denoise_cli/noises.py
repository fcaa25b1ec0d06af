"""Synthetic noises and mixing at a chosen SNR (for training, tests and benchmarks).

Every generator takes a numpy Generator, a length in samples and a sample rate,
and returns float32 of shape (n_samples,) with unit RMS.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from .config import EPS


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / (np.sqrt(np.mean(x * x)) + EPS)).astype(np.float32)


def _spectral_slope(rng, n, slope_db_per_octave):
    """Noise whose power falls by ``slope_db_per_octave`` per octave."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    spec *= f ** (slope_db_per_octave / 20 / np.log10(2))
    return _unit(np.fft.irfft(spec, n))


def white(rng, n, sample_rate_hz):
    return _unit(rng.standard_normal(n))


def pink(rng, n, sample_rate_hz):
    return _spectral_slope(rng, n, -3.0)


def brown(rng, n, sample_rate_hz):
    return _spectral_slope(rng, n, -6.0)


def hum(rng, n, sample_rate_hz):
    """Mains hum: 50 or 60 Hz and harmonics with random levels, plus a little hiss."""
    t = np.arange(n) / sample_rate_hz
    f0 = rng.choice([50.0, 60.0])
    x = np.zeros(n)
    for k in range(1, 12):
        if k * f0 < sample_rate_hz / 2:
            x += rng.uniform(0.05, 1.0) / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 2 * np.pi))
    return _unit(_unit(x) + 0.05 * rng.standard_normal(n))


def fan(rng, n, sample_rate_hz):
    """Machine/fan noise: low-passed noise, a blade tone and its harmonics."""
    pole = rng.uniform(0.9, 0.99)
    x = _unit(lfilter([1 - pole], [1, -pole], rng.standard_normal(n)))
    t = np.arange(n) / sample_rate_hz
    f0 = rng.uniform(80, 400)
    for k in range(1, 4):
        x += rng.uniform(0.05, 0.4) * np.sin(2 * np.pi * k * f0 * t)
    return _unit(x)


def modulated(rng, n, sample_rate_hz):
    """Non-stationary: coloured noise whose level swings by up to 20 dB."""
    base = _spectral_slope(rng, n, rng.uniform(-6, 0))
    rate_hz = rng.uniform(0.2, 3.0)
    t = np.arange(n) / sample_rate_hz
    env_db = rng.uniform(5, 20) * 0.5 * (1 + np.sin(2 * np.pi * rate_hz * t + rng.uniform(0, 6.3)))
    return _unit(base * 10 ** (-env_db / 20))


def clicks(rng, n, sample_rate_hz):
    """Keyboard-like clicks: short decaying bursts at random times over faint noise."""
    x = 0.02 * rng.standard_normal(n)
    rate_per_s = rng.uniform(3, 12)
    click_len = int(0.008 * sample_rate_hz)
    decay = np.exp(-np.arange(click_len) / (0.0015 * sample_rate_hz))
    for start in rng.integers(0, max(1, n - click_len), int(rate_per_s * n / sample_rate_hz)):
        x[start : start + click_len] += rng.uniform(0.2, 1.0) * rng.standard_normal(click_len) * decay
    return _unit(x)


GENERATORS = {
    "white": white, "pink": pink, "brown": brown, "hum": hum,
    "fan": fan, "modulated": modulated, "clicks": clicks,
}


def active_power(clean: np.ndarray, sample_rate_hz: int, frame_ms: float = 20.0,
                 range_db: float = 40.0) -> float:
    """Mean power of the frames of ``clean`` within ``range_db`` of its loudest frame."""
    frame = max(1, int(sample_rate_hz * frame_ms / 1000))
    n = clean.size // frame * frame
    if n == 0:
        return float(np.mean(clean.astype(np.float64) ** 2))
    p = np.mean(clean[:n].astype(np.float64).reshape(-1, frame) ** 2, axis=1)
    active = p >= p.max() * 10 ** (-range_db / 10)
    return float(p[active].mean())


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float, sample_rate_hz: int) -> np.ndarray:
    """Scale ``noise`` so the active-speech SNR is ``snr_db``; returns clean + noise."""
    noise_power = float(np.mean(noise.astype(np.float64) ** 2)) + EPS
    scale = np.sqrt(active_power(clean, sample_rate_hz) / noise_power / 10 ** (snr_db / 10))
    return (clean + scale * noise).astype(np.float32)
