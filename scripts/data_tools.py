"""Helpers for scripts/fetch_data.sh (run with .venv/bin/python).

  mix       synthesize babble (several speakers of the SAME split summed) and click/hit tracks
  manifest  write data/MANIFEST.json (speakers, counts, seconds, source packages and licenses)
"""
import glob
import json
import os
import re
import sys

import numpy as np
import soundfile as sf

D = "data"
# speaker id -> (package, description)
SPEAKERS = {
    "asterisk_allison": ("asterisk-core-sounds-en-g722 + asterisk-core-sounds-es-g722",
                         "Allison Smith, female, en-US + es-MX IVR prompts, G.722 16 kHz"),
    "asterisk_carlo": ("asterisk-core-sounds-it-g722", "Carlo Flora, male, it-IT IVR prompts, G.722 16 kHz"),
    "asterisk_ivrvoice_ru": ("asterisk-core-sounds-ru-g722", "IvrvoiceRU (copyright: Maxim), ru-RU IVR prompts, G.722 16 kHz"),
    "asterisk_menardi_it": ("asterisk-prompt-it-menardi-wav", "Paola Dal Zot, female, it-IT IVR prompts recorded by Marco Menardi, 8 kHz PCM"),
    "asterisk_june": ("asterisk-core-sounds-fr-g722", "June Wallack, female, fr-CA IVR prompts, G.722 16 kHz"),
    "tuxpaint_ru": ("tuxpaint-stamps-default", "Edwin Veber, ru stamp descriptions, 44.1 kHz"),
    "tuxpaint_bg": ("tuxpaint-stamps-default", "Krasimir Petkov, bg stamp descriptions, 44.1 kHz"),
    "tuxpaint_fr": ("tuxpaint-stamps-default", "PaulK, fr stamp descriptions, 44.1 kHz"),
    "tuxpaint_ro": ("tuxpaint-stamps-default", "Tabbytha, ro stamp descriptions, 44.1 kHz"),
    "tuxpaint_be": ("tuxpaint-stamps-default", "Ksenya Buraya, be stamp descriptions, 44.1 kHz"),
    "tuxpaint_da": ("tuxpaint-stamps-default", "Joe Dalton, da stamp descriptions, 44.1 kHz"),
}


def default_speaker(spk):
    if spk.startswith("tuxpaint_"):
        return ("tuxpaint-stamps-default", f"{spk[9:]} stamp descriptions, 44.1 kHz")
    if spk.startswith("flite_"):
        return ("flite + libflite1", f"flite's {spk[6:]} voice (synthetic, en-US/en-GB) reading base-files' licence texts, 16 kHz")
    if spk.startswith("festival_"):
        return ("festival + festvox-* (scripts/make_tts_speech.py FESTIVAL_PACKAGES)",
                f"festival's {spk[9:]} voice (synthetic) reading base-files' licence texts, 16 kHz")
    if spk.startswith("klettres_"):
        return ("klettres-data", f"{spk[9:]} spoken letters/syllables (KLettres)")
    if spk.startswith("ktuberling_"):
        return ("ktuberling-data", f"{spk[11:]} spoken words of the game KTuberling, 8-48 kHz")
    return ("?", "")


def read(path, sr):
    x, r = sf.read(path, dtype="float32", always_2d=True)
    assert r == sr, (path, r)
    return x.mean(1)


def write_atomic(path, x, sr):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp.wav"  # per process: two make targets may rebuild data at once
    sf.write(tmp, np.clip(x, -1, 1), sr, subtype="PCM_16")
    os.replace(tmp, path)


# voices added by stage 3 of fetch_data.sh and by its festival stage; the babble tracks are made
# without them, as they were before them, so the noise of every earlier recipe stays the same
# (with the festival voices in, a later `make data` rebuilt the training babble, and a rerun
# of v16f's fine-tune drew other losses from its first logged step)
LATER_VOICES = ("asterisk_menardi_it", "flite_", "festival_", "ktuberling_")


def babble(split, n, sr=16000, seconds=10.0, talkers=5, seed=0):
    rng = np.random.default_rng(seed)
    by_spk = {}
    for f in sorted(glob.glob(f"{D}/speech/{split}/*/*.wav")):
        spk = f.split("/")[-2]
        if not spk.startswith(LATER_VOICES):
            by_spk.setdefault(spk, []).append(f)
    spks = sorted(by_spk)
    L = int(seconds * sr)
    for i in range(n):
        mix = np.zeros(L, np.float32)
        for t in range(talkers):
            spk = spks[(i + t) % len(spks)] if len(spks) >= talkers else spks[rng.integers(len(spks))]
            parts, total = [], 0
            while total < L:
                y = read(by_spk[spk][rng.integers(len(by_spk[spk]))], sr)
                parts.append(y)
                total += len(y)
            s = np.concatenate(parts)
            o = rng.integers(0, len(s) - L + 1)
            s = s[o:o + L]
            mix += s / (np.sqrt(np.mean(s ** 2)) + 1e-9)
        mix *= 0.05 / (np.sqrt(np.mean(mix ** 2)) + 1e-9)
        write_atomic(f"{D}/noise/{split}/babble_{split}_{i:02d}.wav", mix, sr)
    return spks


