"""noisereduce 3.0 spectral gating with its defaults: `noisereduce.reduce_noise(y=x, sr=rate)` (non-stationary, n_fft=1024, prop_decrease=1.0, n_jobs=1), at the file's own rate."""
import noisereduce

from common import main


def process(x, rate_hz):
    return noisereduce.reduce_noise(y=x, sr=rate_hz, n_jobs=1)


if __name__ == "__main__":
    main(process)
