"""A tiny training run: a loadable checkpoint, determinism for a seed, resuming."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import voiced, write_audio
from denoise_cli.errors import UsageError
from denoise_cli.train import MixtureMaker, TrainOptions, load_folder, train
from denoise_cli.weights import file_sha256, load_checkpoint


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    for s, spk in enumerate(["spk1", "spk2"]):
        for u in range(2):
            rate = 22_050 if u else 16_000  # one file resampled on loading
            write_audio(root / "speech" / spk / f"u{u}.wav", voiced(1.2, rate, 110 + 60 * s + 15 * u, u), rate)
    rng = np.random.default_rng(0)
    write_audio(root / "noise" / "hum.flac", 0.1 * rng.standard_normal(16_000), 16_000, fmt="FLAC")
    return root


def _opts(data, tmp_path, name, steps=3, seed=0) -> TrainOptions:
    return TrainOptions(speech_dir=str(data / "speech"), noise_dir=str(data / "noise"),
                        out=str(tmp_path / f"{name}.pt"), run_dir=str(tmp_path / f"run_{name}"), steps=steps,
                        batch_size=2, example_s=1.0, profile_s=0.5, valid_examples=2, log_every=1,
                        checkpoint_every=1, seed=seed)


def _state(path):
    return load_checkpoint(path).model.state_dict()


def _same(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_load_folder_groups_by_speaker_at_16k(data, tmp_path):
    groups = load_folder(data / "speech", by_subfolder=True)
    assert len(groups) == 2 and all(len(g) == 2 for g in groups)
    assert all(u.dtype == np.float32 and u.size == pytest.approx(1.2 * 16_000, abs=2) for g in groups for u in g)
    (tmp_path / "notes.txt").write_text("no audio here")
    with pytest.raises(UsageError, match=r"no \.wav or \.flac files$"):
        load_folder(tmp_path, by_subfolder=False)


def test_mixtures_are_deterministic_and_shaped(data, tmp_path):
    opts = _opts(data, tmp_path, "m")
    maker = MixtureMaker(load_folder(data / "speech", True), load_folder(data / "noise", False), opts)
    x1, y1 = maker.batch((0, 3, 5))
    x2, y2 = maker.batch((0, 3, 5))
    x3, _ = maker.batch((0, 3, 6))
    assert x1.shape == y1.shape == (2, 161, 101)
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and not torch.equal(x1, x3)
    assert torch.isfinite(x1).all() and (x1 >= 0).all() and (y1 >= 0).all()


def test_training_writes_a_loadable_checkpoint_and_is_deterministic(data, tmp_path):
    logs = []
    sha = train(_opts(data, tmp_path, "a"), log=logs.append)
    assert sha == file_sha256(tmp_path / "a.pt")
    loaded = load_checkpoint(tmp_path / "a.pt")
    assert loaded.training["options"]["steps"] == 3
    assert loaded.training["speakers"] == 2 and loaded.training["noise_recordings"] == 1
    assert loaded.training["history"][-1]["step"] == 3
    assert not torch.all(loaded.model.feat_mean == 0)  # normalisation was fitted
    assert (tmp_path / "run_a" / "last.pt").exists()
    assert any(m.startswith("step 3/3") for m in logs)
    # the same seed gives the same weights; another seed does not
    train(_opts(data, tmp_path, "b"), log=lambda m: None)
    assert _same(_state(tmp_path / "a.pt"), _state(tmp_path / "b.pt"))
    train(_opts(data, tmp_path, "c", seed=1), log=lambda m: None)
    assert not _same(_state(tmp_path / "a.pt"), _state(tmp_path / "c.pt"))


def test_interrupted_training_resumes_to_the_same_weights(data, tmp_path):
    train(_opts(data, tmp_path, "whole", steps=4), log=lambda m: None)

    opts = _opts(data, tmp_path, "resumed", steps=4)

    def interrupt_at_step_3(message):
        if message.startswith("step 3/"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(opts, log=interrupt_at_step_3)
    assert not (tmp_path / "resumed.pt").exists()
    state = torch.load(tmp_path / "run_resumed" / "last.pt", weights_only=True)
    assert state["step"] == 2
    logs = []
    train(opts, log=logs.append)
    assert any(m.startswith(f"resumed from {tmp_path / 'run_resumed' / 'last.pt'} at step 2") for m in logs)
    assert _same(_state(tmp_path / "whole.pt"), _state(tmp_path / "resumed.pt"))


def test_data_workers_make_the_same_batches_and_the_same_weights(data, tmp_path):
    """Batches made ahead in worker processes are the ones the step's seed decides, in step order;
    a run with workers ends with the in-process run's weights and resumes the same run dir."""
    from denoise_cli.train import _recipe, training_batches

    opts = _opts(data, tmp_path, "inproc", steps=4)
    maker = MixtureMaker(load_folder(data / "speech", True), load_folder(data / "noise", False), opts)
    ahead = list(training_batches(maker, 0, 2, 6, 2, torch.device("cpu")))
    assert len(ahead) == 4
    for step, (x, y) in zip(range(2, 6), ahead):
        want_x, want_y = maker.batch((0, 3, step))
        assert torch.equal(x, want_x) and torch.equal(y, want_y)
    train(opts, log=lambda m: None)
    with_workers = replace(_opts(data, tmp_path, "workers", steps=4), data_workers=2)
    train(with_workers, log=lambda m: None)
    assert _same(_state(tmp_path / "inproc.pt"), _state(tmp_path / "workers.pt"))
    assert _recipe(with_workers) == _recipe(replace(with_workers, data_workers=0))
    assert "data_workers" not in load_checkpoint(tmp_path / "workers.pt").training["options"]


