"""The onset study's report: onsets by the plan's rule, results.csv, onset.json, calibration.csv,
figures/ and report.md in the study folder.

An onset is found per run, direction (h2c, c2h) and lattice period (2, 4) on the median
checkerboard peak ratio (`cpr_db`) of the held-out translations; a run's onset is the earliest of
its four. Each onset is also given as epochs, as a fraction of the run's schedule and with the
learning rates at that step, because steps do not transfer across image sizes, network widths or
dataset sizes.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cyclegan.data.dataset import PreparedDataset
from cyclegan.domains import INPUT_DOMAIN
from cyclegan.gan.schedules import ConstantThenLinearDecay
from cyclegan.gan.update_orders import update_order
from cyclegan.grid_scores import PAPER_ONSETS, PAPER_SIZES, paper_experiment, periodic_hann
from cyclegan.runs.rundir import RunDir
from cyclegan.runs.translate import Translator
from cyclegan.runtime.machine import device_description
from cyclegan.train.training import run_length

from .runner import Study, StudyRun
from .scores import PERIODS, calibrate, detection_limits


@dataclass
class RunOnset:
    run: StudyRun
    step: int | None  # None: censored
    last_step: int  # the last evaluated step (where a censored run is censored)
    by: str  # "h2c p4" etc.: the direction and period whose onset came first ("" when censored)
    per_series: dict[str, int | None]  # {"h2c p4": step or None, ...}
    complete: bool  # trained to its end step
    failure: dict | None  # status.json's entry when the training stopped with an error


def find_onsets(study: Study, bands: dict) -> list[RunOnset]:
    rule = study.plan.onset
    status = study.status()
    onsets = []
    for run in study.runs:
        rows = study.scores(run)
        per_series = {}
        for direction in INPUT_DOMAIN:
            series = sorted((row for row in rows if row["direction"] == direction), key=lambda row: row["step"])
            for period in PERIODS:
                top = bands[run.size][direction][f"cpr_db_p{period}_q75"]
                per_series[f"{direction} p{period}"] = rule.find(
                    [row["step"] for row in series], [row[f"cpr_db_p{period}_median"] for row in series], top)
        found = {name: step for name, step in per_series.items() if step is not None}
        by = min(found, key=found.get) if found else ""
        last = max((row["step"] for row in rows), default=0)
        onsets.append(RunOnset(run, found.get(by), last, by, per_series, last >= run.end_step and run.end_step > 0,
                               status.get(run.name)))
    return onsets


def schedule_facts(run: StudyRun, step: int) -> dict:
    """{"epochs", "schedule_fraction", "generator_lr", "discriminator_lr"} of `run` at `step`."""
    train = run.config.train
    dataset = PreparedDataset.open(run.data)
    steps_per_epoch = dataset.epoch_steps(train.batch_size, update_order(train).batches_per_step,
                                          run.config.data.pairing)
    unit = run_length(run.config, dataset, 1).steps_per_unit
    total = train.duration * unit

    def rate(base):
        return float(ConstantThenLinearDecay(base, train.duration, train.decay_start, unit)(step))

    return {"epochs": step / steps_per_epoch, "schedule_fraction": step / total,
            "generator_lr": rate(train.generator_lr), "discriminator_lr": rate(train.discriminator_lr)}


def write_report(study: Study) -> dict:
    """Every output of the study folder's report; returns onset.json's content."""
    out = study.out
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    bands = study.baselines()
    onsets = find_onsets(study, bands)
    _write_results(study, out / "results.csv")
    calibration = {size: calibrate(np.concatenate(list(study.heldout_images(size).values())),
                                   study.plan.onset.above_real_db) for size in bands}
    _write_calibration(calibration, out / "calibration.csv")
    summary = _onset_summary(study, onsets, bands, calibration)
    (out / "onset.json").write_text(json.dumps(summary, indent=2) + "\n")
    plot_scores(study, onsets, bands, figures / "scores.png")
    plot_onsets(study, onsets, figures / "onsets.png")
    arm_figures = {}
    for arm in study.plan.arms:
        shown = next((onset for onset in onsets if onset.run.arm == arm and study.scores(onset.run)), None)
        if shown is not None:
            arm_figures[arm.name] = figures / f"arm-{arm.name}.png"
            plot_arm(study, shown, arm_figures[arm.name])
    (out / "report.md").write_text(_markdown(study, onsets, summary, arm_figures))
    return summary


def _write_results(study: Study, path: Path) -> None:
    rows = [{"arm": run.arm.name, "seed": run.seed, **row} for run in study.runs for row in study.scores(run)]
    with path.open("w", newline="") as handle:
        if rows:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def _write_calibration(calibration: dict, path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["size", "period", "amplitude", "cpr_db_median", "threshold_db",
                                                    "detected"])
        writer.writeheader()
        for size, rows in calibration.items():
            writer.writerows({"size": f"{size[0]}x{size[1]}", **row} for row in rows)


def _onset_summary(study: Study, onsets: list[RunOnset], bands: dict, calibration: dict) -> dict:
    runs = []
    for onset in onsets:
        entry = {"run": onset.run.name, "arm": onset.run.arm.name, "seed": onset.run.seed,
                 "onset_step": onset.step, "censored": onset.step is None, "censored_at": None,
                 "by": onset.by or None, "per_series": onset.per_series, "last_evaluated_step": onset.last_step,
                 "end_step": onset.run.end_step, "complete": onset.complete, "failure": onset.failure}
        if onset.step is None:
            entry["censored_at"] = onset.last_step
        else:
            entry.update(schedule_facts(onset.run, onset.step))
        runs.append(entry)
    arms = {}
    for arm in study.plan.arms:
        mine = [entry for entry in runs if entry["arm"] == arm.name]
        steps = [entry["onset_step"] for entry in mine if entry["onset_step"] is not None]
        arms[arm.name] = {"seeds": len(mine), "with_onset": len(steps),
                          "median_onset_step": float(np.median(steps)) if steps else None,
                          "onset_steps": steps, "provoked": arm.provoked,
                          "paper_experiment": paper_experiment(next(r.config.name for r in study.runs
                                                                    if r.arm == arm))}
    return {"plan": study.plan.name, "rule": study.plan.onset.describe(),
            "rule_settings": study.plan.to_dict()["onset"],
            "real_band": {f"{size[0]}x{size[1]}": band for size, band in bands.items()},
            "detection_limit_rms": {f"{size[0]}x{size[1]}": {f"p{period}": limit for period, limit in
                                                             detection_limits(rows).items()}
                                    for size, rows in calibration.items()},
            "arms": arms, "runs": runs}


def _colours(count: int):
    from matplotlib import colormaps

    return [colormaps["tab10"](index % 10) for index in range(count)]


def plot_scores(study: Study, onsets: list[RunOnset], bands: dict, path: Path) -> None:
    """One row per arm, one column per (period, direction): each seed's median cpr_db against step,
    over the real images' band, with the threshold and each seed's onset."""
    from matplotlib.figure import Figure

    series = [(period, direction) for period in reversed(PERIODS) for direction in INPUT_DOMAIN]
    arms = study.plan.arms
    figure = Figure(figsize=(4 * len(series), 2.6 * len(arms)))
    axes = figure.subplots(len(arms), len(series), squeeze=False)
    colours = _colours(len(study.plan.seeds))
    margin = study.plan.onset.above_real_db
    for row, arm in enumerate(arms):
        arm_onsets = [onset for onset in onsets if onset.run.arm == arm]
        for column, (period, direction) in enumerate(series):
            axis = axes[row, column]
            key = f"cpr_db_p{period}"
            for onset, colour in zip(arm_onsets, colours):
                rows = sorted((r for r in study.scores(onset.run) if r["direction"] == direction),
                              key=lambda r: r["step"])
                axis.plot([r["step"] for r in rows], [r[f"{key}_median"] for r in rows], "-", marker=".",
                          color=colour, linewidth=1, label=f"seed {onset.run.seed}")
                step = onset.per_series.get(f"{direction} p{period}")
                if step is not None:
                    axis.axvline(step, color=colour, linestyle=":", linewidth=1.5)
            band = bands[arm_onsets[0].run.size][direction]
            axis.axhspan(band[f"{key}_q25"], band[f"{key}_q75"], color="grey", alpha=0.3, label="real images (IQR)")
            axis.axhline(band[f"{key}_q75"] + margin, color="black", linestyle="--", linewidth=0.8,
                         label=f"real 75th pct + {margin:g} dB")
            axis.grid(alpha=0.3)
            axis.tick_params(labelsize=7)
            if row == 0:
                axis.set_title(f"{direction}, period {period}", fontsize=9)
            if column == 0:
                axis.set_ylabel(f"{arm.name}\ncpr (dB)", fontsize=8)
            if row == len(arms) - 1:
                axis.set_xlabel("training step", fontsize=8)
    axes[0, 0].legend(fontsize=6)
    figure.suptitle(f"{study.plan.name}: median checkerboard peak ratio of held-out translations "
                    "(dotted: onsets)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def plot_onsets(study: Study, onsets: list[RunOnset], path: Path) -> None:
    """Time to onset per arm: a filled dot per seed with an onset, an open triangle where a seed is
    censored (at its last evaluated step)."""
    from matplotlib.figure import Figure

    arms = study.plan.arms
    figure = Figure(figsize=(8, 0.6 * len(arms) + 1.5))
    axis = figure.subplots()
    for row, arm in enumerate(arms):
        mine = [onset for onset in onsets if onset.run.arm == arm]
        for offset, onset in zip(np.linspace(-0.15, 0.15, max(len(mine), 1)), mine):
            if onset.step is not None:
                axis.plot(onset.step, row + offset, "o", color="tab:red")
            else:
                axis.plot(onset.last_step, row + offset, ">", color="tab:blue", fillstyle="none")
    axis.plot([], [], "o", color="tab:red", label="onset")
    axis.plot([], [], ">", color="tab:blue", fillstyle="none", label="censored (no onset by this step)")
    axis.set_yticks(range(len(arms)), [arm.name + (" (provoked)" if arm.provoked else "") for arm in arms],
                    fontsize=8)
    axis.set_ylim(-0.5, len(arms) - 0.5)
    axis.set_xlim(left=0)
    axis.set_xlabel("training step")
    axis.grid(alpha=0.3, axis="x")
    axis.legend(fontsize=7, loc="lower right")
    figure.suptitle(f"{study.plan.name}: time to grid-artefact onset per arm and seed", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def key_steps(onset: RunOnset, rows: list[dict]) -> list[tuple[str, int]]:
    """(label, step) for the arm figure: the first evaluation, the minimum, the onset, the last."""
    direction, _, period = (onset.by or "h2c p4").partition(" ")
    series = sorted((row for row in rows if row["direction"] == direction), key=lambda row: row["step"])
    minimum = min(series, key=lambda row: row[f"cpr_db_{period}_median"])["step"]
    marked = [("start", series[0]["step"]), ("minimum", minimum)]
    if onset.step is not None:
        marked.append(("onset", onset.step))
    marked.append(("end", series[-1]["step"]))
    labels: dict[int, list[str]] = {}
    for label, step in marked:
        labels.setdefault(step, []).append(label)
    return [(", ".join(names), step) for step, names in sorted(labels.items())]


def plot_arm(study: Study, onset: RunOnset, path: Path) -> None:
    """For one run: a held-out image's translation, its difference from the input (stretched so
    that ±its 99th percentile fills the colour range, with a scale bar in image units, [-1, 1]
    being the image's range) and the translation's power spectrum, at the key steps."""
    from matplotlib.figure import Figure

    run = onset.run
    rows = study.scores(run)
    direction = (onset.by or "h2c p4").split()[0]
    image = study.heldout_images(run.size)[INPUT_DOMAIN[direction]][:1]
    translate = Translator(RunDir(run.path))
    steps = key_steps(onset, rows)
    translated = {step: translate(step, direction, image)[0, ..., 0] for _, step in steps}
    differences = {step: values - image[0, ..., 0] for step, values in translated.items()}
    limit = max(float(np.percentile(np.abs(np.stack(list(differences.values()))), 99)), 1e-3)
    figure = Figure(figsize=(3.2 * len(steps), 9))
    axes = figure.subplots(3, len(steps), squeeze=False)
    for column, (label, step) in enumerate(steps):
        centred = translated[step] - translated[step].mean()
        window = np.outer(periodic_hann(centred.shape[0]), periodic_hann(centred.shape[1]))
        spectrum = np.fft.fftshift(np.abs(np.fft.fft2(centred * window)) ** 2)
        axes[0, column].imshow(translated[step], cmap="gray", vmin=-1, vmax=1)
        axes[0, column].set_title(f"{label}: step {step:,}", fontsize=9)
        shown = axes[1, column].imshow(differences[step], cmap="RdBu_r", vmin=-limit, vmax=limit)
        figure.colorbar(shown, ax=axes[1, column], fraction=0.046, pad=0.04, label="image units")
        power = axes[2, column].imshow(np.log10(spectrum + 1e-12), cmap="magma")
        figure.colorbar(power, ax=axes[2, column], fraction=0.046, pad=0.04, label="log10 power")
        for axis in axes[:, column]:
            axis.set_xticks([])
            axis.set_yticks([])
    axes[0, 0].set_ylabel("translation", fontsize=9)
    axes[1, 0].set_ylabel(f"translated − input, ×{1 / limit:.3g}", fontsize=9)
    axes[2, 0].set_ylabel("spectrum (centred)", fontsize=9)
    figure.suptitle(f"{run.name}, {direction}: a held-out image at the start, at the score's minimum, at onset "
                    "and at the end (columns in step order)", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def _onset_cell(entry: dict) -> str:
    if entry["failure"] and entry["onset_step"] is None:
        return f"stopped at {entry['failure']['step']:,} (exit {entry['failure']['exit']})"
    if entry["onset_step"] is None:
        text = f"censored at {entry['censored_at']:,}"
        return text if entry["complete"] else text + " (incomplete)"
    return f"**{entry['onset_step']:,}** ({entry['by']})"


def _markdown(study: Study, onsets: list[RunOnset], summary: dict, arm_figures: dict) -> str:
    plan = study.plan
    lines = [f"# Grid-artefact onset study: {plan.name}", "", plan.description, "",
             f"Machine: {device_description()}. Plan: `{study.out / 'plan.json'}`.", "",
             "## The onset rule (fixed in the plan before any run)", "", summary["rule"] + ".",
             "It is applied to each direction and lattice period (2 and 4 pixels); a run's onset is the earliest "
             "of the four.", "", "## What the score can see", ""]
    for size, limits in summary["detection_limit_rms"].items():
        for period, limit in limits.items():
            seen = "never, up to 0.3" if limit is None else f"{limit:.2g} RMS ({limit * 127.5:.2g} grey levels of 255)"
            lines.append(f"- {size}, period {period[1:]}: a lattice injected into the held-out images reaches the "
                         f"threshold from {seen}.")
    lines += ["", "## Onsets", "",
              "| arm | seed | onset step | epochs | fraction of schedule | G lr at onset | last evaluated | paper |",
              "|---|---|---|---:|---:|---:|---:|---|"]
    for entry in summary["runs"]:
        experiment = summary["arms"][entry["arm"]]["paper_experiment"]
        low, high = PAPER_ONSETS[experiment]
        paper = f"{experiment}: {low // 1000}k" + (f"–{high // 1000}k" if high != low else "") + \
            f" at {PAPER_SIZES[experiment]}"
        facts = ("–", "–", "–") if entry["onset_step"] is None else (
            f"{entry['epochs']:.1f}", f"{entry['schedule_fraction']:.3f}", f"{entry['generator_lr']:.2g}")
        lines.append(f"| {entry['arm']} | {entry['seed']} | {_onset_cell(entry)} | {' | '.join(facts)} | "
                     f"{entry['last_evaluated_step']:,} | {paper} |")
    lines += ["", "| arm | seeds with an onset | median onset step |", "|---|---:|---:|"]
    for name, arm in summary["arms"].items():
        median = "–" if arm["median_onset_step"] is None else f"{arm['median_onset_step']:,.0f}"
        lines.append(f"| {name}{' (provoked)' if arm['provoked'] else ''} | {arm['with_onset']} / {arm['seeds']} | "
                     f"{median} |")
    lines += ["", "Steps do not transfer across scales: the paper's onsets were seen at its image sizes, widths and "
              "datasets, and a network a fraction of that size on a phantom may show a pattern sooner, later or "
              "never. Compare where in its schedule each arm's pattern appears, and the arms with each other.",
              "", "## Figures", "", "![scores](figures/scores.png)", "", "![onsets](figures/onsets.png)", ""]
    for name, path in arm_figures.items():
        lines += [f"![{name}](figures/{path.name})", ""]
    lines += ["## Arms", ""]
    for arm in plan.arms:
        overrides = " ".join(f"--set {item}" for item in (*plan.scale, *arm.set)) or "(none)"
        lines.append(f"- **{arm.name}**{' (provoked)' if arm.provoked else ''}: `{arm.config}` {overrides}. "
                     f"{arm.description}")
    return "\n".join(lines) + "\n"
