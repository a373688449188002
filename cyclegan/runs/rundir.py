"""A run directory, its one owner: what training writes there and what every later command reads.

    config.json      the fully resolved config (`config_to_dict`)
    run.json         the dataset: {"data": its folder, "data_sha256": its fingerprint,
                     "data_history": [{"data", "data_sha256", "from_step"[, "allowed_by"]}, one per change]};
                     "data" is relative to the run directory when the two share a folder other than the root
    checkpoints/     ckpt-<step>.index and .data-*, and TensorFlow's `checkpoint` state file listing them
                     (checkpoints.py: what a checkpoint holds, writing and reading it)
    tensorboard/     event files (eventfiles.py)
    train.lock       the trainer's lock (runlock.py)
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from pathlib import Path

from cyclegan.config import ExperimentConfig, config_from_dict, config_to_dict, load_config, valid_keys
from cyclegan.data.dataset import PreparedDataset
from cyclegan.domains import DIRECTIONS
from cyclegan.errors import ConfigError
from cyclegan.nets.networks import ResnetGenerator, build_generators
from cyclegan.runs.checkpoints import Checkpoints
from cyclegan.runs.runlock import run_lock

CONFIG_NAME = "config.json"
RUN_INFO = "run.json"
ALLOW_OTHER_DATA = "--allow-other-data"
# Fields that may change when a run is resumed: how far to train and on what hardware.
RESUMABLE_CHANGES = {("train", "max_steps"), ("train", "strategy"), ("train", "jit_compile"),
                     ("train", "steps_per_execution")}
# Shipped configs whose definition changed. A run started under an old definition is refused on
# resume like any changed config; when its config.json matches an entry (every dotted key at that
# value) the message adds what changed and the command that resumes it as it started: the entry's
# shipped file with a --set for every setting in which the run differs from it. A name is never
# changed on resume: TensorBoard's events go to tensorboard/<name>/, so a renamed run would split in two.
EXPERIMENTS_DIR = Path(__file__).resolve().parents[2] / "experiments"
RETIRED_DEFINITIONS = (
    ({"name": "exp2", "data.include_masks": True, "generator.upsample": "conv_transpose"}, "exp2_script_defaults.json",
     "experiments/exp2.json now holds experiment 2's run script's configuration (local/run.sh: no masks, "
     "nn_upsample_conv with ICNR, spectral norm, identity weight 0, checkpoints every 5,000 steps); this run was "
     "started with the training script's defaults, now experiments/exp2_script_defaults.json"),
    ({"name": "exp2_mitigated"}, "exp2.json",
     "experiments/exp2_mitigated.json is gone: its settings are now experiments/exp2.json's, named exp2"),
    ({"name": "exp1", "train.pool_mode": "cyclegan"}, "exp1.json",
     "experiments/exp1.json's pool is now `aliased`, experiment 1's pool as it ran (it always returned the "
     "current fake), and this run was started with the `cyclegan` rule, the pool as written"),
)
# Temporary files of an interrupted write: config.json/run.json staging, event-file truncation
# (eventfiles.py); checkpoints.py names a checkpoint's own.
DEBRIS_PATTERNS = ("*.partial", "tensorboard/**/.*.truncating")


class RunDir:
    """The run directory at `path` (which need not exist yet)."""

    def __init__(self, path):
        self.path = Path(path)
        self.checkpoints = Checkpoints(self.checkpoints_dir)

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tensorboard"

    def lock(self):
        """A context manager holding the run directory's lock (runlock.py), creating the directory."""
        return run_lock(self.path)

    # config.json

    def config(self) -> ExperimentConfig:
        """The resolved config the run was trained with."""
        path = self.path / CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(f"{self.path} is not a run directory: no {CONFIG_NAME}")
        return config_from_dict(json.loads(path.read_text()))

    def check_config(self, config: ExperimentConfig) -> None:
        """ConfigError if config.json exists and differs from `config` in a field a resumed run must keep.

        A field that config.json lacks (added since the run started) counts as its default. When
        config.json holds a retired definition of a shipped config (RETIRED_DEFINITIONS), the message
        says what changed and how to resume."""
        path = self.path / CONFIG_NAME
        if path.exists():
            saved = _with_defaults(json.loads(path.read_text()))
            changed = _differences(saved, config_to_dict(config))
            if changed:
                how = _retired_hint(saved) or "resume it with the same settings or choose a new --run-dir"
                raise ConfigError(f"{self.path} was started with a different config ({', '.join(changed)} differ); "
                                  f"{how}")

    # run.json

    def run_info(self) -> dict | None:
        """run.json, or None when the run has none yet."""
        path = self.path / RUN_INFO
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON ({err})") from err

    def data_dir(self) -> Path:
        """The prepared dataset the run was last trained on; FileNotFoundError naming --data when
        run.json does not record one or the recorded folder is gone."""
        info = self.run_info()
        if info is None:
            raise FileNotFoundError(f"{self.path} does not record its dataset ({RUN_INFO} missing); pass --data")
        path = self._recorded(info["data"])
        if not path.exists():
            raise FileNotFoundError(f"{path}, the dataset {self.path} was trained on (recorded in {RUN_INFO}), is "
                                    "gone; pass --data to point to it where it is now")
        return path

    def dataset(self, data_dir=None) -> PreparedDataset:
        """The prepared dataset at `data_dir` (None: the one run.json records), checked to have the
        run's image size."""
        dataset = PreparedDataset.open(self.data_dir() if data_dir is None else data_dir)
        config = self.config()
        size = (config.data.height, config.data.width)
        dataset.check_size(size, f"the run {self.path} needs --data prepared at {size[0]}x{size[1]}")
        return dataset

    def next_run_info(self, dataset: PreparedDataset, allow_other_data: bool = False) -> dict:
        """run.json for a start on `dataset` at the latest kept step.

        ValueError when run.json holds another fingerprint, unless `allow_other_data`; the change then
        enters `data_history`, marked as allowed. The same dataset in another folder is accepted.
        """
        recorded = self.run_info() or {}
        previous = recorded.get("data_sha256")
        other = previous is not None and previous != dataset.fingerprint
        if other and not allow_other_data:
            raise ValueError(
                f"this run was trained on {self._recorded(recorded['data'])} (manifest sha256 {previous[:12]}…), and "
                f"{dataset.path.resolve()} is another dataset (sha256 {dataset.fingerprint[:12]}…); resume with the "
                f"run's --data, or pass {ALLOW_OTHER_DATA} to go on with this one (recorded in {RUN_INFO})")
        data = self._recordable(dataset.path)
        history = list(recorded.get("data_history") or _first_history(recorded))
        moved_or_changed = not history or history[-1]["data_sha256"] != dataset.fingerprint or \
            self._recorded(history[-1]["data"]) != dataset.path.resolve()
        if moved_or_changed:
            history.append({"data": data, "data_sha256": dataset.fingerprint,
                            "from_step": max(self.checkpoints.kept(), default=0),
                            **({"allowed_by": ALLOW_OTHER_DATA} if other else {})})
        return {"data": data, "data_sha256": dataset.fingerprint, "data_history": history}

    def _recordable(self, data_dir) -> str:
        """How run.json names `data_dir`: relative to the run directory when the two share a folder
        other than the filesystem root, else absolute."""
        data, run = Path(data_dir).resolve(), self.path.resolve()
        if Path(os.path.commonpath([data, run])) == Path(data.anchor):
            return str(data)
        return os.path.relpath(data, run)

    def _recorded(self, data: str) -> Path:
        """The folder a run.json "data" entry names (relative entries are relative to the run directory)."""
        return Path(os.path.normpath(self.path.resolve() / data))

    # Writing, while holding the lock

    def start(self, config: ExperimentConfig, run_info: dict) -> None:
        """Clear a killed trainer's debris, then write config.json and run.json (the caller holds the lock)."""
        removed = self.remove_debris()
        if removed:
            print(f"Removed {len(removed)} file(s) that an interrupted run left half-written in {self.path}")
        _write_json(self.path / CONFIG_NAME, config_to_dict(config))
        _write_json(self.path / RUN_INFO, run_info)

    def remove_debris(self) -> list[Path]:
        """Remove what killed trainers left half-written: temporary files (DEBRIS_PATTERNS) and
        checkpoint files that the state file does not list, which a trainer killed between writing
        and recording them leaves. Call only while holding the lock. Returns the removed paths."""
        debris = [path for pattern in DEBRIS_PATTERNS for path in self.path.glob(pattern)]
        debris += self.checkpoints.unlisted_files()
        for path in debris:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        return debris

    # checkpoints/

    def kept_steps(self) -> list[int]:
        """The steps of the kept checkpoints, ascending; FileNotFoundError when the run has none."""
        kept = sorted(self.checkpoints.kept())
        if not kept:
            raise FileNotFoundError(f"{self.path} has no checkpoints yet")
        return kept

    def select_steps(self, steps: list[int] | None) -> list[int]:
        """`steps` (None or empty: the latest); an unknown step is a ValueError listing the kept ones."""
        kept = self.kept_steps()
        if not steps:
            return kept[-1:]
        missing = [step for step in steps if step not in kept]
        if missing:
            raise ValueError(f"no checkpoint for step(s) {missing} in {self.path}; kept steps: {kept}")
        return list(steps)

    def generators(self, step: int) -> dict[str, ResnetGenerator]:
        """{direction: generator} (domains.DIRECTIONS) with the weights of the kept checkpoint of `step`."""
        generators = dict(zip(DIRECTIONS, build_generators(self.config())))
        self.restore_generators(generators, step)
        return generators

    def restore_generators(self, generators: dict[str, ResnetGenerator], step: int) -> None:
        """Load the weights of the kept checkpoint of `step` into `generators` (as `generators` returns)."""
        [step] = self.select_steps([step])
        self.checkpoints.restore_part({generator.name: generator for generator in generators.values()},
                                      self.checkpoints.kept()[step])


