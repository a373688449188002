import json
from pathlib import Path

import pytest

from cyclegan.config import config_from_dict, config_to_dict, load_config, valid_keys
from cyclegan.errors import ConfigError

EXPERIMENTS = sorted(path.stem for path in (Path(__file__).resolve().parents[1] / "experiments").glob("*.json"))


def test_the_shipped_configs():
    assert EXPERIMENTS == ["exp1", "exp2", "exp2_conv_transpose", "exp2_script_defaults"]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_shipped_configs_name_every_field(name, tmp_path):
    raw = json.loads(open(f"experiments/{name}.json").read())
    named = {f"{section}.{key}" if isinstance(values, dict) else section
             for section, values in raw.items()
             for key in (values if isinstance(values, dict) else [None])}
    assert named == set(valid_keys())
    assert config_to_dict(load_config(f"experiments/{name}.json")) == raw


def test_experiment_facts():
    exp1 = load_config("experiments/exp1.json")
    assert exp1.train.checkpoint_every == 10000 and exp1.train.pool_mode == "aliased"
    assert (exp1.train.schedule_unit, exp1.train.duration, exp1.train.decay_start) == ("epochs", 200, 100)
    # exp2: local/run.sh's run_on_host.sh call (masks False, ICNR True, nn_upsample_conv, lambda_id 0.0,
    # checkpoint hook every 5000 steps, spectral norm True); exp2_script_defaults: train.py's flags.
    exp2 = load_config("experiments/exp2.json")
    defaults = load_config("experiments/exp2_script_defaults.json")
    transpose = load_config("experiments/exp2_conv_transpose.json")
    for config in (exp2, defaults, transpose):
        assert (config.train.schedule_unit, config.train.duration, config.train.decay_start) == \
            ("steps", 500000, 250000)
        assert (config.train.generator_lr, config.train.discriminator_lr) == (2e-4, 1e-4)
        assert config.train.pool_mode == "tfgan" and config.train.max_checkpoints == 300
    assert exp2.image_shape == (512, 408, 1) and exp2.loss.identity_weight == 0.0
    assert exp2.generator.upsample == "nn_upsample_conv" and exp2.generator.icnr
    assert exp2.generator.spectral_norm and exp2.discriminator.spectral_norm
    assert exp2.train.checkpoint_every == 5000  # so there are checkpoints at 35k and 70k
    assert defaults.image_shape == (512, 408, 2) and defaults.loss.identity_weight == 0.5
    assert defaults.generator.upsample == "conv_transpose" and defaults.generator.transpose_kernel_size == 4
    assert not (defaults.generator.icnr or defaults.generator.spectral_norm or defaults.discriminator.spectral_norm)
    assert defaults.train.checkpoint_every == 25000


def test_exp2_conv_transpose_is_exp2_with_the_training_scripts_upsampling_and_no_remedies():
    exp2, transpose = (config_to_dict(load_config(f"experiments/{name}.json"))
                       for name in ("exp2", "exp2_conv_transpose"))
    differ = {f"{section}.{key}": (values[key], transpose[section][key])
              for section, values in exp2.items() if isinstance(values, dict)
              for key in values if values[key] != transpose[section][key]}
    assert differ == {"generator.upsample": ("nn_upsample_conv", "conv_transpose"), "generator.icnr": (True, False),
                      "generator.spectral_norm": (True, False), "discriminator.spectral_norm": (True, False)}
    assert transpose["name"] == "exp2_conv_transpose"
    assert (transpose["generator"]["transpose_kernel_size"], transpose["generator"]["transpose_norm"],
            transpose["generator"]["transpose_init"]) == (4, False, "glorot_uniform")


def test_overrides_are_typed():
    config = config_from_dict({}, ["train.max_steps=12", "generator.icnr=true", "loss.cycle_weight=5",
                                   "generator.upsample=nn_upsample_conv", "seed=7"])
    assert config.train.max_steps == 12 and config.generator.icnr is True
    assert config.loss.cycle_weight == 5.0 and isinstance(config.loss.cycle_weight, float)
    assert config.generator.upsample == "nn_upsample_conv" and config.seed == 7


def test_unknown_key_names_the_closest_valid_ones():
    with pytest.raises(ConfigError, match=r"'train.max_stepz'; did you mean train.max_steps\?$"):
        config_from_dict({}, ["train.max_stepz=3"])
    with pytest.raises(ConfigError, match=r"'generator.ngf'; valid keys there: generator.filters, ") as err:
        config_from_dict({"generator": {"ngf": 3}})
    assert "train." not in str(err.value)  # only the section's keys, not all of them
    with pytest.raises(ConfigError, match=r"'optimizer.lr'; valid sections: data, discriminator, generator"):
        config_from_dict({}, ["optimizer.lr=1"])


@pytest.mark.parametrize("override", ["data.height=250", "data.width=30"])
def test_size_not_divisible_by_four(override):
    with pytest.raises(ConfigError, match="not divisible by 4"):
        config_from_dict({}, [override])


@pytest.mark.parametrize("override, message", [
    ("generator.upsample=pixelshuffle", "must be one of"),
    ("train.mixed_precision=float8", "must be one of"),
    ("train.max_steps=ten", "expected an integer"),
    ("train.batch_size=0", "must be positive"),
    ("generator.icnr=maybe", "true or false"),
    ("train.decay_start=300", "must not exceed"),
    ("nonsense", "section.key=value"),
    ("train.generator_lr=NaN", "finite"),
    ("train.discriminator_lr=Infinity", "finite"),
    ("loss.cycle_weight=-Infinity", "finite"),
    ("train.generator_lr=0", "must be positive"),
    ("train.adam_epsilon=0", "must be positive"),
    ("generator.norm_epsilon=0", "must be positive"),
    ("train.beta_1=5", r"must be in \[0, 1\)"),
    ("train.beta_2=1", r"must be in \[0, 1\)"),
    ("train.beta_1=-0.1", r"must be in \[0, 1\)"),
    ("train.steps_per_execution=0", "must be positive"),
    ("train.steps_per_execution=3", r"train.log_every = 100 is not a multiple of train.steps_per_execution \(3\)"),
])
def test_bad_values(override, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({}, [override])


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(broken)


def test_non_finite_numbers_in_a_config_file_are_refused(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text('{"train": {"generator_lr": NaN}}')  # Python's json reads NaN; a config must not
    with pytest.raises(ConfigError, match="train.generator_lr: expected a finite number"):
        load_config(path)


def test_a_variant_table_must_build_exactly_the_names_config_gives():
    from cyclegan.config import CHOICES, variant_table
    from cyclegan.gan import pool, precision, update_orders
    from cyclegan.nets import networks

    assert tuple(update_orders.UPDATE_ORDERS) == CHOICES["train.update_order"]
    assert tuple(networks.UPSAMPLERS) == CHOICES["generator.upsample"]
    assert tuple(precision.POLICIES) == CHOICES["train.mixed_precision"]
    assert pool.POOL_MODES == CHOICES["train.pool_mode"]
    with pytest.raises(ConfigError, match="builds cyclegan, tfgan but config.CHOICES names cyclegan, aliased, tfgan"):
        variant_table("train.pool_mode", {"cyclegan": None, "tfgan": None})
