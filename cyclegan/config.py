"""Typed experiment configuration: dataclasses, JSON loading, dotted overrides, validation.

A config fully describes a run. `load_config(path, overrides)` reads a JSON file (every field
optional; missing ones take the defaults below, which are experiment 1's), applies
`section.key=value` overrides and validates the result. `config_to_dict` gives the resolved
form that training writes into the run directory.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cyclegan.errors import ConfigError


@dataclass
class DataConfig:
    height: int = 256  # pixels, multiple of 4
    width: int = 256  # pixels, multiple of 4
    include_masks: bool = False  # lesion mask travels as a second channel
    eval_images: int = 4  # fixed eval images per domain shown in TensorBoard panels
    pairing: str = "independent"  # "independent" shuffles per domain | "exp1": experiment 1's fixed pairs


@dataclass
class ConvConfig:
    """The settings every conv unit of a network shares (nets/networks.py); the variants' names are CONV_VARIANTS."""

    filters: int = 64  # the network's width: channels of its first conv
    padding: str = "zero"  # "zero" | "reflect"
    kernel_init: str = "truncated_normal"  # "truncated_normal" | "normal", both mean 0 std 0.02
    conv_bias: str = "always"  # "always" | "unnormalised": bias only on convs without a norm after
    norm_epsilon: float = 1e-5
    norm_scale_init: str = "truncated_normal"  # "truncated_normal" (mean 1, std 0.02) | "ones"
    spectral_norm: bool = False  # divide every conv kernel by its power-iteration sigma on the fly


@dataclass
class GeneratorConfig(ConvConfig):
    """The ResNet generator's settings. padding "zero" (exp1): zero pads, and 'same' strided and head
    convs; "reflect" (exp2): reflect pads and 'valid' convs."""

    filters: int = 32  # ngf: channels after the stem
    residual_blocks: int = 9
    activation: str = "leaky_relu"  # "leaky_relu" (slope 0.2) | "relu"
    residual_activation: str = "relu"  # "relu" | "none": applied to block + input
    upsample: str = "conv_transpose"  # "conv_transpose" | "nn_upsample_conv" | "bilinear_upsample_conv"
    transpose_kernel_size: int = 3  # conv_transpose only: 3 (exp1) | 4 (exp2)
    transpose_norm: bool = True  # conv_transpose only: IN after it (exp1) or bias and no norm (exp2)
    transpose_init: str = "network"  # upsampling convs: "network" (kernel_init) | "glorot_uniform"
    icnr: bool = False  # ICNR initialisation of the upsampling kernels (scale 2)
    input_skip: bool = True  # output = tanh(input + head) (exp1) instead of tanh(head) (exp2)


@dataclass
class DiscriminatorConfig(ConvConfig):
    """The PatchGAN discriminator's settings: `filters` doubled up to 8x, a pad of 2 (by `padding`)
    before every 4x4 'valid' conv."""


@dataclass
class LossConfig:
    generator_adversarial_weight: float = 1.0  # w in w * mean((D(fake) - 1)^2)
    discriminator_real_weight: float = 0.5  # w in w * mean((D(real) - 1)^2)
    discriminator_fake_weight: float = 0.5  # w in w * mean(D(pooled fake)^2)
    cycle_weight: float = 10.0  # lambda, multiplies cycle and identity terms
    cycle_reduction: str = "sum"  # how the two directions combine: "sum" (exp1) | "mean" (exp2)
    identity_weight: float = 0.0  # lambda_id; the term compares an image with its own translation


@dataclass
class TrainConfig:
    batch_size: int = 1  # per replica; global batch = batch_size x replicas
    generator_lr: float = 2e-4
    discriminator_lr: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    adam_epsilon: float = 1e-8  # the originals' (TF1's default; Keras' is 1e-7)
    adam_counter: str = "per_update"  # Adam's bias-correction counter: "per_update" | "per_step"
    update_order: str = "alternating"  # "alternating" (exp1) | "sequential" (exp2) | "joint" (fast)
    schedule_unit: str = "epochs"  # "epochs" | "steps": unit of `duration` and `decay_start`
    duration: int = 200  # length of training, in schedule_unit
    decay_start: int = 100  # lr constant until here, then linear decay to 0 at `duration`
    max_steps: int = 0  # stop after this many steps (0: train the whole duration); lr keeps its schedule
    pool_size: int = 50  # history pool per domain; 0 turns it off
    pool_mode: str = "cyclegan"  # "cyclegan" (exp1's rule as written) | "aliased" (exp1's as it ran) | "tfgan" (exp2's)
    checkpoint_every: int = 10000  # steps
    checkpoint_early_every: int = 0  # also a checkpoint every this many steps up to checkpoint_early_until (0: none)
    checkpoint_early_until: int = 0  # steps
    image_every: int = 1000  # steps between TensorBoard image panels
    log_every: int = 100  # steps between TensorBoard scalars
    max_checkpoints: int = 0  # 0 keeps every checkpoint
    strategy: str = "auto"  # "auto" | "default" | "mirrored" | "multiworker"
    scale_lr: bool = False  # multiply both learning rates by the number of replicas
    deterministic: bool = False  # TF op determinism (slower; exact reruns)
    jit_compile: bool = False  # compile the training step with XLA
    steps_per_execution: int = 1  # steps per compiled call, between two reads of the losses (GPUs: 10-100)
    mixed_precision: str = "off"  # "off" | "bfloat16" | "float16" (with dynamic loss scaling)

    def checkpoint_due(self, step: int) -> bool:
        """Whether training saves a checkpoint at `step`: every `checkpoint_every` steps, and every
        `checkpoint_early_every` steps up to `checkpoint_early_until` (a denser cadence early on)."""
        early = self.checkpoint_early_every and step <= self.checkpoint_early_until \
            and step % self.checkpoint_early_every == 0
        return step % self.checkpoint_every == 0 or bool(early)

    @property
    def batches_per_step(self) -> int:
        """Batches of each domain one step consumes: 2 in the sequential order, else 1."""
        return 2 if self.update_order == "sequential" else 1


