"""One file through the whole chain: blocks equal whole, formats kept, reports, limits."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import (
    read_audio,
    resample,
    sample_pairs,
    sha256_bytes,
    snr_db,
    temp_leftovers,
    tone,
    voiced,
    write_audio,
)
from denoise_cli.config import STEADY_SPREAD_DB, CleanOptions, ModelOptions, SpectralOptions
from denoise_cli.metrics import si_sdr
from denoise_cli.pipeline import clean_file
from denoise_cli.weights import default_checkpoint_path

SHIPPED = default_checkpoint_path()


def _small_blocks(opts: CleanOptions, block_s: float = 0.7, chunk_s: float = 1.0) -> CleanOptions:
    """Small blocks, read from the file block by block (no decoded cache)."""
    return replace(opts, block_s=block_s, decoded_cache_mb=0,
                   model=replace(opts.model, chunk_s=chunk_s, overlap_s=0.25))


def _noisy_stereo(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """(2, n): speech-like harmonics in both channels, different noise in each."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    left = voiced(seconds, rate, 130, seed) + 0.03 * rng.standard_normal(n)
    right = 0.5 * voiced(seconds, rate, 190, seed + 1) + 0.02 * rng.standard_normal(n)
    return np.stack([left, right]).astype(np.float32)


@pytest.fixture(scope="module")
def stereo_48k(tmp_path_factory):
    """3.37 s of 48 kHz stereo (not a whole number of hops or blocks), PCM_16 and FLOAT."""
    folder = tmp_path_factory.mktemp("stereo48")
    x = _noisy_stereo(3.37, 48_000) + 0.0001  # odd length below
    x = x[:, : x.shape[1] - 7]
    return {"PCM_16": write_audio(folder / "pcm16.wav", x, 48_000, "PCM_16"),
            "FLOAT": write_audio(folder / "float.wav", x, 48_000, "FLOAT")}


@pytest.fixture(scope="module")
def noisy_speech(tmp_path_factory, speech_with_pauses):
    """Speech with 1 s pauses plus white noise at 5 dB SNR, 16 kHz mono FLOAT: (path, clean, spans)."""
    clean, spans = speech_with_pauses
    rng = np.random.default_rng(11)
    noise = rng.standard_normal(clean.size)
    speech_power = np.mean(np.concatenate([clean[int(a * 16_000) : int(b * 16_000)] for a, b in spans]) ** 2)
    noise *= np.sqrt(speech_power / 10 ** (5 / 10))
    path = write_audio(tmp_path_factory.mktemp("speech") / "noisy.wav", clean + noise, 16_000, "FLOAT")
    return path, clean, spans


# --- blocks equal whole -------------------------------------------------------------------------
def test_decoded_cache_gives_the_same_bytes_as_reading_per_block(tmp_path, stereo_48k, clean_opts, models):
    streamed = _small_blocks(clean_opts, block_s=0.7)
    cached = replace(streamed, decoded_cache_mb=64)
    clean_file(stereo_48k["PCM_16"], tmp_path / "streamed.wav", streamed, models)
    clean_file(stereo_48k["PCM_16"], tmp_path / "cached.wav", cached, models)
    assert (tmp_path / "streamed.wav").read_bytes() == (tmp_path / "cached.wav").read_bytes()


def test_a_file_too_large_for_the_cache_is_decoded_at_most_three_times(tmp_path, stereo_48k, clean_opts,
                                                                       models, monkeypatch):
    """Pass 1 decodes it once, the noise profile at most once, the clean pass once: the
    clean pass's second read of each block (for the level meters) comes from the read window."""
    from denoise_cli.audio import AudioInput

    decoded = []
    read_file = AudioInput._read_file
    monkeypatch.setattr(AudioInput, "_read_file",
                        lambda self, a, b, *rest: decoded.append(b - a) or read_file(self, a, b, *rest))
    opts = replace(_small_blocks(clean_opts, block_s=0.7), dehum=False)
    clean_file(stereo_48k["PCM_16"], tmp_path / "out.wav", opts, models)
    frames = sf.info(str(stereo_48k["PCM_16"])).frames
    assert sum(decoded) <= 3 * frames


