"""One file: read -> VAD -> noise profile -> subtraction -> mask -> write, plus its report.

The file is streamed in blocks of ``CleanOptions.block_s`` through three passes,
so memory does not grow with its length:

1. speech: a mono mix, resampled to 16 kHz, through Silero VAD -> segments;
   Then mains hum: up to 30 s of the pauses, measured at 1 Hz resolution; where
   50/60 Hz harmonics stand out, later passes read the file through zero-phase
   notch filters (``dehum.py``).
2. noise: the mean power of the frames outside (guarded) speech, per channel,
   or minimum statistics over the whole file when there is too little of it;
3. clean: per block, one STFT per channel at the file's own rate; spectral
   subtraction gains; the mask model on the low band (0-8 kHz, chunked and
   cross-faded on a grid fixed by the file length), once on the channels' mean
   power (linked, the default) or per channel; gains combined, limited and
   applied; inverse STFT; written to a temporary file renamed at the end.

Every stage depends only on a bounded neighbourhood, so block processing gives
the same result as processing the whole file at once.
"""

from __future__ import annotations

import threading
import time
from contextlib import closing, contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import torch

from . import __version__
from .audio import AtomicWriter, AudioInfo, AudioInput, StreamResampler, output_subtype, write_text_atomic
from .config import (
    MIN_NOISE_S,
    VAD_SAMPLE_RATE_HZ,
    CleanOptions,
)
from .declick import ClickSuppressedInput
from .dehum import MAX_ANALYSIS_S, Hum, NotchedInput, find_notches, notch_sos
from .masker import Cancelled, MaskRunner
from .model import chunks_touching, predict_mask, resolve_precision
from .labels import RENDERERS as LABEL_RENDERERS
from .plot import PlotData, SpectrogramSketch, profile_db, write_plot
from .report import CLEANED, SCHEMA_VERSION, shown, write_json
from .spectral import (
    MinimumStatistics,
    ModelBandMap,
    NoiseProfileAccumulator,
    StftGeometry,
    db,
    overlap_add,
    smooth_over_frames,
    stft_frames,
    subtraction_gain,
    tonal_floor,
)
from .vad import Segment, SileroVad, gaps, noise_frames, speech_sample_mask, speech_segments, speech_spans
from .weights import LoadedModel, load_checkpoint
from .writebehind import WriteBehind

SPEECH_ONLY_FADE_MS = 5.0  # fades at the joins of --speech-only output


@dataclass
class Models:
    """What a worker loads once and reuses for every file."""

    vad: SileroVad
    dns: Optional[LoadedModel]
    device: torch.device
    precision: str = "float32"  # what the mask model runs in: "float32" or "bfloat16"
    masker: Optional[Callable[[np.ndarray], np.ndarray]] = None  # a SharedMasker; None: run dns directly
    cancel: Optional[threading.Event] = None  # set: the file being cleaned stops at its next stage


def load_models(opts: CleanOptions, device: torch.device) -> Models:
    dns = load_checkpoint(opts.model.weights, device) if opts.model.enabled else None
    return Models(SileroVad(), dns, device, resolve_precision(opts.model.precision, device))


class StageTimer:
    """Accumulates wall seconds per stage name.

    Stages may nest: a stage's seconds exclude those of the stages entered
    inside it (a declick read counts the decoding it asks for as "read").
    Stages may run in several threads at once (the model thread of
    ``BlockCleaner.blocks``): each thread nests its own, and each adds its
    seconds, so the stages' sum may exceed the wall time.

    cancel: when set, entering any stage raises ``masker.Cancelled`` (how a
    thread's file stops when the run is interrupted). clock: seconds, monotonic.
    """

    def __init__(self, cancel: Optional[threading.Event] = None, clock: Callable[[], float] = time.perf_counter):
        self.seconds: dict[str, float] = {}
        self.cancel, self.clock = cancel, clock
        self._local = threading.local()  # .inner: per open stage of this thread, seconds nested in it
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, stage: str):
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("interrupted")
        inners = self._local.__dict__.setdefault("inner", [])
        start = self.clock()
        inners.append(0.0)
        try:
            yield
        finally:
            elapsed = self.clock() - start
            inner = inners.pop()
            if inners:
                inners[-1] += elapsed
            with self._lock:
                self.seconds[stage] = self.seconds.get(stage, 0.0) + elapsed - inner


