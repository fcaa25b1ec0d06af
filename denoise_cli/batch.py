"""Many files: walking inputs, skipping finished work, running in parallel, the run report.

``clean_paths`` is the library entry point behind ``denoise clean``. Local workers
are processes forked from a fork server that has imported torch and the pipeline
once (joblib's Dask backend for ``--backend dask``); each sets torch to one thread,
loads its models once and reuses them for every file it is given. Cores that no
worker would use (fewer files than ``--jobs``) decode, encode and run the mask model beside the
rest of the work. A failure in
one file, even a worker's death, is recorded and never stops the others.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional

import soundfile as sf

from .audio import TEMP_MARKER, write_text_atomic
from .config import CleanOptions, RunOptions
from .labels import LABEL_SUFFIX
from .errors import DenoiseError, LockedError, OutputError, Terminated, UsageError
from .report import CLEANED, FAILED, SKIPPED, FileOutcome, RunReport

AUDIO_SUFFIXES = (".wav", ".flac")
STATE_NAME = ".denoise-state.json"  # what each output was made from, for skipping re-runs
LOCK_NAME = ".denoise.lock"  # held by the run writing into an output folder
UP_TO_DATE = "up to date"
DASK_CONNECT_TIMEOUT_S = 10
# What a worker's spare core does (``spare_cores``): for files of at most this many samples a
# second (sample rate x channels: 16 kHz mono and below), where the mask model is most of the
# work, it gives torch a second thread (SPARE_CORE_TORCH_THREADS); above, it runs the model in
# its own thread beside the analysis (``pipeline.clean_file``'s ``model_thread``). Measured
# with scripts/bench_threads.py on 10-minute files, in seconds, model thread against two torch
# threads: 16 kHz mono 2.12-2.15 against 1.66-1.88; 16 kHz stereo 2.27-2.32 against
# 2.18-2.65; 48 kHz mono 2.44-2.53 against 2.72-2.95; 48 kHz stereo 3.10-3.27 against 3.71-3.86.
TORCH_THREADS_MAX_SAMPLES_PER_S = 16_000
SPARE_CORE_TORCH_THREADS = 2


@dataclass(frozen=True)
class Job:
    """One input and where its output and report go."""

    input: Path
    rel: Path  # output path relative to the output folder
    output: Path
    report: Optional[Path]
    duration_s: float  # from the header; 0.0 when the header cannot be read
    plot: Optional[Path] = None  # the PNG to draw, with --plot
    labels: tuple[tuple[str, Path], ...] = ()  # (kind, path) label files to write, with --labels
    samples_per_s: int = 0  # sample rate x channels from the header; 0 when it cannot be read

    def side_outputs(self) -> dict:
        """The report, plot and label paths, for the run summary."""
        out = {"report": self.report, "plot": self.plot} | {f"labels_{k}": p for k, p in self.labels}
        return {k: str(v) for k, v in out.items() if v is not None}


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def walk_audio(folder: Path, exclude: Iterable[Path] = ()) -> list[Path]:
    """Audio files under ``folder``, sorted; hidden entries and ``exclude`` folders skipped.

    Links to folders outside ``folder`` are followed; a link to a folder inside
    it is not (that folder is walked under its own name), and no folder is
    walked twice, so link loops end.
    """
    excluded = {p.resolve() for p in exclude}
    top_logical, top_real = Path(os.path.abspath(folder)), Path(folder).resolve()
    seen, found = set(), []
    for root, dirs, files in os.walk(folder, followlinks=True):
        real = Path(root).resolve()
        via_link = real != top_real / Path(os.path.abspath(root)).relative_to(top_logical)
        key = os.stat(real).st_ino, os.stat(real).st_dev
        if key in seen or real in excluded or (via_link and real.is_relative_to(top_real)):
            dirs[:] = []
            continue
        seen.add(key)
        dirs[:] = sorted(d for d in dirs if not _is_hidden(d))
        for name in sorted(files):
            path = Path(root) / name
            if not _is_hidden(name) and path.suffix.lower() in AUDIO_SUFFIXES:
                found.append(path)
    return found


def _same_path(a: Path, b: Path) -> bool:
    return a.exists() and b.exists() and os.path.samefile(a, b)


def _header(path: Path) -> tuple[float, int]:
    """(duration in s, samples a second: rate x channels) from the header; (0.0, 0) when
    unknown. Never opens a FIFO."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return 0.0, 0
        info = sf.info(os.fsencode(path))
        return float(info.duration), info.samplerate * info.channels
    except Exception:
        return 0.0, 0