@pytest.mark.parametrize("background_io", [False, True])
def test_a_flac_too_large_for_the_cache_is_decoded_once_with_the_same_output(tmp_path, stereo_48k, clean_opts,
                                                                             models, monkeypatch, background_io):
    """Spilled to a temporary file in the output's folder (in a background thread with
    background_io): one decode instead of one per pass, the same bytes out, and nothing
    else left in that folder."""
    from denoise_cli.audio import AudioInput

    x, rate = sf.read(str(stereo_48k["PCM_16"]), dtype="int16")
    flac = tmp_path / "a.flac"
    sf.write(flac, x, rate, subtype="PCM_16")
    decoded = []
    read_file = AudioInput._read_file
    monkeypatch.setattr(AudioInput, "_read_file",
                        lambda self, a, b, *rest: decoded.append(b - a) or read_file(self, a, b, *rest))
    opts = replace(_small_blocks(clean_opts, block_s=0.7), decoded_cache_mb=0.01)
    clean_file(flac, tmp_path / "spilled" / "out.flac", opts, models, background_io=background_io)
    assert sum(decoded) == len(x)
    decoded.clear()
    clean_file(flac, tmp_path / "read" / "out.flac", replace(opts, spill_decoded=False), models)
    assert sum(decoded) >= 2 * len(x)
    assert (tmp_path / "spilled" / "out.flac").read_bytes() == (tmp_path / "read" / "out.flac").read_bytes()
    assert [p.name for p in (tmp_path / "spilled").iterdir()] == ["out.flac"]


@pytest.mark.parametrize("suffix,subtype", [(".flac", "PCM_16"), (".flac", "PCM_24"), (".wav", "FLOAT")])
def test_background_decoding_and_encoding_give_the_same_bytes(tmp_path, stereo_48k, clean_opts, models,
                                                              monkeypatch, suffix, subtype):
    """background_io (a file with a spare core): the input decoded ahead, the output
    encoded behind and the mask model run beside the analysis, each in its own thread, in
    small pieces and blocks, give the same output and report as the plain passes, and
    leave nothing else in the output folder and no thread behind."""
    import threading

    import denoise_cli.pipeline as pipeline

    monkeypatch.setattr("denoise_cli.audio.CACHE_READ_FRAMES", 4096)
    model_threads = []
    real_predict = pipeline.predict_mask
    monkeypatch.setattr(pipeline, "predict_mask", lambda *a, **k: model_threads.append(
        threading.current_thread().name) or real_predict(*a, **k))
    x, rate = sf.read(str(stereo_48k["PCM_16"]), dtype="float32")
    src = tmp_path / f"in{suffix}"
    sf.write(src, x, rate, subtype=subtype)
    opts = _small_blocks(clean_opts, block_s=0.7)
    plain = clean_file(src, tmp_path / "plain" / f"out{suffix}", opts, models)
    assert set(model_threads) == {threading.current_thread().name}
    blocks, model_threads[:] = len(model_threads), []
    behind = clean_file(src, tmp_path / "behind" / f"out{suffix}", opts, models, background_io=True)
    assert len(model_threads) == blocks > 2 and all(n.startswith("denoise-model") for n in model_threads)
    outs = tmp_path / "plain" / f"out{suffix}", tmp_path / "behind" / f"out{suffix}"
    if subtype == "FLOAT":  # samples, not bytes: libsndfile's PEAK chunk in float WAV holds the time it was written
        assert sf.info(str(outs[0])).subtype == sf.info(str(outs[1])).subtype == "FLOAT"
        assert np.array_equal(read_audio(outs[0])[0], read_audio(outs[1])[0])
    else:
        assert outs[0].read_bytes() == outs[1].read_bytes()
    assert plain["segments"] == behind["segments"] and plain["noise_profile"] == behind["noise_profile"]
    assert [p.name for p in (tmp_path / "behind").iterdir()] == [f"out{suffix}"]
    assert not [t for t in threading.enumerate() if t.name in ("denoise-decode", "denoise-write")
                or t.name.startswith("denoise-model")]


@pytest.mark.parametrize("subtype,tol", [("PCM_16", 1), ("FLOAT", 1e-4)])
def test_small_blocks_equal_one_block(tmp_path, stereo_48k, clean_opts, models, subtype, tol):
    whole_opts = _small_blocks(clean_opts, block_s=30.0)
    small_opts = _small_blocks(clean_opts, block_s=0.7)
    dtype = "int16" if subtype == "PCM_16" else "float32"
    r1 = clean_file(stereo_48k[subtype], tmp_path / "whole.wav", whole_opts, models)
    r2 = clean_file(stereo_48k[subtype], tmp_path / "blocks.wav", small_opts, models)
    a, _ = read_audio(tmp_path / "whole.wav", dtype)
    b, _ = read_audio(tmp_path / "blocks.wav", dtype)
    x, _ = read_audio(stereo_48k[subtype], dtype)
    assert a.shape == b.shape == x.shape
    assert np.abs(a.astype(np.float64) - b).max() <= tol
    assert not np.array_equal(a, x)  # the chain did change the audio
    assert r1["segments"] == r2["segments"] and r1["noise_profile"] == r2["noise_profile"]
    assert r1["noise_floor_dbfs"] == pytest.approx(r2["noise_floor_dbfs"], abs=0.01)


