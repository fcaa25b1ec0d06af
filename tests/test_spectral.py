"""STFT/ISTFT, spectral subtraction, noise profiles and the model band map."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from conftest import snr_db, tone, voiced
from denoise_cli.config import MODEL_N_BINS, MODEL_SAMPLE_RATE_HZ, STEADY_SPREAD_DB, SpectralOptions
from denoise_cli.spectral import (
    MinimumStatistics,
    ModelBandMap,
    NoiseProfileAccumulator,
    StftGeometry,
    istft,
    overlap_add,
    recursive_smooth,
    smooth_over_frames,
    stft,
    stft_frames,
    subtraction_gain,
    tonal_floor,
)

RATES = [8_000, 16_000, 22_050, 44_100, 48_000]


# --- STFT / ISTFT ---------------------------------------------------------------------
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("seconds", [0.5, 1.2345])
def test_stft_istft_is_identity(rate, channels, seconds):
    rng = np.random.default_rng(rate + channels)
    n = int(seconds * rate) | 1  # odd length: not a multiple of the hop
    x = (0.5 * rng.standard_normal((channels, n))).astype(np.float32)
    geo = StftGeometry(rate)
    spec = stft(x, geo)
    assert spec.shape == (channels, geo.n_frames(n), geo.n_bins)
    y = istft(spec, geo, n)
    assert y.shape == x.shape
    assert np.abs(y - x).max() < 1e-5


@pytest.mark.parametrize("rate", RATES)
def test_geometry_is_10ms_hop_20ms_window(rate):
    geo = StftGeometry(rate)
    assert abs(geo.hop - rate / 100) <= 0.5
    assert geo.n_fft == 2 * geo.hop
    # sqrt-Hann at 50 % overlap: squared windows sum to exactly one
    w2 = geo.window.astype(np.float64) ** 2
    assert np.allclose(w2[: geo.hop] + w2[geo.hop :], 1.0, atol=1e-6)


@pytest.mark.parametrize("n", [1, 159, 160, 161, 16_000, 16_001])
def test_no_length_drift(n):
    geo = StftGeometry(16_000)
    assert geo.n_frames(n) == -(-n // geo.hop) + 1
    x = np.random.default_rng(n).standard_normal((1, n)).astype(np.float32)
    spec = stft(x, geo)
    assert overlap_add(spec, geo).shape[-1] == (spec.shape[1] + 1) * geo.hop
    assert istft(spec, geo, n).shape == (1, n)


def test_stft_frames_of_a_span_equal_the_whole_signal_stft():
    """Frames [f0, f1) computed from their own span equal those frames of the whole STFT."""
    rate, n = 16_000, 12_345
    geo = StftGeometry(rate)
    x = np.random.default_rng(3).standard_normal((2, n)).astype(np.float32)
    whole = stft(x, geo)
    padded = np.zeros((2, n + 4 * geo.hop), np.float32)
    padded[:, geo.hop : geo.hop + n] = x  # file sample s sits at padded index s + hop
    f0, f1 = 17, 60
    start, stop = geo.frame_span(f0, f1)
    part = stft_frames(padded[:, start + geo.hop : stop + geo.hop], geo)
    assert part.shape[1] == f1 - f0
    assert np.allclose(part, whole[:, f0:f1], atol=1e-5)


def test_stft_frames_and_subtraction_gain_into_given_arrays_give_the_same_numbers():
    """``out=``: spectra written into a slice of a larger array along the frames (each
    channel contiguous, the channels not), and a gain computed in place over its power,
    equal the freshly allocated results bit for bit."""
    geo = StftGeometry(48_000)
    x = np.random.default_rng(5).standard_normal((2, 41 * geo.hop)).astype(np.float32)
    fresh = stft_frames(x, geo)
    big = np.full((2, 7 + fresh.shape[1], geo.n_bins), np.nan, np.complex64)
    written = stft_frames(x, geo, out=big[:, 7:])
    assert written.base is not None and np.array_equal(big[:, 7:], fresh)
    assert np.isnan(big[:, :7]).all()
    power = np.abs(fresh) ** 2
    noise = power.mean(axis=1) / 2
    expected = subtraction_gain(power, noise, over_subtraction=4.0, floor=0.12)
    in_place = subtraction_gain(power, noise, over_subtraction=4.0, floor=0.12, out=power)
    assert in_place is power and np.array_equal(in_place, expected)


# --- spectral subtraction ---------------------------------------------------------------
def test_zero_noise_profile_gives_unity_gain_and_unchanged_signal():
    rate = 16_000
    geo = StftGeometry(rate)
    x = (voiced(1.0, rate) + tone(3000, 1.0, rate, 0.05))[None]
    spec = stft(x, geo)
    power = np.abs(spec) ** 2
    gain = subtraction_gain(power, np.zeros((1, geo.n_bins), np.float32), over_subtraction=1.5, floor=0.1)
    assert gain.dtype == np.float32
    assert np.all(gain == 1.0)
    y = istft(spec * gain, geo, x.shape[-1])
    assert np.abs(y - x).max() < 1e-5


def test_subtraction_gain_range_and_formula():
    power = np.array([[[1.0, 2.0, 10.0, 1e-3, 0.0]]], np.float32)
    noise = np.array([[1.0, 1.0, 1.0, 1.0, 1.0]], np.float32)
    gain = subtraction_gain(power, noise, over_subtraction=1.5, floor=0.1)
    expected = np.sqrt(np.maximum(1 - 1.5 * noise[0] / np.maximum(power[0, 0], 1e-10), 0.01))
    assert np.allclose(gain[0, 0], expected, rtol=1e-6)
    assert gain.min() >= 0.1 - 1e-7 and gain.max() <= 1.0


@pytest.mark.parametrize("rate", [16_000, 48_000])
@pytest.mark.parametrize("kind", ["tones", "voiced"])
def test_spectral_subtraction_raises_snr_with_the_true_noise_profile(rate, kind):
    """Measured: +5.8 dB (tones) and +4.9 dB (voiced) at 16 kHz, more at 48 kHz."""
    rng = np.random.default_rng(7)
    geo = StftGeometry(rate)
    if kind == "tones":
        clean = tone(1000, 3.0, rate, 0.3) + tone(2500, 3.0, rate, 0.2)
    else:
        clean = voiced(3.0, rate)
    noise = (0.05 * rng.standard_normal(clean.size)).astype(np.float32)
    other_noise = (0.05 * rng.standard_normal(clean.size)).astype(np.float32)  # same statistics
    profile = (np.abs(stft(other_noise[None], geo)) ** 2).mean(axis=1)
    noisy = clean + noise
    spec = stft(noisy[None], geo)
    gain = subtraction_gain(np.abs(spec) ** 2, profile, over_subtraction=1.5, floor=0.1)
    out = istft(spec * gain, geo, clean.size)[0]
    improvement = snr_db(clean, out) - snr_db(clean, noisy)
    assert improvement > 3.5, f"SNR improved by only {improvement:.2f} dB"


# --- noise profiles -----------------------------------------------------------------------
def test_noise_profile_accumulator_is_the_mean_noise_frame_power():
    geo = StftGeometry(16_000)
    rng = np.random.default_rng(0)
    power = rng.random((2, 300, geo.n_bins)).astype(np.float32)
    is_noise = rng.random(300) < 0.4
    acc = NoiseProfileAccumulator(2, geo)
    for a, b in [(0, 7), (7, 100), (100, 101), (101, 300)]:
        acc.add(power[:, a:b], is_noise[a:b])
    expected = power[:, is_noise].astype(np.float64).mean(axis=1)
    assert acc.result().shape == (2, geo.n_bins)
    assert np.allclose(acc.result(), expected, rtol=1e-5)
    assert acc.seconds == pytest.approx(is_noise.sum() * 0.01)


def _noise_spread(x: np.ndarray, rate: int, edges=None) -> float | None:
    """The accumulator's level spread of (channels, samples), fed in blocks of frames."""
    geo = StftGeometry(rate)
    power = np.abs(stft(x.astype(np.float32), geo)) ** 2
    acc = NoiseProfileAccumulator(x.shape[0], geo)
    edges = edges or [0, power.shape[1]]
    for a, b in zip(edges[:-1], edges[1:]):
        acc.add(power[:, a:b])
    return acc.spread_db


