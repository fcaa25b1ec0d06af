"""Mains hum and steady tones: detection in the pauses, notch filtering in any block layout, and in the chain."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.signal import sosfilt, welch

from conftest import ArrayInput, read_audio, snr_db, tone, write_audio
from denoise_cli.dehum import Hum, NotchedInput, detect_hum, detect_tones, find_notches, notch_sos, welch_psd
from denoise_cli.pipeline import clean_file

SR = 16_000


def _hum(f0: float, seconds: float, rate: int = SR, seed: int = 0) -> np.ndarray:
    """Hum: f0 and 9 harmonics at falling levels, plus white noise 30 dB below."""
    rng = np.random.default_rng(seed)
    x = sum(tone(k * f0, seconds, rate, amp=0.1 / k, phase=rng.uniform(0, 6.28)) for k in range(1, 11))
    return (x + 0.002 * rng.standard_normal(x.size)).astype(np.float32)


@pytest.mark.parametrize("f0", [50.0, 60.0])
def test_hum_is_found_with_its_mains_frequency(f0):
    hum = detect_hum(_hum(f0, 5.0), SR)
    assert hum is not None and hum.f0_hz == f0
    assert {k * f0 for k in range(1, 11)} <= set(hum.notch_hz)


def test_broadband_noise_tones_and_short_pauses_are_not_hum():
    rng = np.random.default_rng(1)
    assert detect_hum(rng.standard_normal(5 * SR), SR) is None
    assert detect_hum(tone(440.0, 5.0, SR) + 0.01 * rng.standard_normal(5 * SR), SR) is None
    assert detect_hum(_hum(50.0, 1.0), SR) is None  # under 2 s of pauses: no decision


def test_notches_remove_the_hum_and_keep_what_lies_between():
    x = _hum(50.0, 4.0)
    between = tone(175.0, 4.0, SR, amp=0.05)
    sos = notch_sos(Hum(50.0, tuple(k * 50.0 for k in range(1, 11))), SR)
    y = sosfilt(sos, x + between)[SR:]  # after the filters settle
    f, p_in = welch((x + between)[SR:], SR, nperseg=SR)
    _, p_out = welch(y, SR, nperseg=SR)
    for k in range(1, 11):
        i = int(k * 50)
        assert 10 * np.log10(p_out[i] / p_in[i]) < -25
    assert abs(10 * np.log10(p_out[175] / p_in[175])) < 0.5


def test_the_filters_are_settled_from_the_first_sample():
    x = _hum(50.0, 2.0)[None]
    notches = tuple(k * 50.0 for k in range(1, 11))
    y = NotchedInput(ArrayInput(x, SR), notch_sos(Hum(50.0, notches), SR), 0, SR).read(0, x.shape[1])
    first = slice(0, SR // 10)
    assert 10 * np.log10(np.mean(y[0, first] ** 2) / np.mean(x[0, first] ** 2)) < -25


@pytest.mark.parametrize("hum", [Hum(50.0, (50.0, 100.0, 150.0)), Hum(None, (), (84.0, 168.0, 505.0))],
                         ids=["mains", "tones"])
def test_notched_reads_in_any_blocks_equal_reading_the_whole_file(hum):
    x = np.stack([_hum(50.0, 3.0), _hum(60.0, 3.0, seed=2)])
    sos = notch_sos(hum, SR)
    whole = NotchedInput(ArrayInput(x, SR), sos, 0, x.shape[1], hum.periodic_s).read(0, x.shape[1])
    inp = NotchedInput(ArrayInput(x, SR), sos, lookback_frames=320, block_frames=777, periodic_s=hum.periodic_s)
    rng = np.random.default_rng(0)
    for _ in range(2):  # a second pass starts again from the first sample
        pos = -160
        while pos < x.shape[1]:
            n = int(rng.integers(1, 5000))
            back = int(rng.integers(0, 320))  # passes re-read a little of the previous block
            start = pos - back
            got = inp.read(start, start + n + back)
            a = max(start, 0)
            b = max(a, min(start + n + back, x.shape[1]))
            assert np.abs(got[:, a - start : b - start] - whole[:, a:b]).max(initial=0) < 1e-6
            assert not got[:, : max(0, -start)].any() and not got[:, b - start :].any()
            pos += n
    assert inp.restarts == 2


@pytest.fixture()
def hummy_speech(tmp_path, speech_with_pauses):
    """Speech with pauses and 60 Hz hum at twice its RMS, 16 kHz FLOAT: (path, clean)."""
    clean, _ = speech_with_pauses
    noisy = clean + 2.0 * np.sqrt(np.mean(clean**2)) / np.sqrt(np.mean(_hum(60.0, 1.0) ** 2)) \
        * _hum(60.0, clean.size / SR)[: clean.size]
    return write_audio(tmp_path / "hum.wav", noisy, SR, "FLOAT"), clean


def test_the_chain_finds_hum_and_cleans_better_with_the_notches(tmp_path, hummy_speech, clean_opts, models):
    path, clean = hummy_speech
    spectral = replace(clean_opts, model=replace(clean_opts.model, enabled=False))  # no random model
    report = clean_file(path, tmp_path / "on.wav", spectral, models)
    clean_file(path, tmp_path / "off.wav", replace(spectral, dehum=False, notch_tones=False), models)
    assert report["hum"]["f0_hz"] == 60.0 and 60.0 in report["hum"]["notches_hz"]
    assert report["hum"]["tones_hz"] == []  # the harmonics are hum, not other tones
    on, _ = read_audio(tmp_path / "on.wav")
    off, _ = read_audio(tmp_path / "off.wav")
    assert snr_db(clean, on[0]) > snr_db(clean, off[0]) + 5.0  # measured: 14.3 against 4.0 dB
    assert replace(clean_opts, dehum=False).fingerprint("x") != clean_opts.fingerprint("x")


@pytest.mark.parametrize("noisy", ["hummy_speech", "engine_speech"])
def test_with_notches_small_blocks_equal_one_block(tmp_path, request, noisy, clean_opts, models):
    path, _ = request.getfixturevalue(noisy)
    clean_file(path, tmp_path / "whole.wav", clean_opts, models)
    clean_file(path, tmp_path / "blocks.wav", replace(clean_opts, block_s=0.37, decoded_cache_mb=0), models)
    a, _ = read_audio(tmp_path / "whole.wav")
    b, _ = read_audio(tmp_path / "blocks.wav")
    assert np.abs(a - b).max() < 1e-5


def test_without_hum_the_output_is_as_without_dehum(tmp_path, noisy_speech_white, clean_opts, models):
    report = clean_file(noisy_speech_white, tmp_path / "on.wav", clean_opts, models)
    clean_file(noisy_speech_white, tmp_path / "off.wav", replace(clean_opts, dehum=False, notch_tones=False), models)
    assert report["hum"] is None
    # samples, not bytes: a float WAV's PEAK chunk holds the time it was written
    assert np.array_equal(read_audio(tmp_path / "on.wav")[0], read_audio(tmp_path / "off.wav")[0])


@pytest.fixture()
def noisy_speech_white(tmp_path, speech_with_pauses):
    clean, _ = speech_with_pauses
    noise = 0.02 * np.random.default_rng(5).standard_normal(clean.size)
    return write_audio(tmp_path / "white.wav", clean + noise, SR, "FLOAT")


# --- other steady tones (engines, fans) -------------------------------------------------------------
ENGINE_HZ = (84.0, 168.0, 336.0, 505.0, 589.0, 969.0)


def _engine(seconds: float, rate: int = SR, seed: int = 0) -> np.ndarray:
    """Lines at ENGINE_HZ (not mains harmonics) over pink-ish noise 25-35 dB below them."""
    rng = np.random.default_rng(seed)
    x = sum(tone(f, seconds, rate, amp=0.05, phase=rng.uniform(0, 6.28)) for f in ENGINE_HZ)
    broad = np.cumsum(rng.standard_normal(x.size)) * 0.0005
    broad -= np.convolve(broad, np.ones(401) / 401, mode="same")  # no drift: brown noise above 40 Hz
    return (x + broad + 0.001 * rng.standard_normal(x.size)).astype(np.float32)


def _all_near(wanted, found, tol_hz: float = 1.0) -> bool:
    """Every frequency of ``wanted`` has one in ``found`` within the analysis resolution."""
    return all(any(abs(w - f) <= tol_hz for f in found) for w in wanted)


def test_steady_tones_are_found_and_are_not_mains_hum():
    pauses = _engine(5.0)
    assert detect_hum(pauses, SR) is None
    found = detect_tones(welch_psd(pauses, SR), SR)
    assert _all_near(ENGINE_HZ, found) and len(found) <= len(ENGINE_HZ) + 2
    both = find_notches(pauses, SR)
    assert both.f0_hz is None and both.notch_hz == () and _all_near(ENGINE_HZ, both.tone_hz)
    assert find_notches(pauses, SR, tones=False) is None


def test_broadband_noise_and_gliding_pitch_have_no_steady_tones():
    rng = np.random.default_rng(4)
    assert detect_tones(welch_psd(rng.standard_normal(5 * SR), SR), SR) == ()
    from conftest import voiced

    glide = voiced(5.0, SR, 140, 1) + 0.01 * rng.standard_normal(5 * SR)  # f0 moves +-10 %
    assert detect_tones(welch_psd(glide.astype(np.float32), SR), SR) == ()


def test_hum_and_other_tones_together_each_get_their_notches():
    pauses = _hum(50.0, 5.0) + _engine(5.0, seed=3)
    found = find_notches(pauses, SR)
    assert found.f0_hz == 50.0 and {k * 50.0 for k in range(1, 11)} <= set(found.notch_hz)
    assert _all_near((84.0, 168.0, 336.0, 589.0, 969.0), found.tone_hz)  # not 505: beside hum at 500
    assert not set(found.tone_hz) & set(found.notch_hz)


@pytest.fixture()
def engine_speech(tmp_path, speech_with_pauses):
    """Speech with pauses and the engine lines at twice its RMS, 16 kHz FLOAT: (path, clean)."""
    clean, _ = speech_with_pauses
    engine = _engine(clean.size / SR + 0.1)[: clean.size]
    noisy = clean + 2.0 * np.sqrt(np.mean(clean**2) / np.mean(engine**2)) * engine
    return write_audio(tmp_path / "engine.wav", noisy, SR, "FLOAT"), clean


def test_the_chain_cleans_steady_tones_better_with_notches(tmp_path, engine_speech, clean_opts, models):
    path, clean = engine_speech
    spectral = replace(clean_opts, model=replace(clean_opts.model, enabled=False))  # no random model
    report = clean_file(path, tmp_path / "on.wav", spectral, models)
    clean_file(path, tmp_path / "off.wav", replace(spectral, notch_tones=False), models)
    assert report["hum"]["f0_hz"] is None and _all_near(ENGINE_HZ, report["hum"]["tones_hz"])
    on, _ = read_audio(tmp_path / "on.wav")
    off, _ = read_audio(tmp_path / "off.wav")
    assert snr_db(clean, on[0]) > snr_db(clean, off[0]) + 5.0  # measured: 13.6 against 3.3 dB
    assert replace(clean_opts, notch_tones=False).fingerprint("x") != clean_opts.fingerprint("x")


@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_detect_tones_equals_the_prominence_of_each_peak_one_by_one(rate):
    """The vectorised search finds exactly what ``harmonic_prominence_db`` bin by bin would."""
    from denoise_cli import dehum

    rng = np.random.default_rng(rate)
    x = rng.standard_normal(5 * rate)
    for f in rng.uniform(40, 0.4 * rate, size=50):
        x += rng.uniform(0.05, 3) * tone(f, 5.0, rate)
    psd = welch_psd(x.astype(np.float32), rate)
    want = []
    for b in range(int(dehum.TONE_MIN_HZ), int(0.45 * rate - dehum.NEIGHBOURHOOD_HZ)):
        if psd[b] >= psd[b - 2 : b + 3].max() and abs(b - 1000) > dehum.NOTCH_WIDTH_HZ:
            prominence = dehum.harmonic_prominence_db(psd, 1.0, float(b))
            if prominence >= dehum.TONE_PROMINENCE_DB:
                want.append((prominence, float(b)))
    want = tuple(sorted(f for _, f in sorted(want, reverse=True)[: dehum.MAX_TONES]))
    assert len(want) >= 20 and detect_tones(psd, rate, skip_hz=(1000.0,)) == want
