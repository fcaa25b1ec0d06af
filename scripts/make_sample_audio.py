"""Build the committed sample_audio/ folder (noisy inputs) + sample_audio/.reference/ (clean, aligned).

Only HELD-OUT speakers and HELD-OUT noises from data/ (run scripts/fetch_data.sh first).
Deterministic (seeded). Run: .venv/bin/python scripts/make_sample_audio.py
"""
import glob
import os
import shutil
import sys

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data_tools import load_any as load  # noqa: E402
from make_eval_set import active_mask, mix_at_snr, noise_segment  # noqa: E402

OUT = "sample_audio"
SEED = 1234


def utterances(speaker, sr, rng, seconds, gap, fullband=False, min_utt=0.5, max_utt=4.5):
    """Concatenate random utterances of a held-out speaker to fill `seconds`; gap=(lo, hi) silence s."""
    root = "data/speech_fullband" if fullband else "data/speech"
    files = sorted(glob.glob(f"{root}/heldout/{speaker}/*.wav"))
    assert files, f"no held-out files for {speaker} in {root}"
    total, lead = int(seconds * sr), int(0.3 * sr)
    parts, n, used = [np.zeros(lead, np.float32)], lead, []
    for _ in range(300):  # keep drawing until nothing more fits
        f = files[rng.integers(len(files))]
        d = sf.info(f).duration
        if not min_utt <= d <= max_utt or os.path.basename(f) in used or n + d * sr + lead > total:
            continue
        y = load(f, sr)
        parts += [y, np.zeros(int(rng.uniform(*gap) * sr), np.float32)]
        used.append(os.path.basename(f))
        n += len(parts[-2]) + len(parts[-1])
    x = np.concatenate(parts)[:total]
    return np.concatenate([x, np.zeros(total - len(x), np.float32)]), used


# name, speaker, noise file (data/noise*/heldout/), snr dB, rate, channels, subtype, seconds, pause mode
SPECS = [
    ("01_june_engine_16k_mono.wav", "asterisk_june", "trigger-rally-data__trigger-rally-data_sounds_engine.wav",
     5, 16000, 1, "PCM_16", 6, "continuous"),
    ("02_ru_babble_pauses_16k_mono.flac", "tuxpaint_ru", "babble_heldout_00.wav",
     0, 16000, 1, "PCM_16", 10, "pauses"),
    ("03_bg_rain_48k_stereo.flac", "tuxpaint_bg", "megaglest-data__birch_forest_sounds_rain.wav",
     10, 48000, 2, "PCM_24", 4, "normal"),
    ("04_ru_wind_48k_mono.wav", "tuxpaint_ru", "trigger-rally-data__trigger-rally-data_sounds_wind.wav",
     3, 48000, 1, "PCM_16", 4, "continuous"),
    ("05_june_crowd_16k_stereo.flac", "asterisk_june", "lmms-common__samples_misc_raving_crowd01.wav",
     7, 16000, 2, "PCM_16", 6, "normal"),
]
GAPS = {"continuous": (0.05, 0.2), "normal": (0.3, 1.0), "pauses": (2.0, 3.5)}
UTT_LEN = {"continuous": (0.5, 4.5), "normal": (0.5, 4.5), "pauses": (1.5, 2.5)}  # seconds


def main():
    rng = np.random.default_rng(SEED)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(f"{OUT}/.reference")
    rows = []
    for name, spk, noise, snr, sr, ch, sub, secs, mode in SPECS:
        fullband = sr > 16000 and bool(glob.glob(f"data/speech_fullband/heldout/{spk}/*.wav"))
        clean, used = utterances(spk, sr, rng, secs, GAPS[mode], fullband, *UTT_LEN[mode])
        nroot = "data/noise_fullband/heldout" if sr > 16000 else "data/noise/heldout"
        nz = load(f"{nroot}/{noise}", sr)
        mask = active_mask(clean, sr)
        if ch == 1:
            c, y = mix_at_snr(clean, noise_segment(nz, len(clean), rng), snr, mask)
        else:  # stereo: same speech (right channel 2 dB quieter), independent noise segment per channel
            c2 = np.stack([clean, clean * 10 ** (-2 / 20)], 1)
            n2 = np.stack([noise_segment(nz, len(clean), rng) for _ in range(2)], 1)
            c, y = mix_at_snr(c2, n2, snr, mask)
        sf.write(f"{OUT}/{name}", y, sr, subtype=sub)
        sf.write(f"{OUT}/.reference/{name}", c, sr, subtype=sub)
        rows.append((name, spk, noise, snr, sr, ch, sub, secs, float(mask.mean()), fullband, len(used)))
    write_readme(rows)
    size = sum(os.path.getsize(f) for f in glob.glob(f"{OUT}/**/*", recursive=True) if os.path.isfile(f))
    size += sum(os.path.getsize(f) for f in glob.glob(f"{OUT}/.reference/*"))
    print(f"wrote {len(rows)} files, {size / 1e6:.2f} MB (incl. references)")


