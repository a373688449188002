"""Training a CycleGAN from a config and a prepared dataset into a run directory.

A run directory holds `config.json` (the fully resolved config), `checkpoints/` (numbered by
step) and `tensorboard/`. Calling `train` again on the same directory resumes from its latest
checkpoint: same step, learning rate, pools and data order.

Under a multi-worker strategy every worker runs `train` with the same arguments; only the chief
writes the run directory (see distribution.py), and every worker resumes from the checkpoints in
its `run_dir`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from cyclegan import callbacks as cb
from cyclegan.config import ConfigError, ExperimentConfig, config_to_dict
from cyclegan.data import pipeline
from cyclegan.distribution import check_same_step, is_chief, output_dir, select_strategy
from cyclegan.eventfiles import run_events_dir, tensorboard_command, truncate_events
from cyclegan.model import CycleGAN
from cyclegan.runs import write_run_info

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


def write_run_config(config: ExperimentConfig, run_dir: Path) -> None:
    """Write config.json (whole or not at all), after checking that a resumed run keeps its config."""
    check_run_config(config, run_dir)
    staging = run_dir / "config.json.partial"
    staging.write_text(json.dumps(config_to_dict(config), indent=2, allow_nan=False) + "\n")
    staging.replace(run_dir / "config.json")


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


def train(config: ExperimentConfig, data_dir: str | Path, run_dir: str | Path,
          progress: bool = True) -> TrainResult:
    """Train (or resume) until `train.max_steps` or the end of the schedule."""
    strategy = select_strategy(config.train.strategy)
    data_dir, run_dir = Path(data_dir), Path(run_dir)
    manifest = pipeline.read_manifest(data_dir)
    chief = is_chief(strategy)
    if chief:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_run_config(config, run_dir)
        write_run_info(run_dir, data_dir)
    else:
        check_run_config(config, run_dir)
    _seed_everything(config)
    with output_dir(strategy, run_dir) as out_dir:
        return _train(config, strategy, data_dir, run_dir, out_dir, manifest, progress and chief)


def _train(config: ExperimentConfig, strategy: tf.distribute.Strategy, data_dir: Path, run_dir: Path,
           out_dir: Path, manifest: dict, progress: bool) -> TrainResult:
    """The training loop of `train`: restores from run_dir/checkpoints, writes to out_dir."""
    global_batch = config.train.batch_size * strategy.num_replicas_in_sync
    batches_per_step = config.train.batches_per_step
    steps_per_epoch = pipeline.epoch_steps(manifest, global_batch, batches_per_step, config.data.pairing)
    steps_per_unit = steps_per_epoch if config.train.schedule_unit == "epochs" else 1
    total_steps = config.train.duration * steps_per_unit
    end_step = min(total_steps, config.train.max_steps) if config.train.max_steps else total_steps

    with strategy.scope():
        model = CycleGAN(config, steps_per_unit)
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
    dataset = pipeline.train_dataset(data_dir, global_batch, config.data.include_masks, config.seed,
                                     start_step=start_step, batches_per_step=batches_per_step,
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
    model.fit(dataset, epochs=1, steps_per_epoch=end_step - start_step, callbacks=callbacks, verbose=0,
              shuffle=False)
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