def _differences(saved: dict, resolved: dict) -> list[str]:
    """The dotted keys of `resolved` (a config dict) whose value differs from `saved`'s, but RESUMABLE_CHANGES."""
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


def _with_defaults(saved: dict) -> dict:
    """`saved` (a config.json, perhaps from an older version) over the defaults: a field it lacks
    compares as its default. Its values are taken as they are, not validated: one that is no longer
    valid differs from any usable config, and is reported as a difference."""
    resolved = config_to_dict(ExperimentConfig())
    for section, values in saved.items():
        if isinstance(values, dict) and isinstance(resolved.get(section), dict):
            resolved[section].update(values)
        else:
            resolved[section] = values
    return resolved


def _value(config: dict, key: str):
    """The value of a dotted key ("name", "train.pool_mode") in a config dict; None when absent."""
    section, _, name = key.rpartition(".")
    return config.get(name) if not section else config.get(section, {}).get(name)


def _retired_hint(saved: dict) -> str | None:
    """What changed and the command that resumes the run as it started, when `saved` (a resolved
    config.json) is a retired definition of a shipped config; else None."""
    for identifying, file, what in RETIRED_DEFINITIONS:
        if all(_value(saved, key) == value for key, value in identifying.items()):
            command = f"--config experiments/{file}"
            try:
                shipped = config_to_dict(load_config(EXPERIMENTS_DIR / file))
            except (ConfigError, OSError):
                return f"{what}: resume with {command} and the settings of this run's {CONFIG_NAME}"
            for key in filter(set(valid_keys()).__contains__, _differences(shipped, saved)):
                value = _value(saved, key)
                command += " --set " + shlex.quote(f"{key}={value if isinstance(value, str) else json.dumps(value)}")
            return f"{what}: resume with {command}"
    return None


def _first_history(recorded: dict) -> list[dict]:
    """The history of a run.json written before fingerprints: its one dataset, from step 0."""
    return [{"data": recorded["data"], "data_sha256": None, "from_step": 0}] if "data" in recorded else []


def _write_json(path: Path, value) -> None:
    """Write `value` as indented JSON to `path`, whole or not at all (NaN and Inf refused)."""
    staging = path.with_name(path.name + ".partial")
    staging.write_text(json.dumps(value, indent=2, allow_nan=False) + "\n")
    staging.replace(path)
