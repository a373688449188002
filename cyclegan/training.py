"""Training a CycleGAN from a config and a prepared dataset into a run directory.

A run directory holds `config.json` (the fully resolved config), `run.json` (the dataset and its
fingerprint, see runs.py), `checkpoints/` (numbered by step), `tensorboard/` and `train.lock`
(runlock.py). Calling `train` again on the same directory resumes from its latest checkpoint:
same step, learning rate, pools and data order.

Under a multi-worker strategy every worker runs `train` with the same arguments; only the chief
holds the lock and writes the run directory (see distribution.py), and every worker resumes from
the checkpoints in its `run_dir`.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from cyclegan import callbacks as cb
from cyclegan.config import ConfigError, ExperimentConfig, config_to_dict
from cyclegan.data import pipeline
from cyclegan.distribution import check_same_step, is_chief, output_dir, select_strategy
from cyclegan.errors import DatasetError
from cyclegan.eventfiles import run_events_dir, tensorboard_command, truncate_events
from cyclegan.model import CycleGAN
from cyclegan.runlock import remove_debris, run_lock
from cyclegan.runs import RUN_INFO, checkpoint_steps, dataset_fingerprint, next_run_info, read_run_info, write_json

# Fields that may change when a run is resumed: how far to train and on what hardware.
RESUMABLE_CHANGES = {("train", "max_steps"), ("train", "strategy"), ("train", "jit_compile")}


@dataclass
class TrainResult:
    run_dir: Path
    start_step: int
    end_step: int
    checkpoint: str | None


def _differences(saved: dict, resolved: dict) -> list[str]:
    changed = []
    for section, values in resolved.items():
        if not isinstance(values, dict):
            if saved.get(section) != values:
                changed.append(section)
            continue
        for key, value in values.items():
            if (section, key) not in RESUMABLE_CHANGES and saved.get(section, {}).get(key) != value:
                changed.append(f"{section}.{key}")
    return changed


def check_run_config(config: ExperimentConfig, run_dir: Path) -> None:
    """Raise ConfigError if run_dir/config.json exists and differs from `config` in a field a
    resumed run must keep."""
    path = run_dir / "config.json"
    if path.exists():
        changed = _differences(json.loads(path.read_text()), config_to_dict(config))
        if changed:
            raise ConfigError(
                f"{run_dir} was started with a different config ({', '.join(changed)} differ); "
                "resume it with the same settings or choose a new --run-dir")


def check_config_fits_data(config: ExperimentConfig, manifest: dict, data_dir: Path) -> None:
    """ConfigError unless the config's image size is the one the dataset was prepared at."""
    height, width = manifest["size"]
    if (config.data.height, config.data.width) != (height, width):
        raise ConfigError(
            f"the config trains on {config.data.height}x{config.data.width} images, but {data_dir} was prepared "
            f"at {height}x{width}; pass --set data.height={height} --set data.width={width}, or prepare the "
            f"data at {config.data.height}x{config.data.width}")


@dataclass
class Schedule:
    global_batch: int  # image pairs per batch over all replicas
    steps_per_unit: int  # steps per epoch, or 1 when the schedule counts steps
    end_step: int  # where this call stops


def plan_schedule(config: ExperimentConfig, manifest: dict, replicas: int) -> Schedule:
    """The run's batch and length on this dataset; ValueError when the dataset cannot fill a step."""
    global_batch = config.train.batch_size * replicas
    steps_per_epoch = pipeline.epoch_steps(manifest, global_batch, config.train.batches_per_step,
                                           config.data.pairing)
    steps_per_unit = steps_per_epoch if config.train.schedule_unit == "epochs" else 1
    total_steps = config.train.duration * steps_per_unit
    end_step = min(total_steps, config.train.max_steps) if config.train.max_steps else total_steps
    return Schedule(global_batch, steps_per_unit, end_step)


def check_run(config: ExperimentConfig, run_dir: Path, data_dir: Path, allow_other_data: bool) -> dict:
    """run.json for this start; ConfigError or ValueError when run_dir was started with another
    config, or on another dataset and not `allow_other_data`."""
    check_run_config(config, run_dir)
    from_step = max(checkpoint_steps(run_dir), default=0)
    return next_run_info(read_run_info(run_dir), data_dir, dataset_fingerprint(data_dir), from_step,
                         allow_other_data)


