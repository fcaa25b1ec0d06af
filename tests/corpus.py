"""A corpus of awkward inputs for `denoise clean`, built by a script.

``build_corpus(folder)`` writes every case of ``CASES`` into ``folder`` and returns
the list; ``python tests/corpus.py OUT_DIR`` does the same from a shell. Each
case says what a user should see for it:

* ``clean``: an output at ``output`` (the same relative path unless stated) with
  the given sample rate, channels, frames, subtype and container;
* ``error``: one line ``error: <path>: <cause>``, the cause matching ``error``
  (a regular expression, searched), and no output;
* ``ignored``: not an audio input at all (a folder named ``x.wav``, a hidden
  file, another suffix): no output and no error.

Files are tiny (0.2-1 s), so the whole corpus cleans in about a minute. Only
numpy, soundfile and struct are used, so the script runs without the package.
"""

from __future__ import annotations

import io
import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import soundfile as sf

CLEAN, ERROR, IGNORED = "clean", "error", "ignored"

BASE_RATE_HZ = 16_000
BASE_FRAMES = 8_000  # 0.5 s at 16 kHz: the file that truncation and header cases start from
BLOCK_CODED = ("IMA_ADPCM", "MS_ADPCM")  # subtypes whose frame count is rounded up to whole blocks
RATES_HZ = (8_000, 11_025, 16_000, 22_050, 32_000, 44_100, 48_000, 88_200, 96_000, 176_400, 192_000)
LATIN1_NAME = os.fsdecode(b"latin1-caf\xe9.wav")  # not valid UTF-8: a name from an old archive


@dataclass(frozen=True)
class Case:
    """One corpus entry; ``name`` is its path relative to the corpus folder."""

    name: str
    kind: str  # CLEAN, ERROR or IGNORED
    category: str
    build: Callable[[Path], None] = field(repr=False, compare=False)
    error: Optional[str] = None  # regex the error cause must contain (ERROR)
    rate_hz: Optional[int] = None  # expected output properties (CLEAN)
    channels: Optional[int] = None
    frames: Optional[int] = None
    subtype: Optional[str] = None
    container: Optional[str] = None  # "WAV" or "FLAC": the real format, whatever the suffix
    output: Optional[str] = None  # output path relative to OUTPUT_DIR when not ``name``

    @property
    def output_name(self) -> str:
        return self.output or self.name

    @property
    def id(self) -> str:
        """A test id: the name, with bytes that are not UTF-8 escaped (the Latin-1 name)."""
        return os.fsencode(self.name).decode("utf-8", "backslashreplace")


# --- signals -----------------------------------------------------------------------
def speechy(frames: int, rate: int, channels: int = 1, seed: int = 0, amp: float = 0.3) -> np.ndarray:
    """(channels, frames) float64: harmonics with a 4 Hz envelope over a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / rate
    out = np.empty((channels, frames))
    for c in range(channels):
        f0 = 120.0 + 25 * c
        x = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3)) / k
                for k in range(1, 12) if k * f0 < rate / 2)
        env = 0.5 * (1 - np.cos(2 * np.pi * 4.0 * t))
        x = np.asarray(x, dtype=np.float64) * env + 0.05 * rng.standard_normal(frames)
        out[c] = x / (np.abs(x).max() + 1e-9) * amp
    return out


def write(path: Path, x: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(os.fsencode(path), x.T, rate, subtype=subtype, format=fmt)  # bytes: any name


def encoded(x: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> bytes:
    """The bytes soundfile writes for ``x`` (via a temporary file, as FLAC needs seeking)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("x." + fmt.lower())
        write(path, x, rate, subtype, fmt)
        return path.read_bytes()


# --- raw RIFF/WAVE -------------------------------------------------------------------
def chunk(cid: bytes, body: bytes, size: Optional[int] = None) -> bytes:
    pad = b"\0" if len(body) % 2 else b""
    return struct.pack("<4sI", cid, len(body) if size is None else size) + body + pad


