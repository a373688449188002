import json

import pytest

from cyclegan.config import ConfigError, config_from_dict, config_to_dict, load_config, valid_keys

EXPERIMENTS = ["exp1", "exp2", "exp2_mitigated"]


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
    exp2 = load_config("experiments/exp2.json")
    mitigated = load_config("experiments/exp2_mitigated.json")
    assert exp1.train.checkpoint_every == 10000 and exp2.train.checkpoint_every == 5000
    assert (exp1.train.schedule_unit, exp1.train.duration, exp1.train.decay_start) == ("epochs", 200, 100)
    assert (exp2.train.schedule_unit, exp2.train.duration, exp2.train.decay_start) == ("steps", 500000, 250000)
    assert (exp2.train.generator_lr, exp2.train.discriminator_lr) == (2e-4, 1e-4)
    assert exp2.image_shape == (512, 408, 2) and mitigated.image_shape == (512, 408, 1)
    assert exp2.loss.identity_weight == 0.5 and mitigated.loss.identity_weight == 0.0
    assert mitigated.generator.upsample == "nn_upsample_conv" and mitigated.generator.icnr
    assert mitigated.generator.spectral_norm and mitigated.discriminator.spectral_norm


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