def test_data_workers_by_default_only_feed_a_gpu(data, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from denoise_cli.cli import app
    from denoise_cli.train import default_data_workers

    assert [default_data_workers("cpu", n) for n in (1, 2, 16)] == [0, 0, 0]
    assert [default_data_workers("cuda", n) for n in (1, 2, 4, 16)] == [1, 1, 3, 8]
    seen = []
    monkeypatch.setattr("denoise_cli.train.train", lambda opts, log: seen.append(opts.data_workers) or "0" * 64)
    args = ["train", "--speech-dir", str(data / "speech"), "--out", str(tmp_path / "x.pt"), "--device", "cpu"]
    assert CliRunner().invoke(app, args).exit_code == 0
    assert CliRunner().invoke(app, args + ["--data-workers", "3"]).exit_code == 0
    assert seen == [0, 3]


def test_a_finished_run_dir_does_not_train_again(data, tmp_path):
    opts = _opts(data, tmp_path, "done", steps=2)
    train(opts, log=lambda m: None)
    first = _state(tmp_path / "done.pt")
    logs = []
    train(replace(opts, out=str(tmp_path / "again.pt")), log=logs.append)
    assert not any(m.startswith("step ") for m in logs)
    assert _same(first, _state(tmp_path / "again.pt"))



def test_training_record_loads_with_weights_only(data, tmp_path):
    """The checkpoint `train` writes must load with weights_only=True (as load_checkpoint does)."""
    train(_opts(data, tmp_path, "record", steps=1), log=lambda m: None)
    raw = torch.load(tmp_path / "record.pt", map_location="cpu", weights_only=True)
    assert raw["training"]["torch"] == str(torch.__version__)


def test_resume_refuses_a_run_dir_made_with_other_settings(tmp_path):
    """A run dir from another recipe must not be silently continued (or its weights re-saved)."""
    speech, noise = tmp_path / "speech", tmp_path / "noise"
    for i in range(2):
        write_audio(speech / f"spk{i}" / "u.wav", voiced(1.0, 16_000, seed=i), 16_000)
    write_audio(noise / "n.wav", 0.1 * np.random.default_rng(0).standard_normal(16_000).astype(np.float32), 16_000)
    base = dict(speech_dir=str(speech), noise_dir=str(noise), out=str(tmp_path / "a.pt"),
                run_dir=str(tmp_path / "run"), steps=2, batch_size=2, example_s=1.0, profile_s=0.5,
                valid_examples=2, log_every=1, checkpoint_every=1)
    train(TrainOptions(**base), log=lambda m: None)
    with pytest.raises(UsageError, match="belongs to a run with other settings"):
        train(TrainOptions(**base, under_weight=2.0), log=lambda m: None)


def test_fine_tuning_starts_from_the_init_checkpoint(data, tmp_path):
    base = _opts(data, tmp_path, "base", steps=2)
    train(base, log=lambda m: None)
    zero_lr = replace(_opts(data, tmp_path, "tuned", steps=2), init=base.out, lr=0.0)
    logs = []
    train(zero_lr, log=logs.append)
    assert any("starting from" in line for line in logs)
    assert _same(_state(base.out), _state(zero_lr.out))  # lr 0: the init weights and normalisation, unchanged
    assert load_checkpoint(zero_lr.out).training["init_sha256"] == file_sha256(base.out)
    moved = replace(_opts(data, tmp_path, "moved", steps=2), init=base.out)
    train(moved, log=lambda m: None)
    assert not _same(_state(base.out), _state(moved.out))


def test_augmented_mixtures_differ_but_stay_deterministic(data, tmp_path):
    from denoise_cli.augment import AugmentOptions

    speakers, noises = load_folder(data / "speech", True), load_folder(data / "noise", False)
    plain = MixtureMaker(speakers, noises, replace(_opts(data, tmp_path, "p"), augment=AugmentOptions.none()))
    heavy = MixtureMaker(speakers, noises, replace(_opts(data, tmp_path, "h"), augment=AugmentOptions(1, 1, 1, 1)))
    assert not torch.equal(plain.batch((0, 3, 1))[1], heavy.batch((0, 3, 1))[1])
    assert torch.equal(heavy.batch((0, 3, 1))[1], heavy.batch((0, 3, 1))[1])


def test_train_on_cuda_without_a_gpu_is_a_usage_error(data, tmp_path):
    from typer.testing import CliRunner

    from denoise_cli.cli import app

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    r = CliRunner().invoke(app, ["train", "--speech-dir", str(data / "speech"), "--out", str(tmp_path / "x.pt"),
                                 "--device", "cuda", "--steps", "1"])
    assert r.exit_code == 2 and "no CUDA device is available" in r.output


def test_noise_input_mixtures_carry_the_profile_the_subtraction_used(data, tmp_path):
    opts = replace(_opts(data, tmp_path, "n"), noise_input=True)
    maker = MixtureMaker(load_folder(data / "speech", True), load_folder(data / "noise", False), opts)
    x, y = maker.batch((0, 3, 5))
    plain, _ = MixtureMaker(maker.speakers, maker.noises, replace(opts, noise_input=False)).batch((0, 3, 5))
    assert x.shape == (2, 322, 101) and y.shape == (2, 161, 101)
    assert torch.equal(x[:, :161], plain)  # the same mixture; the profile rides along
    assert torch.equal(x[:, 161:], x[:, 161:, :1].expand(-1, -1, 101)) and (x[:, 161:] > 0).any()


def test_a_noise_input_model_trains_and_cleans_with_its_gain_capped_at_one(data, tmp_path):
    from denoise_cli.config import CleanOptions, ModelOptions
    from denoise_cli.pipeline import clean_file, load_models

    opts = replace(_opts(data, tmp_path, "na", steps=2), noise_input=True, mask_max=2.0)
    train(opts, log=lambda m: None)
    loaded = load_checkpoint(tmp_path / "na.pt")
    assert (loaded.model.dims.noise_input, loaded.model.dims.mask_max) == (True, 2.0)
    assert loaded.model.conv_in.in_channels == 322
    with torch.no_grad():  # the mask may exceed one
        loaded.model.conv_out.bias.fill_(5.0)
    torch.save({**torch.load(tmp_path / "na.pt", weights_only=False),
                "state_dict": loaded.model.state_dict()}, tmp_path / "loud.pt")
    rng = np.random.default_rng(1)
    x = np.stack([voiced(3.0, 16_000), voiced(3.0, 16_000, 150)]) + 0.05 * rng.standard_normal((2, 48_000))
    src = write_audio(tmp_path / "in.wav", x, 16_000, "FLOAT")
    from conftest import read_audio
    from denoise_cli.config import SpectralOptions

    for linked in (True, False):  # the model alone: its mask is ~2 everywhere, the gain is capped at one
        clean = CleanOptions(spectral=SpectralOptions(enabled=False), dehum=False,
                             model=ModelOptions(weights=str(tmp_path / "loud.pt"), precision="float32",
                                                link_channels=linked))
        report = clean_file(src, tmp_path / "out.wav", clean, load_models(clean, torch.device("cpu")))
        assert report["checkpoint"] is not None
        out, _ = read_audio(tmp_path / "out.wav")
        assert out.shape == x.shape and np.abs(out - x).max() < 1e-4


def test_options_added_later_stay_out_of_an_older_runs_recipe(data, tmp_path):
    """A run started before --noise-input/--mask-max existed still resumes at their defaults."""
    import json

    from denoise_cli.train import _recipe

    opts = _opts(data, tmp_path, "r")
    assert not {"noise_input", "mask_max"} & json.loads(_recipe(opts)).keys()
    assert json.loads(_recipe(replace(opts, noise_input=True)))["noise_input"] is True
    assert _recipe(replace(opts, mask_max=2.0)) != _recipe(opts)
    assert "tonal_floor" not in json.loads(_recipe(opts))["spectral"]  # training keeps one floor
    assert "steady_over_subtraction" not in json.loads(_recipe(opts))["spectral"]  # and one alpha


def test_init_from_a_model_of_another_shape_is_a_usage_error(data, tmp_path):
    train(_opts(data, tmp_path, "plain", steps=1), log=lambda m: None)
    opts = replace(_opts(data, tmp_path, "ni", steps=1), noise_input=True, init=str(tmp_path / "plain.pt"))
    with pytest.raises(UsageError, match="differs from this run"):
        train(opts, log=lambda m: None)


def test_init_may_change_the_mask_bound_and_keeps_small_masks():
    """--init from mask_max 2 into mask_max 5: same weights but the output bias; small masks unchanged."""
    from denoise_cli.model import MaskNet, ModelDims
    from denoise_cli.train import start_from

    torch.manual_seed(0)
    old = MaskNet(ModelDims(noise_input=True, mask_max=2.0)).eval()
    with torch.no_grad():
        old.conv_out.bias.fill_(-6.0)  # every mask small: sigmoid(z) close to e**z
    new = MaskNet(ModelDims(noise_input=True, mask_max=5.0)).eval()
    said = []
    start_from(new, old, "old.pt", said.append)
    assert "mask bound 2 now 5" in said[0]
    a, b = old.state_dict(), new.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a if k != "conv_out.bias")
    assert torch.allclose(b["conv_out.bias"], a["conv_out.bias"] + np.log(2 / 5))
    x = torch.rand(1, 322, 40) + 0.1
    x[:, 161:] = x[:, 161:, :1]  # the noise half is constant over frames, as the pipeline gives it
    with torch.inference_mode():
        m_old, m_new = old(x), new(x)
    assert m_old.max() < 0.05 and torch.allclose(m_new, m_old, rtol=0.02)


