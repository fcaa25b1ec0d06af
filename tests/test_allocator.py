"""keep_freed_memory: a freed large block is reused, not faulted in again."""

import subprocess
import sys

import pytest

from denoise_cli.allocator import keep_freed_memory

PROBE = """
import resource, sys
import numpy as np
from denoise_cli.allocator import keep_freed_memory
if sys.argv[1] == "tuned":
    assert keep_freed_memory()
def faults_of_a_block():
    # page faults of four 16 MB arrays alive at once, as a block's spectra and gains are
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(16 * 2**20 // 8) for _ in range(4)]  # written through
    del arrays
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults_of_a_block()  # the first one always faults its pages in
print(min(faults_of_a_block() for _ in range(3)))
"""


def _faults(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_block_is_reused_without_page_faults():
    if not keep_freed_memory():
        pytest.skip("the C library is not glibc")
    # Measured here: about 2,000 faults by default (glibc maps each array afresh and
    # unmaps it when freed), none tuned (out of 16,384 pages).
    assert _faults("default") > 1000
    assert _faults("tuned") < 100
