"""Synthesise training speech: flite's four 16 kHz English voices, or five festival voices.

Usage: python scripts/make_tts_speech.py RAW_DIR OUT_DIR [--engine flite|festival]
           [--minutes-per-voice M] [--seed S]

RAW_DIR holds the extracted Debian packages, one folder each (``fetch_data.sh``'s data/raw):
for flite ``flite`` and ``libflite1`` (``RAW_DIR/flite/usr/bin/flite``,
``RAW_DIR/libflite1/usr/lib/x86_64-linux-gnu``); for festival the packages of
FESTIVAL_PACKAGES and FESTIVAL_LIBS, whose ``usr/share/festival`` trees are merged by
symbolic links into ``RAW_DIR/festival-tree`` (festival's --libdir and --datadir), so
nothing is installed.

The text is the prose of the licence files in ``/usr/share/common-licenses`` (Debian's
base-files), split into sentences. Each engine shuffles them by the seed and deals them
round-robin to its voices, so no two voices of one engine read the same sentence (a flite
voice and a festival voice may). Every sentence gets its own draws, from the seed:

- flite: pitch shift x0.85-1.2 (``f0_shift``, which the rms voice ignores) and speaking
  rate (``duration_stretch``) 0.85-1.2; written as ``OUT_DIR/flite_<voice>/<nnnn>.wav``.
- festival (FESTIVAL_VOICES: other speakers than flite's, in five languages, all reading
  the English text by their own letter-to-sound rules): speaking rate
  (``Duration_Stretch``) 0.85-1.2, and pitch, formants and tempo moved together by
  resampling (x0.9-1.1, SPEED_RANGE), since festival's voices share no pitch control;
  at half festival's level, and a sentence festival itself clipped is left out; written
  as ``OUT_DIR/festival_<name>/<nnnn>.wav``.

Files are 16 kHz mono PCM16, until a voice has ``minutes_per_voice`` of speech.
Rerunnable: a voice folder with a ``.done`` file is kept. For training only.
"""

import argparse
import os
import re
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

VOICES = ("kal16", "awb", "rms", "slt")
# name -> festival voice: a US English male (diphones), a Catalan female (HTS), a Russian male
# (unit selection), a Finnish female (diphones) and a Czech female (diphones)
FESTIVAL_VOICES = {"ked": "ked_diphone", "ona": "upc_ca_ona_hts", "nsh": "msu_ru_nsh_clunits",
                   "lj": "suo_fi_lj_diphone", "dita": "czech_dita"}
FESTIVAL_PACKAGES = ("festival", "festlex-cmu", "festlex-poslex", "festival-ca", "festival-czech",
                     "festvox-kdlpc16k", "festvox-ca-ona-hts", "festvox-ru", "festvox-suopuhe-common",
                     "festvox-suopuhe-lj", "festvox-czech-dita")
FESTIVAL_LIBS = "libestools2.5"  # festival's shared libraries
INSTALLED = "/usr/share/festival/"  # where the packages' absolute links point
SPEED_RANGE = (0.9, 1.1)
FULL_SCALE = 32767 / 32768  # a 16-bit sample at the limit, as soundfile reads it
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


