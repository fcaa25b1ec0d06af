"""How fast the mask net runs at other sizes: milliseconds per 32 chunks of 4 s (128 s of audio).

Times MaskNet's forward pass alone (noise input, mask bound 2, as shipped) in
float32 under inference mode, on one thread by default, best of --repeats, for
the shipped size and for smaller ones (``denoise train --conv-channels/--lstm-hidden/
--kernel-size``). Figures, not assertions: run it on an otherwise idle machine.

    python scripts/net_speed.py [--threads 1] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from denoise_cli.config import HOP_MS, MODEL_N_BINS  # noqa: E402
from denoise_cli.model import MaskNet, ModelDims  # noqa: E402

CHUNKS, CHUNK_FRAMES = 32, 400  # the pipeline's model batch: 4 s chunks at a 10 ms hop
TIMED_SIZES = ({}, {"kernel_size": 3}, {"conv_channels": 128}, {"lstm_hidden": 96},
               {"conv_channels": 192, "lstm_hidden": 96}, {"conv_channels": 128, "lstm_hidden": 96, "kernel_size": 3})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(CHUNKS, 2 * MODEL_N_BINS, CHUNK_FRAMES, generator=gen) + 0.01
    x[:, MODEL_N_BINS:] = x[:, MODEL_N_BINS:, :1]  # the noise profile: the same in every frame, as the pipeline gives it
    audio_s = CHUNKS * CHUNK_FRAMES * HOP_MS / 1000
    for size in TIMED_SIZES:
        net = MaskNet(ModelDims(noise_input=True, mask_max=2.0, **size)).eval()
        params = sum(p.numel() for p in net.parameters())
        times = []
        with torch.inference_mode():
            net(x)  # warm-up
            for _ in range(args.repeats):
                start = time.perf_counter()
                net(x)
                times.append(time.perf_counter() - start)
        label = ", ".join(f"{k} {v}" for k, v in size.items()) or "shipped size"
        print(f"{label:50s} {params / 1e6:.2f} M parameters  {1000 * min(times):6.0f} ms per {audio_s:.0f} s")


if __name__ == "__main__":
    main()
