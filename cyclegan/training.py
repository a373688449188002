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
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from cyclegan import callbacks as cb
from cyclegan.config import ExperimentConfig
from cyclegan.data import pipeline
from cyclegan.data.dataset import PreparedDataset
from cyclegan.distribution import check_same_step, is_chief, output_dir, select_strategy
from cyclegan.errors import DatasetError
from cyclegan.eventfiles import run_events_dir, tensorboard_command, truncate_events
from cyclegan.model import CycleGAN
from cyclegan.rundir import CONFIG_NAME, RunDir, checkpoint_step


@dataclass
class TrainResult:
    run_dir: Path
    start_step: int
    end_step: int
    checkpoint: str | None


@dataclass
class Schedule:
    global_batch: int  # image pairs per batch over all replicas
    steps_per_unit: int  # steps per epoch, or 1 when the schedule counts steps
    end_step: int  # where this call stops


def plan_schedule(config: ExperimentConfig, dataset: PreparedDataset, replicas: int) -> Schedule:
    """The run's batch and length on this dataset; ValueError when the dataset cannot fill a step."""
    global_batch = config.train.batch_size * replicas
    steps_per_epoch = dataset.epoch_steps(global_batch, config.train.batches_per_step, config.data.pairing)
    steps_per_unit = steps_per_epoch if config.train.schedule_unit == "epochs" else 1
    total_steps = config.train.duration * steps_per_unit
    end_step = min(total_steps, config.train.max_steps) if config.train.max_steps else total_steps
    return Schedule(global_batch, steps_per_unit, end_step)


def open_dataset(config: ExperimentConfig, data_dir) -> PreparedDataset:
    """The prepared dataset at `data_dir`, its every shard read and its image size the config's;
    DatasetError, ConfigError or FileNotFoundError otherwise."""
    dataset = PreparedDataset.open(data_dir)
    pipeline.check_shards(dataset)
    height, width = dataset.size
    dataset.check_size((config.data.height, config.data.width),
                       f"pass --set data.height={height} --set data.width={width}, or prepare the data at "
                       f"{config.data.height}x{config.data.width}")
    return dataset


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
    schedule = plan_schedule(config, dataset, strategy.num_replicas_in_sync)
    run = RunDir(run_dir)
    chief = is_chief(strategy)
    with run.lock() if chief else contextlib.nullcontext():
        run.check_config(config)
        run_info = run.next_run_info(dataset, allow_other_data)
        if chief:
            run.start(config, run_info)
        _seed_everything(config)
        with output_dir(strategy, run.path) as out_dir:
            return _train(config, strategy, dataset, run, RunDir(out_dir), schedule, progress and chief)


def _train(config: ExperimentConfig, strategy: tf.distribute.Strategy, dataset: PreparedDataset, run: RunDir,
           out: RunDir, schedule: Schedule, progress: bool) -> TrainResult:
    """The training loop of `train`: restores from `run`'s checkpoints, writes to `out` (the run
    directory itself, or a worker's own; see distribution.py)."""
    end_step = schedule.end_step
    with strategy.scope():
        model = CycleGAN(config, schedule.steps_per_unit)
    manager = out.checkpoint_manager(model.checkpoint(), config.train.max_checkpoints)
    latest = run.latest_checkpoint()
    if latest:
        model.checkpoint().restore(latest).assert_existing_objects_matched()
    start_step = int(model.step.numpy())
    check_same_step(strategy, start_step)
    if start_step >= end_step:
        print(f"{run.path} is already at step {start_step} (end step {end_step}); nothing to do")
        return TrainResult(run.path, start_step, end_step, latest)
    with strategy.scope():
        model.compile(jit_compile=config.train.jit_compile,
                      steps_per_execution=steps_per_execution(config.train.steps_per_execution, start_step, end_step))

    truncate_events(out.tensorboard_dir, start_step)
    writer = tf.summary.create_file_writer(str(run_events_dir(out.tensorboard_dir, config.name)))
    batches = pipeline.train_dataset(dataset, schedule.global_batch, config.data.include_masks, config.seed,
                                     start_step=start_step, batches_per_step=config.train.batches_per_step,
                                     pairing=config.data.pairing)
    eval_healthy, eval_cancer = pipeline.eval_images(dataset, config.data.eval_images, config.data.include_masks)
    train_cfg = config.train
    callbacks = [
        cb.NonFiniteLossGuard(start_step),
        cb.ScalarLogger(writer, train_cfg.log_every, start_step),
        cb.ImagePanels(writer, eval_healthy, eval_cancer, train_cfg.image_every, start_step),
        cb.StepCheckpoint(manager, train_cfg.checkpoint_due, start_step),
    ]
    if progress:
        callbacks.append(cb.ProgressBar(start_step, end_step))
    try:
        model.fit(shard_by_batch(batches), epochs=1, steps_per_epoch=end_step - start_step, callbacks=callbacks,
                  verbose=0, shuffle=False)
    except (tf.errors.DataLossError, tf.errors.NotFoundError):
        _raise_for_unreadable_shard(dataset, manager.latest_checkpoint)
        raise
    if manager.latest_checkpoint is None or checkpoint_step(manager.latest_checkpoint) != end_step:
        cb.save_checkpoint(manager, model, end_step)
    writer.close()
    if out.path != run.path:
        return TrainResult(run.path, start_step, end_step, None)
    print(f"Trained to step {end_step}. Run directory: {run.path}\n"
          f"  checkpoints: {run.checkpoints_dir} (latest {manager.latest_checkpoint})\n"
          f"  config:      {run.path / CONFIG_NAME}\n"
          f"  TensorBoard: {tensorboard_command(run.tensorboard_dir)}")
    return TrainResult(run.path, start_step, end_step, manager.latest_checkpoint)


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
