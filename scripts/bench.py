"""Throughput and memory benchmark for `denoise clean` (make bench, make bench-long).

Builds a fixed set of files (speech from sample_audio/.reference, looped, plus
pink noise at 5 dB; seeded) under bench/ (git-ignored), runs the CLI on them in
subprocesses and prints a table and JSON: audio seconds per wall second,
real-time factor, each stage's share of the time (from the per-file reports) and
peak resident memory of the run. It also times the fixed start-up (the CLI, torch
and the models loaded, on a 1-second file: the median of STARTUP_RUNS runs) and
gives each row's "work RTF": (wall - start-up) / audio, the rate a long batch
approaches once the start-up is paid.

    python scripts/bench.py            # short and 10-minute files, --jobs 1 and --jobs all
    python scripts/bench.py --long     # a 3-hour 48 kHz stereo and a 10-hour 16 kHz mono file, and
                                       # two 1-hour files of each (--jobs 2 with start-up amortised)
    python scripts/bench.py --long --sets 10h_16k_mono   # one set of the chosen list
    python scripts/bench.py --peers-python build/peers-venv/bin/python
                                       # also sox, ffmpeg, noisereduce, RNNoise, DeepFilterNet

Peers run on WAV copies of the same files (their adapters read *.wav), one
process and one thread each, in the same run; so does our chain for the ratio
("denoise (wav)", --jobs 1). The Python peers' adapters mix stereo down to mono
(half the samples of our stereo work); sox and ffmpeg process every channel.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from denoise_cli.noises import pink  # noqa: E402
from machine import cpu_model  # noqa: E402  (scripts/machine.py)

BENCH = ROOT / "bench"
BLOCK_S = 60  # seconds generated and written at a time, so long files never sit in memory
# (name, rate Hz, channels, seconds per file, files). Every set runs with --jobs 1 and
# --jobs all cores: on a one-file set the spare cores decode and encode beside the work.
SETS = {
    "default": [("short_16k_mono", 16_000, 1, 30, 8), ("short_48k_stereo", 48_000, 2, 30, 8),
                ("long_16k_mono", 16_000, 1, 600, 2), ("long_48k_stereo", 48_000, 2, 600, 2),
                ("one_48k_stereo", 48_000, 2, 600, 1)],
    "long": [("3h_48k_stereo", 48_000, 2, 3 * 3600, 1), ("10h_16k_mono", 16_000, 1, 10 * 3600, 1),
             # two files, one per worker, long enough that the start-up (about 1 s) is 3 % of the
             # wall time or less: what is left between --jobs 1 and --jobs 2 is the workers' own
             ("two_1h_48k_stereo", 48_000, 2, 3600, 2), ("two_1h_16k_mono", 16_000, 1, 3600, 2)],
}
NO_PEERS = {"one_48k_stereo"}  # the first file of long_48k_stereo again: the peers' figures would repeat


def speech_loop(rate: int) -> np.ndarray:
    """All reference speech of sample_audio, mono, at ``rate``, with 1 s pauses."""
    parts = []
    for path in sorted((ROOT / "sample_audio" / ".reference").iterdir()):
        x, r = sf.read(path, dtype="float32", always_2d=True)
        x = x.mean(axis=1)
        if r != rate:
            x = resample_poly(x, rate, r).astype(np.float32)
        parts += [x, np.zeros(rate, np.float32)]
    return np.concatenate(parts)


def make_file(path: Path, rate: int, channels: int, seconds: int, seed: int) -> None:
    if path.exists():
        return
    rng = np.random.default_rng(seed)
    speech = speech_loop(rate)
    level = np.sqrt(np.mean(speech**2)) * 10 ** (-5 / 20)
    tmp = path.with_suffix(".tmp.flac")
    with sf.SoundFile(tmp, "w", rate, channels, "PCM_16", format="FLAC") as f:
        done = 0
        while done < seconds * rate:
            n = min(BLOCK_S * rate, seconds * rate - done)
            idx = (done + np.arange(n)) % speech.size
            block = np.stack([speech[idx] + level * pink(rng, n, rate) for _ in range(channels)], 1)
            f.write(np.clip(block, -1, 1))
            done += n
    tmp.rename(path)


PEAK_POLL_S = 0.05
STARTUP_RUNS = 5


def _children() -> dict[int, list[int]]:
    """ppid -> pids, for every process in /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_watched(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; (wall seconds, peak RSS in MB of the largest process in its tree).

    The tree is sampled every PEAK_POLL_S from /proc, so worker processes forked
    by a fork server (grandchildren, which getrusage does not see) count too.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0.0
    while proc.poll() is None:
        tree, todo = _children(), [proc.pid]
        while todo:
            pid = todo.pop()
            peak = max(peak, _rss_mb(pid))
            todo += tree.get(pid, [])
        time.sleep(PEAK_POLL_S)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, peak


def run(inputs: list[Path], out: Path, jobs: int, device: str = "cpu") -> dict:
    """One `denoise clean` run: wall time, and the peak RSS of its largest process."""
    cmd = [str(ROOT / ".venv" / "bin" / "denoise"), "clean", *map(str, inputs), str(out),
           "--overwrite", "--quiet", "--jobs", str(jobs), "--device", device]
    wall, peak_mb = run_watched(cmd)
    stages, audio = {}, 0.0
    for report in out.rglob("*.json"):
        data = json.loads(report.read_text())
        if "timings_s" not in data:
            continue
        audio += data["duration_s"]
        for stage, sec in data["timings_s"].items():
            stages[stage] = stages.get(stage, 0.0) + sec
    total = stages.pop("total", 0.0) or 1.0
    return {"jobs": jobs, "device": device, "audio_s": round(audio, 1), "wall_s": round(wall, 2),
            "audio_s_per_wall_s": round(audio / wall, 1), "real_time_factor": round(wall / audio, 5),
            "stage_share": {k: round(v / total, 3) for k, v in sorted(stages.items())},
            "peak_rss_mb": round(peak_mb, 1)}


def startup_s(jobs: int, device: str = "cpu") -> float:
    """Median wall seconds of `denoise clean` on one 1-second 16 kHz file: the fixed cost of a run.

    With ``jobs`` > 1 the file is given twice (two workers start, as in a real run); on
    ``device`` "cuda" the cost includes starting CUDA and moving the model to the GPU.
    """
    folder = BENCH / "in" / "startup"
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f"startup_{i}.flac" for i in range(min(jobs, 2))]
    for i, path in enumerate(files):
        make_file(path, 16_000, 1, 1, seed=i)
    walls = sorted(run(files, BENCH / "out" / "startup", jobs, device)["wall_s"] for _ in range(STARTUP_RUNS))
    return walls[len(walls) // 2]


def wav_copies(files: list[Path], folder: Path) -> Path:
    """PCM16 WAV copies of ``files`` in ``folder`` (made once; not timed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        dst = folder / (path.stem + ".wav")
        if not dst.exists():
            with sf.SoundFile(path) as src, sf.SoundFile(dst.with_suffix(".tmp"), "w", src.samplerate,
                                                          src.channels, "PCM_16", format="WAV") as out:
                for block in src.blocks(BLOCK_S * src.samplerate, dtype="int16"):
                    out.write(block)
            dst.with_suffix(".tmp").rename(dst)
    return folder


def peer_rows(name: str, files: list[Path], audio_s: float, peers_python: str) -> list[dict]:
    """Throughput of our chain and of every installed peer on WAV copies of ``files``."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import compare  # the peers' commands and settings, as `make compare` runs them

    src = wav_copies(files, BENCH / "wav" / name)
    rows = []
    for system in compare.systems(None, peers_python):
        if system["name"] == "denoise --no-dns":
            continue
        _, missing = compare.version_or_missing(system, peers_python)
        if missing:
            print(f"    skip {system['name']}: {missing}", file=sys.stderr)
            continue
        wall = compare.run_system(system, src, BENCH / "peer_out" / name / system["name"].replace(" ", "_"))
        rows.append({"system": "denoise (wav)" if system["name"] == "denoise" else system["name"],
                     "wall_s": round(wall, 2), "audio_s_per_wall_s": round(audio_s / wall, 1),
                     "real_time_factor": round(wall / audio_s, 5)})
    ours = next((r for r in rows if r["system"] == "denoise (wav)"), None)
    for r in rows:
        r["ours_over_this"] = round(ours["audio_s_per_wall_s"] / r["audio_s_per_wall_s"], 2) if ours else None
    return rows


def gpu_name() -> str | None:
    """The GPU our interpreter's torch sees, or None (asked in a child: this script stays torch-free)."""
    probe = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c",
                            "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"],
                           capture_output=True, text=True)
    return probe.stdout.strip() or None


