"""MRMC ROC analysis (Obuchowski–Rockette, Hillis df) against published output on the Van Dyke data.

Validation (tests/fixtures/vandyke.csv, 2 modalities × 5 readers × 114 cases):
- jackknife covariance: OR-DBM MRMC 2.51 (Schartz, Hillis, Pesce & Berbaum, University of Iowa),
  "TRAPEZOIDAL AREA ANALYSIS" of VanDyke.lrc with jackknifing, as saved in the RJafroc repository
  (github.com/dpc10ster/RJafroc, inst/IowaResults/VanDyke.txt, commit 6c96b923);
- DeLong covariance: MRMCaov (Smith & Hillis), `summary(mrmc(empirical_auc(truth, rating), treatment,
  reader, case, data = VanDyke, cov = DeLong))` as printed in its JSS manuscript
  (github.com/brian-j-smith/MRMCaov, docs/jss/MRMCaov.tex, commit f1c63dc4).
Each figure is checked to the precision the program printed (half a unit of its last digit).
Clustered cases (a case = all images of one source): leaving out one cluster is checked against
recomputing every AUC without it, and one image per cluster against the unclustered analysis.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2, f, norm, t
from sklearn.metrics import roc_auc_score

from cyclegan.analysis.readers.mrmc import (
    COVARIANCES,
    mrmc_roc,
    mrmc_single,
    or_covariances,
    reader_aucs,
    single_p_value,
)
from cyclegan.analysis.readers.roc import auc_ci_clustered

FIXTURE = Path(__file__).parent / "fixtures" / "vandyke.csv"


def _printed(value: str) -> dict:
    """pytest.approx keyword for a number printed as `value`: half a unit of its last digit."""
    decimals = len(value.split(".")[1])
    return {"expected": float(value), "abs": 0.5 * 10.0 ** -decimals}


def _close(actual: float, value: str) -> bool:
    printed = _printed(value)
    return actual == pytest.approx(printed["expected"], abs=printed["abs"])


@pytest.fixture(scope="module")
def vandyke():
    """Scores (2 modalities, 5 readers, 114 cases) and truth (114,) of the Van Dyke study."""
    table = pd.read_csv(FIXTURE, comment="#")
    scores = np.stack([table[[f"t{modality}_r{reader}" for reader in range(1, 6)]].to_numpy(float).T
                       for modality in (1, 2)])
    return scores, table["truth"].to_numpy()


def test_fixture_holds_the_published_study(vandyke):
    scores, truth = vandyke
    assert scores.shape == (2, 5, 114) and (truth == 0).sum() == 69 and (truth == 1).sum() == 45
    assert set(np.unique(scores)) == {1.0, 2.0, 3.0, 4.0, 5.0}


def test_reader_aucs_match_or_dbm_mrmc(vandyke):
    published = [["0.91964573", "0.85877617", "0.90386473", "0.97310789", "0.82979066"],
                 ["0.94782609", "0.90531401", "0.92173913", "0.99935588", "0.92995169"]]
    result = mrmc_roc(*vandyke)
    for modality, row in enumerate(published):
        for reader, value in enumerate(row):
            assert _close(result.reader_auc[modality, reader], value), (modality, reader)
    assert _close(result.mean_auc[0], "0.89703704") and _close(result.mean_auc[1], "0.94083736")
    assert _close(result.diff, "-0.04380032")


def test_jackknife_matches_or_dbm_mrmc(vandyke):
    result = mrmc_roc(*vandyke, covariance="jackknife")
    # Variance component and error-covariance estimates
    for name, value in (("var_error", "0.00080229"), ("cov1", "0.00034661"), ("cov2", "0.00034407"),
                        ("cov3", "0.00023903")):
        assert _close(getattr(result, name), value), name
    # Analysis 1 (random readers and random cases), a) and b)
    assert _close(result.f_stat, "4.46") and _close(result.df_denominator, "15.26")
    assert _close(result.p_value, "0.0517")
    assert _close(result.diff_se ** 2 * 5 / 2, "0.00107626")  # the F test's error term, MS(T*R) + r(Cov2 - Cov3)
    assert _close(result.diff_se, "0.02075")
    assert _close(result.diff_ci_low, "-0.08796") and _close(result.diff_ci_high, "0.00036")
    # c) single-treatment CIs
    for single, (se, df, low, high) in zip(result.single, (("0.03317360", "12.74", "0.82522360", "0.96885048"),
                                                           ("0.02156637", "12.71", "0.89413783", "0.98753689"))):
        assert _close(single.se, se) and _close(single.df, df)
        assert _close(single.ci_low, low) and _close(single.ci_high, high)
    # Analysis 2 (fixed readers and random cases), a) and b)
    assert _close(result.fixed_readers_p_value, "0.0193")
    assert _close(result.fixed_readers_ci_low, "-0.08049") and _close(result.fixed_readers_ci_high, "-0.00711")


def test_jackknife_covariance_entries_match_or_dbm_mrmc(vandyke):
    scores, truth = vandyke
    _, covariance = reader_aucs(scores, truth.astype(bool), "jackknife")
    cov2_per_treatment = [covariance[t, :, t, :][~np.eye(5, dtype=bool)].mean() for t in (0, 1)]
    assert _close(cov2_per_treatment[0], "0.00048396") and _close(cov2_per_treatment[1], "0.00020419")
    # Analysis 2 d): each reader's Var(Error) (mean over treatments) and Cov1 (between treatments)
    published = [("0.00069890", "0.00037347"), ("0.00110605", "0.00076016"), ("0.00084234", "0.00035532"),
                 ("0.00015058", "0.00000108"), ("0.00121357", "0.00024304")]
    for reader, (var_error, cov1) in enumerate(published):
        assert _close((covariance[0, reader, 0, reader] + covariance[1, reader, 1, reader]) / 2, var_error)
        assert _close(covariance[0, reader, 1, reader], cov1)


def test_delong_matches_mrmcaov(vandyke):
    result = mrmc_roc(*vandyke, covariance="delong")
    for name, value in (("var_error", "0.0007921325"), ("cov1", "0.0003420090"), ("cov2", "0.0003395265"),
                        ("cov3", "0.0002358497"), ("f_stat", "4.484854"), ("df_denominator", "15.06611"),
                        ("p_value", "0.05123303"), ("diff_se", "0.0206825"), ("diff_ci_low", "-0.0878671960"),
                        ("diff_ci_high", "0.0002665519")):
        assert _close(getattr(result, name), value), name
    for single, (se, df, low, high) in zip(result.single, (("0.03307642", "12.59597", "0.8253461", "0.9687280"),
                                                           ("0.02150464", "12.56530", "0.8942155", "0.9874592"))):
        assert _close(single.se, se) and _close(single.df, df)
        assert _close(single.ci_low, low) and _close(single.ci_high, high)


def _small_study(seed=0, modalities=2, readers=3, cases=24):
    """Ordinal 1–5 ratings with reader and modality effects, shape (modalities, readers, cases)."""
    rng = np.random.default_rng(seed)
    truth = np.r_[np.zeros(cases // 2, int), np.ones(cases - cases // 2, int)]
    latent = truth * 1.2 + rng.normal(size=cases)
    noise = rng.normal(scale=0.8, size=(modalities, readers, cases))
    return np.digitize(latent + noise, [-0.5, 0.3, 1.0, 1.8]) + 1.0, truth


def _left_out_aucs(flat, truth):
    """sklearn's AUC of each score row (k, n) without each case in turn: (k, n)."""
    return np.array([[roc_auc_score(np.delete(truth, case), np.delete(row, case)) for case in range(truth.size)]
                     for row in flat])