def plan_jobs(inputs: list[str | Path], output_dir: str | Path, opts: CleanOptions,
              run: RunOptions) -> list[Job]:
    """Expand inputs into jobs, checking that no output can land on or beside an input.

    Raises UsageError for missing inputs, an output folder equal to an input,
    two inputs that would share an output, or nothing to do.
    """
    out = Path(output_dir)
    if not inputs:
        raise UsageError("no inputs given")
    pairs: list[tuple[Path, Path]] = []
    for raw in inputs:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        if _same_path(path, out):
            raise UsageError(f"{out}: the output folder is an input; choose another folder")
        if path.is_dir():
            pairs += [(f, f.relative_to(path)) for f in walk_audio(path, exclude=[out])]
        elif path.suffix.lower() in AUDIO_SUFFIXES:
            pairs.append((path, Path(path.name)))
        else:
            raise UsageError(f"{path}: not a .wav or .flac file")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    if not pairs:
        raise UsageError("nothing to do: no .wav or .flac files in the inputs")
    jobs, by_output = [], {}
    for src, rel in pairs:
        if opts.output_format:
            rel = rel.with_suffix("." + opts.output_format.lower())
        dst = out / rel
        if _same_path(src, dst):
            raise UsageError(f"{src}: its output would overwrite it")
        if dst in by_output:
            raise UsageError(f"{src} and {by_output[dst]} would both be written to {dst}")
        by_output[dst] = src
        base = Path(run.report_dir) if run.report_dir else out
        beside = lambda suffix: base / rel.with_name(rel.name + suffix)  # noqa: E731
        duration_s, samples_per_s = _header(src)
        jobs.append(Job(src, rel, dst, beside(".json") if run.write_report else None,
                        duration_s, beside(".png") if run.plot else None,
                        tuple((kind, beside(LABEL_SUFFIX[kind])) for kind in run.labels), samples_per_s))
    return jobs


class State:
    """The state file: for each output, the input size, mtime and settings it was made from."""

    def __init__(self, output_dir: Path):
        self.path = Path(output_dir) / STATE_NAME
        try:
            self.entries: dict = json.loads(self.path.read_text(encoding="utf-8"))["files"]
        except (OSError, ValueError, KeyError, TypeError):
            self.entries = {}

    @staticmethod
    def stamp(job: Job, fingerprint: str) -> dict:
        st = job.input.stat()
        return {"input_size": st.st_size, "input_mtime_ns": st.st_mtime_ns, "settings": fingerprint}

    def status(self, job: Job, fingerprint: str) -> str:
        """Why ``job`` would run, or UP_TO_DATE.

        The recorded input size and mtime decide, not a comparison of clocks: a
        replaced input is redone even when its mtime is older than the output's.
        """
        entry = self.entries.get(str(job.rel))
        if entry is None:
            return "new"
        try:
            stamp = self.stamp(job, fingerprint)
        except OSError:
            return "input unreadable"
        if not job.output.is_file():
            return "output missing"
        if job.report is not None and not job.report.is_file():
            return "report missing"
        if job.plot is not None and not job.plot.is_file():
            return "plot missing"
        if any(not path.is_file() for _, path in job.labels):
            return "labels missing"
        if entry.get("settings") != fingerprint:
            return "settings or model changed"
        if entry != stamp:
            return "input changed"
        return UP_TO_DATE

    def record(self, job: Job, fingerprint: str) -> None:
        self.entries[str(job.rel)] = self.stamp(job, fingerprint)

    def save(self) -> None:
        write_text_atomic(self.path, json.dumps({"version": 1, "files": self.entries}, indent=1) + "\n")


