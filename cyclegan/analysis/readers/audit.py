"""Leak audit of a reader kit: does a simple statistic of the image files tell modified from original?

Per reader image (the PNG file readers get), five statistics:

    file_size       bytes of the file
    zero_fraction   share of pixels at 0 (black) in the 8-bit image
    mean, std       of the 8-bit pixel values
    high_frequency  share of the spectral power (mean removed) above HIGH_FREQUENCY cycles per pixel
                    (half the Nyquist frequency), radially

For each: its AUC for separating modified (positive) from original images, with Newcombe's 95 %
interval (`roc.auc_score_ci`), and the statistic's median among originals and among modified images.
An AUC beyond 0.5 ± LEAK_MARGIN, on either side (a low AUC separates as well as a high one), is a
warning: a reader could tell the answer from that statistic alone.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from .roc import auc_score_ci

STATISTICS = ("file_size", "zero_fraction", "mean", "std", "high_frequency")
LEAK_MARGIN = 0.15  # AUCs within 0.5 ± this pass
HIGH_FREQUENCY = 0.25  # cycles per pixel
AUDIT_COLUMNS = ["statistic", "auc", "ci_low", "ci_high", "original_median", "modified_median", "warning"]


def image_statistics(path: Path) -> dict[str, float]:
    """The STATISTICS of one 8-bit greyscale PNG file."""
    pixels = np.asarray(Image.open(path), np.float64)
    return {"file_size": float(path.stat().st_size), "zero_fraction": float(np.mean(pixels == 0)),
            "mean": float(pixels.mean()), "std": float(pixels.std()), "high_frequency": high_frequency_share(pixels)}


def high_frequency_share(pixels: np.ndarray) -> float:
    """Share of the (h, w) image's spectral power, mean removed, above HIGH_FREQUENCY cycles per pixel; 0 if flat."""
    power = np.abs(np.fft.fft2(pixels - pixels.mean())) ** 2
    frequency = np.hypot(np.fft.fftfreq(pixels.shape[0])[:, None], np.fft.fftfreq(pixels.shape[1])[None, :])
    total = float(power.sum())
    return float(power[frequency > HIGH_FREQUENCY].sum()) / total if total > 0 else 0.0


def audit_leaks(paths: list[Path], modified: list[bool]) -> list[dict]:
    """One row (AUDIT_COLUMNS) per statistic for the image files `paths`, `modified` saying which are."""
    values = [image_statistics(path) for path in paths]
    truth = np.asarray(modified, dtype=int)
    rows = []
    for statistic in STATISTICS:
        scores = np.array([value[statistic] for value in values])
        result = auc_score_ci(truth, scores)
        row = {"statistic": statistic, "auc": result.auc, "ci_low": result.ci_low, "ci_high": result.ci_high,
               "original_median": float(np.median(scores[truth == 0])),
               "modified_median": float(np.median(scores[truth == 1]))}
        rows.append({**row, "warning": _warning(row)})
    return rows


def _warning(row: dict) -> str:
    """The warning for a row whose AUC is beyond 0.5 ± LEAK_MARGIN, else ""."""
    if abs(row["auc"] - 0.5) <= LEAK_MARGIN + 1e-9:  # 0.35 and 0.65 pass, whatever the rounding
        return ""
    return (f"{row['statistic']} separates modified from original images: AUC {row['auc']:.2f}, beyond 0.5 ± "
            f"{LEAK_MARGIN} (medians: originals {row['original_median']:.4g}, modified {row['modified_median']:.4g})")


def write_leak_audit(rows: list[dict], path: Path) -> Path:
    """The audit rows as CSV, numbers to 4 decimals."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=AUDIT_COLUMNS)
        writer.writeheader()
        writer.writerows({column: f"{value:.4f}" if isinstance(value, float) else value
                          for column, value in row.items()} for row in rows)
    return path
