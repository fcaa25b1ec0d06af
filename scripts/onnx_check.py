"""What running both models through ONNX Runtime instead of torch would cost and save.

Not part of the product: a measurement for docs/speed.md ("What would leave torch out").
Needs two packages the project does not install: ``pip install onnxruntime onnx``.

Prints, one thread each:
- import times of numpy + onnxruntime and numpy + torch, each in a fresh interpreter;
- Silero's own torch-free sequence model (``silero_vad_16k_sequence.onnx``, in the wheel)
  against our batched TorchScript VAD (``vad.SileroVad``) on one 16 kHz file, and the
  largest difference of their probabilities;
- the shipped mask net exported to ONNX against torch in float32 and in bfloat16 autocast,
  on batches of 4 s chunks as the pipeline sends them, and the largest mask differences.

    python scripts/onnx_check.py bench/in/short_16k_mono/short_16k_mono_0.flac
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from importlib.util import find_spec

import numpy as np
import soundfile as sf


def best_of(fn, rounds: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def import_seconds(modules: str, rounds: int = 5) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {modules}"], check=True)
        out.append(time.perf_counter() - start)
    return out


def session(path: str):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.inter_op_num_threads = options.intra_op_num_threads = 1
    return ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


def onnx_vad_probs(sess, audio: np.ndarray) -> np.ndarray:
    """Silero's sequence model over whole 512-sample frames, each with the previous 64 samples."""
    frames = audio[: audio.size // 512 * 512].reshape(-1, 512)
    context = np.concatenate([np.zeros((1, 64), np.float32), frames[:-1, -64:]])
    state = np.zeros((1, 1, 128), np.float32)
    probs, _, _ = sess.run(["speech_probs", "hn", "cn"],
                           {"input": np.concatenate([context, frames], 1), "h": state, "c": state})
    return probs.reshape(-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("audio", help="a 16 kHz mono file")
    args = parser.parse_args()
    for modules in ("numpy, onnxruntime", "numpy, torch"):
        print(f"import {modules}: " + ", ".join(f"{s:.2f}" for s in import_seconds(modules)) + " s")

    import torch

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from denoise_cli.model import with_noise
    from denoise_cli.vad import SileroVad
    from denoise_cli.weights import load_checkpoint

    torch.set_num_threads(1)
    audio, rate = sf.read(args.audio, dtype="float32")
    assert rate == 16_000 and audio.ndim == 1, "a 16 kHz mono file"
    data = os.path.join(os.path.dirname(find_spec("silero_vad").origin), "data")
    sess = session(os.path.join(data, "silero_vad_16k_sequence.onnx"))
    vad = SileroVad()

    def ours():
        vad.reset()
        return vad.feed(audio, final=True)

    t_onnx, p_onnx = best_of(lambda: onnx_vad_probs(sess, audio))
    t_ours, p_ours = best_of(ours)
    n = min(len(p_onnx), len(p_ours))
    print(f"VAD on {audio.size / rate:.1f} s: ONNX sequence model {t_onnx * 1e3:.1f} ms, ours (torch) "
          f"{t_ours * 1e3:.1f} ms; probabilities differ by at most {np.abs(p_onnx[:n] - p_ours[:n]).max():.1e}")

    model = load_checkpoint().model

    class Plain(torch.nn.Module):  # the net's forward without the constant-tail shortcut
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            net = self.net
            h = torch.relu(net.conv_in(net.features(x)))
            h, _ = net.lstm(h.transpose(1, 2))
            return torch.sigmoid(net.conv_out(h.transpose(1, 2))) * net.dims.mask_max

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dns.onnx")
        example = torch.from_numpy(with_noise(np.ones((2, 161, 400), np.float32), np.ones((2, 161), np.float32)))
        torch.onnx.export(Plain(model).eval(), example, path, input_names=["x"], output_names=["mask"],
                          dynamic_axes={"x": {0: "n", 2: "frames"}, "mask": {0: "n", 2: "frames"}},
                          opset_version=17, dynamo=False)
        net = session(path)
    for chunks in (9, 16):  # a 30 s file's chunks; a full batch
        x = with_noise((np.abs(rng.standard_normal((chunks, 161, 400))) * 0.05).astype(np.float32),
                       (np.abs(rng.standard_normal((chunks, 161))) * 0.01).astype(np.float32))
        xt = torch.from_numpy(x)
        with torch.inference_mode():
            t32, ref = best_of(lambda: model(xt).numpy())
            with torch.autocast("cpu", dtype=torch.bfloat16):
                t16, bf = best_of(lambda: model(xt).float().numpy())
        tox, ox = best_of(lambda: net.run(None, {"x": x})[0])
        print(f"mask net, {chunks} chunks of 4 s: ONNX {tox * 1e3:.1f} ms, torch float32 {t32 * 1e3:.1f} ms, "
              f"torch bfloat16 {t16 * 1e3:.1f} ms; ONNX - float32 at most {np.abs(ox - ref).max():.1e}, "
              f"bfloat16 - float32 at most {np.abs(bf - ref).max():.1e}")


if __name__ == "__main__":
    main()
