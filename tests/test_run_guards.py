"""What keeps a run folder whole: one trainer at a time, the same dataset on resume, inputs checked
before anything is written, a killed trainer's debris removed, and a full disk that loses nothing."""

import errno
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.util import event_pb2
from tensorflow.python.lib.io import file_io

from cyclegan import cli
from cyclegan.config import config_to_dict, load_config
from cyclegan.data.prepare import _sibling
from cyclegan.errors import ConfigError, DiskFullError, NonFiniteLossError, RunInUseError
from cyclegan.runs.checkpoints import Checkpoints
from cyclegan.runs.rundir import RUN_INFO, RunDir
from cyclegan.runs.runlock import run_lock
from cyclegan.tensorboard.eventfiles import truncate_events
from cyclegan.train import callbacks
from tests.helpers import TINY, make_prepared

ROOT = Path(__file__).resolve().parents[1]


def _train(data, run_dir, *extra: str, settings=(*TINY, "train.max_steps=4")) -> int:
    return cli.main(["train", "--config", "experiments/exp1.json", "--data", str(data), "--run-dir", str(run_dir),
                     "--no-progress", *[part for setting in settings for part in ("--set", setting)], *extra])


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", ""])
    process.wait()
    return process.pid


# One trainer per run folder


def test_a_second_trainer_exits_2_naming_the_holder(prepared, tmp_path, capsys):
    with run_lock(tmp_path / "run"):
        assert _train(prepared, tmp_path / "run") == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"is being trained by PID {os.getpid()} on host {socket.gethostname()}" in err
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == ["train.lock"]


HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from cyclegan.runs.runlock import run_lock
with run_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_the_lock_of_a_killed_trainer_is_free(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunInUseError, match=f"PID {holder.pid} on host"), run_lock(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait()
    with run_lock(tmp_path):
        assert json.loads((tmp_path / "train.lock").read_text())["pid"] == os.getpid()


# Resuming on the same data


def test_resume_on_other_data_needs_the_flag_and_is_recorded(prepared, tiny_run, tmp_path, capsys):
    run_dir = _copy(tiny_run, tmp_path / "run")
    other = _copy(prepared, tmp_path / "other")
    manifest = json.loads((other / "manifest.json").read_text())
    (other / "manifest.json").write_text(json.dumps({**manifest, "seed": manifest["seed"] + 1}))
    recorded = (run_dir / RUN_INFO).read_text()

    assert _train(other, run_dir) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"{other.resolve()} is another dataset" in err and "pass --allow-other-data" in err
    assert (run_dir / RUN_INFO).read_text() == recorded

    assert _train(other, run_dir, "--allow-other-data") == 0
    info = json.loads((run_dir / RUN_INFO).read_text())
    assert info["data"] == "../other"  # relative to the run directory
    assert [(entry["data"], entry["from_step"], entry.get("allowed_by")) for entry in info["data_history"]] == \
        [(os.path.relpath(prepared.resolve(), run_dir.resolve()), 0, None), ("../other", 4, "--allow-other-data")]
    assert _train(other, run_dir) == 0  # the run now goes on with `other`


def _dataset(path: Path, fingerprint: str) -> SimpleNamespace:
    """What `RunDir.next_run_info` reads of a PreparedDataset."""
    return SimpleNamespace(path=path, fingerprint=fingerprint)


def _at_step(run: RunDir, step: int) -> None:
    """Make the run record a checkpoint of `step` (the state file alone)."""
    run.checkpoints_dir.mkdir(parents=True, exist_ok=True)
    (run.checkpoints_dir / "checkpoint").write_text(
        f'model_checkpoint_path: "ckpt-{step}"\nall_model_checkpoint_paths: "ckpt-{step}"\n')


def test_run_info_keeps_the_dataset_history(tmp_path):
    run = RunDir(tmp_path / "runs" / "r")
    a, b = tmp_path / "data" / "a", tmp_path / "data" / "b"
    first = run.next_run_info(_dataset(a, "aa" * 32))
    assert first == {"data": "../../data/a", "data_sha256": "aa" * 32,
                     "data_history": [{"data": "../../data/a", "data_sha256": "aa" * 32, "from_step": 0}]}
    run.path.mkdir(parents=True)
    (run.path / RUN_INFO).write_text(json.dumps(first))
    _at_step(run, 40)
    assert run.next_run_info(_dataset(a, "aa" * 32)) == first
    moved = run.next_run_info(_dataset(tmp_path / "moved", "aa" * 32))  # same dataset elsewhere: accepted
    assert moved["data"] == "../../moved" and moved["data_history"][-1]["from_step"] == 40
    with pytest.raises(ValueError, match=re.escape(f"trained on {a.resolve()} (manifest sha256 aaaaaaaaaaaa…), and "
                                                   f"{b.resolve()} is another")):
        run.next_run_info(_dataset(b, "bb" * 32))
    (run.path / RUN_INFO).write_text(json.dumps({"data": str(a)}))  # written before fingerprints, absolute
    before_fingerprints = run.next_run_info(_dataset(b, "bb" * 32))
    assert [entry["data_sha256"] for entry in before_fingerprints["data_history"]] == [None, "bb" * 32]


def test_run_info_names_a_dataset_without_a_common_folder_absolutely(tmp_path):
    assert RunDir(tmp_path / "run").next_run_info(_dataset(Path("/"), "aa" * 32))["data"] == "/"


@pytest.mark.parametrize("command", [["detect"], ["artifacts"], ["study", "build", "--layout", "exp1"]])
def test_a_moved_dataset_is_named_with_the_flag_that_points_to_it(tiny_run, tmp_path, capsys, command):
    run_dir = _copy(tiny_run, tmp_path / "elsewhere" / "run")  # run.json's relative path now leads nowhere
    assert cli.main([*command, "--run", str(run_dir), "--out", str(tmp_path / "out")]) == cli.EXIT_BAD_INPUT
    assert f"the dataset {run_dir} was trained on (recorded in run.json), is gone; pass --data to point to it" in \
        capsys.readouterr().err


@pytest.fixture(scope="module")
def prepared_at_64(tmp_path_factory) -> Path:
    return make_prepared(tmp_path_factory.mktemp("data64"), size=(64, 64))


@pytest.mark.parametrize("command", [["detect", "--data"], ["artifacts", "--data"],
                                     ["study", "build", "--layout", "exp1", "--data"],
                                     ["translate", "--direction", "h2c", "--input"]])
def test_a_dataset_of_another_size_than_the_runs_is_refused(tiny_run, prepared_at_64, tmp_path, capsys, command):
    assert cli.main([*command, str(prepared_at_64), "--run", str(tiny_run), "--out", str(tmp_path / "out")]) == \
        cli.EXIT_BAD_INPUT
    assert f"the config trains on 32x32 images, but {prepared_at_64} was prepared at 64x64" in capsys.readouterr().err


# Resuming with the same config


def _started_with(run_dir: Path, config: dict) -> RunDir:
    """A run folder whose config.json is `config` (as a run started with it writes it)."""
    run_dir.mkdir(parents=True)
    (run_dir / "config.json").write_text(json.dumps(config, indent=2))
    return RunDir(run_dir)


def _shipped(name: str, *overrides: str) -> dict:
    return config_to_dict(load_config(ROOT / "experiments" / f"{name}.json", list(overrides)))


def _resumed_as_told(message: str):
    """The config of the command the refusal names ("resume with --config FILE --set K=V ...")."""
    words = shlex.split(message.split("resume with ", 1)[1])
    assert words[0] == "--config" and all(flag == "--set" for flag in words[2::2]), words
    return load_config(ROOT / words[1], words[3::2])


# config.json of each retired definition, as a run started with it wrote it (config_to_dict of the file then).
OLD_EXP2 = _shipped("exp2_script_defaults", "name=exp2", "train.checkpoint_every=5000")  # the training script's
OLD_EXP2_MITIGATED = _shipped("exp2", "name=exp2_mitigated")  # the run script's
OLD_EXP1 = _shipped("exp1", "train.pool_mode=cyclegan")  # the pool as written


@pytest.mark.parametrize("saved, resumed_with, names, command", [
    (OLD_EXP2, "exp2", ["now holds experiment 2's run script's configuration",
                        "started with the training script's defaults, now experiments/exp2_script_defaults.json"],
     "--config experiments/exp2_script_defaults.json --set name=exp2 --set train.checkpoint_every=5000"),
    (OLD_EXP2_MITIGATED, "exp2",
     ["experiments/exp2_mitigated.json is gone: its settings are now experiments/exp2.json's"],
     "--config experiments/exp2.json --set name=exp2_mitigated"),
    (OLD_EXP1, "exp1", ["pool is now `aliased`, experiment 1's pool as it ran", "started with the `cyclegan` rule"],
     "--config experiments/exp1.json --set train.pool_mode=cyclegan"),
], ids=["exp2-training-script-defaults", "exp2_mitigated", "exp1-cyclegan-pool"])
def test_a_run_of_a_retired_definition_is_told_what_changed_and_how_to_resume(saved, resumed_with, names, command,
                                                                              tmp_path):
    run = _started_with(tmp_path / "run", saved)
    with pytest.raises(ConfigError) as refused:
        run.check_config(load_config(ROOT / "experiments" / f"{resumed_with}.json"))
    message = str(refused.value)
    assert "was started with a different config" in message
    assert all(name in message for name in names), message
    assert message.endswith(f"resume with {command}"), message
    run.check_config(_resumed_as_told(message))  # the command it names resumes the run


def test_the_resume_command_keeps_every_setting_the_run_started_with(tmp_path):
    """A quick run of the old exp2 (and a longer max_steps, which may change): the command names
    every other setting in which the run differs from the file it points to."""
    quick = ["data.height=64", "data.width=52", "generator.filters=8", "train.checkpoint_every=100"]
    run = _started_with(tmp_path / "run", _shipped("exp2_script_defaults", "name=exp2", *quick, "train.max_steps=200"))
    with pytest.raises(ConfigError) as refused:
        run.check_config(load_config(ROOT / "experiments" / "exp2.json", quick))
    assert "--set data.height=64 --set data.width=52 --set generator.filters=8" in str(refused.value)
    assert "max_steps" not in str(refused.value).split("resume with")[1]
    run.check_config(_resumed_as_told(str(refused.value)))


def test_a_changed_config_of_no_retired_definition_gets_the_plain_refusal(tmp_path):
    run = _started_with(tmp_path / "run", _shipped("exp2_conv_transpose"))
    with pytest.raises(ConfigError, match=r"\(generator.filters differ\); resume it with the same settings or choose a "
                                          r"new --run-dir$"):
        run.check_config(load_config(ROOT / "experiments" / "exp2_conv_transpose.json", ["generator.filters=8"]))


def test_a_field_an_older_config_json_lacks_compares_as_its_default(tmp_path):
    """A field added since the run started must not stop it from resuming."""
    saved = _shipped("exp2")
    del saved["train"]["mixed_precision"], saved["data"]["pairing"]  # at their defaults in exp2.json
    del saved["generator"]["filters"]  # 64 in exp2.json, 32 by default
    run = _started_with(tmp_path / "run", saved)
    run.check_config(load_config(ROOT / "experiments" / "exp2.json", ["generator.filters=32"]))
    with pytest.raises(ConfigError, match=r"\(generator.filters differ\)"):
        run.check_config(load_config(ROOT / "experiments" / "exp2.json"))


# Inputs checked before the run folder is written


def test_a_config_that_does_not_fit_the_data_writes_nothing(prepared, tmp_path, capsys):
    assert _train(prepared, tmp_path / "run", settings=(*TINY, "data.height=64", "data.width=64")) == \
        cli.EXIT_BAD_INPUT
    assert "trains on 64x64 images, but" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def _malformed(manifest: Path) -> str:
    manifest.write_text('{"version": 3, "size": ')
    return f"{manifest} is not valid JSON (Expecting value: line 1 column 24"


def _without_counts(manifest: Path) -> str:
    content = json.loads(manifest.read_text())
    del content["counts"]
    manifest.write_text(json.dumps(content))
    return f"{manifest} has no 'counts'"


def _missing_shard(manifest: Path) -> str:
    shard = manifest.with_name("train-cancer-00000.tfrecord.gz")
    shard.unlink()
    return f"shard {shard} (listed in manifest.json) is missing"


def _truncated_shard(manifest: Path) -> str:
    shard = manifest.with_name("eval-healthy-00000.tfrecord.gz")
    shard.write_bytes(shard.read_bytes()[:-40])
    return f"shard {shard} is unreadable (truncated record at"


def _shard_of_another_split(manifest: Path) -> str:
    shard = manifest.with_name("train-healthy-00000.tfrecord.gz")
    shard.write_bytes(manifest.with_name("eval-healthy-00000.tfrecord.gz").read_bytes())
    return "the train healthy shards of"


@pytest.mark.parametrize("damage", [_malformed, _without_counts, _missing_shard, _truncated_shard,
                                    _shard_of_another_split])
def test_a_broken_dataset_exits_2_naming_the_file(prepared, tmp_path, capsys, damage):
    data = _copy(prepared, tmp_path / "data")
    message = damage(data / "manifest.json")
    assert _train(data, tmp_path / "run") == cli.EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


# Debris of killed processes


def _plant_debris(run_dir: Path) -> list[Path]:
    checkpoints = run_dir / "checkpoints"
    (checkpoints / "ckpt-6_temp").mkdir()
    debris = [checkpoints / "ckpt-6_temp" / "part-00000-of-00001.index", checkpoints / "checkpoint.tmp5f3a",
              checkpoints / "ckpt-6.index", checkpoints / "ckpt-6.data-00000-of-00001",
              run_dir / "config.json.partial", run_dir / "tensorboard" / "exp1" / ".4242.truncating"]
    for path in debris:
        path.write_bytes(b"half")
    return debris


def test_a_start_removes_what_killed_trainers_left(tiny_run, prepared, tmp_path):
    run_dir = _copy(tiny_run, tmp_path / "run")
    kept = sorted(path.name for path in (run_dir / "checkpoints").iterdir())
    _plant_debris(run_dir)
    assert _train(prepared, run_dir) == 0  # already at its end step: only the start-up runs
    assert sorted(path.name for path in (run_dir / "checkpoints").iterdir()) == kept
    assert not (run_dir / "config.json.partial").exists()
    assert list((run_dir / "tensorboard").rglob(".*.truncating")) == []


def test_remove_debris_keeps_the_recorded_checkpoints(tiny_run, tmp_path):
    run = RunDir(_copy(tiny_run, tmp_path / "run"))
    debris = _plant_debris(run.path)
    removed = run.remove_debris()
    assert sorted(removed) == sorted({*debris[1:], debris[0].parent})
    assert sorted(run.checkpoints.kept()) == [2, 4]
    for prefix in run.checkpoints.kept().values():
        tf.train.load_checkpoint(prefix)


def test_prepare_removes_the_staging_folders_of_gone_processes(tmp_path):
    out = tmp_path / "prepared"
    dead, alive = _dead_pid(), os.getppid()
    for name in (f".prepared.partial-{dead}", f".prepared.old-{dead}", f".prepared.partial-{alive}",
                 f".other.partial-{dead}"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text("{}")
    staging = _sibling(out, "partial")
    assert staging.name == f".prepared.partial-{os.getpid()}"
    assert sorted(path.name for path in tmp_path.iterdir()) == \
        sorted([f".prepared.partial-{alive}", f".other.partial-{dead}"])


# TensorBoard after crashes


def _write_attempt(logdir: Path, last_step: int) -> None:
    """What a start writes up to `last_step`: step 0's summaries, then a baseline and a loss per step."""
    writer = tf.summary.create_file_writer(str(logdir / "exp1"))
    with writer.as_default():
        tf.summary.scalar("artifacts/baseline_h2c_cpr_db", 1.0, step=0)
        for step in range(1, last_step + 1):
            tf.summary.scalar("artifacts/baseline_h2c_cpr_db", 1.0, step=step)
            tf.summary.scalar("losses/generators/total", float(step), step=step)
    writer.close()


def _tag_steps(logdir: Path) -> Counter:
    counts = Counter()
    for path in logdir.rglob("*tfevents*"):
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            event = event_pb2.Event.FromString(record)
            counts.update((value.tag, event.step) for value in event.summary.value)
    return counts


def test_crashes_before_the_first_checkpoint_leave_each_step_once(tmp_path):
    for _ in range(3):  # three attempts killed before their first checkpoint
        truncate_events(tmp_path, 0)
        _write_attempt(tmp_path, 3)
    last_file = max((tmp_path / "exp1").glob("*tfevents*"))
    with open(last_file, "ab") as events:  # a record cut short by the kill
        events.write(b"\x40\x00\x00\x00\x00\x00\x00\x00\x12\x34")
    truncate_events(tmp_path, 0)
    _write_attempt(tmp_path, 4)
    counts = _tag_steps(tmp_path)
    assert max(counts.values()) == 1
    assert counts[("artifacts/baseline_h2c_cpr_db", 0)] == 1
    assert list(tmp_path.rglob(".*.truncating")) == []


# Disk full


def _full_while_writing_shards(monkeypatch, checkpoint, step):
    write = checkpoint._write

    def full(prefix, options=None):
        if not prefix.endswith(f"-{step}"):
            return write(prefix, options=options)
        Path(f"{prefix}_temp").mkdir()
        Path(f"{prefix}_temp/part-00000-of-00001.data-00000-of-00001").write_bytes(b"partial")
        raise tf.errors.ResourceExhaustedError(None, None, f"{prefix}_temp/part-00000-of-00001.data-00000-of-00001; "
                                                           f"{os.strerror(errno.ENOSPC)}")

    monkeypatch.setattr(checkpoint, "_write", full)


def _full_while_recording(monkeypatch, step):
    atomic_write = file_io.atomic_write_string_to_file

    def full(path, contents, overwrite=True):
        if f"ckpt-{step}" not in contents:
            return atomic_write(path, contents, overwrite)
        file_io.write_string_to_file(f"{path}.tmp0123abcd", contents[:10])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    monkeypatch.setattr(file_io, "atomic_write_string_to_file", full)


@pytest.mark.parametrize("full_while", ["writing_shards", "recording"])
def test_a_checkpoint_that_does_not_fit_keeps_the_last_one_and_resumes(tmp_path, monkeypatch, full_while):
    weights = tf.Variable([1.0, 2.0])
    checkpoints = tmp_path / "checkpoints"
    writer = Checkpoints(checkpoints).writer({"weights": weights}, 0)
    writer.save(2)
    with monkeypatch.context() as patches:
        if full_while == "writing_shards":
            _full_while_writing_shards(patches, writer.manager.checkpoint, 4)
        else:
            _full_while_recording(patches, 4)
        with pytest.raises(DiskFullError, match=r"no space left on the device for the checkpoint of step 4 in .*"
                                                r"the run keeps its checkpoint ckpt-2: free space, then run the same"):
            writer.save(4)
    assert sorted(path.name for path in checkpoints.iterdir()) == \
        ["checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith("ckpt-2")

    weights.assign([3.0, 4.0])  # space freed: the resumed run saves its next checkpoint
    Checkpoints(checkpoints).writer({"weights": weights}, 0).save(4)
    assert sorted(RunDir(tmp_path).checkpoints.kept()) == [2, 4]
    np.testing.assert_array_equal(tf.train.load_checkpoint(str(checkpoints / "ckpt-4"))
                                  .get_tensor("weights/.ATTRIBUTES/VARIABLE_VALUE"), [3.0, 4.0])


@pytest.mark.parametrize("error", [DiskFullError("no space left on the device for the checkpoint of step 4"),
                                   OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "config.json")])
def test_a_full_disk_exits_with_its_own_code(monkeypatch, tmp_path, capsys, error):
    def full(*_args, **_kwargs):
        raise error

    monkeypatch.setattr("cyclegan.train.training.train", full)
    assert _train(tmp_path, tmp_path / "run") == cli.EXIT_DISK_FULL == 4
    assert "no space left on the device" in capsys.readouterr().err


@pytest.mark.slow  # two trainings of a tiny model: about a minute
def test_a_full_disk_mid_training_exits_4_and_the_resume_after_freeing_space_ends_the_run(
        prepared, tmp_path, monkeypatch, capsys):
    settings = (*TINY, "train.max_steps=6")
    with monkeypatch.context() as patches:
        _full_while_recording(patches, 4)
        assert _train(prepared, tmp_path / "run", settings=settings) == cli.EXIT_DISK_FULL
    assert "no space left on the device for the checkpoint of step 4" in capsys.readouterr().err
    assert sorted(RunDir(tmp_path / "run").checkpoints.kept()) == [2]
    assert sorted(path.name for path in (tmp_path / "run" / "checkpoints").iterdir()) == \
        ["checkpoint", "ckpt-2.data-00000-of-00001", "ckpt-2.index"]

    assert _train(prepared, tmp_path / "run", settings=settings) == 0
    assert sorted(RunDir(tmp_path / "run").checkpoints.kept()) == [2, 4, 6]


@pytest.mark.slow  # one training of a tiny model: about 30 s
def test_a_shard_corrupted_mid_training_stops_with_exit_2_naming_it(prepared, tmp_path, monkeypatch, capsys):
    data = _copy(prepared, tmp_path / "data")
    shard = data / "train-cancer-00000.tfrecord.gz"
    save = callbacks.StepCheckpoint.on_train_batch_end

    def save_then_corrupt(self, batch, logs=None):
        save(self, batch, logs)
        if self.global_step(batch) == 2:
            shard.write_bytes(shard.read_bytes()[:-40])

    monkeypatch.setattr(callbacks.StepCheckpoint, "on_train_batch_end", save_then_corrupt)
    assert _train(data, tmp_path / "run", settings=(*TINY, "train.max_steps=20")) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    kept = RunDir(tmp_path / "run").checkpoints.kept()
    assert f"training stopped: shard {shard} is unreadable (truncated record at" in err
    assert f"the run keeps ckpt-{max(kept)} to resume from" in err
    for prefix in kept.values():
        tf.train.load_checkpoint(prefix)


def test_a_state_with_a_nan_is_not_checkpointed(tmp_path):
    weights, moments = tf.Variable([1.0, 2.0]), tf.Variable([0.5, 0.5])
    writer = Checkpoints(tmp_path / "checkpoints").writer({"weights": weights, "moments": moments}, 0)
    writer.save(2)
    moments.assign([0.5, float("nan")])
    with pytest.raises(NonFiniteLossError, match="NaN or Inf by step 4; no checkpoint written"):
        writer.save(4)
    assert sorted(RunDir(tmp_path).checkpoints.kept()) == [2]
