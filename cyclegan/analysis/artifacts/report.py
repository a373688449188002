"""Grid-artefact scores of a run's translations, checkpoint by checkpoint, against the real images.

Images are (N, H, W, C) float arrays in [-1, 1]; only the image channel (0) is scored. `tile_rms`
is taken inside the breast (the input's pixels above the black background), `cpr_db` over the
whole image (see cyclegan/grid_scores.py). A translation is scored on its own, exactly like the real image
it came from, so the real images' scores are the baseline a translation's rise is measured from.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from cyclegan.data.dataset import PreparedDataset
from cyclegan.data.pipeline import split_images
from cyclegan.display import DIFFERENCE_GAIN
from cyclegan.domains import DIRECTIONS, INPUT_DOMAIN
from cyclegan.grid_scores import METRICS, PAPER_ONSETS, PAPER_SELECTION_STEPS, paper_experiment, score_images
from cyclegan.runs.rundir import RunDir
from cyclegan.runs.translate import translate_batches

CSV_COLUMNS = ["step", "direction"] + [f"{metric}_{stat}" for metric in METRICS for stat in ("median", "q25", "q75")] \
    + [f"baseline_{metric}" for metric in METRICS]


def summarise(scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Median and quartiles of each metric: {"cpr_db_median": ..., "cpr_db_q25": ..., ...}."""
    summary = {}
    for metric in METRICS:
        q25, median, q75 = np.percentile(scores[metric], [25, 50, 75])
        summary.update({f"{metric}_median": float(median), f"{metric}_q25": float(q25), f"{metric}_q75": float(q75)})
    return summary


@dataclass
class ArtifactCurve:
    rows: list[dict]  # one per (step, direction), CSV_COLUMNS
    experiment: str  # "exp1" or "exp2": which paper facts apply

    def onset(self, direction: str, threshold_db: float) -> int | None:
        """First step whose median cpr_db exceeds the baseline by `threshold_db` at it and the next checkpoint."""
        rows = sorted((r for r in self.rows if r["direction"] == direction), key=lambda r: r["step"])
        above = [r["cpr_db_median"] - r["baseline_cpr_db"] > threshold_db for r in rows]
        for index in range(len(rows) - 1):
            if above[index] and above[index + 1]:
                return rows[index]["step"]
        return None


def evaluate_run(run: RunDir, dataset: PreparedDataset, split: str = "eval", max_images: int | None = None,
                 progress: bool = True) -> ArtifactCurve:
    """Score both directions' translations of the split's images at every kept checkpoint."""
    config = run.config()
    steps = run.kept_steps()
    inputs = {direction: split_images(dataset, split, domain, config.data.include_masks, limit=max_images)[1]
              for direction, domain in INPUT_DOMAIN.items()}
    for direction, images in inputs.items():
        if len(images) == 0:
            raise ValueError(f"{dataset.path} has no {split} images of the {INPUT_DOMAIN[direction]} domain")
    baselines = {direction: summarise(score_images(images, images)) for direction, images in inputs.items()}
    rows = []
    for step in tqdm(steps, unit="checkpoint", disable=not progress):
        generators = run.generators(step)
        for direction, images in inputs.items():
            translated = translate_batches(generators[direction], images)
            rows.append({"step": step, "direction": direction, **summarise(score_images(translated, images)),
                         **{f"baseline_{m}": baselines[direction][f"{m}_median"] for m in METRICS}})
    return ArtifactCurve(rows, paper_experiment(config.name))


def write_csv(curve: ArtifactCurve, path: Path) -> None:
    with Path(path).open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(curve.rows)


