"""Before/after pictures of a cleaned file: spectrograms, speech segments, noise profile.

SpectrogramSketch builds a coarse spectrogram block by block while a file is
cleaned (no second read, bounded memory for a 10-hour file); render_plot draws
the picture with matplotlib's Agg backend (the optional extra
``denoise-cli[plot]``), with no display needed.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import write_bytes_atomic
from .errors import UsageError
from .report import db_text

PLOT_WIDTH_PX = 1200
PLOT_HEIGHT_PX = 800
PLOT_DPI = 100
PLOT_MAX_COLUMNS = 1200          # time columns at most, whatever the duration
PLOT_WINDOW_MS = 32.0            # analysis window (non-overlapping Hann frames)
PLOT_DYNAMIC_RANGE_DB = 90.0     # colour scale: the loudest cell down to this far below it
PLOT_FLOOR_DB = -150.0           # digital silence is drawn at this level, not -inf


def require_matplotlib() -> None:
    """UsageError with the install hint when the 'plot' extra is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'denoise-cli[plot]'") from None


class SpectrogramSketch:
    """A coarse log-power spectrogram of a stream, built from consecutive blocks.

    The mono mix is cut into non-overlapping Hann frames of ``PLOT_WINDOW_MS``
    (rounded up to a power of two in samples); runs of consecutive frames are
    averaged into at most ``max_columns`` columns spanning ``total_samples``.
    Levels are dB per bin re full scale, scaled by the window's energy so that
    white noise of RMS r reads 20*log10(r) in every bin whatever the window:
    the noise profile (another STFT size) is drawn on the same scale.
    """

    def __init__(self, sample_rate_hz: int, total_samples: int, max_columns: int = PLOT_MAX_COLUMNS):
        self.sample_rate_hz = sample_rate_hz
        self.n_fft = 1 << max(4, math.ceil(math.log2(sample_rate_hz * PLOT_WINDOW_MS / 1000)))
        self.window = np.hanning(self.n_fft + 2)[1:-1]
        self.scale = 1.0 / np.sum(self.window**2)
        total_frames = max(1, math.ceil(total_samples / self.n_fft))
        self.frames_per_column = max(1, math.ceil(total_frames / max_columns))
        n_columns = math.ceil(total_frames / self.frames_per_column)
        self.power = np.zeros((n_columns, self.n_fft // 2 + 1))
        self.count = np.zeros(n_columns)
        self._carry = np.zeros(0)
        self._frame = 0

    @property
    def column_s(self) -> float:
        """Seconds of audio per column."""
        return self.frames_per_column * self.n_fft / self.sample_rate_hz

    def add(self, block: np.ndarray) -> None:
        """Add the next samples: shape (channels, samples) or (samples,)."""
        mono = block.mean(axis=0) if block.ndim == 2 else block
        x = np.concatenate([self._carry, mono.astype(np.float64)])
        k = x.size // self.n_fft
        self._carry = x[k * self.n_fft:]
        if k:
            self._add_frames(x[: k * self.n_fft].reshape(k, self.n_fft))

    def _add_frames(self, frames: np.ndarray) -> None:
        p = np.abs(np.fft.rfft(frames * self.window, axis=1)) ** 2 * self.scale
        cols = np.minimum((self._frame + np.arange(len(frames))) // self.frames_per_column,
                          len(self.count) - 1)
        np.add.at(self.power, cols, p)
        np.add.at(self.count, cols, 1)
        self._frame += len(frames)

    def db(self) -> np.ndarray:
        """(columns, bins) dBFS, the last partial frame included (zero-padded)."""
        if self._carry.size:
            self._add_frames(np.pad(self._carry, (0, self.n_fft - self._carry.size))[None])
            self._carry = np.zeros(0)
        mean = self.power / np.maximum(self.count, 1)[:, None]
        return np.maximum(10 * np.log10(np.maximum(mean, 1e-30)), PLOT_FLOOR_DB)


@dataclass
class PlotData:
    """Everything one picture shows; times in seconds, levels in dB."""

    title: str
    duration_s: float
    sample_rate_hz: int
    before: SpectrogramSketch
    after: SpectrogramSketch
    segments_s: list[tuple[float, float]]
    noise_freqs_hz: np.ndarray   # (bins,)
    noise_db: np.ndarray         # (bins,) the noise profile used, on the sketches' scale
    noise_source: str
    snr_before_db: float | None
    snr_after_db: float | None


def render_plot(data: PlotData) -> bytes:
    """The picture as PNG bytes, PLOT_WIDTH_PX x PLOT_HEIGHT_PX."""
    from matplotlib.figure import Figure  # no pyplot: no backend switch, no global state, no display

    before, after = data.before.db(), data.after.db()
    top = float(max(before.max(), after.max()))
    vmin, vmax = top - PLOT_DYNAMIC_RANGE_DB, top
    fig = Figure(figsize=(PLOT_WIDTH_PX / PLOT_DPI, PLOT_HEIGHT_PX / PLOT_DPI), dpi=PLOT_DPI)
    grid = fig.add_gridspec(3, 3, height_ratios=[0.12, 1, 1], width_ratios=[1, 0.16, 0.025],
                            hspace=0.12, wspace=0.06)
    track = fig.add_subplot(grid[0, 0])
    ax_in = fig.add_subplot(grid[1, 0], sharex=track)
    ax_out = fig.add_subplot(grid[2, 0], sharex=track, sharey=ax_in)
    ax_noise = fig.add_subplot(grid[1, 1], sharey=ax_in)  # beside the input it was measured on
    fig.add_subplot(grid[2, 1]).set_axis_off()
    ax_bar = fig.add_subplot(grid[1:, 2])
    extent = (0.0, before.shape[0] * data.before.column_s, 0.0, data.sample_rate_hz / 2 / 1000)
    for ax, spec, name in ((ax_in, before, "input"), (ax_out, after, "output")):
        image = ax.imshow(spec.T, origin="lower", aspect="auto", extent=extent, vmin=vmin, vmax=vmax,
                          cmap="magma", interpolation="nearest")
        for start, end in data.segments_s:
            ax.axvspan(start, end, color="#7fdbff", alpha=0.12, lw=0)
        ax.set_ylabel(f"{name}\nkHz")
        ax.set_xlim(0, max(data.duration_s, 1e-3))
    for start, end in data.segments_s:
        track.axvspan(start, end, color="#0074d9", lw=0)
    track.set_yticks([])
    track.set_ylabel("speech", rotation=0, ha="right", va="center")
    track.tick_params(labelbottom=False)
    ax_in.tick_params(labelbottom=False)
    ax_out.set_xlabel("time (s)")
    ax_noise.plot(data.noise_db, data.noise_freqs_hz / 1000, color="#2ca02c")
    ax_noise.set_xlim(vmin, vmax)  # the colour scale's range: levels read alike in both
    ax_noise.set_xlabel("dB")
    ax_noise.set_title(f"noise profile\n({data.noise_source})", fontsize=9)
    ax_noise.tick_params(labelleft=False)
    ax_noise.grid(alpha=0.3)
    fig.colorbar(image, cax=ax_bar, label="dB per bin (re full scale)")
    title = data.title.replace("$", r"\$")  # a '$' in a file name is not mathtext
    fig.suptitle(f"{title}    estimated SNR {db_text(data.snr_before_db)} \u2192 "
                 f"{db_text(data.snr_after_db)}", fontsize=13)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=PLOT_DPI)
    return buffer.getvalue()


def write_plot(data: PlotData, path: Path) -> None:
    """Render and write atomically (OutputError when it cannot be written)."""
    write_bytes_atomic(Path(path), render_plot(data))


def profile_db(power: np.ndarray, window: np.ndarray) -> np.ndarray:
    """A noise profile (channels, bins) of |STFT|^2 means -> (bins,) dB on the sketches' scale."""
    mean = np.asarray(power, dtype=np.float64).mean(axis=0) / np.sum(np.asarray(window, np.float64) ** 2)
    return np.maximum(10 * np.log10(np.maximum(mean, 1e-30)), PLOT_FLOOR_DB)
