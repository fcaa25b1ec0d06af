"""The `denoise` command: parse flags into option dataclasses, call the library, report.

Heavy modules (torch, the pipeline) are imported inside the commands, so
`denoise --help` answers at once.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from . import __version__
from .config import (NET_CONV_CHANNELS, NET_KERNEL_FRAMES, NET_LSTM_HIDDEN, STEADY_SPREAD_DB, TRAIN_FLOOR,
                     TRAIN_OVER_SUBTRACTION, TRAIN_SNR_DB_RANGE, CleanOptions, ModelOptions, RunOptions,
                     SpectralOptions, VadOptions)
from .errors import DenoiseError, LockedError, Terminated, UsageError
from .report import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_LOCKED, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE


EXIT_CODES_HELP = (
    "Exit codes: 0 every file cleaned or up to date; 1 at least one file failed (the others "
    "are still done); 2 usage error (bad option, bad paths, nothing to do); 130 interrupted "
    "(Ctrl-C); 143 terminated (SIGTERM); 75 another run holds the output folder (try again later, "
    "or use --wait)."
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Batch speech cleaner: Silero VAD, spectral subtraction and a mask model.\n\n"
    + EXIT_CODES_HELP,
)


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Parallel(str, Enum):
    auto = "auto"
    processes = "processes"
    threads = "threads"


class Precision(str, Enum):
    auto = "auto"
    float32 = "float32"
    bfloat16 = "bfloat16"


class LabelKind(str, Enum):
    audacity = "audacity"
    vtt = "vtt"


class Backend(str, Enum):
    local = "local"
    dask = "dask"


class Format(str, Enum):
    wav = "wav"
    flac = "flac"


def _on_sigterm(signum, frame):
    raise Terminated()


def _version(value: bool):
    if value:
        typer.echo(f"denoise {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
):
    """Batch speech cleaner."""


def _default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _err(message: str) -> None:
    typer.echo(message, err=True)


@app.command(epilog=EXIT_CODES_HELP)
def clean(
    paths: List[Path] = typer.Argument(..., metavar="INPUT... OUTPUT_DIR",
                                       help="Input files and folders (walked for .wav/.flac), then the output folder."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, help="Files cleaned in parallel (0: all cores)."),
    device: Device = typer.Option(Device.auto, help="Where the mask model runs."),
    parallel: Parallel = typer.Option(Parallel.auto,
                                      help="How local jobs run: processes (isolated workers) or threads "
                                           "(one process; one mask model batched across files). "
                                           "auto: threads with --device cuda, else processes."),
    backend: Backend = typer.Option(Backend.local, help="local: processes on this machine; dask: a Dask cluster."),
    scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address, with --backend dask."),
    vad_threshold: float = typer.Option(0.5, min=0.0, max=1.0, help="Speech probability threshold."),
    min_speech_ms: int = typer.Option(300, min=0, help="Shorter speech is not a segment."),
    min_silence_ms: int = typer.Option(100, min=0, help="Shorter pauses do not split a segment."),
    speech_pad_ms: int = typer.Option(30, min=0, help="Padding added to both ends of each segment."),
    no_spectral: bool = typer.Option(False, "--no-spectral", help="Skip spectral subtraction."),
    no_dns: bool = typer.Option(False, "--no-dns", help="Skip the mask model."),
    over_subtraction: Optional[float] = typer.Option(
        None, min=0.0, help="Spectral subtraction strength (multiple of the noise power), the same for every file. "
                            f"Default: {SpectralOptions.steady_over_subtraction:g} where the noise in a file's pauses "
                            f"is steady (level spread under {STEADY_SPREAD_DB:g} dB), else "
                            f"{SpectralOptions.over_subtraction:g}."),
    spectral_floor: Optional[float] = typer.Option(
        None, min=0.0, max=1.0, help="Lowest spectral-subtraction gain (amplitude), against musical noise, the same "
                                     f"for every file. Default: {SpectralOptions.steady_floor:g} where the noise is "
                                     f"steady, else {SpectralOptions.floor:g}."),
    tonal_floor: bool = typer.Option(SpectralOptions.tonal_floor, "--tonal-floor/--no-tonal-floor",
                                     help="Take stationary tones in the noise (engine or fan whine) down to the "
                                          "broadband noise around them, below the spectral floor."),
    atten_limit_db: Optional[float] = typer.Option(None, min=0.0,
                                                   help="Never attenuate any bin by more than this many dB "
                                                        "(whole chain; default: no limit)."),
    gain_smoothing_ms: float = typer.Option(CleanOptions.gain_smoothing_ms, min=0.0, max=200.0,
                                            help="Average each frame's gain with the frames this many ms either "
                                                 "side, against musical noise (0: off)."),
    speech_only: bool = typer.Option(False, "--speech-only",
                                     help="Write only the speech segments, joined (the report maps times back)."),
    output_format: Optional[Format] = typer.Option(None, "--format", help="Output container (default: as input)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Clean again even when an output is up to date."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="List what would be done and why (new, changed, up to date); change nothing."),
    wait: bool = typer.Option(False, "--wait", help="If another run holds OUTPUT_DIR, wait for it instead of exiting 75."),
    no_report: bool = typer.Option(False, "--no-report", help="Do not write per-file JSON reports."),
    report_dir: Optional[Path] = typer.Option(None, help="Write per-file reports here instead of beside outputs."),
    weights: Optional[Path] = typer.Option(None, help="A mask-model checkpoint (default: the packaged one)."),
    precision: Precision = typer.Option(Precision.auto,
                                        help="Mask model arithmetic. auto: bfloat16 where the CPU or GPU "
                                             "has it natively (AVX512-BF16, AMX, Ampere+), else float32."),
    dehum: bool = typer.Option(True, "--dehum/--no-dehum",
                               help="Look for 50/60 Hz mains hum in the pauses and notch out its harmonics."),
    notch_tones: bool = typer.Option(True, "--notch-tones/--no-notch-tones",
                                     help="Notch out other steady tones of the pauses too (engine, fan: lines "
                                          "20 dB over their surroundings)."),
    declick: bool = typer.Option(True, "--declick/--no-declick",
                                 help="Take clicks (bursts of a few ms over the whole band: keys, taps, "
                                      "crackle) down to the level around them."),
    link_channels: bool = typer.Option(True, "--link-channels/--independent-channels",
                                       help="One mask-model pass for all channels, on their mean power "
                                            "(keeps the stereo image), or one per channel."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Print details for each file."),
    as_json: bool = typer.Option(False, "--json", help="Print the run summary as JSON on stdout."),
    plot: bool = typer.Option(False, "--plot",
                              help="Draw NAME.png beside each report: input and output spectrograms, speech "
                                   "segments, noise profile, SNR (needs the 'plot' extra)."),
    labels: List[LabelKind] = typer.Option([], "--labels",
                                           help="Write the speech segments as label files beside each report: "
                                                "audacity (NAME.labels.txt), vtt (NAME.vtt); repeatable."),
):
    """Clean speech recordings: INPUT... OUTPUT_DIR.

    Outputs mirror the inputs' relative paths and keep their format, sample
    rate, channels and sample type. An output newer than its input and made
    with the same settings and model is skipped (unless --overwrite), so a
    re-run only does new work. Each output gets NAME.json beside it, and the
    run summary goes to OUTPUT_DIR/denoise-run.json.
    """
    if len(paths) < 2:
        _err("error: give at least one INPUT and an OUTPUT_DIR")
        raise typer.Exit(EXIT_USAGE)
    *inputs, output_dir = paths
    spectral = SpectralOptions(not no_spectral, tonal_floor=tonal_floor)
    if over_subtraction is not None:  # one alpha for every file
        spectral = replace(spectral, over_subtraction=over_subtraction, steady_over_subtraction=None)
    if spectral_floor is not None:  # one floor for every file
        spectral = replace(spectral, floor=spectral_floor, steady_floor=None)
    opts = CleanOptions(
        vad=VadOptions(vad_threshold, min_speech_ms, min_silence_ms, speech_pad_ms),
        spectral=spectral,
        model=ModelOptions(enabled=not no_dns, weights=str(weights) if weights else None,
                           precision=precision.value, link_channels=link_channels),
        attenuation_limit_db=atten_limit_db,
        gain_smoothing_ms=gain_smoothing_ms,
        dehum=dehum,
        notch_tones=notch_tones,
        declick=declick,
        speech_only=speech_only,
        output_format=output_format.value if output_format else None,
    )
    run = RunOptions(jobs=jobs or _default_jobs(), device=device.value, overwrite=overwrite,
                     write_report=not no_report, report_dir=str(report_dir) if report_dir else None,
                     wait=wait, backend=backend.value, scheduler=scheduler, plot=plot,
                     labels=tuple(dict.fromkeys(kind.value for kind in labels)), parallel=parallel.value)
    if dry_run:
        raise typer.Exit(_dry_run(inputs, output_dir, opts, run, as_json))
    signal.signal(signal.SIGTERM, _on_sigterm)
    from .allocator import keep_freed_memory
    from .deferred import defer_unused_torch_modules
    from .progress import Progress

    keep_freed_memory()  # this process may clean files itself (--jobs 1)
    defer_unused_torch_modules()  # before torch is imported: 0.25 s of its import (deferred.py)

    try:
        with Progress(quiet=quiet, verbose=verbose) as progress:
            from .batch import clean_paths

            report = clean_paths(inputs, output_dir, opts, run,
                                 on_start=progress.start, on_outcome=progress.outcome)
    except UsageError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    except LockedError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_LOCKED)
    except DenoiseError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_FAILED)
    except Terminated:
        raise typer.Exit(EXIT_TERMINATED)
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED)
    if report.summary_error:
        _err(f"error: run summary not written: {report.summary_error}")
    if not quiet:
        _err(report.summary_line())
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    raise typer.Exit(report.return_code)


def _dry_run(inputs, output_dir, opts: CleanOptions, run: RunOptions, as_json: bool) -> int:
    """Print one line per input: what a run would do and why. Returns the exit code."""
    from .batch import UP_TO_DATE, check_paths

    try:
        plan = check_paths(inputs, output_dir, opts, run)
    except UsageError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    if as_json:
        typer.echo(json.dumps([{"input": str(j.input), "output": str(j.output),
                                "action": "skip" if why == UP_TO_DATE else "clean", "reason": why}
                               for j, why in plan], indent=2, ensure_ascii=False))
    else:
        for job, why in plan:
            typer.echo(f"{'skip ' if why == UP_TO_DATE else 'clean'}  {job.input}  ({why})")
    return EXIT_OK


@app.command()
def report(
    output_dir: Path = typer.Argument(..., help="An output folder of denoise clean."),
):
    """Write OUTPUT_DIR/index.html: a page with one row per file, its plot, players and links.

    Made from OUTPUT_DIR/denoise-run.json and the per-file reports; a static page
    that works when opened from disk.
    """
    from .html_report import write_index

    try:
        path, n_rows = write_index(output_dir)
    except UsageError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    except DenoiseError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_FAILED)
    typer.echo(f"wrote {path} ({n_rows} files)")


@app.command()
def train(
    speech_dir: Path = typer.Option(..., help="Clean speech, one subfolder per speaker."),
    noise_dir: Optional[Path] = typer.Option(None, help="Noise recordings (synthetic noises are added)."),
    out: Path = typer.Option(..., help="Where to write the final checkpoint."),
    speakers: Optional[str] = typer.Option(None, help="Comma-separated speaker subfolders to use (default: all)."),
    run_dir: Path = typer.Option(Path("runs/dns"), help="Resumable training state (last.pt)."),
    steps: int = typer.Option(6000, min=1),
    batch_size: int = typer.Option(32, min=1),
    lr: float = typer.Option(1e-3, min=0.0),
    seed: int = typer.Option(0),
    under_weight: float = typer.Option(1.0, min=0.0, help="Loss weight on removed speech vs residual noise."),
    stoi_weight: float = typer.Option(0.0, min=0.0, help="Weight of a STOI-like envelope-correlation loss "
                                                          "added to the magnitude loss (0: none)."),
    pesq_weight: float = typer.Option(0.0, min=0.0, help="Weight of a PESQ-like loudness-disturbance loss "
                                                          "added to the magnitude loss (0: none)."),
    quiet_weight: float = typer.Option(1.0, min=0.0, help="Loss weight on residual noise in quiet frames "
                                                          "(30 dB or more below an example's loudest)."),
    gain_smoothing_ms: float = typer.Option(0.0, min=0.0, max=200.0,
                                            help="Train through the chain's gain smoothing (as `clean "
                                                 "--gain-smoothing-ms`) and its cap at one: the losses see "
                                                 "the chain's output (0: the masked input)."),
    over_subtraction: float = typer.Option(TRAIN_OVER_SUBTRACTION, min=0.0,
                                           help="Spectral subtraction of the training front end."),
    spectral_floor: float = typer.Option(TRAIN_FLOOR, min=0.0, max=1.0,
                                         help="Spectral floor of the training front end."),
    steady_over_subtraction: Optional[float] = typer.Option(
        None, min=0.0, help="For examples whose noise is steady (its level over the profile's pauses spreads "
                            f"under {STEADY_SPREAD_DB:g} dB, as `clean` judges it): this subtraction instead "
                            "(default: one for every example)."),
    steady_floor: Optional[float] = typer.Option(None, min=0.0, max=1.0,
                                                 help="The same for the floor (default: one for every example)."),
    threads: int = typer.Option(0, min=0, help="torch threads (0: all cores)."),
    device: Device = typer.Option(Device.cpu, help="Train on the CPU or a GPU (auto: cuda when available)."),
    data_workers: Optional[int] = typer.Option(
        None, min=0, show_default=False,
        help="Processes making batches ahead of the model (0: between steps, in the training process). "
             "Default: 0 on the CPU; with cuda one per core but one, at most 8. The weights are the same "
             "either way."),
    init: Optional[Path] = typer.Option(None, help="Start from this checkpoint's weights (fine-tuning); "
                                                   "it may differ from the run in --mask-max, and be smaller in "
                                                   "--conv-channels/--lstm-hidden (the net is grown, same output)."),
    augment: bool = typer.Option(True, "--augment/--no-augment",
                                 help="EQ, reverberation, band limiting and clipping of the training speech."),
    dry_target: bool = typer.Option(True, "--dry-target/--reverberant-target",
                                    help="Reverberated examples: learn to remove the late reverberation "
                                         "(dry) or to keep the whole room."),
    noise_input: bool = typer.Option(False, "--noise-input/--no-noise-input",
                                     help="The model also sees the file's noise profile (161 more input channels)."),
    mask_max: float = typer.Option(1.0, min=1.0, help="The mask's upper bound; above 1 it may give back "
                                                      "speech that over-subtraction took."),
    snr_db_min: float = typer.Option(TRAIN_SNR_DB_RANGE[0],
                                     help="Lowest SNR of the training mixtures, dB over active speech."),
    snr_db_max: float = typer.Option(TRAIN_SNR_DB_RANGE[1],
                                     help="Highest SNR of the training mixtures (drawn uniformly between)."),
    babble_share: float = typer.Option(0.0, min=0.0, max=1.0,
                                       help="Share of examples whose noise is babble: 3-8 other training "
                                            "speakers at once, made on the fly."),
    conv_channels: int = typer.Option(NET_CONV_CHANNELS, min=1,
                                      help="Channels of the first convolution (the net's size)."),
    lstm_hidden: int = typer.Option(NET_LSTM_HIDDEN, min=1, help="Hidden units of each direction of the BiLSTM."),
    kernel_size: int = typer.Option(NET_KERNEL_FRAMES, min=1, help="Frames each convolution spans (odd)."),
):
    """Train the mask model on mixtures passed through the pipeline's front end."""
    import torch

    from .augment import AugmentOptions
    from .train import TrainOptions, default_data_workers
    from .train import train as run_training

    from .batch import resolve_device

    torch.set_num_threads(threads or _default_jobs())
    try:
        device_name = resolve_device(device.value)
        opts = TrainOptions(speech_dir=str(speech_dir), noise_dir=str(noise_dir) if noise_dir else None,
                            out=str(out), speakers=tuple(speakers.split(",")) if speakers else None,
                            run_dir=str(run_dir), steps=steps, batch_size=batch_size,
                            lr=lr, seed=seed, under_weight=under_weight, stoi_weight=stoi_weight,
                            pesq_weight=pesq_weight, quiet_weight=quiet_weight,
                            gain_smoothing_ms=gain_smoothing_ms,
                            device=device_name,
                            data_workers=default_data_workers(device_name, _default_jobs()) if data_workers is None
                            else data_workers, init=str(init) if init else None,
                            augment=AugmentOptions(dry_target=dry_target) if augment else AugmentOptions.none(),
                            # no tonal floors, as the shipped model was trained (TrainOptions can ask for them)
                            spectral=SpectralOptions(True, over_subtraction, spectral_floor,
                                                     steady_over_subtraction=steady_over_subtraction,
                                                     steady_floor=steady_floor, tonal_floor=False),
                            noise_input=noise_input, mask_max=mask_max, babble_share=babble_share,
                            snr_db_range=(snr_db_min, snr_db_max),
                            conv_channels=conv_channels, lstm_hidden=lstm_hidden, kernel_size=kernel_size)
    except UsageError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE)
    try:
        sha = run_training(opts, log=lambda m: typer.echo(m, err=True))
    except DenoiseError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED)
    except KeyboardInterrupt:
        _err(f"interrupted; resume from {run_dir / 'last.pt'}")
        raise typer.Exit(EXIT_INTERRUPTED)
    typer.echo(f"wrote {out} (sha256 {sha})")


