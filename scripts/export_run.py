"""Write a loadable checkpoint from a training run's resumable state (runs/NAME/last.pt).

Lets an unfinished run be evaluated while it trains:

    python scripts/export_run.py runs/dns-v4a runs/dns-v4a-step.pt
    denoise clean data/eval/noisy out/x --weights runs/dns-v4a-step.pt
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from denoise_cli.model import SIZES, VARIANTS, MaskNet, ModelDims
from denoise_cli.weights import save_checkpoint


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("out", type=Path)
    args = ap.parse_args()
    state = torch.load(args.run_dir / "last.pt", map_location="cpu", weights_only=True)
    recipe = json.loads(state["recipe"])
    model = MaskNet(ModelDims(**{k: recipe[k] for k in VARIANTS + SIZES if k in recipe}))
    model.load_state_dict(state["model"])
    history = json.loads(state["history"])
    sha = save_checkpoint(model, args.out, training={"options": recipe,
                                                     "history": history[-1:], "partial_step": state["step"]})
    print(f"{args.out}: step {state['step']}, sha256 {sha}")


if __name__ == "__main__":
    main()