def fmt_body(tag: int = 1, channels: int = 1, rate: int = BASE_RATE_HZ, bits: int = 16,
             block_align: Optional[int] = None, byte_rate: Optional[int] = None) -> bytes:
    align = channels * bits // 8 if block_align is None else block_align
    return struct.pack("<HHIIHH", tag, channels, rate, rate * align if byte_rate is None else byte_rate,
                       align, bits)


def riff(*chunks: bytes, riff_size: Optional[int] = None) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return struct.pack("<4sI", b"RIFF", len(body) if riff_size is None else riff_size) + body


def pcm16(x: np.ndarray) -> bytes:
    """(channels, frames) float -> interleaved little-endian int16 bytes."""
    return (np.clip(x, -1, 1) * 32767).round().astype("<i2").T.tobytes()


BASE_SIGNAL = speechy(BASE_FRAMES, BASE_RATE_HZ)
BASE_DATA = pcm16(BASE_SIGNAL)  # 16000 bytes
BASE_WAV = riff(chunk(b"fmt ", fmt_body()), chunk(b"data", BASE_DATA))  # canonical 44-byte header
WAV_HEADER = 44


def wav_with(**fmt) -> bytes:
    return riff(chunk(b"fmt ", fmt_body(**fmt)), chunk(b"data", BASE_DATA))


# --- FLAC ----------------------------------------------------------------------------
def flac_metadata_end(data: bytes) -> int:
    """Offset of the first audio frame: after "fLaC" and every metadata block."""
    pos = 4
    while True:
        last, length = data[pos] & 0x80, int.from_bytes(data[pos + 1 : pos + 4], "big")
        pos += 4 + length
        if last:
            return pos


def flac_with_total(data: bytes, total: int) -> bytes:
    """The FLAC bytes with STREAMINFO's 36-bit total-samples field set to ``total``."""
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0
    field_at = 8 + 10  # STREAMINFO body starts at 8; rate/channels/bps/total fill 8 bytes at +10
    packed = int.from_bytes(data[field_at : field_at + 8], "big")
    packed = (packed & ~((1 << 36) - 1)) | total
    return data[:field_at] + packed.to_bytes(8, "big") + data[field_at + 8 :]


BASE_FLAC = encoded(BASE_SIGNAL, BASE_RATE_HZ, "PCM_16", "FLAC")
FLAC_HEADER = flac_metadata_end(BASE_FLAC)


# --- building blocks for cases ----------------------------------------------------------
CASES: list[Case] = []


def add(name: str, kind: str, category: str, build: Callable[[Path], None], **expect) -> None:
    CASES.append(Case(name, kind, category, build, **expect))


def raw(data: bytes) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return build


def audio(x: np.ndarray, rate: int, subtype: str = "PCM_16", fmt: str = "WAV") -> Callable[[Path], None]:
    return lambda path: write(path, x, rate, subtype, fmt)


def clean(name: str, category: str, build, rate: int, channels: int, frames: int, subtype: str,
          container: str, output: Optional[str] = None) -> None:
    add(name, CLEAN, category, build, rate_hz=rate, channels=channels, frames=frames,
        subtype=subtype, container=container, output=output)


def good(name: str, category: str, rate: int = BASE_RATE_HZ, channels: int = 1, seconds: float = 0.3,
         subtype: str = "PCM_16", fmt: str = "WAV", out_subtype: Optional[str] = None, seed: int = 0,
         output: Optional[str] = None) -> None:
    frames = int(round(seconds * rate))
    x = speechy(frames, rate, channels, seed)
    build = audio(x, rate, subtype, fmt)
    if subtype in BLOCK_CODED:  # the header counts whole blocks: expect what a reader reports
        data = encoded(x, rate, subtype, fmt)
        frames, build = sf.info(io.BytesIO(data)).frames, raw(data)
    clean(name, category, build, rate, channels, frames, out_subtype or subtype, fmt, output)


def error(name: str, category: str, build, cause: str) -> None:
    add(name, ERROR, category, build, error=cause)


def ignored(name: str, category: str, build) -> None:
    add(name, IGNORED, category, build)


TRUNCATED = r"truncated"
UNREADABLE = r"not readable as audio"
NON_FINITE = r"NaN or infinite sample at \d+\.\d{3} s"