def test_jackknife_equals_leaving_each_case_out():
    scores, truth = _small_study()
    _, covariance = reader_aucs(scores, truth.astype(bool), "jackknife")
    flat = scores.reshape(-1, scores.shape[-1])
    left_out = _left_out_aucs(flat, truth)
    centred = left_out - left_out.mean(axis=1, keepdims=True)
    expected = (truth.size - 1) / truth.size * centred @ centred.T
    assert covariance.reshape(flat.shape[0], -1) == pytest.approx(expected, abs=1e-14)


def _clusters(truth, seed=3):
    """Cluster ids (n,) like a kit's sources: images in groups of 1–3, some groups holding both classes."""
    rng = np.random.default_rng(seed)
    return rng.permutation(np.repeat(np.arange(truth.size), rng.integers(1, 4, truth.size))[:truth.size])


def test_clustered_jackknife_equals_leaving_each_cluster_out():
    scores, truth = _small_study(cases=40)
    clusters = _clusters(truth)
    assert np.bincount(clusters).max() > 1 and any(len(set(truth[clusters == c])) == 2 for c in set(clusters))
    _, covariance = reader_aucs(scores, truth.astype(bool), "jackknife", clusters)
    flat, names = scores.reshape(-1, truth.size), np.unique(clusters)
    left_out = np.array([[roc_auc_score(truth[clusters != name], row[clusters != name]) for name in names]
                         for row in flat])
    centred = left_out - left_out.mean(axis=1, keepdims=True)
    expected = (names.size - 1) / names.size * centred @ centred.T
    assert covariance.reshape(flat.shape[0], -1) == pytest.approx(expected, abs=1e-14)