def festival_tree(raw: Path) -> Path:
    """``raw/festival-tree``: every FESTIVAL_PACKAGES file under usr/share/festival, linked into one tree."""
    tree = raw / "festival-tree"
    for package in FESTIVAL_PACKAGES:
        top = raw / package / "usr/share/festival"
        for path in sorted(top.rglob("*")):
            link = tree / path.relative_to(top)
            if link.is_symlink() or (path.is_dir() and not path.is_symlink()):
                continue
            link.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():  # a package's own link (a voice's festvox folder): kept, into the tree
                target = os.readlink(path)
                if target.startswith(INSTALLED):
                    target = str(tree.resolve() / target[len(INSTALLED):])
                link.symlink_to(target)
            else:
                link.symlink_to(path.resolve())
    return tree


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def festival_batch(raw: Path, voice: str, items: list[tuple[Path, float, str]]) -> None:
    """Speak each (wav path, Duration_Stretch, text) of ``items`` in ``voice``, in one festival process."""
    tree = festival_tree(raw)
    lines = []
    for group in (tree / "voices").glob(f"*/{voice}/group/*.group"):  # the Czech voices' index, else /usr/share
        lines.append(f"(defvar {voice.replace('_', '-')}-unisyn-index {_scheme_string(str(group))})")
    lines.append(f"(voice_{voice})")
    for wav, stretch, text in items:
        lines.append(f"(Parameter.set 'Duration_Stretch {stretch:.3f})")
        # an error in one sentence (a word its rules cannot say) skips that sentence only
        lines.append(f"(unwind-protect (begin (set! u (Utterance Text {_scheme_string(text)}))(utt.synth u)"
                     f"(utt.save.wave u {_scheme_string(str(wav))} 'riff)) nil)")
    env = dict(os.environ, LD_LIBRARY_PATH=str(raw / FESTIVAL_LIBS / "usr/lib/x86_64-linux-gnu"))
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "speak.scm"
        script.write_text("\n".join(lines) + "\n", encoding="utf-8")
        subprocess.run([str(raw / "festival/usr/bin/festival"), "--libdir", f"{tree}/", "--datadir", f"{tree}/",
                        "-b", str(script)], env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def speed_to_16k(x: np.ndarray, rate_hz: int, speed: float) -> np.ndarray:
    """``x`` played ``speed`` times faster (pitch, formants and tempo together), at 16 kHz."""
    ratio = Fraction(SAMPLE_RATE_HZ, round(rate_hz * speed)).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def dealt(rng: np.random.Generator, voices: int) -> list[list[str]]:
    """The sentences shuffled by ``rng`` and dealt round-robin: one list per voice."""
    pool = sentences()
    order = rng.permutation(len(pool))
    return [[pool[i] for i in order[v::voices]] for v in range(voices)]


def write_voice(folder: Path, clips: Iterator[tuple[int, np.ndarray]], minutes: float) -> None:
    """``folder/NNNN.wav`` (16 kHz PCM16) for each (sentence number, samples) of ``clips``,
    until ``minutes`` of speech are written; then ``folder/.done``. Skipped when that exists."""
    if (folder / ".done").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    total_s, count = 0.0, 0
    for k, x in clips:  # a generator: nothing past the last file needed is synthesised or read
        if total_s >= 60 * minutes:
            break
        sf.write(folder / f"{k:04d}.wav", x, SAMPLE_RATE_HZ, subtype="PCM_16")
        total_s, count = total_s + x.size / SAMPLE_RATE_HZ, count + 1
    (folder / ".done").touch()
    print(f"{folder.name}: {count} sentences, {total_s / 60:.1f} min")


def make_flite(raw: Path, out_dir: Path, minutes_per_voice: float, seed: int) -> None:
    """VOICES into ``out_dir/flite_<voice>/``."""
    rng = np.random.default_rng(seed)
    for voice, mine in zip(VOICES, dealt(rng, len(VOICES))):
        # draws for every sentence of every voice, so a voice's files do not depend on the others' runs
        f0 = rng.uniform(*F0_SHIFT_RANGE, len(mine))
        stretch = rng.uniform(*STRETCH_RANGE, len(mine))
        clips = ((k, synthesise(raw, voice, text, f0[k], stretch[k])) for k, text in enumerate(mine))
        write_voice(out_dir / f"flite_{voice}", clips, minutes_per_voice)


def _festival_clips(wavs: list[Path], speed: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """(sentence number, 16 kHz samples) of festival's outputs that are usable targets."""
    for k, wav in enumerate(wavs):
        if not wav.exists():  # festival skipped a sentence it could not say
            continue
        x, rate_hz = sf.read(wav, dtype="float32")
        if np.abs(x).max() >= FULL_SCALE:  # clipped by festival itself: not a clean target
            continue
        # at half level: festival writes near full scale, and resampling may overshoot it
        yield k, speed_to_16k(0.5 * x, rate_hz, speed[k])


def make_festival(raw: Path, out_dir: Path, minutes_per_voice: float, seed: int) -> None:
    """FESTIVAL_VOICES into ``out_dir/festival_<name>/``."""
    rng = np.random.default_rng([seed, 1])  # a stream of its own: flite's draws stay as they were
    for (name, voice), mine in zip(FESTIVAL_VOICES.items(), dealt(rng, len(FESTIVAL_VOICES))):
        stretch = rng.uniform(*STRETCH_RANGE, len(mine))
        speed = rng.uniform(*SPEED_RANGE, len(mine))
        folder = out_dir / f"festival_{name}"
        if (folder / ".done").exists():
            continue  # before festival runs: it speaks every sentence of the voice in one go
        with tempfile.TemporaryDirectory() as tmp:
            wavs = [Path(tmp) / f"{k:04d}.wav" for k in range(len(mine))]
            festival_batch(raw, voice, list(zip(wavs, stretch, mine)))
            write_voice(folder, _festival_clips(wavs, speed), minutes_per_voice)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw_dir", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--engine", choices=("flite", "festival"), default="flite")
    ap.add_argument("--minutes-per-voice", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    make = make_festival if args.engine == "festival" else make_flite
    make(args.raw_dir, args.out_dir, args.minutes_per_voice, args.seed)


if __name__ == "__main__":
    main()
