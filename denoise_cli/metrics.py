"""Speech quality metrics: SI-SDR (here), STOI and wide-band PESQ (optional packages).

All take 1-D float arrays of equal length at ``sample_rate_hz``.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import resample_poly

from .errors import UsageError

STOI_RATE_HZ = 10_000  # pystoi resamples to this itself; we pass the file's rate
PESQ_RATE_HZ = 16_000


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., 2019)."""
    ref = reference.astype(np.float64) - reference.mean()
    est = estimate.astype(np.float64) - estimate.mean()
    target = (est @ ref) / max(ref @ ref, 1e-20) * ref
    return float(10 * np.log10(max(target @ target, 1e-20) / max(((est - target) ** 2).sum(), 1e-20)))


def stoi(reference: np.ndarray, estimate: np.ndarray, sample_rate_hz: int) -> float:
    try:
        from pystoi import stoi as _stoi
    except ImportError:
        raise UsageError("STOI needs pystoi: pip install 'denoise-cli[eval]'") from None
    return float(_stoi(reference, estimate, sample_rate_hz, extended=False))


def pesq_wb(reference: np.ndarray, estimate: np.ndarray, sample_rate_hz: int) -> float:
    try:
        from pesq import pesq as _pesq
    except ImportError:
        raise UsageError("PESQ needs the pesq package: pip install 'denoise-cli[eval]'") from None
    if sample_rate_hz != PESQ_RATE_HZ:
        reference = resample_poly(reference, PESQ_RATE_HZ, sample_rate_hz)
        estimate = resample_poly(estimate, PESQ_RATE_HZ, sample_rate_hz)
    return float(_pesq(PESQ_RATE_HZ, reference, estimate, "wb"))
