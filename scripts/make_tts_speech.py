"""Synthesise training speech with flite's four 16 kHz English voices (training only).

Usage: python scripts/make_tts_speech.py FLITE_ROOT OUT_DIR [--minutes-per-voice M] [--seed S]

FLITE_ROOT holds the extracted Debian packages ``flite`` and ``libflite1``
(``FLITE_ROOT/flite/usr/bin/flite``, ``FLITE_ROOT/libflite1/usr/lib/x86_64-linux-gnu``).
The text is the prose of the licence files in ``/usr/share/common-licenses`` (Debian's
base-files): split into sentences, shuffled by the seed, dealt round-robin to the voices,
so no two voices read the same sentence. Each sentence is spoken with its own pitch shift
(x0.85-1.2; flite's ``f0_shift``, which the rms voice ignores) and speaking rate
(``duration_stretch`` 0.85-1.2), drawn from the seed, and written as
``OUT_DIR/flite_<voice>/<nnnn>.wav`` (16 kHz mono PCM16), until a voice has
``minutes_per_voice`` of speech. Rerunnable: a voice folder with a ``.done`` file is kept.
"""

import argparse
import os
import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

VOICES = ("kal16", "awb", "rms", "slt")
TEXTS = ("GPL-3", "GPL-2", "LGPL-2.1", "GFDL-1.3", "Apache-2.0", "MPL-2.0", "Artistic", "CC0-1.0")
LICENSE_DIR = Path("/usr/share/common-licenses")
SAMPLE_RATE_HZ = 16000
MIN_WORDS, MAX_WORDS = 5, 40
F0_SHIFT_RANGE = (0.85, 1.2)
STRETCH_RANGE = (0.85, 1.2)


def sentences() -> list[str]:
    """Sentences of 5-40 words from the licence texts, in file order, whitespace folded."""
    out = []
    for name in TEXTS:
        text = (LICENSE_DIR / name).read_text(encoding="utf-8", errors="replace")
        text = re.sub(r"\s+", " ", text)
        for s in re.split(r"(?<=[.;:!?])\s+", text):
            s = s.strip(" -*\"'")
            words = s.split()
            wordy = sum(c.isalpha() or c == " " for c in s)
            # skip headings, numbered clauses, URLs and shouted disclaimers: they read badly
            if MIN_WORDS <= len(words) <= MAX_WORDS and wordy > 0.9 * len(s) and not s.isupper():
                out.append(s)
    return out


def synthesise(flite_root: Path, voice: str, text: str, f0_shift: float, stretch: float) -> np.ndarray:
    """(n,) float32 samples at 16 kHz of ``text`` in ``voice``."""
    env = dict(os.environ, LD_LIBRARY_PATH=str(flite_root / "libflite1/usr/lib/x86_64-linux-gnu"))
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "u.wav"
        subprocess.run([str(flite_root / "flite/usr/bin/flite"), "-voice", voice,
                        "--setf", f"f0_shift={f0_shift:.3f}", "--setf", f"duration_stretch={stretch:.3f}",
                        "-t", text, "-o", str(wav)], env=env, check=True)
        x, sr = sf.read(wav, dtype="float32")
    if sr != SAMPLE_RATE_HZ:
        raise RuntimeError(f"flite voice {voice} gave {sr} Hz, expected {SAMPLE_RATE_HZ}")
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("flite_root", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--minutes-per-voice", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    pool = sentences()
    order = rng.permutation(len(pool))
    for v, voice in enumerate(VOICES):
        folder = args.out_dir / f"flite_{voice}"
        mine = [pool[i] for i in order[v :: len(VOICES)]]
        # draws for every sentence of every voice, so a voice's files do not depend on the others' runs
        f0 = rng.uniform(*F0_SHIFT_RANGE, len(mine))
        stretch = rng.uniform(*STRETCH_RANGE, len(mine))
        if (folder / ".done").exists():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        total_s, count = 0.0, 0
        for k, text in enumerate(mine):
            if total_s >= 60 * args.minutes_per_voice:
                break
            x = synthesise(args.flite_root, voice, text, f0[k], stretch[k])
            sf.write(folder / f"{k:04d}.wav", x, SAMPLE_RATE_HZ, subtype="PCM_16")
            total_s, count = total_s + x.size / SAMPLE_RATE_HZ, count + 1
        (folder / ".done").touch()
        print(f"flite_{voice}: {count} sentences, {total_s / 60:.1f} min")


if __name__ == "__main__":
    main()