# --- workers -----------------------------------------------------------------------
_WORKER_MODELS: dict = {}  # per worker thread: (weights, device, dns enabled) -> pipeline.Models


def _worker_models(opts: CleanOptions, device: str):
    """Models for this worker, loaded on its first file and reused for the rest.

    Keyed by thread too: a Dask worker may run several files at once in
    threads, and the VAD carries per-file state.
    """
    from .preload import load_heavy_modules, paused_gc

    load_heavy_modules()
    import torch

    from .pipeline import load_models

    key = (opts.model.weights, opts.model.precision, device, opts.model.enabled, threading.get_ident())
    # One torch thread per worker, on every call and not only the first: a process that runs
    # files in turn (--jobs 1) gets its thread count back between runs, and a second run with
    # the models already loaded would otherwise sum in another order (1 LSB apart, seen).
    torch.set_num_threads(1)
    if key not in _WORKER_MODELS:
        with paused_gc():
            _WORKER_MODELS[key] = load_models(opts, torch.device(resolve_device(device)))
    return _WORKER_MODELS[key]


def _model_bound(job: Job) -> bool:
    """Whether the file's samples a second (from its header) are few enough
    (TORCH_THREADS_MAX_SAMPLES_PER_S) that the mask model is most of its work."""
    return 0 < job.samples_per_s <= TORCH_THREADS_MAX_SAMPLES_PER_S


@contextmanager
def _torch_threads(threads: Optional[int]):
    """torch's thread count set to ``threads`` inside (None: left alone), restored after."""
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def clean_job(job: Job, opts: CleanOptions, device: str, models=None, background_io: bool = False) -> FileOutcome:
    """Run one job in this process; every error becomes a failed outcome.

    models: the pipeline.Models to use (default: this worker's, loaded once).
    background_io: the worker has a spare core (``spare_cores``): the file is decoded and
    encoded in threads beside the work, and the core also serves the mask model, as a
    second torch thread for files of up to TORCH_THREADS_MAX_SAMPLES_PER_S, else as a
    thread of its own (``pipeline.clean_file``).
    """
    from .pipeline import clean_file

    started = time.perf_counter()
    outcome = FileOutcome(str(job.input), str(job.output), FAILED, duration_s=job.duration_s)
    try:
        models = models or _worker_models(opts, device)  # (which sets one torch thread)
        torch_threads = background_io and _model_bound(job)
        with _torch_threads(SPARE_CORE_TORCH_THREADS if torch_threads else None):
            report = clean_file(job.input, job.output, opts, models, job.report, job.plot, dict(job.labels),
                                background_io=background_io, model_thread=background_io and not torch_threads)
        outcome.status, outcome.report = CLEANED, report
        outcome.duration_s = report["duration_s"]
    except DenoiseError as exc:
        outcome.reason = str(exc)
    except MemoryError:
        outcome.reason = "out of memory"
    except Exception as exc:  # a bug must not stop the batch; say what it was
        outcome.reason = f"internal error: {type(exc).__name__}: {exc}"
    outcome.seconds = time.perf_counter() - started
    return outcome


def _no_gpu_device_node() -> bool:
    """True when this machine has no NVIDIA (or WSL GPU) device node, so CUDA cannot be there."""
    return not any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg"))


def resolve_device(name: str) -> str:
    """'auto' -> 'cuda' when available else 'cpu'; 'cuda' without a GPU is a usage error.

    'cpu', and 'auto' on a machine without a GPU device node, are answered
    without importing torch (a parent of worker processes need not load it).
    """
    if name == "cpu" or (name == "auto" and _no_gpu_device_node()):
        return "cpu"
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise UsageError(f"--device {name}: choose auto, cpu or cuda")
    return name


