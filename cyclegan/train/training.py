"""Training a CycleGAN from a config and a prepared dataset into a run directory.

What a run directory holds is in rundir.py. Calling `train` again on the same directory resumes
from its latest checkpoint: same step, learning rate, pools and data order.

Under a multi-worker strategy every worker runs `train` with the same arguments; only the chief
holds the lock and writes the run directory (see distribution.py), and every worker resumes from
the checkpoints in its `run_dir`.
"""

from __future__ import annotations

import contextlib
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from cyclegan.config import ExperimentConfig
from cyclegan.data import pipeline
from cyclegan.data.dataset import PreparedDataset
from cyclegan.domains import DOMAINS
from cyclegan.errors import ConfigError, DatasetError
from cyclegan.gan.model import CycleGAN
from cyclegan.gan.update_orders import update_order
from cyclegan.runs.checkpoints import checkpoint_step
from cyclegan.runs.rundir import CONFIG_NAME, RunDir
from cyclegan.tensorboard.eventfiles import run_events_dir, tensorboard_command, truncate_events
from cyclegan.train import callbacks as cb
from cyclegan.train.distribution import check_same_step, is_chief, output_dir, select_strategy


@dataclass
class TrainResult:
    run_dir: Path
    start_step: int
    end_step: int
    checkpoint: str | None


@dataclass
class RunLength:
    global_batch: int  # image pairs per batch over all replicas
    steps_per_unit: int  # steps per epoch, or 1 when the schedule counts steps
    end_step: int  # where this call stops
    schedule_steps: int  # where the learning-rate schedule ends: train.duration, in steps

    def describe(self) -> str:
        """Where training stops and why, e.g. "step 4 (train.max_steps; the schedule runs to 2,000)"."""
        if self.end_step == self.schedule_steps:
            return f"step {self.end_step:,} (the whole schedule: train.max_steps is 0)"
        return f"step {self.end_step:,} (train.max_steps; the schedule runs to {self.schedule_steps:,})"


def run_length(config: ExperimentConfig, dataset: PreparedDataset, replicas: int) -> RunLength:
    """The run's batch and length on this dataset; ValueError when the dataset cannot fill a step."""
    global_batch = config.train.batch_size * replicas
    steps_per_epoch = dataset.epoch_steps(global_batch, update_order(config.train).batches_per_step,
                                          config.data.pairing)
    steps_per_unit = steps_per_epoch if config.train.schedule_unit == "epochs" else 1
    total_steps = config.train.duration * steps_per_unit
    end_step = min(total_steps, config.train.max_steps) if config.train.max_steps else total_steps
    return RunLength(global_batch, steps_per_unit, end_step, total_steps)


def open_dataset(config: ExperimentConfig, data_dir) -> PreparedDataset:
    """The prepared dataset at `data_dir`, its every shard read and its image size the config's;
    DatasetError, ConfigError or FileNotFoundError otherwise (`check_eval_split` before any shard is read)."""
    dataset = PreparedDataset.open(data_dir)
    check_eval_split(config, dataset)
    pipeline.check_shards(dataset)
    height, width = dataset.size
    dataset.check_size((config.data.height, config.data.width),
                       f"pass --set data.height={height} --set data.width={width}, or prepare the data at "
                       f"{config.data.height}x{config.data.width}")
    return dataset


def check_eval_split(config: ExperimentConfig, dataset: PreparedDataset) -> None:
    """ConfigError when the image panels are on (data.eval_images > 0) and a domain's eval split is
    empty although the dataset was prepared with one (eval_fraction > 0): the panels would silently
    show that domain's training images. A dataset prepared without a held-out split (eval_fraction
    0, as the exp1 recipes do) is trained on, the panels showing training images, with a warning."""
    if not config.data.eval_images:
        return
    empty = [domain for domain in DOMAINS if dataset.counts["eval"][domain] == 0]
    if not empty:
        return
    fraction = dataset.manifest.get("eval_fraction")
    if fraction == 0:
        print(f"warning: {dataset.path} has no eval split (prepared with --eval-fraction 0): the image panels "
              f"show the first {config.data.eval_images} training images of each domain", file=sys.stderr)
        return
    names = " and ".join(empty)
    training = ", ".join(f"{domain} {dataset.counts['train'][domain]}" for domain in empty)
    raise ConfigError(
        f"the eval split of {names} in {dataset.path} is empty (prepared with --eval-fraction {fraction}; "
        f"training records: {training}), but the image panels (data.eval_images={config.data.eval_images}) show "
        f"eval images: prepare it again with a larger --eval-fraction or more {names} images, or pass "
        "--set data.eval_images=0 to train without image panels")


def _seed_everything(config: ExperimentConfig) -> None:
    keras.utils.set_random_seed(config.seed)
    if config.train.deterministic:
        tf.config.experimental.enable_op_determinism()