def test_tonal_floors_in_training_take_a_noise_tone_down_in_the_model_input(tmp_path):
    """TrainOptions with tonal floors: the same draws, the tone's bin lower in the input, other bins unchanged."""
    from denoise_cli.config import SpectralOptions

    t = np.arange(32_000) / 16_000
    noise = 0.02 * np.random.default_rng(1).standard_normal(t.size) + np.sin(2 * np.pi * 1000 * t)
    noise = noise.astype(np.float32)
    speech = [[voiced(1.2, 16_000, 120)]]
    inputs = {}
    for on in (False, True):
        opts = replace(_opts(tmp_path, tmp_path, "t"), synthetic_noise_share=0.0, minstat_share=0.0,
                       noise_input=False, spectral=SpectralOptions(floor=0.3, steady_over_subtraction=None,
                                                                        steady_floor=None, tonal_floor=on))
        inputs[on], _ = MixtureMaker(speech, [[noise]], opts).example(np.random.default_rng(2))
    tone_bin = 1000 // 50
    assert inputs[True][:, tone_bin].mean() < 0.5 * inputs[False][:, tone_bin].mean()
    others = np.delete(np.arange(inputs[True].shape[1]), range(tone_bin - 2, tone_bin + 3))  # its window's lobe
    assert np.array_equal(inputs[True][:, others], inputs[False][:, others])


