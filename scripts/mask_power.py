"""Held-out check of a mask exponent: clean with the model's mask raised to a power.

    python scripts/mask_power.py GAMMA OUT_DIR [--weights W] [--floor F] [--cap C] [--input DIR]
    denoise eval data/eval/clean OUT_DIR --noisy data/eval/noisy --index data/eval/index.json --pesq

An experiment, not an option: the pipeline's mask is replaced by mask ** GAMMA
(GAMMA < 1 keeps more, > 1 removes more), then clipped at C if given (a lower
bound than the model's mask_max gives back less of what the subtraction took),
everything else at the defaults. The rows in docs/model.md were measured with the v2
checkpoint (`make train-v2`: --weights runs/dns-v2.pt) and --floor 0.2, and the
caps with v8 (GAMMA 1).
"""

import argparse
from dataclasses import replace

import numpy as np

import denoise_cli.pipeline as pipeline
from denoise_cli.batch import clean_paths
from denoise_cli.config import CleanOptions, ModelOptions, RunOptions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gamma", type=float)
    ap.add_argument("out")
    ap.add_argument("--weights", help="mask-model checkpoint (default: the packaged one)")
    ap.add_argument("--floor", type=float, help="spectral floor (default: the default)")
    ap.add_argument("--cap", type=float, help="clip the mask at this (default: no clipping)")
    ap.add_argument("--input", default="data/eval/noisy")
    args = ap.parse_args()
    opts = CleanOptions(model=ModelOptions(weights=args.weights))
    if args.floor is not None:
        opts = replace(opts, spectral=replace(opts.spectral, floor=args.floor))
    real = pipeline.predict_mask
    cap = np.inf if args.cap is None else args.cap
    pipeline.predict_mask = lambda *a, **k: np.minimum(real(*a, **k) ** args.gamma, cap)
    report = clean_paths([args.input], args.out, opts, RunOptions(jobs=1, overwrite=True, write_report=False))
    raise SystemExit(report.return_code)


if __name__ == "__main__":
    main()
