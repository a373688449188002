"""A reproduction study's plan: its arms, their scale, steps, seeds, data, evaluation cadence and
the onset rule, read from a JSON file (experiments/reproduce/*.json) and fixed before any run.

A plan names arms; each arm is a shipped config plus `--set` overrides. Every arm trains each of
the plan's seeds at the plan's scale (`scale`: overrides applied to every arm before the arm's own)
for `steps` steps, with checkpoints at the evaluation cadence (dense early, even after). The keys
of a plan file are those of `Plan`, `Evaluation`, `OnsetRule` and `Arm` below.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from cyclegan.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]  # the repository: arms' config paths are relative to it


@dataclass(frozen=True)
class Evaluation:
    """Checkpoints, and so artefact scores: every `early_every` steps up to `early_until`, then every
    `every` steps; `images` held-out images per domain are scored at each."""

    early_every: int = 250
    early_until: int = 2000
    every: int = 1000
    images: int = 16


@dataclass(frozen=True)
class OnsetRule:
    """An onset is the first of `consecutive` evaluations in a row, each at or past `warmup` steps,
    whose median checkerboard peak ratio is at least `above_real_db` above the top of the real
    images' band (their 75th percentile) and at least `above_min_db` above the run's own minimum so
    far. A run that never meets it is censored at its last evaluated step."""

    warmup: int = 2000  # steps
    above_real_db: float = 3.0
    above_min_db: float = 3.0
    consecutive: int = 3

    def find(self, steps, medians, band_top: float) -> int | None:
        """The onset step of a run's evaluations (`steps` ascending, `medians` their median cpr_db
        in dB) against the real images' 75th percentile `band_top` (dB); None when censored."""
        running_min = float("inf")
        streak_start, streak = None, 0
        for step, median in zip(steps, medians):
            running_min = min(running_min, median)
            meets = step >= self.warmup and median >= band_top + self.above_real_db \
                and median >= running_min + self.above_min_db
            streak_start, streak = (streak_start if streak else step, streak + 1) if meets else (None, 0)
            if streak == self.consecutive:
                return streak_start
        return None

    def describe(self) -> str:
        return (f"the first of {self.consecutive} evaluations in a row at step >= {self.warmup:,} whose median "
                f"checkerboard peak ratio is >= {self.above_real_db:g} dB above the real images' 75th percentile "
                f"and >= {self.above_min_db:g} dB above the run's own minimum so far; else censored at the "
                "last evaluated step")


@dataclass(frozen=True)
class Arm:
    name: str  # a file-name-safe label, e.g. exp1-tconv3
    config: str  # a shipped config, relative to the repository, e.g. experiments/exp1.json
    set: tuple[str, ...] = ()  # the arm's own overrides, after the plan's scale
    description: str = ""
    provoked: bool = False  # settings chosen to bring artefacts earlier; runs beside an unprovoked arm


@dataclass(frozen=True)
class Data:
    """The built-in phantom the arms train on (used unless `reproduce --data` is given), and a
    second phantom, never trained on, whose images are scored."""

    phantom_count: int = 400  # images per domain
    phantom_size: str = "256x208"  # HEIGHTxWIDTH of the phantom's DICOMs, prepared down to the arms' size
    seed: int = 42
    heldout_seed: int = 1042


@dataclass(frozen=True)
class Plan:
    name: str
    arms: tuple[Arm, ...]
    steps: int
    seeds: tuple[int, ...] = (1, 2, 3)
    scale: tuple[str, ...] = ()  # overrides for every arm, e.g. data.height=64
    data: Data = field(default_factory=Data)
    evaluation: Evaluation = field(default_factory=Evaluation)
    onset: OnsetRule = field(default_factory=OnsetRule)
    description: str = ""

    def run_name(self, arm: Arm, seed: int) -> str:
        return f"{arm.name}-seed{seed}"

    def overrides(self, arm: Arm, seed: int) -> list[str]:
        """The `--set` overrides that train `arm` with `seed` in this plan."""
        cadence = self.evaluation
        return [*self.scale, *arm.set, f"seed={seed}", f"train.max_steps={self.steps}",
                f"train.checkpoint_every={cadence.every}", f"train.checkpoint_early_every={cadence.early_every}",
                f"train.checkpoint_early_until={cadence.early_until}", "train.max_checkpoints=0",
                f"train.image_every={cadence.every}"]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SMOKE = {  # `reproduce --smoke`: the same path at a tiny size, in about a minute
    "steps": 40, "seeds": (1,),
    "scale": ("data.height=32", "data.width=32", "data.eval_images=2", "generator.filters=4",
              "generator.residual_blocks=1", "discriminator.filters=4", "train.log_every=10"),
    "data": Data(phantom_count=12, phantom_size="64x52"),
    "evaluation": Evaluation(early_every=10, early_until=20, every=20, images=4),
    "onset": OnsetRule(warmup=10, consecutive=2),
}


