"""Training the DNS mask model: mixtures -> the pipeline's front end -> mask loss.

Each example is 4 s of clean speech (utterances of one speaker joined with
random pauses) plus noise (a recording from the noise folder, a synthetic
generator, or, for ``babble_share`` of examples, babble of other training
speakers) at an SNR drawn from ``snr_db_range``, at a random level. The noise
profile is estimated the way the pipeline does it: the mean power of a further
stretch of the same noise (the "non-speech spans" of the file) or, for a share
of examples, minimum statistics over the mixture. The model's input is the
spectral-subtraction output magnitude, exactly what it sees at run time; the
loss compares the masked magnitude with the clean one after power-law
compression (|.|**0.3), which weights quiet speech fairly.

Training is deterministic for a seed (each step draws from its own seeded
generator) and resumable from ``run_dir/last.pt``. Because a step's batch depends
on the seed and the step alone, ``data_workers`` processes can make batches ahead
of the model (a torch DataLoader) without changing a single draw: the weights are
the same with or without them.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import soundfile as sf
import torch
from scipy.signal import resample_poly

from .audio import resample_ratio
from .augment import AugmentOptions, augment_speech
from .batch import walk_audio
from .config import (HOP_MS, MODEL_BIN_HZ, MODEL_SAMPLE_RATE_HZ, TRAIN_FLOOR, TRAIN_OVER_SUBTRACTION,
                     TRAIN_SNR_DB_RANGE, SpectralOptions)
from .errors import UsageError
from .losses import chain_estimate, envelope_loss, loudness_loss, magnitude_loss
from .model import SIZES, VARIANTS, MaskNet, ModelDims, widen_from
from .noises import GENERATORS, mix_at_snr
from .spectral import MinimumStatistics, NoiseProfileAccumulator, StftGeometry, stft, subtraction_gain, tonal_floor
from .weights import file_sha256, load_checkpoint, save_checkpoint

BABBLE_TALKERS = (3, 8)  # how many voices a babble example sums (inclusive)
BABBLE_GAP_S = (0.0, 0.3)  # pauses between one babble talker's utterances
LATER_OPTIONS = {"babble_share": 0.0, "stoi_weight": 0.0, "pesq_weight": 0.0, "gain_smoothing_ms": 0.0,
                 "quiet_weight": 1.0}  # options added after runs had begun: left out of a recipe at these values
# options that say where and how a run goes, not what it learns: left out of the recipe and the record
RUN_ONLY = ("out", "run_dir", "log_every", "checkpoint_every", "device", "data_workers")


@dataclass(frozen=True)
class TrainOptions:
    speech_dir: str
    noise_dir: Optional[str]
    out: str
    speakers: Optional[tuple[str, ...]] = None  # subfolders of speech_dir to use (None: all)
    run_dir: str = "runs/dns"
    steps: int = 6000
    batch_size: int = 32
    example_s: float = 4.0
    profile_s: float = 3.0
    lr: float = 1e-3
    snr_db_range: tuple[float, float] = TRAIN_SNR_DB_RANGE
    level_dbfs_range: tuple[float, float] = (-40.0, -12.0)
    synthetic_noise_share: float = 0.4
    # share of examples whose noise is babble: BABBLE_TALKERS other training speakers talking at
    # once, made on the fly (0: none, and the draws of every example are those of older runs)
    babble_share: float = 0.0
    minstat_share: float = 0.15
    valid_examples: int = 128
    log_every: int = 50
    checkpoint_every: int = 250
    seed: int = 0
    under_weight: float = 1.0  # loss weight where the estimate is below the clean magnitude
    stoi_weight: float = 0.0  # weight of losses.envelope_loss (STOI-like) added to the masked-magnitude MSE
    pesq_weight: float = 0.0  # weight of losses.loudness_loss (PESQ-like) added to it too
    quiet_weight: float = 1.0  # loss weight on residual noise in quiet frames (losses.magnitude_loss)
    # train through the chain's gain smoothing (CleanOptions.gain_smoothing_ms) and its cap at one:
    # every loss term sees the output the chain would make with the mask (0: the masked input)
    gain_smoothing_ms: float = 0.0
    # the training front end: one floor (no tonal floors), as the shipped model was trained
    spectral: SpectralOptions = SpectralOptions(over_subtraction=TRAIN_OVER_SUBTRACTION, floor=TRAIN_FLOOR,
                                                steady_over_subtraction=None, steady_floor=None, tonal_floor=False)
    augment: AugmentOptions = AugmentOptions()
    device: str = "cpu"  # where the model trains; data is made on the CPU
    data_workers: int = 0  # processes making batches ahead of the model (0: in the training process)
    init: Optional[str] = None  # start from this checkpoint's weights (and its normalisation)
    noise_input: bool = False  # the net also sees the noise profile (ModelDims.noise_input)
    mask_max: float = 1.0  # the mask's upper bound (ModelDims.mask_max)
    conv_channels: int = ModelDims.conv_channels  # the net's size (ModelDims; SIZES)
    lstm_hidden: int = ModelDims.lstm_hidden
    kernel_size: int = ModelDims.kernel_size  # odd, so the convolutions keep the frame count

    def __post_init__(self):
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise UsageError(f"kernel size {self.kernel_size}: must be odd (1, 3, 5, ...)")
        low, high = self.snr_db_range
        if low > high:
            raise UsageError(f"SNR range {low:g} to {high:g} dB: the lowest is above the highest")

    def dims(self) -> ModelDims:
        return ModelDims(**{k: getattr(self, k) for k in VARIANTS + SIZES})

    @property
    def smooth_frames(self) -> int:
        """Frames averaged on each side of a frame's gain, as the pipeline rounds them."""
        return round(self.gain_smoothing_ms / HOP_MS)