@dataclass
class ExperimentConfig:
    name: str = "exp1"
    seed: int = 42
    data: DataConfig = field(default_factory=DataConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @property
    def channels(self) -> int:
        """Channels of a generator input/output and a discriminator input: image (+ mask)."""
        return 2 if self.data.include_masks else 1

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.data.height, self.data.width, self.channels)


CONV_VARIANTS = {  # ConvConfig fields that pick a variant -> its names (nets/networks.py builds them)
    "padding": ("zero", "reflect"),
    "kernel_init": ("truncated_normal", "normal"),
    "conv_bias": ("always", "unnormalised"),
    "norm_scale_init": ("truncated_normal", "ones"),
}
GENERATOR_VARIANTS = {  # GeneratorConfig's own variant fields -> their names (nets/networks.py)
    "activation": ("leaky_relu", "relu"),
    "residual_activation": ("relu", "none"),
    "upsample": ("conv_transpose", "nn_upsample_conv", "bilinear_upsample_conv"),
    "transpose_init": ("network", "glorot_uniform"),
}
CHOICES = {  # every field with a fixed set of values -> the values. A field that picks a variant
    # from a table names the table's keys here; the table checks them when it loads (variant_table)
    "data.pairing": ("independent", "exp1"),  # data/pipeline.py
    **{f"generator.{key}": names for key, names in {**CONV_VARIANTS, **GENERATOR_VARIANTS}.items()},
    **{f"discriminator.{key}": names for key, names in CONV_VARIANTS.items()},
    "generator.transpose_kernel_size": (3, 4),
    "loss.cycle_reduction": ("sum", "mean"),
    "train.schedule_unit": ("epochs", "steps"),
    "train.update_order": ("alternating", "sequential", "joint"),  # gan/update_orders.py
    "train.adam_counter": ("per_update", "per_step"),
    "train.pool_mode": ("cyclegan", "aliased", "tfgan"),  # gan/pool.py
    "train.mixed_precision": ("off", "bfloat16", "float16"),  # gan/precision.py
    "train.strategy": ("auto", "default", "mirrored", "multiworker"),
}


def variant_table(key: str, table: dict) -> dict:
    """`table` (a variant's name -> what builds it) for the field `key`, checked to hold exactly
    the names CHOICES gives that field, so that a name added on one side only fails on import."""
    if tuple(table) != CHOICES[key]:
        raise ConfigError(f"the table for {key} builds {', '.join(map(str, table))} but config.CHOICES names "
                          f"{', '.join(map(str, CHOICES[key]))}")
    return table


POSITIVE = (
    "data.height", "data.width", "generator.filters", "discriminator.filters",
    "train.batch_size", "train.duration", "train.checkpoint_every", "train.image_every",
    "train.log_every", "train.steps_per_execution", "train.adam_epsilon", "train.generator_lr",
    "train.discriminator_lr",
    "generator.norm_epsilon", "discriminator.norm_epsilon",
)
NON_NEGATIVE = (
    "data.eval_images", "generator.residual_blocks", "train.decay_start", "train.max_steps",
    "train.pool_size", "train.max_checkpoints", "train.checkpoint_early_every", "train.checkpoint_early_until",
    "loss.generator_adversarial_weight", "loss.discriminator_real_weight",
    "loss.discriminator_fake_weight", "loss.cycle_weight", "loss.identity_weight",
)


def _sections() -> dict[str, type]:
    return {f.name: f.type for f in dataclasses.fields(ExperimentConfig) if f.name not in ("name", "seed")}