# --- truncated WAV: inside the header, just after it, mid-data, one byte short --------------
for cut in (4, 11, 12, 16, 20, 24, 36, 40, 43):
    error(f"truncated/wav_cut_{cut:05d}.wav", "truncated wav (header)", raw(BASE_WAV[:cut]),
          f"{TRUNCATED}|{UNREADABLE}")
for cut in (WAV_HEADER, WAV_HEADER + 1, WAV_HEADER + 2, 1_000, WAV_HEADER + len(BASE_DATA) // 2,
            len(BASE_WAV) - 2, len(BASE_WAV) - 1):
    have = cut - WAV_HEADER
    error(f"truncated/wav_cut_{cut:05d}.wav", "truncated wav (data)", raw(BASE_WAV[:cut]),
          rf"truncated: header declares {len(BASE_DATA)} bytes of audio, file holds {have}$")

# --- truncated FLAC ------------------------------------------------------------------------
for cut in (3, 4, 8, 20, 41, 42, FLAC_HEADER - 1):
    error(f"truncated/flac_cut_{cut:05d}.flac", "truncated flac (header)", raw(BASE_FLAC[:cut]),
          f"{TRUNCATED}|{UNREADABLE}")
for cut in (FLAC_HEADER, FLAC_HEADER + 1, FLAC_HEADER + 100, (FLAC_HEADER + len(BASE_FLAC)) // 2,
            len(BASE_FLAC) - 2, len(BASE_FLAC) - 1):
    error(f"truncated/flac_cut_{cut:05d}.flac", "truncated flac (data)", raw(BASE_FLAC[:cut]),
          r"truncated|corrupt")

# --- lying headers -------------------------------------------------------------------------
clean("headers/riff_size_too_big.wav", "lying header (tolerated)", raw(
    riff(chunk(b"fmt ", fmt_body()), chunk(b"data", BASE_DATA), riff_size=0x7FFFFFF0)),
    BASE_RATE_HZ, 1, BASE_FRAMES, "PCM_16", "WAV")
clean("headers/riff_size_too_small.wav", "lying header (tolerated)", raw(
    riff(chunk(b"fmt ", fmt_body()), chunk(b"data", BASE_DATA), riff_size=36)),
    BASE_RATE_HZ, 1, BASE_FRAMES, "PCM_16", "WAV")
clean("headers/byte_rate_wrong.wav", "lying header (tolerated)", raw(wav_with(byte_rate=12345)),
      BASE_RATE_HZ, 1, BASE_FRAMES, "PCM_16", "WAV")
clean("headers/data_size_unknown_ffffffff.wav", "lying header (tolerated)", raw(
    riff(chunk(b"fmt ", fmt_body()), struct.pack("<4sI", b"data", 0xFFFFFFFF) + BASE_DATA,
         riff_size=0xFFFFFFFF)),
    BASE_RATE_HZ, 1, BASE_FRAMES, "PCM_16", "WAV")
clean("headers/list_chunk_odd_size.wav", "lying header (tolerated)", raw(
    riff(chunk(b"fmt ", fmt_body()), chunk(b"LIST", b"INFOISFT\x05\0\0\0abcd\0"), chunk(b"data", BASE_DATA))),
    BASE_RATE_HZ, 1, BASE_FRAMES, "PCM_16", "WAV")
error("headers/zero_channels.wav", "lying header", raw(wav_with(channels=0, block_align=2)), UNREADABLE)
error("headers/zero_rate.wav", "lying header", raw(wav_with(rate=0)), UNREADABLE)
error("headers/unknown_format_tag.wav", "lying header", raw(wav_with(tag=0x1234)), UNREADABLE)
error("headers/zero_bits.wav", "lying header", raw(wav_with(bits=0, block_align=2)), UNREADABLE)
error("headers/no_data_chunk.wav", "lying header", raw(riff(chunk(b"fmt ", fmt_body()))),
      r"no audio samples \(0 frames\)|" + UNREADABLE)
error("headers/no_fmt_chunk.wav", "lying header", raw(riff(chunk(b"data", BASE_DATA))), UNREADABLE)
error("headers/riff_then_garbage.wav", "lying header",
      raw(b"RIFF\x10\0\0\0WAVE" + bytes(range(256)) * 4), UNREADABLE)