def write_run_dir(config: ExperimentConfig, run_dir: Path, run_info: dict) -> None:
    """Clear a killed trainer's debris, then write config.json and run.json (the caller holds the lock)."""
    removed = remove_debris(run_dir, list(checkpoint_steps(run_dir).values()))
    if removed:
        print(f"Removed {len(removed)} file(s) that an interrupted run left half-written in {run_dir}")
    write_json(run_dir / "config.json", config_to_dict(config))
    write_json(run_dir / RUN_INFO, run_info)


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
    data_dir, run_dir = Path(data_dir), Path(run_dir)
    manifest = pipeline.read_manifest(data_dir)
    pipeline.check_shards(data_dir, manifest)
    check_config_fits_data(config, manifest, data_dir)
    schedule = plan_schedule(config, manifest, strategy.num_replicas_in_sync)
    chief = is_chief(strategy)
    with run_lock(run_dir) if chief else contextlib.nullcontext():
        run_info = check_run(config, run_dir, data_dir, allow_other_data)
        if chief:
            write_run_dir(config, run_dir, run_info)
        _seed_everything(config)
        with output_dir(strategy, run_dir) as out_dir:
            return _train(config, strategy, data_dir, run_dir, out_dir, manifest, schedule, progress and chief)


def _train(config: ExperimentConfig, strategy: tf.distribute.Strategy, data_dir: Path, run_dir: Path,
           out_dir: Path, manifest: dict, schedule: Schedule, progress: bool) -> TrainResult:
    """The training loop of `train`: restores from run_dir/checkpoints, writes to out_dir."""
    end_step = schedule.end_step
    with strategy.scope():
        model = CycleGAN(config, schedule.steps_per_unit)
        model.compile(jit_compile=config.train.jit_compile)
    manager = tf.train.CheckpointManager(
        model.checkpoint(), str(out_dir / "checkpoints"), checkpoint_name="ckpt",
        max_to_keep=config.train.max_checkpoints or None)
    latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    if latest:
        model.checkpoint().restore(latest).assert_existing_objects_matched()
    start_step = int(model.step.numpy())
    check_same_step(strategy, start_step)
    if start_step >= end_step:
        print(f"{run_dir} is already at step {start_step} (end step {end_step}); nothing to do")
        return TrainResult(run_dir, start_step, end_step, latest)

    tensorboard_dir = out_dir / "tensorboard"
    truncate_events(tensorboard_dir, start_step)
    writer = tf.summary.create_file_writer(str(run_events_dir(tensorboard_dir, config.name)))
    dataset = pipeline.train_dataset(data_dir, schedule.global_batch, config.data.include_masks, config.seed,
                                     start_step=start_step, batches_per_step=config.train.batches_per_step,
                                     pairing=config.data.pairing)
    dataset = shard_by_batch(dataset)
    eval_healthy, eval_cancer = pipeline.eval_images(data_dir, config.data.eval_images,
                                                     config.data.include_masks)
    train_cfg = config.train
    callbacks = [
        cb.NonFiniteLossGuard(start_step),
        cb.ScalarLogger(writer, train_cfg.log_every, start_step),
        cb.ImagePanels(writer, eval_healthy, eval_cancer, train_cfg.image_every, start_step),
        cb.StepCheckpoint(manager, train_cfg.checkpoint_every, start_step),
    ]
    if progress:
        callbacks.append(cb.ProgressBar(start_step, end_step))
    try:
        model.fit(dataset, epochs=1, steps_per_epoch=end_step - start_step, callbacks=callbacks, verbose=0,
                  shuffle=False)
    except (tf.errors.DataLossError, tf.errors.NotFoundError):
        _raise_for_unreadable_shard(data_dir, manifest, manager.latest_checkpoint)
        raise
    if manager.latest_checkpoint is None or not manager.latest_checkpoint.endswith(f"-{end_step}"):
        cb.save_checkpoint(manager, model, end_step)
    writer.close()
    if out_dir != run_dir:
        return TrainResult(run_dir, start_step, end_step, None)
    print(f"Trained to step {end_step}. Run directory: {run_dir}\n"
          f"  checkpoints: {run_dir / 'checkpoints'} (latest {manager.latest_checkpoint})\n"
          f"  config:      {run_dir / 'config.json'}\n"
          f"  TensorBoard: {tensorboard_command(tensorboard_dir)}")
    return TrainResult(run_dir, start_step, end_step, manager.latest_checkpoint)


def _raise_for_unreadable_shard(data_dir: Path, manifest: dict, latest_checkpoint: str | None) -> None:
    """After a read error in training: DatasetError naming the shard at fault, if one is, and the
    checkpoint the run keeps to resume from."""
    try:
        pipeline.check_shards(data_dir, manifest)
    except DatasetError as err:
        kept = Path(latest_checkpoint).name if latest_checkpoint else "no checkpoint yet"
        raise DatasetError(f"training stopped: {err}; the run keeps {kept} to resume from") from err
