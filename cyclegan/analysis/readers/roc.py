"""ROC AUC with DeLong's variance, exact from midranks (DeLong et al. 1988; Sun & Xu 2014).

Inputs: `y_true`, shape (n,), 0 (negative) or 1 (positive) per case; scores, shape (n,), real
numbers where higher means "more positive" (ordinal 1–5 ratings are the usual input). A positive
and a negative with equal scores count one half. The AUC is the Mann–Whitney estimate
P(score_pos > score_neg) + ½ P(equal). Cost: O(n log n) per score.

DeLong's variance comes from the structural components
    V10_i = (midrank of positive i among all cases − its midrank among positives) / n_neg,
    V01_j = 1 − (midrank of negative j among all cases − its midrank among negatives) / n_pos,
whose means are the AUC: Var = S10 / n_pos + S01 / n_neg with S10, S01 their sample covariances
(over scores when several scores share the cases). The variance needs at least 2 cases per class.
It is 0 when the AUC is exactly 0 or 1, so tests there give |z| = inf and p = 0: with few cases,
read such results with care. `auc_score_ci` gives an interval that stays valid there.

Clustered cases (Obuchowski 1997, Biometrics 53:567–578): when several cases share a cluster (e.g. the
images made from one source image) they are not independent. `auc_ci_clustered` keeps the AUC and
sums the structural components per cluster c, with m_c positives, n_c negatives, M, N in all, I
clusters, I10 (I01) of them holding a positive (negative):
    d10_c = Σ_{positives in c} V10 − m_c·AUC,   d01_c = Σ_{negatives in c} V01 − n_c·AUC,
    S10 = I10 / ((I10 − 1)·M) · Σ_c d10_c²,  S01 = I01 / ((I01 − 1)·N) · Σ_c d01_c²,
    S11 = I / (I − 1) · Σ_c d10_c·d01_c,
    Var = S10 / M + S01 / N + 2·S11 / (M·N)   (covariances alike for several scores).
With one case per cluster S11 = 0 and this is DeLong's variance. It needs 2 clusters holding each
class. Validation (tests/test_roc.py): equal to DeLong for singleton clusters, a hand-computed
example, and simulated studies with a shared cluster effect, where its mean matches the AUC's
empirical variance over the studies.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm, rankdata

MIN_PER_CLASS = 2  # DeLong's sample covariances need two cases per class


class AucResult(NamedTuple):
    """An AUC with its DeLong variance and normal (1 − alpha) CI clipped to [0, 1]."""

    auc: float
    variance: float
    ci_low: float
    ci_high: float


class ClusteredAucResult(NamedTuple):
    """An AUC with Obuchowski's clustered variance, its (1 − alpha) CI clipped to [0, 1], and the
    two-sided test of AUC = 0.5 (z, p) with that variance; `clusters` is I."""

    auc: float
    variance: float
    ci_low: float
    ci_high: float
    z_vs_chance: float
    p_vs_chance: float
    clusters: int


class DelongResult(NamedTuple):
    """Two AUCs compared: z and two-sided p of auc_1 − auc_2, and the (1 − alpha) CI of that difference."""

    auc_1: float
    auc_2: float
    z: float
    p_value: float
    diff_ci_low: float
    diff_ci_high: float


class ChanceResult(NamedTuple):
    """An AUC tested against 0.5 (chance): z and two-sided p of auc − 0.5 with DeLong's variance."""

    auc: float
    z: float
    p_value: float


def auc_ci(y_true, scores, alpha: float = 0.05) -> AucResult:
    """AUC of `scores` for `y_true` with its DeLong variance and (1 − alpha) CI."""
    positives = _labels(y_true)
    matrix = _score_matrix(positives, {"scores": scores})
    aucs, covariance = _delong(positives, matrix)
    auc, variance = float(aucs[0]), float(covariance[0, 0])
    half_width = _critical_z(alpha) * float(np.sqrt(variance))
    return AucResult(auc, variance, max(0.0, auc - half_width), min(1.0, auc + half_width))


def auc_ci_clustered(y_true, scores, clusters, alpha: float = 0.05) -> ClusteredAucResult:
    """AUC of `scores` for `y_true` with Obuchowski's variance over `clusters` (n,), any hashable ids."""
    positives = _labels(y_true)
    matrix = _score_matrix(positives, {"scores": scores})
    codes = cluster_codes(clusters, positives)
    aucs, covariance = clustered_covariance(positives, matrix, codes)
    auc, variance = float(aucs[0]), float(covariance[0, 0])
    half_width = _critical_z(alpha) * float(np.sqrt(max(variance, 0.0)))
    z, p_value = _z_and_p(auc - 0.5, variance, variance)
    return ClusteredAucResult(auc, variance, max(0.0, auc - half_width), min(1.0, auc + half_width), z, p_value,
                              int(codes.max()) + 1)


