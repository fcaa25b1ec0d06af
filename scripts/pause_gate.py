"""Held-out check of a gate in the pauses: scale cleaned files outside their speech segments.

    python scripts/pause_gate.py CLEANED_DIR OUT_DIR GAIN [--guard-ms 100]
    denoise eval data/eval/clean OUT_DIR --index data/eval/index.json --pesq

An experiment, not an option: CLEANED_DIR holds `denoise clean` outputs with their
per-file reports (FILE.json, which give the VAD's speech segments). Every sample
further than the guard from a segment is scaled by GAIN, with 20 ms Hann ramps at
the edges; the results are written as 16-bit WAV. The figures in docs/model.md were measured
on the held-out set cleaned with v8 (`denoise clean data/eval/noisy DIR`).
"""

import argparse
import glob
import json
import os

import numpy as np
import soundfile as sf

RAMP_S = 0.02  # half-length of the Hann ramps at the edges of the gated stretches


def gate_envelope(segments: list[dict], n_samples: int, rate_hz: int, gain: float, guard_ms: float) -> np.ndarray:
    """(n_samples,) float32: 1 in the guarded segments, ``gain`` elsewhere, ramped between."""
    env = np.full(n_samples, gain, np.float32)
    guard = int(guard_ms * rate_hz / 1000)
    for s in segments:
        env[max(0, int(s["start_s"] * rate_hz) - guard) : int(s["end_s"] * rate_hz) + guard] = 1.0
    half = int(RAMP_S * rate_hz)
    kernel = np.hanning(2 * half + 1)
    return np.maximum(np.convolve(env, kernel / kernel.sum(), mode="same"), gain).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cleaned")
    ap.add_argument("out")
    ap.add_argument("gain", type=float)
    ap.add_argument("--guard-ms", type=float, default=100.0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(args.cleaned, "*.wav"))):
        with open(path + ".json") as fh:
            segments = json.load(fh)["segments"]
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        env = gate_envelope(segments, audio.shape[0], rate, args.gain, args.guard_ms)
        sf.write(os.path.join(args.out, os.path.basename(path)), audio * env[:, None], rate, subtype="PCM_16")


if __name__ == "__main__":
    main()
