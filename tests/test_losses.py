"""The training losses: the STOI-like envelope term against pystoi, the PESQ-like loudness term
against pesq, and how training uses them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import voiced
from denoise_cli.losses import (BARK_BAND_WIDTH, SEGMENT_FRAMES, bark, bark_bands, envelope_loss, loudness_loss,
                                mask_loss, third_octave_bands)
from denoise_cli.spectral import StftGeometry, istft, stft


def _magnitudes(x: np.ndarray) -> torch.Tensor:
    """(samples,) at 16 kHz -> (1, 161, frames) model-scale magnitudes."""
    return torch.from_numpy(np.abs(stft(x[None], StftGeometry(16_000)))[0].T.copy())[None]


def _speech(seconds: float = 4.0) -> np.ndarray:
    """Two talkers' worth of speech-like sound with a pause, so that envelopes vary."""
    a, b = voiced(seconds / 2, 16_000, 120, 0), voiced(seconds / 2, 16_000, 210, 1)
    return np.concatenate([a, np.zeros(4000, np.float32), b])


def test_bands_are_stois_third_octaves_over_the_model_bins():
    bands = third_octave_bands()
    assert bands.shape == (15, 161)
    assert (bands.sum(dim=1) >= 1).all() and (bands.sum(dim=0) <= 1).all()  # each band has a bin, none shared
    first, last = bands[0].nonzero().flatten(), bands[-1].nonzero().flatten()
    assert first.tolist() == [3]  # 150 Hz
    assert last.max().item() * 50 < 150 * 2 ** (14 / 3 + 1 / 6) <= (last.max().item() + 1) * 50  # up to 4.28 kHz


def test_envelope_loss_is_zero_on_clean_speech_and_follows_pystoi_in_noise():
    from pystoi import stoi

    clean = _speech()
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(clean.size).astype(np.float32)
    losses = []
    for snr_db in (-5, 0, 5, 15):
        noisy = clean + noise * np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
        loss = envelope_loss(_magnitudes(noisy), _magnitudes(clean)).item()
        assert 1 - loss == pytest.approx(stoi(clean, noisy, 16_000), abs=0.05)
        losses.append(loss)
    assert losses == sorted(losses, reverse=True)  # less noise, closer envelopes
    assert envelope_loss(_magnitudes(clean), _magnitudes(clean)).item() == pytest.approx(0.0, abs=1e-4)


def test_envelope_loss_has_finite_gradients_on_silence_and_constant_input():
    frames = SEGMENT_FRAMES + 5
    clean = torch.zeros(2, 161, frames)
    clean[1, 20:40] = 1.0  # one example speaks, at a constant level; the other is silent
    est = torch.full((2, 161, frames), 0.5, requires_grad=True)
    loss = envelope_loss(est, clean)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(est.grad).all()


@pytest.mark.parametrize("name, term", [("stoi_weight", envelope_loss), ("pesq_weight", loudness_loss)])
def test_a_loss_weight_changes_the_training_and_stays_out_of_an_older_runs_recipe(tmp_path, name, term):
    """At its default, 0, the option leaves the recipe (and so resumes) as before; on, it trains otherwise."""
    from denoise_cli.model import MaskNet, ModelDims
    from denoise_cli.train import TrainOptions, _recipe, optimise_step

    opts = TrainOptions(speech_dir=str(tmp_path), noise_dir=None, out=str(tmp_path / "o.pt"))
    assert name not in json.loads(_recipe(opts))
    assert json.loads(_recipe(replace(opts, **{name: 0.1})))[name] == 0.1
    clean = _magnitudes(_speech(1.0)).repeat(2, 1, 1)
    noisy = clean + 0.05 * torch.rand(clean.shape, generator=torch.Generator().manual_seed(0))
    weights = []
    for weight in (0.0, 0.0, 0.5):
        torch.manual_seed(0)
        model = MaskNet(ModelDims(conv_channels=8, lstm_hidden=8))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        with torch.no_grad():  # the step's loss is the MSE plus the weighted term on the masked magnitudes
            mask = model(noisy)
            expected = mask_loss(mask, noisy, clean) + weight * term(mask * noisy, clean)
        step = optimise_step(model, optimizer, noisy, clean, 1.0, **{name: weight})
        assert step == pytest.approx(expected.item(), rel=1e-5)
        optimise_step(model, optimizer, noisy, clean, 1.0, **{name: weight})
        weights.append(model.conv_out.weight.detach().clone())
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


