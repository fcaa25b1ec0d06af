"""Per band: what each system leaves of the noise where the speech is quiet, and how far it
is from the clean speech where the speech is loud. An experiment on scripts/voice_check.py's
files, not a benchmark.

    .venv/bin/python scripts/band_residual.py VOICE [VOICE ...] [--work out/voice-check]

For each voice and SNR, over that voice's files in WORK/clean and each system's folder
(noisy, ours, dfn, oracle; the ones present), on a 32 ms Hann STFT (512 points at 16 kHz):

- loud frames (clean frame power within LOUD_DB of the file's loudest frame): the error
  |X - C|^2 over the clean power |C|^2, in dB per band (lower is closer to the clean);
- quiet frames (the rest: pauses, gaps between words, tails): the output's power in those
  frames over the clean power the loud frames would have had there, in dB per band (lower
  is less noise left).
"""

import argparse
import glob
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import stft

RATE_HZ = 16_000
NPERSEG = 512
LOUD_DB = 30.0
BANDS_HZ = ((0, 500), (500, 1000), (1000, 2000), (2000, 4000), (4000, 6000), (6000, 7000), (7000, 8000))
SYSTEMS = ("noisy", "ours", "dfn", "oracle")


def spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    freqs_hz, _, z = stft(x, RATE_HZ, nperseg=NPERSEG)
    return freqs_hz, z


def read_mono(path: Path, n: int) -> np.ndarray:
    x = sf.read(path, always_2d=True)[0][:n, 0]
    return np.pad(x, (0, n - x.size))


def voice_table(work: Path, voice: str, snr_db: int) -> dict[str, np.ndarray]:
    """system -> (2, bands, 2) sums: [loud error, clean] and [quiet output, clean equivalent]."""
    sums = {}
    for path in sorted(glob.glob(str(work / "clean" / f"{voice}_*_{snr_db}.wav"))):
        clean = sf.read(path)[0]
        freqs_hz, c = spectrum(clean)
        power = np.abs(c) ** 2
        frame = power.sum(axis=0)
        loud = frame > frame.max() * 10 ** (-LOUD_DB / 10)
        for system in SYSTEMS:
            out = work / system / Path(path).name
            if not out.exists():
                continue
            x = spectrum(read_mono(out, clean.size))[1]
            acc = sums.setdefault(system, np.zeros((2, len(BANDS_HZ), 2)))
            for b, (lo, hi) in enumerate(BANDS_HZ):
                band = (freqs_hz >= lo) & (freqs_hz < hi)
                clean_loud = power[band][:, loud].sum()
                acc[0, b] += [(np.abs(x - c) ** 2)[band][:, loud].sum(), clean_loud]
                acc[1, b] += [(np.abs(x) ** 2)[band][:, ~loud].sum(), clean_loud / loud.sum() * (~loud).sum()]
    return sums


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("voices", nargs="+")
    ap.add_argument("--work", type=Path, default=Path("out/voice-check"))
    ap.add_argument("--snrs", default="5,15")
    a = ap.parse_args()
    edges = " ".join(f"{hi // 1000 if hi >= 1000 else hi / 1000:>5}k" for _, hi in BANDS_HZ)
    for voice in a.voices:
        for snr_db in map(int, a.snrs.split(",")):
            print(f"{voice} {snr_db} dB; bands up to {edges}: loud-frame error dB | quiet-frame output dB")
            for system, acc in voice_table(a.work, voice, snr_db).items():
                ratio = 10 * np.log10(acc[..., 0] / acc[..., 1] + 1e-12)
                print(f"  {system:<7}" + " ".join(f"{v:6.1f}" for v in ratio[0]) + "  | "
                      + " ".join(f"{v:6.1f}" for v in ratio[1]))


if __name__ == "__main__":
    main()