error("headers/flac_magic_then_garbage.flac", "lying header",
      raw(b"fLaC" + bytes(range(255, -1, -1)) * 4), UNREADABLE)

# --- enormous declared sizes -----------------------------------------------------------------
error("huge/data_size_7ffffff0.wav", "enormous declared size", raw(
    riff(chunk(b"fmt ", fmt_body()), struct.pack("<4sI", b"data", 0x7FFFFFF0) + BASE_DATA)),
    rf"truncated: header declares {0x7FFFFFF0} bytes of audio, file holds {len(BASE_DATA)}$")
error("huge/u8_2e31_frames.wav", "enormous declared size", raw(
    riff(chunk(b"fmt ", fmt_body(bits=8)), struct.pack("<4sI", b"data", 2**31) + bytes(4_000))),
    rf"truncated: header declares {2**31} bytes of audio, file holds 4000$")
error("huge/flac_2e31_frames.flac", "enormous declared size", raw(flac_with_total(BASE_FLAC, 2**31)),
      TRUNCATED)
error("huge/flac_2e36_minus_1_frames.flac", "enormous declared size",
      raw(flac_with_total(BASE_FLAC, 2**36 - 1)), TRUNCATED)
# FLAC allows 0 total samples for "unknown" (streamed encoders). libsndfile 1.2.2 then reports
# 2**63 - 1 frames and cannot decode past its first block, so an error that says so is the best outcome.
error("huge/flac_total_unknown.flac", "enormous declared size", raw(flac_with_total(BASE_FLAC, 0)),
      r"(?i)unknown length|length unknown|total samples|length is not")

# --- 0 frames, 1 frame, a few frames --------------------------------------------------------
ZERO_FRAMES = r"no audio samples \(0 frames\)"
error("length/zero_frames.wav", "0 frames", audio(np.zeros((1, 0)), BASE_RATE_HZ), ZERO_FRAMES)
# libsndfile writes nothing at all for a FLAC without frames: a 0-byte file
error("length/zero_frames_stereo.flac", "0 frames", audio(np.zeros((2, 0)), 44_100, fmt="FLAC"),
      ZERO_FRAMES + r"|empty file \(0 bytes\)")
error("length/zero_frames_float.wav", "0 frames", audio(np.zeros((1, 0)), 48_000, "FLOAT"), ZERO_FRAMES)
for frames, rate, channels, fmt in ((1, 16_000, 1, "WAV"), (1, 48_000, 2, "FLAC"), (1, 8_000, 1, "WAV"),
                                    (2, 16_000, 1, "WAV"), (159, 16_000, 1, "WAV"), (160, 16_000, 1, "WAV"),
                                    (161, 16_000, 1, "WAV"), (511, 16_000, 1, "FLAC"),
                                    (513, 44_100, 2, "WAV")):
    name = f"length/frames_{frames}_{rate}_{channels}ch.{fmt.lower()}"
    good(name, "short", rate, channels, frames / rate, fmt=fmt, seed=frames)

# --- NaN and infinite samples ------------------------------------------------------------------
for subtype in ("FLOAT", "DOUBLE"):
    for label, value, at in (("nan", np.nan, 2_000), ("inf", np.inf, 4_000), ("neginf", -np.inf, 0),
                             ("nan_last", np.nan, BASE_FRAMES - 1)):
        x = speechy(BASE_FRAMES, BASE_RATE_HZ, 2)
        x[1, at] = value
        error(f"nonfinite/{label}_{subtype.lower()}.wav", "NaN/inf", audio(x, BASE_RATE_HZ, subtype),
              rf"NaN or infinite sample at {at / BASE_RATE_HZ:.3f} s$")
# Finite but far outside [-1, 1] (a FLOAT file may hold any value): finite output expected.
_loud = speechy(4_800, BASE_RATE_HZ) * 1e3 / 0.3
clean("nonfinite/float_loud_1e3.wav", "loud float", audio(_loud, BASE_RATE_HZ, "FLOAT"),
      BASE_RATE_HZ, 1, 4_800, "FLOAT", "WAV")
