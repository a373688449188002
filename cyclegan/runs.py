"""Reading a run directory: its config, its kept checkpoints and the generators at any step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from cyclegan.config import ExperimentConfig, config_from_dict
from cyclegan.networks import ResnetGenerator, build_networks


INPUT_DOMAIN = {"h2c": "healthy", "c2h": "cancer"}  # the domain each generator translates from
REVERSE = {"h2c": "c2h", "c2h": "h2c"}  # the generator that translates back
RUN_INFO = "run.json"  # what a run was trained on: {"data": prepared dataset folder}


def write_run_info(run_dir, data_dir) -> None:
    (Path(run_dir) / RUN_INFO).write_text(json.dumps({"data": str(Path(data_dir).resolve())}, indent=2) + "\n")


def run_data_dir(run_dir) -> Path:
    """The prepared dataset a run was trained on."""
    path = Path(run_dir) / RUN_INFO
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} does not record its dataset ({RUN_INFO} missing); pass --data")
    return Path(json.loads(path.read_text())["data"])


def run_config(run_dir) -> ExperimentConfig:
    """The resolved config a run was trained with (its config.json)."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory: no config.json")
    return config_from_dict(json.loads(path.read_text()))


def checkpoint_steps(run_dir) -> dict[int, str]:
    """{step: checkpoint prefix} of every completely written checkpoint, oldest first."""
    state = tf.train.get_checkpoint_state(str(Path(run_dir) / "checkpoints"))
    if state is None:
        return {}
    return {int(prefix.rsplit("-", 1)[1]): prefix for prefix in state.all_model_checkpoint_paths}


def kept_checkpoints(run_dir) -> dict[int, str]:
    """`checkpoint_steps`, or FileNotFoundError when the run has none."""
    kept = checkpoint_steps(run_dir)
    if not kept:
        raise FileNotFoundError(f"{run_dir} has no checkpoints yet")
    return kept


def select_steps(run_dir, steps: list[int] | None) -> dict[int, str]:
    """The checkpoints for `steps` (None: the latest); an unknown step is an error listing the kept ones."""
    kept = kept_checkpoints(run_dir)
    if not steps:
        latest = max(kept)
        return {latest: kept[latest]}
    missing = [step for step in steps if step not in kept]
    if missing:
        raise ValueError(f"no checkpoint for step(s) {missing} in {run_dir}; kept steps: {sorted(kept)}")
    return {step: kept[step] for step in steps}


def load_generators(config: ExperimentConfig, prefix: str) -> dict[str, ResnetGenerator]:
    """{"h2c": g_h2c, "c2h": g_c2h} with the weights of checkpoint `prefix`."""
    g_h2c, g_c2h, _, _ = build_networks(config)
    status = tf.train.Checkpoint(g_h2c=g_h2c, g_c2h=g_c2h).restore(prefix)
    status.expect_partial().assert_existing_objects_matched()
    return {"h2c": g_h2c, "c2h": g_c2h}


def translate_batches(generator, images: np.ndarray, batch_size: int = 4) -> np.ndarray:
    """generator(images) in batches of `batch_size`: (N, H, W, C) float32 in, the same shape out."""
    call = tf.function(generator)
    return np.concatenate([call(tf.constant(images[start:start + batch_size])).numpy()
                           for start in range(0, len(images), batch_size)])
