"""Training augmentations: what each does to a signal with a known answer."""

import numpy as np
from scipy.signal import welch

from denoise_cli.augment import (AugmentOptions, augment_speech, band_limit, clip, random_eq,
                                 random_room, reverberate)

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
    a = augment_speech(np.random.default_rng(9), x, SR, AugmentOptions(1, 1, 1, 1))
    b = augment_speech(np.random.default_rng(9), x, SR, AugmentOptions(1, 1, 1, 1))
    assert np.array_equal(a, b) and not np.allclose(a, x)
    rng = np.random.default_rng(9)
    assert augment_speech(rng, x, SR, AugmentOptions.none()) is x
    assert rng.random() == np.random.default_rng(9).random()  # nothing drawn
