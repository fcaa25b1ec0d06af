"""The heavy imports: loaded once, with the collector paused, in every process that runs files."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def _python(code: str) -> list[str]:
    """Run ``code`` in a new interpreter (gc.freeze must not touch the test process); its printed words."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_paused_gc_restores_the_collector_and_freezes_what_was_made():
    code = """
import gc
from denoise_cli.preload import paused_gc
with paused_gc():
    inside = gc.isenabled()
    made = [[] for _ in range(10_000)]
print(inside, gc.isenabled(), gc.get_freeze_count() >= 10_000)
gc.disable()
with paused_gc():
    pass
print(gc.isenabled())
"""
    assert _python(code) == ["False", "True", "True", "False"]


def test_load_heavy_modules_imports_what_workers_need_and_keeps_torch_threads():
    code = """
import gc, sys, torch
torch.set_num_threads(2)
from denoise_cli.preload import load_heavy_modules
load_heavy_modules()
print(torch.get_num_threads(), gc.isenabled(), *(m in sys.modules for m in ("silero_vad", "numpy.ma", "denoise_cli.pipeline")))
"""
    assert _python(code) == ["2", "True", "True", "True", "True"]


def test_every_fork_server_preload_module_imports():
    """The fork server skips a preload module that fails to import, silently: a typo must fail here."""
    code = """
import importlib
from denoise_cli.batch import FORKSERVER_PRELOAD
for name in FORKSERVER_PRELOAD:
    importlib.import_module(name)
print(len(FORKSERVER_PRELOAD))
"""
    assert int(_python(code)[0]) >= 4


def test_load_heavy_modules_freezes_once_per_process():
    """Called before every file: a second freeze would keep that file's cyclic garbage forever."""
    code = """
import gc
from denoise_cli.preload import load_heavy_modules
load_heavy_modules()
frozen = gc.get_freeze_count()
garbage = [[] for _ in range(10_000)]
load_heavy_modules()
print(gc.get_freeze_count() == frozen)
"""
    assert _python(code) == ["True"]
