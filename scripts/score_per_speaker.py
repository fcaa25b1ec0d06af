"""PESQ-WB / STOI / SI-SDR per speaker and overall, for folders of cleaned files.

    .venv/bin/python scripts/score_per_speaker.py CLEAN_DIR OUT_DIR [OUT_DIR ...]

CLEAN_DIR is a set's clean side (data/eval/clean, data/bench/16k/clean, ...); the speaker of
each file comes from the set's index.json beside it or one folder further up. Prints one line per OUT_DIR.
"""

import json
import sys
from pathlib import Path

import numpy as np

from denoise_cli.evaluate import evaluate_folders


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    ref = Path(sys.argv[1])
    index = next(p for p in (ref.parent / "index.json", ref.parent.parent / "index.json") if p.exists())
    speaker = {x["name"]: x["speaker"] for x in json.loads(index.read_text())}
    for folder in sys.argv[2:]:
        rows = evaluate_folders(ref, {folder: Path(folder)}, with_pesq=True)["files"]
        groups = {"all": rows}
        for r in rows:
            groups.setdefault(speaker.get(r["file"], "?"), []).append(r)
        cells = [f"{k} %.3f / %.4f / %.2f (%d)" % (*(np.mean([r[m] for r in v]) for m in ("pesq", "stoi", "si_sdr")), len(v))
                 for k, v in groups.items()]
        print(folder + ": " + "; ".join(cells), flush=True)


if __name__ == "__main__":
    main()