def load_any(path, sr):
    import scipy.signal as ss
    x, r = sf.read(path, dtype="float32", always_2d=True)
    x = x.mean(1)
    if r != sr:
        g = np.gcd(r, sr)
        x = ss.resample_poly(x, sr // g, r // g).astype(np.float32)
    return x


def hits(out, srcs, sr, n, seconds=10.0, seed=0):
    """Random sequence of short real hits/clicks (keyboard/click-like non-stationary noise)."""
    rng = np.random.default_rng(seed)
    clips = [load_any(f, sr) for f in srcs]
    clips = [c[: sr] for c in clips if len(c) > 0]
    L = int(seconds * sr)
    for i in range(n):
        y = np.zeros(L + sr, np.float32)
        t = 0
        while t < L:
            c = clips[rng.integers(len(clips))] * rng.uniform(0.3, 1.0)
            y[t:t + len(c)] += c
            t += int(rng.exponential(0.25) * sr) + int(0.05 * sr)
        write_atomic(out.format(i=i), y[:L] * 0.5, sr)


def mix():
    for split, n in (("train", 20), ("heldout", 6)):
        if glob.glob(f"{D}/speech/{split}/*/*.wav"):
            babble(split, n, seed=1 if split == "train" else 2)
    clicks = sorted(glob.glob(f"{D}/raw/tuxpaint-data/usr/share/tuxpaint/sounds/*.wav")
                    + glob.glob(f"{D}/raw/sound-theme-freedesktop/usr/share/sounds/freedesktop/stereo/*.oga"))
    clicks = [f for f in clicks if sf.info(f).duration < 1.5]
    hits(f"{D}/noise/train/clicks_train_{{i:02d}}.wav", clicks, 16000, 6, seed=3)
    kit = f"{D}/raw/hydrogen-drumkits/usr/share/hydrogen/data/drumkits"
    drums = sorted(f for f in glob.glob(f"{kit}/*/*") if re.search(r"(?i)(hat|stick|rim|click|clap|snare|shaker)", f)
                   and f.lower().endswith((".wav", ".flac")))
    for sr, d in ((16000, "noise"), (48000, "noise_fullband")):
        hits(f"{D}/{d}/heldout/drumhits_heldout_{{i:02d}}.wav", drums, sr, 4, seed=4)


def licenses(pkg):
    f = f"{D}/raw/{pkg}/usr/share/doc/{pkg}/copyright"
    if not os.path.exists(f):
        return "copyright file missing"
    txt = open(f, encoding="utf-8", errors="replace").read()
    lic = sorted({m.strip() for m in re.findall(r"^License:\s*(.+)$", txt, re.M)})
    return "; ".join(lic) if lic else "see " + f + " (free-form)"


def dur(f):
    i = sf.info(f)
    return i.frames / i.samplerate


def manifest():
    out = {"splits": {}, "packages": {}}
    for sub in ("speech/train", "speech/heldout", "speech_fullband/heldout"):
        spk = {}
        for d in sorted(glob.glob(f"{D}/{sub}/*/")):
            fs = sorted(glob.glob(d + "*.wav"))
            name = d.rstrip("/").split("/")[-1]
            pkg, desc = SPEAKERS.get(name) or default_speaker(name)
            spk[name] = {"files": len(fs), "seconds": round(sum(map(dur, fs)), 1),
                         "package": pkg, "description": desc,
                         "sample_rate": sf.info(fs[0]).samplerate if fs else None}
        out["splits"][sub.replace("/", "_")] = {
            "speakers": spk, "files": sum(v["files"] for v in spk.values()),
            "total_seconds": round(sum(v["seconds"] for v in spk.values()), 1)}
    for sub in ("noise/train", "noise/heldout", "noise_fullband/heldout"):
        fs = sorted(glob.glob(f"{D}/{sub}/*.wav"))
        per = {}
        for f in fs:
            b = os.path.basename(f)
            src = b.split("__")[0] if "__" in b else b.split("_")[0] + " (synthesized mix)"
            p = per.setdefault(src, {"files": 0, "seconds": 0.0})
            p["files"] += 1
            p["seconds"] = round(p["seconds"] + dur(f), 1)
        out["splits"][sub.replace("/", "_")] = {
            "sources": per, "files": len(fs), "total_seconds": round(sum(v["seconds"] for v in per.values()), 1),
            "file_list": [os.path.basename(f) for f in fs]}
    for pkg in sorted(os.listdir(f"{D}/raw")):
        debs = glob.glob(f"{D}/debs/{pkg}_*.deb")
        out["packages"][pkg] = {"deb": os.path.basename(debs[0]) if debs else None, "licenses": licenses(pkg)}
    tmp = f"{D}/MANIFEST.json.{os.getpid()}.tmp"  # one per process: two make targets may run this at once
    with open(tmp, "w") as fh:
        json.dump(out, fh, indent=1)
    os.replace(tmp, f"{D}/MANIFEST.json")
    for k, v in out["splits"].items():
        print(f"{k:28s} files={v['files']:6d} hours={v['total_seconds'] / 3600:.2f}")


if __name__ == "__main__":
    {"mix": mix, "manifest": manifest}[sys.argv[1]]()
