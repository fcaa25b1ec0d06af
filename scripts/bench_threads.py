"""A/B timing of what a file does with a spare core (``batch.spare_cores``).

Cleans one file in this process, alternately in five ways, ``--rounds`` times each,
and prints each run's wall time and stage times, then whether all outputs are the
same bytes:

- plain: one torch thread, no background I/O (``--jobs 1``);
- io: background decoding and encoding, one torch thread;
- io+model: the same and the mask model in its own thread (what ``--jobs 2`` does
  with one file);
- io+torch2: background I/O and two torch threads;
- torch2: two torch threads alone.

By default the file is the first 10-minute 48 kHz stereo file of ``make bench``
(bench/in/long_48k_stereo).

    python scripts/bench_threads.py [--rounds 3] [--input FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from denoise_cli.allocator import keep_freed_memory  # noqa: E402
from denoise_cli.config import CleanOptions  # noqa: E402
from denoise_cli.pipeline import clean_file, load_models  # noqa: E402

WAYS = {"plain": (False, False, 1), "io": (True, False, 1), "io+model": (True, True, 1),  # (I/O, model thread,
        "io+torch2": (True, False, 2), "torch2": (False, False, 2)}  # torch threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--input", type=Path, default=ROOT / "bench/in/long_48k_stereo/long_48k_stereo_0.flac")
    args = parser.parse_args()
    if not args.input.is_file():
        parser.error(f"{args.input}: no such file (make bench builds it)")
    keep_freed_memory()  # as the CLI's processes do
    opts = CleanOptions()
    torch.set_num_threads(1)
    models = load_models(opts, torch.device("cpu"))
    walls: dict[str, list[float]] = {name: [] for name in WAYS}
    digests = set()
    with tempfile.TemporaryDirectory() as tmp:
        clean_file(args.input, Path(tmp) / f"warm{args.input.suffix}", opts, models)  # first-file costs
        for _ in range(args.rounds):
            for name, (background_io, model_thread, threads) in WAYS.items():
                torch.set_num_threads(threads)
                out = Path(tmp) / f"{name}{args.input.suffix}"
                started = time.perf_counter()
                report = clean_file(args.input, out, opts, models, background_io=background_io,
                                    model_thread=model_thread)
                walls[name].append(time.perf_counter() - started)
                digests.add(hashlib.sha256(out.read_bytes()).hexdigest())
                stages = ", ".join(f"{k} {v:.2f}" for k, v in report["timings_s"].items() if k != "total")
                print(f"{name:10s} {walls[name][-1]:6.2f} s  ({stages})", flush=True)
    for name, values in walls.items():
        print(f"{name:10s} " + " / ".join(f"{v:.2f}" for v in values) + " s")
    print("outputs: " + ("the same bytes" if len(digests) == 1 else f"{len(digests)} different"))


if __name__ == "__main__":
    main()