@pytest.mark.parametrize("covariance", ["jackknife", "delong"])
def test_one_image_per_cluster_gives_the_unclustered_analysis(vandyke, covariance):
    scores, truth = vandyke
    names = [f"case {index}" for index in np.random.default_rng(4).permutation(truth.size)]
    unclustered, clustered = (mrmc_roc(scores, truth, covariance=covariance, clusters=clusters)
                              for clusters in (None, names))
    for field in dataclasses.fields(unclustered):
        expected, actual = getattr(unclustered, field.name), getattr(clustered, field.name)
        if field.name == "single":
            for single_expected, single_actual in zip(expected, actual):
                assert dataclasses.astuple(single_actual) == pytest.approx(dataclasses.astuple(single_expected),
                                                                            rel=1e-12, abs=1e-15)
        else:
            assert actual == pytest.approx(expected, rel=1e-12, abs=1e-15), field.name
    _, plain = reader_aucs(scores, truth.astype(bool), covariance)
    _, by_case = reader_aucs(scores, truth.astype(bool), covariance, names)
    assert by_case == pytest.approx(plain, rel=1e-12, abs=1e-16)


def test_clustered_delong_is_obuchowskis_variance_per_reader():
    scores, truth = _small_study(seed=5, cases=40)
    clusters = _clusters(truth, seed=6)
    _, covariance = reader_aucs(scores, truth.astype(bool), "delong", clusters)
    for modality, reader in np.ndindex(scores.shape[:2]):
        expected = auc_ci_clustered(truth, scores[modality, reader], clusters).variance
        assert covariance[modality, reader, modality, reader] == pytest.approx(expected, rel=1e-12)


def test_clusters_change_the_jackknife_when_a_source_s_images_are_rated_alike():
    rng = np.random.default_rng(7)
    clusters = np.repeat(np.arange(30), 2)  # each source shown twice, both images of its label
    truth = (np.arange(30) % 2)[clusters]
    latent = truth * 1.2 + rng.normal(size=30)[clusters] + rng.normal(scale=0.3, size=60)
    scores = latent + rng.normal(scale=0.5, size=(2, 3, 60))
    per_image, per_source = (mrmc_roc(scores, truth, clusters=groups) for groups in (None, clusters))
    assert per_source.var_error > 1.2 * per_image.var_error  # 1.44 with these seeds
    assert per_source.single[0].se > per_image.single[0].se


def test_delong_covariance_equals_the_kernel_definition():
    scores, truth = _small_study(seed=1)
    _, covariance = reader_aucs(scores, truth.astype(bool), "delong")
    positives = truth.astype(bool)
    v10, v01 = [], []
    for row in scores.reshape(-1, truth.size):
        kernel = (row[positives][:, None] > row[~positives][None, :]) + 0.5 * (
            row[positives][:, None] == row[~positives][None, :])
        v10.append(kernel.mean(axis=1))
        v01.append(kernel.mean(axis=0))
    expected = np.cov(v10) / positives.sum() + np.cov(v01) / (~positives).sum()
    assert covariance.reshape(expected.shape) == pytest.approx(expected, abs=1e-14)


