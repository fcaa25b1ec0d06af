"""scripts/gpu_section.py: the GPU section of docs/benchmarks.md, written from bench JSON."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_section.py"
spec = importlib.util.spec_from_file_location("gpu_section", SCRIPT)
gpu_section = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_section)


def _bench(cores: int) -> list[dict]:
    row = lambda device, jobs, wall: {"set": "long_16k_mono", "files": 2, "device": device, "jobs": jobs,
                                      "wall_s": wall, "audio_s": 1200.0, "real_time_factor": wall / 1200,
                                      "work_real_time_factor": (wall - 4) / 1200}
    return [{"machine": {"cpu": "Test CPU", "cores": cores, "gpu": "Test GPU"}},
            {"startup_s": {"1": 3.5, str(cores): 4.0, f"cuda {cores}": 4.5}},
            row("cpu", 1, 9.0), row("cpu", cores, 6.0), row("cuda", cores, 5.0)]


def test_section_tables_and_in_place_replacement(tmp_path):
    (tmp_path / "bench-gpu-2cores.json").write_text(json.dumps(_bench(2)))
    (tmp_path / "bench-train-cuda.json").write_text(json.dumps(
        {"machine": {"cpu": "Test CPU", "cores": 16, "gpu": "Test GPU"},
         "rows": [{"device": "cuda", "threads": 1, "data_workers": 8, "s_per_step": 0.05}],
         "split": {"make_batch_s": 0.4, "model_step_s": 0.01}}))
    lines = gpu_section.section(tmp_path)
    text = "\n".join(lines)
    # CPU jobs 1, CPU jobs 2, CUDA jobs 2: RTF (work RTF); CUDA over the best CPU wall: 6.0 / 5.0
    assert "| 2 x long_16k_mono | 0.0075 (0.0042) | 0.0050 (0.0017) | 0.0042 (0.0008) | 1.20x |" in text
    assert "CUDA --jobs 2 4.50 s" in text and "Test GPU, Test CPU, 2 cores" in text
    assert "| 8 | 0.050 | 72000 |" in text
    assert "every core" not in text  # no bench-gpu.json: its table is left out

    doc = "# Benchmarks\n\nscores\n\n## Systems\n\ntable\n"
    once = gpu_section.replace_section(doc, lines)
    assert once.startswith(doc.rstrip("\n")) and once.count(gpu_section.HEADING) == 1
    assert gpu_section.replace_section(once, lines) == once  # a second run changes nothing
    # a section in the middle is replaced and what follows it is kept
    middle = gpu_section.replace_section(doc.replace("## Systems", "## GPU throughput\n\nold\n\n## Systems"), lines)
    assert "old" not in middle and middle.rstrip().endswith("## Systems\n\ntable") and "Test GPU" in middle
    assert gpu_section.section(tmp_path / "none") == []
