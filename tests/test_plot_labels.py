"""--plot and --labels: sketch levels with a known answer, label formats, the PNG, re-runs."""

from __future__ import annotations

import json
import struct
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from conftest import voiced, write_audio
from denoise_cli.cli import app
from denoise_cli.labels import audacity_labels, vtt_timestamp, webvtt
from denoise_cli.plot import PLOT_HEIGHT_PX, PLOT_WIDTH_PX, SpectrogramSketch, profile_db

runner = CliRunner()




def png_size(path) -> tuple[int, int]:
    data = open(path, "rb").read(24)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


# --- labels ---------------------------------------------------------------------------------
SEGMENTS = [{"start_s": 0.25, "end_s": 1.5, "duration_s": 1.25},
            {"start_s": 3661.0, "end_s": 3662.0625, "duration_s": 1.0625}]


def test_audacity_labels_are_tab_separated_seconds():
    lines = audacity_labels(SEGMENTS).splitlines()
    assert lines == ["0.250000\t1.500000\tspeech 1", "3661.000000\t3662.062500\tspeech 2"]


def test_webvtt_cues_have_hours_minutes_seconds_millis():
    text = webvtt(SEGMENTS)
    assert text.startswith("WEBVTT\n\n")
    assert "00:00:00.250 --> 00:00:01.500\nspeech 1" in text
    assert "01:01:01.000 --> 01:01:02.062\nspeech 2" in text or "01:01:01.000 --> 01:01:02.063" in text
    assert vtt_timestamp(59.9996) == "00:01:00.000"


def test_labels_use_output_times_with_speech_only():
    seg = [{"start_s": 2.0, "end_s": 3.0, "duration_s": 1.0, "output_start_s": 0.0, "output_end_s": 1.0}]
    assert audacity_labels(seg) == "0.000000\t1.000000\tspeech 1\n"
    assert "00:00:00.000 --> 00:00:01.000" in webvtt(seg)
    assert webvtt([]) == "WEBVTT\n\n"


# --- the sketch -------------------------------------------------------------------------------
def test_sketch_reads_white_noise_at_its_rms_in_every_bin():
    rate = 16000
    x = np.random.default_rng(0).standard_normal(rate * 20) * 0.01  # RMS 0.01 -> -40 dB
    sketch = SpectrogramSketch(rate, x.size, max_columns=10)
    sketch.add(x)
    levels = sketch.db()[:, 5:-5]
    assert abs(np.median(levels) - (-40.0)) < 0.5


def test_noise_profile_is_on_the_same_scale_as_the_sketch():
    from denoise_cli.spectral import StftGeometry, stft

    geo = StftGeometry(48000)
    x = np.random.default_rng(1).standard_normal(48000 * 5) * 0.1  # -20 dB
    power = (np.abs(stft(x[None], geo)) ** 2).mean(axis=1)
    assert abs(np.median(profile_db(power, geo.window)) - (-20.0)) < 0.5


def test_sketch_in_blocks_equals_sketch_of_the_whole():
    rate, x = 16000, voiced(7.3, 16000)
    whole = SpectrogramSketch(rate, x.size)
    whole.add(x)
    parts = SpectrogramSketch(rate, x.size)
    for start in range(0, x.size, 7777):
        parts.add(x[None, start : start + 7777])
    assert np.allclose(whole.db(), parts.db(), atol=1e-9)


def test_sketch_has_bounded_columns_and_finds_a_tone():
    rate = 48000
    t = np.arange(rate * 30) / rate
    x = 0.5 * np.sin(2 * np.pi * 3000 * t)
    sketch = SpectrogramSketch(rate, x.size, max_columns=100)
    for start in range(0, x.size, rate):
        sketch.add(np.stack([x[start : start + rate]] * 2))
    levels = sketch.db()
    assert levels.shape[0] <= 100 and levels.shape[0] * sketch.column_s >= 30
    peak_hz = np.argmax(levels.mean(axis=0)) * rate / sketch.n_fft
    assert abs(peak_hz - 3000) <= rate / sketch.n_fft


# --- through the CLI --------------------------------------------------------------------------
@pytest.fixture
def one_file(tmp_path, speech_16k):
    rate = 16000
    x = np.concatenate([np.zeros(rate // 2), speech_16k, np.zeros(rate)])
    x = x + 0.01 * np.random.default_rng(0).standard_normal(x.size)
    write_audio(tmp_path / "in" / "a $b$.wav", x, rate)
    return tmp_path


def test_plot_and_labels_are_written_beside_the_report(one_file, random_weights):
    out = one_file / "out"
    r = runner.invoke(app, ["clean", str(one_file / "in"), str(out), "--plot", "--labels", "audacity",
                            "--labels", "vtt", "--weights", random_weights, "-q", "-j", "1"])
    assert r.exit_code == 0, r.output
    assert png_size(out / "a $b$.wav.png") == (PLOT_WIDTH_PX, PLOT_HEIGHT_PX)
    report = json.loads((out / "a $b$.wav.json").read_text())
    assert (out / "a $b$.wav.labels.txt").read_text() == audacity_labels(report["segments"])
    assert (out / "a $b$.wav.vtt").read_text() == webvtt(report["segments"])
    assert len(report["segments"]) >= 1
    summary = json.loads((out / "denoise-run.json").read_text())["files"][0]
    assert summary["plot"] == str(out / "a $b$.wav.png")
    assert summary["labels_vtt"] == str(out / "a $b$.wav.vtt")


def test_asking_for_a_plot_later_redoes_only_the_missing_pictures(one_file, random_weights):
    out = one_file / "out"
    base = ["clean", str(one_file / "in"), str(out), "--weights", random_weights, "-j", "1"]
    assert runner.invoke(app, base + ["-q"]).exit_code == 0
    dry = runner.invoke(app, base + ["--plot", "--dry-run"])
    assert "(plot missing)" in dry.output
    assert runner.invoke(app, base + ["--plot", "-q"]).exit_code == 0
    assert (out / "a $b$.wav.png").is_file()
    assert "(up to date)" in runner.invoke(app, base + ["--plot", "--dry-run"]).output


def test_plot_without_matplotlib_is_a_usage_error(one_file, random_weights, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    r = runner.invoke(app, ["clean", str(one_file / "in"), str(one_file / "out"), "--plot",
                            "--weights", random_weights])
    assert r.exit_code == 2
    assert "error: --plot needs matplotlib: pip install 'denoise-cli[plot]'" in r.output
    assert not (one_file / "out" / "a $b$.wav").exists()
