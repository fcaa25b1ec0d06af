"""Reading (with its errors), stream resampling and atomic writing."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from conftest import read_audio, temp_leftovers, write_audio
from denoise_cli.audio import (
    FLAC_COMPRESSION_LEVEL,
    AtomicWriter,
    AudioInfo,
    AudioInput,
    SpilledSamples,
    StreamResampler,
    output_subtype,
    resample_ratio,
)
from denoise_cli.errors import AudioContentError, AudioReadError, OutputError


# --- StreamResampler ----------------------------------------------------------------------
@pytest.mark.parametrize("rate_in,rate_out", [
    (48_000, 16_000), (44_100, 16_000), (22_050, 16_000), (8_000, 16_000), (16_000, 16_000), (11_025, 16_000),
])
def test_stream_resampler_in_random_blocks_equals_resample_poly_on_the_whole(rate_in, rate_out):
    rng = np.random.default_rng(rate_in)
    x = rng.standard_normal(int(1.37 * rate_in)).astype(np.float32)
    up, down = resample_ratio(rate_in, rate_out)
    expected = resample_poly(x, up, down)
    rs = StreamResampler(rate_in, rate_out)
    pieces, pos = [], 0
    while pos < x.size:
        n = int(rng.choice([1, 7, 100, 999, 4096, 20_000]))
        pieces.append(rs.process(x[pos : pos + n]))
        pos += n
    pieces.append(rs.flush())
    got = np.concatenate(pieces)
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-5


@pytest.mark.parametrize("up,down", [(1, 3), (160, 441), (2, 1), (160, 147), (3, 1), (16, 11), (441, 160)])
@pytest.mark.parametrize("n", [1, 2, 7, 1000])
def test_numpy_resample_poly_equals_scipy(up, down, n):
    from denoise_cli.resample import resample_poly as ours

    x = np.random.default_rng(n + up).standard_normal(n).astype(np.float32)
    expected = resample_poly(x, up, down)
    got = ours(x, up, down)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-5


def _in_fresh_python(code: str) -> list[str]:
    """Run ``code`` after ``import sys, numpy as np`` in a new interpreter; then print whether
    scipy.signal (about half a second to import) got loaded. Returns the printed words."""
    import subprocess
    import sys

    code = f"import sys, numpy as np; {code}; print('scipy.signal' in sys.modules)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def test_the_vad_path_does_not_import_scipy_signal():
    assert _in_fresh_python("from denoise_cli.audio import StreamResampler; r = StreamResampler(44100, 16000); "
                            "r.process(np.ones(44100, np.float32)); r.flush()") == ["False"]


def test_minimum_statistics_does_not_import_scipy_signal():
    """A file without pauses takes its noise from minimum statistics, without scipy.signal's import."""
    out = _in_fresh_python("from denoise_cli.spectral import MinimumStatistics, StftGeometry; "
                           "m = MinimumStatistics(1, StftGeometry(16000)); m.add(np.ones((1, 400, 161), np.float32)); "
                           "print(float(m.result()[0, 0]))")
    assert out[1] == "False"
    assert float(out[0]) == pytest.approx(1.5)  # constant power 1 times MINSTAT_BIAS


def test_stream_resampler_single_block_and_tiny_input():
    x = np.random.default_rng(0).standard_normal(5).astype(np.float32)
    rs = StreamResampler(48_000, 16_000)
    got = np.concatenate([rs.process(x), rs.flush()])
    expected = resample_poly(x, 1, 3)
    assert got.shape == expected.shape
    assert np.allclose(got, expected, atol=1e-6)


# --- output subtype ----------------------------------------------------------------------------
@pytest.mark.parametrize("subtype,fmt,expected", [
    ("PCM_16", "WAV", "PCM_16"),
    ("PCM_24", "WAV", "PCM_24"),
    ("PCM_32", "WAV", "PCM_32"),
    ("FLOAT", "WAV", "FLOAT"),
    ("DOUBLE", "WAV", "DOUBLE"),
    ("PCM_U8", "WAV", "PCM_U8"),
    ("PCM_16", "FLAC", "PCM_16"),
    ("PCM_24", "FLAC", "PCM_24"),
    ("PCM_S8", "FLAC", "PCM_S8"),
    ("FLOAT", "FLAC", "PCM_24"),  # FLAC cannot hold floats: the nearest it can
    ("DOUBLE", "FLAC", "PCM_24"),
    ("PCM_32", "FLAC", "PCM_24"),
    ("PCM_U8", "FLAC", "PCM_16"),
    ("PCM_S8", "WAV", "PCM_16"),
])
def test_output_subtype_rules(subtype, fmt, expected):
    info = AudioInfo(16_000, 1, 100, "WAV", subtype)
    assert output_subtype(info, fmt) == expected