def test_or_covariances_average_each_kind_of_pair():
    covariance = np.arange(4 * 4, dtype=float).reshape(4, 4)
    covariance = (covariance + covariance.T).reshape(2, 2, 2, 2)  # (modality, reader) × (modality, reader)
    var_error, cov1, cov2, cov3 = or_covariances(covariance)
    flat = covariance.reshape(4, 4)  # order (m0 r0, m0 r1, m1 r0, m1 r1)
    assert var_error == np.mean(np.diag(flat))
    assert cov1 == np.mean([flat[0, 2], flat[2, 0], flat[1, 3], flat[3, 1]])
    assert cov2 == np.mean([flat[0, 1], flat[1, 0], flat[2, 3], flat[3, 2]])
    assert cov3 == np.mean([flat[0, 3], flat[3, 0], flat[1, 2], flat[2, 1]])


def test_single_modality_equals_the_comparisons_entry(vandyke):
    scores, truth = vandyke
    for covariance in ("jackknife", "delong"):
        single = mrmc_single(scores[1], truth, covariance=covariance)
        assert single == mrmc_roc(scores, truth, covariance=covariance).single[1]


def test_single_p_value_uses_t_on_hillis_df():
    scores, truth = _small_study(seed=2)
    single = mrmc_single(scores[0], truth)
    expected = 2 * t.sf(abs(single.auc - 0.5) / single.se, single.df)
    assert single_p_value(single) == pytest.approx(expected, rel=1e-12)


def test_readers_that_agree_perfectly_give_finite_answers():
    truth = np.r_[np.zeros(5, int), np.ones(5, int)]
    scores = np.broadcast_to(truth + 1.0, (2, 3, 10))
    result = mrmc_roc(scores, truth)
    assert result.diff == 0.0 and result.f_stat == 0.0 and result.p_value == 1.0
    assert result.fixed_readers_p_value == 1.0
    assert (result.single[0].auc, result.single[0].ci_low, result.single[0].ci_high) == (1.0, 1.0, 1.0)
    assert single_p_value(result.single[0]) == 0.0


def test_result_is_frozen(vandyke):
    result = mrmc_roc(*vandyke)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.p_value = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.single[0].auc = 0.0
    with pytest.raises(ValueError, match="read-only"):
        result.reader_auc[0, 0] = 0.0


@pytest.mark.parametrize("change, message", [
    (lambda s, y: (s, np.where(y == 1, 2, 0)), "truth must hold only 0 and 1, found 2"),
    (lambda s, y: (s, np.where(np.arange(114) == 5, 2, y)), "truth must hold only 0 and 1, found 2$"),
    (lambda s, y: (s, np.where(y == 1, "yes", "no")), "truth must hold only 0 and 1, found no, yes"),
    (lambda s, y: (s, np.zeros_like(y)), "only one class"),
    (lambda s, y: (s[..., :69], y[:69]), "only one class"),
    (lambda s, y: (s[..., :70], y[:70]), "at least 2 of each class"),
    (lambda s, y: (s, y[:-1]), r"truth must have shape \(114,\)"),
    (lambda s, y: (s[0], y), r"shape \(modalities, readers, cases\)"),
    (lambda s, y: (np.where(np.arange(114) == 7, np.nan, s), y), r"NaN rating\(s\), the first at .* = \(0, 0, 7\)"),
    (lambda s, y: (s[:, :1], y), "at least 2 readers, got 1"),
    (lambda s, y: (s[:1], y), "use mrmc_single"),
    (lambda s, y: ([[[{}] * 114] * 5] * 2, y), "scores must be numbers"),
    (lambda s, y: (s.astype(str).astype(object) + "x", y), "scores must be numbers"),
    (lambda s, y: (s, np.r_[y, 1]), r"truth must have shape \(114,\) to match the scores' cases, got shape \(115,\)"),
    (lambda s, y: (s, np.ones_like(y)), r"only one class \(114 positive, 0 negative cases\)"),
    (lambda s, y: (s, np.where(np.arange(114) == 0, 0, 1)), "truth has 113 positive and 1 negative cases"),
    (lambda s, y: (s[None], y), r"shape \(modalities, readers, cases\), got shape \(1, 2, 5, 114\)"),
    (lambda s, y: (s, y[:, None]), r"truth must have shape \(114,\) to match the scores' cases, got shape \(114, 1\)"),
    (lambda s, y: (s, np.arange(114) + 2), r"found 10, 100, 101, 102, 103, 104, 105, 106, 107, 108$"),
])
def test_bad_input_is_a_clear_error(vandyke, change, message):
    scores, truth = change(*vandyke)
    with pytest.raises(ValueError, match=message):
        mrmc_roc(scores, truth)


