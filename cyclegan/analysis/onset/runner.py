"""`reproduce`: train every arm and seed of a plan as ordinary run folders, score each checkpoint
on held-out images, and write the report; running it again resumes where it stopped.

The study folder holds:
  plan.json            the plan as resolved (a rerun with another plan is refused)
  data/                the phantoms: train-HxW/ (trained on) and heldout-HxW/ (scored, never trained on)
  runs/ARM-seedS/      ordinary run folders (config.json, checkpoints/, tensorboard/)
  logs/ARM-seedS.log   each training's output
  scores/ARM-seedS.csv the scores of every evaluated checkpoint, kept across reruns
  status.json          runs that stopped with an error, and why
  report.md, results.csv, onset.json, calibration.csv, figures/   (report.py)

Trainings run as `python -m cyclegan train` processes, `parallel` at a time, each given an equal
share of the cores (CYCLEGAN_CPU_THREADS).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from cyclegan.config import ExperimentConfig, load_config
from cyclegan.data.dataset import PreparedDataset, is_prepared
from cyclegan.data.pipeline import split_images
from cyclegan.domains import DOMAINS, INPUT_DOMAIN
from cyclegan.errors import ConfigError, DatasetError
from cyclegan.runs.rundir import RunDir
from cyclegan.runs.translate import Translator
from cyclegan.runtime import threads
from cyclegan.train.training import run_length

from .plan import ROOT, Arm, Plan, select
from .scores import image_scores, summary

EXIT_NON_FINITE = 3  # cli.py: a loss became NaN or Inf; rerunning would repeat it
POLL_SECONDS = 1.0


@dataclass
class StudyRun:
    """One arm trained with one seed."""

    arm: Arm
    seed: int
    name: str
    path: Path
    config: ExperimentConfig
    overrides: list[str]
    data: Path
    end_step: int = 0

    @property
    def size(self) -> tuple[int, int]:
        return self.config.data.height, self.config.data.width


class Study:
    """A plan's runs in a study folder. `data_dirs`: prepared datasets to train on instead of the
    phantom, one per image size the arms train at (their eval splits are scored). `arms`, `seeds`:
    train and report only these (default: all); the folder records the whole plan, so that later
    calls can choose other arms and seeds of it."""

    def __init__(self, plan: Plan, out_dir, data_dirs=(), arms=(), seeds=()):
        self.whole_plan = plan
        self.plan = select(plan, arms, seeds)
        self.out = Path(out_dir)
        self.given_data = _by_size(data_dirs)
        self.runs = []
        for arm in self.plan.arms:
            for seed in self.plan.seeds:
                overrides = plan.overrides(arm, seed)
                config = load_config(ROOT / arm.config, overrides)
                name = plan.run_name(arm, seed)
                self.runs.append(StudyRun(arm, seed, name, self.out / "runs" / name, config, overrides,
                                          self.train_data((config.data.height, config.data.width))))

    # folders

    def train_data(self, size) -> Path:
        if self.given_data:
            if size not in self.given_data:
                raise DatasetError(f"no --data prepared at {size[0]}x{size[1]}, where an arm of {self.plan.name} "
                                   f"trains (given: {', '.join(f'{h}x{w}' for h, w in self.given_data)})")
            return self.given_data[size]
        return self.out / "data" / f"train-{size[0]}x{size[1]}"

    def heldout_data(self, size) -> Path:
        return self.train_data(size) if self.given_data else self.out / "data" / f"heldout-{size[0]}x{size[1]}"

    def scores_path(self, run: StudyRun) -> Path:
        return self.out / "scores" / f"{run.name}.csv"

    def log_path(self, run: StudyRun) -> Path:
        return self.out / "logs" / f"{run.name}.log"

    # setting up

    def start(self) -> None:
        """Record the plan (refusing another plan's folder) and make the data the runs need."""
        self.out.mkdir(parents=True, exist_ok=True)
        recorded = self.out / "plan.json"
        resolved = json.loads(json.dumps(self.whole_plan.to_dict()))
        if recorded.is_file():
            previous = json.loads(recorded.read_text())
            if previous != resolved:
                changed = sorted(key for key in set(previous) | set(resolved) if previous.get(key) != resolved.get(key))
                raise ConfigError(f"{self.out} holds a study of another plan ({', '.join(changed)} differ); "
                                  "rerun it with the same plan, or choose a new --out")
        else:
            recorded.write_text(json.dumps(resolved, indent=2) + "\n")
        for size in sorted({run.size for run in self.runs}):
            self._make_data(size)
        for run in self.runs:
            dataset = PreparedDataset.open(run.data)
            dataset.check_size(run.size, f"the arm {run.arm.name} trains at {run.size[0]}x{run.size[1]}")
            run.end_step = run_length(run.config, dataset, 1).end_step

    def _make_data(self, size) -> None:
        if self.given_data:
            return
        from cyclegan.data.phantom import write_phantom
        from cyclegan.data.prepare import prepare_dataset
        from cyclegan.data.recipes import resolve

        data = self.plan.data
        height, width = (int(side) for side in data.phantom_size.lower().split("x"))
        for purpose, count, seed in (("train", data.phantom_count, data.seed),
                                     ("heldout", self.plan.evaluation.images + 2, data.heldout_seed)):
            prepared = self.out / "data" / f"{purpose}-{size[0]}x{size[1]}"
            if is_prepared(prepared):
                continue
            raw = self.out / "data" / f"phantom-{purpose}"
            if not all((raw / domain).is_dir() for domain in DOMAINS):
                print(f"Making the {purpose} phantom: {count} images per domain, seed {seed} ({raw})")
                write_phantom(raw, count, seed, height=height, width=width, overwrite=raw.exists())
            prepare_dataset([f"folder:{raw}"], resolve(size=size), prepared, progress=False,
                            overwrite=prepared.exists())

    def heldout_images(self, size) -> dict[str, np.ndarray]:
        """{domain: (N, H, W, C)} the scored images: the held-out phantom's (both its splits), or the
        eval split of the dataset given with --data; the first `evaluation.images` by source path."""
        dataset = PreparedDataset.open(self.heldout_data(size))
        count = self.plan.evaluation.images
        images = {}
        for domain in DOMAINS:
            splits = ("eval",) if self.given_data else ("eval", "train")
            stack = np.concatenate([split_images(dataset, split, domain, False)[1] for split in splits])[:count]
            if len(stack) == 0:
                raise DatasetError(f"{dataset.path} has no eval images of the {domain} domain to score")
            images[domain] = stack
        return images

    # training

    def current_step(self, run: StudyRun) -> int:
        return max(RunDir(run.path).checkpoints.kept(), default=0) if run.path.exists() else 0

    def status(self) -> dict:
        path = self.out / "status.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def _record(self, run: StudyRun, failure: dict | None) -> None:
        status = self.status()
        status.pop(run.name, None)
        if failure:
            status[run.name] = failure
        (self.out / "status.json").write_text(json.dumps(status, indent=2) + "\n")

    def pending(self) -> list[StudyRun]:
        """Runs still to train: not at their end step, and not stopped by a NaN/Inf loss."""
        diverged = {name for name, entry in self.status().items() if entry.get("exit") == EXIT_NON_FINITE}
        return [run for run in self.runs if run.name not in diverged and self.current_step(run) < run.end_step]

    def _launch(self, run: StudyRun, cpu_threads: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "cyclegan", "train", "--config", str(ROOT / run.arm.config),
                   "--data", str(run.data), "--run-dir", str(run.path), "--no-progress"]
        for override in run.overrides:
            command += ["--set", override]
        self.log_path(run).parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path(run).open("a")
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        env = {threads.ENVIRONMENT_VARIABLE: cpu_threads, **os.environ}  # a setting of the user's stays
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)

    def train(self, parallel: int, progress: bool = True) -> None:
        """Train every pending run, `parallel` at a time, scoring each as it finishes."""
        queue = self.pending()
        total = sum(run.end_step for run in self.runs)
        done = {run.name: self.current_step(run) for run in self.runs}
        bar = tqdm(total=total, initial=sum(done.values()), unit="step", disable=not progress, smoothing=0.05,
                   mininterval=5, desc=f"{self.plan.name}: {len(self.runs)} runs")
        share = threads.layout(max(1, threads.cpu_cores() // parallel), gpu_visible=False, setting=None)
        cpu_threads = ",".join(map(str, share))  # each training's share of the cores
        running: dict[str, tuple[StudyRun, subprocess.Popen]] = {}
        signal.signal(signal.SIGTERM, _exit_on_sigterm)

        def fill():
            while queue and len(running) < parallel:
                run = queue.pop(0)
                running[run.name] = (run, self._launch(run, cpu_threads))
            bar.set_postfix_str(", ".join(running), refresh=False)

        try:
            while queue or running:
                fill()
                time.sleep(POLL_SECONDS)
                finished = []
                for name, (run, process) in list(running.items()):
                    step = self.current_step(run)
                    bar.update(step - done[name])
                    done[name] = step
                    if process.poll() is not None:
                        del running[name]
                        finished.append((run, process.returncode, step))
                fill()  # the next trainings start before the finished ones are scored
                for run, code, step in finished:
                    failure = None if code == 0 else {"exit": code, "step": step, "log": str(self.log_path(run))}
                    self._record(run, failure)
                    if failure:
                        bar.write(f"{run.name} stopped at step {step} with exit code {code}; see {self.log_path(run)}")
                    self.score(run)
        except KeyboardInterrupt:
            bar.write("interrupted: run the same command again to resume every run where it stopped")
            raise
        finally:
            for _, process in running.values():
                process.send_signal(signal.SIGTERM)
            for _, process in running.values():
                process.wait()
            bar.close()

    # scoring

    def scores(self, run: StudyRun) -> list[dict]:
        path = self.scores_path(run)
        if not path.is_file():
            return []
        with path.open() as handle:
            return [{key: (int(value) if key == "step" else value if key == "direction" else float(value))
                     for key, value in row.items()} for row in csv.DictReader(handle)]

    def score(self, run: StudyRun) -> list[dict]:
        """Score every kept checkpoint of `run` not scored yet; returns all of its rows."""
        rows = self.scores(run)
        if not run.path.exists():
            return rows
        scored = {row["step"] for row in rows}
        steps = [step for step in sorted(RunDir(run.path).checkpoints.kept()) if step not in scored]
        if not steps:
            return rows
        heldout = self.heldout_images(run.size)
        inputs = {direction: heldout[domain] for direction, domain in INPUT_DOMAIN.items()}
        translate = Translator(RunDir(run.path))
        for step in steps:
            for direction, images in inputs.items():
                translated = translate(step, direction, images)
                rows.append({"step": step, "direction": direction, **summary(image_scores(translated, images))})
        rows.sort(key=lambda row: (row["step"], row["direction"]))
        path = self.scores_path(run)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".partial")
        with staging.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        staging.replace(path)
        return rows

    def baselines(self) -> dict[tuple[int, int], dict[str, dict[str, float]]]:
        """{size: {direction: summary of the real input images' scores}}: the real images' band."""
        bands = {}
        for size in sorted({run.size for run in self.runs}):
            images = self.heldout_images(size)
            bands[size] = {direction: summary(image_scores(images[domain], images[domain]))
                           for direction, domain in INPUT_DOMAIN.items()}
        return bands


def _exit_on_sigterm(signum, frame):
    """SIGTERM ends the study as Ctrl-C does: the trainings are stopped too, resumable."""
    raise KeyboardInterrupt


def _by_size(data_dirs) -> dict[tuple[int, int], Path]:
    """{(height, width): folder} of prepared datasets; ValueError for two of one size."""
    by_size = {}
    for folder in map(Path, data_dirs):
        if not is_prepared(folder):
            raise FileNotFoundError(f"{folder} is not a prepared dataset (no manifest.json)")
        size = PreparedDataset.open(folder).size
        if size in by_size:
            raise ValueError(f"--data {by_size[size]} and {folder} are both prepared at {size[0]}x{size[1]}; "
                             "give one dataset per size")
        by_size[size] = folder
    return by_size


def default_parallel() -> int:
    """Trainings at once: on a CPU one per core, each with one thread (the most steps per hour of
    the layouts measured, docs/reproduction.md); with a GPU one, which has the GPU to itself."""
    return 1 if tf.config.list_physical_devices("GPU") else threads.cpu_cores()