# --- AtomicWriter ------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "FLOAT"), ("FLAC", "PCM_24")])
def test_atomic_writer_writes_the_requested_subtype(tmp_path, fmt, subtype):
    dst = tmp_path / "sub" / ("out.wav" if fmt == "WAV" else "out.flac")
    x = (0.5 * np.random.default_rng(0).standard_normal((2, 1000))).clip(-1, 1).astype(np.float32)
    with AtomicWriter(dst, 22_050, 2, fmt, subtype) as w:
        w.write(x[:, :300])
        w.write(x[:, 300:])
    info = sf.info(str(dst))
    assert (info.format, info.subtype, info.samplerate, info.channels, info.frames) == (fmt, subtype, 22_050, 2, 1000)
    y, _ = read_audio(dst)
    tol = {"PCM_16": 1 / 32768, "PCM_24": 1 / 2**23, "FLOAT": 0}[subtype]
    assert np.abs(y - x).max() <= tol
    assert temp_leftovers(tmp_path) == []


def test_atomic_writer_clips_integer_output(tmp_path):
    dst = tmp_path / "out.wav"
    with AtomicWriter(dst, 16_000, 1, "WAV", "PCM_16") as w:
        w.write(np.array([[2.0, -3.0, 0.5]], np.float32))
    y, _ = read_audio(dst, dtype="int16")
    assert y[0].tolist() == [32767, -32768, 16384]


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_flac_integer_writes_give_libsndfiles_own_bytes(tmp_path, subtype):
    """We round FLAC samples to integers ourselves (INTEGER_WRITES): the file is byte for byte
    what libsndfile writes from the clipped floats, rounding ties and out-of-range samples included."""
    full = 2.0 ** ({"PCM_16": 16, "PCM_24": 24}[subtype] - 1)
    ties = (np.arange(-40, 40) + 0.5) / full  # exactly half-way between two integers
    edges = np.array([1.0, -1.0, 1.5, -1.5, (full - 0.5) / full, -(full + 0.5) / full, 0.99999, -0.99999])
    noise = np.random.default_rng(1).uniform(-1.1, 1.1, 20_000)
    x = np.concatenate([ties, edges, noise]).astype(np.float32)
    x = np.stack([x, -x[::-1]])
    ours, theirs = tmp_path / "ours.flac", tmp_path / "theirs.flac"
    with AtomicWriter(ours, 48_000, 2, "FLAC", subtype) as w:
        w.write(x[:, :7000])
        w.write(x[:, 7000:])
    sf.write(str(theirs), np.clip(x.T, -1.0, 1.0), 48_000, subtype=subtype, format="FLAC",
             compression_level=FLAC_COMPRESSION_LEVEL)
    assert ours.read_bytes() == theirs.read_bytes()


def test_atomic_writer_leaves_nothing_on_exception(tmp_path):
    dst = tmp_path / "out.wav"
    with pytest.raises(RuntimeError, match="boom"):
        with AtomicWriter(dst, 16_000, 1, "WAV", "PCM_16") as w:
            w.write(np.zeros((1, 100), np.float32))
            assert len(temp_leftovers(tmp_path)) == 1  # writing goes to a temporary file
            raise RuntimeError("boom")
    assert not dst.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_writer_keeps_an_existing_output_on_exception(tmp_path):
    dst = write_audio(tmp_path / "out.wav", np.full(50, 0.25, np.float32), 16_000)
    before = dst.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        with AtomicWriter(dst, 16_000, 1, "WAV", "PCM_16") as w:
            w.write(np.zeros((1, 100), np.float32))
            raise KeyboardInterrupt
    assert dst.read_bytes() == before
    assert temp_leftovers(tmp_path) == []


def test_atomic_writer_folder_in_the_way_is_an_output_error(tmp_path):
    (tmp_path / "sub").write_text("a file where a folder should be")
    with pytest.raises(OutputError, match=r"cannot write .*sub"):
        with AtomicWriter(tmp_path / "sub" / "out.wav", 16_000, 1, "WAV", "PCM_16"):
            pass


