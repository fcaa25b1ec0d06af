"""Per-voice check: the same noises on different voices, our chain against DeepFilterNet 3
and against an oracle mask.

    .venv/bin/python scripts/voice_check.py [--weights FILE] [--work out/voice-check]

An experiment, not a benchmark. For each voice it builds files of about 8 s at 16 kHz:
the held-out voices (asterisk_june, tuxpaint_bg, tuxpaint_ru) from the clean side of the
held-out set (data/eval, its first 10 files per speaker, pauses as recorded), the training
voices named by --train-voices from data/speech/train (random utterances joined with 0.5 s
pauses, each scaled to one level). Each file gets synthetic pink and white noise
(denoise_cli.noises) at 5 and 15 dB SNR over the whole file's power, so every voice
meets the same noise. Then:

- ``ours``: ``denoise clean`` with its defaults (``--weights`` if given);
- ``dfn``: DeepFilterNet 3 through scripts/peers/deepfilternet_peer.py (skipped when
  build/peers-venv is missing: ``make peers``);
- ``oracle``: the noisy file's STFT on our grid (20 ms sqrt-Hann, 10 ms hop) times
  min(1, |clean| / |noisy|), the best a real-valued mask on that grid can do, as
  a ceiling.

Prints PESQ-WB / STOI / SI-SDR per voice and SNR, and writes WORK/results.json.
"""

import argparse
import glob
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from denoise_cli import noises
from denoise_cli.evaluate import evaluate_folders
from denoise_cli.spectral import StftGeometry, overlap_add, stft_frames

RATE_HZ = 16_000
HELD_OUT = ("asterisk_june", "tuxpaint_bg", "tuxpaint_ru")
TRAIN_VOICES = "asterisk_allison,asterisk_menardi_it,tuxpaint_be,flite_slt,festival_lj"
FILES_PER_VOICE = 10  # held-out voices
JOINED_FILES = 6  # training voices: files of joined utterances
JOINED_S = 7.0  # at least this much speech per joined file
PAUSE_S = 0.5
SNRS_DB = (5, 15)
NOISES = ("pink", "white")


def held_out_clean(speaker: str, eval_dir: Path) -> list[np.ndarray]:
    index = json.loads((eval_dir / "index.json").read_text())
    names = [r["name"] for r in index if r["speaker"] == speaker][:FILES_PER_VOICE]
    return [sf.read(eval_dir / "clean" / f"{n}.wav", dtype="float32")[0] for n in names]


def joined_clean(voice: str, speech_dir: Path, rng: np.random.Generator) -> list[np.ndarray]:
    files = sorted(glob.glob(str(speech_dir / voice / "*")))
    order = list(rng.permutation(len(files)))
    pause = np.zeros(int(PAUSE_S * RATE_HZ), np.float32)
    out = []
    for _ in range(JOINED_FILES):
        parts, speech_n = [pause], 0
        while speech_n < JOINED_S * RATE_HZ and order:
            x, sr = sf.read(files[order.pop()], dtype="float32", always_2d=True)
            x = x.mean(axis=1)
            if sr != RATE_HZ:
                x = resample_poly(x, RATE_HZ, sr).astype(np.float32)
            parts += [0.05 * x / (np.sqrt(np.mean(x * x)) + 1e-9), pause]
            speech_n += x.size
        out.append(np.concatenate(parts))
    return out


