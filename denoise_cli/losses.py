"""Training losses on model-scale magnitudes: the masked-magnitude MSE and an
intelligibility term shaped like STOI.

Both take magnitudes of shape (batch, 161, frames) on the 16 kHz model scale
(50 Hz bins, 10 ms hop).

``envelope_loss`` follows the structure of STOI (Taal et al., 2011): the
magnitudes are pooled into 15 one-third-octave bands from 150 Hz, the band
envelopes are cut into overlapping segments of about 384 ms, each estimate
segment is scaled to the clean segment's energy and clipped at a -15 dB
signal-to-distortion bound, and the loss is one minus the mean correlation of
estimate and clean envelopes. Unlike STOI it runs on the model's own frames
(20 ms windows, 10 ms hop, not 25.6 ms at 10 kHz) and, instead of dropping
silent frames, weighs each segment by the share of its frames within 40 dB of
the example's loudest: a differentiable stand-in to train with, not a score.
It followed pystoi's STOI within 0.03 on held-out speech in white noise at -5 to
15 dB; the test holds it to 0.05 on synthetic speech.
"""

from __future__ import annotations

import torch

from .config import HOP_MS, MODEL_BIN_HZ, MODEL_N_BINS

COMPRESS = 0.3  # power-law compression of magnitudes in the MSE
STOI_BANDS = 15  # one-third-octave bands
STOI_LOWEST_CENTRE_HZ = 150.0
STOI_SEGMENT_MS = 384  # the envelope segments' length
STOI_CLIP_DB = -15.0  # the lowest signal-to-distortion ratio a segment counts at (STOI's beta)
STOI_DYNAMIC_RANGE_DB = 40.0  # frames further below the loudest count as silent
SILENT_FRAME_DB = -100.0  # and frames below this energy (sum of squared magnitudes) always do
SEGMENT_FRAMES = round(STOI_SEGMENT_MS / HOP_MS)


def mask_loss(mask: torch.Tensor, noisy_mag: torch.Tensor, clean_mag: torch.Tensor,
              under_weight: float = 1.0) -> torch.Tensor:
    """MSE between compressed masked and clean magnitudes.

    under_weight > 1 weighs errors where the estimate falls below the clean
    magnitude (removed speech) more than those above it (residual noise):
    speech distortion costs intelligibility more than a little residual noise.
    """
    noisy_mag = noisy_mag[:, : mask.shape[1]]  # with noise input, the frames' half of the input
    est = (mask * noisy_mag + 1e-8) ** COMPRESS
    ref = (clean_mag + 1e-8) ** COMPRESS
    err = (est - ref) ** 2
    if under_weight != 1.0:
        err = torch.where(est < ref, under_weight * err, err)
    return torch.mean(err)


def third_octave_bands(n_bins: int = MODEL_N_BINS, bin_hz: float = MODEL_BIN_HZ) -> torch.Tensor:
    """(15, n_bins) 0/1 matrix: bin k (at k * bin_hz) belongs to the band whose edges,
    centre * 2 ** (+-1/6), enclose it (STOI's band edges)."""
    centres = STOI_LOWEST_CENTRE_HZ * 2.0 ** (torch.arange(STOI_BANDS, dtype=torch.float64) / 3)
    lo, hi = centres * 2 ** (-1 / 6), centres * 2 ** (1 / 6)
    freqs = torch.arange(n_bins, dtype=torch.float64) * bin_hz
    return ((freqs[None] >= lo[:, None]) & (freqs[None] < hi[:, None])).float()


def envelope_loss(est_mag: torch.Tensor, clean_mag: torch.Tensor) -> torch.Tensor:
    """1 - the weighted mean envelope correlation (about 0 when the estimate is clean).

    est_mag, clean_mag: (batch, 161, frames), frames >= SEGMENT_FRAMES.
    """
    bands = third_octave_bands(est_mag.shape[1]).to(est_mag)
    x = torch.sqrt(torch.einsum("fk,bkt->bft", bands, clean_mag.square()) + 1e-12)  # (batch, 15, frames)
    y = torch.sqrt(torch.einsum("fk,bkt->bft", bands, est_mag.square()) + 1e-12)
    energy_db = 10 * torch.log10(clean_mag.square().sum(dim=1) + 1e-12)  # (batch, frames)
    active = ((energy_db > energy_db.amax(dim=1, keepdim=True) - STOI_DYNAMIC_RANGE_DB)
              & (energy_db > SILENT_FRAME_DB)).float()
    x = x.unfold(2, SEGMENT_FRAMES, 1)  # (batch, 15, segments, SEGMENT_FRAMES)
    y = y.unfold(2, SEGMENT_FRAMES, 1)
    y = y * _norm(x) / _norm(y)
    y = torch.minimum(y, x * (1 + 10 ** (-STOI_CLIP_DB / 20)))
    x = x - x.mean(dim=-1, keepdim=True)
    y = y - y.mean(dim=-1, keepdim=True)
    rho = (x * y).sum(-1) / (_norm(x) * _norm(y))[..., 0]
    weight = active.unfold(1, SEGMENT_FRAMES, 1).mean(dim=-1)[:, None]  # (batch, 1, segments)
    return 1 - (rho * weight).sum() / (weight.sum() * rho.shape[1] + 1e-8)


def _norm(v: torch.Tensor) -> torch.Tensor:
    """Euclidean norm over the last axis, kept; never zero, so its gradient is finite."""
    return torch.sqrt(v.square().sum(dim=-1, keepdim=True) + 1e-12)