def test_atomic_writer_output_mode_follows_umask(tmp_path):
    dst = tmp_path / "out.wav"
    old = os.umask(0o022)
    try:
        with AtomicWriter(dst, 16_000, 1, "WAV", "PCM_16") as w:
            w.write(np.zeros((1, 10), np.float32))
    finally:
        os.umask(old)
    assert dst.stat().st_mode & 0o777 == 0o644


# --- AudioInput: reads ---------------------------------------------------------------------------
@pytest.mark.parametrize("cache_s", [0.0, 100.0])
def test_audio_input_reads_ranges_with_zeros_outside(tmp_path, cache_s):
    x = (0.3 * np.random.default_rng(0).standard_normal((2, 1000))).astype(np.float32)
    path = write_audio(tmp_path / "a.wav", x, 8_000, "FLOAT")
    with AudioInput(path, cache_s=cache_s) as inp:
        assert inp.info == AudioInfo(8_000, 2, 1000, "WAV", "FLOAT")
        got = inp.read(-10, 1010)
        assert got.shape == (2, 1020)
        assert np.all(got[:, :10] == 0) and np.all(got[:, -10:] == 0)
        assert np.array_equal(got[:, 10:-10], x)
        assert np.array_equal(np.concatenate(list(inp.blocks(300)), axis=1), x)



@pytest.mark.parametrize("fmt,subtype", [("WAV", "PCM_16"), ("WAV", "PCM_U8"), ("FLAC", "PCM_16"),
                                         ("FLAC", "PCM_S8"), ("WAV", "PCM_24"), ("FLAC", "PCM_24"),
                                         ("WAV", "PCM_32"), ("WAV", "FLOAT")])
def test_decoded_cache_reads_the_floats_libsndfile_gives(tmp_path, fmt, subtype):
    """8/16-bit PCM is cached as int16 (half the memory); every read still equals libsndfile's floats."""
    x = np.clip(0.4 * np.random.default_rng(1).standard_normal((2, 70_000)), -1, 1)  # > one cache read
    path = tmp_path / f"a.{fmt.lower()}"
    sf.write(path, x.T, 16_000, subtype=subtype, format=fmt)
    reference = sf.read(path, dtype="float32", always_2d=True)[0].T
    with AudioInput(path, cache_s=100.0) as cached, AudioInput(path) as streamed:
        assert cached._cache is not None and streamed._cache is None
        assert cached._cache.dtype == (np.int16 if subtype in ("PCM_16", "PCM_U8", "PCM_S8") else np.float32)
        for start, stop in [(0, 70_000), (-3, 65_540), (65_530, 70_004)]:
            got = cached.read(start, stop)
            assert np.array_equal(got, streamed.read(start, stop))
        assert np.array_equal(cached.read(0, 70_000), reference)


@pytest.mark.parametrize("ahead", [False, True])
@pytest.mark.parametrize("subtype,dtype", [("PCM_16", np.int16), ("PCM_24", np.float32)])
def test_a_flac_too_large_for_memory_is_decoded_once_into_a_nameless_temporary_file(tmp_path, monkeypatch,
                                                                                     subtype, dtype, ahead):
    """Every read equals libsndfile's floats; the file is decoded once; the folder gains no file.
    Decoded ahead, in a thread, too: reads wait for the frames they need."""
    x = np.clip(0.4 * np.random.default_rng(3).standard_normal((2, 150_000)), -1, 1)  # > two cache reads
    path = tmp_path / "in" / "a.flac"
    path.parent.mkdir()
    sf.write(path, x.T, 16_000, subtype=subtype)
    reference = sf.read(path, dtype="float32", always_2d=True)[0].T
    spill_dir = tmp_path / "out"
    spill_dir.mkdir()
    decoded = []
    read_file = AudioInput._read_file
    monkeypatch.setattr(AudioInput, "_read_file",
                        lambda self, a, b, *rest: decoded.append(b - a) or read_file(self, a, b, *rest))
    with AudioInput(path, cache_bytes=1000, spill_dir=spill_dir, decode_ahead=ahead) as inp:
        assert isinstance(inp._cache, SpilledSamples) and inp._cache.dtype == dtype
        assert (inp._decoder is not None) == ahead
        assert list(spill_dir.iterdir()) == []  # the temporary file has no name
        for start, stop in [(0, 150_000), (-3, 65_540), (149_990, 150_004), (70_000, 70_000), (5, 6)]:
            expected = np.zeros((2, stop - start), np.float32)
            lo, hi = max(start, 0), min(stop, 150_000)
            expected[:, lo - start : hi - start] = reference[:, lo:hi]
            assert np.array_equal(inp.read(start, stop), expected)
    assert sum(decoded) == 150_000
    assert list(spill_dir.iterdir()) == [] and sorted(p.name for p in path.parent.iterdir()) == ["a.flac"]