def load_folder(folder: str | os.PathLike, by_subfolder: bool,
                only: Optional[tuple[str, ...]] = None) -> list[list[np.ndarray]]:
    """Every audio file under ``folder`` as 16 kHz mono float32.

    by_subfolder: group files by their first-level subfolder (a speaker); else
    one group per file. only: with by_subfolder, the subfolders to use.
    Returns the groups as lists of arrays.
    """
    folder = Path(folder)
    groups: dict[str, list[np.ndarray]] = {}
    for path in walk_audio(folder):
        if only is not None and path.relative_to(folder).parts[0] not in only:
            continue
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
        audio = audio.mean(axis=1)
        if rate != MODEL_SAMPLE_RATE_HZ:
            audio = resample_poly(audio, *resample_ratio(rate, MODEL_SAMPLE_RATE_HZ)).astype(np.float32)
        key = path.relative_to(folder).parts[0] if by_subfolder else str(path)
        groups.setdefault(key, []).append(audio)
    if not groups:
        raise UsageError(f"{folder}: no .wav or .flac files")
    return list(groups.values())


def run_together(rng, utterances: list[np.ndarray], min_samples: int, gap_s: tuple[float, float]) -> np.ndarray:
    """Random utterances, each followed by a pause uniform in ``gap_s``, until ``min_samples``: (samples,)."""
    parts, total = [], 0
    while total < min_samples:
        u = utterances[rng.integers(len(utterances))]
        gap = np.zeros(int(rng.uniform(*gap_s) * MODEL_SAMPLE_RATE_HZ), np.float32)
        parts += [u, gap]
        total += u.size + gap.size
    return np.concatenate(parts)


