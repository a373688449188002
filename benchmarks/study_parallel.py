"""Steps per hour of the onset study's trainings, one at a time or side by side, on this machine.

`python -m benchmarks.study_parallel [--plan experiments/reproduce/small.json] [--arm exp1-tconv3]
[--steps 1200] [--rounds 2]` trains the plan's arm at the plan's scale as `reproduce` does
(`python -m cyclegan train` processes) in each layout below, alternating the layouts round by
round, and prints the total steady steps per second of each (timed between the checkpoints at
`--steps` / 4 and `--steps`, after the first trace):
  1 x default   one training, the project's default CPU threads (cyclegan/runtime/threads.py)
  P x 1 thread  P = cores trainings at once, one thread each (CYCLEGAN_CPU_THREADS=1,1)
  P x default   P trainings at once, each with the default threads (oversubscribed)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cyclegan.analysis.onset.plan import ROOT, load_plan
from cyclegan.analysis.onset.runner import Study
from cyclegan.runtime.machine import device_description
from cyclegan.runtime.threads import ENVIRONMENT_VARIABLE, cpu_cores


def checkpoint_times(run_dir: Path) -> dict[int, float]:
    """{step: the modification time of its checkpoint's index file}."""
    return {int(path.name.split("-")[1].split(".")[0]): path.stat().st_mtime
            for path in (run_dir / "checkpoints").glob("ckpt-*.index")}


def measure(study: Study, arm: str, steps: int, processes: int, threads: str | None, root: Path) -> float:
    """Total steady steps per second of `processes` trainings of `arm` started together."""
    run = next(run for run in study.runs if run.arm.name == arm)
    env = {**os.environ}
    if threads:
        env[ENVIRONMENT_VARIABLE] = threads
    started = []
    for index in range(processes):
        run_dir = root / f"{processes}-{threads}-{index}"
        command = [sys.executable, "-m", "cyclegan", "train", "--config", str(ROOT / run.arm.config), "--data",
                   str(run.data), "--run-dir", str(run_dir), "--no-progress"]
        for override in [*run.overrides, f"train.max_steps={steps}", f"train.checkpoint_every={steps // 4}",
                         "train.checkpoint_early_every=0", f"train.image_every={steps // 4}"]:
            command += ["--set", override]
        started.append((run_dir, subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL)))
    rate = 0.0
    for run_dir, process in started:
        if process.wait() != 0:
            raise RuntimeError(f"training in {run_dir} failed with exit code {process.returncode}")
        times = checkpoint_times(run_dir)
        rate += (steps - steps // 4) / (times[steps] - times[steps // 4])
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan", default="experiments/reproduce/small.json")
    parser.add_argument("--arm", help="the plan's arm to train (default: its first)")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    plan = load_plan(args.plan)
    arm = args.arm or plan.arms[0].name
    cores = cpu_cores()
    layouts = [("1 x default", 1, None), (f"{cores} x 1 thread", cores, "1,1"), (f"{cores} x default", cores, None)]
    print(f"{device_description()}; arm {arm} of {plan.name}, {args.steps} steps per training")
    with tempfile.TemporaryDirectory() as scratch:
        study = Study(plan, Path(scratch) / "study")
        study.start()
        for round_index in range(args.rounds):
            for name, processes, threads in layouts:
                rate = measure(study, arm, args.steps, processes, threads, Path(scratch) / f"round{round_index}")
                print(f"round {round_index + 1}: {name:>14}: {rate:6.1f} steps/s in all, {rate * 3600:,.0f} steps/hour",
                      flush=True)


if __name__ == "__main__":
    main()
