"""Multi-reader multi-case (MRMC) ROC analysis: Obuchowski–Rockette with Hillis' degrees of freedom.

Inputs: `scores`, shape (modalities, readers, cases), every reader rating every case in every
modality (fully crossed), higher meaning "more positive"; `truth`, shape (cases,), 0 or 1. The
figure of merit θ_ij is the empirical (Wilcoxon) AUC of reader j in modality i, ties counting ½.

The Obuchowski–Rockette (OR) model, θ_ij = μ + τ_i + R_j + (τR)_ij + ε_ij, lets the case-sampling
errors ε have variance Var(error) and covariances Cov1 (same reader, other modality), Cov2 (other
reader, same modality) and Cov3 (other reader, other modality): the averages of the matching
entries of the AUCs' covariance matrix over cases, estimated by the jackknife over cases (the
default of OR-DBM MRMC and RJafroc) or by DeLong's method. With t modalities and r readers, and
mean squares MS(T), MS(T×R) of the t × r AUCs (Obuchowski & Rockette 1995; Hillis 2007; Hillis,
Berbaum & Metz 2008):

- random readers and cases: F = MS(T) / D with D = MS(T×R) + r·max(Cov2 − Cov3, 0), on
  (t − 1, ddf_H) df, ddf_H = D² / {MS(T×R)² / [(t − 1)(r − 1)]}; SE(diff) = sqrt(2D / r) on ddf_H;
- fixed readers, random cases: χ² = (t − 1)·MS(T) / E on t − 1 df with
  E = Var(error) − Cov1 + (r − 1)·max(Cov2 − Cov3, 0); SE(diff) = sqrt(2E / r), normal;
- one modality i, random readers: SE = sqrt(D_i / r) on df = D_i² / [MS(R)_i² / (r − 1)], with
  D_i = MS(R)_i + r·max(Cov2_i, 0) from that modality's AUCs and covariances alone.

diff is the mean AUC of modality 0 minus that of modality 1 (with t > 2 the F test is still the
global one). AUCs are in [0, 1], variances and covariances in AUC². A df whose mean square is 0
(readers' AUCs all equal) is infinite, and the t tests become normal ones. These are the figures
OR-DBM MRMC 2.5 and MRMCaov print; tests/test_mrmc.py reproduces their published output for the
Van Dyke data. CIs are clipped to [0, 1] (AUCs) and [−1, 1] (differences).

With `clusters` (n,), a case is a cluster with all its images (e.g. a source image shown original,
modified and in a pair): the jackknife leaves out one cluster at a time, and DeLong's method
becomes Obuchowski's (1997) clustered one (see `roc`). One image per cluster gives the figures
without clusters (tests/test_mrmc.py: the jackknife against recomputing every AUC without each
cluster, one image per cluster against the analysis without clusters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2, f, norm, t

from .roc import MIN_PER_CLASS, cluster_codes, cluster_totals, clustered_covariance, structural_components

COVARIANCES = ("jackknife", "delong")


@dataclass(frozen=True)
class SingleModality:
    """One modality's reader-averaged AUC with its random-reader, random-case (1 − alpha) CI."""

    auc: float
    se: float
    df: float  # Hillis' single-modality df (inf when the readers' AUCs do not vary)
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class MrmcResult:
    """OR analysis of t modalities read by r readers; differences are modality 0 − modality 1."""

    reader_auc: np.ndarray  # (t, r) empirical AUCs, read-only
    mean_auc: np.ndarray  # (t,) averaged over readers, read-only
    var_error: float  # OR error variance and covariances, AUC² units
    cov1: float
    cov2: float
    cov3: float
    f_stat: float  # random readers and cases: F on (t − 1, df_denominator) df
    df_denominator: float  # Hillis' ddf_H
    p_value: float
    diff: float
    diff_se: float
    diff_ci_low: float
    diff_ci_high: float
    fixed_readers_p_value: float  # fixed readers, random cases (chi-square / normal)
    fixed_readers_ci_low: float
    fixed_readers_ci_high: float
    single: tuple[SingleModality, ...]  # one per modality