def delong_test(y_true, scores_1, scores_2, alpha: float = 0.05) -> DelongResult:
    """Paired DeLong test: two scores on the same cases; Var(diff) = Var_1 + Var_2 − 2 Cov_12."""
    positives = _labels(y_true)
    matrix = _score_matrix(positives, {"scores_1": scores_1, "scores_2": scores_2})
    aucs, cov = _delong(positives, matrix)
    variance = cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1]
    return _difference(float(aucs[0]), float(aucs[1]), float(variance), float(cov[0, 0] + cov[1, 1]), alpha)


def delong_test_unpaired(y_1, scores_1, y_2, scores_2, alpha: float = 0.05) -> DelongResult:
    """DeLong test of two AUCs on independent case sets: Var(diff) = Var_1 + Var_2."""
    first, second = auc_ci(y_1, scores_1, alpha), auc_ci(y_2, scores_2, alpha)
    variance = first.variance + second.variance
    return _difference(first.auc, second.auc, variance, variance, alpha)


def auc_vs_chance(y_true, scores) -> ChanceResult:
    """Test H0: AUC = 0.5 with DeLong's variance (two-sided); "beats chance" is auc > 0.5 with small p."""
    result = auc_ci(y_true, scores)
    z, p_value = _z_and_p(result.auc - 0.5, result.variance, result.variance)
    return ChanceResult(result.auc, z, p_value)


def auc_score_ci(y_true, scores, alpha: float = 0.05) -> AucResult:
    """AUC of `scores` with Newcombe's score-type (1 − alpha) interval (Newcombe 2006, method 5).

    The interval holds every θ with |AUC − θ| <= z·sqrt(V(θ)), V the Hanley–McNeil variance at θ
    with both class sizes replaced by their mean: V(θ) = θ(1 − θ)[1 + N*((1 − θ)/(2 − θ) + θ/(1 + θ))]
    / (n_pos·n_neg), N* = (n_pos + n_neg)/2 − 1. Unlike DeLong's it stays wide at AUC = 0 or 1,
    where no case is misranked but a few cases cannot show the AUC is exactly 1. `variance` is V(AUC).
    Cases are taken as independent.
    """
    positives = _labels(y_true, min_per_class=1)
    auc = float(_aucs(positives, _score_matrix(positives, {"scores": scores}))[0])
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    mean_size, z = (n_pos + n_neg) / 2.0 - 1.0, _critical_z(alpha)

    def variance(theta: float) -> float:
        spread = 1.0 + mean_size * ((1.0 - theta) / (2.0 - theta) + theta / (1.0 + theta))
        return theta * (1.0 - theta) * spread / (n_pos * n_neg)

    def excess(theta: float) -> float:
        """> 0 outside the interval, <= 0 inside."""
        return abs(auc - theta) - z * float(np.sqrt(variance(theta)))

    step = 0.0 if excess(auc) < 0 else 1e-9  # at AUC 0 or 1 (excess 0) search from just beside it
    low = 0.0 if excess(0.0) <= 0 else brentq(excess, 0.0, auc - step)
    high = 1.0 if excess(1.0) <= 0 else brentq(excess, auc + step, 1.0)
    return AucResult(auc, variance(auc), low, high)


