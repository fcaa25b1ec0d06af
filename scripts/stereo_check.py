"""Linked against independent channels on stereo made from the held-out set.

For each held-out item (data/eval, `make eval-set`): left = the noisy item as is;
right = the same speech at 0.8 times the level, 0.75 ms later (a second microphone),
plus the noise of the next item of the same SNR (wrapping round). Both settings clean the stereo files
and every channel is scored against its own clean speech.

    python scripts/stereo_check.py            # writes under out/stereo/
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from denoise_cli.metrics import pesq_wb, si_sdr, stoi

EVAL = Path("data/eval")
OUT = Path("out/stereo")
DELAY_SAMPLES = 12  # 0.75 ms at 16 kHz
RIGHT_GAIN = 0.8


def build() -> list[tuple[str, np.ndarray]]:
    index = json.loads((EVAL / "index.json").read_text())
    (OUT / "noisy").mkdir(parents=True, exist_ok=True)
    refs = []
    for i, item in enumerate(index):
        same = [j for j, o in enumerate(index) if o["snr_db"] == item["snr_db"] and j != i]
        later = [j for j in same if j > i]  # the next item of this SNR, wrapping round
        other = index[(later or same or [i])[0]]
        clean, rate = sf.read(EVAL / "clean" / f"{item['name']}.wav", dtype="float32")
        noisy, _ = sf.read(EVAL / "noisy" / f"{item['name']}.wav", dtype="float32")
        o_clean, _ = sf.read(EVAL / "clean" / f"{other['name']}.wav", dtype="float32")
        o_noisy, _ = sf.read(EVAL / "noisy" / f"{other['name']}.wav", dtype="float32")
        noise = np.resize(o_noisy - o_clean, clean.size)  # tiled or cut to length
        noise *= np.sqrt(np.mean((noisy - clean) ** 2) / (np.mean(noise**2) + 1e-12))
        right_ref = RIGHT_GAIN * np.concatenate([np.zeros(DELAY_SAMPLES, np.float32), clean[:-DELAY_SAMPLES]])
        stereo = np.stack([noisy, right_ref + noise], axis=1)
        peak = np.abs(stereo).max()
        scale = 0.99 / peak if peak > 0.99 else 1.0
        sf.write(OUT / "noisy" / f"{item['name']}.wav", stereo * scale, rate, subtype="FLOAT")
        refs.append((item["name"], np.stack([clean, right_ref]) * scale))
    return refs


def score(folder: Path, refs, rate: int = 16_000) -> dict:
    rows = []
    for name, ref in refs:
        est, _ = sf.read(folder / f"{name}.wav", dtype="float32", always_2d=True)
        for c in range(2):
            rows.append((si_sdr(ref[c], est[:, c]), stoi(ref[c], est[:, c], rate), pesq_wb(ref[c], est[:, c], rate)))
    return dict(zip(("si_sdr", "stoi", "pesq"), np.round(np.mean(rows, axis=0), 3).tolist()))


def main() -> None:
    refs = build()
    results = {"noisy": score(OUT / "noisy", refs)}
    for name, flag in (("linked", "--link-channels"), ("independent", "--independent-channels")):
        subprocess.run([sys.executable, "-m", "denoise_cli", "clean", str(OUT / "noisy"), str(OUT / name),
                        flag, "--overwrite", "--quiet", "--no-report"], check=True)
        results[name] = score(OUT / name, refs)
    for name, r in results.items():
        print(f"{name:12s} SI-SDR {r['si_sdr']:6.2f} dB  STOI {r['stoi']:.3f}  PESQ {r['pesq']:.2f}")
    (OUT / "results.json").write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
