"""Clicks: taken down where they are, everything else untouched, the same in any blocks, and in the chain."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from conftest import ArrayInput, read_audio, snr_db, voiced, write_audio
from denoise_cli.declick import ClickSuppressedInput
from denoise_cli.pipeline import clean_file
from denoise_cli.spectral import StftGeometry

SR = 16_000
CLICK_MS = 8.0


def _clicks(n: int, rate: int, starts_s, seed: int = 0, amp: float = 0.5) -> np.ndarray:
    """Keyboard-like clicks at the given times: 8 ms white bursts decaying with 1.5 ms."""
    rng = np.random.default_rng(seed)
    x = np.zeros(n, np.float32)
    length = int(CLICK_MS / 1000 * rate)
    decay = np.exp(-np.arange(length) / (0.0015 * rate))
    for t in starts_s:
        s = int(t * rate)
        x[s : s + length] += amp * rng.standard_normal(length) * decay
    return x


def _read_in_blocks(inp, n: int, rng) -> np.ndarray:
    parts, s = [], 0
    while s < n:
        e = min(n, s + int(rng.integers(1, 9000)))
        parts.append(inp.read(s, e))
        s = e
    return np.concatenate(parts, axis=1)


@pytest.mark.parametrize("rate,channels", [(16_000, 1), (48_000, 2), (8_000, 1)])
def test_declicked_reads_in_any_blocks_equal_reading_the_whole_file(rate, channels):
    n = 3 * rate + 123
    rng = np.random.default_rng(1)
    starts = rng.uniform(0, 2.95, 25)
    x = np.stack([voiced(n / rate, rate, seed=c)[:n] + _clicks(n, rate, starts, seed=c) for c in range(channels)])
    inp = ClickSuppressedInput(ArrayInput(x, rate), StftGeometry(rate))
    whole = inp.read(0, n)
    assert not np.array_equal(whole, x)  # there were clicks to take down
    np.testing.assert_array_equal(_read_in_blocks(inp, n, rng), whole)
    np.testing.assert_array_equal(inp.read(-500, 0), 0)  # outside the file stays silent
    np.testing.assert_array_equal(inp.read(n, n + 500), 0)
    np.testing.assert_array_equal(inp.read(n - 200, n + 300)[:, 200:], 0)


def test_clicks_over_speech_are_taken_down_and_the_rest_is_untouched():
    n = 4 * SR
    speech = voiced(4.0, SR)[:n]
    starts = np.arange(0.25, 3.8, 0.31)  # 12 clicks, over loud and quiet speech alike
    clicks = _clicks(n, SR, starts)
    x = (speech + clicks)[None]
    y = ClickSuppressedInput(ArrayInput(x, SR), StftGeometry(SR)).read(0, n)
    before, after = snr_db(speech, x[0]), snr_db(speech, y[0])
    assert after - before > 6.0, f"{before:.1f} dB -> {after:.1f} dB"  # 18.6 -> 28.7 dB with the final rule
    # samples farther than three hops from every click are the input's, bit for bit
    hop = StftGeometry(SR).hop
    near = np.zeros(n, bool)
    for t in starts:
        s = int(t * SR)
        near[max(0, s - 3 * hop) : s + int(CLICK_MS / 1000 * SR) + 3 * hop] = True
    np.testing.assert_array_equal(y[0, ~near], x[0, ~near])


@pytest.mark.parametrize("noise_db", [None, -10.0])
def test_speech_and_steady_noise_without_clicks_pass_bit_for_bit(noise_db):
    """Syllables rise and fall over many frames, white noise never jumps across the band: no click."""
    speech = voiced(4.0, SR, seed=3)
    x = speech if noise_db is None else speech + 0.2 * 10 ** (noise_db / 20) * np.random.default_rng(
        2).standard_normal(speech.size).astype(np.float32)
    x = np.stack([x, 0.5 * x])
    y = ClickSuppressedInput(ArrayInput(x, SR), StftGeometry(SR)).read(0, x.shape[1])
    np.testing.assert_array_equal(y, x)


def test_the_chain_with_declick_beats_it_without_on_clicks_over_speech(tmp_path, speech_with_pauses,
                                                                      clean_opts, models):
    """Clicks all through speech with pauses: the subtraction alone, with and without declick."""
    clean, _ = speech_with_pauses
    rng = np.random.default_rng(4)
    clicks = _clicks(clean.size, SR, np.sort(rng.uniform(0, clean.size / SR - 0.01, 40)), amp=0.3)
    src = write_audio(tmp_path / "clicks.wav", clean + clicks, SR, "FLOAT")
    subtraction = replace(clean_opts, model=replace(clean_opts.model, enabled=False))
    gains = {}
    for declick in (False, True):
        dst = tmp_path / f"out_{declick}.wav"
        report = clean_file(src, dst, replace(subtraction, declick=declick), models)
        gains[declick] = snr_db(clean, read_audio(dst)[0][0])
        assert ("declick" in report["timings_s"]) == declick
    noisy = snr_db(clean, clean + clicks)
    msg = f"noisy {noisy:.1f} dB, without {gains[False]:.1f}, with {gains[True]:.1f}"
    assert gains[True] - gains[False] > 2.0, msg  # 4.9 -> 10.1 / 12.7 dB when written
