"""Reading a run directory: its config, its dataset, its kept checkpoints and the generators at any step."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from cyclegan.config import ExperimentConfig, config_from_dict
from cyclegan.data.prepare import MANIFEST_NAME
from cyclegan.networks import ResnetGenerator, build_networks

INPUT_DOMAIN = {"h2c": "healthy", "c2h": "cancer"}  # the domain each generator translates from
REVERSE = {"h2c": "c2h", "c2h": "h2c"}  # the generator that translates back
# What a run was trained on: {"data": prepared dataset folder, "data_sha256": its fingerprint,
# "data_history": [{"data", "data_sha256", "from_step"[, "allowed_by"]}, one per dataset change]}
RUN_INFO = "run.json"
ALLOW_OTHER_DATA = "--allow-other-data"


def write_json(path: Path, value) -> None:
    """Write `value` as indented JSON to `path`, whole or not at all (NaN and Inf refused)."""
    staging = path.with_name(path.name + ".partial")
    staging.write_text(json.dumps(value, indent=2, allow_nan=False) + "\n")
    staging.replace(path)


def dataset_fingerprint(data_dir) -> str:
    """The sha256 of a prepared dataset's manifest.json, which lists every record, split and setting
    (`prepare` rewrites it byte for byte for the same inputs and settings)."""
    return hashlib.sha256((Path(data_dir) / MANIFEST_NAME).read_bytes()).hexdigest()


def read_run_info(run_dir) -> dict | None:
    """The run's run.json, or None when it has none yet."""
    path = Path(run_dir) / RUN_INFO
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from err


def next_run_info(recorded: dict | None, data_dir, fingerprint: str, from_step: int,
                  allow_other_data: bool = False) -> dict:
    """run.json for a start at `from_step` on `data_dir`, whose fingerprint is `fingerprint`.

    ValueError when `recorded` (the run's run.json) holds another fingerprint, unless
    `allow_other_data`; the change then enters `data_history`, marked as allowed.
    """
    data = str(Path(data_dir).resolve())
    recorded = recorded or {}
    previous = recorded.get("data_sha256")
    other = previous is not None and previous != fingerprint
    if other and not allow_other_data:
        raise ValueError(
            f"this run was trained on {recorded['data']} (manifest sha256 {previous[:12]}…), and {data} is "
            f"another dataset (sha256 {fingerprint[:12]}…); resume with the run's --data, or pass "
            f"{ALLOW_OTHER_DATA} to go on with this one (recorded in {RUN_INFO})")
    history = list(recorded.get("data_history") or _first_history(recorded))
    if not history or (history[-1]["data"], history[-1]["data_sha256"]) != (data, fingerprint):
        history.append({"data": data, "data_sha256": fingerprint, "from_step": from_step,
                         **({"allowed_by": ALLOW_OTHER_DATA} if other else {})})
    return {"data": data, "data_sha256": fingerprint, "data_history": history}


def _first_history(recorded: dict) -> list[dict]:
    """The history of a run.json written before fingerprints: its one dataset, from step 0."""
    return [{"data": recorded["data"], "data_sha256": None, "from_step": 0}] if "data" in recorded else []


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