def build(work: Path, voices: dict[str, list[np.ndarray]], rng: np.random.Generator) -> list[dict]:
    for sub in ("noisy", "clean"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    index = []
    for voice, files in voices.items():
        for k, clean in enumerate(files):
            for kind in NOISES:
                for snr in SNRS_DB:
                    noise = getattr(noises, kind)(rng, clean.size, RATE_HZ)
                    noisy = clean + noise * np.sqrt(np.mean(clean * clean) / 10 ** (snr / 10))
                    name = f"{voice}_{k}_{kind}_{snr}"
                    sf.write(work / "noisy" / f"{name}.wav", noisy, RATE_HZ, subtype="FLOAT")
                    sf.write(work / "clean" / f"{name}.wav", clean, RATE_HZ, subtype="FLOAT")
                    index.append({"name": name, "speaker": voice, "noise": kind, "snr_db": snr})
    (work / "index.json").write_text(json.dumps(index))
    return index


def oracle(work: Path) -> Path:
    """Each noisy file times min(1, |clean| / |noisy|) on our STFT grid."""
    geo, dst = StftGeometry(RATE_HZ), work / "oracle"
    dst.mkdir(exist_ok=True)
    for path in sorted((work / "noisy").glob("*.wav")):
        noisy = sf.read(path, dtype="float32")[0][None]
        clean = sf.read(work / "clean" / path.name, dtype="float32")[0][None]
        spec = stft_frames(noisy, geo)
        gain = np.minimum(1.0, np.abs(stft_frames(clean, geo)) / (np.abs(spec) + 1e-9))
        out = overlap_add(spec * gain, geo)[0]  # frames from sample 0: the output is aligned
        out = np.pad(out, (0, max(0, noisy.shape[1] - out.size)))[: noisy.shape[1]]
        sf.write(dst / path.name, out, RATE_HZ, subtype="FLOAT")
    return dst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", type=Path, help="mask-model checkpoint (default: packaged)")
    ap.add_argument("--work", type=Path, default=Path("out/voice-check"))
    ap.add_argument("--eval-dir", type=Path, default=Path("data/eval"))
    ap.add_argument("--speech-dir", type=Path, default=Path("data/speech/train"))
    ap.add_argument("--train-voices", default=TRAIN_VOICES, help="comma-separated (default: %(default)s)")
    ap.add_argument("--peers-python", default="build/peers-venv/bin/python")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only-score", action="store_true", help="score the outputs already in WORK")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    voices = {v: held_out_clean(v, a.eval_dir) for v in HELD_OUT}
    voices |= {v: joined_clean(v, a.speech_dir, rng) for v in a.train_voices.split(",") if v}
    index = build(a.work, voices, rng)
    systems = {}
    if a.only_score:
        systems = {s: a.work / s for s in ("ours", "dfn") if (a.work / s).is_dir()}
    else:
        run_systems(a, systems)
    systems["oracle"] = oracle(a.work)
    scores = evaluate_folders(a.work / "clean", systems, index_path=a.work / "index.json", with_pesq=True)
    report(index, voices, systems, scores, a.work)


def run_systems(a, systems: dict) -> None:
    cmd = [str(Path(sys.executable).parent / "denoise"), "clean", str(a.work / "noisy"), str(a.work / "ours"),
           "-q", "--overwrite", "--no-report"] + (["--weights", str(a.weights)] if a.weights else [])
    subprocess.run(cmd, check=True)
    systems["ours"] = a.work / "ours"
    if Path(a.peers_python).exists():
        subprocess.run([a.peers_python, "scripts/peers/deepfilternet_peer.py", str(a.work / "noisy"),
                        str(a.work / "dfn")], check=True, stderr=subprocess.DEVNULL)
        systems["dfn"] = a.work / "dfn"
    else:
        print(f"dfn skipped: {a.peers_python} missing (make peers)", file=sys.stderr)


def report(index, voices, systems, scores, work: Path) -> None:
    by_name = {r["name"]: r for r in index}
    cells = defaultdict(lambda: defaultdict(list))
    for row in scores["files"]:
        item = by_name[row["file"]]
        cells[(item["speaker"], item["snr_db"])][row["system"]].append([row["pesq"], row["stoi"], row["si_sdr"]])
    table = {}
    print("| voice | SNR (dB) | " + " | ".join(systems) + " |")
    print("|---|---|" + "---|" * len(systems))
    for (voice, snr), per in sorted(cells.items(), key=lambda kv: (list(voices).index(kv[0][0]), kv[0][1])):
        means = {s: np.mean(per[s], axis=0).round(4).tolist() for s in systems}
        table[f"{voice} {snr}"] = means
        print(f"| {voice} | {snr} | " + " | ".join("%.2f / %.3f / %.1f" % tuple(means[s]) for s in systems) + " |")
    (work / "results.json").write_text(json.dumps({"cells": table, "files": scores["files"]}, indent=1))


if __name__ == "__main__":
    main()