SPEAKER_TXT = {
    "asterisk_june": "June Wallack (fr-CA IVR prompts), Debian `asterisk-core-sounds-fr-g722` (G.722, natively 16 kHz), "
                     "CC-BY-SA-3.0 (Digium/Sangoma core sounds)",
    "tuxpaint_ru": "Edwin Veber (Russian stamp descriptions), Debian `tuxpaint-stamps-default`, 44.1 kHz, GPL-2",
    "tuxpaint_bg": "Krasimir Petkov (Bulgarian stamp descriptions), Debian `tuxpaint-stamps-default`, 44.1 kHz, GPL-2",
}
NOISE_TXT = {
    "trigger-rally-data__trigger-rally-data_sounds_engine.wav": "car engine hum (stationary), Debian `trigger-rally-data`",
    "trigger-rally-data__trigger-rally-data_sounds_wind.wav": "wind (stationary-ish), Debian `trigger-rally-data`",
    "babble_heldout_00.wav": "babble: 5 overlapping talkers mixed from held-out speakers only (non-stationary)",
    "megaglest-data__birch_forest_sounds_rain.wav": "rain ambience (birch_forest tileset), Debian `megaglest-data`, CC-BY-SA-3.0",
    "lmms-common__samples_misc_raving_crowd01.wav": "cheering crowd (non-stationary), Debian `lmms-common`, GPL-2+",
}


def write_readme(rows):
    L = ["# sample_audio", "",
         "Short noisy speech files for trying the denoiser. Generated by `scripts/make_sample_audio.py`",
         "(seeded, deterministic) from the HELD-OUT speech and noise of `scripts/fetch_data.sh`, i.e. speakers",
         "and noise recordings never used for training. Clean references, aligned sample-for-sample and with the",
         "same rate/channels/format, are in `.reference/` under the same names (hidden folder: not processed).",
         "SNR is measured over active-speech samples of the clean signal (stereo: speech power of the channel",
         "mean vs. noise power per channel, averaged).", "",
         "| file | speech | noise | SNR | rate | ch | format | length | speech % |",
         "|---|---|---|---|---|---|---|---|---|"]
    for name, spk, noise, snr, sr, ch, sub, secs, frac, fullband, n in rows:
        fmt = f"{name.rsplit('.', 1)[1].upper()} {sub}"
        src = spk + ("" if sr == 16000 else (" (44.1 kHz source -> 48 kHz)" if fullband else " (16 kHz upsampled)"))
        L.append(f"| `{name}` | {src}, {n} utt. | {NOISE_TXT.get(noise, noise)} | {snr} dB | {sr} | {ch} | {fmt} | "
                 f"{secs} s | {frac * 100:.0f} |")
    L += ["", "Notes:", "",
          "- `02_*` has long pauses (several seconds of noise only between phrases); `01_*` and `04_*` are near-continuous speech.",
          "- Stereo files: same speech in both channels, right channel 2 dB quieter, independent noise segments per channel.",
          "- 48 kHz files: speech from the 44.1 kHz Tux Paint recordings (genuinely wideband, energy up to ~13 kHz) and",
          "  noise from 44.1 kHz game recordings, both resampled to 48 kHz with `scipy.signal.resample_poly`",
          "  (no native 48 kHz speech source was available).",
          "", "Sources and licenses:", ""]
    for s in sorted({r[1] for r in rows}):
        L.append(f"- {s}: {SPEAKER_TXT[s]}")
    L += ["- `trigger-rally-data` sounds: see its copyright file (GPL-2+/CC-BY-SA-3.0/CC-BY-3.0/CC0 per file).",
          "- `megaglest-data` tileset sounds: CC-BY-SA-3.0.",
          "- `lmms-common` samples: GPL-2+.",
          "- See `scripts/DATA.md` for the full data recipe.", ""]
    with open(f"{OUT}/README.md", "w") as fh:
        fh.write("\n".join(L))


if __name__ == "__main__":
    main()
