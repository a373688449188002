"""What a readout found: the result dataclasses that `readout` makes and `report` writes.

Their own module, so that imports go one way: readout -> report -> results.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import Problem
from .mrmc import MrmcResult, SingleModality
from .roc import AucResult, ChanceResult, ClusteredAucResult, DelongResult


@dataclass(frozen=True)
class RatedSet:
    """One ROC analysis of one reader: ratings of a set of images against their truth."""

    name: str  # original | modified | detection | detection_step_<N>
    step: int | None  # the checkpoint step of a per-step detection set, else None
    truth: np.ndarray  # (n,) 0/1
    scores: np.ndarray  # (n,) ratings 1–5
    auc: AucResult  # DeLong: every image an independent case
    chance: ChanceResult | None  # AUC vs 0.5, for detection sets
    by_source: ClusteredAucResult  # Obuchowski's clustered variance, a source with all its images one case


@dataclass(frozen=True)
class Comparison:
    """DeLong test of malignancy AUC on originals (auc_1) vs on modified images (auc_2)."""

    paired: bool
    cases: int  # sources when paired, images when unpaired
    result: DelongResult


@dataclass(frozen=True)
class MrmcSet:
    """One rated set over the images every reader rated, analysed as one modality of an MRMC study."""

    name: str  # as in RatedSet
    step: int | None
    cases: int
    positives: int
    result: SingleModality
    p_vs_chance: float | None  # two-sided t test of AUC = 0.5 on result.df, for detection sets


@dataclass(frozen=True)
class MrmcComparison:
    """Malignancy AUC on originals (modality 0) vs modified images (modality 1), over shared sources."""

    sources: int
    result: MrmcResult


@dataclass(frozen=True)
class MrmcAnalysis:
    """All readers together; `comparison` is None when too few sources were shown both ways to all."""

    readers: tuple[str, ...]
    images: int  # images rated by every reader
    sets: dict[str, MrmcSet]  # names as in ReaderResult.sets; a set without 2 sources per class is left out
    comparison: MrmcComparison | None


@dataclass(frozen=True)
class ReaderResult:
    """Everything analysed for one reader; `sets` in the order original, modified, detection, per step."""

    reader: str
    cases: int  # images rated without problems
    sets: dict[str, RatedSet]
    comparison: Comparison


@dataclass(frozen=True)
class Readout:
    """The outcome of `analyze`: problems found, the readers analysed (none when stopped by problems)
    and, with at least 2 readers, their MRMC analysis; `warnings` for the user (e.g. --paper of the other layout)."""

    problems: list[Problem]
    readers: list[ReaderResult]
    analysed: bool
    files: list[Path]
    mrmc: MrmcAnalysis | None = None
    warnings: tuple[str, ...] = ()
