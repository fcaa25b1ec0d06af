"""Time the run page with many files in headless chromium (needs `make browser`).

    python scripts/page_bench.py [--files 5000]

Writes a synthetic run summary and per-file reports (no audio) into a
temporary folder, runs `denoise report` on it, and prints how long chromium
takes to load the page, sort a column and apply a filter.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from denoise_cli.html_report import write_index  # noqa: E402


def make_run(out: Path, n: int) -> None:
    rng = random.Random(0)
    files = []
    for i in range(n):
        output = out / f"rec_{i:05d}.wav"
        entry = {"input": f"in/rec_{i:05d}.wav", "output": str(output), "status": "cleaned",
                 "duration_s": rng.uniform(5, 600), "seconds": rng.uniform(0.1, 5)}
        if i % 97 == 0:
            entry |= {"status": "failed", "reason": "not readable as audio"}
        else:
            entry |= {"report": f"{output}.json", "plot": f"{output}.png"}
            Path(entry["report"]).write_text(json.dumps({
                "denoise_version": "synthetic", "status": "cleaned", "input": entry["input"],
                "output": str(output), "segments": [], "duration_s": entry["duration_s"],
                "speech_ratio": rng.random(),
                "snr_estimate_db": {"before": rng.uniform(0, 20), "after": rng.uniform(20, 60)},
                "timings_s": {"total": entry["seconds"]}}))
        files.append(entry)
    (out / "denoise-run.json").write_text(json.dumps({"cleaned": n - len(files[::97]), "skipped": 0,
                                                      "failed": len(files[::97]), "files": files,
                                                      "cwd": str(out)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--browser", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        make_run(out, args.files)
        page_path, rows = write_index(out)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.browser, args=["--no-sandbox"])
            page = browser.new_page()
            t = time.perf_counter()
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load")
            load_s = time.perf_counter() - t
            t = time.perf_counter()
            page.click("th[data-key=snr_after_db]")
            sort_s = time.perf_counter() - t
            t = time.perf_counter()
            page.fill("#filter", "rec_0001")
            page.wait_for_function("document.querySelectorAll('#rows tr').length === 10")
            filter_s = time.perf_counter() - t
            browser.close()
    print(f"{rows} files: load {load_s:.2f} s, sort {sort_s:.2f} s, filter {filter_s:.2f} s "
          f"(filter includes the page's 120 ms typing delay)")


if __name__ == "__main__":
    main()