def test_steady_front_end_in_training_follows_the_profiles_spread(tmp_path):
    """With steady settings, an example whose profile noise is steady is subtracted with them
    (here a lower floor: a lower input), and one whose noise comes and goes is not touched."""
    from denoise_cli.augment import AugmentOptions
    from denoise_cli.config import SpectralOptions

    rng = np.random.default_rng(1)
    steady = (0.02 * rng.standard_normal(64_000)).astype(np.float32)
    bursts = (steady * np.where((np.arange(64_000) // 4000) % 2 == 0, 1.0, 0.1)).astype(np.float32)
    speech = [[voiced(1.2, 16_000, 120)]]
    for noise, moved in ((steady, True), (bursts, False)):
        inputs = {}
        for name, sp in (("one", SpectralOptions(over_subtraction=6.0, floor=0.2, steady_over_subtraction=None,
                                                 steady_floor=None, tonal_floor=False)),
                         ("steady", SpectralOptions(over_subtraction=6.0, floor=0.2, steady_over_subtraction=6.0,
                                                    steady_floor=0.05, tonal_floor=False))):
            opts = replace(_opts(tmp_path, tmp_path, "s"), synthetic_noise_share=0.0, minstat_share=0.0,
                           babble_share=0.0, noise_input=False, augment=AugmentOptions.none(), spectral=sp)
            maker = MixtureMaker(speech, [[noise]], opts)
            inputs[name], _ = maker.example(np.random.default_rng(2))
        if moved:
            assert np.median(inputs["steady"]) < 0.5 * np.median(inputs["one"])  # the floored noise bins
        else:
            assert np.array_equal(inputs["steady"], inputs["one"])


def test_babble_is_other_speakers_talking_at_once(tmp_path):
    """The babble of an example is made of the other speakers' voices, several at once, at unit RMS."""
    rate = 16_000
    speakers = [[voiced(1.2, rate, 110)], [voiced(1.2, rate, 230)]]
    maker = MixtureMaker(speakers, [], replace(_opts(tmp_path, tmp_path, "b"), babble_share=1.0))
    babble = maker._babble(np.random.default_rng(0), 2 * rate, exclude=0)
    assert babble.shape == (2 * rate,) and babble.dtype == np.float32
    assert np.sqrt(np.mean(babble.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)
    spectrum = np.abs(np.fft.rfft(babble))  # 0.5 Hz bins
    at = lambda hz: spectrum[int(hz * 2) - 4 : int(hz * 2) + 5].max()  # noqa: E731
    assert at(230) > 20 * at(110)  # speaker 1's pitch, not the excluded speaker 0's
    same = maker._babble(np.random.default_rng(0), 2 * rate, exclude=0)
    assert np.array_equal(babble, same)


def test_babble_share_changes_the_noise_and_stays_out_of_an_older_runs_recipe(data, tmp_path):
    """On, the mixtures differ; at its default, 0, it is left out of the recipe, so older runs resume.

    (That 0 also leaves every draw as it was was checked once against the code before the option.)
    """
    import json

    from denoise_cli.train import _recipe

    opts = _opts(data, tmp_path, "s")
    speech, noise = load_folder(data / "speech", True), load_folder(data / "noise", False)
    plain = MixtureMaker(speech, noise, opts).batch((0, 3, 1))
    babble = MixtureMaker(speech, noise, replace(opts, babble_share=1.0)).batch((0, 3, 1))
    assert not torch.equal(plain[0], babble[0])
    assert "babble_share" not in json.loads(_recipe(opts))
    assert json.loads(_recipe(replace(opts, babble_share=0.2)))["babble_share"] == 0.2


def test_size_options_train_a_net_of_that_size_that_cleans(data, tmp_path, monkeypatch):
    """--conv-channels/--lstm-hidden/--kernel-size: the checkpoint carries them and the pipeline runs it;
    at their defaults they stay out of the recipe (older runs resume); an even kernel is refused."""
    import json

    from typer.testing import CliRunner

    from conftest import read_audio
    from denoise_cli.cli import app
    from denoise_cli.config import CleanOptions, ModelOptions
    from denoise_cli.model import SIZES
    from denoise_cli.pipeline import clean_file, load_models
    from denoise_cli.train import _recipe

    opts = replace(_opts(data, tmp_path, "small", steps=2), noise_input=True, mask_max=2.0,
                   conv_channels=16, lstm_hidden=8, kernel_size=3)
    train(opts, log=lambda m: None)
    net = load_checkpoint(tmp_path / "small.pt").model
    assert (net.dims.conv_channels, net.dims.lstm_hidden, net.dims.kernel_size) == (16, 8, 3)
    assert net.conv_in.weight.shape == (16, 322, 3) and net.lstm.hidden_size == 8
    assert net.conv_out.weight.shape == (161, 16, 3)
    x = np.stack([voiced(2.0, 16_000)]) + 0.05 * np.random.default_rng(3).standard_normal((1, 32_000))
    src = write_audio(tmp_path / "in.wav", x, 16_000, "FLOAT")
    clean = CleanOptions(model=ModelOptions(weights=str(tmp_path / "small.pt"), precision="float32"))
    report = clean_file(src, tmp_path / "out.wav", clean, load_models(clean, torch.device("cpu")))
    out, _ = read_audio(tmp_path / "out.wav")
    assert out.shape == x.shape and np.isfinite(out).all()
    assert report["checkpoint"]["sha256"] == file_sha256(tmp_path / "small.pt")  # this net cleaned it

    plain = json.loads(_recipe(_opts(data, tmp_path, "p")))
    assert not set(SIZES) & plain.keys()
    assert json.loads(_recipe(opts))["conv_channels"] == 16
    with pytest.raises(UsageError, match="kernel size 4: must be odd"):
        replace(opts, kernel_size=4)

    seen = []
    monkeypatch.setattr("denoise_cli.train.train", lambda o, log: seen.append(o.dims()) or "0" * 64)
    args = ["train", "--speech-dir", str(data / "speech"), "--out", str(tmp_path / "x.pt")]
    r = CliRunner().invoke(app, args + ["--conv-channels", "64", "--lstm-hidden", "32", "--kernel-size", "3"])
    assert r.exit_code == 0 and (seen[0].conv_channels, seen[0].lstm_hidden, seen[0].kernel_size) == (64, 32, 3)
    r = CliRunner().invoke(app, args + ["--kernel-size", "4"])
    assert r.exit_code == 2 and "error: kernel size 4: must be odd" in r.output and len(seen) == 1


def test_snr_range_sets_the_mixtures_and_is_checked(data, tmp_path, monkeypatch):
    """--snr-db-min/--snr-db-max: the mixtures' SNR (inputs near the targets at 40 dB, far at -10);
    a range whose lowest is above its highest is a usage error naming both."""
    from typer.testing import CliRunner

    from denoise_cli.cli import app

    speech, noise = load_folder(data / "speech", True), load_folder(data / "noise", False)

    def distance_db(low, high):
        x, y = MixtureMaker(speech, noise, replace(_opts(data, tmp_path, "snr"), snr_db_range=(low, high))).batch((0, 4))
        return float((20 * torch.log10((x + 1e-4) / (y + 1e-4))).abs().mean())

    assert distance_db(40.0, 40.0) < 0.5 * distance_db(-10.0, -10.0)
    with pytest.raises(UsageError, match="SNR range 3 to -2 dB"):
        replace(_opts(data, tmp_path, "snr"), snr_db_range=(3.0, -2.0))

    seen = []
    monkeypatch.setattr("denoise_cli.train.train", lambda o, log: seen.append(o.snr_db_range) or "0" * 64)
    args = ["train", "--speech-dir", str(data / "speech"), "--out", str(tmp_path / "x.pt")]
    assert CliRunner().invoke(app, args + ["--snr-db-min", "-8", "--snr-db-max", "15"]).exit_code == 0
    assert CliRunner().invoke(app, args).exit_code == 0
    assert seen == [(-8.0, 15.0), (-5.0, 20.0)]
    r = CliRunner().invoke(app, args + ["--snr-db-min", "3", "--snr-db-max", "-2"])
    assert r.exit_code == 2 and "error: SNR range 3 to -2 dB: the lowest is above the highest" in r.output


def test_an_interrupted_run_leaves_no_batch_worker(data, tmp_path):
    """An interrupt during training (here from the log) stops the --data-workers processes with it,
    and the run's state up to its last checkpoint stays resumable."""
    import multiprocessing

    def interrupt_at_step_2(message):
        if message.startswith("step 2/"):
            raise KeyboardInterrupt

    opts = replace(_opts(data, tmp_path, "w", steps=6), data_workers=2, log_every=1, checkpoint_every=1)
    with pytest.raises(KeyboardInterrupt) as caught:
        train(opts, log=interrupt_at_step_2)
    assert multiprocessing.active_children() == []  # while ``caught`` still holds the traceback
    assert torch.load(tmp_path / "run_w" / "last.pt", weights_only=True)["step"] == 1


def test_gain_smoothing_mixtures_carry_the_noisy_magnitudes_and_a_run_trains(data, tmp_path):
    """With --gain-smoothing-ms the target holds the clean magnitudes, then the noisy ones whose
    subtraction gain made the input (the input is their product with a gain in [floor, 1]); the
    clean half and the input are those of a run without it, and a run trains to a checkpoint."""
    opts = replace(_opts(data, tmp_path, "gs"), gain_smoothing_ms=30.0, noise_input=True, mask_max=2.0)
    maker = MixtureMaker(load_folder(data / "speech", True), load_folder(data / "noise", False), opts)
    x, y = maker.batch((0, 3, 5))
    plain_x, plain_y = MixtureMaker(maker.speakers, maker.noises, replace(opts, gain_smoothing_ms=0.0)).batch((0, 3, 5))
    assert y.shape == (2, 322, 101) and torch.equal(y[:, :161], plain_y) and torch.equal(x, plain_x)
    gain = x[:, :161] / y[:, 161:]
    assert gain.min() >= opts.spectral.floor - 1e-5 and gain.max() <= 1 + 1e-5
    train(opts, log=lambda _: None)
    assert load_checkpoint(opts.out).training["options"]["gain_smoothing_ms"] == 30.0


def test_init_may_grow_the_net(data, tmp_path):
    """--init from a smaller net into larger --conv-channels/--lstm-hidden trains on from its mask;
    into a smaller one it is a usage error."""
    small = replace(_opts(data, tmp_path, "small", steps=1), conv_channels=16, lstm_hidden=12)
    train(small, log=lambda m: None)
    said = []
    big = replace(_opts(data, tmp_path, "big", steps=1), conv_channels=24, lstm_hidden=20, init=small.out)
    train(big, log=said.append)
    assert any("grown from 16 conv channels and 12 LSTM units to 24 and 20" in m for m in said)
    assert load_checkpoint(big.out).model.dims.lstm_hidden == 20
    tiny = replace(_opts(data, tmp_path, "tiny", steps=1), conv_channels=8, lstm_hidden=12, init=small.out)
    with pytest.raises(UsageError, match="differs from this run"):
        train(tiny, log=lambda m: None)
