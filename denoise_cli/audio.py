"""Audio in and out: open and check inputs, read ranges, resample, write atomically.

Samples are float32 arrays of shape (channels, samples) everywhere in the package.
"""

from __future__ import annotations

import math
import re
import os
import shutil
import stat
import struct
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import soundfile as sf

from .errors import AudioContentError, AudioReadError, OutputError
from .resample import resample_poly

FORMATS = {"WAV": ".wav", "WAVEX": ".wav", "FLAC": ".flac"}  # WAVEX: WAVE_FORMAT_EXTENSIBLE
MAX_ABS_SAMPLE = 1e6  # float files beyond this are corrupt (and would overflow float32 power)
UNKNOWN_FRAMES = 2**63 - 1  # what libsndfile reports for a FLAC stream of unknown length
INT16_SUBTYPES = ("PCM_16", "PCM_S8", "PCM_U8")  # decoded as int16 without loss
INT16_SCALE = np.float32(1 / 32768)  # libsndfile's int16 -> float scale
CACHE_READ_FRAMES = 65_536  # frames decoded per read while filling the cache
SPILL_FORMATS = ("FLAC",)  # compressed: decoding cost 19x a raw read (48 kHz stereo noise); WAV is read directly
# Outputs whose samples we round to integers ourselves, exactly as libsndfile 1.2 does for
# FLAC (round half to even, clipped): (container, subtype) -> (dtype, bits, left shift).
# libsndfile then copies or shifts them, and its FLAC encoding takes 15 % less time.
INTEGER_WRITES = {("FLAC", "PCM_16"): (np.int16, 16, 0), ("FLAC", "PCM_24"): (np.int32, 24, 8)}
# libsndfile's 0-1 scale for FLAC levels 0-8; its default is level 5. Level 4 differs
# only in the residual partition order: measured on our 10-minute 48 kHz stereo output,
# encoding took 0.65 s instead of 0.76 s for a file 0.2 % larger.
FLAC_COMPRESSION_LEVEL = 0.5
TEMP_MARKER = ".denoise-tmp"  # temporary outputs are named ".NAME.<random>.denoise-tmp"
RESAMPLE_TAPS_PER_SIDE = 10  # scipy.signal.resample_poly's default filter half-length factor


@dataclass(frozen=True)
class AudioInfo:
    sample_rate_hz: int
    channels: int
    frames: int
    format: str  # "WAV" or "FLAC"
    subtype: str  # "PCM_16", "PCM_24", "FLOAT", ...

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate_hz