@pytest.mark.parametrize("ahead", [False, True])
def test_no_spill_for_wav_without_room_or_when_the_disk_fills(tmp_path, monkeypatch, ahead):
    """WAV reads directly; a folder without room for twice the decoded size, or a write
    that fails midway (decoding ahead in a thread too), leaves the file read through the
    window with the same floats."""
    x = np.clip(0.4 * np.random.default_rng(4).standard_normal((1, 150_000)), -1, 1)
    wav, flac = tmp_path / "a.wav", tmp_path / "a.flac"
    sf.write(wav, x.T, 16_000, subtype="PCM_16")
    sf.write(flac, x.T, 16_000, subtype="PCM_16")
    reference = sf.read(flac, dtype="float32", always_2d=True)[0].T
    with AudioInput(wav, cache_bytes=1000, spill_dir=tmp_path) as inp:
        assert inp._cache is None
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(10**9, 10**9 - 599_999, 599_999))
    with AudioInput(flac, cache_bytes=1000, spill_dir=tmp_path, window_s=1.0) as inp:
        assert inp._cache is None  # 300 000 bytes decoded, 599 999 free: under twice
        assert np.array_equal(inp.read(0, 150_000), reference)
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(10**9, 10**9 - 600_000, 600_000))
    with AudioInput(flac, cache_bytes=1000, spill_dir=tmp_path) as inp:
        assert isinstance(inp._cache, SpilledSamples)
    appended = []

    def fill_up(self, block):
        appended.append(block.shape[1])
        if len(appended) == 2:
            raise OSError(28, "No space left on device")
        original_append(self, block)

    original_append = SpilledSamples.append
    monkeypatch.setattr(SpilledSamples, "append", fill_up)
    with AudioInput(flac, cache_bytes=1000, spill_dir=tmp_path, window_s=1.0, decode_ahead=ahead) as inp:
        assert np.array_equal(inp.read(0, 150_000), reference)
        assert inp._cache is None and inp._decoder is None and len(appended) == 2
        assert np.array_equal(inp.read(100, 140_000), reference[:, 100:140_000])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.flac", "a.wav"]


def test_read_window_gives_the_file_for_any_read_order(tmp_path):
    """Reads forward with overlaps, backwards, across gaps and past the end equal the file."""
    x = np.clip(0.4 * np.random.default_rng(2).standard_normal((2, 50_000)), -1, 1)
    path = tmp_path / "a.flac"
    sf.write(path, x.T, 16_000, subtype="PCM_16")
    reference = sf.read(path, dtype="float32", always_2d=True)[0].T
    reads = [(0, 9000), (8000, 20_000), (12_000, 15_000), (19_999, 31_000), (2000, 4000), (40_000, 45_000),
             (44_000, 50_010), (-5, 100), (30_000, 30_000)]
    with AudioInput(path, window_s=1.0) as inp:
        assert inp._cache is None
        for a, b in reads:
            expected = np.zeros((2, b - a), np.float32)
            lo, hi = max(a, 0), min(b, 50_000)
            expected[:, lo - a : hi - a] = reference[:, lo:hi]
            assert np.array_equal(inp.read(a, b), expected), (a, b)


@pytest.mark.parametrize("subtype,sample_bytes", [("PCM_16", 2), ("FLOAT", 4)])
def test_the_cache_limit_counts_the_bytes_the_cache_holds(tmp_path, subtype, sample_bytes):
    """16-bit files are cached as int16, so twice as many of their samples fit the limit."""
    path = tmp_path / "a.wav"
    sf.write(path, np.zeros((1000, 2)), 16_000, subtype=subtype)
    need = 1000 * 2 * sample_bytes
    with AudioInput(path, cache_bytes=need) as fits, AudioInput(path, cache_bytes=need - 1) as too_big:
        assert fits._cache is not None and too_big._cache is None


# --- AudioInput: errors ---------------------------------------------------------------------------
def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioReadError, match=r"^empty file \(0 bytes\)$"):
        AudioInput(path)


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are my notes, not audio\n" * 20)
    with pytest.raises(AudioReadError, match=r"^not readable as audio \(.+\)$") as err:
        AudioInput(path)
    assert str(path) not in str(err.value)  # the CLI adds the name once, not twice


