"""Build the benchmark set: data/bench/{16k,48k}/{clean,noisy}/<name>.wav + data/bench/index.json.

Held-out speakers only (asterisk_june, tuxpaint_ru, tuxpaint_bg) x 8 noise types x SNR in
(-5, 0, 5, 10, 15) dB: one item of 7-9.5 s per (noise, SNR), 40 items per rate. Each item joins
utterances (up to 4 s each) of one speaker with 0.3-1.5 s pauses, and starts and ends with a pause.
The same items (utterances, pauses, noise recording and offset, SNR) are rendered at both rates:
16 kHz from data/speech/heldout and data/noise/heldout; 48 kHz from data/speech_fullband/heldout
(44.1 kHz) and data/noise_fullband/heldout, resampled with scipy.signal.resample_poly. Sources
missing at full band (asterisk_june speech, the babble tracks) are upsampled from 16 kHz, so
they have no energy above 8 kHz. Synthetic noises are drawn at each rate with the same seed.
Mixing: denoise_cli.noises.mix_at_snr (SNR over active speech, full band at the file's rate);
if the mix peaks above 0.99, clean and noisy are scaled down together. Mono PCM16 WAV.

index.json: one entry per item and rate: name, speaker, noise (type), noise_kind
(stationary | non-stationary), noise_source, snr_db, rate, seconds, speech_dbfs (active-speech
level of the clean file; levels are kept as recorded, not normalised).
Run: .venv/bin/python scripts/make_benchmark_set.py [--out data/bench] [--seed 0]
"""
import argparse
import json
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from denoise_cli import noises

RATES_HZ = (16_000, 48_000)
SNRS_DB = (-5, 0, 5, 10, 15)
SPEAKERS = ("asterisk_june", "tuxpaint_ru", "tuxpaint_bg")
PAUSE_S = (0.3, 1.5)
TARGET_S = (7.0, 9.5)  # stop adding utterances past the first, never exceed the second
MAX_UTTERANCE_S = 4.0
PEAK = 0.99

# noise type -> (kind, sources): "synth:<generator>" from denoise_cli.noises, else a held-out
# recording (file stem); the five SNR items of a type take its sources in turn. "ambience"
# (crowd, rain, cheering, campfire, wind) stands in for household/street recordings.
NOISES = {
    "white": ("stationary", ["synth:white"]),
    "pink": ("stationary", ["synth:pink"]),
    "hum": ("stationary", ["synth:hum"]),
    "engine": ("stationary", ["trigger-rally-data__trigger-rally-data_sounds_engine"]),
    "babble": ("non-stationary", [f"babble_heldout_{i:02d}" for i in range(5)]),
    "music": ("non-stationary", ["xmoto-data__Textures_Musics_foxrun", "frozen-bubble-data__frozen-bubble_snd_frozen-mainzik-1p",
                                 "xmoto-data__Textures_Musics_menu", "frozen-bubble-data__frozen-bubble_snd_frozen-mainzik-2p",
                                 "xmoto-data__Textures_Musics_ridealong"]),
    "clicks": ("non-stationary", ["synth:clicks"]),
    "ambience": ("non-stationary", ["lmms-common__samples_misc_raving_crowd01", "megaglest-data__autumn_sounds_rain",
                                  "tuxtype-data__tuxtype_sounds_cheer", "wesnoth-1.16-data__sounds_ambient_campfire",
                                  "megaglest-data__winter_sounds_wind"]),
}