def _wav_truncation(path: Path) -> Optional[str]:
    """For a RIFF/WAVE file, say if its data chunk claims more bytes than the file has."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            chunk_id, chunk_size = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"data":
                if chunk_size in (0, 0xFFFFFFFF):  # streamed writers leave the size unknown
                    return None
                have = size - pos - 8
                if chunk_size > have:
                    return f"truncated: header declares {chunk_size} bytes of audio, file holds {have}"
                return None
            pos += 8 + chunk_size + (chunk_size & 1)
    if pos < size:
        return "truncated: the file ends inside a chunk header"
    return None


class AudioInput:
    """An opened input file: checked header, random-access reads of frame ranges.

    Files no longer than ``cache_s`` seconds, or whose decoded samples take at
    most ``cache_bytes``, are decoded once and kept in memory, so the pipeline's
    three passes decode them once. The cache holds 8- and 16-bit PCM as int16
    (2 bytes a sample: twice as long a file fits as in float32), scaled on each
    read exactly as libsndfile scales it, so reads give the same floats either way.

    A FLAC file too large for that, given a ``spill_dir``, is decoded once into
    an unnamed temporary file there (``SpilledSamples``, the same dtypes) when
    the folder's free space is at least twice its size; each read is then a copy
    from that file, not a decode (5 minutes of 48 kHz stereo white noise as
    FLAC decoded in 1.06 s, its raw samples read back in 0.06 s).

    With ``decode_ahead``, the in-memory cache or the decoded copy is filled by a
    background thread (libsndfile, numpy and file writes free the GIL): a read
    waits only until its frames are decoded, so the first pass works on the
    start of the file while the rest decodes on another core. A decoding error
    is raised by the read that needs the frames it stopped at; a disk that fills
    while the copy is written sends the reads to the file, as without the copy.

    Otherwise the last ``window_s`` seconds stay decoded: a read that starts
    inside that window, or where it ends, decodes only what lies beyond it. The
    clean pass reads each block's frames and then the block's own samples again
    (for the level meters), overlapping the previous read; without the window a
    file too large for the cache was decoded twice in that pass.
    """

    def __init__(self, path: str | os.PathLike, cache_s: float = 0.0, cache_bytes: int = 0,
                 window_s: float = 0.0, spill_dir: Optional[Path] = None, decode_ahead: bool = False):
        self.path = Path(path)
        self._decoder: Optional[_BackgroundDecode] = None
        try:
            if self.path.is_symlink() and not self.path.exists():
                raise AudioReadError("broken symbolic link")
            if not stat.S_ISREG(self.path.stat().st_mode):
                raise AudioReadError("not a regular file")
            if self.path.stat().st_size == 0:
                raise AudioReadError("empty file (0 bytes)")
            truncated = _wav_truncation(self.path)
            if truncated:
                raise AudioReadError(truncated)
            self._file = sf.SoundFile(os.fsencode(self.path))  # bytes: any file name works
        except AudioReadError:
            raise
        except PermissionError:
            raise AudioReadError("permission denied") from None
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise AudioReadError(f"not readable as audio ({_short(exc)})") from None
        f = self._file
        if f.format not in FORMATS:
            f.close()
            raise AudioReadError(f"unsupported container {f.format} (WAV and FLAC only)")
        if f.frames >= UNKNOWN_FRAMES:
            f.close()
            raise AudioReadError("unknown length: the FLAC header gives no total sample count "
                                 "(a streamed FLAC); re-encode it")
        self.info = AudioInfo(f.samplerate, f.channels, f.frames, f.format, f.subtype)
        if self.info.frames == 0:
            f.close()
            raise AudioContentError("no audio samples (0 frames)")
        self._cache = None
        decoded_bytes = self.info.frames * self.info.channels * (2 if self._int16_cache else 4)
        try:
            if self.info.frames <= cache_s * self.info.sample_rate_hz or decoded_bytes <= cache_bytes:
                if decode_ahead:
                    self._cache = cache = self._empty_cache()
                    self._decoder = _BackgroundDecode(self._decoded_pieces(), _store_in(cache))
                else:
                    self._cache = self._decode_all()
            elif spill_dir is not None and f.format in SPILL_FORMATS:
                self._cache = self._spill(Path(spill_dir), decoded_bytes, decode_ahead)
        except BaseException:
            f.close()
            raise
        self._window_frames = int(window_s * self.info.sample_rate_hz)
        self._window = (0, np.zeros((self.info.channels, 0), np.float32))  # (first frame, samples)

    @property
    def _int16_cache(self) -> bool:
        """Whether the decoded cache holds this file as int16 (8- and 16-bit PCM), else float32."""
        return self.info.subtype in INT16_SUBTYPES

    def close(self) -> None:
        if self._decoder is not None:
            self._decoder.stop()  # before the file it reads is closed
        self._file.close()
        if isinstance(self._cache, SpilledSamples):
            self._cache.close()

    def __enter__(self) -> "AudioInput":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _decoded_pieces(self) -> Iterator[tuple[int, np.ndarray]]:
        """The whole file in order, CACHE_READ_FRAMES at a time (no whole-file temporaries):
        (first frame, (channels, n) samples), int16 for 8/16-bit PCM, else float32."""
        for start in range(0, self.info.frames, CACHE_READ_FRAMES):
            stop = min(start + CACHE_READ_FRAMES, self.info.frames)
            yield start, self._read_file(start, stop, self._int16_cache)

    def _empty_cache(self) -> np.ndarray:
        return np.empty((self.info.channels, self.info.frames), np.int16 if self._int16_cache else np.float32)

    def _decode_all(self) -> np.ndarray:
        """The whole file as (channels, frames): int16 for 8/16-bit PCM, else float32."""
        cache = self._empty_cache()
        store = _store_in(cache)
        for start, piece in self._decoded_pieces():
            store(start, piece)
        return cache

    def _spill(self, folder: Path, decoded_bytes: int, ahead: bool = False) -> Optional["SpilledSamples"]:
        """The whole file decoded into a temporary file in ``folder`` (by a background thread
        when ``ahead``); None where it has no room."""
        try:
            if shutil.disk_usage(folder).free < 2 * decoded_bytes:
                return None
            spill = SpilledSamples(folder, self.info.channels, np.int16 if self._int16_cache else np.float32)
        except OSError:
            return None
        if ahead:
            self._decoder = _BackgroundDecode(self._decoded_pieces(), lambda start, piece: spill.append(piece))
            return spill
        try:
            for _, piece in self._decoded_pieces():
                spill.append(piece)
        except OSError:  # the folder filled up meanwhile: read from the file instead
            spill.close()
            return None
        except BaseException:
            spill.close()
            raise
        return spill

    def _read_file(self, start: int, stop: int, as_int16: bool = False) -> np.ndarray:
        """Frames [start, stop) from the file, checked: (channels, n) float32 (int16 if asked)."""
        try:
            self._file.seek(start)
            # DOUBLE is read as float64 so values beyond float32's range are seen, not turned to inf
            dtype = "int16" if as_int16 else "float64" if self.info.subtype == "DOUBLE" else "float32"
            data = self._file.read(stop - start, dtype=dtype, always_2d=True).T
        except (sf.LibsndfileError, RuntimeError) as exc:
            what = "truncated or corrupt FLAC data" if self.info.format == "FLAC" else "read failed"
            raise AudioReadError(f"{what} ({_short(exc)})") from None
        if data.shape[1] != stop - start:
            raise AudioReadError(f"truncated: expected {self.info.frames} frames, "
                                 f"data ends at {start + data.shape[1]}")
        if as_int16:
            return data
        if not np.isfinite(data).all():
            bad = start + int(np.argmin(np.isfinite(data).all(axis=0)))
            raise AudioContentError(f"NaN or infinite sample at {bad / self.info.sample_rate_hz:.3f} s")
        if self.info.subtype in ("FLOAT", "DOUBLE") and np.abs(data).max() > MAX_ABS_SAMPLE:
            bad = start + int(np.argmax(np.abs(data).max(axis=0) > MAX_ABS_SAMPLE))
            raise AudioContentError(f"sample out of range (beyond ±{MAX_ABS_SAMPLE:g}) at "
                                    f"{bad / self.info.sample_rate_hz:.3f} s")
        return data.astype(np.float32, copy=False)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) as (channels, stop - start) float32; zeros outside the file."""
        out = np.zeros((self.info.channels, stop - start), dtype=np.float32)
        lo, hi = max(start, 0), min(stop, self.info.frames)
        if hi <= lo:
            return out
        inside = out[:, lo - start : hi - start]
        if self._decoder is not None:
            try:
                self._decoder.wait_for(hi)
            except OSError:  # the disk filled up under the decoded copy: read the file instead
                self._decoder.stop()
                self._cache.close()
                self._cache = self._decoder = None
        if self._cache is not None:
            spilled = isinstance(self._cache, SpilledSamples)
            cached = self._cache.read(lo, hi) if spilled else self._cache[:, lo:hi]
            if cached.dtype == np.int16:
                np.multiply(cached, INT16_SCALE, out=inside)
            else:
                inside[:] = cached
        elif self._window_frames:
            inside[:] = self._read_through_window(lo, hi)
        else:
            inside[:] = self._read_file(lo, hi)
        return out

    def _read_through_window(self, lo: int, hi: int) -> np.ndarray:
        """Frames [lo, hi) of the file, decoding only what the recent window lacks."""
        first, kept = self._window
        end = first + kept.shape[1]
        if not first <= lo <= end:  # before the window, or after a gap: start a new one
            first, kept, end = lo, kept[:, :0], lo
        if hi > end:
            kept = np.concatenate([kept, self._read_file(end, hi)], axis=1)
            keep_from = min(lo, max(first, hi - self._window_frames))
            kept, first = kept[:, keep_from - first :], keep_from
            self._window = (first, kept)
        return kept[:, lo - first : hi - first]

    def blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        """The whole file in consecutive blocks of at most ``block_frames``."""
        for start in range(0, self.info.frames, block_frames):
            yield self.read(start, min(start + block_frames, self.info.frames))