# Finite values no float32 STFT can square (or hold): a clear error, not NaN output or "NaN in file".
OUT_OF_RANGE = r"(?i)out of range|too large|too loud"
error("nonfinite/float_huge_1e20.wav", "loud float",
      audio(speechy(4_800, BASE_RATE_HZ) * 1e20 / 0.3, BASE_RATE_HZ, "FLOAT"), OUT_OF_RANGE)
error("nonfinite/double_huge_1e300.wav", "loud float",
      audio(speechy(4_800, BASE_RATE_HZ) * 1e300, BASE_RATE_HZ, "DOUBLE"), OUT_OF_RANGE)

# --- sample types ----------------------------------------------------------------------------
for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW", "IMA_ADPCM",
                "MS_ADPCM"):
    good(f"subtypes/wav_{subtype.lower()}.wav", "sample type", subtype=subtype, seed=1)
for subtype in ("PCM_S8", "PCM_16", "PCM_24"):
    good(f"subtypes/flac_{subtype.lower()}.flac", "sample type", fmt="FLAC", subtype=subtype, seed=2)

# --- channels 1..8 -----------------------------------------------------------------------------
for channels in range(1, 9):
    good(f"channels/wav_{channels}ch.wav", "channels", channels=channels, seconds=0.25, seed=channels)
good("channels/flac_8ch.flac", "channels", 48_000, 8, 0.2, "PCM_24", "FLAC")
good("channels/wavex_6ch_24bit.wav", "channels", 48_000, 6, 0.2, "PCM_24", "WAVEX")

# --- sample rates ------------------------------------------------------------------------------
for rate in RATES_HZ:
    good(f"rates/wav_{rate}.wav", "sample rate", rate, seconds=0.2 if rate > 96_000 else 0.3, seed=rate)
for rate in (11_025, 176_400):
    good(f"rates/flac_{rate}.flac", "sample rate", rate, 2, 0.2, fmt="FLAC", seed=rate)
good("rates/wav_4000.wav", "sample rate", 4_000, seconds=0.5)
good("rates/wav_384000.wav", "sample rate", 384_000, seconds=0.1)

# --- containers that lie about themselves ----------------------------------------------------------
good("containers/flac_inside.wav", "container/suffix mismatch", fmt="FLAC", subtype="PCM_16", seed=3)
good("containers/wav_inside.flac", "container/suffix mismatch", subtype="PCM_24", seed=4)
good("containers/float_wav_inside.flac", "container/suffix mismatch", subtype="FLOAT", seed=5)
error("containers/aiff_inside.wav", "container/suffix mismatch",
      audio(speechy(1_600, BASE_RATE_HZ), BASE_RATE_HZ, "PCM_16", "AIFF"),
      r"unsupported container AIFF \(WAV and FLAC only\)")
error("containers/ogg_inside.flac", "container/suffix mismatch",
      audio(speechy(4_800, BASE_RATE_HZ), BASE_RATE_HZ, "VORBIS", "OGG"),
      r"unsupported container OGG \(WAV and FLAC only\)")
error("containers/rf64_inside.wav", "container/suffix mismatch",
      audio(speechy(1_600, BASE_RATE_HZ), BASE_RATE_HZ, "PCM_16", "RF64"),
      r"unsupported container RF64 \(WAV and FLAC only\)")
error("containers/empty.wav", "not audio", raw(b""), r"empty file \(0 bytes\)$")
error("containers/empty.flac", "not audio", raw(b""), r"empty file \(0 bytes\)$")
error("containers/text.wav", "not audio", raw(b"meeting notes, not audio\n" * 40), UNREADABLE)
error("containers/random_bytes.flac", "not audio",
      raw(np.random.default_rng(7).integers(0, 256, 3_000, dtype=np.uint8).tobytes()), UNREADABLE)
error("containers/one_byte.wav", "not audio", raw(b"R"), UNREADABLE)

