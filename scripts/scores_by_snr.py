"""Held-out scores by each file's estimated SNR (docs/model.md, "Settings by estimated SNR").

Each setting is run on every file; this takes the files whose SNR estimate (the default run's
reports, ``snr_estimate_db.before``: speech segments' power against the guarded pauses', measured
before any cleaning, so the same for every setting) is at least a threshold, and composes "those
files from a setting, the rest from the default run", as a per-file rule on the estimate would.

    denoise clean data/eval/noisy out/snr/default                       # with reports
    denoise clean data/eval/noisy out/snr/a6 --over-subtraction 6 --no-report
    denoise eval data/eval/clean out/snr/default out/snr/a6 --index data/eval/index.json \\
        --pesq --out out/snr/eval.json
    python scripts/scores_by_snr.py out/snr/default out/snr/eval.json [more eval JSONs]

Prints, for each threshold (6, 8, 10 and 12 dB unless --thresholds), the default run's mean
SI-SDR / STOI / PESQ over the files at or above it, each other system's over those files, and
each system's composed score over all files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scores_by_spread import composed, from_reports, load_scores, mean  # scripts/ is on the path when run as a script


def snr_estimates(default_dir: Path) -> dict[str, float | None]:
    """{file stem: estimated input SNR in dB (None: no pauses to measure)} from a run's reports."""
    return from_reports(default_dir, "snr_estimate_db", "before")


def fmt(m: list[float]) -> str:
    return f"{m[0]:7.3f} / {m[1]:.4f} / {m[2]:.4f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("default_dir", type=Path, help="the default run, with its per-file reports")
    ap.add_argument("evals", nargs="+", type=Path, help="denoise eval --out JSONs with the default run in one")
    ap.add_argument("--thresholds", type=float, nargs="+", default=[6.0, 8.0, 10.0, 12.0])
    args = ap.parse_args()
    estimate = snr_estimates(args.default_dir)
    scores = load_scores(args.evals)  # system -> file -> row
    base = scores.pop(args.default_dir.name)
    print(f"default run, all {len(base)} files: {fmt(mean(list(base.values())))} (SI-SDR dB / STOI / PESQ)")
    for threshold in args.thresholds:
        high = {n for n in base if (estimate.get(n) is not None and estimate[n] >= threshold)}
        print(f"estimated SNR >= {threshold:g} dB: {len(high)} files; the default run on them {fmt(mean([base[n] for n in high]))}")
        for system, rows in sorted(scores.items()):
            if all(n in rows for n in high):
                print(f"  {system:10s} on them {fmt(mean([rows[n] for n in high]))}   "
                      f"all files composed {fmt(composed(rows, base, high))}")


if __name__ == "__main__":
    main()
