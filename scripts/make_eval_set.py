"""Build the held-out evaluation set data/eval/{clean,noisy}/<name>.wav + data/eval/index.json.

Held-out speakers x held-out noises x SNR in (-5, 0, 5, 10, 15) dB, 16 kHz mono PCM16, seeded.
Each item: 2-4 utterances of one speaker joined by 0.5-2 s of silence (6-15 s total) so a VAD
sees non-speech. SNR is measured on the active-speech samples of the clean signal; mix = clean +
scaled noise; if the mix peak exceeds 0.99 both clean and noise are scaled down together.
Run: .venv/bin/python scripts/make_eval_set.py [--items 90] [--seed 0]
"""
import argparse
import glob
import json
import os
import shutil

import numpy as np
import soundfile as sf

SR = 16000
SNRS = (-5, 0, 5, 10, 15)


def load(path, sr=SR):
    x, r = sf.read(path, dtype="float32", always_2d=True)
    assert r == sr, (path, r, sr)
    return x.mean(1)


def active_mask(clean, sr=SR, frame=0.02, floor_db=-40.0):
    """Per-sample speech activity: 20 ms frames within floor_db of the loudest frame."""
    n = int(frame * sr)
    m = len(clean) // n * n
    e = (clean[:m].reshape(-1, n) ** 2).mean(1)
    act = e > e.max() * 10 ** (floor_db / 10)
    mask = np.zeros(len(clean), bool)
    mask[:m] = np.repeat(act, n)
    return mask


def noise_segment(noise, n, rng, min_power=1e-6):
    """n samples of noise from a random offset (looping short recordings); avoids near-silent segments."""
    if len(noise) < n:
        noise = np.tile(noise, n // len(noise) + 1)
    for _ in range(20):
        o = rng.integers(0, len(noise) - n + 1)
        seg = noise[o:o + n].copy()
        if np.mean(seg ** 2) > min_power:
            break
    return seg


def mix_at_snr(clean, noise, snr_db, mask=None):
    """Return (clean, noisy) with noise scaled to snr_db over active speech; shapes (T,) or (T, C).
    Speech power: channel-mean clean over active samples; noise power: mean over all channels
    (i.e. per-channel SNR for stereo). Peak-limited to 0.99 by scaling both signals together."""
    mono = clean.mean(1) if clean.ndim == 2 else clean
    mask = active_mask(mono) if mask is None else mask
    ps = np.mean(mono[mask] ** 2)
    pn = np.mean(noise ** 2) + 1e-12
    noise = noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))
    noisy = clean + noise
    peak = np.abs(noisy).max()
    if peak > 0.99:
        clean, noisy = clean * (0.99 / peak), noisy * (0.99 / peak)
    return clean.astype(np.float32), noisy.astype(np.float32)


def speakers(split="heldout", root="data/speech"):
    out = {}
    for d in sorted(glob.glob(f"{root}/{split}/*/")):
        fs = sorted(glob.glob(d + "*.wav"))
        if fs:
            out[os.path.basename(d.rstrip("/"))] = fs
    return out


def utterance_sequence(files, rng, sr=SR, n_utts=(2, 4), gap=(0.5, 2.0), lo=6.0, hi=15.0, max_utt=5.0):
    """Concatenate utterances of one speaker with silent gaps; returns (signal, n_utterances)."""
    want = rng.integers(n_utts[0], n_utts[1] + 1)
    parts = [np.zeros(int(rng.uniform(0.3, 1.0) * sr), np.float32)]
    n = 0
    for _ in range(200):
        y = load(files[rng.integers(len(files))], sr)
        if len(y) > max_utt * sr:
            continue
        cur = sum(map(len, parts))
        if cur + len(y) > hi * sr - sr:
            if n >= n_utts[0]:
                break
            continue
        parts += [y, np.zeros(int(rng.uniform(*gap) * sr), np.float32)]
        n += 1
        if n >= want and sum(map(len, parts)) >= lo * sr:
            break
    x = np.concatenate(parts)
    if len(x) < lo * sr:
        x = np.concatenate([x, np.zeros(int(lo * sr) - len(x), np.float32)])
    return x, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=90)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="data/eval")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    spk = speakers()
    noises = sorted(glob.glob("data/noise/heldout/*.wav"))
    assert spk and noises, "run scripts/fetch_data.sh first"
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(f"{a.out}/clean")
    os.makedirs(f"{a.out}/noisy")
    names = sorted(spk)
    order = rng.permutation(len(noises))
    index = []
    for i in range(a.items):
        s = names[i % len(names)]
        snr = SNRS[(i // len(names)) % len(SNRS)]
        nf = noises[order[i % len(noises)]]
        clean, n_utts = utterance_sequence(spk[s], rng)
        noise = load(nf)
        clean, noisy = mix_at_snr(clean, noise_segment(noise, len(clean), rng), snr)
        name = f"e{i:03d}_{s}_snr{snr:+d}".replace("+", "p").replace("-", "m")
        sf.write(f"{a.out}/clean/{name}.wav", clean, SR, subtype="PCM_16")
        sf.write(f"{a.out}/noisy/{name}.wav", noisy, SR, subtype="PCM_16")
        index.append({"name": name, "speaker": s, "noise": os.path.basename(nf), "snr_db": snr,
                      "seconds": round(len(clean) / SR, 2), "utterances": n_utts,
                      "speech_fraction": round(float(active_mask(clean).mean()), 3)})
    with open(f"{a.out}/index.json", "w") as fh:
        json.dump(index, fh, indent=1)
    print(f"{len(index)} items, {sum(x['seconds'] for x in index) / 60:.1f} min -> {a.out}")


if __name__ == "__main__":
    main()
