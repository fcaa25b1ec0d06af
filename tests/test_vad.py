"""Silero VAD as we run it: batched over frames, equal to the frame-by-frame model."""

import numpy as np
import pytest



def test_batched_vad_equals_silero_frame_by_frame(speech_16k):
    """Our batched run of Silero's network matches its own per-frame loop, across blocks."""
    import torch

    from denoise_cli.vad import SileroVad

    vad = SileroVad()
    audio = np.concatenate([speech_16k, 0.01 * np.random.default_rng(0).standard_normal(16_000)])
    audio = audio.astype(np.float32)
    n = len(audio) // 512
    vad.reference.reset_states()
    with torch.inference_mode():
        expected = np.array([vad.reference(torch.from_numpy(audio[i * 512:(i + 1) * 512])[None], 16_000).item()
                             for i in range(n)])
    vad.reset()
    cuts = sorted({0, 1000, 1500, n * 512 // 3, n * 512 // 2, n * 512})
    got = np.concatenate([vad.feed(audio[a:b]) for a, b in zip(cuts[:-1], cuts[1:])])
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-4
    assert expected.max() > 0.9 and expected.min() < 0.1  # real speech and real pauses were seen


def test_speech_spans_and_gaps_match_the_sample_masks():
    """Merged guarded spans and their gaps cover exactly what the per-sample masks mark."""
    from denoise_cli.vad import Segment, gaps, speech_spans

    rng = np.random.default_rng(4)
    for _ in range(200):
        edges = np.sort(rng.choice(5000, size=2 * rng.integers(0, 6), replace=False))
        segments = [Segment(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
        start, stop = sorted(int(v) for v in rng.choice(5000, size=2, replace=False))
        guard = int(rng.integers(0, 300))
        mask = np.zeros(stop - start, bool)
        for s in segments:
            i = np.arange(start, stop)
            mask |= (i >= s.start - guard) & (i < s.end + guard)
        spans = speech_spans(segments, start, stop, guard)
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))  # sorted, disjoint, not touching
        got = np.zeros(stop - start, bool)
        for lo, hi in spans:
            got[lo:hi] = True
        assert np.array_equal(got, mask)
        outside = np.zeros(stop - start, bool)
        for lo, hi in gaps(spans, stop - start):
            outside[lo:hi] = True
        assert np.array_equal(outside, ~mask)


def test_level_meter_gives_the_snr_of_a_known_block():
    """Speech at power 1.01 (tone + noise) over noise at 0.01 -> 10 log10(1 / 0.01) = 20 dB."""
    from denoise_cli.pipeline import LevelMeter

    n = 48_000
    rng = np.random.default_rng(5)
    noise = rng.choice([-0.1, 0.1], size=(2, n)).astype(np.float32)  # power exactly 0.01
    speech = np.zeros((2, n), np.float32)
    speech[:, 10_000:30_000] = rng.choice([-1.0, 1.0], size=(2, 20_000))  # power 1 where it is
    meter = LevelMeter()
    half = n // 2  # two blocks, the speech across their boundary
    for s0, s1 in ((0, half), (half, n)):
        block = (speech + noise)[:, s0:s1]
        inside = [(max(10_000, s0) - s0, min(30_000, s1) - s0)]
        quiet = [(0, max(0, 9_000 - s0))] if s0 < 9_000 else [(31_000 - s0, s1 - s0)]
        meter.add(block, inside, quiet)
    # speech + noise samples: 1 + 0.01 +- 2 * 0.1 per sample product; the sign pattern is random
    expected = 10 * np.log10(np.mean((speech + noise)[:, 10_000:30_000] ** 2) - 0.01) - 10 * np.log10(0.01)
    assert meter.snr_db() == round(float(expected), 2)
    assert abs(meter.snr_db() - 20.0) < 0.2


def test_level_meter_says_nothing_without_speech_power_or_pauses():
    from denoise_cli.pipeline import LevelMeter

    rng = np.random.default_rng(0)
    block = np.concatenate([0.1 * rng.standard_normal(8000), 0.01 * rng.standard_normal(8000)])[None]
    louder_pauses = LevelMeter()  # noise that drowns the speech: no speech power to measure
    louder_pauses.add(block, speech=[(8000, 16000)], noise=[(0, 8000)])
    assert louder_pauses.snr_db() is None  # not the -175 dB that a floored power ratio gave
    quieter_pauses = LevelMeter()  # the same block, roles swapped: a figure
    quieter_pauses.add(block, speech=[(0, 8000)], noise=[(8000, 16000)])
    assert quieter_pauses.snr_db() == pytest.approx(20.0, abs=0.3)
    no_pauses = LevelMeter()
    no_pauses.add(block, speech=[(0, 16000)], noise=[])
    assert no_pauses.snr_db() is None


def test_the_fft_spectrum_equals_silero_s_convolution():
    """Silero's STFT basis is recognised as a Hann-windowed DFT and rfft gives its magnitudes."""
    import torch

    from denoise_cli.vad import SileroVad

    vad = SileroVad()
    assert vad._hann is not None  # the wheel's basis was recognised: the fast path runs
    x = 0.3 * torch.from_numpy(np.random.default_rng(6).standard_normal((50, 576)).astype(np.float32))
    with torch.inference_mode():
        ours, theirs = vad._spectrum(x), vad.net.run_extractors(x)
    assert ours.shape == theirs.shape
    assert (ours - theirs).abs().max() < 1e-5 * theirs.abs().max()
