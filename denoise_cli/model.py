"""The DNS mask network and its chunked, batched inference (no file I/O here).

MaskNet: Conv1d(161 -> C, k=5) -> BiLSTM(C -> 2xH) -> Conv1d(2H -> 161, k=5)
-> sigmoid, with C = 256 by default (``NET_CONV_CHANNELS``). The shipped v23a has
C = 288 and 288 LSTM units each way: v19a (C = 128, 128 units; a fine-tune of v18a,
through v17g, v16f and v15b one of v14s) grown by ``widen_from`` to 256 and 256 and
fine-tuned twice (v20a, v21a), then grown to 288 and 288 and fine-tuned (v22a), then
fine-tuned on the recorded voices only (v23a). A checkpoint's dims give the sizes.

Input: magnitudes of shape (batch, 161, frames) on the 16 kHz model scale; the
net takes log power itself and normalises it with per-bin statistics stored as
buffers (so a checkpoint carries its own feature normalisation).
Output: a mask in (0, 1) of the same shape.

Two variants, both saved in a checkpoint's dims: ``noise_input`` adds the file's
noise profile (161 model-scale magnitudes, the same for every frame) as 161 more
input channels, so the input is (batch, 322, frames) and the net knows what the
subtraction removed; ``mask_max`` > 1 lets the mask rise above one, giving back
speech that over-subtraction took (the chain caps the total gain at one).

Long inputs are cut into chunks of ``chunk_frames`` on a grid fixed by the total
frame count, run as batches, and cross-faded with a linear ramp normalised by
the running sum of weights (as in demucs' apply.py). Because the grid depends
only on the total length, any frame range gives the same mask whether the file
is processed whole or in blocks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from .config import EPS, MODEL_N_BINS, NET_CONV_CHANNELS, NET_KERNEL_FRAMES, NET_LSTM_HIDDEN


VARIANTS = ("noise_input", "mask_max")  # ModelDims fields added after the first checkpoints
SIZES = ("conv_channels", "lstm_hidden", "kernel_size")  # ModelDims fields a training run may set


@dataclass(frozen=True)
class ModelDims:
    """Architecture dimensions, saved in every checkpoint."""

    n_bins: int = MODEL_N_BINS
    conv_channels: int = NET_CONV_CHANNELS
    lstm_hidden: int = NET_LSTM_HIDDEN
    kernel_size: int = NET_KERNEL_FRAMES
    noise_input: bool = False  # the noise profile as 161 more input channels
    mask_max: float = 1.0  # the mask's upper bound (mask_max * sigmoid)

    @property
    def in_channels(self) -> int:
        return self.n_bins * (2 if self.noise_input else 1)

    def to_dict(self) -> dict:
        """As saved in a checkpoint; the variants are left out at their defaults (older readers load it)."""
        defaults = ModelDims()
        return {k: v for k, v in asdict(self).items() if k not in VARIANTS or v != getattr(defaults, k)}


class MaskNet(nn.Module):
    def __init__(self, dims: ModelDims = ModelDims()):
        super().__init__()
        self.dims = dims
        pad = dims.kernel_size // 2
        self.conv_in = nn.Conv1d(dims.in_channels, dims.conv_channels, dims.kernel_size, padding=pad)
        self.lstm = nn.LSTM(dims.conv_channels, dims.lstm_hidden, batch_first=True, bidirectional=True)
        self.conv_out = nn.Conv1d(2 * dims.lstm_hidden, dims.n_bins, dims.kernel_size, padding=pad)
        self.register_buffer("feat_mean", torch.zeros(dims.n_bins))
        self.register_buffer("feat_std", torch.ones(dims.n_bins))

    def features(self, magnitude: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, frames) magnitude -> normalised log power, same shape.

        With noise input, both halves (frames, noise profile) share the per-bin statistics.
        """
        logp = torch.log10(magnitude.square() + EPS)
        groups = magnitude.shape[1] // self.dims.n_bins
        return (logp - self.feat_mean.repeat(groups)[:, None]) / self.feat_std.repeat(groups)[:, None]

    def forward(self, magnitude: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, frames) -> (batch, 161, frames) mask in (0, mask_max).

        With noise input, channels 161-321 must be the same in every frame (as
        ``with_noise`` builds them); outside training the first convolution then
        works on the 161 spectrum channels only (``conv_constant_tail``).
        """
        features = self.features(magnitude)
        if self.dims.noise_input and not self.training:
            h = conv_constant_tail(self.conv_in, features, self.dims.n_bins)
        else:
            h = self.conv_in(features)
        h = torch.relu(h)
        h, _ = self.lstm(h.transpose(1, 2))
        mask = torch.sigmoid(self.conv_out(h.transpose(1, 2)))
        return mask if self.dims.mask_max == 1.0 else mask * self.dims.mask_max


def widen_from(model: MaskNet, start: MaskNet) -> None:
    """Copy the smaller ``start`` into ``model`` so that ``model`` computes the same mask.

    Net2Net-style growth for ``denoise train --init`` with larger ``conv_channels``
    and/or ``lstm_hidden``: the old channels and units keep their weights; the new
    ones keep ``model``'s fresh initialisation for what they read, and everything
    they feed (the old units' LSTM input and recurrent columns, the output
    convolution's columns) starts at zero, so the output is unchanged until
    training moves those zeros. At equal sizes it is a plain copy. Kernel size,
    bins and noise input must match, a size may not shrink (ValueError); the mask
    bound is not looked at (the weights are copied as they are).
    """
    old, new = start.dims, model.dims
    if replace(old, conv_channels=new.conv_channels, lstm_hidden=new.lstm_hidden, mask_max=new.mask_max) != new:
        raise ValueError(f"only conv_channels and lstm_hidden may differ: {old} vs {new}")
    if new.conv_channels < old.conv_channels or new.lstm_hidden < old.lstm_hidden:
        raise ValueError(f"cannot shrink the net: {old} -> {new}")
    c1, h1, h2 = old.conv_channels, old.lstm_hidden, new.lstm_hidden
    src = start.state_dict()
    with torch.no_grad():
        model.conv_in.weight[:c1] = src["conv_in.weight"]
        model.conv_in.bias[:c1] = src["conv_in.bias"]
        for suffix in ("", "_reverse"):
            w_ih, w_hh = (getattr(model.lstm, f"weight_{k}_l0{suffix}") for k in ("ih", "hh"))
            w_ih[:, c1:] = 0.0  # no unit reads the new conv channels yet ...
            w_hh[:, h1:] = 0.0  # ... nor the new hidden units
            for gate in range(4):  # PyTorch's gate blocks i, f, g, o, each lstm_hidden rows
                rows_new, rows_old = slice(gate * h2, gate * h2 + h1), slice(gate * h1, (gate + 1) * h1)
                w_ih[rows_new, :c1] = src[f"lstm.weight_ih_l0{suffix}"][rows_old]
                w_hh[rows_new, :h1] = src[f"lstm.weight_hh_l0{suffix}"][rows_old]
                for k in ("ih", "hh"):
                    getattr(model.lstm, f"bias_{k}_l0{suffix}")[rows_new] = src[f"lstm.bias_{k}_l0{suffix}"][rows_old]
        out_w = model.conv_out.weight  # (161, 2 * lstm_hidden, k): forward units, then backward
        out_w.zero_()
        out_w[:, :h1] = src["conv_out.weight"][:, :h1]
        out_w[:, h2 : h2 + h1] = src["conv_out.weight"][:, h1:]
        model.conv_out.bias.copy_(src["conv_out.bias"])
        model.feat_mean.copy_(src["feat_mean"])
        model.feat_std.copy_(src["feat_std"])


def conv_constant_tail(conv: nn.Conv1d, x: torch.Tensor, n_varying: int) -> torch.Tensor:
    """``conv(x)`` for x (batch, channels, frames) whose channels from ``n_varying`` on are
    constant over frames: those channels' response is the same for every frame except
    the ``padding`` frames at each end, so it is computed on ``kernel_size`` frames and
    spread, halving the work of the noise-input net's first layer. Equal to ``conv(x)``
    up to float rounding (tested).
    """
    pad, k = conv.padding[0], conv.kernel_size[0]
    frames = x.shape[-1]
    out = nn.functional.conv1d(x[:, :n_varying], conv.weight[:, :n_varying], conv.bias, padding=pad)
    short = min(frames, k)  # frames of constant input that show every edge case
    tail = nn.functional.conv1d(x[:, n_varying:, :short], conv.weight[:, n_varying:], None, padding=pad)
    if frames > short:
        middle = tail[..., pad : pad + 1].expand(-1, -1, frames - 2 * pad)
        tail = torch.cat([tail[..., :pad], middle, tail[..., pad + 1 :]], dim=-1)
    return out + tail


def with_noise(x: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """(n, 161, frames) magnitudes and (n, 161) noise magnitudes -> (n, 322, frames) net input."""
    return np.concatenate([x, np.broadcast_to(noise.astype(x.dtype, copy=False)[:, :, None], x.shape)], axis=1)


def chunk_starts(total_frames: int, chunk_frames: int, overlap_frames: int) -> list[int]:
    """Start frames of the inference chunks for a file of ``total_frames``.

    Chunks advance by chunk - overlap; the last one is pulled back to end at the
    file's end, so every chunk is full length when the file is long enough.
    """
    if total_frames <= chunk_frames:
        return [0]
    step = chunk_frames - overlap_frames
    starts = list(range(0, total_frames - chunk_frames, step))
    starts.append(total_frames - chunk_frames)
    return starts


def chunks_touching(first: int, stop: int, total_frames: int, chunk_frames: int,
                    overlap_frames: int) -> list[tuple[int, int]]:
    """The (start, end) chunks of ``chunk_starts`` that contribute to frames [first, stop).

    Computed from the grid directly, so a block of a 10-hour file costs the same
    as a block of a short one.
    """
    if total_frames <= chunk_frames:
        return [(0, total_frames)]
    step = chunk_frames - overlap_frames
    last = total_frames - chunk_frames  # start of the final, pulled-back chunk
    n_regular = -(-last // step)  # regular starts 0, step, ... below `last`
    lo = max(0, (first - chunk_frames) // step + 1)
    hi = min(n_regular, -(-stop // step))
    spans = [(k * step, k * step + chunk_frames) for k in range(lo, hi)]
    if last < stop and last + chunk_frames > first:
        spans.append((last, total_frames))
    return spans


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 natively (so autocast to it is faster)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    # The CPU's own bfloat16 instructions (AVX512-BF16, or AMX tiles). Not oneDNN's
    # _is_mkldnn_bf16_supported: that is also true on plain AVX512 cores, where oneDNN
    # emulates bfloat16 and the model ran 2.9 times slower than in float32 (Xeon with
    # AVX512-VNNI only: 4.86 s against 1.65 s for a 10-minute file).
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """"auto" -> "bfloat16" where native on ``device``, else "float32"; others unchanged."""
    if precision == "auto":
        return "bfloat16" if native_bfloat16(device) else "float32"
    return precision


def _ramp(length: int, overlap_frames: int) -> np.ndarray:
    i = np.arange(length)
    return np.minimum(1.0, np.minimum(i + 1, length - i) / (overlap_frames + 1)).astype(np.float32)


def predict_mask(model: MaskNet, magnitude: np.ndarray, offset: int, chunks: list[tuple[int, int]],
                 first: int, stop: int, overlap_frames: int, device: torch.device,
                 batch_size: int, bfloat16: bool = False, memo: Optional[dict] = None,
                 runner: Optional[Callable[[np.ndarray], np.ndarray]] = None,
                 noise: Optional[np.ndarray] = None) -> np.ndarray:
    """Cross-faded mask for frames [first, stop).

    magnitude: (channels, frames, 161) model-scale magnitudes whose frame 0 is
    file frame ``offset``; it must cover every chunk in ``chunks`` not in ``memo``.
    bfloat16: run the net under bfloat16 autocast (faster where the CPU has
    native bfloat16, e.g. AVX512-BF16; masks differ from float32 by ~1e-2).
    memo: optional {(channel, start, end): (161, end - start) mask}: chunks found
    there are not run again, and the chunks run here are added to it (so
    consecutive blocks share the chunks that straddle their boundary).
    runner: what runs the net on a (n, 161, chunk frames) batch (default: a
    ``masker.MaskRunner`` of ``model`` on ``device``); a ``masker.SharedMasker``
    merges this call's batches with other threads'.
    noise: (channels, 161) model-scale noise magnitudes, for a net with noise input.
    Returns (channels, stop - first, 161) float32.
    """
    channels = magnitude.shape[0]
    memo = {} if memo is None else memo
    todo = [(c, s, e) for s, e in chunks for c in range(channels) if (c, s, e) not in memo]
    if runner is None:
        from .masker import MaskRunner

        runner = MaskRunner(model, device, bfloat16)
    for i in range(0, len(todo), batch_size):
        batch = todo[i : i + batch_size]
        for length in sorted({e - s for _, s, e in batch}):  # equal lengths batch together
            group = [(c, s, e) for c, s, e in batch if e - s == length]
            x = np.stack([magnitude[c, s - offset : e - offset].T for c, s, e in group])
            if noise is not None:
                x = with_noise(x, noise[[c for c, _, _ in group]])
            memo.update(zip(group, runner(x)))
    out = np.zeros((channels, stop - first, MODEL_N_BINS), dtype=np.float32)
    weight = np.zeros(stop - first, dtype=np.float32)
    for s, e in chunks:
        lo, hi = max(s, first), min(e, stop)
        r = _ramp(e - s, overlap_frames)[lo - s : hi - s]
        weight[lo - first : hi - first] += r
        for c in range(channels):
            out[c, lo - first : hi - first] += memo[c, s, e].T[lo - s : hi - s] * r[:, None]
    assert (weight > 0).all(), "every frame must be covered by a chunk"
    return out / weight[None, :, None]