def remove_temporaries(folder: Path) -> int:
    """Delete temporary outputs left in ``folder`` by killed workers; returns how many."""
    removed = 0
    for root, _, files in os.walk(folder):
        for name in files:
            if name.startswith(".") and name.endswith(TEMP_MARKER):
                Path(root, name).unlink(missing_ok=True)
                removed += 1
    return removed


def settings_fingerprint(opts: CleanOptions) -> str:
    """Hash of the settings and the model checkpoint that decide an output."""
    from .weights import default_checkpoint_path, file_sha256

    checkpoint = None
    if opts.model.enabled:
        path = Path(opts.model.weights) if opts.model.weights else default_checkpoint_path()
        if not path.is_file():
            raise UsageError(f"{path}: no such checkpoint")
        checkpoint = file_sha256(path)
    return opts.fingerprint(checkpoint)


def check_paths(inputs: list[str | Path], output_dir: str | Path, opts: CleanOptions = CleanOptions(),
                run: RunOptions = RunOptions()) -> list[tuple[Job, str]]:
    """What a run would do with each input, and why (``UP_TO_DATE`` when it would skip it).

    Reasons: "new", "input changed", "settings or model changed", "output missing",
    "report missing", "overwrite" (with ``run.overwrite``). Changes nothing.
    """
    jobs = plan_jobs(inputs, output_dir, opts, run)
    return _classify(jobs, State(Path(output_dir)), settings_fingerprint(opts), run.overwrite)


def _classify(jobs: list[Job], state: State, fingerprint: str, overwrite: bool) -> list[tuple[Job, str]]:
    return [(job, "overwrite" if overwrite else state.status(job, fingerprint)) for job in jobs]


