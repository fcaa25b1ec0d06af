"""The loop every Python peer adapter shares: IN_DIR/*.wav -> process -> OUT_DIR/<same name>.wav.

Run as `PYTHON scripts/peers/<peer>.py IN_DIR OUT_DIR` with the peers' interpreter. Input is
read as mono float32; a peer with a fixed native rate gets it resampled with
scipy.signal.resample_poly and its output resampled back. The output is cut or zero-padded to
the input's length and written as PCM16 at the input's rate.
"""
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly


def resample(x: np.ndarray, rate_hz: int, to_hz: int) -> np.ndarray:
    ratio = Fraction(to_hz, rate_hz)
    return x if ratio == 1 else resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def main(process, native_rate_hz: int | None = None) -> None:
    """process(x: float32 (n,), rate_hz) -> float32 (m,), at rate_hz (native_rate_hz when given)."""
    in_dir, out_dir = map(Path, sys.argv[1:3])
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(in_dir.glob("*.wav")):
        x, rate_hz = sf.read(str(path), dtype="float32", always_2d=True)
        x = x.mean(axis=1)
        work_hz = native_rate_hz or rate_hz
        y = resample(process(resample(x, rate_hz, work_hz), work_hz), work_hz, rate_hz)
        y = np.pad(y, (0, max(0, x.size - y.size)))[: x.size]
        sf.write(str(out_dir / path.name), np.clip(y, -1, 1), rate_hz, subtype="PCM_16")
