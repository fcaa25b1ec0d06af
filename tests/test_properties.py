"""Property-based tests (hypothesis) for the DSP: any finite input gives finite output
of the expected length and shape.

Inputs cover all-zero signals, denormals, values up to 1e6 (FLOAT files may hold
values far outside [-1, 1]), lengths of 1 to 4000 samples and every sample rate
the corpus uses.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.signal import resample_poly

from corpus import RATES_HZ
from denoise_cli.config import MODEL_N_BINS
from denoise_cli.model import chunks_touching, predict_mask
from denoise_cli.spectral import ModelBandMap, StftGeometry, istft, stft, subtraction_gain

PEAK = 1e6
RATES = st.sampled_from(RATES_HZ)
PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def signals(draw, max_channels: int = 3, max_len: int = 4000) -> np.ndarray:
    """(channels, samples) finite float32: zeros, denormals, tiny, loud, or mixed."""
    channels = draw(st.integers(1, max_channels))
    n = draw(st.integers(1, max_len))
    kind = draw(st.sampled_from(["zeros", "denormal", "noise", "loud", "elements", "impulse"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "zeros":
        x = np.zeros((channels, n))
    elif kind == "denormal":
        x = rng.choice([0.0, 1e-45, -1e-45, 1e-40, -1e-39], size=(channels, n))
    elif kind == "noise":
        x = rng.standard_normal((channels, n)) * draw(st.sampled_from([1e-30, 1e-6, 0.1, 1.0]))
    elif kind == "loud":
        x = rng.choice([-PEAK, PEAK], size=(channels, n)) * rng.uniform(0.5, 1.0, (channels, n))
    elif kind == "impulse":
        x = np.zeros((channels, n))
        x[:, draw(st.integers(0, n - 1))] = draw(st.sampled_from([PEAK, -PEAK, 1.0, 1e-38]))
    elif n * channels <= 400:  # "elements": every sample drawn by hypothesis (shrinks well)
        values = st.floats(-PEAK, PEAK, allow_nan=False, allow_infinity=False, width=32)
        x = np.array(draw(st.lists(values, min_size=channels * n, max_size=channels * n)),
                     dtype=np.float64).reshape(channels, n)
    else:
        x = rng.uniform(-PEAK, PEAK, (channels, n))
    return x.astype(np.float32)


# --- STFT / ISTFT ------------------------------------------------------------------------
@PROPERTY
@given(x=signals(), rate=RATES)
def test_stft_istft_is_finite_and_keeps_the_length(x, rate):
    geo = StftGeometry(rate)
    spec = stft(x, geo)
    assert spec.shape == (x.shape[0], geo.n_frames(x.shape[1]), geo.n_bins)
    assert np.isfinite(spec).all()
    y = istft(spec, geo, x.shape[1])
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.isfinite(y).all()
    peak = float(np.abs(x).max())
    np.testing.assert_allclose(y, x, rtol=0, atol=1e-5 * peak + 1e-35)


# --- spectral subtraction ------------------------------------------------------------------
@PROPERTY
@given(x=signals(max_len=2000), noise=signals(max_len=2000), rate=RATES,
       over=st.floats(0.0, 10.0), floor=st.floats(0.0, 1.0))
def test_subtraction_gain_is_finite_and_bounded(x, noise, rate, over, floor):
    geo = StftGeometry(rate)
    power = np.abs(stft(x, geo)) ** 2
    noise_power = (np.abs(stft(noise[:1], geo)) ** 2).mean(axis=1)  # (1, bins)
    noise_power = np.repeat(noise_power, x.shape[0], axis=0)
    assert np.isfinite(power).all() and np.isfinite(noise_power).all()
    gain = subtraction_gain(power, noise_power, over, floor)
    assert gain.shape == power.shape
    assert np.isfinite(gain).all()
    assert (gain >= np.float32(floor) * (1 - 1e-6)).all() and (gain <= 1.0).all()


# --- the model band map ------------------------------------------------------------------------
@PROPERTY
@given(x=signals(max_len=2000), rate=RATES, gain_seed=st.integers(0, 2**32 - 1))
def test_model_band_map_is_finite_and_shaped(x, rate, gain_seed):
    geo = StftGeometry(rate)
    magnitude = np.abs(stft(x, geo))
    band = ModelBandMap(geo)
    model_mag = band.to_model(magnitude)
    assert model_mag.shape == magnitude.shape[:-1] + (MODEL_N_BINS,)
    assert np.isfinite(model_mag).all() and (model_mag >= 0).all()
    gain = np.random.default_rng(gain_seed).uniform(0, 1, model_mag.shape).astype(np.float32)
    native = band.from_model(gain, model_mag**2)
    assert native.shape == magnitude.shape
    assert np.isfinite(native).all()
    assert (native >= 0).all() and (native <= 1 + 1e-6).all()


# --- streaming resampler -----------------------------------------------------------------------
@PROPERTY
@given(x=signals(max_channels=1), rate_in=RATES, rate_out=st.sampled_from([16_000, 8_000, 48_000]),
       cuts=st.lists(st.integers(0, 4000), max_size=6))
def test_stream_resampler_is_finite_and_has_the_resampled_length(x, rate_in, rate_out, cuts):
    from denoise_cli.audio import StreamResampler

    mono = x[0]
    resampler = StreamResampler(rate_in, rate_out)
    edges = sorted({0, mono.size, *(c for c in cuts if c < mono.size)})
    pieces = [resampler.process(mono[a:b]) for a, b in zip(edges, edges[1:])]
    out = np.concatenate(pieces + [resampler.flush()])
    g = math.gcd(rate_in, rate_out)
    assert out.size == math.ceil(mono.size * (rate_out // g) / (rate_in // g))
    assert np.isfinite(out).all()
    whole = resample_poly(mono, rate_out // g, rate_in // g)
    np.testing.assert_allclose(out, whole, rtol=0, atol=1e-4 * float(np.abs(mono).max()) + 1e-30)


# --- the mask model ------------------------------------------------------------------------------
@PROPERTY
@given(x=signals(max_channels=2), rate=RATES, chunk_frames=st.integers(2, 60), overlap=st.integers(0, 20))
def test_predict_mask_is_finite_in_0_1_for_every_frame(models, x, rate, chunk_frames, overlap):
    geo = StftGeometry(rate)
    model_mag = ModelBandMap(geo).to_model(np.abs(stft(x, geo)))
    total = model_mag.shape[1]
    overlap = min(overlap, chunk_frames - 1)
    chunks = chunks_touching(0, total, total, chunk_frames, overlap)
    mask = predict_mask(models.dns.model, model_mag, 0, chunks, 0, total, overlap, torch.device("cpu"), 4)
    assert mask.shape == (x.shape[0], total, MODEL_N_BINS)
    assert np.isfinite(mask).all()
    assert (mask >= 0).all() and (mask <= 1).all()


# --- the whole chain on one file ------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x=signals(max_channels=2), rate=RATES)
def test_clean_file_gives_finite_output_of_the_same_length(models, clean_opts, x, rate):
    from denoise_cli.pipeline import clean_file

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        sf.write(src, x.T, rate, subtype="FLOAT")
        report = clean_file(src, dst, clean_opts, models)
        y, out_rate = sf.read(dst, dtype="float32", always_2d=True)
    assert out_rate == rate and y.shape == x.T.shape
    assert np.isfinite(y).all()
    assert report["sample_rate_hz"] == rate and report["channels"] == x.shape[0]