class TimedReads:
    """An input (or a wrapper of one) whose reads are timed as ``stage``.

    The cleaning passes read through a chain of these: the file as "read", the
    hum notches as "dehum", the declicker as "declick"; ``StageTimer`` nests, so
    each stage counts only its own work.
    """

    def __init__(self, inp, timer: StageTimer, stage: str = "read"):
        self.inp, self.info, self.timer, self.stage = inp, inp.info, timer, stage

    def read(self, start: int, stop: int) -> np.ndarray:
        with self.timer(self.stage):
            return self.inp.read(start, stop)


@dataclass
class NoiseProfile:
    power: np.ndarray  # (channels, bins) mean noise power per STFT bin
    source: str  # "non-speech" or "minimum-statistics"
    seconds: float
    spread_db: Optional[float] = None  # how steady the pauses' noise is (None: minimum statistics)

    def floor_dbfs(self, geo: StftGeometry) -> float:
        """Noise RMS level relative to full scale (1.0), by Parseval over the bins."""
        weights = np.full(geo.n_bins, 2.0)
        weights[0] = weights[-1] = 1.0
        variance = (self.power * weights).sum(axis=-1) / (geo.n_fft**2 / 2)
        return float(db(variance.mean()))


def find_speech(inp: AudioInput, opts: CleanOptions, vad: SileroVad, timer: StageTimer,
                block_frames: int) -> list[Segment]:
    """Pass 1: speech segments of the whole file, in samples at its own rate."""
    info = inp.info
    resampler = StreamResampler(info.sample_rate_hz, VAD_SAMPLE_RATE_HZ)
    vad.reset()
    probs = []
    for start in range(0, info.frames, block_frames):
        with timer("read"):
            mono = inp.read(start, min(start + block_frames, info.frames)).mean(axis=0)
        with timer("resample"):
            audio_16k = resampler.process(mono)
            if start + block_frames >= info.frames:
                audio_16k = np.concatenate([audio_16k, resampler.flush()])
        with timer("vad"):
            probs.append(vad.feed(audio_16k, final=start + block_frames >= info.frames))
    with timer("vad"):
        return speech_segments(np.concatenate(probs), info.frames, info.sample_rate_hz, opts.vad)