@pytest.mark.parametrize("clusters, message", [
    (np.arange(113), r"114 cases but clusters has shape \(113,\)"),
    (lambda truth: np.where(truth == 1, 0, np.arange(truth.size)), r"1 cluster\(s\) hold positives"),
])
def test_bad_clusters_are_a_clear_error(vandyke, clusters, message):
    scores, truth = vandyke
    with pytest.raises(ValueError, match=message):
        mrmc_roc(scores, truth, clusters=clusters(truth) if callable(clusters) else clusters)


def test_bad_options_are_errors(vandyke):
    with pytest.raises(ValueError, match="covariance must be one of jackknife, delong"):
        mrmc_roc(*vandyke, covariance="bootstrap")
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        mrmc_roc(*vandyke, alpha=5)
    for scores in (vandyke[0], vandyke[0][0, 0]):
        with pytest.raises(ValueError, match=r"shape \(readers, cases\)"):
            mrmc_single(scores, vandyke[1])


def _pseudovalues(scores, truth):
    """DBM's jackknife pseudovalues n·θ − (n − 1)·θ_(k), shape (t, r, n), each AUC recomputed by sklearn."""
    full = np.array([[roc_auc_score(truth, row) for row in modality] for modality in scores])
    left_out = _left_out_aucs(scores.reshape(-1, truth.size), truth).reshape(scores.shape)
    return truth.size * full[..., None] - (truth.size - 1) * left_out


def _dbm(pseudo, alpha=0.05):
    """Dorfman–Berbaum–Metz analysis of pseudovalues (t, r, n) by the three-way ANOVA without replication,
    with Hillis' (2008) denominator df: the figures the OR analysis with jackknife covariances must equal
    (Hillis, Obuchowski, Schartz & McNeil 2005)."""
    modalities, readers, cases = pseudo.shape
    m = pseudo.mean()
    m_t, m_r, m_c = pseudo.mean(axis=(1, 2)), pseudo.mean(axis=(0, 2)), pseudo.mean(axis=(0, 1))
    m_tr, m_tc, m_rc = pseudo.mean(axis=2), pseudo.mean(axis=1), pseudo.mean(axis=0)
    ms_t = readers * cases * np.sum((m_t - m) ** 2) / (modalities - 1)
    ms_tr = cases * np.sum((m_tr - m_t[:, None] - m_r[None, :] + m) ** 2) / ((modalities - 1) * (readers - 1))
    ms_tc = readers * np.sum((m_tc - m_t[:, None] - m_c[None, :] + m) ** 2) / ((modalities - 1) * (cases - 1))
    residual = (pseudo - m_tr[..., None] - m_tc[:, None, :] - m_rc[None] + m_t[:, None, None]
                + m_r[None, :, None] + m_c[None, None, :] - m)
    ms_trc = np.sum(residual ** 2) / ((modalities - 1) * (readers - 1) * (cases - 1))
    denominator = ms_tr + max(ms_tc - ms_trc, 0.0)
    ddf = denominator ** 2 / (ms_tr ** 2 / ((modalities - 1) * (readers - 1)))
    diff = m_t[0] - m_t[1]
    se = np.sqrt(2.0 * denominator / (readers * cases))
    # fixed readers: E = Var − Cov1 + (r − 1)·max(Cov2 − Cov3, 0), as OR-DBM MRMC truncates it; n·E in
    # mean squares, from n·(Cov2 − Cov3) = (MS(T×C) − MS(T×R×C)) / r and n·E = MS(T×C) untruncated
    spread = ms_tc - ms_trc
    fixed_term = ms_trc + spread / readers + (readers - 1) / readers * max(spread, 0.0)
    fixed_se = np.sqrt(2.0 * fixed_term / (readers * cases))
    single = []
    for one in pseudo:
        g, g_r, g_c = one.mean(), one.mean(axis=1), one.mean(axis=0)
        ms_r = cases * np.sum((g_r - g) ** 2) / (readers - 1)
        ms_c = readers * np.sum((g_c - g) ** 2) / (cases - 1)
        ms_rc = np.sum((one - g_r[:, None] - g_c[None, :] + g) ** 2) / ((readers - 1) * (cases - 1))
        term = ms_r + max(ms_c - ms_rc, 0.0)
        single_df = term ** 2 / (ms_r ** 2 / (readers - 1))
        single_se = np.sqrt(term / (readers * cases))
        half = t.ppf(1 - alpha / 2, single_df) * single_se
        single.append((g, single_se, single_df, max(g - half, 0.0), min(g + half, 1.0)))
    half, fixed_half = t.ppf(1 - alpha / 2, ddf) * se, norm.ppf(1 - alpha / 2) * fixed_se
    return {"f_stat": ms_t / denominator, "df_denominator": ddf,
            "p_value": f.sf(ms_t / denominator, modalities - 1, ddf), "diff": diff, "diff_se": se,
            "diff_ci_low": max(diff - half, -1.0), "diff_ci_high": min(diff + half, 1.0),
            "fixed_readers_p_value": chi2.sf((modalities - 1) * ms_t / fixed_term, modalities - 1),
            "fixed_readers_ci_low": max(diff - fixed_half, -1.0),
            "fixed_readers_ci_high": min(diff + fixed_half, 1.0), "single": single}