@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_level_spread_of_steady_noise_is_small_and_of_modulated_noise_large(rate):
    """White noise: about 0.5 dB at 16 kHz (the band's ~60 bins average each frame's level);
    the same noise switched between two levels 12 dB apart every 0.25 s: about 6 dB."""
    rng = np.random.default_rng(rate)
    white = 0.05 * rng.standard_normal((2, 4 * rate))
    steady = _noise_spread(white, rate)
    assert steady < 1.5 < STEADY_SPREAD_DB
    level = np.where((np.arange(4 * rate) // (rate // 4)) % 2 == 0, 1.0, 10 ** (-12 / 20))
    modulated = _noise_spread(white * level, rate)
    assert 5.0 < modulated < 7.0 and modulated > STEADY_SPREAD_DB


def test_level_spread_in_blocks_equals_whole_and_needs_two_frames():
    rng = np.random.default_rng(5)
    x = 0.05 * rng.standard_normal((1, 3 * 16_000)) * np.linspace(0.2, 1.0, 3 * 16_000)
    whole = _noise_spread(x, 16_000)
    assert whole == _noise_spread(x, 16_000, [0, 1, 2, 150, 151, 301])
    assert whole == round(whole, 2) > 1.0  # a 14 dB ramp
    assert NoiseProfileAccumulator(1, StftGeometry(16_000)).spread_db is None


def test_level_spread_ignores_frames_that_are_not_noise():
    geo = StftGeometry(16_000)
    rng = np.random.default_rng(6)
    power = rng.exponential(1.0, (1, 400, geo.n_bins)).astype(np.float32)
    is_noise = np.arange(400) % 3 != 0
    power[:, ~is_noise] *= 1000.0  # "speech" 30 dB louder than the noise, in the frames left out
    acc = NoiseProfileAccumulator(1, geo)
    acc.add(power, is_noise)
    assert acc.spread_db < 1.5


def test_over_subtraction_for_a_file():
    sp = SpectralOptions(over_subtraction=10.0, steady_over_subtraction=6.0)
    assert sp.over_subtraction_for(0.9) == 6.0
    assert sp.over_subtraction_for(STEADY_SPREAD_DB) == 10.0  # the threshold itself is not steady
    assert sp.over_subtraction_for(12.0) == 10.0
    assert sp.over_subtraction_for(None) == 10.0  # minimum statistics: no pauses to judge
    assert SpectralOptions(over_subtraction=10.0, steady_over_subtraction=None).over_subtraction_for(0.9) == 10.0


def test_floor_for_a_file():
    sp = SpectralOptions(floor=0.2, steady_floor=0.12)
    assert sp.floor_for(0.9) == 0.12
    assert sp.floor_for(STEADY_SPREAD_DB) == 0.2  # the threshold itself is not steady
    assert sp.floor_for(12.0) == 0.2
    assert sp.floor_for(None) == 0.2  # minimum statistics
    assert SpectralOptions(floor=0.2, steady_floor=None).floor_for(0.9) == 0.2


@pytest.mark.parametrize("splits", [[1], [7], [31, 32, 33], [1, 64, 100, 250]])
def test_recursive_smooth_equals_lfilter_with_its_state_carried(splits):
    """Our numpy smoother (no scipy.signal import) is lfilter([1 - a], [1, -a]) fed in pieces."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(len(splits))
    x = rng.random((2, 300, 17)) * np.geomspace(1e-6, 10, 17)
    last = rng.random((2, 17))
    a = 0.85
    expected, _ = lfilter([1 - a], [1, -a], x, axis=1, zi=a * last[:, None, :])
    pieces, carry = [], last
    for lo, hi in zip([0, *splits], [*splits, 300]):
        y, carry = recursive_smooth(x[:, lo:hi], a, carry)
        pieces.append(y)
    got = np.concatenate(pieces, axis=1)
    assert got.shape == expected.shape
    assert np.allclose(got, expected, rtol=1e-12, atol=0)
    assert np.array_equal(carry, got[:, -1])


def test_minimum_statistics_in_blocks_equals_whole():
    geo = StftGeometry(16_000)
    rng = np.random.default_rng(1)
    power = (rng.random((2, 437, geo.n_bins)) * np.linspace(1, 3, 437)[None, :, None]).astype(np.float32)
    whole = MinimumStatistics(2, geo)
    whole.add(power)
    blocks = MinimumStatistics(2, geo)
    edges = [0, 1, 50, 149, 150, 151, 300, 301, 437]
    for a, b in zip(edges[:-1], edges[1:]):
        blocks.add(power[:, a:b])
    blocks.add(power[:, :0])  # an empty block changes nothing
    assert np.allclose(blocks.result(), whole.result(), rtol=1e-6, atol=0)
    assert blocks.seconds == pytest.approx(whole.seconds)


@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_minimum_statistics_estimates_white_noise_power(rate):
    """Measured over 6 s of white noise: per-bin ratio 0.56..1.29, mean 0.79-0.80."""
    geo = StftGeometry(rate)
    x = (0.1 * np.random.default_rng(2).standard_normal((1, 6 * rate))).astype(np.float32)
    power = np.abs(stft(x, geo)) ** 2
    ms = MinimumStatistics(1, geo)
    ms.add(power)
    ratio = ms.result()[0, 1:-1] / power[0].mean(axis=0)[1:-1]
    assert 0.6 < ratio.mean() < 1.1
    assert ratio.min() > 0.4 and ratio.max() < 1.8


# --- model band map -------------------------------------------------------------------------
def test_band_map_at_16k_is_identity():
    geo = StftGeometry(MODEL_SAMPLE_RATE_HZ)
    band = ModelBandMap(geo)
    mag = np.random.default_rng(0).random((2, 9, geo.n_bins)).astype(np.float32)
    assert geo.n_bins == MODEL_N_BINS
    assert np.array_equal(band.to_model(mag), mag)
    gain = np.random.default_rng(1).random((2, 9, MODEL_N_BINS)).astype(np.float32)
    assert np.array_equal(band.from_model(gain, mag**2), gain)


def _tone_model_magnitude(rate: int, freq_hz: float = 1000.0) -> np.ndarray:
    geo = StftGeometry(rate)
    x = tone(freq_hz, 0.5, rate, 0.3)[None]
    mag = np.abs(stft(x, geo))[:, 10:-10]  # frames away from the edges
    return ModelBandMap(geo).to_model(mag).mean(axis=1)[0]


@pytest.mark.parametrize("rate", [22_050, 44_100, 48_000])
def test_band_map_puts_a_tone_in_the_same_model_bin_at_any_rate(rate):
    ref = _tone_model_magnitude(16_000)
    got = _tone_model_magnitude(rate)
    assert int(np.argmax(got)) == int(np.argmax(ref)) == 20  # 1 kHz / 50 Hz
    # 22.05 kHz: hop 220 gives 50.11 Hz bins, read by interpolation (measured -3.0 %)
    assert got[20] == pytest.approx(ref[20], rel=0.05 if rate == 22_050 else 0.01)


def test_band_map_at_8k_zero_fills_above_4k():
    geo = StftGeometry(8_000)
    band = ModelBandMap(geo)
    mag = np.ones((1, 5, geo.n_bins), np.float32)
    model = band.to_model(mag)
    model_hz = np.arange(MODEL_N_BINS) * 50.0
    assert np.all(model[..., model_hz > 4000] == 0)
    assert np.all(model[..., model_hz <= 4000] > 0)
    ref = _tone_model_magnitude(16_000)
    got = _tone_model_magnitude(8_000)
    assert got[20] == pytest.approx(ref[20], rel=0.03)


def test_band_map_drives_bins_above_8k_with_the_upper_band_gain():
    geo = StftGeometry(48_000)
    band = ModelBandMap(geo)
    gain = np.full((1, 3, MODEL_N_BINS), 0.25, np.float32)
    power = np.ones_like(gain)
    native = band.from_model(gain, power)
    assert native.shape == (1, 3, geo.n_bins)
    assert np.allclose(native, 0.25)


# --- property: finite in, finite out, same length ---------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    x=st.integers(1, 5000).flatmap(
        lambda n: arrays(np.float32, n, elements=st.floats(-1e4, 1e4, allow_nan=False, width=32))),
    rate=st.sampled_from(RATES),
    noise_level=st.floats(0.0, 10.0),
)
def test_any_finite_input_gives_finite_output_of_the_same_length(x, rate, noise_level):
    geo = StftGeometry(rate)
    spec = stft(x[None], geo)
    y = istft(spec, geo, x.size)
    assert y.shape == (1, x.size) and np.isfinite(y).all()
    gain = subtraction_gain(np.abs(spec) ** 2, np.full((1, geo.n_bins), noise_level, np.float32), 1.5, 0.1)
    z = istft(spec * gain, geo, x.size)
    assert z.shape == (1, x.size) and np.isfinite(z).all()


# --- tonal floors -------------------------------------------------------------------------
def _profile_with_tone(excess_db: float, bins: int = 161, tone_bin: int = 40) -> np.ndarray:
    rng = np.random.default_rng(1)
    power = (1e-4 * (1 + 0.2 * rng.random((2, bins)))).astype(np.float32)  # broadband, within 1 dB
    power[1, tone_bin] *= 10 ** (excess_db / 10)
    return power


def test_tonal_floor_leaves_broadband_noise_at_the_floor():
    floors = tonal_floor(_profile_with_tone(0.0), 0.3, 50.0)
    assert floors.shape == (2, 1, 161) and floors.dtype == np.float32
    assert np.all(floors == np.float32(0.3))


def test_tonal_floor_takes_a_tone_down_to_the_noise_around_it():
    """A tone 16 dB over its neighbours (6 dB past the 10 dB threshold): floor 0.3 / 10**(6/20)."""
    floors = tonal_floor(_profile_with_tone(16.0), 0.3, 50.0)
    assert floors[1, 0, 40] == pytest.approx(0.3 / 10 ** (6 / 20), rel=0.05)
    assert np.all(np.delete(floors[1, 0], 40) == np.float32(0.3))  # only the tone's bin moves
    assert np.all(floors[0] == np.float32(0.3))  # and only in its channel
    deep = tonal_floor(_profile_with_tone(40.0), 0.3, 50.0)
    assert deep[1, 0, 40] == pytest.approx(0.1)  # never below the minimum floor (-20 dB)
    assert np.all(tonal_floor(_profile_with_tone(40.0), 0.05, 50.0) == np.float32(0.05))  # nor above a lower floor


def test_subtraction_gain_takes_per_bin_floors():
    power = np.ones((2, 5, 161), np.float32)
    floors = tonal_floor(_profile_with_tone(30.0), 0.3, 50.0)
    gain = subtraction_gain(power, np.full((2, 161), 10.0, np.float32), 6.0, floors)
    assert np.array_equal(gain, np.broadcast_to(floors, gain.shape))  # everything subtracted: the floors


def test_tonal_floor_leaves_notched_tones_at_the_floor():
    """Hum harmonics are notched out before subtraction: their bins (and one on each side) keep the floor."""
    power = _profile_with_tone(20.0, tone_bin=40)
    power[1, 60] = power[1, 40]  # a second tone, at 3000 Hz
    floors = tonal_floor(power, 0.3, 50.0, skip_hz=(2010.0,))  # 2010 Hz: within one bin of bin 40
    assert floors[1, 0, 40] == np.float32(0.3)
    assert floors[1, 0, 60] < 0.2


# --- gain smoothing -------------------------------------------------------------------------------
@pytest.mark.parametrize("radius", [0, 1, 2, 4])
def test_smooth_over_frames_is_a_centred_mean_with_the_end_frames_held(radius):
    from scipy.ndimage import uniform_filter1d

    gain = np.random.default_rng(radius).random((2, 37, 11)).astype(np.float32)
    out = smooth_over_frames(gain, radius, 0, 0)
    want = uniform_filter1d(gain.astype(np.float64), 2 * radius + 1, axis=1, mode="nearest")
    assert out.shape == gain.shape and np.abs(out - want).max() < 1e-6


@pytest.mark.parametrize("cuts", [[5], [1, 2, 3], [10, 11, 30], [2, 20, 35]])
def test_smooth_over_frames_in_pieces_equals_the_whole_exactly(cuts):
    """Each piece given its neighbours (fewer at the ends) gives the whole array's frames bit for bit."""
    radius = 2
    gain = np.random.default_rng(len(cuts)).random((1, 37, 7)).astype(np.float32)
    whole = smooth_over_frames(gain, radius, 0, 0)
    pieces = []
    for a, b in zip([0] + cuts, cuts + [37]):
        g0, g1 = max(0, a - radius), min(37, b + radius)
        pieces.append(smooth_over_frames(gain[:, g0:g1], radius, a - g0, g1 - b))
    assert np.array_equal(np.concatenate(pieces, axis=1), whole)


def test_smooth_over_frames_steadies_the_gains_of_white_noise():
    """Subtraction gains of white noise jump from frame to frame (musical noise); a 5-frame mean
    cuts their frame-to-frame variance by about 5, and keeps their mean."""
    geo = StftGeometry(16_000)
    noise = np.random.default_rng(3).standard_normal((1, 16_000 * 4)).astype(np.float32)
    power = np.abs(stft(noise, geo)) ** 2
    gain = subtraction_gain(power, power.mean(axis=1), 2.0, 0.1)
    smooth = smooth_over_frames(gain, 2, 0, 0)
    inner = slice(10, -10)
    assert np.var(smooth[:, inner]) < np.var(gain[:, inner]) / 3
    assert np.mean(smooth[:, inner]) == pytest.approx(np.mean(gain[:, inner]), rel=0.02)
