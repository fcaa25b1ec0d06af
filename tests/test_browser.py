"""The run page in a real headless browser (Debian's chromium driven by Playwright).

Run with `make test-browser`. Skipped, with the reason, when Playwright or a
chromium binary is missing (`make browser` installs both).
"""

from __future__ import annotations

import os
import shutil
import signal

import pytest

from test_html_report import HTML_NAME, make_run
from typer.testing import CliRunner

from denoise_cli.cli import app

pytestmark = pytest.mark.browser
BROWSER = os.environ.get("DENOISE_BROWSER") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (make browser)")
    if not BROWSER:
        pytest.skip("no chromium binary on PATH and DENOISE_BROWSER unset (make browser installs Debian's)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=BROWSER, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, speech_16k, random_weights):
    old = signal.getsignal(signal.SIGTERM)
    out = make_run(tmp_path_factory.mktemp("site"), speech_16k, random_weights, ["--plot", "--labels", "vtt"])
    signal.signal(signal.SIGTERM, old)
    assert CliRunner().invoke(app, ["report", str(out)]).exit_code == 0
    return out


@pytest.fixture
def page(browser, site):
    page = browser.new_page()
    page.problems = []
    page.on("console", lambda m: m.type in ("error", "warning") and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("dialog", lambda d: (page.problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.goto((site / "index.html").as_uri())
    yield page
    page.close()


def names(page) -> list[str]:
    return page.locator("#rows td.name").evaluate_all(
        "cells => cells.map(c => c.childNodes[0].textContent)")


def test_page_loads_without_console_errors_and_lists_every_file(page):
    page.wait_for_load_state("load")
    assert page.locator("#rows tr").count() == 3
    assert page.locator("#count").text_content() == "3 of 3 files"
    assert sorted(names(page)) == sorted([f"{HTML_NAME}.wav", "sub/long one.flac", "broken.wav"])
    assert page.problems == []


def test_html_in_a_file_name_shows_as_text(page):
    assert page.locator("#rows b").count() == 0 and page.locator("#rows img[src=x]").count() == 0
    assert page.get_by_text(f"{HTML_NAME}.wav", exact=True).count() == 1
    assert page.problems == []  # no alert() ran: the onerror attribute never became markup


def test_sorting_by_a_column_and_back(page):
    page.click("th[data-key=duration_s]")
    assert names(page) == [f"{HTML_NAME}.wav", "sub/long one.flac", "broken.wav"]  # no duration: last
    page.click("th[data-key=duration_s]")
    assert names(page) == ["sub/long one.flac", f"{HTML_NAME}.wav", "broken.wav"]
    assert page.get_attribute("th[data-key=duration_s]", "aria-sort") == "descending"
    page.click("th[data-key=name]")
    assert names(page) == sorted(names(page))


def test_filtering_by_text_and_by_status(page):
    page.fill("#filter", "long")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert names(page) == ["sub/long one.flac"]
    page.fill("#filter", "")
    page.select_option("#status", "failed")
    page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    assert names(page) == ["broken.wav"]
    assert page.locator("#rows .reason").count() == 1
    assert page.locator("#count").text_content() == "1 of 3 files"


def test_plots_and_audio_load_from_disk(page):
    page.select_option("#status", "cleaned")
    page.wait_for_function("[...document.querySelectorAll('img.thumb')].length === 2 && "
                           "[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("audio").count() == 0  # players are made on demand
    page.locator("button.play", has_text="after").first.click()
    page.wait_for_function("document.querySelector('audio') && document.querySelector('audio').duration > 0")
    assert page.evaluate("document.querySelector('audio').error") is None
    assert page.problems == []


@pytest.fixture(scope="module")
def big_site(tmp_path_factory):
    """A run summary of 450 files (no audio needed to test the table)."""
    import json

    out = tmp_path_factory.mktemp("big")
    files = [{"input": f"in/rec_{i:03d}.wav", "output": str(out / f"rec_{i:03d}.wav"), "status": "cleaned",
              "duration_s": float((i * 37) % 450 + 1), "seconds": 0.5} for i in range(450)]
    (out / "denoise-run.json").write_text(json.dumps({"cleaned": 450, "skipped": 0, "failed": 0,
                                                      "files": files, "cwd": str(out)}))
    assert CliRunner().invoke(app, ["report", str(out)]).exit_code == 0
    return out


def test_thousands_of_rows_are_drawn_a_page_at_a_time(browser, big_site):
    page = browser.new_page()
    page.goto((big_site / "index.html").as_uri())
    assert page.locator("#rows tr").count() == 200
    assert page.locator("#count").text_content() == "showing 200 of 450 matching (450 files)"
    page.click("th[data-key=duration_s]")
    page.click("th[data-key=duration_s]")  # descending: the longest file of all 450 comes first
    assert names(page)[0] == "rec_" + f"{next(i for i in range(450) if (i * 37) % 450 == 449):03d}.wav"
    page.click("#more")
    assert page.locator("#rows tr").count() == 400
    assert page.locator("#more").text_content() == "show 50 more"
    page.click("#more")
    assert page.locator("#rows tr").count() == 450 and page.locator("#more").is_hidden()
    page.close()
