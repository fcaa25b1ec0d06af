"""Held-out check of a mask exponent: clean with the model's mask raised to a power.

    python scripts/mask_power.py GAMMA OUT_DIR [INPUT_DIR]   # default input: data/eval/noisy
    denoise eval data/eval/clean OUT_DIR --noisy data/eval/noisy --index data/eval/index.json --pesq

An experiment, not an option: the pipeline's mask is replaced by mask ** GAMMA
(GAMMA < 1 keeps more, > 1 removes more), everything else at the defaults.
"""

import sys

import denoise_cli.pipeline as pipeline
from denoise_cli.batch import clean_paths
from denoise_cli.config import CleanOptions, RunOptions


def main() -> None:
    gamma, out = float(sys.argv[1]), sys.argv[2]
    src = sys.argv[3] if len(sys.argv) > 3 else "data/eval/noisy"
    real = pipeline.predict_mask
    pipeline.predict_mask = lambda *a, **k: real(*a, **k) ** gamma
    report = clean_paths([src], out, CleanOptions(), RunOptions(jobs=1, overwrite=True, write_report=False))
    raise SystemExit(report.return_code)


if __name__ == "__main__":
    main()