def load(path: Path, rate_hz: int) -> np.ndarray:
    """Mono float64 of shape (n,) at rate_hz, resampled with resample_poly when needed."""
    x, native = sf.read(str(path), dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    if native != rate_hz:
        ratio = Fraction(rate_hz, native)
        x = resample_poly(x, ratio.numerator, ratio.denominator)
    return x


def speech_path(data: Path, speaker: str, stem: str, rate_hz: int) -> Path:
    full = data / "speech_fullband/heldout" / speaker / f"{stem}.wav"
    return full if rate_hz > 16_000 and full.exists() else data / "speech/heldout" / speaker / f"{stem}.wav"


def noise_path(data: Path, stem: str, rate_hz: int) -> Path:
    full = data / "noise_fullband/heldout" / f"{stem}.wav"
    return full if rate_hz > 16_000 and full.exists() else data / "noise/heldout" / f"{stem}.wav"


def plan_item(rng, stems: list[str], durations_s: dict[str, float]) -> list:
    """[pause_s, stem, pause_s, stem, ..., pause_s]: utterances of one speaker with pauses."""
    plan = [rng.uniform(*PAUSE_S)]
    total = plan[0]
    for stem in map(str, rng.permutation(stems)):
        d = durations_s[stem]
        if d > MAX_UTTERANCE_S or total + d + PAUSE_S[1] > TARGET_S[1]:
            continue
        pause = rng.uniform(*PAUSE_S)
        plan += [stem, pause]
        total += d + pause
        if total >= TARGET_S[0]:
            break
    return plan


def render_speech(plan: list, data: Path, speaker: str, rate_hz: int) -> np.ndarray:
    parts = [load(speech_path(data, speaker, p, rate_hz), rate_hz) if isinstance(p, str)
             else np.zeros(round(p * rate_hz)) for p in plan]
    return np.concatenate(parts)


def render_noise(source: str, n: int, rate_hz: int, offset: float, seed: list[int], data: Path) -> np.ndarray:
    """n samples of the source; a recording is looped if short and read from offset (fraction)."""
    if source.startswith("synth:"):
        return noises.GENERATORS[source[6:]](np.random.default_rng(seed), n, rate_hz).astype(np.float64)
    x = load(noise_path(data, source, rate_hz), rate_hz)
    x = np.tile(x, n // x.size + 2)
    start = int(offset * (x.size - n))
    return x[start:start + n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("data"))
    ap.add_argument("--out", type=Path, default=Path("data/bench"))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if not all((a.data / "speech/heldout" / s).is_dir() for s in SPEAKERS):
        raise SystemExit(f"held-out speech missing under {a.data}: run `make data` first")
    stems, durations_s = {}, {}
    for s in SPEAKERS:
        files = sorted((a.data / "speech/heldout" / s).glob("*.wav"))
        stems[s] = [f.stem for f in files]
        durations_s |= {(s, f.stem): sf.info(str(f)).duration for f in files}
    shutil.rmtree(a.out, ignore_errors=True)
    index, n_items = [], 0
    for t, (noise, (kind, sources)) in enumerate(NOISES.items()):
        for k, snr_db in enumerate(SNRS_DB):
            i = t * len(SNRS_DB) + k
            rng = np.random.default_rng([a.seed, i])
            speaker, source = SPEAKERS[i % len(SPEAKERS)], sources[k % len(sources)]
            plan = plan_item(rng, stems[speaker], {st: durations_s[speaker, st] for st in stems[speaker]})
            offset = rng.uniform()
            name = f"b{i:02d}_{noise}_snr{snr_db:+d}".replace("+", "p").replace("-", "m")
            for rate_hz in RATES_HZ:
                clean = render_speech(plan, a.data, speaker, rate_hz)
                noise_x = render_noise(source, clean.size, rate_hz, offset, [a.seed, i, 1], a.data)
                noisy = noises.mix_at_snr(clean, noise_x, snr_db, rate_hz).astype(np.float64)
                scale = min(1.0, PEAK / np.abs(noisy).max())
                folder = a.out / f"{rate_hz // 1000}k"
                for sub, x in (("clean", clean), ("noisy", noisy)):
                    (folder / sub).mkdir(parents=True, exist_ok=True)
                    sf.write(str(folder / sub / f"{name}.wav"), x * scale, rate_hz, subtype="PCM_16")
                index.append({"name": name, "speaker": speaker, "noise": noise, "noise_kind": kind,
                              "noise_source": source, "snr_db": snr_db, "rate": rate_hz,
                              "seconds": round(clean.size / rate_hz, 3),
                              "speech_dbfs": round(10 * np.log10(noises.active_power(clean * scale, rate_hz)), 1)})
            n_items += 1
    (a.out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    seconds = sum(x["seconds"] for x in index if x["rate"] == RATES_HZ[0])
    print(f"{n_items} items per rate, {seconds:.0f} s of audio per rate -> {a.out}")


if __name__ == "__main__":
    main()
