"""RNNoise through pyrnnoise: `RNNoise(48000).denoise_chunk(x, partial=True)` over the whole file at 48 kHz (480-sample int16 frames); the output is advanced by its 960-sample (20 ms) delay."""
import numpy as np
from pyrnnoise import RNNoise

from common import main

RATE_HZ = 48_000
DELAY_SAMPLES = 960  # measured: clean speech through it lags 960 samples (cross-correlation)


def process(x, rate_hz):
    frames = [frame for _, frame in RNNoise(rate_hz).denoise_chunk(x, partial=True)]
    return (np.concatenate(frames, axis=-1).ravel() / 32768.0).astype(np.float32)[DELAY_SAMPLES:]


if __name__ == "__main__":
    main(process, native_rate_hz=RATE_HZ)