def chosen_sets(long: bool, names: str | None) -> list[tuple]:
    """The long or the default sets; only those named (comma-separated) when ``names`` is given."""
    sets = SETS["long" if long else "default"]
    if not names:
        return sets
    unknown = set(names.split(",")) - {name for name, *_ in sets}
    if unknown:
        raise ValueError(f"unknown set {', '.join(sorted(unknown))}: choose from {', '.join(n for n, *_ in sets)}")
    return [entry for entry in sets if entry[0] in names.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--long", action="store_true", help="the 3-hour and 10-hour files, and two 1-hour files of each kind")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--peers-python", help="the peers' interpreter (make peers): also time the peers")
    parser.add_argument("--sets", help="comma-separated set names to run (default: all of the chosen list)")
    args = parser.parse_args()
    try:
        chosen = chosen_sets(args.long, args.sets)
    except ValueError as exc:
        parser.error(str(exc))
    cores = len(os.sched_getaffinity(0))
    gpu = gpu_name()
    print("GPU: " + (f"{gpu}; CUDA rows run with --device cuda (threads sharing one model)" if gpu
                     else "none on this machine (CPU rows only)"), flush=True)
    results = [{"machine": {"cpu": cpu_model(), "cores": cores, "gpu": gpu}}]
    starts = [(jobs, "cpu") for jobs in sorted({1, cores})] + ([(cores, "cuda")] if gpu else [])
    startup = {start: startup_s(*start) for start in starts}
    # keys "1" and "2" (jobs, CPU) as before; "cuda 2" for the GPU's
    results.append({"startup_s": {(str(j) if d == "cpu" else f"{d} {j}"): v for (j, d), v in startup.items()}})
    print("start-up (1-second file, median of %d): " % STARTUP_RUNS
          + ", ".join(f"{d} jobs {j} {v:.2f} s" for (j, d), v in startup.items()), flush=True)
    for name, rate, channels, seconds, copies in chosen:
        folder = BENCH / "in" / name
        folder.mkdir(parents=True, exist_ok=True)
        # seeded by index, so one_48k_stereo_0 has the samples of long_48k_stereo_0
        files = [folder / f"{name}_{i}.flac" for i in range(copies)]
        for i, path in enumerate(files):
            make_file(path, rate, channels, seconds, seed=i)
        runs = [(jobs, "cpu") for jobs in sorted({1, cores})]
        runs += [(cores, "cuda")] if gpu else []
        for jobs, device in runs:
            row = {"set": name, "files": copies, **run(files, BENCH / "out" / name, jobs, device)}
            # below zero when the start-up run was slower than this one: a noisy machine
            # one file on the CPU runs in the CLI's own process whatever --jobs is: the start-up of --jobs 1
            paid = startup[1 if copies == 1 and device == "cpu" else jobs, device]
            row["work_real_time_factor"] = round((row["wall_s"] - paid) / row["audio_s"], 5)
            results.append(row)
            print(f"{name:18s} files {copies}  {device:4s} jobs {jobs}  {row['audio_s']:8.0f} s audio  "
                  f"wall {row['wall_s']:8.1f} s  {row['audio_s_per_wall_s']:7.1f} x real time  "
                  f"RTF {row['real_time_factor']:.4f}  work RTF {row['work_real_time_factor']:.4f}  "
                  f"peak {row['peak_rss_mb']} MB", flush=True)
            print("    stage share: " + ", ".join(f"{k} {v:.0%}" for k, v in row["stage_share"].items()))
        if args.peers_python and name not in NO_PEERS:
            audio_s = results[-1]["audio_s"]
            peers = peer_rows(name, files, audio_s, args.peers_python)
            results.append({"set": name, "files": copies, "peers": peers})
            for r in peers:
                print(f"    {r['system']:16s} {r['audio_s_per_wall_s']:7.1f} x real time  RTF "
                      f"{r['real_time_factor']:.4f}  ours/this {r['ours_over_this']}", flush=True)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
