"""The mask network, its chunk grid and cross-faded inference, and checkpoints."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from denoise_cli.config import MODEL_N_BINS
from denoise_cli.errors import CheckpointError
from denoise_cli.model import (MaskNet, ModelDims, _ramp, chunk_starts, chunks_touching, conv_constant_tail,
                               predict_mask, widen_from, with_noise)
from denoise_cli.weights import FEATURES, default_checkpoint_path, file_sha256, load_checkpoint, save_checkpoint

CPU = torch.device("cpu")
SHIPPED = default_checkpoint_path()
needs_shipped = pytest.mark.skipif(not SHIPPED.exists(), reason=f"packaged checkpoint {SHIPPED} not built yet")


@pytest.fixture(scope="module")
def net(random_weights) -> MaskNet:
    return load_checkpoint(random_weights).model


def test_mask_shape_and_range(net):
    x = torch.rand(3, MODEL_N_BINS, 57)
    with torch.inference_mode():
        m = net(x)
    assert m.shape == x.shape
    assert torch.all(m > 0) and torch.all(m < 1)


# --- chunk grid --------------------------------------------------------------------------
@pytest.mark.parametrize("total", [1, 5, 99, 100, 101, 175, 176, 1000, 1003])
@pytest.mark.parametrize("chunk,overlap", [(100, 25), (100, 0), (100, 99), (7, 3), (1, 0)])
def test_chunk_starts_cover_everything(total, chunk, overlap):
    starts = chunk_starts(total, chunk, overlap)
    assert starts[0] == 0
    assert starts == sorted(set(starts))
    covered = np.zeros(total, bool)
    for s in starts:
        covered[s : min(s + chunk, total)] = True
        assert min(s + chunk, total) - s == min(chunk, total)  # every chunk is full length
    assert covered.all()
    for a, b in zip(starts, starts[1:]):
        assert b - a <= chunk - overlap  # neighbours overlap by at least ``overlap``
    # every frame gets a positive cross-fade weight
    weight = np.zeros(total, np.float32)
    for s in starts:
        e = min(s + chunk, total)
        weight[s:e] += _ramp(e - s, overlap)
    assert (weight > 0).all()


def test_chunks_touching_is_the_chunks_overlapping_the_range():
    total, chunk, overlap = 1000, 100, 25
    spans = [(s, min(s + chunk, total)) for s in chunk_starts(total, chunk, overlap)]
    for first, stop in [(0, 1), (0, 1000), (74, 76), (500, 640), (999, 1000)]:
        got = chunks_touching(first, stop, total, chunk, overlap)
        assert got == [(s, e) for s, e in spans if s < stop and e > first]
        assert got and got[0][0] <= first and got[-1][1] >= stop


# --- chunked inference: blocks equal whole ---------------------------------------------------
@pytest.fixture(scope="module")
def small_net() -> MaskNet:
    torch.manual_seed(0)
    return MaskNet(ModelDims(conv_channels=24, lstm_hidden=12)).eval()


@pytest.mark.parametrize("total,chunk,overlap,block,which", [
    (430, 100, 25, 70, "net"), (430, 100, 25, 13, "small_net"), (90, 100, 25, 33, "small_net"),
    (120, 20, 19, 17, "small_net"), (120, 40, 10, 1, "small_net")])
def test_predict_mask_in_blocks_equals_whole(request, total, chunk, overlap, block, which):
    net = request.getfixturevalue(which)
    rng = np.random.default_rng(total)
    mag = (rng.random((2, total, MODEL_N_BINS)) * 10 ** rng.uniform(-4, 0, (1, total, 1))).astype(np.float32)
    chunks = chunks_touching(0, total, total, chunk, overlap)
    whole = predict_mask(net, mag, 0, chunks, 0, total, overlap, CPU, batch_size=16)
    assert whole.shape == (2, total, MODEL_N_BINS)
    assert np.all((whole > 0) & (whole < 1))
    for first in range(0, total, block):
        stop = min(total, first + block)
        touching = chunks_touching(first, stop, total, chunk, overlap)
        lo, hi = touching[0][0], touching[-1][1]
        part = predict_mask(net, mag[:, lo:hi], lo, touching, first, stop, overlap, CPU, batch_size=3)
        assert np.abs(part - whole[:, first:stop]).max() < 1e-5, (first, stop)


def test_predict_mask_without_overlap_is_the_model_on_each_chunk(net):
    rng = np.random.default_rng(0)
    mag = rng.random((1, 200, MODEL_N_BINS)).astype(np.float32)
    chunks = chunks_touching(0, 200, 200, 100, 0)
    got = predict_mask(net, mag, 0, chunks, 0, 200, 0, CPU, batch_size=16)
    with torch.inference_mode():
        for s, e in chunks:
            ref = net(torch.from_numpy(mag[:, s:e].transpose(0, 2, 1).copy())).numpy()[0].T
            assert np.abs(got[0, s:e] - ref).max() < 1e-5


# --- checkpoints --------------------------------------------------------------------------------
def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(5)
    model = MaskNet(ModelDims(conv_channels=32, lstm_hidden=16, kernel_size=3))
    with torch.no_grad():
        model.feat_mean.fill_(-3.0)
        model.feat_std.fill_(2.0)
    path = tmp_path / "m.pt"
    sha = save_checkpoint(model, path, training={"steps": 3})
    assert sha == file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary left
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["dims"] == {"n_bins": 161, "conv_channels": 32, "lstm_hidden": 16, "kernel_size": 3}
    assert raw["features"] == FEATURES
    loaded = load_checkpoint(path)
    assert loaded.sha256 == sha and loaded.path == str(path) and loaded.training == {"steps": 3}
    assert not loaded.model.training
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.model.state_dict()[k], v), k
    x = torch.rand(2, MODEL_N_BINS, 40)
    with torch.inference_mode():
        assert torch.equal(loaded.model(x), model.eval()(x))


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match=r"nope\.pt: no such checkpoint$"):
        load_checkpoint(tmp_path / "nope.pt")


@pytest.mark.parametrize("damage", ["garbage", "truncated", "pickle"])
def test_corrupt_checkpoint(tmp_path, random_weights, damage):
    path = tmp_path / "bad.pt"
    if damage == "garbage":
        path.write_bytes(b"\x00not a checkpoint" * 100)
    elif damage == "truncated":
        data = open(random_weights, "rb").read()
        path.write_bytes(data[: len(data) // 2])
    else:  # a pickle that would run code: weights_only must refuse it
        torch.save({"dims": {}, "evil": hashlib.sha256}, path)
    with pytest.raises(CheckpointError, match=r"(?s)bad\.pt: not a usable denoise checkpoint \(.+\)") as err:
        load_checkpoint(path)
    # the CLI prints this as one line of an error report: no newlines, no terminal escapes
    message = str(err.value)
    assert "\n" not in message and "\x1b" not in message, message


def test_checkpoint_of_other_features_is_refused(tmp_path):
    path = tmp_path / "m.pt"
    torch.save({"dims": ModelDims().to_dict(), "state_dict": MaskNet().state_dict(),
                "features": {"sample_rate_hz": 8000, "window_ms": 32, "hop_ms": 16}}, path)
    with pytest.raises(CheckpointError, match=r"m\.pt: trained on features .*8000.*this version uses"):
        load_checkpoint(path)


def test_checkpoint_with_wrong_shapes_is_refused(tmp_path):
    path = tmp_path / "m.pt"
    state = MaskNet(ModelDims(conv_channels=8)).state_dict()
    torch.save({"dims": ModelDims().to_dict(), "state_dict": state, "features": FEATURES}, path)
    with pytest.raises(CheckpointError, match=r"not a usable denoise checkpoint"):
        load_checkpoint(path)


# --- the packaged model (only once it has been trained) ----------------------------------------------
@needs_shipped
def test_shipped_checkpoint_loads_weights_only_and_is_small():
    assert SHIPPED.stat().st_size < 10 * 2**20
    raw = torch.load(SHIPPED, map_location="cpu", weights_only=True)
    assert raw["features"] == FEATURES
    assert raw["dims"]["n_bins"] == MODEL_N_BINS == 161
    loaded = load_checkpoint()
    assert loaded.sha256 == file_sha256(SHIPPED)
    assert loaded.model.dims.n_bins == 161
    # trained normalisation, not the zero/one placeholders of a fresh net
    assert not torch.all(loaded.model.feat_mean == 0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_predict_mask_on_cuda_equals_cpu(random_weights):
    cpu = load_checkpoint(random_weights).model
    gpu = load_checkpoint(random_weights, torch.device("cuda")).model
    total, chunk, overlap = 430, 100, 25
    mag = np.random.default_rng(0).random((2, total, MODEL_N_BINS)).astype(np.float32)
    chunks = chunks_touching(0, total, total, chunk, overlap)
    a = predict_mask(cpu, mag, 0, chunks, 0, total, overlap, CPU, batch_size=16)
    b = predict_mask(gpu, mag, 0, chunks, 0, total, overlap, torch.device("cuda"), batch_size=16)
    assert np.abs(a - b).max() < 1e-4


def test_chunks_touching_equals_filtering_the_whole_grid():
    """The direct computation agrees with filtering every chunk of the file."""
    import random

    from denoise_cli.model import chunk_starts, chunks_touching

    rng = random.Random(0)
    for _ in range(5000):
        chunk = rng.randint(1, 50)
        overlap = rng.randint(0, chunk - 1)
        total = rng.randint(1, 400)
        first = rng.randint(0, total - 1)
        stop = rng.randint(first + 1, total)
        spans = [(s, min(s + chunk, total)) for s in chunk_starts(total, chunk, overlap)]
        expected = [(s, e) for s, e in spans if s < stop and e > first]
        assert chunks_touching(first, stop, total, chunk, overlap) == expected


def test_auto_precision_follows_the_cpu(monkeypatch):
    import torch

    from denoise_cli import model

    cpu = torch.device("cpu")
    assert model.resolve_precision("float32", cpu) == "float32"
    assert model.resolve_precision("bfloat16", cpu) == "bfloat16"
    monkeypatch.setattr(model, "native_bfloat16", lambda device: True)
    assert model.resolve_precision("auto", cpu) == "bfloat16"
    monkeypatch.setattr(model, "native_bfloat16", lambda device: False)
    assert model.resolve_precision("auto", cpu) == "float32"


@pytest.mark.parametrize("avx512_bf16, amx, native", [(False, False, False), (True, False, True),
                                                      (False, True, True)])
def test_native_bfloat16_needs_the_cpus_own_instructions(monkeypatch, avx512_bf16, amx, native):
    import torch

    from denoise_cli import model

    # oneDNN says yes on any AVX512 core (it emulates bfloat16 there, slower than float32)
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: True, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    assert model.native_bfloat16(torch.device("cpu")) is native
    assert model.resolve_precision("auto", torch.device("cpu")) == ("bfloat16" if native else "float32")


def test_a_noise_input_net_sees_each_channels_profile_the_same_in_blocks():
    torch.manual_seed(3)
    net = MaskNet(ModelDims(conv_channels=24, lstm_hidden=12, noise_input=True, mask_max=1.5)).eval()
    rng = np.random.default_rng(4)
    total, chunk, overlap = 230, 60, 15
    mag = rng.random((2, total, MODEL_N_BINS)).astype(np.float32)
    noise = (rng.random((2, MODEL_N_BINS)) * [[0.01], [1.0]]).astype(np.float32)
    chunks = chunks_touching(0, total, total, chunk, overlap)
    whole = predict_mask(net, mag, 0, chunks, 0, total, overlap, CPU, batch_size=5, noise=noise)
    assert np.all((whole > 0) & (whole < 1.5))
    swapped = predict_mask(net, mag, 0, chunks, 0, total, overlap, CPU, batch_size=5, noise=noise[::-1].copy())
    assert np.abs(swapped - whole).max() > 1e-3  # the profile reaches the net, per channel
    first, stop = 100, 170
    touching = chunks_touching(first, stop, total, chunk, overlap)
    lo, hi = touching[0][0], touching[-1][1]
    part = predict_mask(net, mag[:, lo:hi], lo, touching, first, stop, overlap, CPU, batch_size=2, noise=noise)
    assert np.abs(part - whole[:, first:stop]).max() < 1e-5
    with torch.inference_mode():  # the input is the frames and the profile, stacked on the channel axis
        s, e = chunks[0]
        x = np.concatenate([mag[1, s:e].T, np.repeat(noise[1][:, None], e - s, axis=1)])[None]
        ref = net(torch.from_numpy(x)).numpy()[0].T
    single = predict_mask(net, mag[1:], 0, [chunks[0]], s, e, 0, CPU, batch_size=1, noise=noise[1:])
    assert np.abs(single[0] - ref).max() < 1e-5


@pytest.mark.parametrize("frames", [1, 2, 4, 5, 6, 9, 400])
def test_conv_constant_tail_equals_the_whole_convolution(frames):
    """The noise channels' response computed on kernel_size frames and spread is the convolution's."""
    torch.manual_seed(0)
    conv = torch.nn.Conv1d(2 * MODEL_N_BINS, 256, 5, padding=2)
    x = torch.from_numpy(with_noise(np.random.default_rng(frames).random((3, MODEL_N_BINS, frames), np.float32),
                                    np.random.default_rng(9).random((3, MODEL_N_BINS), np.float32)))
    with torch.no_grad():
        assert torch.allclose(conv_constant_tail(conv, x, MODEL_N_BINS), conv(x), atol=1e-5)


def test_a_noise_input_net_gives_the_same_mask_in_inference_and_in_training_mode():
    """Inference takes the constant-noise shortcut; training runs the plain convolution."""
    torch.manual_seed(1)
    net = MaskNet(ModelDims(noise_input=True, mask_max=2.0))
    x = torch.from_numpy(with_noise(np.random.default_rng(2).random((2, MODEL_N_BINS, 300), np.float32),
                                    np.random.default_rng(3).random((2, MODEL_N_BINS), np.float32)))
    with torch.no_grad():
        trained = net.train()(x)
        inferred = net.eval()(x)
    assert torch.allclose(inferred, trained, atol=1e-5)


@pytest.mark.parametrize("grown", [dict(conv_channels=24, lstm_hidden=20), dict(lstm_hidden=20),
                                   dict(conv_channels=24)])
def test_a_widened_net_gives_the_same_mask_and_its_new_units_learn(grown):
    """widen_from: the larger net computes the smaller one's mask; one optimiser step then
    moves the new units' outgoing weights away from zero (they take part from the start)."""
    from dataclasses import replace

    torch.manual_seed(3)
    small = MaskNet(ModelDims(conv_channels=16, lstm_hidden=12, noise_input=True, mask_max=2.0))
    with torch.no_grad():
        small.feat_mean.uniform_(-1, 1)
        small.feat_std.uniform_(0.5, 2)
    big = MaskNet(replace(small.dims, **grown))
    widen_from(big, small)
    x = torch.rand(2, 2 * MODEL_N_BINS, 30) + 0.01
    x[:, MODEL_N_BINS:] = x[:, MODEL_N_BINS:, :1]
    for mode in (True, False):
        small.train(mode), big.train(mode)
        with torch.no_grad():
            assert torch.allclose(big(x), small(x), atol=1e-6)
    h1, h2 = small.dims.lstm_hidden, big.dims.lstm_hidden
    if h2 > h1:
        new_columns = torch.cat([big.conv_out.weight[:, h1:h2], big.conv_out.weight[:, h2 + h1:]], dim=1)
        assert not new_columns.any()
        opt = torch.optim.Adam(big.parameters(), lr=1e-3)
        big.train()
        big(x).square().mean().backward()
        opt.step()
        new_columns = torch.cat([big.conv_out.weight[:, h1:h2], big.conv_out.weight[:, h2 + h1:]], dim=1)
        assert new_columns.abs().min() > 0


def test_a_net_cannot_be_widened_into_a_smaller_or_other_shape():
    small = MaskNet(ModelDims(conv_channels=16, lstm_hidden=12))
    same_size = MaskNet(ModelDims(conv_channels=16, lstm_hidden=12, mask_max=3.0))
    widen_from(same_size, small)  # another mask bound is allowed; at equal sizes it is a plain copy
    a, b = small.state_dict(), same_size.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="shrink"):
        widen_from(MaskNet(ModelDims(conv_channels=8, lstm_hidden=12)), small)
    with pytest.raises(ValueError, match="only conv_channels and lstm_hidden"):
        widen_from(MaskNet(ModelDims(conv_channels=16, lstm_hidden=12, kernel_size=3)), small)