def _store_in(cache: np.ndarray) -> Callable[[int, np.ndarray], None]:
    """store(first frame, (channels, n) samples): put a decoded piece in its place in ``cache``."""

    def store(start: int, piece: np.ndarray) -> None:
        cache[:, start : start + piece.shape[1]] = piece

    return store


class _BackgroundDecode:
    """Hands ``pieces`` ((first frame, samples), in order) to ``store`` in a thread.

    ``wait_for(stop)`` blocks until frames [0, stop) are stored, and raises the
    error that stopped the decoding or the storing if it stopped before them.
    ``stop()`` ends the thread (it finishes the piece in hand) and waits for it.
    """

    def __init__(self, pieces: Iterator[tuple[int, np.ndarray]], store: Callable[[int, np.ndarray], None]):
        self._done = 0  # frames [0, done) are stored
        self._error: Optional[BaseException] = None
        self._stopping = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(pieces, store), name="denoise-decode", daemon=True)
        self._thread.start()

    def _run(self, pieces, store) -> None:
        try:
            for start, piece in pieces:
                if self._stopping:
                    return
                store(start, piece)
                with self._changed:
                    self._done = start + piece.shape[1]
                    self._changed.notify_all()
        except BaseException as exc:  # handed to the reader that needs the frames
            with self._changed:
                self._error = exc
                self._changed.notify_all()

    def wait_for(self, stop: int) -> None:
        if self._done >= stop:
            return
        with self._changed:
            while self._done < stop and self._error is None:
                self._changed.wait()
            if self._done < stop:
                raise self._error

    def stop(self) -> None:
        self._stopping = True
        self._thread.join()