def estimate_noise(inp: AudioInput, segments: list[Segment], geo: StftGeometry, opts: CleanOptions,
                   timer: StageTimer, block_frames: int) -> NoiseProfile:
    """Pass 2: the noise power spectrum, per channel."""
    info = inp.info
    total = geo.n_frames(info.frames)
    guard = int(opts.spectral.guard_ms * info.sample_rate_hz / 1000)
    is_noise = noise_frames(segments, 0, total, geo.hop, guard)
    noise_s = is_noise.sum() * geo.hop / info.sample_rate_hz
    fallback = noise_s < MIN_NOISE_S
    acc = (MinimumStatistics if fallback else NoiseProfileAccumulator)(info.channels, geo)
    step = max(1, block_frames // geo.hop)
    for f0 in range(0, total, step):
        f1 = min(total, f0 + step)
        if not fallback and not is_noise[f0:f1].any():
            continue
        x = inp.read(*geo.frame_span(f0, f1))  # timed by the source (TimedReads)
        with timer("profile"):
            if fallback:
                acc.add(np.abs(stft_frames(x, geo)) ** 2)
            else:  # transform only the noise frames
                acc.add(np.abs(stft_frames(x, geo, is_noise[f0:f1])) ** 2)
    if fallback:
        return NoiseProfile(acc.result(), "minimum-statistics", acc.seconds)
    return NoiseProfile(acc.result(), "non-speech", acc.seconds, acc.spread_db)


def pause_audio(inp: AudioInput, segments: list[Segment], geo: StftGeometry, opts: CleanOptions,
                max_s: float) -> np.ndarray:
    """Up to ``max_s`` seconds of the mono mix outside guarded speech, pauses joined: (samples,)."""
    rate = inp.info.sample_rate_hz
    guard = int(opts.spectral.guard_ms * rate / 1000)
    quiet = noise_frames(segments, 0, geo.n_frames(inp.info.frames), geo.hop, guard)
    edges = np.flatnonzero(np.diff(np.r_[0, quiet.astype(np.int8), 0]))
    pieces, total = [], 0
    for f0, f1 in zip(edges[::2], edges[1::2]):  # runs of quiet frames
        s0, s1 = max(0, f0 * geo.hop), min(inp.info.frames, f1 * geo.hop)
        if s1 > s0:
            pieces.append(inp.read(s0, s1).mean(axis=0))
            total += s1 - s0
        if total >= max_s * rate:
            break
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


def find_hum(inp: AudioInput, segments: list[Segment], geo: StftGeometry, opts: CleanOptions,
             timer: StageTimer) -> Optional[Hum]:
    """Mains hum and steady tones in the pauses, as far as the options ask and anything is cleaned."""
    if not (opts.dehum or opts.notch_tones) or not (opts.spectral.enabled or opts.model.enabled):
        return None
    with timer("read"):
        pauses = pause_audio(inp, segments, geo, opts, MAX_ANALYSIS_S)
    with timer("dehum"):
        return find_notches(pauses, inp.info.sample_rate_hz, mains=opts.dehum, tones=opts.notch_tones)


def cleaner_passthrough(opts: CleanOptions) -> bool:
    """True when neither subtraction nor model runs: the output is the input."""
    return not (opts.spectral.enabled or opts.model.enabled)


class BlockCleaner:
    """Pass 3: gains for any range of output samples, the same in blocks as whole.

    ``inp`` is what is cleaned (the input hum-notched and declicked, as the options and the file ask);
    ``raw`` (default: ``inp``) is what ``clean`` returns as the input samples;
    ``notched_hz``: the hum harmonics notched out of ``inp``, left out of the tonal floors.
    Consecutive calls share work: the frames (STFT, subtraction gain) and mask
    chunks that a block's chunks reach into the next block are kept and reused,
    not computed twice.
    """

    def __init__(self, inp, noise: NoiseProfile, geo: StftGeometry, opts: CleanOptions,
                 models: Models, timer: StageTimer, raw: Optional[AudioInput] = None,
                 notched_hz: tuple[float, ...] = ()):
        self.inp, self.noise, self.geo, self.opts, self.models = inp, noise, geo, opts, models
        self.raw = raw if raw is not None else inp
        self.timer = timer
        self.band = ModelBandMap(geo)
        self.total_frames = geo.n_frames(inp.info.frames)
        frames_per_s = inp.info.sample_rate_hz / geo.hop
        self.chunk_frames = max(1, round(opts.model.chunk_s * frames_per_s))
        self.overlap_frames = min(self.chunk_frames - 1, round(opts.model.overlap_s * frames_per_s))
        limit = opts.attenuation_limit_db
        self.min_gain = 0.0 if limit is None else 10 ** (-limit / 20)
        hop_ms = 1000.0 * geo.hop / inp.info.sample_rate_hz
        self.smooth_frames = round(opts.gain_smoothing_ms / hop_ms)  # frames averaged on each side
        sp = opts.spectral
        self.over_subtraction = sp.over_subtraction_for(noise.spread_db)
        floor = sp.floor_for(noise.spread_db)
        self.floor = (tonal_floor(noise.power, floor, float(geo.bin_hz[1]), skip_hz=notched_hz)
                      if sp.tonal_floor else floor)  # the subtraction floor: per bin, or one number
        self._carry: Optional[tuple] = None  # (first frame, spec, magnitude, subtraction gain)
        self._masks: dict = {}  # predict_mask's memo of the chunks the next block may share
        self.model_noise = None  # (channels, 161) noise magnitudes, for a net with noise input
        self.runner = None  # what runs the net: the shared masker, else the net on this device
        self.cap_at_one = False  # a mask above one gives back speech, never more than the input
        if opts.model.enabled:
            net = models.dns.model
            self.runner = models.masker or MaskRunner(net, models.device, models.precision == "bfloat16")
            self.cap_at_one = net.dims.mask_max > 1.0
            if net.dims.noise_input:
                self.model_noise = self._linked(self.band.to_model(np.sqrt(noise.power)))

    def _linked(self, model_mag: np.ndarray) -> np.ndarray:
        """(channels, ..., 161) -> one channel of their RMS, with --link-channels; else unchanged."""
        if self.opts.model.link_channels and model_mag.shape[0] > 1:
            return np.sqrt(np.mean(np.square(model_mag), axis=0, keepdims=True))
        return model_mag

    @property
    def passthrough(self) -> bool:
        return cleaner_passthrough(self.opts)

    def _analyse(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
        """Spectra, magnitudes and subtraction gains (None: disabled) of frames [lo, hi).

        Each (channels, hi - lo, bins). Frames kept from the previous call are reused:
        copied into the front of the new arrays, whose rest the transform fills in place.
        """
        carry, start = self._carry, lo
        if carry is not None and carry[0] <= lo < carry[0] + carry[1].shape[1] <= hi:
            start = carry[0] + carry[1].shape[1]
            if start == hi:
                return tuple(a if a is None else a[:, lo - carry[0]:] for a in carry[1:])
        channels, bins = self.inp.info.channels, self.geo.n_bins
        spec = np.empty((channels, hi - lo, bins), np.complex64)
        magnitude = np.empty((channels, hi - lo, bins), np.float32)
        sub = np.empty_like(magnitude) if self.opts.spectral.enabled else None
        arrays = (spec, magnitude, sub)
        kept = start - lo
        if kept:
            for a, c in zip(arrays, carry[1:]):
                if a is not None:
                    a[:, :kept] = c[:, lo - carry[0]:]
        x = self.inp.read(*self.geo.frame_span(start, hi))  # timed by the source (TimedReads)
        with self.timer("spectral"):
            stft_frames(x, self.geo, out=spec[:, kept:])
            np.abs(spec[:, kept:], out=magnitude[:, kept:])
            if sub is not None:
                power = np.square(magnitude[:, kept:], out=sub[:, kept:])
                subtraction_gain(power, self.noise.power, self.over_subtraction, self.floor, out=power)
        return arrays

    def _keep(self, lo: int, stop: int, arrays: tuple) -> None:
        """Keep the frames the next block can reach back to (from stop - smoothing - chunk - 2 on)."""
        reach = self.smooth_frames + (self.chunk_frames if self.opts.model.enabled else 0)
        keep = max(lo, stop - reach - 2)
        self._carry = (keep,) + tuple(None if a is None else a[:, keep - lo:].copy() for a in arrays)

    def clean(self, s0: int, s1: int) -> tuple[np.ndarray, np.ndarray]:
        """(input, cleaned) samples [s0, s1), each (channels, s1 - s0); s0 a multiple of hop."""
        if self.passthrough:
            with self.timer("read"):
                x = self.inp.read(s0, s1)
            return x, x
        block = self.prepare(s0, s1)
        return self.finish(block, self.masks(block))

    def blocks(self, step: int, model_thread: bool = False) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
        """(s0, s1, input, cleaned) for the file in consecutive blocks of ``step`` samples.

        model_thread: run each block's mask model in a second thread while this one
        analyses the next block and finishes the one before (for a file with a spare
        core). The numbers are the same either way: every block's chunks are batched as
        they would be, and the model thread runs the blocks in order, so the chunks two
        blocks share are computed once, by the first. Two blocks are in flight at most.
        """
        spans = [(s0, min(self.inp.info.frames, s0 + step)) for s0 in range(0, self.inp.info.frames, step)]
        if not model_thread or self.passthrough or not self.opts.model.enabled:
            for s0, s1 in spans:
                yield (s0, s1, *self.clean(s0, s1))
            return
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(1, thread_name_prefix="denoise-model")
        pending: deque = deque()  # (block, its mask's future), oldest first
        try:
            for s0, s1 in spans:
                block = self.prepare(s0, s1)
                pending.append((block, pool.submit(self.masks, block)))
                if len(pending) == 2:
                    done, mask = pending.popleft()
                    yield (done.s0, done.s1, *self.finish(done, mask.result()))
            while pending:
                done, mask = pending.popleft()
                yield (done.s0, done.s1, *self.finish(done, mask.result()))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # a block the model is on ends first

    def prepare(self, s0: int, s1: int) -> _Block:
        """The analysis of block [s0, s1): frames, subtraction gains and the model's input."""
        hop = self.geo.hop
        first, stop = s0 // hop, min(self.total_frames, -(-s1 // hop) + 1)
        r = self.smooth_frames
        g0, g1 = max(0, first - r), min(self.total_frames, stop + r)  # the frames whose gains are smoothed
        lo, hi = g0, g1
        chunks = []
        if self.opts.model.enabled:
            chunks = chunks_touching(g0, g1, self.total_frames, self.chunk_frames, self.overlap_frames)
            lo, hi = min(lo, chunks[0][0]), max(hi, chunks[-1][1])
        spec, magnitude, sub = self._analyse(lo, hi)
        self._keep(lo, stop, (spec, magnitude, sub))
        model_mag = None
        if self.opts.model.enabled:
            with self.timer("model"):
                model_mag = self._linked(self.band.to_model(magnitude if sub is None else magnitude * sub))
        return _Block(s0, s1, first, stop, lo, g0, g1, chunks, spec, magnitude, sub, model_mag)

    def masks(self, block: _Block) -> Optional[np.ndarray]:
        """The model's mask for the block's smoothed frames, (channels, g1 - g0, 161); None
        without the model. Blocks must come in order (consecutive blocks share chunks)."""
        if block.model_mag is None:
            return None
        with self.timer("model"):
            wanted = set(block.chunks)
            memo = {k: v for k, v in self._masks.items() if k[1:] in wanted}
            mask = predict_mask(self.models.dns.model, block.model_mag, block.lo, block.chunks, block.g0, block.g1,
                                self.overlap_frames, self.models.device, self.opts.model.batch_size,
                                memo=memo, runner=self.runner, noise=self.model_noise)
            self._masks = {k: v for k, v in memo.items() if k[2] > block.stop - self.smooth_frames - 2}
            return mask

    def finish(self, block: _Block, mask: Optional[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(input, cleaned) samples of the block, given its mask (None: no model)."""
        hop, r = self.geo.hop, self.smooth_frames
        near = slice(block.g0 - block.lo, block.g1 - block.lo)
        # gain is worked on in place from here: sub's frames the next block needs were copied by _keep
        gain = block.sub[:, near] if block.sub is not None else np.ones_like(block.magnitude[:, near])
        if mask is not None:
            with self.timer("model"):
                gain *= self.band.from_model(mask, block.model_mag[:, near] ** 2)
        with self.timer("spectral"):
            gain = smooth_over_frames(gain, r, block.first - block.g0, block.g1 - block.stop)
            if self.min_gain > 0:  # every gain is a product of non-negative ones
                np.maximum(gain, self.min_gain, out=gain)
            if self.cap_at_one:
                np.minimum(gain, 1.0, out=gain)
            keep = slice(block.first - block.lo, block.stop - block.lo)
            out = overlap_add(block.spec[:, keep] * gain, self.geo)
            offset = (block.first - 1) * hop
        with self.timer("read"):
            return self.raw.read(block.s0, block.s1), out[:, block.s0 - offset : block.s1 - offset]


@dataclass
class _Block:
    """One block of the clean pass between ``BlockCleaner.prepare`` and ``finish``.

    Samples [s0, s1); frames [first, stop) are output, [g0, g1) have their gains
    smoothed, and spec, magnitude, sub (None: no subtraction) and model_mag (the
    model's input, None without it) hold frames [lo, ...), chunks the model's.
    """

    s0: int
    s1: int
    first: int
    stop: int
    lo: int
    g0: int
    g1: int
    chunks: list
    spec: np.ndarray
    magnitude: np.ndarray
    sub: Optional[np.ndarray]
    model_mag: Optional[np.ndarray]


class LevelMeter:
    """Mean power inside speech segments and in guarded non-speech, over all channels."""

    def __init__(self):
        self.sums = np.zeros(2)
        self.counts = np.zeros(2)

    def add(self, block: np.ndarray, speech: list[tuple[int, int]], noise: list[tuple[int, int]]) -> None:
        """block: (channels, n); speech, noise: sample ranges [lo, hi) of the block."""
        power = np.einsum("cn,cn->n", block, block)  # summed over channels, per sample
        for i, spans in enumerate((speech, noise)):
            self.sums[i] += sum(float(power[lo:hi].sum(dtype=np.float64)) for lo, hi in spans) / block.shape[0]
            self.counts[i] += sum(hi - lo for lo, hi in spans)

    def snr_db(self) -> Optional[float]:
        """(speech - noise) / noise power in dB, rounded to 0.01; None without both kinds of
        span, or when the segments are no louder than the pauses (no speech power to measure)."""
        if not self.counts.all():
            return None
        speech, noise = self.sums / self.counts
        if speech <= noise:
            return None
        return round(float(db((speech - noise) / max(noise, 1e-20))), 2)


def _fade_envelope(segments: list[Segment], s0: int, s1: int, fade: int) -> np.ndarray:
    env = np.zeros(s1 - s0, dtype=np.float32)
    for s in segments:
        lo, hi = max(s.start, s0), min(s.end, s1)
        if hi > lo:
            i = np.arange(lo, hi)
            env[lo - s0 : hi - s0] = np.minimum(1.0, np.minimum(i - s.start + 1, s.end - i) / fade)
    return env


def output_info(info: AudioInfo, opts: CleanOptions) -> tuple[str, str]:
    """(container, subtype) of the output for an input."""
    fmt = opts.output_format.upper() if opts.output_format else info.format
    return fmt, output_subtype(info, fmt)


def clean_file(src: str | Path, dst: str | Path, opts: CleanOptions, models: Models,
               report_path: str | Path | None = None, plot_path: str | Path | None = None,
               label_paths: Optional[dict[str, Path]] = None, background_io: bool = False,
               model_thread: Optional[bool] = None) -> dict:
    """Clean one file into ``dst`` (written atomically) and return its report.

    background_io: decode the input ahead and encode the output behind in two
    background threads (``AudioInput``'s ``decode_ahead``, ``WriteBehind``),
    for a file that has a spare core; the report's "read" and "write" then count
    only the time the passes waited for them. model_thread (default: as
    background_io): run the mask model in a third thread, beside the analysis of
    the next block (``BlockCleaner.blocks``); its seconds then overlap the other
    stages'. The output is the same either way.

    Also written when given, each atomically: the report as JSON to
    ``report_path``; a PNG of the input and output spectrograms to ``plot_path``
    (needs matplotlib; the output is drawn before --speech-only cuts it, on the
    input's timeline); label files to ``label_paths`` ({"audacity"|"vtt": path}).
    Raises the typed errors of ``errors.py`` for bad inputs and unwritable outputs.
    """
    started = time.perf_counter()
    timer = StageTimer(models.cancel)
    src, dst = Path(src), Path(dst)
    with timer("read"):
        inp = AudioInput(src, cache_s=opts.block_s, window_s=2 * opts.block_s,
                         cache_bytes=int(opts.decoded_cache_mb * 2**20),
                         spill_dir=_existing_folder(dst.parent) if opts.spill_decoded else None,
                         decode_ahead=background_io)
    with inp:
        info = inp.info
        block_frames = max(1, int(opts.block_s * info.sample_rate_hz))
        geo = StftGeometry(info.sample_rate_hz)
        segments = find_speech(inp, opts, models.vad, timer, block_frames)
        hum = find_hum(inp, segments, geo, opts, timer)
        source = TimedReads(inp, timer)
        if hum is not None:
            with timer("dehum"):
                source = TimedReads(NotchedInput(source, notch_sos(hum, info.sample_rate_hz), 2 * geo.hop,
                                                 block_frames, hum.periodic_s), timer, "dehum")
        if opts.declick and not cleaner_passthrough(opts):
            source = TimedReads(ClickSuppressedInput(source, geo), timer, "declick")
        noise = estimate_noise(source, segments, geo, opts, timer, block_frames)
        cleaner = BlockCleaner(source, noise, geo, opts, models, timer, raw=inp,
                               notched_hz=hum.all_hz if hum is not None else ())
        fmt, subtype = output_info(info, opts)
        guard = int(opts.spectral.guard_ms * info.sample_rate_hz / 1000)
        fade = max(1, int(SPEECH_ONLY_FADE_MS * info.sample_rate_hz / 1000))
        before, after = LevelMeter(), LevelMeter()
        sketches = None
        if plot_path is not None:
            sketches = tuple(SpectrogramSketch(info.sample_rate_hz, info.frames) for _ in range(2))
        step = max(geo.hop, block_frames // geo.hop * geo.hop)
        blocks = cleaner.blocks(step, background_io if model_thread is None else model_thread)
        with AtomicWriter(dst, info.sample_rate_hz, info.channels, fmt, subtype) as atomic, \
                (WriteBehind(atomic) if background_io else nullcontext(atomic)) as writer, \
                closing(blocks):  # on any error the model thread is stopped before the file goes
            for s0, s1, noisy, out in blocks:
                speech = speech_spans(segments, s0, s1)
                quiet = gaps(speech_spans(segments, s0, s1, guard), s1 - s0)
                before.add(noisy, speech, quiet)
                after.add(out, speech, quiet)
                if sketches:
                    with timer("plot"):
                        sketches[0].add(noisy)
                        sketches[1].add(out)
                if opts.speech_only:
                    keep = speech_sample_mask(segments, s0, s1)
                    out = (out * _fade_envelope(segments, s0, s1, fade))[:, keep]
                with timer("write"):
                    writer.write(out)
    total_s = time.perf_counter() - started
    report = file_report(src, dst, info, fmt, subtype, segments, noise, hum, geo, before, after, opts,
                         models, timer, total_s)
    if report_path is not None:
        write_json(Path(report_path), report)
    if sketches:
        write_plot(plot_data(src, info, report, noise, geo, sketches), Path(plot_path))
    for kind, path in (label_paths or {}).items():
        write_text_atomic(Path(path), LABEL_RENDERERS[kind](report["segments"]))
    return report


def _existing_folder(folder: Path) -> Optional[Path]:
    """``folder`` or its nearest existing parent (the output's folder may not exist yet)."""
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            return candidate
    return None


def plot_data(src: Path, info: AudioInfo, report: dict, noise: "NoiseProfile", geo: StftGeometry,
              sketches) -> PlotData:
    """What the picture of one cleaned file shows."""
    return PlotData(
        title=shown(src.name), duration_s=info.duration_s, sample_rate_hz=info.sample_rate_hz,
        before=sketches[0], after=sketches[1],
        segments_s=[(s["start_s"], s["end_s"]) for s in report["segments"]],
        noise_freqs_hz=geo.bin_hz, noise_db=profile_db(noise.power, geo.window),
        noise_source=noise.source,
        snr_before_db=report["snr_estimate_db"]["before"], snr_after_db=report["snr_estimate_db"]["after"])


def file_report(src, dst, info, fmt, subtype, segments, noise, hum, geo, before, after, opts, models,
                timer, total_s) -> dict:
    """The per-file report dict (schema in the README)."""
    rate = info.sample_rate_hz
    segs, out_t = [], 0
    for s in segments:
        entry = {"start_s": round(s.start / rate, 3), "end_s": round(s.end / rate, 3),
                 "duration_s": round((s.end - s.start) / rate, 3)}
        if opts.speech_only:
            entry |= {"output_start_s": round(out_t / rate, 3),
                      "output_end_s": round((out_t + s.end - s.start) / rate, 3)}
            out_t += s.end - s.start
        segs.append(entry)
    speech_samples = sum(s.end - s.start for s in segments)
    dns = models.dns if opts.model.enabled else None
    return {
        "schema_version": SCHEMA_VERSION,
        "denoise_version": __version__,
        "status": CLEANED,
        "input": str(src),
        "output": str(dst),
        "sample_rate_hz": rate,
        "channels": info.channels,
        "duration_s": round(info.duration_s, 3),
        "input_format": {"container": info.format, "subtype": info.subtype},
        "output_format": {"container": fmt, "subtype": subtype},
        "segments": segs,
        "speech_ratio": round(speech_samples / info.frames, 4),
        "noise_profile": {"source": noise.source, "seconds": round(noise.seconds, 3),
                          "level_spread_db": noise.spread_db,
                          "over_subtraction": (opts.spectral.over_subtraction_for(noise.spread_db)
                                               if opts.spectral.enabled else None),
                          "spectral_floor": (opts.spectral.floor_for(noise.spread_db)
                                             if opts.spectral.enabled else None)},
        "noise_floor_dbfs": round(noise.floor_dbfs(geo), 2),
        "hum": hum.to_dict() if hum is not None else None,
        "snr_estimate_db": {"before": before.snr_db(), "after": after.snr_db()},
        "stages": {"vad": True, "spectral": opts.spectral.enabled, "dns": opts.model.enabled},
        "settings": asdict(opts),
        "checkpoint": ({"sha256": dns.sha256, "path": dns.path, "precision": models.precision}
                       if dns else None),
        "timings_s": {k: round(v, 4) for k, v in timer.seconds.items()} | {"total": round(total_s, 4)},
        "real_time_factor": round(total_s / info.duration_s, 5),
    }
