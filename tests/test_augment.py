"""Training augmentations: what each does to a signal with a known answer."""

import numpy as np
from scipy.signal import welch

from denoise_cli.augment import (EARLY_REFLECTIONS_MS, AugmentOptions, augment_speech, band_limit,
                                 clip, random_eq, random_room, reverberate, reverberate_with_early)

SR = 16000


def _noise(seed=0, n=SR * 2):
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32) * 0.1


def test_band_limit_removes_the_band_above_4_khz():
    x = _noise()
    f, p_in = welch(x, SR, nperseg=1024)
    _, p_out = welch(band_limit(None, x, SR), SR, nperseg=1024)
    above, below = f > 5500, f < 3000
    assert 10 * np.log10(p_out[above].mean() / p_in[above].mean()) < -40
    assert abs(10 * np.log10(p_out[below].mean() / p_in[below].mean())) < 1


def test_room_has_a_direct_path_and_a_decaying_tail():
    rir = random_room(np.random.default_rng(3), SR)
    assert rir[0] == 1.0
    tail = rir[1:] ** 2
    quarter = tail.size // 4
    assert tail[:quarter].sum() > 10 * tail[-quarter:].sum()


def test_reverberation_keeps_the_level_and_spreads_an_impulse():
    x = np.zeros(SR, np.float32)
    x[100] = 1.0
    y = reverberate(np.random.default_rng(1), x, SR)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.isclose(np.sum(y.astype(np.float64) ** 2), 1.0, rtol=1e-3)
    assert np.count_nonzero(np.abs(y[200:]) > 1e-4) > 1000  # energy after the direct sound


def test_clip_limits_the_peak_below_the_original():
    x = _noise()
    y = clip(np.random.default_rng(0), x, SR)
    assert np.abs(y).max() < np.abs(x).max() * 10 ** (-0.99 / 20)
    small = np.abs(x) < np.abs(y).max()
    assert np.array_equal(y[small], x[small])


def test_eq_changes_colour_but_not_length():
    x = _noise()
    y = random_eq(np.random.default_rng(5), x, SR)
    assert y.shape == x.shape and np.all(np.isfinite(y))
    assert not np.allclose(x, y)


def test_augment_is_deterministic_and_off_when_shares_are_zero():
    x = _noise()
    a, ta = augment_speech(np.random.default_rng(9), x, SR, AugmentOptions(1, 1, 1, 1))
    b, tb = augment_speech(np.random.default_rng(9), x, SR, AugmentOptions(1, 1, 1, 1))
    assert np.array_equal(a, b) and np.array_equal(ta, tb) and not np.allclose(a, x)
    rng = np.random.default_rng(9)
    mixed, target = augment_speech(rng, x, SR, AugmentOptions.none())
    assert mixed is x and target is x
    assert rng.random() == np.random.default_rng(9).random()  # nothing drawn


def test_dry_target_keeps_the_early_room_only():
    x = np.zeros(SR, np.float32)
    x[100] = 1.0
    wet, early = reverberate_with_early(np.random.default_rng(1), x, SR)
    assert np.array_equal(wet, reverberate(np.random.default_rng(1), x, SR))
    cut = 100 + int(EARLY_REFLECTIONS_MS * SR / 1000)
    assert np.allclose(early[:cut], wet[:cut], atol=1e-6)  # same gain, direct sound and early part
    assert np.abs(early[cut + 1:]).max() < 1e-6 and np.abs(wet[cut + 1:]).max() > 1e-3


def test_augment_target_is_dry_or_reverberant_as_asked():
    x = _noise()
    reverb_only = dict(eq_share=0, reverb_share=1, band_limit_share=0, clip_share=0)
    wet, dry = augment_speech(np.random.default_rng(4), x, SR, AugmentOptions(**reverb_only))
    wet2, same = augment_speech(np.random.default_rng(4), x, SR,
                                AugmentOptions(**reverb_only, dry_target=False))
    assert np.array_equal(wet, wet2) and same is wet2
    # the dry target lacks the late tail: less energy than the reverberant speech
    assert np.sum(dry.astype(np.float64) ** 2) < np.sum(wet.astype(np.float64) ** 2)
    everything = augment_speech(np.random.default_rng(4), x, SR, AugmentOptions(1, 1, 1, 1))
    limit = np.abs(everything[0]).max()
    assert np.abs(everything[1]).max() <= limit + 1e-7  # clipped at the mixture's level