def test_small_blocks_equal_one_block_with_minimum_statistics(tmp_path, clean_opts, models):
    """0.45 s holds less than 0.5 s of non-speech: the profile falls back to minimum statistics."""
    src = write_audio(tmp_path / "short.wav", _noisy_stereo(0.45, 48_000, seed=3), 48_000, "FLOAT")
    r1 = clean_file(src, tmp_path / "whole.wav", _small_blocks(clean_opts, 30.0, 0.2), models)
    r2 = clean_file(src, tmp_path / "blocks.wav", _small_blocks(clean_opts, 0.05, 0.2), models)
    assert r1["noise_profile"]["source"] == r2["noise_profile"]["source"] == "minimum-statistics"
    a, _ = read_audio(tmp_path / "whole.wav")
    b, _ = read_audio(tmp_path / "blocks.wav")
    assert np.abs(a - b).max() <= 1e-4


# --- pass-through and formats ---------------------------------------------------------------------
@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "FLOAT"),
                                         ("FLAC", "PCM_16"), ("FLAC", "PCM_24")])
def test_no_stages_passes_audio_through_bit_for_bit(tmp_path, models, fmt, subtype):
    rng = np.random.default_rng(0)
    x = np.clip(0.3 * rng.standard_normal((2, 22_051)), -1, 1).astype(np.float32)
    x[0, :3] = [-1.0, 1.0, 0.0]  # full scale survives too
    ext = ".wav" if fmt == "WAV" else ".flac"
    src = write_audio(tmp_path / f"in{ext}", x, 44_100, subtype)
    dst = tmp_path / "out" / f"out{ext}"
    opts = CleanOptions(spectral=SpectralOptions(enabled=False), model=ModelOptions(enabled=False))
    report = clean_file(src, dst, opts, models)
    dtype = "float32" if subtype == "FLOAT" else "int32"
    a, rate_a = read_audio(src, dtype)
    b, rate_b = read_audio(dst, dtype)
    assert rate_a == rate_b == 44_100
    assert a.shape == b.shape and np.array_equal(a, b)
    info = sf.info(str(dst))
    assert (info.format, info.subtype, info.channels) == (fmt, subtype, 2)
    assert report["stages"] == {"vad": True, "spectral": False, "dns": False}
    assert report["checkpoint"] is None
    if fmt == "WAV" and subtype != "FLOAT":
        assert sha256_bytes(src) == sha256_bytes(dst)  # even the header is the same


@pytest.mark.parametrize("rate,channels,fmt,subtype", [
    (8_000, 1, "WAV", "PCM_16"), (44_100, 2, "FLAC", "PCM_24"), (48_000, 2, "WAV", "FLOAT"),
    (22_050, 1, "FLAC", "PCM_16"), (16_000, 3, "WAV", "PCM_24"),
])
def test_output_keeps_rate_channels_subtype_and_container(tmp_path, clean_opts, models, rate, channels, fmt,
                                                          subtype):
    rng = np.random.default_rng(rate)
    x = np.stack([voiced(1.3, rate, 120 + 40 * c, c) + 0.02 * rng.standard_normal(int(1.3 * rate))
                  for c in range(channels)]).astype(np.float32)
    ext = ".wav" if fmt == "WAV" else ".flac"
    src = write_audio(tmp_path / f"in{ext}", x, rate, subtype)
    dst = tmp_path / f"out{ext}"
    report = clean_file(src, dst, clean_opts, models)
    info = sf.info(str(dst))
    assert (info.samplerate, info.channels, info.format, info.subtype, info.frames) == \
        (rate, channels, fmt, subtype, x.shape[1])
    y, _ = read_audio(dst)
    assert np.isfinite(y).all() and 0 < np.abs(y).max() <= 1.0
    assert report["input_format"] == report["output_format"] == {"container": fmt, "subtype": subtype}
    assert report["sample_rate_hz"] == rate and report["channels"] == channels
    assert temp_leftovers(tmp_path) == []


def test_format_flac_converts_float_wav_to_24_bit_flac(tmp_path, stereo_48k, clean_opts, models):
    dst = tmp_path / "out.flac"
    report = clean_file(stereo_48k["FLOAT"], dst, replace(clean_opts, output_format="flac"), models)
    info = sf.info(str(dst))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("FLAC", "PCM_24", 48_000, 2)
    assert report["output_format"] == {"container": "FLAC", "subtype": "PCM_24"}
    assert report["input_format"] == {"container": "WAV", "subtype": "FLOAT"}
    # the same samples as a WAV output, to 24-bit precision
    clean_file(stereo_48k["FLOAT"], tmp_path / "out.wav", clean_opts, models)
    a, _ = read_audio(dst)
    b, _ = read_audio(tmp_path / "out.wav")
    assert np.abs(a - np.clip(b, -1, 1)).max() <= 2 / 2**23


