"""How often the subtraction floors speech, and what the mask model does there (held-out set).

    python scripts/floored_bins.py [--weights W] [--over-subtraction A] [--floor F]

For each SNR of the held-out set (data/eval and its index.json, `make eval-set`): among the STFT bins
where the clean magnitude is more than half the noisy one and within 30 dB of the
file's loudest clean bin ("speech bins"), the share that the subtraction floors, the
share floored with the mask above 1.9, the share whose final gain (subtraction times
mask, capped at one) leaves less than half the clean magnitude, and the share with
the mask above 1.9. An analysis, not the pipeline: the noise profile is the true
noise's mean power (noisy minus clean), not the one the VAD finds, and the whole
file goes through the model at once.
"""

import argparse
import json
import os

import numpy as np
import soundfile as sf
import torch

from denoise_cli.config import SpectralOptions
from denoise_cli.model import with_noise
from denoise_cli.spectral import StftGeometry, stft, subtraction_gain
from denoise_cli.weights import load_checkpoint

SPEECH_BIN_DB = 30.0  # speech bins: within this of the file's loudest clean bin
RESTORED = 1.9  # a mask above this presses against a bound of 2


def main() -> None:
    defaults = SpectralOptions()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", help="mask-model checkpoint (default: the packaged one)")
    ap.add_argument("--over-subtraction", type=float, default=defaults.over_subtraction)
    ap.add_argument("--floor", type=float, default=defaults.floor)
    ap.add_argument("--eval-dir", default="data/eval")
    args = ap.parse_args()
    geo = StftGeometry(16_000)
    net = load_checkpoint(args.weights).model
    counts: dict[int, np.ndarray] = {}
    with open(os.path.join(args.eval_dir, "index.json")) as fh:
        items = json.load(fh)
    for item in items:
        noisy, _ = sf.read(os.path.join(args.eval_dir, "noisy", item["name"] + ".wav"), dtype="float32")
        clean, _ = sf.read(os.path.join(args.eval_dir, "clean", item["name"] + ".wav"), dtype="float32")
        Y, X, N = (np.abs(stft(s[None], geo)[0]) for s in (noisy, clean, noisy - clean))
        noise_power = (N**2).mean(axis=0)
        g = subtraction_gain(Y[None] ** 2, noise_power[None], args.over_subtraction, args.floor)[0]
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(with_noise((Y * g).T[None], np.sqrt(noise_power)[None])))
            mask = net(x).numpy()[0].T
        ideal = X / (Y + 1e-9)
        speech = (X**2 > 10 ** (-SPEECH_BIN_DB / 10) * (X**2).max()) & (ideal > 0.5)
        floored = g <= args.floor + 1e-6
        final = np.minimum(g * mask, 1.0)
        counts.setdefault(item["snr_db"], np.zeros(5))
        counts[item["snr_db"]] += [speech.sum(), (speech & floored).sum(), (speech & floored & (mask > RESTORED)).sum(),
                        (speech & (final < 0.5 * ideal)).sum(), (speech & (mask > RESTORED)).sum()]
    print("SNR dB  speech bins  floored  floored, mask>1.9  final < clean/2  mask>1.9")
    for snr, c in sorted(counts.items()):
        print(f"{snr:>6}  {int(c[0]):11d}  " + "  ".join(f"{v / c[0]:7.3f}" for v in c[1:]))


if __name__ == "__main__":
    main()
