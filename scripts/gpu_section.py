"""The "GPU throughput" section of docs/benchmarks.md, from make bench-gpu's JSON files.

    python scripts/gpu_section.py docs/benchmarks.md    # write or replace the section in place

Reads docs/bench-gpu.json (every core), docs/bench-gpu-2cores.json (the same run held
to two cores with taskset), docs/bench-gpu-long.json (the 10-hour 16 kHz mono file of
make bench-long) and docs/bench-train-cuda.json, where they exist; a file that is
missing leaves its table out. `make compare` writes the same section at the
end of the document it generates.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
HEADING = "## GPU throughput"
RUNS = (("bench-gpu-2cores.json", "two cores (`taskset -c 0,1`)"), ("bench-gpu.json", "every core"),
        ("bench-gpu-long.json", "one 10-hour file (one core's CPU stages either way)"))


def _rows(results: list[dict]) -> dict[str, dict[tuple[str, int], dict]]:
    """{set name: {(device, jobs): row}} from one bench.py JSON file."""
    sets: dict[str, dict[tuple[str, int], dict]] = {}
    for row in results:
        if "real_time_factor" in row:
            sets.setdefault(row["set"], {})[row["device"], row["jobs"]] = row
    return sets


def _machine(results: list[dict]) -> dict:
    return next((r["machine"] for r in results if "machine" in r), {})


def throughput_table(results: list[dict]) -> list[str]:
    """One markdown table: RTF (and work RTF) per set for CPU --jobs 1, CPU --jobs N and CUDA --jobs N."""
    cores = _machine(results).get("cores", 0)
    startup = next((r["startup_s"] for r in results if "startup_s" in r), {})
    runs = [("cpu", 1), ("cpu", cores), ("cuda", cores)]
    lines = ["| files | " + " | ".join(f"{d.upper()} `--jobs {j}`" for d, j in runs) + " | CUDA over best CPU |",
             "|---" * (len(runs) + 2) + "|"]
    for name, by_run in _rows(results).items():
        cells = []
        for run in runs:
            row = by_run.get(run)
            cells.append(f"{row['real_time_factor']:.4f} ({row['work_real_time_factor']:.4f})" if row else "-")
        cpu_best = min((r["wall_s"] for (d, _), r in by_run.items() if d == "cpu"), default=None)
        cuda = by_run.get(("cuda", cores))
        ratio = f"{cpu_best / cuda['wall_s']:.2f}x" if cuda and cpu_best else "-"
        files = next(iter(by_run.values()))
        lines.append(f"| {files['files']} x {name} | " + " | ".join(cells) + f" | {ratio} |")
    starts = ", ".join(f"{'CPU --jobs ' + k if k.isdigit() else k.replace('cuda ', 'CUDA --jobs ')} {v:.2f} s"
                       for k, v in startup.items())
    return lines + ["", f"Start-up (a 1-second file, median of 5): {starts}."]


def train_table(result: dict) -> list[str]:
    """Seconds per training step on the GPU per --data-workers, and one step's split."""
    lines = ["| `--data-workers` | s per step | steps per hour |", "|---|---|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['data_workers']} | {row['s_per_step']:.3f} | {3600 / row['s_per_step']:.0f} |")
    split = result["split"]
    return lines + ["", f"One step in one process: making the batch (CPU) {split['make_batch_s']:.3f} s, "
                        f"the model's forward, backward and update (GPU) {split['model_step_s']:.3f} s."]


def section(docs: Path = DOCS) -> list[str]:
    """The section's lines; empty when no GPU run has been recorded."""
    out: list[str] = []
    for filename, label in RUNS:
        path = docs / filename
        if not path.exists():
            continue
        results = json.loads(path.read_text())
        m = _machine(results)
        out += [f"### `denoise clean`, {label}", "",
                f"`{filename}`: {m.get('gpu', 'GPU unknown')}, {m.get('cpu', 'CPU unknown')}, "
                f"{m.get('cores', '?')} cores. Real-time factor (wall / audio) with, in brackets, the work RTF "
                "(wall less the start-up of the same device and jobs, / audio); lower is faster.", ""]
        out += throughput_table(results) + [""]
    train = docs / "bench-train-cuda.json"
    if train.exists():
        result = json.loads(train.read_text())
        m = result.get("machine", {})
        out += ["### `denoise train --device cuda`", "",
                f"`bench-train-cuda.json`: {m.get('gpu', 'GPU unknown')}, {m.get('cpu', 'CPU unknown')}, "
                f"{m.get('cores', '?')} cores; the shipped model's shape, batch 32, "
                "one torch thread.", ""]
        out += train_table(result) + [""]
    if not out:
        return []
    return [HEADING, "",
            "Measured by `make bench-gpu` (scripts/bench.py and scripts/bench_train.py on a machine with an "
            "NVIDIA GPU) on the bench files of `make bench`, not on the quality set above. "
            "With `--device cuda` the files run in threads of one process sharing one model on the GPU.", ""] + out


def replace_section(document: str, lines: list[str]) -> str:
    """``document`` with its GPU section replaced by ``lines`` (appended where it has none)."""
    head, found, rest = document.partition(HEADING)
    tail = ""
    if found:
        following = rest.find("\n## ")
        tail = rest[following + 1:] if following >= 0 else ""
    parts = [head, "\n".join(lines), tail]
    return "\n\n".join(part.strip("\n") for part in parts if part.strip("\n")) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("document", type=Path, help="the markdown file to update (docs/benchmarks.md)")
    args = parser.parse_args()
    args.document.write_text(replace_section(args.document.read_text(), section(args.document.parent)))


if __name__ == "__main__":
    main()