# --- reports ---------------------------------------------------------------------------------------
def _check_report_basics(report, src, dst, random_weights):
    assert report["status"] == "cleaned"
    assert report["input"] == str(src) and report["output"] == str(dst)
    duration = report["duration_s"]
    assert duration == pytest.approx(sf.info(str(src)).duration, abs=1e-3)
    prev_end = 0.0
    for seg in report["segments"]:
        assert 0 <= seg["start_s"] < seg["end_s"] <= duration
        assert seg["start_s"] >= prev_end
        assert seg["duration_s"] == pytest.approx(seg["end_s"] - seg["start_s"], abs=2e-3)
        prev_end = seg["end_s"]
    assert 0.0 <= report["speech_ratio"] <= 1.0
    assert report["speech_ratio"] == pytest.approx(
        sum(s["duration_s"] for s in report["segments"]) / duration, abs=2e-3)
    assert report["checkpoint"]["sha256"] == sha256_bytes(random_weights)
    assert report["checkpoint"]["path"] == random_weights
    assert report["stages"] == {"vad": True, "spectral": True, "dns": True}
    assert np.isfinite(report["noise_floor_dbfs"]) and report["noise_floor_dbfs"] < 0
    assert report["timings_s"]["total"] >= 0 and report["real_time_factor"] >= 0


def test_report_of_a_file_without_speech(tmp_path, stereo_48k, clean_opts, models, random_weights):
    dst = tmp_path / "out.wav"
    report = clean_file(stereo_48k["PCM_16"], dst, clean_opts, models, report_path=tmp_path / "r.json")
    _check_report_basics(report, stereo_48k["PCM_16"], dst, random_weights)
    import json
    assert json.loads((tmp_path / "r.json").read_text()) == json.loads(json.dumps(report))
    assert report["segments"] == [] and report["speech_ratio"] == 0.0
    assert report["noise_profile"]["source"] == "non-speech"
    assert report["noise_profile"]["seconds"] == pytest.approx(report["duration_s"], abs=0.02)
    assert report["snr_estimate_db"] == {"before": None, "after": None}
    # noise floor: left noise RMS 0.03 plus the harmonics, right 0.02 plus half as much (~ -25 dBFS)
    x, _ = read_audio(stereo_48k["PCM_16"])
    assert report["noise_floor_dbfs"] == pytest.approx(10 * np.log10(np.mean(x.astype(np.float64) ** 2)), abs=1.0)


def test_steady_noise_is_cleaned_at_the_steady_settings(tmp_path, noisy_speech, clean_opts, models):
    """White noise spreads by about 1 dB over the pauses: the default chain uses the steady
    alpha (4) and floor (0.12) there, sample for sample as those fixed for every file, and a
    fixed alpha and floor (--over-subtraction, --spectral-floor) override them."""
    src, _, _ = noisy_speech
    sp = clean_opts.spectral
    assert (sp.steady_over_subtraction, sp.steady_floor) == (4.0, 0.12)
    auto = clean_file(src, tmp_path / "auto.wav", clean_opts, models)
    assert auto["noise_profile"]["level_spread_db"] < STEADY_SPREAD_DB
    assert auto["noise_profile"]["over_subtraction"] == 4.0
    assert auto["noise_profile"]["spectral_floor"] == 0.12
    fixed = {}
    for name, alpha, floor in (("steady", 4.0, 0.12), ("other", 10.0, 0.2), ("alpha_only", 4.0, 0.2)):
        opts = replace(clean_opts, spectral=replace(sp, over_subtraction=alpha, steady_over_subtraction=None,
                                                    floor=floor, steady_floor=None))
        fixed[name] = clean_file(src, tmp_path / f"{name}.wav", opts, models)
        assert fixed[name]["noise_profile"]["over_subtraction"] == alpha
        assert fixed[name]["noise_profile"]["spectral_floor"] == floor
    out = {name: read_audio(tmp_path / f"{name}.wav")[0] for name in ("auto", "steady", "other", "alpha_only")}
    # samples, not bytes: libsndfile's PEAK chunk in float WAV holds the time it was written
    assert np.array_equal(out["auto"], out["steady"])
    assert np.abs(out["auto"] - out["other"]).max() > 1e-3
    assert np.abs(out["auto"] - out["alpha_only"]).max() > 1e-4  # the floor is applied too


