"""Progress for `denoise clean`: a rich bar on a terminal, one plain line per file elsewhere.

Errors are always printed (stderr); --quiet prints nothing else.
"""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

from .report import FAILED, FileOutcome, db_text


class Progress:
    def __init__(self, quiet: bool = False, verbose: bool = False, stream=None):
        self.stream = stream or sys.stderr
        self.quiet, self.verbose = quiet, verbose
        self.console = Console(file=self.stream)
        self.bar = None
        self.audio_s = 0.0
        if self.stream.isatty() and not quiet:
            self.bar = RichProgress(
                TextColumn("[bold]cleaning"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[audio]}"), TimeElapsedColumn(),
                console=self.console, transient=False)

    def __enter__(self) -> "Progress":
        if self.bar:
            self.bar.start()
            self.task = self.bar.add_task("clean", total=0, audio="")
        return self

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.stop()

    def start(self, jobs) -> None:
        if self.bar:
            self.total_audio = sum(j.duration_s for j in jobs)
            self.bar.update(self.task, total=len(jobs))

    def outcome(self, outcome: FileOutcome) -> None:
        if outcome.status == FAILED:
            self._line(outcome.message())
        elif not self.quiet and (self.bar is None or self.verbose):
            text = outcome.message()
            if self.verbose and outcome.report:
                r = outcome.report
                snr = r["snr_estimate_db"]
                text += (f"; {len(r['segments'])} segments, speech {r['speech_ratio']:.0%}, "
                         f"noise from {r['noise_profile']['source']}, SNR {db_text(snr['before'])} -> {db_text(snr['after'])}")
            self._line(text)
        if self.bar and outcome.status != "skipped":
            self.audio_s += outcome.duration_s
            elapsed = self.bar.tasks[0].elapsed or 0.0
            speed = f"{self.audio_s / elapsed:.0f}x real time" if elapsed > 0 else ""
            self.bar.update(self.task, advance=1,
                            audio=f"{self.audio_s:.0f}/{self.total_audio:.0f} s audio {speed}")

    def _line(self, text: str) -> None:
        if self.bar:
            self.bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.stream, flush=True)