def structural_components(positives: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components of scores `matrix` (k, n) for the boolean mask `positives` (n,).

    Returns v10, shape (k, n_pos): each positive's share of negatives ranked below it (ties ½), and
    v01, shape (k, n_neg): each negative's share of positives ranked above it. Both average to the AUCs.
    """
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    all_ranks = rankdata(matrix, axis=1)
    v10 = (all_ranks[:, positives] - rankdata(matrix[:, positives], axis=1)) / n_neg
    v01 = 1.0 - (all_ranks[:, ~positives] - rankdata(matrix[:, ~positives], axis=1)) / n_pos
    return v10, v01


def cluster_codes(clusters, positives: np.ndarray) -> np.ndarray:
    """Cluster ids (n,) as codes 0..I − 1 (shape (n,)), after checking the length and that at
    least 2 clusters hold positives and 2 hold negatives (the I10 / (I10 − 1) factors need them)."""
    ids = np.asarray(clusters)
    if ids.shape != positives.shape:
        raise ValueError(f"y_true has {positives.size} cases but clusters has shape {ids.shape}")
    codes = np.unique(ids, return_inverse=True)[1].reshape(-1)
    with_positives, with_negatives = np.unique(codes[positives]).size, np.unique(codes[~positives]).size
    if min(with_positives, with_negatives) < MIN_PER_CLASS:
        raise ValueError(f"{with_positives} cluster(s) hold positives and {with_negatives} hold negatives; "
                         f"a clustered variance needs at least {MIN_PER_CLASS} of each")
    return codes


def cluster_totals(values: np.ndarray, codes: np.ndarray, clusters: int) -> np.ndarray:
    """Sums of `values` (k, p) over the cases of each cluster, `codes` (p,) in 0..clusters − 1: (k, clusters)."""
    return values @ (codes[:, None] == np.arange(clusters)[None, :]).astype(float)


def clustered_covariance(positives: np.ndarray, matrix: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (k,) of scores `matrix` (k, n) and Obuchowski's covariance (k, k) over cluster `codes` (n,)."""
    v10, v01 = structural_components(positives, matrix)
    n_pos, n_neg = v10.shape[1], v01.shape[1]
    aucs, clusters = v10.mean(axis=1), int(codes.max()) + 1
    m = np.bincount(codes[positives], minlength=clusters)
    n = np.bincount(codes[~positives], minlength=clusters)
    d10 = cluster_totals(v10, codes[positives], clusters) - aucs[:, None] * m
    d01 = cluster_totals(v01, codes[~positives], clusters) - aucs[:, None] * n
    i10, i01 = int((m > 0).sum()), int((n > 0).sum())
    s10 = i10 / ((i10 - 1) * n_pos) * d10 @ d10.T
    s01 = i01 / ((i01 - 1) * n_neg) * d01 @ d01.T
    s11 = clusters / (clusters - 1) * d10 @ d01.T
    return aucs, s10 / n_pos + s01 / n_neg + (s11 + s11.T) / (n_pos * n_neg)


def roc_points(y_true, scores) -> tuple[np.ndarray, np.ndarray]:
    """Empirical ROC curve: (fpr, tpr), each shape (k + 2,), from (0, 0) to (1, 1).

    One point per distinct score t (called positive when score >= t), highest t first; the
    trapezoidal area under these points equals the AUC with ties counted one half.
    """
    positives = _labels(y_true, min_per_class=1)
    values = _score_matrix(positives, {"scores": scores})[0]
    thresholds = np.unique(values)[::-1]

    def share_at_or_above(group: np.ndarray) -> np.ndarray:
        ordered = np.sort(group)
        return (ordered.size - np.searchsorted(ordered, thresholds, side="left")) / ordered.size

    fpr = np.concatenate([[0.0], share_at_or_above(values[~positives])])
    tpr = np.concatenate([[0.0], share_at_or_above(values[positives])])
    return fpr, tpr


def _labels(y_true, min_per_class: int = MIN_PER_CLASS) -> np.ndarray:
    """Boolean mask of positives, shape (n,); checks 0/1 values and enough cases of each class."""
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError(f"y_true must be one-dimensional, got shape {y.shape}")
    if y.dtype != bool and not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"y_true must hold the numbers 0 and 1, got dtype {y.dtype}")
    if y.dtype != bool and not np.isin(y, (0, 1)).all():
        found = sorted({str(value) for value in y[~np.isin(y, (0, 1))].tolist()})
        raise ValueError(f"y_true must hold only 0 and 1, found {', '.join(found[:10])}")
    positives = y.astype(bool)
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if min(n_pos, n_neg) < min_per_class:
        raise ValueError(f"y_true has {n_pos} positive and {n_neg} negative cases; "
                         f"this needs at least {min_per_class} of each class")
    return positives


def _score_matrix(positives: np.ndarray, named_scores: dict) -> np.ndarray:
    """Scores stacked into shape (k, n) after checking length and NaNs; names go into the errors."""
    rows = []
    for name, scores in named_scores.items():
        try:
            values = np.asarray(scores, dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be numbers: {err}") from err
        if values.ndim != 1 or values.size != positives.size:
            raise ValueError(f"y_true has {positives.size} cases but {name} has shape {values.shape}")
        nan_at = np.flatnonzero(np.isnan(values))
        if nan_at.size:
            raise ValueError(f"{name} is NaN at {nan_at.size} position(s): {nan_at[:10].tolist()}")
        rows.append(values)
    return np.stack(rows)


def _delong(positives: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs, shape (k,), and their DeLong covariance, shape (k, k), for scores `matrix` (k, n)."""
    v10, v01 = structural_components(positives, matrix)
    covariance = np.atleast_2d(np.cov(v10)) / v10.shape[1] + np.atleast_2d(np.cov(v01)) / v01.shape[1]
    return v10.mean(axis=1), covariance


def _aucs(positives: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """AUCs, shape (k,), of scores `matrix` (k, n); needs only one case per class."""
    return structural_components(positives, matrix)[0].mean(axis=1)


def _difference(auc_1: float, auc_2: float, variance: float, scale: float, alpha: float) -> DelongResult:
    """z, p and clipped CI for auc_1 − auc_2 with the given variance of the difference."""
    diff = auc_1 - auc_2
    z, p_value = _z_and_p(diff, variance, scale)
    half_width = _critical_z(alpha) * float(np.sqrt(max(variance, 0.0)))
    return DelongResult(auc_1, auc_2, z, p_value, max(-1.0, diff - half_width), min(1.0, diff + half_width))


def _z_and_p(diff: float, variance: float, scale: float) -> tuple[float, float]:
    """Two-sided normal test of `diff`; `scale` (the variances it came from) sets what counts as 0.

    A variance that is 0 up to rounding has two cases: no difference (0/0, e.g. a score compared
    with itself) gives z = 0, p = 1; a real difference with no spread gives z = ±inf, p = 0.
    """
    if variance <= 1e-12 * scale:
        if abs(diff) <= 1e-12:
            return 0.0, 1.0
        return float(np.copysign(np.inf, diff)), 0.0
    z = diff / np.sqrt(variance)
    return float(z), float(2.0 * norm.sf(abs(z)))


def _critical_z(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    return float(norm.ppf(1.0 - alpha / 2.0))
