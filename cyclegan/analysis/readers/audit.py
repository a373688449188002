"""Leak audit of a reader kit: can anything but the lesion tell modified from original images?

Per reader image (the 16-bit PNG file readers get; values v in 0..65535, v / 65535 the grey level):

    file_size          bytes of the file
    distinct_levels    number of distinct grey levels
    black_fraction     share of pixels at 0 (black)
    mean, std          of the grey levels (0..1)
    high_frequency     share of the spectral power (mean removed) above HIGH_FREQUENCY cycles per
                       pixel (half the Nyquist frequency), radially
    background_fraction, background_mean, background_std
                       the share of pixels outside the image's own breast region (`breast_region`,
                       as a reader's tool could find it) and their grey levels' mean and std
    padding_mean, padding_std
                       of the right-most PADDING_SHARE of the columns: where `prepare` pads a tall
                       image, and background for every breast (breasts are stored facing left)

and a classifier on all of them together: a standardised logistic regression with balanced class
weights, cross-validated in FOLDS folds grouped by source (`grouped_cv.out_of_fold_scores`), REPEATS
times; each image's score is its mean out-of-fold probability.

For each feature and the classifier: its AUC for separating modified (positive) from original
images, with an interval that takes the images of one source as a cluster (Obuchowski's variance,
`roc.auc_ci_clustered`, with Student's t on clusters − 1 degrees of freedom, as a kit has few
sources), and the medians among originals and among modified images. Two readings of one table:

- on the real kit (95 % intervals), an AUC beyond 0.5 ± LEAK_MARGIN (on either side) is a warning: a reader could
  use that feature besides the lesion (a generator may change brightness or texture for real; the
  warning says what and by how much, not that the kit is broken);
- on the *null kit* (the same cases with every modified image replaced by its own source, written
  through the same path), every AUC must be at chance: its interval, widened for the number of
  features tested (Bonferroni), covers 0.5. One that is not is a leak the kit itself makes.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.stats import t as student_t

from cyclegan.analysis.grouped_cv import out_of_fold_scores
from cyclegan.data.preprocess import breast_region

from .roc import auc_ci_clustered

FEATURES = ("file_size", "distinct_levels", "black_fraction", "mean", "std", "high_frequency",
            "background_fraction", "background_mean", "background_std", "padding_mean", "padding_std")
CLASSIFIER = "classifier"  # the audit row of the logistic regression on all FEATURES
GREY_LEVELS = 65535  # the 16-bit PNG's white
LEAK_MARGIN = 0.15  # real kit: AUCs within 0.5 ± this pass
ALPHA = 0.05  # null kit: family-wise error rate over FEATURES and the classifier
HIGH_FREQUENCY = 0.25  # cycles per pixel
PADDING_SHARE = 1 / 8  # of the columns, at the right
FOLDS, REPEATS = 5, 20
AUDIT_COLUMNS = ["kit", "feature", "auc", "ci_low", "ci_high", "original_median", "modified_median", "warning"]


def image_features(path: Path) -> dict[str, float]:
    """The FEATURES of one greyscale PNG file (16-bit; an 8-bit one is read on its own 0..255 scale)."""
    image = Image.open(path)
    white = 255.0 if image.mode == "L" else float(GREY_LEVELS)
    grey = np.asarray(image, np.float64) / white
    outside = ~breast_region(grey * 2.0 - 1.0)
    padding = grey[:, grey.shape[1] - max(1, round(grey.shape[1] * PADDING_SHARE)):]
    background = grey[outside] if outside.any() else np.zeros(1)
    return {"file_size": float(path.stat().st_size), "distinct_levels": float(np.unique(grey).size),
            "black_fraction": float(np.mean(grey == 0)), "mean": float(grey.mean()), "std": float(grey.std()),
            "high_frequency": high_frequency_share(grey), "background_fraction": float(outside.mean()),
            "background_mean": float(background.mean()), "background_std": float(background.std()),
            "padding_mean": float(padding.mean()), "padding_std": float(padding.std())}


def high_frequency_share(pixels: np.ndarray) -> float:
    """Share of the (h, w) image's spectral power, mean removed, above HIGH_FREQUENCY cycles per pixel; 0 if flat."""
    power = np.abs(np.fft.fft2(pixels - pixels.mean())) ** 2
    frequency = np.hypot(np.fft.fftfreq(pixels.shape[0])[:, None], np.fft.fftfreq(pixels.shape[1])[None, :])
    total = float(power.sum())
    return float(power[frequency > HIGH_FREQUENCY].sum()) / total if total > 0 else 0.0


def audit_leaks(paths: list[Path], modified: list[bool], sources: list[str], kit: str = "real") -> list[dict]:
    """One row (AUDIT_COLUMNS) per feature and one for the classifier, for the image files `paths`;
    `modified` says which are, `sources` which source each came from (the clusters). `kit`: "real"
    (warnings beyond LEAK_MARGIN) or "null" (warnings when not at chance)."""
    table = np.array([[features[name] for name in FEATURES] for features in map(image_features, paths)])
    truth = np.asarray(modified, dtype=int)
    scores = {**{name: table[:, index] for index, name in enumerate(FEATURES)},
              CLASSIFIER: out_of_fold_scores(table, truth, sources, FOLDS, REPEATS)}
    level = ALPHA / len(scores) if kit == "null" else ALPHA
    rows = []
    for name, values in scores.items():
        result = auc_ci_clustered(truth, values, sources)
        half_width = student_t.ppf(1.0 - level / 2.0, max(result.clusters - 1, 1)) * np.sqrt(max(result.variance, 0.0))
        row = {"kit": kit, "feature": name, "auc": result.auc, "ci_low": max(0.0, result.auc - half_width),
               "ci_high": min(1.0, result.auc + half_width), "original_median": float(np.median(values[truth == 0])),
               "modified_median": float(np.median(values[truth == 1]))}
        rows.append({**row, "warning": _warning(row)})
    return rows


def _warning(row: dict) -> str:
    """The row's warning, or "" (see the module docstring for the two kits' rules)."""
    if row["kit"] == "null":
        if row["ci_low"] <= 0.5 <= row["ci_high"]:
            return ""
        return (f"{row['feature']} separates the null kit's images (every 'modified' image its own source): "
                f"AUC {row['auc']:.2f}, interval {row['ci_low']:.2f}-{row['ci_high']:.2f} leaves out 0.5, "
                f"so the kit's own writing leaks the answer")
    if abs(row["auc"] - 0.5) <= LEAK_MARGIN + 1e-9:  # 0.35 and 0.65 pass, whatever the rounding
        return ""
    return (f"{row['feature']} separates modified from original images: AUC {row['auc']:.2f}, beyond 0.5 ± "
            f"{LEAK_MARGIN} (medians: originals {row['original_median']:.4g}, modified {row['modified_median']:.4g})")


def write_leak_audit(rows: list[dict], path: Path) -> Path:
    """The audit rows as CSV, numbers to 4 decimals."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=AUDIT_COLUMNS)
        writer.writeheader()
        writer.writerows({column: f"{value:.4f}" if isinstance(value, float) else value
                          for column, value in row.items()} for row in rows)
    return path