class SpilledSamples:
    """Decoded samples in an unnamed temporary file: appended in order, read back by frame range.

    The file has no name (``tempfile.TemporaryFile``), so nothing is left behind
    however the process ends. Samples are stored interleaved, (frames, channels)
    of ``dtype``; ``read`` gives (channels, n) of that dtype. Appends raise
    OSError when the disk is full. Reads and writes give their own offsets
    (pread, pwrite), so one thread may append while another reads what is stored.
    """

    def __init__(self, folder: Path, channels: int, dtype):
        self._file = tempfile.TemporaryFile(dir=folder, prefix=".denoise-decoded-", buffering=0)
        self._fd = self._file.fileno()
        self.channels, self.dtype = channels, np.dtype(dtype)
        self.frames = 0

    def append(self, block: np.ndarray) -> None:
        """block: (channels, n) of ``dtype``, the frames after those appended so far."""
        data = memoryview(np.ascontiguousarray(block.T, dtype=self.dtype)).cast("B")
        offset = self.frames * self.channels * self.dtype.itemsize
        while data:
            written = os.pwrite(self._fd, data, offset)
            data, offset = data[written:], offset + written
        self.frames += block.shape[1]

    def read(self, lo: int, hi: int) -> np.ndarray:
        """Frames [lo, hi) as (channels, hi - lo); 0 <= lo <= hi <= frames."""
        if not 0 <= lo <= hi <= self.frames:
            raise ValueError(f"frames [{lo}, {hi}) outside the {self.frames} stored")
        buf = np.empty((hi - lo, self.channels), self.dtype)
        if buf.nbytes and os.preadv(self._fd, [buf.data.cast("B")], lo * self.channels * self.dtype.itemsize) \
                != buf.nbytes:
            raise AudioReadError("temporary decoded copy ended early")
        return buf.T

    def close(self) -> None:
        self._file.close()