def plot_curve(curve: ArtifactCurve, onsets: dict[str, int | None], threshold_db: float, path: Path) -> Figure:
    """Both metrics against step, both directions with their interquartile band and baseline, the
    onset threshold (baseline + `threshold_db`, on cpr_db), the paper's onset (band) and selection
    steps, and the estimated onsets. Saved to `path`, and returned."""
    figure = Figure(figsize=(12, 4.5))
    axes = figure.subplots(1, 2)
    low, high = PAPER_ONSETS[curve.experiment]
    paper_onset = f"{low // 1000}k" + (f"–{high // 1000}k" if high != low else "")
    last_step = max(row["step"] for row in curve.rows)
    show_paper = last_step >= low / 2  # the paper's marks would squash a short run's curve
    colours = dict(zip(DIRECTIONS, ("tab:red", "tab:blue")))
    for axis, metric in zip(axes, METRICS):
        for direction, colour in colours.items():
            rows = sorted((r for r in curve.rows if r["direction"] == direction), key=lambda r: r["step"])
            steps = [r["step"] for r in rows]
            axis.plot(steps, [r[f"{metric}_median"] for r in rows], "o-", color=colour, label=f"{direction} median")
            axis.fill_between(steps, [r[f"{metric}_q25"] for r in rows], [r[f"{metric}_q75"] for r in rows],
                              color=colour, alpha=0.15, label=f"{direction} quartiles (25–75 % of images)")
            baseline = rows[0][f"baseline_{metric}"]
            axis.axhline(baseline, color=colour, linestyle="--", linewidth=1,
                         label=f"real {INPUT_DOMAIN[direction]} (baseline)")
            if metric == "cpr_db":
                axis.axhline(baseline + threshold_db, color=colour, linestyle=(0, (1, 3)), linewidth=1.5,
                             label=f"{direction} onset threshold: baseline + {threshold_db:g} dB")
            if onsets.get(direction) is not None:
                axis.axvline(onsets[direction], color=colour, linestyle=":", linewidth=1.5,
                             label=f"{direction} estimated onset {onsets[direction]:,}")
        if show_paper:
            axis.axvspan(low, max(high, low + 500), color="grey", alpha=0.25,
                         label=f"paper: patterns from {paper_onset}")
            for step in PAPER_SELECTION_STEPS[curve.experiment]:
                axis.axvline(step, color="black", linestyle="-.", linewidth=1)
            if PAPER_SELECTION_STEPS[curve.experiment]:
                axis.plot([], [], "k-.", label="paper: images chosen at 35k / 70k")
        axis.set_xlabel("training step")
        axis.set_ylabel({"cpr_db": "checkerboard peak ratio (dB)", "tile_rms": "tile RMS (image units)"}[metric])
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    note = "" if show_paper else f" — paper: patterns from {paper_onset} steps, beyond this run's {last_step:,}"
    figure.suptitle(f"Grid artefacts over training ({curve.experiment}){note}")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return figure


def plot_comparison(run: RunDir, dataset: PreparedDataset, steps: tuple[int, int], direction: str, path: Path,
                    split: str = "eval", count: int = 4) -> None:
    """The same eval images translated at two steps: input | step a | step b | a − input | b − input,
    the differences amplified ×DIFFERENCE_GAIN as in the TensorBoard panels, with a colour scale bar."""
    config = run.config()
    images = split_images(dataset, split, INPUT_DOMAIN[direction], config.data.include_masks, limit=count)[1]
    translated = {step: translate_batches(run.generators(step)[direction], images)
                  for step in run.select_steps(list(steps))}
    a, b = steps
    gain = DIFFERENCE_GAIN
    columns = [("input", images), (f"step {a}", translated[a]), (f"step {b}", translated[b]),
               (f"step {a} − input (×{gain:g})", translated[a] - images),
               (f"step {b} − input (×{gain:g})", translated[b] - images)]
    figure = Figure(figsize=(12.8, 2.6 * len(images)), layout="constrained")
    axes = figure.subplots(len(images), 5, squeeze=False)
    for column, (title, stack) in enumerate(columns):
        difference = column >= 3
        for row in range(len(images)):
            axis = axes[row, column]
            limit = 1.0 / gain if difference else 1.0
            shown = axis.imshow(stack[row, ..., 0], cmap="gray", vmin=-limit, vmax=limit)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(title, fontsize=9)
    figure.suptitle(f"{direction}: steps {a} and {b}")
    scale = figure.colorbar(shown, ax=axes[:, 4].tolist(), shrink=0.8)
    scale.set_label("translated − input (image units; clipped beyond)")
    figure.savefig(path, dpi=120)


def write_report(run_dir, data_dir, out_dir, split: str = "eval", threshold_db: float = 10.0,
                 compare_steps: tuple[int, int] | None = None, max_images: int | None = None,
                 progress: bool = True) -> dict:
    """artifacts.csv, artifacts.png, onset.json (and compare-*.png) in `out_dir`; returns the onsets.

    `data_dir`: the prepared dataset whose `split` is scored; None: the one the run was trained on.
    """
    if not threshold_db > 0:
        raise ValueError(f"--threshold-db must be above 0 dB (the onset is a rise above the real images), "
                         f"got {threshold_db:g}")
    run = RunDir(run_dir)
    dataset = run.dataset(data_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    curve = evaluate_run(run, dataset, split, max_images, progress)
    onsets = {direction: curve.onset(direction, threshold_db) for direction in INPUT_DOMAIN}
    write_csv(curve, out_dir / "artifacts.csv")
    plot_curve(curve, onsets, threshold_db, out_dir / "artifacts.png")
    if compare_steps:
        for direction in INPUT_DOMAIN:
            plot_comparison(run, dataset, compare_steps, direction,
                            out_dir / f"compare-{compare_steps[0]}-{compare_steps[1]}-{direction}.png", split)
    summary = {"threshold_db": threshold_db, "estimated_onset": onsets,
               "paper_onset": list(PAPER_ONSETS[curve.experiment]), "steps": sorted({r["step"] for r in curve.rows})}
    (out_dir / "onset.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
