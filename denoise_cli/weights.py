"""Self-describing checkpoints: save, load (weights_only), hash; the packaged default.

A checkpoint is a plain dict: ``dims`` (ModelDims as a dict), ``state_dict``,
``features`` (the front end it was trained on) and ``training`` (a record of
how it was made). Loading never unpickles code (``weights_only=True``).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from .config import HOP_MS, MODEL_SAMPLE_RATE_HZ, WINDOW_MS
from .errors import CheckpointError

if TYPE_CHECKING:  # torch loads only with a model: hashing a checkpoint does not need it
    import torch

    from .model import MaskNet

DEFAULT_CHECKPOINT = "dns.pt"  # inside denoise_cli/assets/
FEATURES = {"sample_rate_hz": MODEL_SAMPLE_RATE_HZ, "window_ms": WINDOW_MS, "hop_ms": HOP_MS}


@dataclass(frozen=True)
class LoadedModel:
    model: MaskNet
    sha256: str
    path: str
    training: dict


def default_checkpoint_path() -> Path:
    return Path(str(resources.files("denoise_cli") / "assets" / DEFAULT_CHECKPOINT))


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_checkpoint(model: MaskNet, path: str | os.PathLike, training: dict | None = None) -> str:
    """Write a checkpoint atomically; returns its SHA-256."""
    import torch

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save({"dims": model.dims.to_dict(), "state_dict": state, "features": FEATURES,
                "training": training or {}}, tmp)
    os.replace(tmp, path)
    return file_sha256(path)


def _first_line(exc: Exception) -> str:
    """A torch error's first line, without terminal colour codes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_checkpoint(path: str | os.PathLike | None = None,
                    device: torch.device | str = "cpu") -> LoadedModel:
    """Load a checkpoint (None: the packaged one) in eval mode on ``device``."""
    import torch

    from .model import MaskNet, ModelDims

    path = Path(path) if path is not None else default_checkpoint_path()
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        if ckpt.get("features") != FEATURES:
            raise CheckpointError(f"{path}: trained on features {ckpt.get('features')}, "
                                  f"this version uses {FEATURES}")
        model = MaskNet(ModelDims(**ckpt["dims"]))
        model.load_state_dict(ckpt["state_dict"])
    except CheckpointError:
        raise
    except Exception as exc:  # corrupt file, wrong shapes, missing keys
        raise CheckpointError(f"{path}: not a usable denoise checkpoint ({_first_line(exc)})") from None
    model.to(device).eval()
    return LoadedModel(model, file_sha256(path), str(path), dict(ckpt.get("training", {})))
