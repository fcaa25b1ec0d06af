"""The run page: OUTPUT_DIR/index.html from the run summary and the per-file reports.

A static page (no server, no network) that works when opened from disk. The
rows travel as JSON inside the page and are built by a small script with
textContent, so no file name is ever parsed as HTML; links are relative
percent-encoded paths. Audio players and plots load only when asked for
(players on click, thumbnails lazily), so a folder of thousands of files
stays quick.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Optional
from urllib.parse import quote

from . import __version__
from .audio import write_text_atomic
from .errors import UsageError
from .report import CLEANED, RUN_SUMMARY_NAME

INDEX_NAME = "index.html"
_ASSETS = Path(__file__).with_name("assets")


def _read_json(path: Path) -> Optional[dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_file_report(data: Optional[dict]) -> bool:
    return bool(data) and "denoise_version" in data and "segments" in data and "output" in data


def _absolute(path: str, cwd: Optional[str]) -> str:
    """``path`` made absolute against ``cwd``, the folder the run was started in (else this one)."""
    return os.path.abspath(os.path.join(cwd or os.getcwd(), path))


def _relative(path: str, base: Path, cwd: Optional[str]) -> str:
    return os.path.relpath(_absolute(path, cwd), os.path.abspath(base))


def _href(path: Optional[str], base: Path, cwd: Optional[str]) -> Optional[str]:
    """A relative, percent-encoded link from ``base`` to ``path`` (None when there is none)."""
    if not path:
        return None
    rel = _relative(path, base, cwd)
    return quote(os.fsencode(rel).replace(os.sep.encode(), b"/"), safe="/")


def _row(entry: dict, report: Optional[dict], base: Path, cwd: Optional[str]) -> dict:
    """One table row from a summary entry (may be empty) and its per-file report (may be None)."""
    report = report or {}
    snr = report.get("snr_estimate_db") or {}
    timings = report.get("timings_s") or {}
    output = entry.get("output") or report.get("output")
    entry = {"input": report.get("input")} | entry
    status = entry.get("status") or report.get("status") or "?"
    return {
        "name": _relative(output, base, cwd) if output else (entry.get("input") or "?"),
        "status": status,
        "reason": entry.get("reason", ""),
        "duration_s": entry.get("duration_s") or report.get("duration_s"),
        "speech_ratio": report.get("speech_ratio"),
        "snr_before_db": snr.get("before"),
        "snr_after_db": snr.get("after"),
        "seconds": entry.get("seconds") if status == CLEANED else timings.get("total"),
        "links": _links(entry, output, status, base, cwd),
    }


def _links(entry: dict, output: Optional[str], status: str, base: Path, cwd: Optional[str]) -> dict:
    """Links of a row: the input always; outputs and side files only when they were made."""
    paths = {"input": entry.get("input")}
    if status != "failed":
        paths |= {"output": output, "report": entry.get("report"), "plot": entry.get("plot"),
                  "audacity": entry.get("labels_audacity"), "vtt": entry.get("labels_vtt")}
    return {k: _href(v, base, cwd) for k, v in paths.items() if v}


def collect_rows(output_dir: Path) -> tuple[dict, list[dict]]:
    """(run summary, rows): the last run's files first, then reports of earlier runs found under OUTPUT_DIR.

    Paths in the summary are taken relative to the folder the run started in
    (its ``cwd``), so the page is the same whichever folder it is made from.
    """
    summary = _read_json(output_dir / RUN_SUMMARY_NAME) or {}
    cwd = summary.get("cwd")
    rows, seen = [], set()  # seen: absolute outputs and reports already in a row
    for entry in summary.get("files", []):
        if not isinstance(entry, dict):
            continue
        report = _read_json(Path(_absolute(entry["report"], cwd))) if entry.get("report") else None
        rows.append(_row(entry, report if _is_file_report(report) else None, output_dir, cwd))
        seen |= {_absolute(entry[k], cwd) for k in ("output", "report") if entry.get(k)}
    for path in sorted(output_dir.rglob("*.json")):
        output = path.with_name(path.name[: -len(".json")])  # a report sits beside its output
        if path.name.startswith(".") or path.name == RUN_SUMMARY_NAME or \
                {os.path.abspath(path), os.path.abspath(output)} & seen:
            continue
        report = _read_json(path)
        if not _is_file_report(report):
            continue
        side = {"report": str(path), **({"output": str(output)} if output.is_file() else {})}
        for key, suffix in (("plot", ".png"), ("labels_audacity", ".labels.txt"), ("labels_vtt", ".vtt")):
            candidate = path.with_name(output.name + suffix)
            if candidate.is_file():
                side[key] = str(candidate)
        rows.append(_row({"status": report.get("status", CLEANED), **side}, report, output_dir, None))
    return summary, rows


def _embed(data) -> str:
    """JSON that is safe inside <script>: no '<', '>' or '&' survive as such."""
    text = json.dumps(data, ensure_ascii=True, allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_index(summary: dict, rows: list[dict], title: str) -> str:
    """The whole page as text."""
    template = (_ASSETS / "report.html").read_text(encoding="utf-8")
    meta = {
        "title": title, "generated": time.strftime("%Y-%m-%d %H:%M:%S"), "version": __version__,
        "summary": {k: summary.get(k) for k in ("cleaned", "skipped", "failed", "audio_s_cleaned",
                                                 "wall_s", "real_time_factor", "exit_code", "interrupted")},
    }
    values = {"META": _embed(meta), "ROWS": _embed(rows)}
    return re.sub(r"/\*@(META|ROWS)@\*/(?:null|\[\])", lambda m: values[m.group(1)], template)


def write_index(output_dir: str | os.PathLike) -> tuple[Path, int]:
    """Write OUTPUT_DIR/index.html; returns (its path, the number of rows).

    Raises UsageError when OUTPUT_DIR is not a folder or holds no run summary or reports.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise UsageError(f"{output_dir}: not a folder")
    summary, rows = collect_rows(output_dir)
    if not summary and not rows:
        raise UsageError(f"{output_dir}: no {RUN_SUMMARY_NAME} and no per-file reports; run denoise clean first")
    path = output_dir / INDEX_NAME
    write_text_atomic(path, render_index(summary, rows, f"denoise: {output_dir.resolve().name}"))
    return path, len(rows)