def _assert_matches_dbm(result, expected):
    for name, value in expected.items():
        if name == "single":
            for single, values in zip(result.single, value):
                assert dataclasses.astuple(single) == pytest.approx(values, rel=1e-9, abs=1e-12)
        else:
            assert getattr(result, name) == pytest.approx(value, rel=1e-9, abs=1e-12), name


@pytest.mark.parametrize("modalities, readers, seed, truncated", [
    (3, 4, 11, None), (2, 2, 12, "cov2 of modality 0"), (4, 6, 13, "cov2 - cov3")])
def test_jackknife_analysis_equals_dbm_on_pseudovalues(modalities, readers, seed, truncated):
    """Van Dyke has 2 modalities and 5 readers; these shapes separate t − 1 and r − 1 from other arithmetic,
    and two of the studies have a negative covariance that the error terms truncate at 0."""
    scores, truth = _small_study(seed=seed, modalities=modalities, readers=readers, cases=30)
    result = mrmc_roc(scores, truth)
    assert result.reader_auc.shape == (modalities, readers)
    _, covariance = reader_aucs(scores, truth.astype(bool), "jackknife")
    negative = {"cov2 - cov3": result.cov2 < result.cov3,
                "cov2 of modality 0": covariance[0, :, 0, :][~np.eye(readers, dtype=bool)].mean() < 0}
    assert [name for name, holds in negative.items() if holds] == ([truncated] if truncated else [])
    _assert_matches_dbm(result, _dbm(_pseudovalues(scores, truth)))


