"""Deferred modules: torch's meta kernels are not loaded by ``denoise clean``, and load when used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def _python(code: str, cwd: Path = ROOT) -> list[str]:
    """Run ``code`` in a new interpreter (it changes sys.modules); its printed words."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=180)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_a_deferred_module_runs_on_first_use_of_an_attribute(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    # the package imports its submodule as torch does (``from torch import _meta_registrations``)
    (pkg / "__init__.py").write_text("from pkg import sub\n")
    (pkg / "sub.py").write_text("import os\nos.environ['SUB_RAN'] = str(int(os.environ.get('SUB_RAN', '0')) + 1)\n"
                                "VALUE = 42\n")
    code = f"""
import os, sys
sys.path.insert(0, {str(tmp_path)!r})
from denoise_cli.deferred import defer, is_deferred
print(defer("pkg.sub"), defer("pkg.sub"), "pkg" in sys.modules)
import pkg
print(os.environ.get("SUB_RAN", "0"), is_deferred("pkg.sub"))
print(pkg.sub.VALUE, os.environ["SUB_RAN"], is_deferred("pkg.sub"), pkg.sub is sys.modules["pkg.sub"])
from pkg.sub import VALUE
print(VALUE, os.environ["SUB_RAN"])
"""
    assert _python(code) == ["True", "False", "False", "0", "True", "42", "1", "False", "True", "42", "1"]


def test_defer_leaves_imported_packages_and_missing_modules_alone():
    code = """
import json, sys
from denoise_cli.deferred import defer, is_deferred
print(defer("json.decoder"), defer("email.no_such_module"), defer("no_such_package.x"))
print(is_deferred("json.decoder"), "email" in sys.modules)
for name in ("json", "email.mime.text"):
    try:
        defer(name)
    except ValueError as exc:
        print(type(exc).__name__)
"""
    assert _python(code) == ["False", "False", "False", "False", "False", "ValueError", "ValueError"]


def test_cleaning_never_loads_torchs_meta_kernels_and_they_load_when_asked_for(tmp_path):
    """The clean path runs the same bytes without them; a meta-tensor op still works after."""
    code = f"""
import sys
from denoise_cli.deferred import defer_unused_torch_modules, is_deferred
defer_unused_torch_modules()
from denoise_cli.preload import load_heavy_modules
load_heavy_modules()
from denoise_cli.batch import clean_paths
from denoise_cli.config import CleanOptions, RunOptions
report = clean_paths(["sample_audio/01_june_engine_16k_mono.wav"], {str(tmp_path / "a")!r}, CleanOptions(),
                     RunOptions(jobs=1))
print(report.return_code, is_deferred("torch._meta_registrations"))
import torch
x = torch.empty(4, 3, device="meta")
print(tuple(x[torch.tensor([0, 2], device="meta")].shape))
print(callable(torch._meta_registrations.meta_index_Tensor), is_deferred("torch._meta_registrations"))
print(type(sys.modules["torch._meta_registrations"]).__name__, type(torch._meta_registrations).__name__)
"""
    assert _python(code) == ["0", "True", "(2,", "3)", "True", "False", "module", "module"]
    plain = f"""
from denoise_cli.batch import clean_paths
from denoise_cli.config import CleanOptions, RunOptions
clean_paths(["sample_audio/01_june_engine_16k_mono.wav"], {str(tmp_path / "b")!r}, CleanOptions(), RunOptions(jobs=1))
"""
    _python(plain)
    name = "01_june_engine_16k_mono.wav"
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_the_cli_and_the_fork_server_defer_torchs_meta_kernels(tmp_path):
    """Only our own processes do: importing denoise_cli or torch elsewhere changes nothing."""
    code = """
import sys
import denoise_cli.batch, denoise_cli.cli
print("torch" in sys.modules, "torch._meta_registrations" in sys.modules)
import denoise_cli._forkserver
from denoise_cli.deferred import is_deferred
print(is_deferred("torch._meta_registrations"))
"""
    assert _python(code) == ["False", "False", "True"]
    library = """
import torch
from denoise_cli.preload import load_heavy_modules
load_heavy_modules()
from denoise_cli.deferred import is_deferred
print(is_deferred("torch._meta_registrations"))
"""
    assert _python(library) == ["False"]
    cli = f"""
import sys
from typer.testing import CliRunner
import denoise_cli.batch as batch
from denoise_cli.cli import app
from denoise_cli.deferred import is_deferred
def fake_clean_paths(*args, **kwargs):
    import torch
    print("deferred", is_deferred("torch._meta_registrations"))
    raise SystemExit(0)
batch.clean_paths = fake_clean_paths
result = CliRunner().invoke(app, ["clean", "sample_audio", {str(tmp_path / "out")!r}, "-q"])
print(result.output.strip())
"""
    assert "deferred True" in " ".join(_python(cli))