@pytest.mark.parametrize("name", ["stoi_weight", "pesq_weight"])
def test_train_command_passes_a_loss_weight(tmp_path, monkeypatch, name):
    from typer.testing import CliRunner

    from denoise_cli.cli import app

    seen = []
    monkeypatch.setattr("denoise_cli.train.train", lambda opts, log: seen.append(getattr(opts, name)) or "0" * 64)
    args = ["train", "--speech-dir", str(tmp_path), "--out", str(tmp_path / "x.pt"), "--device", "cpu"]
    flag = "--" + name.replace("_", "-")
    assert CliRunner().invoke(app, args).exit_code == 0
    assert CliRunner().invoke(app, args + [flag, "0.2"]).exit_code == 0
    result = CliRunner().invoke(app, args + [flag, "-1"])
    assert result.exit_code == 2 and flag in result.output
    assert seen == [0.0, 0.2]


def test_bark_bands_split_each_bin_over_half_bark_bands_from_100_hz_to_8_khz():
    bands, centres = bark_bands()
    assert bands.shape == (len(centres), 161) and 40 <= len(centres) <= 44
    share = bands.sum(dim=0)
    assert torch.allclose(share[3:160], torch.ones(157), atol=1e-5)  # 150 Hz .. 7.95 kHz: whole bins
    assert share[2] == pytest.approx(0.5, abs=1e-5) and share[:2].sum() == 0  # 100 Hz is the lower edge
    assert (bands.sum(dim=1) > 0).all()  # no empty band
    assert torch.all(torch.diff(centres) > 0)
    assert BARK_BAND_WIDTH * 0.9 < (bark(torch.tensor(8000.0)) - bark(torch.tensor(100.0))) / len(centres) <= BARK_BAND_WIDTH


