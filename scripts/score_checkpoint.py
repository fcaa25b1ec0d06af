"""Score mask-model checkpoints the way docs/model.md's "Model variants" tables do.

    .venv/bin/python scripts/score_checkpoint.py NAME=CHECKPOINT [NAME=CHECKPOINT ...]
        [--work out/score] [--eval-dir data/eval] [--bench data/bench]

For each checkpoint: ``denoise clean`` with its defaults and ``--weights CHECKPOINT`` on the
held-out set (``make eval-set``) and on the benchmark set at 16 and 48 kHz (``make
bench-set``), then PESQ-WB, STOI and SI-SDR against the clean references
(denoise_cli.evaluate). ``NAME=packaged`` scores the shipped weights. Outputs are kept under
WORK/NAME and reused when a folder is complete (delete it to rerun). Prints one Markdown row
per checkpoint with the columns of those tables:

- held-out, all 90 items: SI-SDR (dB) / STOI / PESQ;
- the held-out babble items, and the others (count in brackets);
- held-out PESQ at -5 / 0 / 5 / 10 / 15 dB SNR;
- benchmark 16 kHz and 48 kHz means: PESQ / STOI / SI-SDR (dB);
- benchmark babble STOI at 16 / 48 kHz, babble PESQ at 48 kHz;

and writes WORK/NAME/scores.json with the per-file scores.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from denoise_cli.evaluate import evaluate_folders

SNRS_DB = (-5, 0, 5, 10, 15)


def clean(noisy: Path, out: Path, weights: str) -> None:
    """Run the chain on every file in NOISY unless OUT already holds as many files."""
    if out.is_dir() and len(list(out.glob("*.wav"))) == len(list(noisy.glob("*.wav"))):
        return
    cmd = [str(Path(sys.executable).parent / "denoise"), "clean", str(noisy), str(out), "-q",
           "--overwrite", "--no-report"] + ([] if weights == "packaged" else ["--weights", weights])
    subprocess.run(cmd, check=True)


def means(rows: list[dict], keys=("si_sdr", "stoi", "pesq")) -> list[float]:
    return [float(np.mean([r[k] for r in rows])) for k in keys]


def score(name: str, weights: str, a) -> tuple[str, dict]:
    work = a.work / name
    held = json.loads((a.eval_dir / "index.json").read_text())
    clean(a.eval_dir / "noisy", work / "eval", weights)
    rows = evaluate_folders(a.eval_dir / "clean", {name: work / "eval"}, with_pesq=True)["files"]
    item = {x["name"]: x for x in held}
    babble = [r for r in rows if "babble" in item[r["file"]]["noise"]]
    others = [r for r in rows if "babble" not in item[r["file"]]["noise"]]
    per_snr = [means([r for r in rows if item[r["file"]]["snr_db"] == s], ("pesq",))[0] for s in SNRS_DB]
    bench_index = json.loads((a.bench / "index.json").read_text())
    bench, bench_rows = {}, {}
    for rate in ("16k", "48k"):
        clean(a.bench / rate / "noisy", work / f"bench{rate}", weights)
        bench_rows[rate] = evaluate_folders(a.bench / rate / "clean", {name: work / f"bench{rate}"},
                                            with_pesq=True)["files"]
        noise_of = {x["name"]: x["noise"] for x in bench_index if f"{x['rate'] // 1000}k" == rate}
        bench[rate] = {"all": means(bench_rows[rate], ("pesq", "stoi", "si_sdr")),
                       "babble": means([r for r in bench_rows[rate] if noise_of[r["file"]] == "babble"],
                                       ("pesq", "stoi", "si_sdr"))}
    cells = ["%.3f / %.4f / %.4f" % tuple(means(rows)),
             "%.3f / %.4f / %.4f (%d)" % (*means(babble), len(babble)),
             "%.3f / %.4f / %.4f (%d)" % (*means(others), len(others)),
             " / ".join("%.3f" % p for p in per_snr),
             "%.3f / %.4f / %.2f" % tuple(bench["16k"]["all"]),
             "%.3f / %.4f / %.2f" % tuple(bench["48k"]["all"]),
             "%.4f / %.4f" % (bench["16k"]["babble"][1], bench["48k"]["babble"][1]),
             "%.3f" % bench["48k"]["babble"][0]]
    (work / "scores.json").write_text(json.dumps({"heldout": rows, "bench": bench_rows}, indent=1))
    return f"| {name} | " + " | ".join(cells) + " |", bench


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", metavar="NAME=CHECKPOINT")
    ap.add_argument("--work", type=Path, default=Path("out/score"))
    ap.add_argument("--eval-dir", type=Path, default=Path("data/eval"))
    ap.add_argument("--bench", type=Path, default=Path("data/bench"))
    a = ap.parse_args()
    print("| checkpoint | all 90 | babble items | others | PESQ at −5 / 0 / 5 / 10 / 15 dB "
          "| benchmark 16 kHz | benchmark 48 kHz | babble STOI 16 / 48 kHz | babble PESQ 48 kHz |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in a.runs:
        name, _, weights = run.partition("=")
        print(score(name, weights or "packaged", a)[0], flush=True)


if __name__ == "__main__":
    main()