def _short(exc: Exception) -> str:
    """libsndfile's reason without the file name it repeats ("Error opening '...': ")."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    text = re.sub(r"^Error opening\s*", "", text)
    return re.sub(r"^b?(['\"]).*?\1:\s*", "", text).strip().rstrip(".")


def resample_ratio(rate_in: int, rate_out: int) -> tuple[int, int]:
    g = math.gcd(rate_in, rate_out)
    return rate_out // g, rate_in // g


class StreamResampler:
    """Polyphase resampling of a stream of 1-D blocks, equal to resampling it whole.

    Each piece is filtered with enough input context on both sides (zeros before
    the start and after the end, as ``resample_poly`` pads), so the concatenated
    outputs of ``process`` and ``flush`` equal ``resample_poly(whole, up, down)``.
    """

    def __init__(self, rate_in: int, rate_out: int):
        self.up, self.down = resample_ratio(rate_in, rate_out)
        half = math.ceil(RESAMPLE_TAPS_PER_SIDE * max(self.up, self.down) / self.up) + 2
        self.context = self.down * math.ceil(half / self.down)
        self._buf = np.zeros(self.context, dtype=np.float32)

    def _run(self, x: np.ndarray, n_out: int) -> np.ndarray:
        start = self.context * self.up // self.down
        return resample_poly(x, self.up, self.down)[start : start + n_out]

    def process(self, block: np.ndarray) -> np.ndarray:
        if self.up == self.down:
            return block
        self._buf = np.concatenate([self._buf, block])
        ready = (len(self._buf) - 2 * self.context) // self.down * self.down
        if ready <= 0:
            return np.zeros(0, dtype=np.float32)
        out = self._run(self._buf[: ready + 2 * self.context], ready * self.up // self.down)
        self._buf = self._buf[ready:]
        return out

    def flush(self) -> np.ndarray:
        rest = len(self._buf) - self.context
        if self.up == self.down or rest <= 0:
            return np.zeros(0, dtype=np.float32)
        padded = np.concatenate([self._buf, np.zeros(self.context + self.down, dtype=np.float32)])
        return self._run(padded, math.ceil(rest * self.up / self.down))


def output_subtype(info: AudioInfo, fmt: str) -> str:
    """The input's subtype when ``fmt`` can hold it, else the nearest that can."""
    if sf.check_format(fmt, info.subtype):
        return info.subtype
    if fmt == "FLAC":
        return "PCM_24" if info.subtype in ("PCM_32", "FLOAT", "DOUBLE") else "PCM_16"
    return "FLOAT" if info.subtype in ("PCM_32", "FLOAT", "DOUBLE") else "PCM_16"


class AtomicWriter:
    """Writes an audio file through a temporary file beside it, renamed on commit.

    Use as a context manager: the temporary file is removed on any exception,
    so an interrupted or failed write never leaves a partial output.
    """

    def __init__(self, path: Path, sample_rate_hz: int, channels: int, fmt: str, subtype: str):
        self.path = Path(path)
        self.fmt, self.subtype = fmt, subtype
        self.sample_rate_hz, self.channels = sample_rate_hz, channels
        self.clip = not subtype.startswith(("FLOAT", "DOUBLE"))
        self.tmp: Optional[Path] = None
        self._file = None

    def __enter__(self) -> "AtomicWriter":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=TEMP_MARKER,
                                       dir=self.path.parent)
            os.close(fd)
            self.tmp = Path(tmp)
            _default_permissions(self.tmp)
            self._file = sf.SoundFile(os.fsencode(tmp), "w", self.sample_rate_hz, self.channels,
                                      self.subtype, format=self.fmt,
                                      compression_level=FLAC_COMPRESSION_LEVEL if self.fmt == "FLAC" else None)
        except (OSError, sf.LibsndfileError, RuntimeError) as exc:
            self._discard()
            raise OutputError(f"cannot write {self.path.parent} ({_os_reason(exc)})") from None
        return self

    def write(self, block: np.ndarray) -> None:
        """block: (channels, samples) float32; clipped to [-1, 1] for integer subtypes."""
        frames = np.empty(block.shape[::-1], dtype=np.float32)  # (samples, channels), one pass
        integer = INTEGER_WRITES.get((self.fmt, self.subtype))
        if integer is not None:
            dtype, bits, shift = integer
            full = 2.0 ** (bits - 1)
            np.multiply(block.T, np.float32(full), out=frames)
            np.rint(frames, out=frames)
            np.clip(frames, -full, full - 1, out=frames)
            frames = frames.astype(dtype) << shift if shift else frames.astype(dtype)
        elif self.clip:
            np.clip(block.T, -1.0, 1.0, out=frames)
        else:
            frames[:] = block.T
        try:
            self._file.write(frames)
        except (OSError, sf.LibsndfileError, RuntimeError) as exc:
            raise OutputError(f"write failed ({_os_reason(exc)})") from None

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            self._file.close()
            self._file = None
            os.replace(self.tmp, self.path)
        except (OSError, sf.LibsndfileError, RuntimeError) as err:
            self._discard()
            raise OutputError(f"write failed ({_os_reason(err)})") from None

    def _discard(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except Exception:
                pass
            self._file = None
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)


def _default_permissions(path: Path) -> None:
    """mkstemp creates files 0600; give the output the mode a plain open() would."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _os_reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return _short(exc)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a small text file (UTF-8) through a temporary file and a rename."""
    write_bytes_atomic(path, text.encode("utf-8", errors="surrogateescape"))


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write a small file through a temporary file and a rename; OutputError on failure."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_MARKER, dir=path.parent)
        try:
            _default_permissions(Path(tmp))
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({_os_reason(exc)})") from None