def test_noise_that_comes_and_goes_keeps_the_full_over_subtraction(tmp_path, speech_with_pauses, clean_opts,
                                                                    models):
    """The same speech with its noise switched 12 dB up and down every 0.25 s: alpha 10."""
    clean, _ = speech_with_pauses
    rng = np.random.default_rng(12)
    level = np.where((np.arange(clean.size) // 4000) % 2 == 0, 1.0, 0.25)
    noise = 0.02 * rng.standard_normal(clean.size) * level
    src = write_audio(tmp_path / "in.wav", clean + noise, 16_000, "FLOAT")
    report = clean_file(src, tmp_path / "out.wav", clean_opts, models)
    assert report["noise_profile"]["source"] == "non-speech"
    assert report["noise_profile"]["level_spread_db"] > STEADY_SPREAD_DB
    assert report["noise_profile"]["over_subtraction"] == clean_opts.spectral.over_subtraction == 10.0


def test_report_of_speech_with_pauses(tmp_path, noisy_speech, clean_opts, models, random_weights):
    src, clean, spans = noisy_speech
    dst = tmp_path / "out.wav"
    report = clean_file(src, dst, clean_opts, models)
    _check_report_basics(report, src, dst, random_weights)
    assert report["noise_profile"]["source"] == "non-speech"
    assert report["noise_profile"]["seconds"] >= 1.0
    segs = report["segments"]
    assert segs, "no speech found"
    for a, b in spans:  # every known utterance lies in a segment; the pauses' middles do not
        mid = (a + b) / 2
        assert any(s["start_s"] <= mid <= s["end_s"] for s in segs), (a, b, segs)
    for mid in (0.5, spans[0][1] + 0.5, spans[1][1] + 0.5):
        assert not any(s["start_s"] <= mid <= s["end_s"] for s in segs), (mid, segs)
    assert report["snr_estimate_db"]["before"] is not None
    assert report["snr_estimate_db"]["after"] > report["snr_estimate_db"]["before"]


def test_report_of_continuous_speech_uses_minimum_statistics(tmp_path, speech_16k, clean_opts, models):
    """No pause at all (speech from the first to the last sample): minimum statistics."""
    rng = np.random.default_rng(5)
    x = speech_16k + 0.005 * rng.standard_normal(speech_16k.size).astype(np.float32)
    src = write_audio(tmp_path / "speech.wav", x, 16_000, "FLOAT")
    report = clean_file(src, tmp_path / "out.wav", clean_opts, models)
    assert report["speech_ratio"] > 0.7
    assert report["noise_profile"]["source"] == "minimum-statistics"
    assert report["noise_profile"]["seconds"] == pytest.approx(report["duration_s"], abs=0.02)


# --- speech only ----------------------------------------------------------------------------------------
def test_speech_only_output_is_the_segments_joined(tmp_path, noisy_speech, clean_opts, models):
    src, _, _ = noisy_speech
    dst = tmp_path / "speech.wav"
    report = clean_file(src, dst, replace(clean_opts, speech_only=True), models)
    segs = report["segments"]
    assert segs
    info = sf.info(str(dst))
    rate = report["sample_rate_hz"]
    assert info.frames == pytest.approx(sum(s["duration_s"] for s in segs) * rate, abs=len(segs))
    assert segs[0]["output_start_s"] == 0.0
    for a, b in zip(segs, segs[1:]):
        assert b["output_start_s"] == a["output_end_s"]
    for s in segs:
        assert s["output_end_s"] - s["output_start_s"] == pytest.approx(s["duration_s"], abs=2e-3)
    assert segs[-1]["output_end_s"] == pytest.approx(info.frames / rate, abs=1e-3)
    # the joined output is the full output's segments (apart from the 5 ms fades)
    full_dst = tmp_path / "full.wav"
    clean_file(src, full_dst, clean_opts, models)
    full, _ = read_audio(full_dst)
    joined, _ = read_audio(dst)
    s = segs[0]
    fade = int(0.005 * rate)
    a = full[:, round(s["start_s"] * rate) + fade : round(s["end_s"] * rate) - fade]
    b = joined[:, fade : fade + a.shape[1]]
    assert np.abs(a - b).max() < 1e-6


# --- results on signals with a known answer ---------------------------------------------------------------
def test_spectral_subtraction_chain_improves_snr_of_noisy_speech(tmp_path, noisy_speech, clean_opts, models):
    src, clean, _ = noisy_speech
    dst = tmp_path / "out.wav"
    clean_file(src, dst, replace(clean_opts, model=replace(clean_opts.model, enabled=False)), models)
    noisy, _ = read_audio(src)
    out, _ = read_audio(dst)
    gain_db = snr_db(clean, out[0]) - snr_db(clean, noisy[0])
    assert gain_db > 3.0, f"SNR improved by {gain_db:.2f} dB"


def test_tonal_floor_removes_a_stationary_tone_and_keeps_the_speech(tmp_path, noisy_speech, clean_opts, models):
    """A steady 1 kHz whine over noisy speech: in the pauses, tonal floors leave it >= 6 dB weaker.

    Measured 7.8 dB; at most 9.5 dB (floor 0.3, set here, against the minimum floor 0.1).
    """
    src, clean, spans = noisy_speech
    noisy, rate = read_audio(src)
    whine = tone(1000.0, noisy.shape[1] / rate, rate, amp=0.05)[: noisy.shape[1]]
    src = write_audio(tmp_path / "whine.wav", noisy[0] + whine, rate, "FLOAT")
    opts = replace(clean_opts, model=replace(clean_opts.model, enabled=False))
    pause = slice(int(0.1 * rate), int((spans[0][0] - 0.1) * rate))  # the lead-in, before any speech
    out = {}
    for on in (False, True):
        dst = tmp_path / f"out-{on}.wav"
        spectral = replace(opts.spectral, floor=0.3, steady_floor=None, tonal_floor=on)
        clean_file(src, dst, replace(opts, spectral=spectral), models)
        out[on] = read_audio(dst)[0][0]
    tone_bin = int(1000 * (pause.stop - pause.start) / rate)
    level = {on: np.abs(np.fft.rfft(y[pause]))[tone_bin] for on, y in out.items()}
    assert 20 * np.log10(level[False] / level[True]) >= 6.0
    assert snr_db(clean, out[True]) > snr_db(clean, out[False])


@pytest.mark.parametrize("dns", [True, False])
def test_attenuation_limit_bounds_the_noise_reduction(tmp_path, clean_opts, models, dns):
    """White noise only: measured -19.5 dB (chain) / -13.5 dB (subtraction) unlimited, -6.0 with a 6 dB limit."""
    n = (0.05 * np.random.default_rng(4).standard_normal(2 * 16_000)).astype(np.float32)
    src = write_audio(tmp_path / "noise.wav", n, 16_000, "FLOAT")
    opts = replace(clean_opts, spectral=replace(clean_opts.spectral, over_subtraction=3.0, floor=0.2),
                   model=replace(clean_opts.model, enabled=dns))
    levels = {}
    for limit in (None, 6.0):
        clean_file(src, tmp_path / "out.wav", replace(opts, attenuation_limit_db=limit), models)
        y, _ = read_audio(tmp_path / "out.wav")
        levels[limit] = 10 * np.log10(np.mean(y.astype(np.float64) ** 2) / np.mean(n.astype(np.float64) ** 2))
    assert levels[None] < -10.0
    assert -6.3 <= levels[6.0] <= -5.0


# --- the shipped model on real recordings (only once both exist) ------------------------------------------
@pytest.mark.skipif(not SHIPPED.exists(), reason=f"packaged checkpoint {SHIPPED} not built yet")
def test_shipped_model_improves_si_sdr_on_sample_audio(tmp_path, models):
    pairs = sample_pairs()
    if not pairs:
        pytest.skip("sample_audio/.reference is empty")
    from denoise_cli.pipeline import load_models

    shipped = load_models(CleanOptions(), torch.device("cpu"))
    noisy_path, ref_path = pairs[0]
    dst = tmp_path / ("out" + noisy_path.suffix)
    clean_file(noisy_path, dst, CleanOptions(), shipped)
    noisy, rate = read_audio(noisy_path)
    ref, ref_rate = read_audio(ref_path)
    out, _ = read_audio(dst)
    ref = resample(ref.mean(axis=0), ref_rate, rate)
    n = min(ref.size, noisy.shape[1])
    before = si_sdr(ref[:n], noisy.mean(axis=0)[:n])
    after = si_sdr(ref[:n], out.mean(axis=0)[:n])
    assert after > before + 1.0, f"SI-SDR {before:.2f} -> {after:.2f} dB"


@pytest.mark.cuda
@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device")
def test_clean_file_on_cuda_equals_cpu(tmp_path, stereo_48k, clean_opts, models):

    from denoise_cli.pipeline import load_models

    gpu = load_models(clean_opts, torch.device("cuda"))
    small = _small_blocks(clean_opts, block_s=0.7)
    clean_file(stereo_48k["FLOAT"], tmp_path / "cpu.wav", small, models)
    clean_file(stereo_48k["FLOAT"], tmp_path / "gpu.wav", small, gpu)
    a, _ = read_audio(tmp_path / "cpu.wav")
    b, _ = read_audio(tmp_path / "gpu.wav")
    assert np.abs(a - b).max() < 1e-3


def test_bfloat16_model_stays_close_to_float32(tmp_path, noisy_speech, clean_opts, models):
    from denoise_cli.pipeline import load_models

    path, _, _ = noisy_speech
    bf16 = replace(clean_opts, model=replace(clean_opts.model, precision="bfloat16"))
    bf16_models = load_models(bf16, torch.device("cpu"))
    assert models.precision == "float32" and bf16_models.precision == "bfloat16"
    clean_file(path, tmp_path / "f32.wav", clean_opts, models)
    report = clean_file(path, tmp_path / "bf16.wav", bf16, bf16_models)
    assert report["checkpoint"]["precision"] == "bfloat16"
    a, _ = read_audio(tmp_path / "f32.wav")
    b, _ = read_audio(tmp_path / "bf16.wav")
    assert not np.array_equal(a, b)  # the bfloat16 path did run
    assert snr_db(a[0], b[0]) > 40.0
    assert bf16.fingerprint("x") != clean_opts.fingerprint("x")  # a precision change redoes outputs


def test_linked_channels_run_the_model_once_and_equal_independent_on_identical_channels(
        tmp_path, noisy_speech, clean_opts, models, monkeypatch):
    import denoise_cli.pipeline as pipeline

    path, _, _ = noisy_speech
    mono, rate = read_audio(path)
    twin = write_audio(tmp_path / "twin.wav", np.concatenate([mono, mono]), rate, "FLOAT")
    independent = replace(clean_opts, model=replace(clean_opts.model, link_channels=False))
    seen = []
    real = pipeline.predict_mask
    monkeypatch.setattr(pipeline, "predict_mask",
                        lambda m, mag, *a, **k: seen.append(mag.shape[0]) or real(m, mag, *a, **k))
    clean_file(twin, tmp_path / "linked.wav", clean_opts, models)
    assert set(seen) == {1}  # one pass for both channels
    seen.clear()
    clean_file(twin, tmp_path / "independent.wav", independent, models)
    assert set(seen) == {2}
    clean_file(path, tmp_path / "mono.wav", clean_opts, models)
    linked, _ = read_audio(tmp_path / "linked.wav")
    each, _ = read_audio(tmp_path / "independent.wav")
    single, _ = read_audio(tmp_path / "mono.wav")
    assert np.abs(linked - each).max() < 1e-5  # identical channels: the mean is each channel
    assert np.abs(linked - single).max() < 1e-5
    assert independent.fingerprint("x") != clean_opts.fingerprint("x")




def test_blocks_transform_each_frame_and_run_each_chunk_once(tmp_path, stereo_48k, clean_opts, models,
                                                            monkeypatch):
    """Frames and mask chunks that straddle a block boundary are reused, not computed again."""
    import denoise_cli.pipeline as pipeline
    from denoise_cli.model import chunk_starts
    from denoise_cli.spectral import StftGeometry

    opts = _small_blocks(clean_opts, block_s=0.7, chunk_s=1.0)  # 5 blocks, 5 chunks
    frames, rows = [], []
    real_gain, net = pipeline.subtraction_gain, models.dns.model
    real_forward = type(net).forward
    monkeypatch.setattr(pipeline, "subtraction_gain",  # runs in the clean pass only
                        lambda power, *a, **k: frames.append(power.shape[1]) or real_gain(power, *a, **k))
    monkeypatch.setattr(type(net), "forward", lambda self, x: rows.append(x.shape[0]) or real_forward(self, x))
    clean_file(stereo_48k["FLOAT"], tmp_path / "out.wav", opts, models)
    n_frames = StftGeometry(48_000).n_frames(sf.info(str(stereo_48k["FLOAT"])).frames)
    assert len(frames) > 1
    assert sum(frames) == n_frames
    assert sum(rows) == len(chunk_starts(n_frames, 100, 25))


def test_a_cancelled_file_stops_mid_way_and_leaves_no_output(tmp_path, clean_opts, models):
    """How a thread's file ends on an interrupt: the next stage raises, the temporary output goes."""
    import threading

    from denoise_cli.masker import Cancelled, MaskRunner
    from denoise_cli.pipeline import Models

    src = write_audio(tmp_path / "in.wav", voiced(20.0, 16_000) + 0.01, 16_000)
    cancel = threading.Event()
    runner = MaskRunner(models.dns.model, models.device)
    calls = []

    def masker(x):  # the interrupt arrives while the first block's masks are computed
        calls.append(x.shape[0])
        cancel.set()
        return runner(x)

    opts = replace(clean_opts, block_s=2.0)
    cancelling = Models(models.vad, models.dns, models.device, "float32", masker, cancel)
    with pytest.raises(Cancelled):
        clean_file(src, tmp_path / "out.wav", opts, cancelling)
    assert len(calls) == 1  # nothing ran after the first model call
    assert not (tmp_path / "out.wav").exists() and temp_leftovers(tmp_path) == []
    # the same models without the event clean the file whole
    cancel.clear()
    clean_file(src, tmp_path / "out.wav", opts, Models(models.vad, models.dns, models.device, "float32", runner))
    assert read_audio(tmp_path / "out.wav")[0].shape == (1, 20 * 16_000)


@pytest.mark.parametrize("stages", [{"model": False}, {"model": False, "spectral": False}])
def test_background_io_without_the_model_runs_no_model_thread(tmp_path, stereo_48k, clean_opts, models, stages):
    """--no-dns (and --no-spectral with it: a pass-through) with background_io: the same
    bytes as the plain passes, and no model thread is started."""
    import threading

    opts = _small_blocks(clean_opts, block_s=0.7)
    opts = replace(opts, model=replace(opts.model, enabled=False),
                   spectral=replace(opts.spectral, enabled=stages.get("spectral", True)))
    started = []
    real_init = threading.Thread.__init__
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(threading.Thread, "__init__", lambda self, *a, **k: started.append(k.get("name") or "")
                      or real_init(self, *a, **k))
        clean_file(stereo_48k["PCM_16"], tmp_path / "behind.wav", opts, models, background_io=True)
    clean_file(stereo_48k["PCM_16"], tmp_path / "plain.wav", opts, models)
    assert (tmp_path / "behind.wav").read_bytes() == (tmp_path / "plain.wav").read_bytes()
    assert not [name for name in started if name.startswith("denoise-model")]


@pytest.mark.parametrize("stop", ["error", "cancel"])
def test_a_model_thread_that_fails_or_is_cancelled_ends_the_file_cleanly(tmp_path, clean_opts, models, stop):
    """With background_io the mask model runs in its own thread: an error there (or an
    interrupt) reaches clean_file's caller, the model thread is gone and no output is left."""
    import threading

    from denoise_cli.masker import Cancelled, MaskRunner
    from denoise_cli.pipeline import Models

    src = write_audio(tmp_path / "in.wav", voiced(20.0, 16_000) + 0.01, 16_000)
    cancel = threading.Event()
    runner = MaskRunner(models.dns.model, models.device)
    calls = []

    def masker(x):  # the third block's model call fails, or the interrupt arrives there
        calls.append(threading.current_thread().name)
        if len(calls) == 3:
            if stop == "error":
                raise RuntimeError("model failed")
            cancel.set()
        return runner(x)

    models_ = Models(models.vad, models.dns, models.device, "float32", masker, cancel)
    with pytest.raises(RuntimeError if stop == "error" else Cancelled):
        clean_file(src, tmp_path / "out.wav", replace(clean_opts, block_s=2.0), models_, background_io=True)
    assert 3 <= len(calls) <= 4 and all(name.startswith("denoise-model") for name in calls)
    assert not (tmp_path / "out.wav").exists() and temp_leftovers(tmp_path) == []
    assert not [t for t in threading.enumerate() if t.name.startswith(("denoise-model", "denoise-write"))]


def test_stage_timer_adds_each_threads_stages():
    """Stages timed in two threads at once nest per thread and both count."""
    import threading

    from denoise_cli.pipeline import StageTimer

    timer, ready = StageTimer(), threading.Barrier(2)

    def work():
        with timer("model"):
            ready.wait()
            time.sleep(0.05)

    thread = threading.Thread(target=work)
    thread.start()
    with timer("spectral"):
        ready.wait()
        with timer("read"):
            time.sleep(0.05)
    thread.join()
    assert timer.seconds["model"] >= 0.05 and timer.seconds["read"] >= 0.05
    assert timer.seconds["spectral"] < 0.03  # its nested read excluded, not the other thread's model


def test_stage_timer_counts_nested_stages_once():
    """A stage's seconds exclude the stages entered inside it (declick's read of the decoder is "read")."""
    from denoise_cli.pipeline import StageTimer

    clock = iter([0.0, 1.0, 4.0, 10.0, 10.0, 12.0])  # declick 0-10 with a read 1-4; then spectral 10-12
    timer = StageTimer(clock=lambda: next(clock))
    with timer("declick"):
        with timer("read"):
            pass
    with timer("spectral"):
        pass
    assert timer.seconds == {"read": 3.0, "declick": 7.0, "spectral": 2.0}