# --- names ---------------------------------------------------------------------------------------
good("names/with space.wav", "names")
good("names/  leading and trailing spaces  .wav", "names", seed=1)
good("names/café.wav", "names", seed=2)
good("names/日本語の録音.flac", "names", fmt="FLAC", seed=3)
good("names/emoji 🎤.wav", "names", seed=4)
good("names/-x.wav", "names", seed=5)
good("names/--help.wav", "names", seed=6)
good("names/semi;colon $HOME 'quote\".wav", "names", seed=7)
good("names/new\nline.wav", "names", seed=8)
error("names/not audio\nwith a newline.wav", "names", raw(b"not audio\n" * 20), UNREADABLE)
good(f"names/{LATIN1_NAME}", "names", seed=9)
good("names/UPPER.WAV", "suffix case", seed=10)
good("names/Mixed.Flac", "suffix case", fmt="FLAC", seed=11)
good("names/x.wAv", "suffix case", seed=12)
good("names/dots.in.name.wav", "names", seed=13)
good("names/sub dir/ü/deep.wav", "names", seed=14)


# --- links, folders and things that are not audio inputs ---------------------------------------------
def symlink(target: str) -> Callable[[Path], None]:
    def build(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
    return build


def mkdir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True)


def link_loop(path: Path) -> None:
    """path/a/to_b -> ../b and path/b/to_a -> ../a; a file in each real folder."""
    for here, there in (("a", "b"), ("b", "a")):
        (path / here).mkdir(parents=True, exist_ok=True)
        os.symlink(f"../{there}", path / here / f"to_{there}")
    os.symlink(".", path / "self")


good("links/target.wav", "links", seed=20)
clean("links/to_target.wav", "links", symlink("target.wav"), BASE_RATE_HZ, 1, 4_800, "PCM_16", "WAV")
clean("links/to_outside.wav", "links", symlink("../outside/real.flac"), BASE_RATE_HZ, 1, 4_800,
      "PCM_16", "FLAC")
good("outside/real.flac", "links", fmt="FLAC", seed=20)
clean("links/chain.wav", "links", symlink("to_target.wav"), BASE_RATE_HZ, 1, 4_800, "PCM_16", "WAV")
error("links/dangling.wav", "links", symlink("no_such_file.wav"), r"(?i)no such file|dangling|broken|missing")
error("links/self_loop.wav", "links", symlink("self_loop.wav"), r"(?i)symbolic link|loop")
error("links/to_text.wav", "links", symlink("../containers/text.wav"), UNREADABLE)
ignored("loop", "link loop", link_loop)
good("loop/a/in_a.wav", "link loop", seed=21)
good("loop/b/in_b.wav", "link loop", seed=22)
ignored("dirs/x.wav", "folder named x.wav", mkdir)
ignored("dirs/y.flac", "folder named x.wav", mkdir)
good("dirs/z.wav/inside.wav", "folder named x.wav", seed=23)
ignored("dirs/.hidden.wav", "hidden", audio(speechy(1_600, BASE_RATE_HZ), BASE_RATE_HZ))
ignored("dirs/._appledouble.wav", "hidden", raw(b"\0\x05\x16\x07" + bytes(100)))
ignored("dirs/.git/inside_hidden_dir.wav", "hidden", audio(speechy(1_600, BASE_RATE_HZ), BASE_RATE_HZ))
ignored("dirs/notes.txt", "other suffix", raw(b"not audio"))
ignored("dirs/song.mp3", "other suffix", raw(b"ID3" + bytes(100)))
ignored("dirs/backup.wav.bak", "other suffix", raw(BASE_WAV))
ignored("dirs/wav", "other suffix", raw(BASE_WAV))
ignored("dirs/.wav", "hidden", raw(BASE_WAV))


def build_corpus(folder: str | os.PathLike) -> list[Case]:
    """Write every case into ``folder`` (created; must be empty or missing); returns CASES."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise FileExistsError(f"{folder}: not empty")
    for case in CASES:
        case.build(folder / case.name)
    return list(CASES)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/corpus.py OUT_DIR", file=sys.stderr)
        return 2
    try:
        cases = build_corpus(argv[0])
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = {k: sum(c.kind == k for c in cases) for k in (CLEAN, ERROR, IGNORED)}
    print(f"{len(cases)} cases in {argv[0]}: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
