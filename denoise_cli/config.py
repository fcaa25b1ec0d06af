"""Constants and frozen option dataclasses.

Every DSP constant is named once here, with its unit in the name. The CLI turns
its flags into these dataclasses once; nothing below the CLI sees Typer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Optional

# --- model front end (fixed by the shipped checkpoint's architecture) ---------
MODEL_SAMPLE_RATE_HZ = 16_000
WINDOW_MS = 20  # analysis window length
HOP_MS = 10  # frame hop: 50 % overlap, so sqrt-Hann analysis/synthesis is exact
MODEL_BIN_HZ = 1000 / WINDOW_MS  # 50 Hz spacing of the model's frequency bins
MODEL_N_BINS = 161  # 0 .. 8 kHz in 50 Hz steps
MODEL_N_FFT = 320  # 20 ms at 16 kHz
UPPER_BAND_REF_HZ = (4_000.0, 8_000.0)  # model gains here drive the band above 8 kHz
# the mask net's default size (model.ModelDims; a checkpoint carries its own)
NET_CONV_CHANNELS = 256  # output channels of the first convolution
NET_LSTM_HIDDEN = 128  # hidden units of each direction of the BiLSTM
NET_KERNEL_FRAMES = 5  # frames each convolution spans (odd)

# --- VAD -----------------------------------------------------------------------
VAD_SAMPLE_RATE_HZ = 16_000
VAD_FRAME_SAMPLES = 512  # Silero's frame at 16 kHz (32 ms)
VAD_CONTEXT_SAMPLES = 64  # samples of the previous frame Silero prepends to each frame

# --- noise profile ---------------------------------------------------------------
MIN_NOISE_S = 0.5  # less non-speech than this: fall back to minimum statistics
MINSTAT_WINDOW_S = 1.5  # minimum-statistics search window
MINSTAT_SMOOTH = 0.85  # recursive power smoothing before the minimum search
MINSTAT_BIAS = 1.5  # compensates the downward bias of a minimum of smoothed power

# --- tonal noise -----------------------------------------------------------------
# A noise-profile bin this far above the median of its neighbours is a stationary tone
# (engine or fan whine, a whistle): its subtraction floor is lowered so that the tone is
# left at the level of the broadband noise around it, never below TONAL_MIN_FLOOR.
TONAL_EXCESS_DB = 10.0
TONAL_HALF_WIDTH_HZ = 400.0  # the neighbours: this far on each side
TONAL_MIN_FLOOR = 0.1  # amplitude (-20 dB)

# --- clicks (declick.py) -----------------------------------------------------------
# A frame is a click when its high-band energy (first difference), and CLICK_SHARE of the
# CLICK_BAND_HZ bins one by one, are over CLICK_RATIO times their median over the
# CLICK_MEDIAN_FRAMES frames around it (70 ms): a burst of one or two frames, which speech,
# rising and falling over several, is not. Set once, before any scoring, and not tuned on the benchmark (docs/model.md "Clicks").
CLICK_BAND_HZ = (1000.0, 8000.0)
CLICK_RATIO = 4.0  # power (6 dB)
CLICK_SHARE = 0.6
CLICK_MEDIAN_FRAMES = 7

# --- steadiness of the noise (the default over-subtraction and floor per file) ---
# The spread of the noise's level over the pause frames: the standard deviation, in dB, of
# each pause frame's power summed over STEADY_BAND_HZ (the channels' mean power). Measured
# on the held-out and benchmark sets: white and pink noise 0.7-1.6 dB, engines 1.1-2.1,
# wind, rain and night ambiences 1.6-3.8, babble 3.6-4.6, music 2.8-17, birds, animals and
# drums 6-35 (docs/model.md "Steady noise"). Files below STEADY_SPREAD_DB get
# SpectralOptions.steady_over_subtraction and steady_floor, the others over_subtraction and floor.
STEADY_BAND_HZ = (300.0, 3400.0)
STEADY_SPREAD_DB = 3.0

# --- training front end ---------------------------------------------------------
# The subtraction that `denoise train` puts ahead of the model unless told otherwise: the
# shipped model's recipe (v18a, v16f, v15b and v14s, as v6 and v12 before them). It is milder than the inference default above; the model
# was tuned to the stronger subtraction after training, on the held-out set.
TRAIN_OVER_SUBTRACTION = 6.0
TRAIN_FLOOR = 0.2
TRAIN_SNR_DB_RANGE = (-5.0, 20.0)  # training mixtures' SNR over active speech, drawn uniformly

# --- streaming -------------------------------------------------------------------
BLOCK_S = 30.0  # audio processed per block; peak memory scales with this, not with length
DECODED_CACHE_MB = 256  # files whose decoded samples (int16 for 8/16-bit PCM, else float32) fit are decoded once
EPS = 1e-10


@dataclass(frozen=True)
class VadOptions:
    """Speech detection settings (Silero VAD at 16 kHz)."""

    threshold: float = 0.5
    min_speech_ms: int = 300  # shorter speech is not a segment
    min_silence_ms: int = 100  # a pause must last this long to split segments
    speech_pad_ms: int = 30  # added on both sides of each segment


@dataclass(frozen=True)
class SpectralOptions:
    """Spectral subtraction settings.

    over_subtraction: multiple of the noise power subtracted (alpha). 10, with
        floor 0.2, was chosen for v6 (trained at alpha 6, floor 0.2) on the
        held-out set among alpha 6 to 13 and floors 0.1 to 0.3, with 30 ms gain
        smoothing; it beats the previous model's chain there on all three
        measures. v14s (of which the shipped v18a is a fine-tune, through v15b and v16f), trained at the same front end with
        babble, more voices and a smaller first convolution, was scored with
        these defaults and floors 0.18 and 0.19; the floor trades PESQ for STOI
        and stays 0.2 (docs/model.md "Model variants").
    floor: lowest gain, as an amplitude ratio (beta), against musical noise.
    guard_ms: non-speech this close to speech is kept out of the noise profile.
    steady_over_subtraction: the alpha for files whose noise is steady (its level
        spread over the pauses below STEADY_SPREAD_DB; not files profiled by
        minimum statistics); None: over_subtraction for every file. 6 beat 10
        there on the held-out and the benchmark sets (docs/model.md "Steady noise");
        with soup27 and steady_floor, 4 (the same section).
    steady_floor: the floor for those files; None: floor for every file. With
        soup27, alpha 4 and floor 0.12 beat alpha 6 and floor 0.2 on the held-out
        set's 18 steady files on all three measures, chosen among alpha 3 to 13 and
        floors 0.1 to 0.3 (docs/model.md "Steady noise").
    tonal_floor: in bins where the noise profile has a stationary tone (TONAL_*
        above), lower the floor so the tone is left no louder than the broadband
        noise around it (``spectral.tonal_floor``). With ni2, on the held-out set: 8.40 dB /
        0.813 / 1.626 against 8.35 / 0.814 / 1.622 without; engine noise PESQ
        2.14 -> 2.28 (docs/model.md "Tonal noise").
    """

    enabled: bool = True
    over_subtraction: float = 10.0
    floor: float = 0.2
    steady_over_subtraction: Optional[float] = 4.0
    steady_floor: Optional[float] = 0.12
    guard_ms: int = 100
    tonal_floor: bool = True

    def over_subtraction_for(self, spread_db: Optional[float]) -> float:
        """The alpha for one file whose pause noise spreads by ``spread_db`` (None: no pause
        profile): steady_over_subtraction below STEADY_SPREAD_DB, else over_subtraction."""
        steady = self.steady_over_subtraction is not None and is_steady(spread_db)
        return self.steady_over_subtraction if steady else self.over_subtraction

    def floor_for(self, spread_db: Optional[float]) -> float:
        """The floor for one such file: steady_floor below STEADY_SPREAD_DB, else floor."""
        return self.steady_floor if self.steady_floor is not None and is_steady(spread_db) else self.floor


def is_steady(spread_db: Optional[float]) -> bool:
    """Whether pause noise whose level spreads by ``spread_db`` dB counts as steady (None: no
    pause profile, minimum statistics: not steady)."""
    return spread_db is not None and spread_db < STEADY_SPREAD_DB


@dataclass(frozen=True)
class ModelOptions:
    """DNS mask model settings: chunked, cross-faded, batched inference."""

    enabled: bool = True
    chunk_s: float = 4.0
    overlap_s: float = 0.5
    batch_size: int = 16
    weights: Optional[str] = None  # None: the checkpoint shipped in the package
    # "auto": bfloat16 autocast where the device does it natively (AVX512-BF16/AMX CPUs,
    # Ampere+ GPUs), else float32; or name one of them
    precision: str = "auto"
    # one mask for every channel, from their mean power: keeps the stereo image still and
    # the model's time independent of the channel count (False: a mask per channel)
    link_channels: bool = True


@dataclass(frozen=True)
class CleanOptions:
    """Everything that decides what a cleaned file sounds like.

    attenuation_limit_db: the whole chain never lowers any time-frequency bin by
    more than this (None: no limit).
    gain_smoothing_ms: each frame's gain (subtraction times mask) is averaged
    with the frames up to this far on either side, against musical noise: 30 ms
    is a 7-frame (70 ms) mean at the 10 ms hop; 0 turns it off. 40 ms (9 frames) since v19a,
    which was trained through 30 ms smoothing (``denoise train --gain-smoothing-ms``): with it,
    held-out 10.221 dB / 0.8429 / 1.7861 against 10.185 / 0.8434 / 1.7673 at 30 ms. With v6 (which
    the shipped v12 fine-tunes) 30 ms beat 20 on the held-out set; with the previous one (ni2) 20
    ms was kept (docs/model.md "Smoothing the gains", "Model variants").
    dehum: look for 50/60 Hz hum in the pauses; where found, notch its harmonics
    (``dehum.py``) ahead of the noise profile, subtraction and model.
    notch_tones: likewise notch any other steady tone of the pauses (a local
    peak 20 dB over its surroundings at 1 Hz resolution). On the held-out set:
    8.705 dB / 0.819 / 1.677 against 8.677 / 0.818 / 1.673 without; benchmark
    engine noise PESQ at 16 kHz 1.71 -> 1.79 (docs/model.md "Tonal noise").
    declick: take clicks (bursts of one or two frames over the whole band) down
    to the level of the frames around them (``declick.py``), after the VAD and
    the notches and ahead of the noise profile, subtraction and model.
    output_format: "wav" or "flac" to convert, None to keep the input's format.
    block_s: audio per streaming block;
    decoded_cache_mb: files whose decoded samples fit are decoded once;
    spill_decoded: longer FLAC files are decoded once into an unnamed temporary
    file in the output's folder, where it has room for twice their decoded size
    (``audio.SpilledSamples``), instead of once per pass. None of these three
    changes the result, only speed, memory and temporary disk use.
    """

    vad: VadOptions = field(default_factory=VadOptions)
    spectral: SpectralOptions = field(default_factory=SpectralOptions)
    model: ModelOptions = field(default_factory=ModelOptions)
    attenuation_limit_db: Optional[float] = None
    gain_smoothing_ms: float = 40.0
    dehum: bool = True  # find mains hum in the pauses and notch it out before subtraction
    notch_tones: bool = True  # the same for other steady tones (engines, fans): dehum.detect_tones
    declick: bool = True  # take short broadband bursts down to their surroundings: declick.py
    speech_only: bool = False
    output_format: Optional[str] = None
    block_s: float = BLOCK_S
    decoded_cache_mb: float = DECODED_CACHE_MB
    spill_decoded: bool = True

    def fingerprint(self, checkpoint_sha256: str | None) -> str:
        """A short hash of the settings and model that decide the output."""
        payload = {"options": asdict(self), "checkpoint": checkpoint_sha256}
        payload["options"].pop("block_s")  # blocks change memory use, not the result
        payload["options"].pop("decoded_cache_mb")
        payload["options"].pop("spill_decoded")
        text = json.dumps(payload, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RunOptions:
    """How a batch runs (not what it produces)."""

    jobs: int = 1
    device: str = "cpu"  # "auto", "cpu" or "cuda"
    overwrite: bool = False
    write_report: bool = True
    report_dir: Optional[str] = None
    wait: bool = False  # queue behind another run on the same output folder instead of failing
    backend: str = "local"  # "local": processes on this machine; "dask": a Dask cluster
    scheduler: Optional[str] = None  # the Dask scheduler's address, with backend "dask"
    plot: bool = False  # a PNG of the spectrograms beside each report (needs matplotlib)
    labels: tuple[str, ...] = ()  # label files beside each report: "audacity", "vtt"
    # local parallelism: "processes" (isolated workers), "threads" (one process, one shared
    # mask model batched across files), "auto": threads with --device cuda, else processes
    parallel: str = "auto"