def smoke(plan: Plan) -> Plan:
    """`plan` at a tiny size: one seed, 40 steps, 32x32 images, 4 filters, one residual block."""
    return dataclasses.replace(plan, name=f"{plan.name}-smoke", **SMOKE)


def select(plan: Plan, arms=(), seeds=()) -> Plan:
    """`plan` cut to the named `arms` and `seeds` (empty: all of them), e.g. to run one arm of a
    plan in a session; ConfigError naming one the plan does not have."""
    known = {arm.name: arm for arm in plan.arms}
    unknown = [name for name in arms if name not in known] + [str(seed) for seed in seeds if seed not in plan.seeds]
    if unknown:
        raise ConfigError(f"plan {plan.name} has no arm or seed {', '.join(unknown)}; its arms: "
                          f"{', '.join(known)}; its seeds: {', '.join(map(str, plan.seeds))}")
    return dataclasses.replace(plan, arms=tuple(arm for arm in plan.arms if not arms or arm.name in arms),
                               seeds=tuple(seed for seed in plan.seeds if not seeds or seed in seeds))


def load_plan(path) -> Plan:
    """Read and check a plan file; ConfigError naming the first problem."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"plan file {path} does not exist")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"plan file {path} is not valid JSON: {err}") from err
    return plan_from_dict(raw, str(path))


def plan_from_dict(raw: dict, where: str = "plan") -> Plan:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a plan must be a JSON object")
    raw = dict(raw)
    try:
        arms = tuple(_build(Arm, arm, f"{where}: arm {index}") for index, arm in enumerate(raw.pop("arms")))
    except KeyError as err:
        raise ConfigError(f"{where}: a plan needs 'arms', a list of {{name, config, set}}") from err
    nested = {key: _build(kind, raw.pop(key), f"{where}: {key}") for key, kind in
              (("data", Data), ("evaluation", Evaluation), ("onset", OnsetRule)) if key in raw}
    plan = _build(Plan, {**raw, "arms": arms, **nested}, where)
    _check(plan, where)
    return plan


def _build(kind, raw, where: str):
    """`kind(**raw)` with lists as tuples; ConfigError naming unknown or missing keys."""
    if isinstance(raw, kind):
        return raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a JSON object")
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        return kind(**{key: tuple(value) if isinstance(value, list) else value for key, value in raw.items()})
    except TypeError as err:
        raise ConfigError(f"{where}: {err}") from err


def _check(plan: Plan, where: str) -> None:
    names = [arm.name for arm in plan.arms]
    if not names:
        raise ConfigError(f"{where}: no arms")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: arm names must differ; got {names}")
    for arm in plan.arms:
        if not arm.name or not all(char.isalnum() or char in "-_." for char in arm.name):
            raise ConfigError(f"{where}: arm name {arm.name!r} must be letters, digits, '-', '_' or '.'")
        if not (ROOT / arm.config).is_file():
            raise ConfigError(f"{where}: arm {arm.name}: config {arm.config} does not exist")
    if not plan.seeds or len(set(plan.seeds)) != len(plan.seeds):
        raise ConfigError(f"{where}: seeds must be distinct and at least one; got {list(plan.seeds)}")
    cadence = plan.evaluation
    for name, value in (("steps", plan.steps), ("evaluation.every", cadence.every),
                        ("evaluation.early_every", cadence.early_every), ("evaluation.images", cadence.images),
                        ("onset.consecutive", plan.onset.consecutive), ("data.phantom_count", plan.data.phantom_count)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{where}: {name} must be a positive integer; got {value!r}")
    if plan.steps % cadence.every:
        raise ConfigError(f"{where}: steps ({plan.steps}) must be a multiple of evaluation.every ({cadence.every}), "
                          "so that the last step is evaluated")
    if plan.onset.above_real_db < 0 or plan.onset.above_min_db < 0:
        raise ConfigError(f"{where}: the onset rule's margins must not be negative")