def mrmc_roc(scores, truth, alpha: float = 0.05, covariance: str = "jackknife", clusters=None) -> MrmcResult:
    """OR–Hillis MRMC analysis of `scores` (t >= 2, r >= 2, n) against `truth` (n,) of 0/1;
    `clusters` (n,): the case each image belongs to, None for one image per case."""
    values, positives = _checked(scores, truth, covariance, min_modalities=2)
    reader_auc, auc_covariance = reader_aucs(values, positives, covariance, clusters)
    var_error, cov1, cov2, cov3 = or_covariances(auc_covariance)
    diff = float(reader_auc[0].mean() - reader_auc[1].mean())
    single = tuple(_single_modality(reader_auc[index], auc_covariance[index, :, index, :], alpha)
                   for index in range(reader_auc.shape[0]))
    return MrmcResult(reader_auc=_frozen(reader_auc), mean_auc=_frozen(reader_auc.mean(axis=1)),
                      var_error=var_error, cov1=cov1, cov2=cov2, cov3=cov3, diff=diff, single=single,
                      **_random_readers(reader_auc, cov2 - cov3, diff, alpha),
                      **_fixed_readers(reader_auc, var_error - cov1, cov2 - cov3, diff, alpha))


def mrmc_single(scores, truth, alpha: float = 0.05, covariance: str = "jackknife", clusters=None) -> SingleModality:
    """Reader-averaged AUC of one modality, `scores` (r >= 2, n), with its random-reader CI; `clusters`: as mrmc_roc."""
    values = np.asarray(scores, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"scores must have shape (readers, cases), got shape {values.shape}")
    values, positives = _checked(values[None], truth, covariance, min_modalities=1)
    reader_auc, auc_covariance = reader_aucs(values, positives, covariance, clusters)
    return _single_modality(reader_auc[0], auc_covariance[0, :, 0, :], alpha)


def single_p_value(single: SingleModality, null_auc: float = 0.5) -> float:
    """Two-sided p of H0: reader-averaged AUC = null_auc, t = (auc − null_auc) / se on single.df."""
    statistic = _ratio(abs(single.auc - null_auc), single.se)
    if np.isinf(single.df):
        return float(2.0 * norm.sf(statistic))
    return float(2.0 * t.sf(statistic, single.df))


def reader_aucs(values: np.ndarray, positives: np.ndarray, covariance: str,
                clusters=None) -> tuple[np.ndarray, np.ndarray]:
    """AUCs, shape (t, r), of checked scores (t, r, n) and their covariance over cases, shape (t, r, t, r).

    `clusters` (n,): each image's case (None: its own); the covariance is then over cases of clusters.
    """
    modalities, readers, cases = values.shape
    flat = values.reshape(-1, cases)
    if clusters is not None:
        estimate = clustered_covariance if covariance == "delong" else _clustered_jackknife_covariance
        aucs, matrix = estimate(positives, flat, cluster_codes(clusters, positives))
    else:
        v10, v01 = structural_components(positives, flat)
        aucs = v10.mean(axis=1)
        if covariance == "delong":
            matrix = np.cov(v10) / v10.shape[1] + np.cov(v01) / v01.shape[1]
        else:
            matrix = _jackknife_covariance(aucs, v10, v01)
    return aucs.reshape(modalities, readers), matrix.reshape(modalities, readers, modalities, readers)


def or_covariances(auc_covariance: np.ndarray) -> tuple[float, float, float, float]:
    """Var(error), Cov1, Cov2, Cov3: means of the (t, r, t, r) covariance's entries of each kind."""
    modalities, readers = auc_covariance.shape[:2]
    same_modality = np.eye(modalities, dtype=bool)[:, None, :, None]
    same_reader = np.eye(readers, dtype=bool)[None, :, None, :]
    kinds = [same_modality & same_reader, ~same_modality & same_reader,
             same_modality & ~same_reader, ~same_modality & ~same_reader]
    shape = auc_covariance.shape
    return tuple(float(auc_covariance[np.broadcast_to(kind, shape)].mean()) for kind in kinds)


def _jackknife_covariance(aucs: np.ndarray, v10: np.ndarray, v01: np.ndarray) -> np.ndarray:
    """(n − 1)/n · Σ_k (θ_(k) − mean)(θ_(k) − mean)ᵀ over the n leave-one-case-out AUCs θ_(k); (k, k).

    From the k AUCs `aucs` and their structural components v10 (k, n_pos) and v01 (k, n_neg):
    without positive i the AUC is (n_pos·θ − v10_i) / (n_pos − 1),
    without negative j it is (n_neg·θ − v01_j) / (n_neg − 1).
    """
    n_pos, n_neg = v10.shape[1], v01.shape[1]
    without_positive = (n_pos * aucs[:, None] - v10) / (n_pos - 1)
    without_negative = (n_neg * aucs[:, None] - v01) / (n_neg - 1)
    left_out = np.concatenate([without_positive, without_negative], axis=1)
    cases = left_out.shape[1]
    centred = left_out - left_out.mean(axis=1, keepdims=True)
    return (cases - 1) / cases * centred @ centred.T


