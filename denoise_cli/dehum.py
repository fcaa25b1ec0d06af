"""Mains hum and other steady tones: find them in the pauses, take them out with narrow notches.

A 20 ms STFT frame resolves 50 Hz; mains hum sits on exact multiples of 50 or
60 Hz, between and on speech harmonics, so spectral subtraction removes it
only with the speech around it. The pauses are measured at 1 Hz resolution
instead: a harmonic that stands well above its neighbourhood is hum, and a
notch 3 Hz wide takes it out of the whole file before the noise profile is
taken, leaving subtraction and the model the broadband rest.

Machines hum too, off the mains grid: an engine or a fan at a steady speed
puts most of its power into a few narrow lines (the engine noise of the
benchmark set: 88 % of its power within 1 Hz lines 15-35 dB above their
surroundings, at 84 Hz and its multiples and others). Any local peak of the
pause spectrum at least TONE_PROMINENCE_DB above its neighbourhood is such a
steady tone and gets a notch as well (``detect_tones``): a notch 3 Hz wide
takes a line that a 20 ms frame spreads over a whole 50 Hz bin, speech included.

The notches run forward and then backward (zero phase, as filtfilt): a
one-way notch turns the phase of speech harmonics near each hum harmonic and
costs waveform fidelity. The forward pass is sequential (state carried from the
first sample), so ``NotchedInput`` serves reads in file order, with look-back,
and starts again from the first sample when a pass goes back to the start. The
backward pass of each read starts BACKWARD_LOOKAHEAD_S past its end, where
the filters' memory (time constant about 0.1 s) has decayed below float32
precision: any block layout gives the same samples within rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

MAINS_HZ = (50.0, 60.0)
ANALYSIS_S = 1.0            # Welch segment: 1 Hz resolution
MAX_ANALYSIS_S = 30.0       # at most this much pause audio is examined
MIN_ANALYSIS_S = 2.0        # with less, no decision (no notches)
NEIGHBOURHOOD_HZ = 25.0     # a harmonic's level is compared with the median of +-25 Hz ...
EXCLUDE_HZ = 3.0            # ... leaving out +-3 Hz around it
DETECT_HARMONICS = 8        # hum is declared when at least DETECT_MIN of the first 8 harmonics
DETECT_MIN = 3              # stand DETECT_PROMINENCE_DB above their neighbourhood
DETECT_PROMINENCE_DB = 12.0
NOTCH_PROMINENCE_DB = 8.0   # then every harmonic this prominent gets a notch
MAX_HARMONICS = 40
NOTCH_WIDTH_HZ = 3.0        # -3 dB bandwidth of each notch
COMMON_PERIOD_S = 0.1       # a whole number of periods of 50 Hz and of 60 Hz hum
WARMUP_S = 1.0              # the filters settle on this much periodic hum before sample 0
BACKWARD_LOOKAHEAD_S = 2.0  # the backward pass starts this far past each read
TONE_MIN_HZ = 40.0          # steady tones are looked for from here up to 0.45 x the rate
TONE_PROMINENCE_DB = 20.0   # a local peak this far above its neighbourhood is a steady tone
TONE_PEAK_HZ = 2.0          # ... when it is the highest point within +-2 Hz
MAX_TONES = 40              # at most this many (the most prominent) get a notch


@dataclass(frozen=True)
class Hum:
    """What gets a notch: mains hum (its frequency and harmonics) and other steady tones.

    f0_hz: 50.0 or 60.0, None when no mains hum was found; notch_hz: the mains
    harmonics notched; tone_hz: the other steady tones notched.
    """

    f0_hz: Optional[float]
    notch_hz: tuple[float, ...]
    tone_hz: tuple[float, ...] = ()

    @property
    def all_hz(self) -> tuple[float, ...]:
        return tuple(sorted(self.notch_hz + self.tone_hz))

    @property
    def periodic_s(self) -> Optional[float]:
        """A period that every notched frequency repeats in (COMMON_PERIOD_S for mains hum alone), or None."""
        return COMMON_PERIOD_S if not self.tone_hz else None

    def to_dict(self) -> dict:
        return {"f0_hz": self.f0_hz, "notches_hz": list(self.notch_hz), "tones_hz": list(self.tone_hz)}


def welch_psd(x: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Mean periodogram of Hann-windowed 1 s segments, half overlapping: (sample_rate_hz//2+1,)."""
    import torch  # single-precision FFTs, already loaded with the models

    n = int(ANALYSIS_S * sample_rate_hz)
    frames = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).unfold(0, n, n // 2)
    spectra = torch.fft.rfft(frames * torch.hann_window(n, periodic=False), dim=-1)
    return (spectra.real.square() + spectra.imag.square()).mean(dim=0).double().numpy()


def harmonic_prominence_db(psd: np.ndarray, bin_hz: float, f_hz: float) -> float:
    """Peak within +-1 Hz of ``f_hz`` over the median of its neighbourhood, in dB."""
    centre = int(round(f_hz / bin_hz))
    reach, skip = int(NEIGHBOURHOOD_HZ / bin_hz), int(EXCLUDE_HZ / bin_hz)
    lo, hi = max(0, centre - reach), min(psd.size, centre + reach + 1)
    around = np.r_[psd[lo : max(lo, centre - skip)], psd[min(hi, centre + skip + 1) : hi]]
    peak = psd[max(0, centre - 1) : centre + 2].max()
    return float(10 * np.log10((peak + 1e-30) / (np.median(around) + 1e-30))) if around.size else 0.0


def find_notches(pauses: np.ndarray, sample_rate_hz: int, mains: bool = True, tones: bool = True) -> Optional[Hum]:
    """Mains hum (with ``mains``) and other steady tones (with ``tones``) in ``pauses``
    ((samples,) mono non-speech audio), or None; no decision under MIN_ANALYSIS_S of them."""
    if pauses.size < MIN_ANALYSIS_S * sample_rate_hz:
        return None
    psd = welch_psd(pauses[: int(MAX_ANALYSIS_S * sample_rate_hz)], sample_rate_hz)
    hum = mains_hum(psd, sample_rate_hz) if mains else None
    found = detect_tones(psd, sample_rate_hz, skip_hz=hum.notch_hz if hum else ()) if tones else ()
    if not found:
        return hum
    return Hum(hum.f0_hz if hum else None, hum.notch_hz if hum else (), found)


def detect_tones(psd: np.ndarray, sample_rate_hz: int, skip_hz: tuple[float, ...] = ()) -> tuple[float, ...]:
    """Steady tones in a ``welch_psd`` of the pauses: local peaks TONE_PROMINENCE_DB over their
    neighbourhood, from TONE_MIN_HZ up, not within NOTCH_WIDTH_HZ of ``skip_hz``; the
    MAX_TONES most prominent, in Hz, ascending. The prominence is ``harmonic_prominence_db``'s,
    computed for every bin at once."""
    from numpy.lib.stride_tricks import sliding_window_view

    bin_hz = 1.0 / ANALYSIS_S
    top = 0.45 * sample_rate_hz - NEIGHBOURHOOD_HZ
    lo, hi = int(np.ceil(TONE_MIN_HZ / bin_hz)), int(top / bin_hz)
    if hi <= lo:
        return ()
    reach, skip, peak_reach = int(NEIGHBOURHOOD_HZ / bin_hz), int(EXCLUDE_HZ / bin_hz), int(TONE_PEAK_HZ / bin_hz)
    bins = np.arange(lo, hi)
    is_peak = psd[bins] >= sliding_window_view(psd, 2 * peak_reach + 1)[bins - peak_reach].max(axis=1)
    bins = bins[is_peak]
    window = sliding_window_view(psd, 2 * reach + 1)[bins - reach]  # centred on each bin
    around = np.concatenate([window[:, : reach - skip], window[:, reach + skip + 1 :]], axis=1)
    peak = sliding_window_view(psd, 3)[bins - 1].max(axis=1)
    prominence = 10 * np.log10((peak + 1e-30) / (np.median(around, axis=1) + 1e-30))
    found = [(float(p), float(b * bin_hz)) for p, b in zip(prominence, bins)
             if p >= TONE_PROMINENCE_DB and not any(abs(b * bin_hz - s) <= NOTCH_WIDTH_HZ for s in skip_hz)]
    return tuple(sorted(f for _, f in sorted(found, reverse=True)[:MAX_TONES]))


def detect_hum(pauses: np.ndarray, sample_rate_hz: int) -> Optional[Hum]:
    """Mains hum alone in ``pauses`` ((samples,) mono non-speech audio), or None."""
    return find_notches(pauses, sample_rate_hz, tones=False)


def mains_hum(psd: np.ndarray, sample_rate_hz: int) -> Optional[Hum]:
    """Mains hum in a ``welch_psd`` of the pauses, or None."""
    bin_hz = 1.0 / ANALYSIS_S
    top = 0.45 * sample_rate_hz  # leave room for the neighbourhood below Nyquist
    best = None
    for f0 in MAINS_HZ:
        harmonics = [k * f0 for k in range(1, MAX_HARMONICS + 1) if k * f0 + NEIGHBOURHOOD_HZ < top]
        prominence = [harmonic_prominence_db(psd, bin_hz, f) for f in harmonics]
        found = sum(p >= DETECT_PROMINENCE_DB for p in prominence[:DETECT_HARMONICS])
        if found >= DETECT_MIN and (best is None or found > best[0]):
            notch = tuple(f for f, p in zip(harmonics, prominence) if p >= NOTCH_PROMINENCE_DB)
            best = (found, Hum(f0, notch))
    return best[1] if best else None


def notch_sos(hum: Hum, sample_rate_hz: int) -> np.ndarray:
    """Second-order sections, one notch per frequency of ``hum``: (notches, 6)."""
    from scipy.signal import iirnotch  # imported only for files with hum

    rows = []
    for f in hum.all_hz:
        b, a = iirnotch(f, f / NOTCH_WIDTH_HZ, sample_rate_hz)
        rows.append(np.r_[b, a])
    return np.array(rows)


class NotchedInput:
    """An ``AudioInput`` seen through notch filters; same ``info`` and ``read``.

    Keeps the filtered samples from ``lookback_frames`` before the last read
    onwards, and the filter state at the furthest sample filtered.
    """

    def __init__(self, inp, sos: np.ndarray, lookback_frames: int, block_frames: int,
                 periodic_s: Optional[float] = COMMON_PERIOD_S):
        self.inp, self.info, self.sos = inp, inp.info, sos
        self.periodic_s = periodic_s  # what the notched tones repeat in (``Hum.periodic_s``), or None
        self.lookback, self.block = lookback_frames, max(1, block_frames)
        self.lookahead = int(BACKWARD_LOOKAHEAD_S * self.info.sample_rate_hz)
        self.restarts = 0
        self._restart()

    def _restart(self) -> None:
        self._zi = self._settled_state()
        self._buf = np.zeros((self.info.channels, 0), np.float32)
        self._buf_start = self._head = 0
        self.restarts += 1

    def _settled_state(self) -> np.ndarray:
        """Filter state after WARMUP_S of the file's first COMMON_PERIOD_S, repeated.

        A 3 Hz notch takes a few tenths of a second to settle; started from rest
        it would let the hum through at the start of the file. Hum repeats
        every COMMON_PERIOD_S, so the repeated opening continues it seamlessly.
        Other steady tones have no common period: the filters start from rest,
        and the forward pass lets them through for the first tenths of a
        second (the backward pass, settled by then, takes most of it out).
        """
        from scipy.signal import sosfilt

        zi = np.zeros((self.sos.shape[0], self.info.channels, 2))
        if self.periodic_s is None:
            return zi
        period = int(round(self.periodic_s * self.info.sample_rate_hz))
        if self.info.frames < period:
            return zi
        opening = self.inp.read(0, period)
        _, zi = sosfilt(self.sos, np.tile(opening, int(np.ceil(WARMUP_S / COMMON_PERIOD_S))), axis=-1, zi=zi)
        return zi

    def _advance(self, stop: int) -> None:
        from scipy.signal import sosfilt

        pieces = [self._buf]
        while self._head < stop:
            end = min(stop, self._head + self.block)
            y, self._zi = sosfilt(self.sos, self.inp.read(self._head, end), axis=-1, zi=self._zi)
            pieces.append(y.astype(np.float32))
            self._head = end
        self._buf = np.concatenate(pieces, axis=1)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) as (channels, stop - start) float32; zeros outside the file."""
        from scipy.signal import sosfilt

        frames = self.info.frames
        a, b = min(max(start, 0), frames), min(max(stop, 0), frames)
        if a < self._buf_start:
            self._restart()
        ahead = min(frames, b + self.lookahead)
        self._advance(ahead)
        keep_from = max(self._buf_start, min(a, self._head) - self.lookback)
        self._buf = self._buf[:, keep_from - self._buf_start :]
        self._buf_start = keep_from
        out = np.zeros((self.info.channels, stop - start), np.float32)
        if b > a:
            forward = self._buf[:, a - self._buf_start : ahead - self._buf_start]
            backward = sosfilt(self.sos, forward[:, ::-1], axis=-1)[:, ::-1]
            out[:, a - start : b - start] = backward[:, : b - a]
        return out
