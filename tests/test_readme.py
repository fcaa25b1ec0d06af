"""The README's reference tables against the code they describe.

The option table of `denoise clean` and the architecture line of "How it works" are
written by hand; these tests fail when a default or the shipped net's size changes
and the README does not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from denoise_cli.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def clean_option_rows() -> dict[str, str]:
    """{'--option': default cell} for every row of the README's `denoise clean` option table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## `denoise clean INPUT... OUTPUT_DIR`", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]  # not at `\|`
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        for name in re.findall(r"--[a-z][a-z-]*", cells[0]):
            rows[name] = cells[1]
    return rows


def clean_defaults() -> dict[str, object]:
    """{'--option': default} of the `clean` command, from the CLI itself."""
    command = typer.main.get_command(app).commands["clean"]
    return {opt: param.default for param in command.params for opt in param.opts if opt.startswith("--")}


def test_every_numeric_default_in_the_option_table_is_the_cli_default():
    rows, defaults = clean_option_rows(), clean_defaults()
    numeric = {name: cell for name, cell in rows.items() if re.fullmatch(r"-?\d+(\.\d+)?", cell)}
    assert len(numeric) >= 4, f"the option table was not found or has changed shape: {rows}"
    for name, cell in numeric.items():
        assert name in defaults, f"README lists {name}, which `denoise clean` does not have"
        assert defaults[name] is not None and float(cell) == pytest.approx(float(defaults[name])), \
            f"README says {name} defaults to {cell}, CLI: {defaults[name]}"


def test_every_clean_option_is_in_the_option_table():
    rows, defaults = clean_option_rows(), clean_defaults()
    documented_elsewhere = {"--plot", "--labels", "--help"}  # "See and hear the results"
    missing = sorted(set(defaults) - set(rows) - documented_elsewhere)
    assert not missing, f"options missing from the README's table: {missing}"


def test_how_it_works_gives_the_shipped_net_size():
    from denoise_cli.weights import load_checkpoint

    dims = load_checkpoint().model.dims
    text = README.read_text(encoding="utf-8")
    line = (f"Conv1d({dims.in_channels}→{dims.conv_channels}, k={dims.kernel_size}) → "
            f"BiLSTM({dims.conv_channels}→2×{dims.lstm_hidden})")
    assert line in " ".join(text.split()), f"'How it works' should describe the packaged net as {line}"


def test_every_make_target_and_script_the_readme_names_exists():
    root = README.parent
    text = README.read_text(encoding="utf-8")
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    for included in re.findall(r"^include (\S+)", makefile, flags=re.M):
        makefile += (root / included).read_text(encoding="utf-8")
    targets = set(re.findall(r"^([A-Za-z0-9_./-]+)\s*:(?!=)", makefile, flags=re.M))
    named = set(re.findall(r"(?:`|^)make ([a-z][a-z0-9-]*)", text, flags=re.M))
    assert {"install", "test", "demo", "compare", "bench"} <= named
    assert not sorted(named - targets), f"README names make targets the Makefile lacks: {sorted(named - targets)}"
    scripts = set(re.findall(r"python (scripts/[A-Za-z0-9_]+\.py)", text))
    assert not sorted(s for s in scripts if not (root / s).is_file()), "README names scripts that do not exist"
