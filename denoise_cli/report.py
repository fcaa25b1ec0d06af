"""Per-file outcomes and the run report that owns the exit code; their JSON forms."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


SCHEMA_VERSION = 1
RUN_SUMMARY_NAME = "denoise-run.json"

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75  # sysexits EX_TEMPFAIL: another run holds the output folder
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

CLEANED, SKIPPED, FAILED = "cleaned", "skipped", "failed"


@dataclass
class FileOutcome:
    """What happened to one input. ``report`` is the per-file report dict when cleaned."""

    input: str
    output: str
    status: str
    reason: str = ""
    duration_s: float = 0.0
    seconds: float = 0.0
    report: Optional[dict] = None
    files: dict = field(default_factory=dict)  # report/plot/label paths, for cleaned and skipped files

    def message(self) -> str:
        """One line for a log."""
        if self.status == FAILED:
            return f"error: {shown(self.input)}: {self.reason}"
        if self.status == SKIPPED:
            return f"skipped {shown(self.input)} ({self.reason})"
        rtf = self.seconds / self.duration_s if self.duration_s else 0.0
        return f"cleaned {shown(self.input)} -> {shown(self.output)} ({self.duration_s:.1f} s audio in {self.seconds:.2f} s, RTF {rtf:.3f})"


@dataclass
class RunReport:
    """Collects outcomes; the exit code follows from them (failures are never hidden)."""

    output_dir: str
    outcomes: list[FileOutcome] = field(default_factory=list)
    interrupted: bool = False
    terminated: bool = False  # interrupted by SIGTERM rather than SIGINT
    wall_s: float = 0.0
    summary_error: str = ""  # why the run summary could not be written, if it could not

    def add(self, outcome: FileOutcome) -> None:
        self.outcomes.append(outcome)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def return_code(self) -> int:
        if self.interrupted:
            return EXIT_TERMINATED if self.terminated else EXIT_INTERRUPTED
        return EXIT_FAILED if self.count(FAILED) or self.summary_error else EXIT_OK

    def to_dict(self) -> dict:
        cleaned = [o for o in self.outcomes if o.status == CLEANED]
        audio_s = sum(o.duration_s for o in cleaned)
        return {
            "schema_version": SCHEMA_VERSION,
            "output_dir": self.output_dir,
            "cwd": _cwd(),  # relative paths below are relative to this
            "cleaned": self.count(CLEANED),
            "skipped": self.count(SKIPPED),
            "failed": self.count(FAILED),
            "interrupted": self.interrupted,
            "exit_code": self.return_code,
            "audio_s_cleaned": round(audio_s, 3),
            "wall_s": round(self.wall_s, 3),
            "real_time_factor": round(self.wall_s / audio_s, 5) if audio_s else None,
            "files": [{"input": o.input, "output": o.output, "status": o.status,
                       **({"reason": o.reason} if o.reason else {}),
                       "duration_s": round(o.duration_s, 3), "seconds": round(o.seconds, 3),
                       **o.files}
                      for o in self.outcomes],
        }

    def summary_line(self) -> str:
        d = self.to_dict()
        text = (f"{d['cleaned']} cleaned, {d['skipped']} skipped, {d['failed']} failed; "
                f"{d['audio_s_cleaned']:.1f} s of audio in {d['wall_s']:.1f} s")
        if d["real_time_factor"] is not None:
            text += f" (RTF {d['real_time_factor']:.4f})"
        return text + (" — interrupted" if self.interrupted else "")

    def write(self) -> Path:
        path = Path(self.output_dir) / RUN_SUMMARY_NAME
        write_json(path, self.to_dict())
        return path


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as UTF-8 JSON; names that are not valid UTF-8 are written as escapes."""
    from .audio import write_text_atomic  # numpy/soundfile load only when a run writes

    text = json.dumps(data, indent=2, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a file name with undecodable bytes (surrogate escapes)
        text = json.dumps(data, indent=2, ensure_ascii=True)
    write_text_atomic(Path(path), text + "\n")


def _cwd() -> Optional[str]:
    try:
        return os.getcwd()
    except OSError:  # the working folder was removed
        return None


def shown(path: str) -> str:
    """A path for a one-line message: control characters (a newline in a name) escaped."""
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return repr(path)[1:-1]
    return path


def db_text(value: Optional[float]) -> str:
    """A report's dB figure for people (log lines, plot titles): "n/a" where the report has null."""
    return "n/a" if value is None else f"{value:.1f} dB"
