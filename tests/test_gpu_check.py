"""benchmarks/gpu_check.sh: its plan (fast) and its whole CPU smoke path (slow: three Python
processes that each start TensorFlow, six tiny benches, a tiny training, `pytest -m gpu`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CASES = {f"{experiment}-{precision}" for experiment in ("exp1", "exp2")
         for precision in ("float32", "bfloat16", "xla-bfloat16")}


def _gpu_check(out: Path, *args: str, timeout: int) -> subprocess.CompletedProcess:
    """Run the script as a user would, with this test's virtualenv active (so it installs nothing)."""
    environment = {**os.environ, "VIRTUAL_ENV": sys.prefix,
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", str(ROOT / "benchmarks" / "gpu_check.sh"), "--out", str(out), *args],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=timeout)


def test_gpu_check_plans_the_benches_the_mirrored_training_and_the_gpu_tests(tmp_path):
    done = _gpu_check(tmp_path / "plan.json", "--dry-run", "--work-dir", str(tmp_path / "work"), timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "plan.json").read_text())
    assert report["mode"] == "full" and report["budget_s"] == 450
    assert {entry["case"] for entry in report["bench"]} == CASES
    overrides = {entry["case"]: entry["overrides"] for entry in report["bench"]}
    assert overrides["exp2-xla-bfloat16"] == ["train.mixed_precision=bfloat16", "train.jit_compile=true"]
    assert overrides["exp1-float32"] == []
    phantom, prepare, train = report["plan"]["train"]
    assert phantom[-7:] == ["--count", "48", "--seed", "42", "--size", "512x416", "--overwrite"]
    assert prepare[prepare.index("--size") + 1] == "256x256"
    assert "--strategy" in train and train[train.index("--strategy") + 1] == "mirrored"
    assert "train.max_steps=200" in train and "experiments/exp1.json" in train
    assert report["plan"]["gpu-tests"][3:5] == ["-m", "gpu"]
    assert report["targets"]["exp1-xla-bfloat16"]["limit_ms_per_step"] == 15.0

    smoke = _gpu_check(tmp_path / "smoke.json", "--smoke", "--dry-run", "--only", "exp1-float32,train",
                       timeout=60)
    assert smoke.returncode == 0, smoke.stderr
    report = json.loads((tmp_path / "smoke.json").read_text())
    assert [entry["case"] for entry in report["bench"]] == ["exp1-float32"]
    assert "data.height=32" in report["bench"][0]["overrides"] and "train.max_steps=4" in report["plan"]["train"][2]
    assert report["plan"]["gpu-tests"] is None and report["gpu_tests"]["status"] == "not selected"

    refused = _gpu_check(tmp_path / "x.json", "--only", "exp3-float32", "--dry-run", timeout=60)
    assert refused.returncode == 2 and "exp3-float32" in refused.stderr


@pytest.mark.slow  # three processes that start TensorFlow, six benches, a training: 3-5 minutes on 2 cores
def test_gpu_check_smoke_runs_every_phase_on_the_cpu(tmp_path):
    done = _gpu_check(tmp_path / "smoke.json", "--smoke", timeout=600)
    report = json.loads((tmp_path / "smoke.json").read_text())
    assert report["mode"] == "smoke" and report["wall_s"] < report["budget_s"] + 30
    assert report["environment"]["cpu_isa"] and report["environment"]["tensorflow"]
    assert [entry["case"] for entry in report["bench"]] == [
        "exp1-float32", "exp2-float32", "exp1-bfloat16", "exp2-bfloat16", "exp1-xla-bfloat16", "exp2-xla-bfloat16"]
    for entry in report["bench"]:
        assert "result" in entry, entry
        result = entry["result"]
        assert result["ms_per_step"] > 0 and result["steps_timed"] == 2, entry["case"]
        assert result["jit_compile"] == entry["case"].endswith("xla-bfloat16")
        assert result["mixed_precision"] == ("off" if entry["case"].endswith("float32") else "bfloat16")
    tests = report["gpu_tests"]
    assert tests["counts"]["tests"] > 0 and tests["counts"]["failures"] == tests["counts"]["errors"] == 0
    if not report["environment"]["gpus"]:
        assert tests["status"] == "all skipped (no GPU)"
    assert all(target["met"] is None for target in report["targets"].values())  # smoke figures judge nothing
    assert report["train"]["status"] == "ok", report["train"]["output_tail"]
    assert report["train"]["end_step"] == 4
    assert report["ok"] and done.returncode == 0, done.stdout + done.stderr