class OutputLock:
    """An exclusive lock on an output folder, so two runs never write the same files.

    wait=False raises LockedError at once when another run holds it; wait=True
    blocks until that run ends. The lock dies with its process (flock), so a
    killed run never leaves a stale lock.
    """

    def __init__(self, output_dir: Path, wait: bool = False):
        self.path = Path(output_dir) / LOCK_NAME
        self.wait = wait
        self.acquired_ns = 0  # the lock file's mtime once held
        self._fd: Optional[int] = None

    def __enter__(self) -> "OutputLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise OutputError(f"{self.path.parent}: cannot write ({(exc.strerror or str(exc)).lower()})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockedError(f"{self.path.parent}: another denoise run (pid {holder}) is writing here; "
                              "try again later or use --wait") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.acquired_ns = os.fstat(fd).st_mtime_ns  # on the file system's clock, as outputs are
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def clean_paths(inputs: list[str | Path], output_dir: str | Path, opts: CleanOptions = CleanOptions(),
                run: RunOptions = RunOptions(),
                on_start: Callable[[list[Job]], None] | None = None,
                on_outcome: Callable[[FileOutcome], None] | None = None) -> RunReport:
    """Clean every audio file in ``inputs`` into ``output_dir``; returns the run report.

    on_start(jobs) is called once with the jobs to run; on_outcome(outcome) as
    each file finishes (skipped ones first). The run summary is written to
    ``output_dir/denoise-run.json``. Raises UsageError before any work is done,
    LockedError when another run holds the output folder (unless ``run.wait``).
    """
    started = time.perf_counter()
    out = Path(output_dir)
    jobs = plan_jobs(inputs, out, opts, run)  # usage errors before the output folder is made
    if run.backend == "dask" and not run.scheduler:
        raise UsageError("--backend dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    # An impossible "cuda" fails here, before any work. "auto" imports torch only
    # where a GPU device node exists; it picks the GPU path (threads sharing one model).
    device = resolve_device(run.device)
    if run.plot:
        from .plot import require_matplotlib

        require_matplotlib()
    fingerprint = settings_fingerprint(opts)
    with OutputLock(out, wait=run.wait) as lock:
        report = RunReport(str(out))
        state = State(out)  # read under the lock: another run may just have finished
        todo = []
        for job, why in _classify(jobs, state, fingerprint, run.overwrite):
            if why == UP_TO_DATE:
                outcome = FileOutcome(str(job.input), str(job.output), SKIPPED, UP_TO_DATE,
                                      duration_s=job.duration_s, files=job.side_outputs())
                report.add(outcome)
                on_outcome and on_outcome(outcome)
            else:
                todo.append(job)
        on_start and on_start(todo)
        heard = set()
        try:
            for job, outcome in _run_jobs(todo, opts, device, run):
                heard.add(job.input)
                report.add(outcome)
                if outcome.status == CLEANED:
                    outcome.files = job.side_outputs()
                    state.record(job, fingerprint)
                on_outcome and on_outcome(outcome)
        except KeyboardInterrupt as exc:
            report.interrupted = True
            report.terminated = isinstance(exc, Terminated)
            remove_temporaries(out)
            for job in todo:  # finished by a worker just before the interrupt, not yet heard of
                if job.input not in heard and _written_since(job, lock.acquired_ns):
                    outcome = _finished_unheard(job)
                    report.add(outcome)
                    state.record(job, fingerprint)
                    on_outcome and on_outcome(outcome)
        finally:
            report.wall_s = time.perf_counter() - started
            try:
                state.save()
                report.write()
            except OutputError as exc:
                report.summary_error = str(exc)
    return report


def _written_since(job: Job, since_ns: int) -> bool:
    """Whether the output and every side output of ``job`` were put in place after ``since_ns``.

    Outputs appear only whole (written to a temporary name, then renamed), and
    the report, plot and labels come after the audio, so a worker killed part
    way leaves one missing or older. ``since_ns`` is the lock file's mtime: a
    previous run's files are no newer than it, so the test is strict.
    """
    paths = [job.output] + [Path(p) for p in job.side_outputs().values()]
    try:
        return all(p.stat().st_mtime_ns > since_ns for p in paths)
    except OSError:
        return False


def _finished_unheard(job: Job) -> FileOutcome:
    """The outcome of a file a worker finished as the run was interrupted, from what it wrote."""
    report = None
    if job.report is not None:
        try:
            report = json.loads(job.report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            report = None
    seconds = report.get("timings_s", {}).get("total", 0.0) if report else 0.0
    return FileOutcome(str(job.input), str(job.output), CLEANED, duration_s=job.duration_s, seconds=seconds,
                       report=report, files=job.side_outputs())


def _run_jobs(jobs: list[Job], opts: CleanOptions, device: str, run: RunOptions):
    """Yield (job, outcome) as files finish: in this process for one local worker, else in workers.

    backend "dask" sends the same per-file work to the Dask cluster at
    ``run.scheduler`` through joblib's Dask backend; every worker must see the
    input and output paths.
    """
    if not jobs:
        return
    workers = min(run.jobs, len(jobs))
    background_io = spare_cores(run.jobs, workers)
    if workers > 1:
        jobs = longest_first(jobs)
    in_threads = run.parallel == "threads" or (run.parallel == "auto" and device == "cuda")
    if run.backend == "local" and in_threads and opts.model.enabled:
        yield from _run_threads(jobs, opts, device, workers)
    elif run.backend == "local" and workers == 1:
        from .preload import load_heavy_modules

        load_heavy_modules()
        import torch

        threads = torch.get_num_threads()
        try:
            for job in jobs:
                yield job, clean_job(job, opts, device, background_io=background_io)
        finally:
            torch.set_num_threads(threads)
    elif run.backend == "local":
        yield from _run_local_pool(jobs, opts, device, workers, background_io)
    else:
        client = _dask_client(run.scheduler)
        try:
            from joblib import parallel_config

            with parallel_config(backend="dask"):
                yield from _run_joblib(jobs, opts, device, n_jobs=-1)
        finally:
            client.close()


def longest_first(jobs: list[Job]) -> list[Job]:
    """``jobs`` longest first (by the header's duration), ties in their given order.

    With several workers the files are handed out in this order, so a long file
    does not start last and run alone while the other workers idle (a 10-minute
    48 kHz stereo file after six 30 s ones, ``--jobs 2``: 4.93-5.40 s in walk
    order, 4.54-4.64 s longest first, six runs and three). With one worker the
    order changes nothing, and the walk's is kept.
    """
    return sorted(jobs, key=lambda job: -job.duration_s)


def spare_cores(jobs: int, workers: int) -> bool:
    """Whether each of ``workers`` local workers has a core no worker uses, ``jobs`` being asked for.

    With fewer files than jobs (one long file cleaned with ``--jobs 2``, say),
    the spare cores decode the input ahead, encode the output behind and serve
    the mask model (``clean_job``) instead of idling. Above 16 kHz mono the model
    runs in a thread of its own and torch keeps one thread: its spinning threads
    slowed those that decode and encode more than they gained (a 10-minute 48 kHz
    stereo FLAC in one process, scripts/bench_threads.py, three rounds: 5.75-6.26 s
    plain, 4.48-4.57 s with background I/O, 3.96-4.17 s with the model thread too,
    4.14-5.12 s with background I/O and two torch threads). At 16 kHz mono and
    below, two torch threads do better (TORCH_THREADS_MAX_SAMPLES_PER_S).
    """
    return jobs >= 2 * workers


def _run_joblib(jobs: list[Job], opts: CleanOptions, device: str, n_jobs: int):
    from joblib import Parallel, delayed

    tasks = (delayed(_indexed)(i, job, opts, device) for i, job in enumerate(jobs))
    for i, outcome in Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks):
        yield jobs[i], outcome


# What the fork server imports once, before it forks a worker: torch, silero-vad and
# the pipeline with the collector paused (preload.py), the pool's worker module, this
# module and the CLI (a worker runs the `denoise` script again as its main module,
# which imports cli). Without them each worker spent 0.1-0.3 s of its first file on
# imports and on a garbage collection that copied the server's pages.
FORKSERVER_PRELOAD = ("denoise_cli._forkserver", "concurrent.futures.process", "denoise_cli.batch",
                      "denoise_cli.cli")


def _run_local_pool(jobs: list[Job], opts: CleanOptions, device: str, workers: int,
                    background_io: bool = False):
    """Yield (job, outcome) from ``workers`` local worker processes, as files finish.

    Each worker is the one process of its own pool, and a thread here feeds it
    one file at a time from a shared queue: a free worker takes the next file,
    and a worker that dies (killed, out of memory) fails only the file it had;
    its thread starts a fresh worker for the next. (One pool of ``workers``
    processes would fail every file in flight when any of its processes died.)
    The workers are forked from a fork server that has imported torch, the
    pipeline and the rest of FORKSERVER_PRELOAD once and run nothing (so
    forking it is safe, unlike forking a process that has used torch's thread
    pools or CUDA): a worker starts in milliseconds instead of importing torch
    itself. Each loads the models on its first file and runs one torch thread.
    On an interrupt the workers are killed; the caller removes their temporary files.
    """
    import multiprocessing
    import queue
    from collections import deque

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(FORKSERVER_PRELOAD))
    todo, lock = deque(jobs), threading.Lock()
    results: queue.SimpleQueue = queue.SimpleQueue()  # (job, outcome), or None when a feeder ends
    cancel = threading.Event()
    pools: list = []  # every pool started, for the interrupt

    def next_job() -> Optional[Job]:
        with lock:
            return todo.popleft() if todo and not cancel.is_set() else None

    def new_pool():
        from concurrent.futures import ProcessPoolExecutor

        with lock:
            pools.append(ProcessPoolExecutor(1, mp_context=context, initializer=_pool_worker_init))
            return pools[-1]

    feeders = [threading.Thread(target=_feed_worker, args=(new_pool, next_job, results, cancel, opts, device,
                                                           background_io), daemon=True) for _ in range(workers)]
    for feeder in feeders:
        feeder.start()
    try:
        ended = 0
        while ended < len(feeders):
            try:
                item = results.get(timeout=0.5)  # a timeout, so that signals are handled promptly
            except queue.Empty:
                continue
            if item is None:
                ended += 1
            else:
                yield item
    except BaseException:
        cancel.set()
        with lock:
            for pool in pools:
                for process in list((getattr(pool, "_processes", None) or {}).values()):  # private, but the
                    process.kill()  # only way to stop a running task
                pool.shutdown(wait=False, cancel_futures=True)
        raise