class MixtureMaker:
    """Draws training examples: (model-scale SS magnitude, clean magnitude), 16 kHz."""

    def __init__(self, speakers, noises, opts: TrainOptions):
        self.speakers, self.noises, self.opts = speakers, noises, opts
        self.geo = StftGeometry(MODEL_SAMPLE_RATE_HZ)
        self.n = int(opts.example_s * MODEL_SAMPLE_RATE_HZ)

    def _speech(self, rng) -> tuple[np.ndarray, int]:
        """4 s of one speaker's utterances with pauses, and that speaker's index."""
        speaker = int(rng.integers(len(self.speakers)))
        utterances = self.speakers[speaker]
        lead = np.zeros(int(rng.uniform(0, 0.8) * MODEL_SAMPLE_RATE_HZ), np.float32)
        x = np.concatenate([lead, run_together(rng, utterances, self.n + MODEL_SAMPLE_RATE_HZ, (0.05, 1.0))])
        start = rng.integers(0, max(1, x.size - self.n))
        return x[start : start + self.n], speaker

    def _babble(self, rng, n: int, exclude: int) -> np.ndarray:
        """(n,) unit-RMS sum of BABBLE_TALKERS voices, each one speaker's utterances run together.

        The talkers are drawn from the speakers other than ``exclude`` (the example's
        own), or from all of them when there is no other; each is scaled to unit RMS
        before the sum, so no voice dominates.
        """
        others = [i for i in range(len(self.speakers)) if i != exclude] or [exclude]
        mix = np.zeros(n, np.float64)
        for _ in range(int(rng.integers(BABBLE_TALKERS[0], BABBLE_TALKERS[1] + 1))):
            utterances = self.speakers[others[rng.integers(len(others))]]
            voice = run_together(rng, utterances, 2 * n, BABBLE_GAP_S)
            start = rng.integers(0, voice.size - n + 1)
            voice = voice[start : start + n]
            mix += voice / (np.sqrt(np.mean(voice.astype(np.float64) ** 2)) + 1e-8)
        return (mix / (np.sqrt(np.mean(mix**2)) + 1e-8)).astype(np.float32)

    def _noise(self, rng, n: int, speaker: int) -> np.ndarray:
        if self.opts.babble_share > 0 and rng.random() < self.opts.babble_share:
            return self._babble(rng, n, speaker)
        if not self.noises or rng.random() < self.opts.synthetic_noise_share:
            name = sorted(GENERATORS)[rng.integers(len(GENERATORS))]
            return GENERATORS[name](rng, n, MODEL_SAMPLE_RATE_HZ)
        rec = self.noises[rng.integers(len(self.noises))][0]
        if rec.size < n:
            rec = np.tile(rec, n // rec.size + 1)
        start = rng.integers(0, rec.size - n + 1)
        x = rec[start : start + n]
        return x / (np.sqrt(np.mean(x * x)) + 1e-8)

    def _spread_db(self, context_power: np.ndarray) -> Optional[float]:
        """How steady the profile's noise is, as the pipeline measures a file's pauses (only
        when the front end has steady settings: otherwise None, and no work)."""
        sp = self.opts.spectral
        if sp.steady_over_subtraction is None and sp.steady_floor is None:
            return None
        acc = NoiseProfileAccumulator(1, self.geo)
        acc.add(context_power)
        return acc.spread_db

    def example(self, rng) -> tuple[np.ndarray, np.ndarray]:
        """Returns (input, target): (frames, 161) float32 each, or (frames, 322) input with noise input.

        With gain smoothing the target is (frames, 322): the clean magnitudes, then
        the noisy ones the subtraction worked on (``chain_estimate`` needs both).
        """
        o = self.opts
        speech, speaker = self._speech(rng)
        clean, target_speech = augment_speech(rng, speech, MODEL_SAMPLE_RATE_HZ, o.augment)
        profile_n = int(o.profile_s * MODEL_SAMPLE_RATE_HZ)
        noise = self._noise(rng, self.n + profile_n, speaker)
        snr = rng.uniform(*o.snr_db_range)
        noisy_all = mix_at_snr(np.concatenate([clean, np.zeros(profile_n, np.float32)]), noise,
                               snr, MODEL_SAMPLE_RATE_HZ)
        peak_level = 10 ** (rng.uniform(*o.level_dbfs_range) / 20) / (np.sqrt(np.mean(clean**2)) + 1e-8)
        gain = min(peak_level, 0.99 / (np.abs(noisy_all).max() + 1e-8))
        noisy, context = noisy_all[: self.n] * gain, noisy_all[self.n :] * gain
        spec = stft(noisy[None], self.geo)
        power = np.abs(spec) ** 2
        if rng.random() < o.minstat_share:
            ms = MinimumStatistics(1, self.geo)
            ms.add(power)
            noise_power = ms.result()
            spread_db = None  # no pauses to judge, as in the pipeline
        else:
            context_power = np.abs(stft(context[None], self.geo)) ** 2
            noise_power = context_power.mean(axis=1)
            spread_db = self._spread_db(context_power)
        sp = o.spectral
        base_floor, alpha = sp.floor_for(spread_db), sp.over_subtraction_for(spread_db)
        floor = tonal_floor(noise_power, base_floor, MODEL_BIN_HZ) if sp.tonal_floor else base_floor
        g = subtraction_gain(power, noise_power, alpha, floor)
        noisy_mag = np.abs(spec[0])
        ss = noisy_mag * g[0]
        target = np.abs(stft((target_speech * gain)[None], self.geo)[0])
        if o.noise_input:  # the profile as the pipeline gives it: sqrt of the mean power, every frame
            ss = np.concatenate([ss, np.broadcast_to(np.sqrt(noise_power), ss.shape)], axis=1)
        if o.smooth_frames:
            target = np.concatenate([target, noisy_mag], axis=1)
        return ss.astype(np.float32), target.astype(np.float32)

    def batch(self, seed: tuple) -> tuple[torch.Tensor, torch.Tensor]:
        """A batch as (batch, 161, frames) tensors, fully determined by ``seed``."""
        rng = np.random.default_rng(seed)
        pairs = [self.example(rng) for _ in range(self.opts.batch_size)]
        x = torch.from_numpy(np.stack([p[0].T for p in pairs]))
        y = torch.from_numpy(np.stack([p[1].T for p in pairs]))
        return x, y


class StepBatches(torch.utils.data.Dataset):
    """Map-style view of the training batches: item i is step ``first + i``'s batch."""

    def __init__(self, maker: MixtureMaker, seed: int, first: int, last: int):
        self.maker, self.seed, self.first, self.last = maker, seed, first, last

    def __len__(self) -> int:
        return self.last - self.first

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.maker.batch((self.seed, 3, self.first + i))


BATCHES_AHEAD = 4  # batches each data worker keeps ready
MAX_AUTO_DATA_WORKERS = 8


def default_data_workers(device: str, cores: int) -> int:
    """How many batch-making processes a run gets when not told.

    On the CPU none: the model's threads already use every core, and on 2 cores a
    worker beside them did not speed a step up (README: "Training speed"). With a GPU the model's step
    is short and the batches, made on the CPU, would keep it waiting: one worker per
    core but the training process's own, at most MAX_AUTO_DATA_WORKERS.
    """
    return 0 if device == "cpu" else max(1, min(MAX_AUTO_DATA_WORKERS, cores - 1))


def training_batches(maker: MixtureMaker, seed: int, first: int, last: int, workers: int,
                     device: torch.device) -> torch.utils.data.DataLoader:
    """The batches of steps ``first`` .. ``last - 1`` in order, as (batch, 161 or 322, frames) tensors.

    workers: 0 makes each batch in this process before its step; more start that
    many worker processes (forked where the platform can, so they share the loaded
    audio) that make batches ahead while the model trains. Either way a batch is
    the one its seed and step decide.
    """
    import multiprocessing

    ahead = {}
    if workers:
        ahead = {"prefetch_factor": BATCHES_AHEAD,
                 "multiprocessing_context": "fork" if "fork" in multiprocessing.get_all_start_methods() else None}
    return torch.utils.data.DataLoader(StepBatches(maker, seed, first, last), batch_size=None, shuffle=False,
                                       num_workers=workers, pin_memory=device.type == "cuda", **ahead)


GRAD_CLIP_NORM = 5.0


def estimate(mask: torch.Tensor, x: torch.Tensor, y: torch.Tensor, smooth_frames: int = 0
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """(estimated, clean) magnitudes of a batch: the masked input, or with ``smooth_frames``
    the chain's output (``losses.chain_estimate``; y then holds the noisy magnitudes too)."""
    n = mask.shape[1]
    if not smooth_frames:
        return mask * x[:, :n], y
    return chain_estimate(mask, x, y[:, n:], smooth_frames), y[:, :n]


def optimise_step(model: MaskNet, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
                  under_weight: float, stoi_weight: float = 0.0, pesq_weight: float = 0.0,
                  smooth_frames: int = 0, quiet_weight: float = 1.0) -> float:
    """One training step on a batch (x: model input, y: clean magnitudes, both on the model's
    device): the masked loss (plus ``stoi_weight`` times the envelope loss and ``pesq_weight``
    times the loudness loss of the masked magnitudes; ``quiet_weight`` on residual noise in
    quiet frames, ``losses.magnitude_loss``), its gradients clipped to
    GRAD_CLIP_NORM, one optimiser step. With ``smooth_frames`` every term sees the chain's
    output instead of the masked input (``estimate``).
    Returns the loss before the step (waiting for the device)."""
    model.train()
    est, y = estimate(model(x), x, y, smooth_frames)
    loss = magnitude_loss(est, y, under_weight, quiet_weight)
    if stoi_weight:
        loss = loss + stoi_weight * envelope_loss(est, y)
    if pesq_weight:
        loss = loss + pesq_weight * loudness_loss(est, y)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP_NORM)
    optimizer.step()
    return loss.item()


def _set_normalisation(model: MaskNet, maker: MixtureMaker, seed: int) -> None:
    x, _ = maker.batch((seed, 1))
    logp = torch.log10(x[:, : model.dims.n_bins].square() + 1e-10)  # (batch, bins, frames)
    model.feat_mean.copy_(logp.mean(dim=(0, 2)))
    model.feat_std.copy_(logp.std(dim=(0, 2)).clamp_min(1e-3))


def train(opts: TrainOptions, log: Callable[[str], None] = print) -> str:
    """Train (or resume) and write the final checkpoint to ``opts.out``; returns its SHA-256."""
    torch.manual_seed(opts.seed)
    speakers = load_folder(opts.speech_dir, by_subfolder=True, only=opts.speakers)
    noises = load_folder(opts.noise_dir, by_subfolder=False) if opts.noise_dir else []
    speech_s = sum(u.size for s in speakers for u in s) / MODEL_SAMPLE_RATE_HZ
    noise_s = sum(n[0].size for n in noises) / MODEL_SAMPLE_RATE_HZ
    log(f"data: {len(speakers)} speakers, {speech_s / 3600:.2f} h speech; "
        f"{len(noises)} noise recordings, {noise_s / 60:.1f} min, plus {len(GENERATORS)} synthetic kinds")
    maker = MixtureMaker(speakers, noises, opts)
    device = torch.device(opts.device)
    model = MaskNet(opts.dims()).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=opts.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, opts.steps) / opts.steps)))
    run_dir = Path(opts.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    resume = run_dir / "last.pt"
    step, history = 0, []
    recipe = _recipe(opts)
    if resume.exists():
        state = torch.load(resume, map_location="cpu", weights_only=True)
        if state.get("recipe") != recipe:
            raise UsageError(f"{resume} belongs to a run with other settings or data; "
                             "choose another --run-dir or delete it")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        step, history = state["step"], json.loads(state["history"])
        log(f"resumed from {resume} at step {step}")
    elif opts.init:
        start_from(model, load_checkpoint(opts.init).model, opts.init, log)
    else:
        _set_normalisation(model, maker, opts.seed)
    valid = [tuple(t.to(device) for t in maker.batch((opts.seed, 2, i)))
             for i in range(max(1, opts.valid_examples // opts.batch_size))]
    started, elapsed_before = time.time(), sum(h.get("seconds", 0) for h in history[-1:])
    running = []
    for x, y in training_batches(maker, opts.seed, step, opts.steps, opts.data_workers, device):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        running.append(optimise_step(model, optimizer, x, y, opts.under_weight, opts.stoi_weight,
                                     opts.pesq_weight, opts.smooth_frames, opts.quiet_weight))
        schedule.step()
        step += 1
        if step % opts.log_every == 0 or step == opts.steps:
            v = validate(model, valid, opts.smooth_frames)
            seconds = elapsed_before + time.time() - started
            history.append({"step": step, "train_loss": float(np.mean(running)), "valid_loss": v,
                            "seconds": seconds})
            log(f"step {step}/{opts.steps}  train {np.mean(running):.4f}  valid {v:.4f}  "
                f"lr {schedule.get_last_lr()[0]:.2e}  {seconds / 60:.1f} min")
            running = []
        if step % opts.checkpoint_every == 0 or step == opts.steps:
            _save_run_state(resume, model, optimizer, schedule, step, history, recipe)
    model.to("cpu")
    record = {"options": {k: v for k, v in asdict(opts).items() if k not in RUN_ONLY},
              "speakers": len(speakers), "speech_hours": round(speech_s / 3600, 3),
              "noise_recordings": len(noises),
              "init_sha256": file_sha256(opts.init) if opts.init else None, "history": history[-1:] if history else [],
              "torch": str(torch.__version__)}
    return save_checkpoint(model, opts.out, training=record)


def _save_run_state(path: Path, model: MaskNet, optimizer: torch.optim.Optimizer, schedule, step: int,
                    history: list[dict], recipe: str) -> None:
    """Write the resumable state (``last.pt``) atomically: weights, optimiser, schedule, step, log."""
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(), "step": step,
                "history": json.dumps(history), "recipe": recipe}, path.with_suffix(".tmp"))
    os.replace(path.with_suffix(".tmp"), path)


def start_from(model: MaskNet, start: MaskNet, name: str, log: Callable[[str], None] = print) -> None:
    """Copy ``start``'s weights and normalisation into ``model`` (``--init``).

    The two may differ in ``mask_max``: the output bias is then shifted by
    ln(old / new), so that small masks (where mask_max * sigmoid(z) is about
    mask_max * e**z) start where they were, and the run learns the rest. They
    may also differ in size, ``model`` being as large or larger in
    ``conv_channels`` and ``lstm_hidden``: ``model.widen_from`` then grows the
    net with the same output. Any other difference is a UsageError.
    """
    try:
        widen_from(model, start)
    except ValueError:
        raise UsageError(f"--init {name}: its model ({start.dims}) differs from this run's ({model.dims})") from None
    said = f"starting from {name}"
    if (start.dims.conv_channels, start.dims.lstm_hidden) != (model.dims.conv_channels, model.dims.lstm_hidden):
        said += (f", grown from {start.dims.conv_channels} conv channels and {start.dims.lstm_hidden} LSTM units "
                 f"to {model.dims.conv_channels} and {model.dims.lstm_hidden}")
    if start.dims.mask_max != model.dims.mask_max:
        with torch.no_grad():
            model.conv_out.bias += math.log(start.dims.mask_max / model.dims.mask_max)
        said += f", its mask bound {start.dims.mask_max:g} now {model.dims.mask_max:g}"
    log(said)


def _recipe(opts: TrainOptions) -> str:
    """The options that decide the weights (not where they go), to check a resume against.

    The model variants and sizes, ``LATER_OPTIONS`` and the spectral options'
    ``tonal_floor``, ``steady_over_subtraction`` and ``steady_floor`` were added after runs had begun:
    at their defaults they are left out, so those runs still resume.
    """
    plain = ModelDims()
    decisive = {k: v for k, v in asdict(opts).items()
                if k not in RUN_ONLY
                and not (k in VARIANTS + SIZES and v == getattr(plain, k))
                and not (k in LATER_OPTIONS and v == LATER_OPTIONS[k])}
    if not decisive["spectral"]["tonal_floor"]:
        del decisive["spectral"]["tonal_floor"]
    for later in ("steady_over_subtraction", "steady_floor"):
        if decisive["spectral"][later] is None:
            del decisive["spectral"][later]
    if opts.init:
        decisive["init"] = file_sha256(opts.init)
    return json.dumps(decisive, sort_keys=True)


@torch.inference_mode()
def validate(model: MaskNet, batches, smooth_frames: int = 0) -> float:
    """The mean magnitude loss (under weight 1) of the estimates ``estimate`` makes."""
    model.eval()
    return float(np.mean([magnitude_loss(*estimate(model(x), x, y, smooth_frames)).item() for x, y in batches]))
