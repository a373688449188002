"""The command line: summary output and clear errors with exit code 2 for bad input."""

import json
import subprocess
import sys

import pytest

from cyclegan import cli
from cyclegan.data.phantom import write_phantom


def test_summary_prints_exact_counts(capsys):
    assert cli.main(["summary", "--config", "experiments/exp1.json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["generator_params"] == 2_849_537
    assert result["discriminator_params"] == 2_764_481
    assert result["image_shape"] == [256, 256, 1]


def test_summary_applies_overrides(capsys):
    assert cli.main(["summary", "--config", "experiments/exp1.json", "--set", "data.include_masks=true",
                     "--set", "data.height=64", "--set", "data.width=32"]) == 0
    assert json.loads(capsys.readouterr().out)["image_shape"] == [64, 32, 2]


def test_a_command_prints_no_tensorflow_start_up_notices():
    small = ["--set", "data.height=32", "--set", "data.width=32", "--set", "generator.residual_blocks=1"]
    result = subprocess.run([sys.executable, "-m", "cyclegan", "summary", "--config", "experiments/exp1.json", *small],
                            capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)["image_shape"] == [32, 32, 1]
    for notice in ("absl::InitializeLog", "cudart_stub", "cuInit", "oneDNN custom operations"):
        assert notice not in result.stderr


def _train(tmp_path, *extra):
    return cli.main(["train", "--config", "experiments/exp1.json", "--run-dir", str(tmp_path / "run"),
                     "--no-progress", *extra])


@pytest.mark.parametrize("override, message", [
    ("train.max_stepz=3", "unknown config key 'train.max_stepz'; did you mean train.max_steps?"),
    ("data.height=254", "not divisible by 4"),
])
def test_bad_config_exits_2(tmp_path, capsys, override, message):
    assert _train(tmp_path, "--data", str(tmp_path), "--set", override) == cli.EXIT_BAD_INPUT
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_missing_data_directory_exits_2(tmp_path, capsys):
    assert _train(tmp_path, "--data", str(tmp_path / "nowhere")) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "nowhere" in err and "prepare" in err


def test_empty_domain_exits_2(tmp_path, capsys):
    raw = tmp_path / "raw"
    write_phantom(raw, 3, seed=1, height=64, width=52)
    for path in (raw / "cancer").iterdir():
        path.unlink()
    code = cli.main(["prepare", "--source", f"folder:{raw}", "--size", "32x32", "--out", str(tmp_path / "p")])
    assert code == cli.EXIT_BAD_INPUT
    assert "cancer" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("size, message", [("big", "HEIGHTxWIDTH"), ("30x30", "multiples of 4"),
                                           ("32x0", "multiples of 4")])
def test_bad_size_is_a_usage_error(tmp_path, capsys, size, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["prepare", "--source", f"folder:{tmp_path}", "--size", size, "--out", str(tmp_path / "p")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("command", [
    ["translate", "--run", "r", "--direction", "h2c", "--input", "i", "--out", "o"],
    ["study", "build", "--run", "r", "--layout", "exp1", "--input", "i", "--out", "o"],
])
def test_batch_size_zero_is_a_usage_error(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*command, "--batch-size", "0"])
    assert exit_info.value.code == 2
    assert "--batch-size: expected a positive integer, got '0'" in capsys.readouterr().err
