"""Held-out scores by how steady each file's noise is (docs/model.md, "Steady noise").

Each setting is run on every file; this splits the scores by the spread of the noise's level
over the pauses, which the default run's reports give (``noise_profile.level_spread_db``, measured
before the subtraction, so the same for every setting), and composes "the steady files from a
setting, the rest from the default run", which is what the chain does with per-file settings.

    denoise clean data/eval/noisy out/spread/default                    # with reports
    denoise clean data/eval/noisy out/spread/a4b0.12 --over-subtraction 4 --spectral-floor 0.12 --no-report
    denoise eval data/eval/clean out/spread/default out/spread/a4b0.12 --index data/eval/index.json \\
        --pesq --out out/spread/eval.json
    python scripts/scores_by_spread.py out/spread/default out/spread/eval.json [more eval JSONs]

Prints, for each band of spread (steady below STEADY_SPREAD_DB, 3-5, 5-10, 10+ dB, minimum
statistics) and each system, the mean SI-SDR / STOI / PESQ and the change against the default
run, and for each system the composed score of all files.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from denoise_cli.config import STEADY_SPREAD_DB

MEASURES = ("si_sdr", "stoi", "pesq")


def band(spread_db: float | None) -> str:
    if spread_db is None:
        return "minimum statistics"
    if spread_db < STEADY_SPREAD_DB:
        return f"steady (< {STEADY_SPREAD_DB:g} dB)"
    return "3-5 dB" if spread_db < 5 else "5-10 dB" if spread_db < 10 else "10+ dB"


def from_reports(default_dir: Path, section: str, key: str) -> dict[str, float | None]:
    """{file stem: report[section][key]} from the per-file reports of a run (None where the
    section or key is null); files whose reports lack the section are left out."""
    out = {}
    for path in default_dir.glob("*.json"):
        report = json.loads(path.read_text())
        if section in report:
            out[path.name.split(".")[0]] = (report[section] or {}).get(key)
    return out


def spreads(default_dir: Path) -> dict[str, float | None]:
    """{file stem: level spread in dB (None: minimum statistics)} from the reports of a run."""
    return from_reports(default_dir, "noise_profile", "level_spread_db")


def mean(rows: list[dict]) -> list[float]:
    return [sum(r[k] for r in rows) / len(rows) for k in MEASURES]


def load_scores(evals: list[Path]) -> dict[str, dict[str, dict]]:
    """{system folder name: {file: its row}} from ``denoise eval --out`` JSONs."""
    scores: dict[str, dict[str, dict]] = defaultdict(dict)
    for path in evals:
        for row in json.loads(path.read_text())["files"]:
            scores[Path(row["system"]).name][row["file"]] = row
    return scores


def composed(rows: dict[str, dict], base: dict[str, dict], chosen: set[str]) -> list[float]:
    """Mean scores over all of ``base``'s files, the ``chosen`` ones taken from ``rows``."""
    return mean([rows[n] if n in chosen else base[n] for n in base])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("default_dir", type=Path, help="the default run, with its per-file reports")
    ap.add_argument("evals", nargs="+", type=Path, help="denoise eval --out JSONs with the default run in one")
    args = ap.parse_args()
    spread = spreads(args.default_dir)
    scores = load_scores(args.evals)  # system -> file -> row
    base = scores[args.default_dir.name]
    bands: dict[str, list[str]] = defaultdict(list)
    for name in base:
        bands[band(spread.get(name))].append(name)
    for label, names in sorted(bands.items()):
        print(f"{label}: {len(names)} files (SI-SDR dB / STOI / PESQ; change against the default run)")
        ref = mean([base[n] for n in names])
        ranked = [(mean([rows[n] for n in names]), system) for system, rows in scores.items()
                  if all(n in rows for n in names)]
        for m, system in sorted(ranked, key=lambda t: -t[0][2]):  # most PESQ first
            print(f"  {system:16s} {m[0]:7.3f} / {m[1]:.4f} / {m[2]:.4f}   "
                  f"{m[0] - ref[0]:+.2f} / {m[1] - ref[1]:+.4f} / {m[2] - ref[2]:+.4f}")
    steady = set(bands[band(0.0)])
    print(f"all {len(base)} files, the steady ones from each system and the rest from the default run:")
    for system, rows in sorted(scores.items()):
        if all(n in rows for n in steady):
            m = composed(rows, base, steady)
            print(f"  {system:16s} {m[0]:7.3f} / {m[1]:.4f} / {m[2]:.4f}")


if __name__ == "__main__":
    main()