def shard_by_batch(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """`dataset` with data sharding for a multi-worker strategy: every worker runs the whole
    pipeline and keeps its replicas' share of each global batch, so the workers together see
    exactly the batches one process would (and resume at the same place)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def train(config: ExperimentConfig, data_dir: str | Path, run_dir: str | Path, progress: bool = True,
          allow_other_data: bool = False) -> TrainResult:
    """Train (or resume) until `train.max_steps` or the end of the schedule.

    Before anything is written, checks the dataset (manifest and every shard), the config against
    it, and a resumed run's config and dataset (`allow_other_data` lets the dataset change; run.json
    records it). The chief holds the run folder's lock (runlock.py) throughout.
    """
    strategy = select_strategy(config.train.strategy)
    dataset = open_dataset(config, data_dir)
    length = run_length(config, dataset, strategy.num_replicas_in_sync)
    run = RunDir(run_dir)
    chief = is_chief(strategy)
    with run.lock() if chief else contextlib.nullcontext():
        run.check_config(config)
        run_info = run.next_run_info(dataset, allow_other_data)
        if chief:
            run.start(config, run_info)
        _seed_everything(config)
        with output_dir(strategy, run.path) as out_dir:
            return _train(config, strategy, dataset, run, RunDir(out_dir), length, progress and chief)


def _train(config: ExperimentConfig, strategy: tf.distribute.Strategy, dataset: PreparedDataset, run: RunDir,
           output: RunDir, length: RunLength, progress: bool) -> TrainResult:
    """The training loop of `train`: restores from `run`'s checkpoints, writes to `output` (the run
    directory itself, or a worker's own; see distribution.py)."""
    end_step = length.end_step
    with strategy.scope():
        model = CycleGAN(config, length.steps_per_unit)
    checkpoints = output.checkpoints.writer(model.state(), config.train.max_checkpoints)
    latest = run.checkpoints.latest()
    if latest:
        run.checkpoints.restore(model.state(), latest)
    start_step = int(model.step.numpy())
    check_same_step(strategy, start_step)
    if start_step >= end_step:
        print(f"{run.path} is already at step {start_step} (end step {end_step}); nothing to do")
        return TrainResult(run.path, start_step, end_step, latest)
    if output.path == run.path:
        print(f"Training {run.path} from step {start_step:,} to {length.describe()}")
    with strategy.scope():
        model.compile(jit_compile=config.train.jit_compile,
                      steps_per_execution=steps_per_execution(config.train.steps_per_execution, start_step, end_step))

    truncate_events(output.tensorboard_dir, start_step)
    writer = tf.summary.create_file_writer(str(run_events_dir(output.tensorboard_dir, config.name)))
    batches = pipeline.train_dataset(dataset, length.global_batch, config.data.include_masks, config.seed,
                                     start_step=start_step, pairing=config.data.pairing,
                                     batches_per_step=update_order(config.train).batches_per_step)
    train_cfg = config.train
    callbacks = [
        cb.NonFiniteLossGuard(start_step),
        cb.ScalarLogger(writer, train_cfg.log_every, start_step),
        cb.StepCheckpoint(checkpoints, train_cfg.checkpoint_due, start_step),
    ]
    if config.data.eval_images:  # 0 turns the image panels off
        eval_healthy, eval_cancer = pipeline.eval_images(dataset, config.data.eval_images, config.data.include_masks)
        callbacks.insert(2, cb.ImagePanels(writer, eval_healthy, eval_cancer, train_cfg.image_every, start_step))
    if progress:
        callbacks.append(cb.ProgressBar(start_step, end_step))
    try:
        model.fit(shard_by_batch(batches), epochs=1, steps_per_epoch=end_step - start_step, callbacks=callbacks,
                  verbose=0, shuffle=False)
    except (tf.errors.DataLossError, tf.errors.NotFoundError):
        _raise_for_unreadable_shard(dataset, checkpoints.latest)
        raise
    if checkpoints.latest is None or checkpoint_step(checkpoints.latest) != end_step:
        checkpoints.save(end_step)
    writer.close()
    if output.path != run.path:
        return TrainResult(run.path, start_step, end_step, None)
    print(f"Trained to step {end_step}. Run directory: {run.path}\n"
          f"  checkpoints: {run.checkpoints_dir} (latest {checkpoints.latest})\n"
          f"  config:      {run.path / CONFIG_NAME}\n"
          f"  TensorBoard: {tensorboard_command(run.tensorboard_dir)}")
    return TrainResult(run.path, start_step, end_step, checkpoints.latest)


def steps_per_execution(configured: int, start_step: int, end_step: int) -> int:
    """The largest divisor of `configured` that also divides `start_step` and `end_step`, so that
    every execution ends on a step the callbacks expect; says so when it is less than configured."""
    steps = math.gcd(configured, start_step, end_step)
    if steps != configured:
        print(f"train.steps_per_execution {configured} -> {steps} for this run, which goes from step "
              f"{start_step} to {end_step}")
    return steps


def _raise_for_unreadable_shard(dataset: PreparedDataset, latest_checkpoint: str | None) -> None:
    """After a read error in training: DatasetError naming the shard at fault, if one is, and the
    checkpoint the run keeps to resume from."""
    try:
        pipeline.check_shards(dataset)
    except DatasetError as err:
        kept = Path(latest_checkpoint).name if latest_checkpoint else "no checkpoint yet"
        raise DatasetError(f"training stopped: {err}; the run keeps {kept} to resume from") from err
