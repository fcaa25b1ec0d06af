"""Silero VAD as we run it: batched over frames, equal to the frame-by-frame model."""

import numpy as np



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
