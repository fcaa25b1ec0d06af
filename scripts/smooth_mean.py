"""Held-out check of the form of the gain smoothing's mean: an experiment, not an option.

    .venv/bin/python scripts/smooth_mean.py VARIANT NOISY_DIR OUT_DIR [--weights W]
    .venv/bin/python scripts/score_per_speaker.py data/eval/clean OUT_DIR ...

Runs ``denoise clean NOISY_DIR OUT_DIR --jobs 1`` in this process with
``spectral.smooth_over_frames`` (the mean of each frame's total gain over the
``2 * radius + 1`` frames around it, 40 ms each side by default) replaced by VARIANT:

- ``arith``: the arithmetic mean, as shipped;
- ``cap:K``: the arithmetic mean, but never more than K times the frame's own gain, so
  a frame of noise between loud frames cannot be raised by more than K;
- ``pow:P``: the power mean ``mean(g ** P) ** (1 / P)``, P < 1 leaning towards the
  smaller gains (P -> 0 is the geometric mean).

Blocks still see their neighbours, so the result stays independent of the block size.
"""

import sys

import numpy as np

import denoise_cli.pipeline as pipeline
from denoise_cli.spectral import smooth_over_frames

GAIN_EPS = 1e-6  # keeps the power mean finite where a gain is zero


def variant(spec: str):
    kind, _, arg = spec.partition(":")
    if kind == "arith":
        return smooth_over_frames
    if kind == "cap":
        k = float(arg)

        def capped(gain, radius, left, right):
            own = gain[:, left : gain.shape[1] - right]
            return np.minimum(smooth_over_frames(gain, radius, left, right), k * own)

        return capped
    if kind == "pow":
        p = float(arg)

        def power_mean(gain, radius, left, right):
            return smooth_over_frames(np.maximum(gain, GAIN_EPS) ** p, radius, left, right) ** (1 / p)

        return power_mean
    raise SystemExit(f"unknown variant {spec!r}: arith, cap:K or pow:P")


def main() -> None:
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    spec, noisy, out, *rest = sys.argv[1:]
    pipeline.smooth_over_frames = variant(spec)
    from denoise_cli.cli import app

    sys.argv = ["denoise", "clean", noisy, out, "-q", "--overwrite", "--no-report", "--jobs", "1", *rest]
    app()


if __name__ == "__main__":
    main()