@app.command("eval")
def evaluate(
    reference: Path = typer.Argument(..., help="Folder of clean reference files."),
    processed: List[Path] = typer.Argument(..., help="Folders of processed files, matched by relative path."),
    noisy: Optional[Path] = typer.Option(None, help="The noisy inputs, shown as the baseline row."),
    index: Optional[Path] = typer.Option(None, help="JSON list of {name, noise, snr_db} for per-group rows."),
    out: Optional[Path] = typer.Option(None, help="Write per-file and per-group results as JSON here."),
    pesq: bool = typer.Option(False, "--pesq", help="Also compute wide-band PESQ (needs the 'eval' extra)."),
):
    """Score processed files against clean references: SI-SDR, STOI (and PESQ)."""
    from .evaluate import evaluate_folders, format_table

    systems = ({"noisy": noisy} if noisy else {}) | {str(p): p for p in processed}
    try:
        results = evaluate_folders(reference, systems, index_path=index, with_pesq=pesq)
    except DenoiseError as exc:
        _err(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILED)
    typer.echo(format_table(results))
    if out:
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


def run() -> None:
    """The console entry point: run ``app``, then exit without the interpreter's teardown.

    Tearing down a process that has imported torch takes about half a second
    (its modules and objects are freed one by one), and even the parent of
    worker processes, without torch, took about 0.2 s. By the time ``app``
    returns every output, report and state file is written, closed and renamed,
    so once no child process remains, the standard streams are flushed and the
    process ends at once, with the exit code ``app`` gave. (The workers' fork
    server sees its parent gone and exits by itself.)
    """
    try:
        app(prog_name="denoise")
        code = EXIT_OK
    except SystemExit as exc:
        code = exc.code
    import multiprocessing
    import sys

    if multiprocessing.active_children():
        raise SystemExit(code)  # children to wait for: the normal exit
    if code is None:
        code = EXIT_OK
    elif not isinstance(code, int):  # SystemExit("message"): Python prints it and exits 1
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be written
            pass
    os._exit(code)