def valid_keys() -> list[str]:
    """Every dotted key a config file or `--set` may name."""
    keys = ["name", "seed"]
    for section, cls in _sections().items():
        cls = globals()[cls] if isinstance(cls, str) else cls
        keys += [f"{section}.{f.name}" for f in dataclasses.fields(cls)]
    return keys


KIND_NAMES = {int: "an integer", float: "a number", str: "a string"}


def _coerce(key: str, value: Any, default: Any) -> Any:
    """Convert `value` (JSON value or override string) to the type of `default`."""
    kind = type(default)
    if isinstance(value, str) and kind is not str:
        text = value.strip()
        if kind is bool:
            if text.lower() in ("true", "1", "yes", "on"):
                return True
            if text.lower() in ("false", "0", "no", "off"):
                return False
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{key}: expected {KIND_NAMES[kind]}, got {value!r}") from err
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, float) and value.is_integer())):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return int(value)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{key}: expected a finite number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _unknown(key: str) -> ConfigError:
    """The error for an unknown key: the closest keys of its section, else the section's keys, else the sections."""
    section, _, name = key.rpartition(".")
    in_section = [valid for valid in valid_keys() if valid.rpartition(".")[0] == section]
    names = {valid.rpartition(".")[2]: valid for valid in in_section}
    close = [names[match] for match in difflib.get_close_matches(name, list(names), n=3, cutoff=0.6)]
    if close:
        return ConfigError(f"unknown config key {key!r}; did you mean {' or '.join(close)}?")
    if in_section:
        return ConfigError(f"unknown config key {key!r}; valid keys there: {', '.join(in_section)}")
    sections = sorted({valid.partition(".")[0] for valid in valid_keys()})
    return ConfigError(f"unknown config key {key!r}; valid sections: {', '.join(sections)}")


def _set(config: ExperimentConfig, key: str, value: Any) -> None:
    parts = key.split(".")
    if len(parts) == 1 and parts[0] in ("name", "seed"):
        setattr(config, key, _coerce(key, value, getattr(config, key)))
        return
    if len(parts) != 2 or parts[0] not in _sections():
        raise _unknown(key)
    section = getattr(config, parts[0])
    if parts[1] not in {f.name for f in dataclasses.fields(section)}:
        raise _unknown(key)
    setattr(section, parts[1], _coerce(key, value, getattr(section, parts[1])))


def _get(config: ExperimentConfig, key: str) -> Any:
    value: Any = config
    for part in key.split("."):
        value = getattr(value, part)
    return value


def validate(config: ExperimentConfig) -> None:
    """Raise ConfigError naming the first field whose value cannot be used."""
    for key in filter(CHOICES.__contains__, valid_keys()):
        if _get(config, key) not in CHOICES[key]:
            raise ConfigError(f"{key} must be one of {', '.join(map(str, CHOICES[key]))}; got {_get(config, key)!r}")
    for key in POSITIVE:
        if _get(config, key) <= 0:
            raise ConfigError(f"{key} must be positive; got {_get(config, key)!r}")
    for key in NON_NEGATIVE:
        if _get(config, key) < 0:
            raise ConfigError(f"{key} must not be negative; got {_get(config, key)!r}")
    for key in ("train.beta_1", "train.beta_2"):
        if not 0 <= _get(config, key) < 1:
            raise ConfigError(f"{key} must be in [0, 1); got {_get(config, key)!r}")
    for key in ("data.height", "data.width"):
        if _get(config, key) % 4:
            raise ConfigError(
                f"{key} = {_get(config, key)} is not divisible by 4: the generator downsamples twice "
                "by 2 and must upsample back to the same size; choose a multiple of 4")
    for key in ("train.log_every", "train.image_every", "train.checkpoint_every", "train.checkpoint_early_every"):
        if _get(config, key) % config.train.steps_per_execution:
            raise ConfigError(
                f"{key} = {_get(config, key)} is not a multiple of train.steps_per_execution "
                f"({config.train.steps_per_execution}): the losses are read once per execution")
    if config.train.decay_start > config.train.duration:
        raise ConfigError(
            f"train.decay_start ({config.train.decay_start}) must not exceed train.duration "
            f"({config.train.duration})")


def config_from_dict(raw: dict[str, Any], overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Build a validated config from a nested dict and `section.key=value` override strings."""
    config = ExperimentConfig()
    if not isinstance(raw, dict):
        raise ConfigError("a config must be a JSON object")
    for top, value in raw.items():
        if isinstance(value, dict):
            for key, inner in value.items():
                _set(config, f"{top}.{key}", inner)
        else:
            _set(config, top, value)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like section.key=value")
        key, value = item.split("=", 1)
        _set(config, key.strip(), value)
    validate(config)
    return config


def load_config(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> ExperimentConfig:
    """Read a JSON config file, apply overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"config file {path} is not valid JSON: {err}") from err
    return config_from_dict(raw, overrides)


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The fully resolved config as a nested dict (what a run directory's config.json holds)."""
    return dataclasses.asdict(config)
