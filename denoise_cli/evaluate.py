"""`denoise eval`: score folders of processed files against clean references."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Optional

import numpy as np
import soundfile as sf

from .batch import walk_audio
from .errors import UsageError
from .metrics import pesq_wb, si_sdr, stoi


def _mono(path: Path) -> tuple[np.ndarray, int]:
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return audio.mean(axis=1), rate


def score_pair(ref_path: Path, est_path: Path, with_pesq: bool) -> dict:
    ref, rate = _mono(ref_path)
    est, est_rate = _mono(est_path)
    if est_rate != rate:
        raise UsageError(f"{est_path}: {est_rate} Hz, reference has {rate} Hz")
    n = min(ref.size, est.size)
    scores = {"si_sdr": si_sdr(ref[:n], est[:n]), "stoi": stoi(ref[:n], est[:n], rate)}
    if with_pesq:
        scores["pesq"] = pesq_wb(ref[:n], est[:n], rate)
    return scores


def evaluate_folders(reference: Path, systems: dict[str, Path], index_path: Optional[Path] = None,
                     with_pesq: bool = False) -> dict:
    """Per-file scores and means per system, overall and per group.

    systems: label -> folder whose files match the reference's relative paths
    (a processed file may have another suffix). index_path: optional JSON list
    of {"name": relative path without suffix, "noise": ..., "snr_db": ...}.
    """
    reference = Path(reference)
    refs = walk_audio(reference)
    if not refs:
        raise UsageError(f"{reference}: no reference files")
    groups = {}
    if index_path:
        for item in json.loads(Path(index_path).read_text()):
            groups[item["name"]] = {"noise": item.get("noise"), "snr_db": item.get("snr_db")}
    files, summary = [], {}
    for label, folder in systems.items():
        per_group = defaultdict(list)
        for ref in refs:
            rel = ref.relative_to(reference)
            match = [p for p in (Path(folder) / rel.parent).glob(rel.stem + ".*")
                     if p.suffix.lower() in (".wav", ".flac")]
            if not match:
                raise UsageError(f"{label}: no file for {rel}")
            scores = score_pair(ref, match[0], with_pesq)
            key = str(rel.with_suffix(""))
            files.append({"system": label, "file": key, **groups.get(key, {}), **scores})
            per_group["all"].append(scores)
            if key in groups:
                per_group[f"noise={groups[key]['noise']}"].append(scores)
                per_group[f"snr={groups[key]['snr_db']}"].append(scores)
        summary[label] = {g: {m: float(np.mean([s[m] for s in rows])) for m in rows[0]} | {"n": len(rows)}
                          for g, rows in per_group.items()}
    return {"summary": summary, "files": files}


def format_table(results: dict) -> str:
    """A plain-text table of the overall means, one row per system."""
    lines = []
    for label, groups in results["summary"].items():
        row = groups["all"]
        metrics = "  ".join(f"{m} {row[m]:7.3f}" for m in row if m != "n")
        lines.append(f"{label:40s} n={row['n']:4d}  {metrics}")
    return "\n".join(lines)
