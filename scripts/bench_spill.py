"""A/B timing of the decoded copy for FLAC files too long for the decoded-sample cache.

Cleans one long FLAC with ``CleanOptions()`` and with ``spill_decoded=False``, alternately,
``--rounds`` times each, on one thread, and prints each run's wall time and stage times,
then whether both outputs are the same bytes. By default the file is the two 10-minute
48 kHz stereo files of ``make bench`` (bench/in/long_48k_stereo) joined twice: 40 minutes,
460 MB decoded, above the 256 MB cache.

    python scripts/bench_spill.py [--rounds 2] [--input FILE.flac]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from denoise_cli.config import CleanOptions  # noqa: E402
from denoise_cli.pipeline import clean_file, load_models  # noqa: E402


def default_input(folder: Path) -> Path:
    """The two 10-minute 48 kHz stereo bench files, joined twice, as one FLAC in ``folder``."""
    parts = [sf.read(ROOT / f"bench/in/long_48k_stereo/long_48k_stereo_{i}.flac", dtype="int16")[0]
             for i in (0, 1)]
    path = folder / "long40.flac"
    sf.write(path, np.concatenate(parts * 2), 48_000, subtype="PCM_16")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--input", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(1)
    opts = CleanOptions()
    models = load_models(opts, torch.device("cpu"))
    with tempfile.TemporaryDirectory(dir=ROOT / "bench") as tmp:
        tmp = Path(tmp)
        src = args.input or default_input(tmp)
        outs = {spill: tmp / str(spill) / "out.flac" for spill in (True, False)}
        for r in range(args.rounds):
            for spill, out in outs.items():
                started = time.perf_counter()
                report = clean_file(src, out, replace(opts, spill_decoded=spill), models)
                wall = time.perf_counter() - started
                t = report["timings_s"]
                stages = " ".join(f"{k} {v:.1f}" for k, v in t.items() if k not in ("read", "total"))
                print(f"round {r} spill_decoded={spill}: {wall:.1f} s, RTF {wall / report['duration_s']:.4f}, "
                      f"read {t['read']:.1f} s ({t['read'] / t['total']:.0%}); {stages}", flush=True)
        print("same bytes:", outs[True].read_bytes() == outs[False].read_bytes())


if __name__ == "__main__":
    main()