def _opposed_study(seed=6, cases=16):
    """Two modalities, 2 readers: modality 0 rates backwards (AUC near 0.1), modality 1 near-perfectly;
    with r = 2 the t quantiles are wide, so the unclipped limits leave [0, 1] and [−1, 1]."""
    rng = np.random.default_rng(seed)
    truth = np.r_[np.zeros(cases // 2, int), np.ones(cases - cases // 2, int)]
    backwards = -truth * np.array([[1.0], [2.5]]) + rng.normal(size=(2, cases))
    forwards = truth * np.array([[3.0], [1.2]]) + rng.normal(size=(2, cases))
    return np.stack([backwards, forwards]), truth


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_confidence_limits_are_clipped_to_the_range_of_an_auc_and_of_a_difference(order):
    scores, truth = _opposed_study()
    result = mrmc_roc(scores[list(order)], truth)
    sign = 1.0 if order == (1, 0) else -1.0
    assert sign * result.diff > 0.6
    unclipped = result.diff + sign * t.ppf(0.975, result.df_denominator) * result.diff_se
    assert abs(unclipped) > 1.0
    assert (result.diff_ci_high if sign > 0 else result.diff_ci_low) == sign * 1.0
    inner, outer = ((result.fixed_readers_ci_low, result.fixed_readers_ci_high) if sign > 0
                    else (result.fixed_readers_ci_high, result.fixed_readers_ci_low))
    fixed_se = abs(result.diff - inner) / norm.ppf(0.975)
    assert abs(result.diff) + norm.ppf(0.975) * fixed_se > 1.0 and outer == sign * 1.0
    low_single, high_single = (result.single[order.index(0)], result.single[order.index(1)])
    assert low_single.auc < 0.2 and low_single.auc - t.ppf(0.975, low_single.df) * low_single.se < 0.0
    assert low_single.ci_low == 0.0
    assert high_single.auc > 0.9 and high_single.auc + t.ppf(0.975, high_single.df) * high_single.se > 1.0
    assert high_single.ci_high == 1.0


def test_single_p_value_is_normal_when_the_readers_auc_do_not_vary():
    scores, truth = _small_study(seed=8, readers=1)
    single = mrmc_single(np.repeat(scores[0], 3, axis=0), truth)  # three readers rating alike, AUC < 1
    assert np.isinf(single.df) and single.se > 0.0 and 0.5 < single.auc < 1.0
    expected = 2 * norm.sf(abs(single.auc - 0.5) / single.se)
    assert single_p_value(single) == pytest.approx(expected, rel=1e-12)
    assert single_p_value(single, null_auc=single.auc) == 1.0


def _assert_same(result, other):
    for field in dataclasses.fields(result):
        assert np.array_equal(getattr(result, field.name), getattr(other, field.name)), field.name


def test_options_read_from_a_config_or_command_line_are_compared_by_value(vandyke):
    delong = "".join(["de", "long"])  # equal to "delong" but not the interned literal
    assert delong == "delong" and delong is not COVARIANCES[1]
    _assert_same(mrmc_roc(*vandyke, covariance=delong), mrmc_roc(*vandyke, covariance="delong"))
    assert mrmc_roc(*vandyke, covariance=delong).diff_se != mrmc_roc(*vandyke).diff_se
    clusters = np.arange(vandyke[1].size) // 2  # the clustered branch reads the option too
    _assert_same(mrmc_roc(*vandyke, covariance=delong, clusters=clusters),
                 mrmc_roc(*vandyke, covariance="delong", clusters=clusters))
    assert mrmc_roc(*vandyke, covariance=delong, clusters=clusters).var_error != mrmc_roc(
        *vandyke, clusters=clusters).var_error


def test_boolean_truth_and_the_fewest_cases_per_class_are_accepted(vandyke):
    scores, truth = vandyke
    _assert_same(mrmc_roc(scores, truth.astype(bool)), mrmc_roc(scores, truth))
    keep = np.r_[np.flatnonzero(truth == 0)[:2], np.flatnonzero(truth == 1)[:5]]  # MIN_PER_CLASS negatives
    assert mrmc_roc(scores[..., keep], truth[keep]).reader_auc.shape == (2, 5)


def test_a_study_of_more_than_256_cases_is_accepted():
    """Sizes compared by value: CPython shares the int objects up to 256 only."""
    scores, truth = _small_study(seed=9, cases=300)
    assert mrmc_roc(scores, truth).reader_auc.shape == (2, 3)
    assert 0.5 < mrmc_single(scores[0], truth).auc < 1.0


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1])
def test_alpha_must_lie_strictly_between_0_and_1(vandyke, alpha):
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        mrmc_roc(*vandyke, alpha=alpha)


def test_a_wider_alpha_narrows_every_interval(vandyke):
    wide, narrow = mrmc_roc(*vandyke, alpha=0.01), mrmc_roc(*vandyke, alpha=0.5)
    assert wide.diff_ci_low < narrow.diff_ci_low < narrow.diff_ci_high < wide.diff_ci_high
    assert wide.fixed_readers_ci_low < narrow.fixed_readers_ci_low
    assert wide.single[0].ci_low < narrow.single[0].ci_low
