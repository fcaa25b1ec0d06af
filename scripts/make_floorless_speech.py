"""A training speech folder whose noisiest voices are cleaned by our own chain first.

A training target keeps its recording's own noise floor, so the net learns to
leave a floor like it in quiet frames. This makes ``DST``: the voices named in
``--voices`` cleaned by ``denoise clean`` (the packaged model unless
``--weights``; defaults otherwise; no reports), every other voice of ``SRC`` a
symbolic link to its folder. Rerunning skips what is up to date (``denoise
clean``'s own rule). Used by ``make train-v27c`` (docs/model.md: "Model variants").

    .venv/bin/python scripts/make_floorless_speech.py data/speech/train data/speech/train_floorless \\
        --voices tuxpaint_nl,tuxpaint_fr,tuxpaint_da,tuxpaint_ro,tuxpaint_be
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from denoise_cli.batch import clean_paths
from denoise_cli.config import CleanOptions, RunOptions


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", type=Path, help="speech folder, one subfolder per voice")
    p.add_argument("dst", type=Path, help="folder to make")
    p.add_argument("--voices", required=True, help="comma-separated subfolders of SRC to clean")
    p.add_argument("--weights", default=None, help="mask-model checkpoint (default: the packaged one)")
    a = p.parse_args(argv)
    voices = [v for v in a.voices.split(",") if v]
    missing = [v for v in voices if not (a.src / v).is_dir()]
    if missing:
        p.error(f"not in {a.src}: {', '.join(missing)}")
    opts = CleanOptions()
    opts = replace(opts, model=replace(opts.model, weights=a.weights))
    run = RunOptions(jobs=1, write_report=False)
    a.dst.mkdir(parents=True, exist_ok=True)
    failed = 0
    for folder in sorted(d for d in a.src.iterdir() if d.is_dir()):
        target = a.dst / folder.name
        if folder.name in voices:
            report = clean_paths([folder], target, opts, run)
            failed += report.return_code != 0
            print(f"{folder.name}: cleaned into {target}", file=sys.stderr)
        elif not target.exists():
            link = os.path.relpath(folder.resolve(), a.dst.resolve())  # relative: the repository may move
            target.symlink_to(link, target_is_directory=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