def _clustered_jackknife_covariance(positives: np.ndarray, flat: np.ndarray,
                                    codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (k,) of scores `flat` (k, n) and (I − 1)/I · Σ_c (θ_(c) − mean)(θ_(c) − mean)ᵀ over the I
    leave-one-cluster-out AUCs θ_(c), cluster `codes` (n,); (k, k).

    Without cluster c (m_c positives, n_c negatives, total ψ-kernel W_c between them):
    θ_(c) = (M·N·θ − N·Σ_{c} V10 − M·Σ_{c} V01 + W_c) / ((M − m_c)(N − n_c)).
    """
    v10, v01 = structural_components(positives, flat)
    n_pos, n_neg = v10.shape[1], v01.shape[1]
    aucs, clusters = v10.mean(axis=1), int(codes.max()) + 1
    m = np.bincount(codes[positives], minlength=clusters)
    n = np.bincount(codes[~positives], minlength=clusters)
    kept = (n_pos * n_neg * aucs[:, None] - n_neg * cluster_totals(v10, codes[positives], clusters)
            - n_pos * cluster_totals(v01, codes[~positives], clusters)
            + _within_cluster_kernel(positives, flat, codes, clusters))
    left_out = kept / ((n_pos - m) * (n_neg - n))
    centred = left_out - left_out.mean(axis=1, keepdims=True)
    return aucs, (clusters - 1) / clusters * centred @ centred.T


def _within_cluster_kernel(positives: np.ndarray, flat: np.ndarray, codes: np.ndarray, clusters: int) -> np.ndarray:
    """W, shape (k, clusters): Σ ψ(x, y) (1 if x > y, ½ if tied) over each cluster's positives x and negatives y."""
    pos_at, neg_at = np.flatnonzero(positives), np.flatnonzero(~positives)
    pos_pair, neg_pair = np.nonzero(codes[pos_at][:, None] == codes[neg_at][None, :])
    x, y = flat[:, pos_at[pos_pair]], flat[:, neg_at[neg_pair]]
    return cluster_totals((x > y) + 0.5 * (x == y), codes[pos_at[pos_pair]], clusters)


def _random_readers(reader_auc: np.ndarray, cov2_minus_cov3: float, diff: float, alpha: float) -> dict:
    """MrmcResult's random-readers, random-cases fields: F test on (t − 1, ddf_H) df, SE and CI of `diff`."""
    modalities, readers = reader_auc.shape
    ms_t, ms_tr = _treatment_mean_squares(reader_auc)
    term = ms_tr + readers * max(cov2_minus_cov3, 0.0)
    df_denominator = _satterthwaite_df(term, ms_tr, (modalities - 1) * (readers - 1))
    f_stat = _ratio(ms_t, term)
    diff_se = float(np.sqrt(2.0 * term / readers))
    low, high = _interval(diff, diff_se, _critical_t(alpha, df_denominator), -1.0)
    return {"f_stat": f_stat, "df_denominator": df_denominator,
            "p_value": _f_test_p(f_stat, modalities - 1, df_denominator),
            "diff_se": diff_se, "diff_ci_low": low, "diff_ci_high": high}


def _fixed_readers(reader_auc: np.ndarray, var_error_minus_cov1: float, cov2_minus_cov3: float, diff: float,
                   alpha: float) -> dict:
    """MrmcResult's fixed-readers fields: chi-square test on t − 1 df, normal CI of `diff`."""
    modalities, readers = reader_auc.shape
    term = var_error_minus_cov1 + (readers - 1) * max(cov2_minus_cov3, 0.0)
    statistic = _ratio((modalities - 1) * _treatment_mean_squares(reader_auc)[0], term)
    low, high = _interval(diff, float(np.sqrt(2.0 * max(term, 0.0) / readers)), _critical_z(alpha), -1.0)
    return {"fixed_readers_p_value": _chi2_test_p(statistic, modalities - 1),
            "fixed_readers_ci_low": low, "fixed_readers_ci_high": high}


def _single_modality(aucs: np.ndarray, covariance: np.ndarray, alpha: float) -> SingleModality:
    """Hillis' single-modality analysis of one modality's AUCs (r,) with their covariance (r, r)."""
    readers = aucs.size
    cov2 = float(covariance[~np.eye(readers, dtype=bool)].mean())
    ms_r = float(aucs.var(ddof=1))
    term = ms_r + readers * max(cov2, 0.0)
    df = _satterthwaite_df(term, ms_r, readers - 1)
    se = float(np.sqrt(term / readers))
    low, high = _interval(float(aucs.mean()), se, _critical_t(alpha, df), 0.0)
    return SingleModality(float(aucs.mean()), se, df, low, high)


def _treatment_mean_squares(reader_auc: np.ndarray) -> tuple[float, float]:
    """MS(T) and MS(T×R) of the two-way (t, r) table of AUCs."""
    modalities, readers = reader_auc.shape
    grand = reader_auc.mean()
    modality_means, reader_means = reader_auc.mean(axis=1), reader_auc.mean(axis=0)
    ms_t = readers * float(((modality_means - grand) ** 2).sum()) / (modalities - 1)
    residual = reader_auc - modality_means[:, None] - reader_means[None, :] + grand
    ms_tr = float((residual ** 2).sum()) / ((modalities - 1) * (readers - 1))
    return ms_t, ms_tr


def _satterthwaite_df(term: float, mean_square: float, mean_square_df: int) -> float:
    """term² / (mean_square² / mean_square_df); inf when the mean square is 0 (no reader variation)."""
    if mean_square <= 0.0:
        return float("inf")
    return float(term ** 2 / (mean_square ** 2 / mean_square_df))


def _ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, with 0/0 = 0 (no difference, no spread) and x/0 = inf."""
    if denominator <= 0.0:
        return 0.0 if numerator <= 0.0 else float("inf")
    return numerator / denominator


def _f_test_p(f_stat: float, df_numerator: int, df_denominator: float) -> float:
    if np.isinf(df_denominator):
        return _chi2_test_p(df_numerator * f_stat, df_numerator)
    return float(f.sf(f_stat, df_numerator, df_denominator))


def _chi2_test_p(statistic: float, df: int) -> float:
    return float(chi2.sf(statistic, df))


def _interval(estimate: float, se: float, critical: float, lowest: float) -> tuple[float, float]:
    """estimate ± critical·se, clipped to [lowest, 1]."""
    return max(lowest, estimate - critical * se), min(1.0, estimate + critical * se)


def _critical_z(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    return float(norm.ppf(1.0 - alpha / 2.0))


def _critical_t(alpha: float, df: float) -> float:
    return _critical_z(alpha) if np.isinf(df) else float(t.ppf(1.0 - alpha / 2.0, df))


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=float)
    array.setflags(write=False)
    return array


def _checked(scores, truth, covariance: str, min_modalities: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores as floats (t, r, n) and the positives mask (n,), after every check the analysis needs."""
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {', '.join(COVARIANCES)}, got {covariance!r}")
    try:
        values = np.asarray(scores, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"scores must be numbers: {err}") from err
    if values.ndim != 3:
        raise ValueError(f"scores must have shape (modalities, readers, cases), got shape {values.shape}")
    modalities, readers, cases = values.shape
    if modalities < min_modalities:
        raise ValueError(f"comparing modalities needs at least 2, got {modalities}; "
                         "use mrmc_single for one modality")
    if readers < 2:
        raise ValueError(f"an MRMC analysis needs at least 2 readers, got {readers}")
    nan_at = np.argwhere(np.isnan(values))
    if nan_at.size:
        raise ValueError(f"scores has {len(nan_at)} NaN rating(s), the first at (modality, reader, case) = "
                         f"{tuple(int(index) for index in nan_at[0])}; the design must be fully crossed")
    return values, _positives(truth, cases)


def _positives(truth, cases: int) -> np.ndarray:
    """Boolean mask (n,) of truth == 1, after checking length, 0/1 values and both classes."""
    labels = np.asarray(truth)
    if labels.ndim != 1 or labels.size != cases:
        raise ValueError(f"truth must have shape ({cases},) to match the scores' cases, got shape {labels.shape}")
    numeric = labels.dtype == bool or np.issubdtype(labels.dtype, np.number)
    if not numeric or not np.isin(labels, (0, 1)).all():
        found = sorted({str(value) for value in labels[~np.isin(labels, (0, 1))].tolist()} if numeric
                       else {str(value) for value in labels.tolist()})
        raise ValueError(f"truth must hold only 0 and 1, found {', '.join(found[:10])}")
    positives = labels.astype(bool)
    n_pos, n_neg = int(positives.sum()), int((~positives).sum())
    if min(n_pos, n_neg) == 0:
        raise ValueError(f"truth holds only one class ({n_pos} positive, {n_neg} negative cases); "
                         "an AUC needs both")
    if min(n_pos, n_neg) < MIN_PER_CLASS:
        raise ValueError(f"truth has {n_pos} positive and {n_neg} negative cases; "
                         f"the covariance needs at least {MIN_PER_CLASS} of each class")
    return positives