def test_loudness_loss_is_zero_on_clean_speech_and_follows_pesq():
    """Speech in white noise at five SNRs, and each with a Wiener gain from the true powers:
    the term orders the ten signals as wide-band PESQ does (at most one swapped pair)."""
    from pesq import pesq
    from scipy.stats import kendalltau

    clean = _speech()
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(clean.size).astype(np.float32)
    geo = StftGeometry(16_000)
    scores, losses = [], []
    for snr_db in (-5, 0, 5, 10, 15):
        scaled = noise * np.sqrt(np.mean(clean**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
        noisy = clean + scaled
        s, n = stft(clean[None], geo), stft(scaled[None], geo)
        gain = np.abs(s) ** 2 / (np.abs(s) ** 2 + np.abs(n) ** 2 + 1e-12)
        wiener = istft(stft(noisy[None], geo) * gain, geo, clean.size)[0].astype(np.float32)
        for x in (noisy, wiener):
            scores.append(pesq(16_000, clean, x, "wb"))
            losses.append(loudness_loss(_magnitudes(x), _magnitudes(clean)).item())
    assert kendalltau(scores, losses).statistic <= -1 + 2 / 45  # 45 pairs, at most one discordant
    assert loudness_loss(_magnitudes(clean), _magnitudes(clean)).item() == pytest.approx(0.0, abs=1e-3)


def test_loudness_loss_has_finite_gradients_on_silence_and_constant_input():
    clean = torch.zeros(2, 161, 40)
    clean[1, 20:40] = 1.0
    est = torch.full((2, 161, 40), 0.5, requires_grad=True)
    loss = loudness_loss(est, clean)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(est.grad).all() and est.grad.abs().sum() > 0


def test_chain_estimate_is_the_pipelines_smoothed_and_capped_gain():
    """The gain the training sees is the one pipeline.Cleaner.clean applies: subtraction gain times
    mask, averaged by spectral.smooth_over_frames (the end frames standing in at the ends) and
    capped at one."""
    from denoise_cli.losses import chain_estimate
    from denoise_cli.spectral import smooth_over_frames

    rng = np.random.default_rng(0)
    noisy = rng.uniform(0.1, 2.0, (2, 161, 40)).astype(np.float32)
    sub_gain = rng.uniform(0.2, 1.0, noisy.shape).astype(np.float32)
    mask = rng.uniform(0.0, 2.0, noisy.shape).astype(np.float32)
    for radius in (0, 1, 3):
        # the pipeline's layout is (channels, frames, bins): here the file is whole, no context frames
        want_gain = smooth_over_frames((sub_gain * mask).transpose(0, 2, 1), radius, 0, 0)
        want = np.minimum(want_gain, 1.0).transpose(0, 2, 1) * noisy
        got = chain_estimate(torch.from_numpy(mask), torch.from_numpy(sub_gain * noisy), torch.from_numpy(noisy),
                             radius)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    assert (np.minimum(sub_gain * mask, 1.0) < sub_gain * mask).any()  # the cap was tested, not idle


def test_gain_smoothing_trains_through_the_chain_and_stays_out_of_an_older_runs_recipe(tmp_path):
    """At 0 the option leaves the recipe and the step as before; on, the loss is the magnitude
    loss of the chain's smoothed, capped output, and the weights come out different."""
    from denoise_cli.losses import chain_estimate, magnitude_loss
    from denoise_cli.model import MaskNet, ModelDims
    from denoise_cli.train import TrainOptions, _recipe, optimise_step

    opts = TrainOptions(speech_dir=str(tmp_path), noise_dir=None, out=str(tmp_path / "o.pt"))
    assert "gain_smoothing_ms" not in json.loads(_recipe(opts))
    assert replace(opts, gain_smoothing_ms=30.0).smooth_frames == 3
    assert json.loads(_recipe(replace(opts, gain_smoothing_ms=30.0)))["gain_smoothing_ms"] == 30.0
    clean = _magnitudes(_speech(1.0)).repeat(2, 1, 1)
    noisy = clean + 0.05 * torch.rand(clean.shape, generator=torch.Generator().manual_seed(0))
    subtracted = 0.7 * noisy
    weights = []
    for radius in (0, 0, 3):
        torch.manual_seed(0)
        model = MaskNet(ModelDims(conv_channels=8, lstm_hidden=8, mask_max=2.0))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        target = torch.cat([clean, noisy], dim=1) if radius else clean
        with torch.no_grad():
            mask = model(subtracted)
            expected = (magnitude_loss(chain_estimate(mask, subtracted, noisy, radius), clean) if radius
                        else mask_loss(mask, subtracted, clean))
        step = optimise_step(model, optimizer, subtracted, target, 1.0, smooth_frames=radius)
        assert step == pytest.approx(expected.item(), rel=1e-5)
        optimise_step(model, optimizer, subtracted, target, 1.0, smooth_frames=radius)
        weights.append(model.conv_out.weight.detach().clone())
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def test_quiet_weight_weighs_only_residual_noise_in_quiet_frames():
    """Errors above the clean magnitude in frames 30 dB or more below the loudest count quiet_weight
    times; errors in loud frames, and speech removed in quiet frames, count as before."""
    from denoise_cli.losses import COMPRESS, magnitude_loss

    clean = torch.full((1, 161, 20), 1.0)
    clean[:, :, 10:] = 1e-3  # frames 10..19 are 60 dB below the loudest
    for frames in (slice(0, 10), slice(10, 20)):
        for sign in (1.0, -1.0):
            est = clean.clone()
            est[:, :, frames] *= 2.0 ** sign  # a residual (above) or removed speech (below)
            plain, weighted = magnitude_loss(est, clean), magnitude_loss(est, clean, quiet_weight=4.0)
            assert plain.item() > 0
            quiet_residual = frames.start == 10 and sign > 0
            assert weighted.item() == pytest.approx(plain.item() * (4.0 if quiet_residual else 1.0), rel=1e-6)
    noisy = clean + 0.01
    assert magnitude_loss(noisy, clean, under_weight=2.0, quiet_weight=1.0).item() == pytest.approx(
        torch.mean(((noisy + 1e-8) ** COMPRESS - (clean + 1e-8) ** COMPRESS) ** 2).item())


def test_quiet_weight_stays_out_of_an_older_runs_recipe_and_reaches_the_step(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from denoise_cli.cli import app
    from denoise_cli.losses import magnitude_loss
    from denoise_cli.model import MaskNet, ModelDims
    from denoise_cli.train import TrainOptions, _recipe, optimise_step

    opts = TrainOptions(speech_dir=str(tmp_path), noise_dir=None, out=str(tmp_path / "o.pt"))
    assert "quiet_weight" not in json.loads(_recipe(opts))
    assert json.loads(_recipe(replace(opts, quiet_weight=3.0)))["quiet_weight"] == 3.0
    clean = _magnitudes(_speech(1.0)).repeat(2, 1, 1)
    noisy = clean + 0.05 * torch.rand(clean.shape, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    model = MaskNet(ModelDims(conv_channels=8, lstm_hidden=8))
    with torch.no_grad():
        expected = magnitude_loss(model(noisy) * noisy, clean, quiet_weight=3.0)
    step = optimise_step(model, torch.optim.Adam(model.parameters()), noisy, clean, 1.0, quiet_weight=3.0)
    assert step == pytest.approx(expected.item(), rel=1e-5)
    seen = []
    monkeypatch.setattr("denoise_cli.train.train", lambda opts, log: seen.append(opts.quiet_weight) or "0" * 64)
    args = ["train", "--speech-dir", str(tmp_path), "--out", str(tmp_path / "x.pt"), "--device", "cpu"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert CliRunner().invoke(app, args + ["--quiet-weight", "3"]).exit_code == 0
    assert seen == [1.0, 3.0]
