"""An automated reader: how detectable a run's modifications are, checkpoint by checkpoint.

At each step the originals are the split's real images of both domains and the modified images
their translations (healthy by h2c, cancer by c2h). Each image (channel 0 of an (H, W, C) array
in [-1, 1]) becomes a small feature vector: the grid-artefact scores at periods 4 and 2 and
high-frequency spectral statistics. A standardised logistic regression is cross-validated with
folds grouped by source image (`grouped_cv.out_of_fold_scores`: an original and its translation
are always in the same fold), and
the out-of-fold probabilities give the detection AUC — the automated counterpart of the paper's
readers detecting modification — with Newcombe's score-type 95 % interval (`roc.auc_score_ci`).
That interval stays valid at AUC = 1, where DeLong's variance is 0 and its interval shrinks to
1.000–1.000 whatever the number of images; it takes the images as independent cases.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from tqdm import tqdm

from cyclegan.analysis.grouped_cv import out_of_fold_scores
from cyclegan.analysis.readers.roc import auc_score_ci
from cyclegan.data.pipeline import split_images
from cyclegan.domains import INPUT_DOMAIN
from cyclegan.grid_scores import grid_artifact_score
from cyclegan.runs.rundir import RunDir
from cyclegan.runs.translate import translate_batches

FEATURES = ("cpr4_db", "tile4_rms", "cpr2_db", "tile2_rms", "high_band_log_share", "mid_band_log_share",
            "laplacian_rel_std")
CSV_COLUMNS = ["step", "originals", "modified", "folds", "auc", "ci_low", "ci_high", "ci_method"]
CI_METHOD = "Newcombe score interval"


def image_features(image: np.ndarray) -> np.ndarray:
    """FEATURES of one (H, W) float image, a (7,) float64 vector.

    Band shares are log10 of the Hann-windowed power above 0.35 and within 0.15–0.35 cycles/pixel
    over all non-DC power; the Laplacian's std is relative to the image's std.
    """
    image = np.asarray(image, np.float64)
    period4, period2 = grid_artifact_score(image, period=4), grid_artifact_score(image, period=2)
    residual = image - image.mean()
    window = np.outer(np.hanning(image.shape[0]), np.hanning(image.shape[1]))
    power = np.abs(np.fft.fft2(residual * window)) ** 2
    radius = np.hypot(*np.meshgrid(np.fft.fftfreq(image.shape[0]), np.fft.fftfreq(image.shape[1]), indexing="ij"))
    total = power[radius > 0].sum() + 1e-30
    high = power[radius > 0.35].sum() / total
    mid = power[(radius > 0.15) & (radius <= 0.35)].sum() / total
    laplacian = image[1:-1, 1:-1] * 4 - image[:-2, 1:-1] - image[2:, 1:-1] - image[1:-1, :-2] - image[1:-1, 2:]
    return np.array([period4["cpr_db"], period4["tile_rms"], period2["cpr_db"], period2["tile_rms"],
                     np.log10(high + 1e-12), np.log10(mid + 1e-12), laplacian.std() / (image.std() + 1e-12)])


@dataclass
class Detection:
    auc: float
    ci_low: float
    ci_high: float
    folds: int
    scores: np.ndarray  # (N,) out-of-fold probability of "modified"


def cross_validated_detection(originals: np.ndarray, modified: np.ndarray, folds: int = 5,
                              seed: int = 0) -> Detection:
    """Detection AUC of modified vs original images, (N, H, W) each, row i of both from source i."""
    if originals.shape != modified.shape or len(originals) < 2:
        raise ValueError(f"need at least 2 sources with an original and a modified image each; got "
                         f"{len(originals)} originals and {len(modified)} modified")
    features = np.array([image_features(image) for image in np.concatenate([originals, modified])])
    labels = np.repeat([0, 1], len(originals))
    groups = np.tile(np.arange(len(originals)), 2)
    folds = min(folds, len(originals))
    scores = out_of_fold_scores(features, labels, groups, folds, seed=seed)
    result = auc_score_ci(labels, scores)
    return Detection(result.auc, result.ci_low, result.ci_high, folds, scores)


def detect_run(run_dir, data_dir, out_dir, steps: list[int] | None = None, split: str = "eval",
               folds: int = 5, max_images: int | None = None, progress: bool = True) -> list[dict]:
    """Detection AUC at each selected (default: every kept) checkpoint; writes detect.csv and detect.png.

    `data_dir`: the prepared dataset whose `split` is translated; None: the one the run was trained on.
    """
    run = RunDir(run_dir)
    config = run.config()
    selected = sorted(run.select_steps(steps) if steps else run.kept_steps())
    dataset = run.dataset(data_dir)
    inputs = {direction: split_images(dataset, split, domain, config.data.include_masks, limit=max_images)[1]
              for direction, domain in INPUT_DOMAIN.items()}
    originals = np.concatenate([images[..., 0] for images in inputs.values()])
    rows = []
    for step in tqdm(selected, unit="checkpoint", disable=not progress):
        generators = run.generators(step)
        modified = np.concatenate([translate_batches(generators[direction], images)[..., 0]
                                   for direction, images in inputs.items()])
        detection = cross_validated_detection(originals, modified, folds, config.seed)
        rows.append({"step": step, "originals": len(originals), "modified": len(modified), "folds": detection.folds,
                     "auc": detection.auc, "ci_low": detection.ci_low, "ci_high": detection.ci_high,
                     "ci_method": CI_METHOD})
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "detect.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    _plot(rows, out_dir / "detect.png", config.name)
    return rows


def _plot(rows: list[dict], path: Path, name: str) -> None:
    steps = [row["step"] for row in rows]
    aucs = np.array([row["auc"] for row in rows])
    errors = np.array([[row["auc"] - row["ci_low"] for row in rows], [row["ci_high"] - row["auc"] for row in rows]])
    figure = Figure(figsize=(7, 4))
    axis = figure.subplots()
    axis.errorbar(steps, aucs, yerr=errors, fmt="o-", capsize=4, elinewidth=1.5,
                  label=f"automated detector, 95 % CI ({CI_METHOD})")
    axis.axhline(0.5, color="grey", linestyle="--", label="chance")
    if name.startswith("exp2"):
        axis.axhspan(0.90, 1.0, color="tab:red", alpha=0.1, label="paper's readers, exp2 (0.90–1.0)")
    else:
        axis.axhspan(0.48, 0.66, color="tab:red", alpha=0.1, label="paper's readers, exp1 (0.48–0.66)")
    axis.set_ylim(0, 1.02)
    axis.set_xlabel("training step")
    axis.set_ylabel("AUC: modified vs original")
    axis.set_title(f"Detectability of {name}'s modifications")
    axis.legend(fontsize=8)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