def _feed_worker(new_pool, next_job: Callable[[], Optional[Job]], results, cancel: threading.Event,
                 opts: CleanOptions, device: str, background_io: bool = False) -> None:
    """Keep one file at a time on one worker process until no file is left.

    new_pool() starts a one-process pool; a worker that dies fails its file and
    is replaced for the next one. Puts (job, outcome) on ``results``, then None.
    """
    from concurrent.futures.process import BrokenProcessPool

    pool = None
    try:
        while (job := next_job()) is not None:
            pool = pool or new_pool()
            try:
                outcome = pool.submit(clean_job, job, opts, device, None, background_io).result()
            except Exception as exc:  # clean_job itself never raises: the pool or the transfer failed
                if cancel.is_set():
                    return  # interrupted: the file was abandoned, not failed
                reason = ("a worker process died (killed, or out of memory)" if isinstance(exc, BrokenProcessPool)
                          else f"internal error: {type(exc).__name__}: {exc}")
                outcome = FileOutcome(str(job.input), str(job.output), FAILED, reason, job.duration_s)
                pool.shutdown(wait=False)
                pool = None  # a fresh worker for the next file
            if cancel.is_set():
                return  # interrupted: the file was abandoned, not failed
            results.put((job, outcome))
    finally:
        if pool is not None and not cancel.is_set():
            pool.shutdown()
        results.put(None)


