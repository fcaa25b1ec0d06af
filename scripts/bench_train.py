"""Training speed: seconds per step of `denoise train`'s loop, and where a step's time goes.

Trains on the speech of sample_audio/.reference (each file one "speaker") and the
synthetic noises, with the shipped model's shape (noise input, mask bound 2, batch
32, augmentation, babble 0.15), in a temporary folder that is then deleted. Each
setting runs in its own process (torch's thread pool is per process):

    python scripts/bench_train.py                       # threads 1 and all, data workers 0 and 1
    python scripts/bench_train.py --device cuda --threads 1 --workers 0,4,8
    python scripts/bench_train.py --json docs/bench-train.json

A run takes 2 x --steps steps: the first --steps warm up, the rest are timed
(between the two log lines, so the timed span also holds one validation batch).
Then, in one process, a step is split into making the batch (CPU) and the model's
forward, backward and update (on --device). Figures, not assertions: run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from machine import cpu_model  # noqa: E402  (scripts/machine.py)


def link_speech(folder: Path) -> None:
    """folder/speech/NAME/FILE: each reference recording as one speaker."""
    for path in sorted((ROOT / "sample_audio" / ".reference").iterdir()):
        (folder / "speech" / path.stem).mkdir(parents=True)
        (folder / "speech" / path.stem / path.name).symlink_to(path)


def _options(folder: Path, steps: int, device: str, workers: int):
    from denoise_cli.train import TrainOptions

    return TrainOptions(speech_dir=str(folder / "speech"), noise_dir=None, out=str(folder / "out.pt"),
                        run_dir=str(folder / f"run_{device}_{workers}_{os.getpid()}"), steps=2 * steps,
                        log_every=steps, checkpoint_every=10**9, valid_examples=32, noise_input=True,
                        mask_max=2.0, babble_share=0.15, under_weight=1.5, device=device, data_workers=workers)


def seconds_per_step(folder: Path, steps: int, device: str, threads: int, workers: int) -> float:
    """Train 2 x steps in this process; the seconds per step of the second half."""
    import torch

    from denoise_cli.train import train

    torch.set_num_threads(threads)
    stamps = []
    train(_options(folder, steps, device, workers),
          log=lambda m: stamps.append(time.perf_counter()) if m.startswith("step ") else None)
    return (stamps[1] - stamps[0]) / steps


def split(folder: Path, steps: int, device: str, threads: int) -> dict:
    """Mean seconds of making a batch and of the model's step, over ``steps`` steps after 2 warm-ups."""
    import torch

    from denoise_cli.model import MaskNet
    from denoise_cli.train import MixtureMaker, load_folder, optimise_step

    torch.set_num_threads(threads)
    opts = _options(folder, steps, device, 0)
    maker = MixtureMaker(load_folder(opts.speech_dir, True), [], opts)
    model = MaskNet(opts.dims()).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=opts.lr)
    make = step_s = 0.0
    for step in range(steps + 2):
        t0 = time.perf_counter()
        x, y = maker.batch((0, 3, step))
        t1 = time.perf_counter()
        optimise_step(model, optimizer, x.to(device), y.to(device), opts.under_weight)
        if step >= 2:
            make, step_s = make + t1 - t0, step_s + time.perf_counter() - t1
    return {"make_batch_s": round(make / steps, 3), "model_step_s": round(step_s / steps, 3),
            "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=20, help="warm-up steps, then as many timed")
    parser.add_argument("--threads", help="comma-separated torch thread counts (default: 1 and all cores)")
    parser.add_argument("--workers", default="0,1", help="comma-separated --data-workers values")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--one", nargs=3, type=int, metavar=("STEPS", "THREADS", "WORKERS"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child: one setting
        steps, threads, workers = args.one
        print(json.dumps(seconds_per_step(args.folder, steps, args.device, threads, workers)))
        return
    cores = len(os.sched_getaffinity(0))
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, cores})
    workers = [int(w) for w in args.workers.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        link_speech(folder)
        for t in threads:
            for w in workers:
                out = subprocess.run([sys.executable, __file__, "--device", args.device, "--folder", str(folder),
                                      "--one", str(args.steps), str(t), str(w)],
                                     capture_output=True, text=True, check=True)
                sec = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append({"device": args.device, "threads": t, "data_workers": w, "s_per_step": round(sec, 3)})
                print(f"{args.device:4s} threads {t:2d}  data workers {w:2d}  {sec:6.3f} s/step", flush=True)
        parts = split(folder, args.steps, args.device, max(threads))
    print(f"one step, threads {max(threads)}: making the batch {parts['make_batch_s']:.3f} s, "
          f"the model's step {parts['model_step_s']:.3f} s")
    if args.json:
        machine = {"cpu": cpu_model(), "cores": cores, "gpu": parts.pop("gpu")}
        args.json.write_text(json.dumps({"machine": machine, "rows": rows, "split": parts},
                                        indent=1) + "\n")


if __name__ == "__main__":
    main()