def test_truncated_wav(tmp_path):
    full = write_audio(tmp_path / "full.wav", np.zeros(16_000, np.float32), 16_000)
    data = full.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioReadError, match=r"^truncated: header declares 32000 bytes of audio, file holds 159\d\d$"):
        AudioInput(cut)


def test_zero_frames(tmp_path):
    path = write_audio(tmp_path / "zero.wav", np.zeros(0, np.float32), 16_000)
    with pytest.raises(AudioContentError, match=r"^no audio samples \(0 frames\)$"):
        AudioInput(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("cache_s", [0.0, 100.0])
def test_non_finite_samples(tmp_path, bad, cache_s):
    x = np.zeros((2, 16_000), np.float32)
    x[1, 12_000] = bad
    path = write_audio(tmp_path / "bad.wav", x, 16_000, "FLOAT")
    with pytest.raises(AudioContentError, match=r"^NaN or infinite sample at 0\.750 s$"):
        with AudioInput(path, cache_s=cache_s) as inp:
            inp.read(0, 16_000)


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_unreadable_file(tmp_path):
    path = write_audio(tmp_path / "locked.wav", np.zeros(100, np.float32), 16_000)
    path.chmod(0)
    try:
        with pytest.raises(AudioReadError, match=r"^permission denied$"):
            AudioInput(path)
    finally:
        path.chmod(0o644)


def test_unsupported_container(tmp_path):
    path = write_audio(tmp_path / "a.wav", np.zeros(100, np.float32), 16_000, "PCM_16", fmt="AIFF")
    with pytest.raises(AudioReadError, match=r"^unsupported container AIFF \(WAV and FLAC only\)$"):
        AudioInput(path)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_decoding_ahead_gives_the_same_reads_in_any_order(tmp_path, monkeypatch, subtype):
    """With decode_ahead the cache fills in a thread; reads wait for their frames and
    equal the reads of a file decoded up front, whatever their order."""
    x = np.clip(0.4 * np.random.default_rng(5).standard_normal((2, 300_000)), -1, 1)
    path = tmp_path / "a.flac"
    sf.write(path, x.T, 16_000, subtype=subtype)
    monkeypatch.setattr("denoise_cli.audio.CACHE_READ_FRAMES", 4096)  # many pieces to wait for
    reads = [(299_000, 300_010), (0, 9000), (-5, 100), (150_000, 150_000), (8000, 200_000), (5, 6)]
    with AudioInput(path, cache_s=60.0) as whole, AudioInput(path, cache_s=60.0, decode_ahead=True) as ahead:
        assert whole._decoder is None and ahead._decoder is not None
        for a, b in reads:
            assert np.array_equal(ahead.read(a, b), whole.read(a, b)), (a, b)


def test_decoding_ahead_raises_the_decoding_error_on_the_read_that_needs_it(tmp_path, monkeypatch):
    """A FLAC corrupt part way: the frames before the fault read as usual; the first read
    that needs frames beyond it raises the same error as decoding up front, every time."""
    x = np.clip(0.4 * np.random.default_rng(6).standard_normal((1, 200_000)), -1, 1)
    good = tmp_path / "good.flac"
    sf.write(good, x.T, 16_000, subtype="PCM_16")
    data = bytearray(good.read_bytes())
    cut = tmp_path / "cut.flac"
    cut.write_bytes(bytes(data[: len(data) * 3 // 4]))
    monkeypatch.setattr("denoise_cli.audio.CACHE_READ_FRAMES", 4096)
    with pytest.raises(AudioReadError) as up_front:
        AudioInput(cut, cache_s=60.0)
    reference = sf.read(good, dtype="float32", always_2d=True)[0].T
    with AudioInput(cut, cache_s=60.0, decode_ahead=True) as inp:
        assert np.array_equal(inp.read(0, 4096), reference[:, :4096])
        for _ in range(2):
            with pytest.raises(AudioReadError) as ahead:
                inp.read(0, 200_000)
            assert str(ahead.value) == str(up_front.value)


def test_closing_an_input_stops_its_decoding(tmp_path, monkeypatch):
    """close() ends the decoding thread before the file is closed under it."""
    x = np.zeros((1, 400_000), np.float32)
    path = tmp_path / "a.flac"
    sf.write(path, x.T, 16_000, subtype="PCM_16")
    monkeypatch.setattr("denoise_cli.audio.CACHE_READ_FRAMES", 1024)
    inp = AudioInput(path, cache_s=60.0, decode_ahead=True)
    thread = inp._decoder._thread
    inp.close()
    assert not thread.is_alive()