def _run_threads(jobs: list[Job], opts: CleanOptions, device: str, workers: int):
    """Yield (job, outcome) from ``workers`` threads of this process sharing one mask model.

    The GPU path: each thread cleans whole files with its own VAD and sends its
    mask batches to one ``SharedMasker``, which runs the requests that wait
    together as one batch, so the device gets large batches across files while
    the other threads read, analyse and write (numpy, libsndfile and torch free
    the GIL in their heavy calls). Torch runs one CPU thread per call. On an
    interrupt every thread stops at its next stage, its temporary output
    removed, before this generator ends.
    """
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from .preload import load_heavy_modules, paused_gc

    load_heavy_modules()
    import torch

    from .masker import MaskRunner, SharedMasker
    from .pipeline import Models, load_models
    from .vad import SileroVad

    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with paused_gc():
        base = load_models(opts, torch.device(device))
    cancel = threading.Event()
    runner = MaskRunner(base.dns.model, base.device, base.precision == "bfloat16")
    masker = SharedMasker(runner, cancel=cancel)
    local = threading.local()

    def work(job: Job) -> FileOutcome:
        if not hasattr(local, "models"):  # a VAD per thread: it carries per-file state
            local.models = Models(SileroVad(), base.dns, base.device, base.precision, masker, cancel)
        return clean_job(job, opts, device, local.models)

    pool = ThreadPoolExecutor(workers, thread_name_prefix="denoise-file")
    futures = {pool.submit(work, job): job for job in jobs}
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        masker.close()
        torch.set_num_threads(torch_threads)


def _pool_worker_init() -> None:
    """In a pool worker: SIGTERM kills at once (the parent, not the worker, cleans up);
    malloc keeps freed blocks for the next block (``allocator.py``)."""
    import signal

    from .allocator import keep_freed_memory

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    keep_freed_memory()


def _dask_client(address: Optional[str]):
    try:
        from dask.distributed import Client
    except ImportError:
        raise UsageError("--backend dask needs dask.distributed: pip install 'denoise-cli[dask]'") from None
    try:
        return Client(address, timeout=DASK_CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"--scheduler {address}: cannot connect ({exc})") from None


def _indexed(i: int, job: Job, opts: CleanOptions, device: str) -> tuple[int, FileOutcome]:
    return i, clean_job(job, opts, device)
