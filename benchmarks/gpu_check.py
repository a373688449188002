"""The GPU check that benchmarks/gpu_check.sh runs (see there for usage): benches, a short
mirrored training and the GPU-marked tests, under one time budget, into one JSON file.

Phases, each in its own Python process (so each one finds the GPUs' memory free):
1. bench: `run_bench` (cyclegan/perf/bench.py) for exp1 and exp2 in float32, bfloat16, and XLA +
   bfloat16, one process for all six; each case's figures are written as soon as it ends, so a
   phase stopped by the budget keeps the cases it finished;
2. train: the built-in phantom made and prepared as scripts/run_experiment.sh does it, then
   `python -m cyclegan train` of exp1 for 200 steps with `--strategy mirrored` (all visible GPUs);
3. gpu-tests: `pytest -m gpu` (tests/test_gpu.py), counted from its JUnit XML.

`--smoke` runs the same phases on any machine, CPU included, at a tiny size (32x32 images,
4 filters, 1 residual block), with 2 timed bench steps and 4 training steps; its figures say
nothing about speed. Without `--smoke`, the bench phase refuses to run where TensorFlow sees no GPU.

The JSON file holds: mode, budget_s, wall_s, environment (device, cpu_isa, gpus, versions),
bench (one entry per case: name, overrides, and the `run_bench` figures or an error), train,
gpu_tests, targets (exp1 <= 15 ms/step and exp2 <= 60 ms/step with XLA + bfloat16; not judged in
smoke mode) and ok (every phase ran without an error; the targets are reported, not required).
The exit status is 0 when ok, else 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ("exp1", "exp2")
PRECISIONS = {
    "float32": [],
    "bfloat16": ["train.mixed_precision=bfloat16"],
    "xla-bfloat16": ["train.mixed_precision=bfloat16", "train.jit_compile=true"],
}
# XLA last: its compile times are the least predictable, and where the budget runs out the
# cases not yet run are the ones lost.
CASES = [f"{experiment}-{precision}" for precision in ("float32", "bfloat16", "xla-bfloat16")
         for experiment in EXPERIMENTS]
PHASES = ("bench", "train", "gpu-tests")
TARGETS_MS = {"exp1-xla-bfloat16": 15.0, "exp2-xla-bfloat16": 60.0}  # on one H100 / H200
SMOKE = ["data.height=32", "data.width=32", "data.eval_images=2", "generator.filters=4",
         "generator.residual_blocks=1", "discriminator.filters=4"]
# (steps timed, warmup steps, matmul size for the peak) per mode
BENCH_STEPS = {"full": (20, 3, None), "smoke": (2, 1, 256)}
TRAIN_STEPS = {"full": 200, "smoke": 4}
# Seconds kept back for a phase while the phases before it run, so that a slow one cannot starve the rest.
RESERVE_S = {"bench": {"full": 0, "smoke": 0}, "train": {"full": 150, "smoke": 60},
             "gpu-tests": {"full": 90, "smoke": 60}}


def case_overrides(case: str, smoke: bool) -> tuple[str, list[str]]:
    """(experiment config path, overrides) of a bench case such as "exp2-xla-bfloat16"."""
    experiment, precision = case.split("-", 1)
    return f"experiments/{experiment}.json", (SMOKE if smoke else []) + PRECISIONS[precision]


def train_plan(smoke: bool, work: Path) -> list[list[str]]:
    """The commands of the train phase: make the phantom, prepare it, train exp1 mirrored."""
    python = sys.executable
    count, phantom_size, size = ("6", "64x52", "32x32") if smoke else ("48", "512x416", "256x256")
    steps = TRAIN_STEPS["smoke" if smoke else "full"]
    sets = [*(SMOKE if smoke else []), f"train.max_steps={steps}", f"train.checkpoint_every={steps}",
            f"train.log_every={max(steps // 4, 1)}", f"train.image_every={steps}"]
    return [
        [python, "-m", "cyclegan", "phantom", "--out", str(work / "phantom"), "--count", count, "--seed", "42",
         "--size", phantom_size, "--overwrite"],
        [python, "-m", "cyclegan", "prepare", "--source", f"folder:{work / 'phantom'}", "--size", size,
         "--out", str(work / "prepared"), "--no-progress", "--overwrite"],
        [python, "-m", "cyclegan", "train", "--config", "experiments/exp1.json", "--data", str(work / "prepared"),
         "--run-dir", str(work / "run"), "--strategy", "mirrored", "--no-progress",
         *[arg for item in sets for arg in ("--set", item)]],
    ]


def tests_plan(junit: Path) -> list[str]:
    return [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
            str(ROOT / "tests")]


def _tail(text: str, lines: int = 20) -> list[str]:
    return text.strip().splitlines()[-lines:]


def _run(command: list[str], timeout: float) -> dict:
    """Run `command` in the repository root with at most `timeout` seconds; rc 124 when it ran out
    (or when under 5 s were left, without starting it)."""
    if timeout < 5:
        return {"command": command, "rc": 124, "wall_s": 0.0, "output_tail": ["not started: out of time"]}
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=max(timeout, 1))
        rc, out = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as err:
        rc = 124
        out = "".join(part.decode() if isinstance(part, bytes) else (part or "") for part in (err.stdout, err.stderr))
    return {"command": command, "rc": rc, "wall_s": round(time.perf_counter() - start, 1), "output_tail": _tail(out)}


# --- bench worker: runs in its own process and imports TensorFlow --------------------------------

def bench_worker(cases: list[str], smoke: bool, out: Path) -> int:
    """Run the bench cases, rewriting `out` after each: {"environment": ..., "bench": [...]}."""
    import keras
    import tensorflow as tf

    from cyclegan.config import load_config
    from cyclegan.perf import bench
    from cyclegan.runtime import machine

    gpus = tf.config.list_physical_devices("GPU")
    report = {"environment": {
        "device": machine.device_description(), "cpu": machine.cpu_model(),
        "cpu_isa": machine.cpu_isa(machine.cpu_flags()),
        "cpu_cores": os.cpu_count(),
        "gpus": [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus],
        "tensorflow": tf.__version__, "keras": keras.__version__, "python": sys.version.split()[0],
    }, "bench": []}
    out.write_text(json.dumps(report, indent=2))
    if not gpus and not smoke:
        report["error"] = "TensorFlow sees no GPU (a CUDA build is needed: pip install 'tensorflow[and-cuda]')"
        out.write_text(json.dumps(report, indent=2))
        return 2
    steps, warmup, peak_size = BENCH_STEPS["smoke" if smoke else "full"]
    failed = False
    with tempfile.TemporaryDirectory(prefix="gpu-check-bench-") as scratch:
        prepared = {}
        for case in cases:
            path, overrides = case_overrides(case, smoke)
            entry = {"case": case, "config": path, "overrides": overrides}
            start = time.perf_counter()
            try:
                config = load_config(ROOT / path, overrides)
                size = (config.data.height, config.data.width)
                if size not in prepared:  # one phantom per image size, for the pipeline rate
                    prepared[size] = bench.prepare_phantom(Path(scratch) / f"{size[0]}x{size[1]}", config)
                entry["result"] = bench.run_bench(config, steps, warmup, prepared[size], peak_size=peak_size)
            except Exception as err:  # one case failing (e.g. out of memory) must not lose the others
                entry["error"] = f"{type(err).__name__}: {err}"
                failed = True
            entry["wall_s"] = round(time.perf_counter() - start, 1)
            report["bench"].append(entry)
            out.write_text(json.dumps(report, indent=2))
            keras.backend.clear_session()
    return 1 if failed else 0


# --- the driver: no TensorFlow here ----------------------------------------------------------------

def _junit_counts(path: Path) -> dict:
    try:
        root = ElementTree.parse(path).getroot()
    except (OSError, ElementTree.ParseError):
        return {}
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    return {key: sum(int(suite.get(key, 0)) for suite in suites) for key in ("tests", "failures", "errors", "skipped")}


def _targets(bench: list[dict], smoke: bool) -> dict:
    targets = {}
    for case, limit in TARGETS_MS.items():
        measured = next((entry["result"]["ms_per_step"] for entry in bench
                         if entry["case"] == case and "result" in entry), None)
        met = None if smoke or measured is None else measured <= limit
        targets[case] = {"limit_ms_per_step": limit, "ms_per_step": measured, "met": met}
    return targets


def _summary(report: dict) -> str:
    lines = [f"gpu_check ({report['mode']}) on {report['environment'].get('device', '?')}: "
             f"{'ok' if report['ok'] else 'FAILED'} in {report['wall_s']} s"]
    for entry in report["bench"]:
        if "result" in entry:
            result = entry["result"]
            lines.append(f"  bench {entry['case']:<18} {result['ms_per_step']:9.1f} ms/step  "
                         f"utilisation {result['utilization']:.2f}")
        else:
            lines.append(f"  bench {entry['case']:<18} {entry.get('error') or entry.get('status')}")
    train = report["train"]
    lines.append(f"  train: {train.get('status')}, step {train.get('end_step')}, {train.get('wall_s')} s")
    tests = report["gpu_tests"]
    lines.append(f"  gpu tests: {tests.get('status')} {tests.get('counts', '')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GPU readiness check: benches, mirrored training, GPU tests.")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, few steps: checks the path, on any machine")
    parser.add_argument("--out", default="gpu_check.json", help="JSON file of results (default gpu_check.json)")
    parser.add_argument("--budget-s", type=float, help="seconds for everything (default 450; 420 with --smoke)")
    parser.add_argument("--only", help=f"comma-separated subset of the bench cases {','.join(CASES)} and the "
                                       f"phases train, gpu-tests (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="write the plan into --out, run nothing")
    parser.add_argument("--work-dir", help="folder for the phantom, the run and the parts (default: a temporary one)")
    parser.add_argument("--bench-worker", nargs="+", metavar="CASE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "full"
    if args.bench_worker:
        return bench_worker(args.bench_worker, args.smoke, Path(args.out))

    selected = args.only.split(",") if args.only else CASES + ["train", "gpu-tests"]
    unknown = sorted(set(selected) - set(CASES) - {"train", "gpu-tests"})
    if unknown:
        parser.error(f"--only: unknown {', '.join(unknown)}; choose from {', '.join(CASES)}, train, gpu-tests")
    cases = [case for case in CASES if case in selected]
    budget = args.budget_s or (420.0 if args.smoke else 450.0)
    out = Path(args.out).resolve()
    started = time.perf_counter()
    report = {"mode": mode, "budget_s": budget, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
              "environment": {}, "bench": [], "train": {"status": "not selected"},
              "gpu_tests": {"status": "not selected"}}

    def remaining(phase: str) -> float:
        """Seconds `phase` may use: what is left of the budget less the reserves of the phases after it."""
        later = [name for name in PHASES[PHASES.index(phase) + 1:] if name in selected or name == "bench"]
        reserve = sum(RESERVE_S[name][mode] for name in later)
        return budget - (time.perf_counter() - started) - reserve

    with tempfile.TemporaryDirectory(prefix="gpu-check-") as scratch:
        work = Path(args.work_dir).resolve() if args.work_dir else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        bench_part = work / "bench.json"
        bench_command = [sys.executable, "-m", "benchmarks.gpu_check", "--out", str(bench_part),
                         *(["--smoke"] if args.smoke else []), "--bench-worker", *cases]
        if args.dry_run:
            report["bench"] = [{"case": case, "config": case_overrides(case, args.smoke)[0],
                                "overrides": case_overrides(case, args.smoke)[1], "status": "planned"}
                               for case in cases]
            report["plan"] = {"bench": bench_command if cases else None,
                              "train": train_plan(args.smoke, work) if "train" in selected else None,
                              "gpu-tests": tests_plan(work / "junit.xml") if "gpu-tests" in selected else None}
            report["train"] = {"status": "planned"} if "train" in selected else report["train"]
            report["gpu_tests"] = {"status": "planned"} if "gpu-tests" in selected else report["gpu_tests"]
        else:
            if cases:
                run = _run(bench_command, remaining("bench"))
                try:
                    part = json.loads(bench_part.read_text())
                except (OSError, ValueError):
                    part = {}
                report["environment"] = part.get("environment", {})
                report["bench"] = part.get("bench", [])
                done = {entry["case"] for entry in report["bench"]}
                stopped = "stopped: out of time" if run["rc"] == 124 else "not run: the bench process failed"
                report["bench"] += [{"case": case, "status": stopped} for case in cases if case not in done]
                report["bench_process"] = {key: run[key] for key in ("rc", "wall_s")}
                if part.get("error") or run["rc"] not in (0, 1):
                    report["bench_process"].update(error=part.get("error"), output_tail=run["output_tail"])
            fatal = report.get("bench_process", {}).get("error")
            if fatal:  # no GPU: the training and the GPU tests would say nothing either
                for phase, key in (("train", "train"), ("gpu-tests", "gpu_tests")):
                    if phase in selected:
                        report[key] = {"status": f"not run: {fatal}"}
                selected = [name for name in selected if name not in ("train", "gpu-tests")]
            if "train" in selected:
                shutil.rmtree(work / "run", ignore_errors=True)  # a fresh run, not a resumed one
                steps = []
                for command in train_plan(args.smoke, work):
                    steps.append(_run(command, remaining("train")))
                    if steps[-1]["rc"] != 0:
                        break
                last = steps[-1]
                trained = re.search(r"Trained to step (\d+)", "\n".join(last["output_tail"]))
                report["train"] = {
                    "status": "ok" if last["rc"] == 0 and len(steps) == 3 else f"failed (rc {last['rc']})",
                    "steps_requested": TRAIN_STEPS[mode], "strategy": "mirrored",
                    "end_step": int(trained.group(1)) if trained else None,
                    "wall_s": last["wall_s"] if len(steps) == 3 else None,
                    "prepare_wall_s": round(sum(step["wall_s"] for step in steps[:2]), 1),
                    "output_tail": last["output_tail"][-8:],
                }
            if "gpu-tests" in selected:
                junit = work / "junit.xml"
                run = _run(tests_plan(junit), remaining("gpu-tests"))
                counts = _junit_counts(junit)
                status = {0: "passed", 5: "no GPU-marked tests", 124: "stopped: out of time"}.get(
                    run["rc"], f"failed (rc {run['rc']})")
                if run["rc"] == 0 and counts.get("skipped") == counts.get("tests"):
                    status = "all skipped (no GPU)"
                report["gpu_tests"] = {"status": status, "counts": counts, "wall_s": run["wall_s"],
                                       "output_tail": run["output_tail"][-8:]}
    report["targets"] = _targets(report["bench"], args.smoke)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    bench_ok = all("result" in entry for entry in report["bench"]) or args.dry_run
    report["ok"] = (bench_ok and report["train"]["status"] in ("ok", "not selected", "planned")
                    and report["gpu_tests"]["status"] in ("passed", "all skipped (no GPU)", "no GPU-marked tests",
                                                      "not selected", "planned"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(_summary(report))
    print(f"Wrote {out}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
