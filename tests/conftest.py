"""Shared fixtures: a random (seeded) mask-model checkpoint, models loaded once,
synthetic and real speech, and small helpers for writing and reading audio.

Nothing here depends on the packaged checkpoint (denoise_cli/assets/dns.pt):
tests that need it are marked to skip when it is missing.
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import resample_poly

from hypothesis import settings as hypothesis_settings

from denoise_cli.audio import TEMP_MARKER
from denoise_cli.config import CleanOptions, ModelOptions

# Property tests explore a fixed sequence of examples, so CI cannot pass or fail by
# chance; HYPOTHESIS_PROFILE=explore searches afresh on every run.
hypothesis_settings.register_profile("ci", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "sample_audio"
REFERENCE_DIR = SAMPLE_DIR / ".reference"
AUDIO_SUFFIXES = (".wav", ".flac")
# For running the speech tests before sample_audio/.reference is filled:
# DENOISE_TEST_SPEECH_DIR=/some/folder/of/clean/speech
SPEECH_DIR_ENV = "DENOISE_TEST_SPEECH_DIR"


# --- helpers ------------------------------------------------------------------------
def write_audio(path, x: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str | None = None) -> Path:
    """x: (channels, samples) or (samples,) float; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.asarray(x)
    data = x.T if x.ndim == 2 else x
    sf.write(str(path), data, rate, subtype=subtype, format=fmt)
    return path


def read_audio(path, dtype: str = "float32") -> tuple[np.ndarray, int]:
    """(channels, samples) array and sample rate."""
    data, rate = sf.read(str(path), dtype=dtype, always_2d=True)
    return data.T, rate


def sha256_bytes(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tree_hashes(folder) -> dict[str, str]:
    folder = Path(folder)
    return {str(p.relative_to(folder)): sha256_bytes(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def temp_leftovers(*folders) -> list[Path]:
    """Every temporary output (``*.denoise-tmp``) left under ``folders``."""
    found = []
    for folder in folders:
        found += [p for p in Path(folder).rglob(f"*{TEMP_MARKER}*")]
    return found


def tone(freq_hz: float, seconds: float, rate: int, amp: float = 0.3, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * np.pi * freq_hz * t + phase)).astype(np.float32)


def voiced(seconds: float, rate: int, f0_hz: float = 140.0, seed: int = 0, amp: float = 0.2) -> np.ndarray:
    """Speech-like: harmonics of a gliding f0 with 4 Hz syllable-rate amplitude modulation."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    f0 = f0_hz * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = np.zeros(n)
    for k in range(1, 30):
        if k * f0_hz * 1.1 >= rate / 2:
            break
        formant = np.exp(-((k * f0_hz - 600) / 400) ** 2) + 0.5 * np.exp(-((k * f0_hz - 1800) / 600) ** 2)
        x += (0.05 + formant) / k * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    env = 0.5 * (1 - np.cos(2 * np.pi * 4.0 * t)) ** 2
    x *= env
    return (amp * x / (np.sqrt(np.mean(x * x)) + 1e-12)).astype(np.float32)


class ArrayInput:
    """An in-memory stand-in for ``AudioInput``: x (channels, frames); zeros outside it."""

    def __init__(self, x: np.ndarray, rate: int):
        from denoise_cli.audio import AudioInfo

        self.x = x
        self.info = AudioInfo(rate, x.shape[0], x.shape[1], "WAV", "FLOAT")

    def read(self, start, stop):
        out = np.zeros((self.x.shape[0], stop - start), np.float32)
        a, b = max(start, 0), min(stop, self.x.shape[1])
        if b > a:
            out[:, a - start : b - start] = self.x[:, a:b]
        return out


def snr_db(clean: np.ndarray, estimate: np.ndarray) -> float:
    clean = clean.astype(np.float64)
    err = estimate.astype(np.float64) - clean
    return float(10 * np.log10(np.sum(clean**2) / max(np.sum(err**2), 1e-30)))


def resample(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return x.astype(np.float32)
    g = math.gcd(rate_in, rate_out)
    return resample_poly(x, rate_out // g, rate_in // g, axis=-1).astype(np.float32)


def _speech_files() -> list[Path]:
    folder = Path(os.environ[SPEECH_DIR_ENV]) if os.environ.get(SPEECH_DIR_ENV) else REFERENCE_DIR
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def sample_pairs() -> list[tuple[Path, Path]]:
    """(noisy, reference) pairs from sample_audio/ (same relative names)."""
    if not REFERENCE_DIR.is_dir():
        return []
    pairs = []
    for ref in sorted(REFERENCE_DIR.rglob("*")):
        if ref.suffix.lower() in AUDIO_SUFFIXES and ref.is_file():
            noisy = SAMPLE_DIR / ref.relative_to(REFERENCE_DIR)
            if noisy.is_file():
                pairs.append((noisy, ref))
    return pairs


def _active_part(x: np.ndarray, rate: int, range_db: float = 35.0) -> np.ndarray:
    """x trimmed to the first..last 20 ms frame within ``range_db`` of the loudest."""
    frame = rate // 50
    n = x.size // frame * frame
    p = np.mean(x[:n].reshape(-1, frame) ** 2, axis=1)
    active = np.flatnonzero(p >= p.max() * 10 ** (-range_db / 10))
    return x[active[0] * frame : (active[-1] + 1) * frame]


# --- fixtures -----------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _restore_sigterm():
    """`denoise clean` installs a SIGTERM handler; keep it out of the test process."""
    old = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, old)


@pytest.fixture(scope="session")
def random_weights(tmp_path_factory) -> str:
    """A random, seeded MaskNet checkpoint (not the packaged model)."""
    from denoise_cli.model import MaskNet
    from denoise_cli.weights import save_checkpoint

    torch.manual_seed(1234)
    path = tmp_path_factory.mktemp("weights") / "random.pt"
    save_checkpoint(MaskNet(), path, training={"note": "random weights for tests"})
    return str(path)


@pytest.fixture(scope="session")
def clean_opts(random_weights) -> CleanOptions:
    """The default chain with the random checkpoint, in float32 whatever the CPU."""
    return CleanOptions(model=ModelOptions(weights=random_weights, precision="float32"))


@pytest.fixture(scope="session")
def models(clean_opts):
    """Silero VAD and the random mask model, loaded once on the CPU."""
    from denoise_cli.pipeline import load_models

    return load_models(clean_opts, torch.device("cpu"))


@pytest.fixture(scope="session")
def speech_16k() -> np.ndarray:
    """About 1.6 s of active clean speech, 16 kHz mono float32 (skips without speech files)."""
    files = _speech_files()
    if not files:
        pytest.skip(f"no clean speech: {REFERENCE_DIR} is empty (set {SPEECH_DIR_ENV} to run)")
    for path in files:
        x, rate = read_audio(path)
        x = _active_part(resample(x.mean(axis=0), rate, 16_000), 16_000)
        if x.size >= int(1.6 * 16_000):
            x = x[: int(1.6 * 16_000)]
            return (0.25 * x / np.abs(x).max()).astype(np.float32)
    pytest.skip("no clean speech file with 1.6 s of speech")


@pytest.fixture(scope="session")
def speech_with_pauses(speech_16k) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Clean speech with known pauses at 16 kHz: (signal, [(start_s, end_s) of the speech])."""
    pause = np.zeros(int(1.0 * 16_000), np.float32)
    parts = [pause, speech_16k, pause, speech_16k.copy(), pause]
    spans, t = [], 0
    for p in parts:
        if p.size and p is not pause:
            spans.append((t / 16_000, (t + p.size) / 16_000))
        t += p.size
    return np.concatenate(parts), spans
