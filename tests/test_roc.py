"""ROC statistics: AUC with ties, DeLong variance and covariance, paired/unpaired tests, Obuchowski's
clustered variance, errors."""

from fractions import Fraction

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from cyclegan.analysis.readers.roc import (
    auc_ci,
    auc_ci_clustered,
    auc_score_ci,
    auc_vs_chance,
    clustered_covariance,
    delong_test,
    delong_test_unpaired,
    roc_points,
    structural_components,
)

HAND_POSITIVES, HAND_NEGATIVES = [3, 2, 2], [2, 1, 1]
HAND_Y = [1, 1, 1, 0, 0, 0]
HAND_SCORES = HAND_POSITIVES + HAND_NEGATIVES


def _ratings(rng, n=200, separation=0.8):
    """Ordinal 1–5 ratings (many ties) of n cases, positives shifted by `separation` on the latent scale."""
    y = rng.integers(0, 2, n)
    latent = rng.normal(separation * y, 1.0)
    return y, np.digitize(latent, [-0.5, 0.3, 1.0, 1.8]) + 1


def _definition(y, score_rows):
    """AUCs and DeLong covariance straight from the O(n_pos * n_neg) kernel psi (the reference)."""
    y = np.asarray(y, bool)
    v10, v01 = [], []
    for scores in np.atleast_2d(score_rows):
        x, z = scores[y][:, None], scores[~y][None, :]
        psi = (x > z) + 0.5 * (x == z)
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    v10, v01 = np.array(v10), np.array(v01)
    return v10.mean(axis=1), np.atleast_2d(np.cov(v10)) / y.sum() + np.atleast_2d(np.cov(v01)) / (~y).sum()


@pytest.mark.parametrize("seed", range(5))
def test_auc_equals_sklearn_with_many_ties(seed):
    y, scores = _ratings(np.random.default_rng(seed))
    assert auc_ci(y, scores).auc == pytest.approx(roc_auc_score(y, scores), abs=1e-12)


def test_hand_checkable_case():
    result = auc_ci(HAND_Y, HAND_SCORES)
    assert result.auc == pytest.approx(8 / 9, abs=1e-12)
    assert result.variance == pytest.approx(5 / 324, abs=1e-12)
    half_width = 1.959963984540054 * np.sqrt(5 / 324)
    assert result.ci_low == pytest.approx(8 / 9 - half_width)
    assert result.ci_high == 1.0  # 8/9 + half_width > 1: clipped


def test_variance_and_covariance_equal_the_definition():
    rng = np.random.default_rng(7)
    y, first = _ratings(rng, n=60)
    second = np.clip(first + rng.integers(-1, 2, first.size), 1, 5)
    aucs, covariance = _definition(y, np.stack([first, second]).astype(float))
    result = delong_test(y, first, second)
    assert (result.auc_1, result.auc_2) == pytest.approx(tuple(aucs), abs=1e-12)
    expected_z = (aucs[0] - aucs[1]) / np.sqrt(covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1])
    assert result.z == pytest.approx(expected_z, rel=1e-9)
    assert auc_ci(y, second).variance == pytest.approx(covariance[1, 1], rel=1e-12)


def test_ci_covers_the_true_auc_95_percent_of_the_time():
    rng = np.random.default_rng(8)
    true_auc = norm.cdf(1.0 / np.sqrt(2))  # binormal, unit variances, separation 1
    y = np.repeat([0, 1], 100)
    covered = [auc_ci(y, rng.normal(y * 1.0)) for _ in range(1000)]
    assert 0.93 < np.mean([result.ci_low < true_auc < result.ci_high for result in covered]) < 0.97


def _newcombe_variance(theta, n_pos, n_neg):
    """Newcombe's (2006) method-5 variance at θ: Hanley–McNeil's with both class sizes at their mean."""
    mean_size = (n_pos + n_neg) / 2 - 1
    return theta * (1 - theta) * (1 + mean_size * ((1 - theta) / (2 - theta) + theta / (1 + theta))) / (n_pos * n_neg)


def test_score_interval_needs_only_one_case_of_each_class():
    result = auc_score_ci([0, 1, 0, 0], [1.0, 3.0, 2.0, 0.0])
    assert result.auc == 1.0 and 0.0 < result.ci_low < 1.0 and result.ci_high == 1.0


def test_score_interval_stays_open_at_auc_1():
    y = np.repeat([0, 1], 14)  # 14 vs 14, as `detect` on a small split
    perfect = auc_score_ci(y, y * 2.0 + np.arange(28) * 0.01)
    assert auc_ci(y, y * 2.0 + np.arange(28) * 0.01)[2:] == (1.0, 1.0)  # DeLong: no width at all
    assert perfect.auc == 1.0 and perfect.ci_high == 1.0
    assert perfect.ci_low == pytest.approx(0.8552, abs=1e-4)
    z = norm.ppf(0.975)
    assert 1 - perfect.ci_low == pytest.approx(z * np.sqrt(_newcombe_variance(perfect.ci_low, 14, 14)), rel=1e-9)
    worst = auc_score_ci(y, -y)
    assert (worst.auc, worst.ci_low) == (0.0, 0.0) and worst.ci_high == pytest.approx(1 - perfect.ci_low)


@pytest.mark.parametrize("extra_negatives, auc", [(0, 8 / 9), (1, 11 / 12)])  # 6 cases, and an odd 7
def test_score_interval_limits_solve_its_equation(extra_negatives, auc):
    result = auc_score_ci(HAND_Y + [0] * extra_negatives, HAND_SCORES + [0] * extra_negatives)
    n_neg = 3 + extra_negatives
    assert result.auc == pytest.approx(auc) and result.ci_low < auc < result.ci_high < 1
    assert result.variance == pytest.approx(_newcombe_variance(auc, 3, n_neg), rel=1e-12)
    for limit in (result.ci_low, result.ci_high):
        assert abs(auc - limit) == pytest.approx(1.959963984540054 * np.sqrt(_newcombe_variance(limit, 3, n_neg)),
                                                 rel=1e-9)


def test_score_interval_covers_a_high_auc_95_percent_of_the_time():
    rng = np.random.default_rng(9)
    true_auc = norm.cdf(2.0 / np.sqrt(2))  # 0.92: separation 2
    y = np.repeat([0, 1], 15)
    covered = [auc_score_ci(y, rng.normal(y * 2.0)) for _ in range(400)]
    assert 0.92 < np.mean([result.ci_low <= true_auc <= result.ci_high for result in covered]) < 0.99


def test_score_against_itself_gives_z_0_p_1():
    y, scores = _ratings(np.random.default_rng(1))
    result = delong_test(y, scores, scores)
    assert (result.z, result.p_value) == (0.0, 1.0)
    assert (result.diff_ci_low, result.diff_ci_high) == (0.0, 0.0)


def test_swapping_the_scores_flips_z():
    rng = np.random.default_rng(2)
    y, first = _ratings(rng)
    second = _ratings(rng)[1]
    forward, backward = delong_test(y, first, second), delong_test(y, second, first)
    assert forward.z != 0 and backward.z == pytest.approx(-forward.z)
    assert backward.p_value == pytest.approx(forward.p_value)
    assert (backward.diff_ci_low, backward.diff_ci_high) == pytest.approx((-forward.diff_ci_high,
                                                                           -forward.diff_ci_low))


def test_one_swapped_pair_is_a_tiny_difference_not_a_certain_one():
    """Swapping the scores of a positive and the negative just above it moves the AUC by
    1/(n_pos·n_neg); by hand one positive's V10 and one negative's V01 change by 1/n_neg and 1/n_pos, so
    Var(diff) = 2/(n_pos·n_neg)² and z = −1/√2, although Var(diff) (1e-13) is tiny against each
    AUC's variance (5e-5)."""
    n = 2000
    y = np.r_[np.zeros(n, int), np.ones(n, int)]
    first = np.random.default_rng(0).normal(size=2 * n) + y
    order = np.argsort(first)
    below = next(i for i in range(2 * n - 1) if y[order[i]] == 1 and y[order[i + 1]] == 0)
    second = first.copy()
    second[order[below]], second[order[below + 1]] = first[order[below + 1]], first[order[below]]
    result = delong_test(y, first, second)
    assert result.auc_1 - result.auc_2 == pytest.approx(-1 / n ** 2, rel=1e-6)
    assert result.z == pytest.approx(-1 / np.sqrt(2), rel=1e-6)
    assert result.p_value == pytest.approx(2 * norm.sf(1 / np.sqrt(2)), rel=1e-6)
    assert result.diff_ci_high - result.diff_ci_low == pytest.approx(2 * norm.ppf(0.975) * np.sqrt(2) / n ** 2,
                                                                     rel=1e-6)


def test_unpaired_variances_add():
    rng = np.random.default_rng(3)
    (y_1, s_1), (y_2, s_2) = _ratings(rng), _ratings(rng, n=150, separation=0.2)
    first, second = auc_ci(y_1, s_1), auc_ci(y_2, s_2)
    result = delong_test_unpaired(y_1, s_1, y_2, s_2)
    assert result.z == pytest.approx((first.auc - second.auc) / np.sqrt(first.variance + second.variance))
    assert 0 < result.p_value < 1


def test_chance_test():
    rng = np.random.default_rng(4)
    y, scores = _ratings(rng, n=400, separation=1.0)
    informative = auc_vs_chance(y, scores)
    assert informative.auc > 0.6 and informative.z > 3 and informative.p_value < 0.01
    assert auc_vs_chance(y, np.full(y.size, 3)) == (0.5, 0.0, 1.0)  # all tied: 0/0
    perfect = auc_vs_chance([0, 0, 1, 1], [1, 2, 4, 5])  # no spread: DeLong variance 0
    assert perfect == (1.0, np.inf, 0.0)
    assert auc_ci([0, 0, 1, 1], [1, 2, 4, 5])[2:] == (1.0, 1.0)


def test_roc_points_need_one_case_of_each_class_and_boolean_labels_are_labels():
    fpr, tpr = roc_points([0, 0, 1], [1.0, 3.0, 2.0])
    assert fpr.tolist() == [0.0, 0.5, 0.5, 1.0] and tpr.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert auc_ci(np.array(HAND_Y, bool), HAND_SCORES) == auc_ci(HAND_Y, HAND_SCORES)


def test_roc_points_enclose_the_auc():
    y, scores = _ratings(np.random.default_rng(5))
    fpr, tpr = roc_points(y, scores)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(auc_ci(y, scores).auc, abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_clustered_variance_with_one_case_per_cluster_is_delongs(seed):
    y, scores = _ratings(np.random.default_rng(seed), n=80)
    names = [f"source-{index}" for index in np.random.default_rng(seed).permutation(y.size)]
    clustered, delong, chance = auc_ci_clustered(y, scores, names), auc_ci(y, scores), auc_vs_chance(y, scores)
    assert clustered.auc == delong.auc and clustered.clusters == y.size
    assert clustered.variance == pytest.approx(delong.variance, abs=1e-12, rel=1e-12)
    assert clustered[2:4] == pytest.approx(delong[2:4], abs=1e-12)
    assert (clustered.z_vs_chance, clustered.p_vs_chance) == pytest.approx((chance.z, chance.p_value), rel=1e-9)


# Four clusters, by hand (ψ = 1 if the positive is higher, ½ if tied):
#   a: positives 3, 2 and negative 1;  b: positive 1, negative 2;  c: negative 1;  d: positive 3.
# M = 4, N = 3. V10 of the positives 3, 2, 1, 3: 1, 5/6, 1/3, 1; V01 of the negatives 1, 2, 1: 7/8, 5/8, 7/8.
# AUC = 19/24. Per cluster d10 = ΣV10 − m·AUC: a 6/24, b −11/24, c 0, d 5/24;
#                         d01 = ΣV01 − n·AUC: a 2/24, b −4/24, c 2/24, d 0.
# I = 4, I10 = 3, I01 = 3: S10 = 3/(2·4)·182/576, S01 = 3/(2·3)·24/576, S11 = 4/3·56/576;
# Var = S10/4 + S01/3 + 2·S11/(4·3) = 4825/82944 (DeLong, ignoring the clusters: 2640/82944).
HAND_CLUSTERED = ([1, 1, 0, 1, 0, 0, 1], [3, 2, 1, 1, 2, 1, 3], list("aaabbcd"))


def test_clustered_hand_computed_example():
    d10 = [Fraction(value, 24) for value in (6, -11, 0, 5)]
    d01 = [Fraction(value, 24) for value in (2, -4, 2, 0)]
    s10 = Fraction(3, 2 * 4) * sum(value ** 2 for value in d10)
    s01 = Fraction(3, 2 * 3) * sum(value ** 2 for value in d01)
    s11 = Fraction(4, 3) * sum(first * second for first, second in zip(d10, d01))
    assert s10 / 4 + s01 / 3 + 2 * s11 / 12 == Fraction(4825, 82944)
    result = auc_ci_clustered(*HAND_CLUSTERED)
    assert result.auc == pytest.approx(19 / 24, abs=1e-15) and result.clusters == 4
    assert result.variance == pytest.approx(4825 / 82944, abs=1e-15)
    assert result.ci_low == pytest.approx(19 / 24 - norm.ppf(0.975) * np.sqrt(4825 / 82944))
    assert result.ci_high == 1.0
    assert result.z_vs_chance == pytest.approx((19 / 24 - 0.5) / np.sqrt(4825 / 82944))
    assert auc_ci(*HAND_CLUSTERED[:2]).variance == pytest.approx(2640 / 82944, abs=1e-15)


def _clustered_design(rng, clusters, kind):
    """Labels (n,) and cluster ids (n,) of `clusters` clusters of 2–3 images. "mostly one class": clusters
    alternately negative and positive, the last image of every 4th one of the other class (a source's images,
    a few mixed); "one of each": a negative and a positive per cluster, a third of either class (original,
    modified and a pair)."""
    sizes = rng.integers(2, 4, clusters)
    codes = np.repeat(np.arange(clusters), sizes)
    position = np.arange(codes.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    if kind == "mostly one class":
        flipped = (position == sizes[codes] - 1) & (codes % 4 == 0)
        return np.where(flipped, 1 - codes % 2, codes % 2), codes
    return np.where(position < 2, position, rng.integers(0, 2, codes.size)), codes


@pytest.mark.parametrize("kind, delong_ratio", [("mostly one class", (0.5, 0.85)), ("one of each", (1.2, 2.0))])
def test_clustered_variance_matches_simulated_studies(kind, delong_ratio):
    """4,000 simulated studies of one design, 50 clusters; rating = cluster effect + label + noise (all SD 1),
    cut into 1–5. The AUC's variance over the studies is the truth; its relative standard error is about
    sqrt(2 / 3999) = 2.2 %, so ±10 % is 4.5 of them. DeLong's variance, ignoring the clusters, is far off:
    too small when a cluster holds one class, too large when it holds both (their deviations cancel)."""
    rng = np.random.default_rng(11)
    y, codes = _clustered_design(rng, 50, kind)
    positives, studies = y.astype(bool), 4000
    latent = rng.normal(size=(studies, 50))[:, codes] + y + rng.normal(size=(studies, y.size))
    scores = np.digitize(latent, [-0.5, 0.4, 1.2, 2.0]) + 1.0
    aucs, variances = [], []
    for chunk in np.array_split(scores, 8):  # the covariance of 500 studies at a time; their diagonal
        chunk_aucs, covariance = clustered_covariance(positives, chunk, codes)
        aucs.append(chunk_aucs)
        variances.append(np.diag(covariance))
    true_variance = np.var(np.concatenate(aucs), ddof=1)
    assert np.mean(np.concatenate(variances)) / true_variance == pytest.approx(1.0, abs=0.10)
    v10, v01 = structural_components(positives, scores)
    delong = np.var(v10, axis=1, ddof=1) / positives.sum() + np.var(v01, axis=1, ddof=1) / (~positives).sum()
    assert delong_ratio[0] < np.mean(delong) / true_variance < delong_ratio[1]
    assert auc_ci_clustered(y, scores[0], codes).variance == pytest.approx(variances[0][0], rel=1e-12)


def test_clustered_variance_ignores_how_clusters_are_named_and_ordered():
    y, scores, names = HAND_CLUSTERED
    order = np.array([6, 3, 0, 5, 1, 4, 2])
    renamed = [{"a": 9, "b": 2, "c": 5, "d": 0}[name] for name in names]
    expected = auc_ci_clustered(y, scores, names)
    assert auc_ci_clustered(np.take(y, order), np.take(scores, order), np.take(renamed, order)) == pytest.approx(
        expected, abs=1e-15)


@pytest.mark.parametrize("call, message", [
    (lambda: auc_ci([1, 1, 1], [1, 2, 3]), "0 negative"),
    (lambda: auc_ci([0, 0, 0, 1], [1, 2, 3, 4]), "1 positive"),
    (lambda: auc_ci(HAND_Y, [3, 2, np.nan, 2, 1, 1]), "scores is NaN at 1 position(s): [2]"),
    (lambda: delong_test(HAND_Y, HAND_SCORES, [1, 2, 3]), "y_true has 6 cases but scores_2 has shape (3,)"),
    (lambda: delong_test(HAND_Y, [np.nan] + HAND_SCORES[1:], HAND_SCORES), "scores_1 is NaN"),
    (lambda: delong_test_unpaired(HAND_Y, HAND_SCORES, [0, 1], [1, 2]), "1 positive and 1 negative"),
    (lambda: auc_ci([0, 1, 2, 1, 0], [1, 2, 3, 4, 5]), "only 0 and 1, found 2"),
    (lambda: auc_ci(["a", "b", "a", "b"], [1, 2, 3, 4]), "numbers 0 and 1"),
    (lambda: auc_ci(HAND_Y, ["high", "low", "low", "low", "low", "low"]), "scores must be numbers"),
    (lambda: auc_ci(HAND_Y, [{}, 1, 1, 1, 1, 1]), "scores must be numbers"),
    (lambda: auc_ci(1, [1.0]), "y_true must be one-dimensional, got shape ()"),
    (lambda: auc_ci(np.array(HAND_Y)[:, None], HAND_SCORES), "y_true must be one-dimensional, got shape (6, 1)"),
    (lambda: delong_test(HAND_Y, HAND_SCORES, HAND_SCORES + [1]), "y_true has 6 cases but scores_2 has shape (7,)"),
    (lambda: roc_points([0, 0, 0], [1, 2, 3]), "0 positive and 3 negative"),
    (lambda: auc_ci(HAND_Y, np.array(HAND_SCORES)[:, None]), "y_true has 6 cases but scores has shape (6, 1)"),
    (lambda: auc_ci_clustered(HAND_Y, HAND_SCORES, list("aabbccd")), "y_true has 6 cases but clusters has shape (7,)"),
    (lambda: auc_ci(HAND_Y, HAND_SCORES, alpha=5), "alpha must be between 0 and 1"),
    (lambda: auc_ci(HAND_Y, HAND_SCORES, alpha=0.0), "alpha must be between 0 and 1"),
    (lambda: auc_ci(HAND_Y, HAND_SCORES, alpha=1.0), "alpha must be between 0 and 1"),
    (lambda: auc_ci(HAND_Y, HAND_SCORES, alpha=-0.1), "alpha must be between 0 and 1"),
    (lambda: auc_score_ci([1, 1, 1], [1, 2, 3]), "0 negative"),
    (lambda: auc_ci_clustered(HAND_Y, HAND_SCORES, list("aabbc")), "y_true has 6 cases but clusters has shape (5,)"),
    (lambda: auc_ci_clustered(HAND_Y, HAND_SCORES, list("aaabbc")), "1 cluster(s) hold positives and 2 hold"),
], ids=["no negatives", "one positive", "nan", "length", "nan paired", "one class unpaired", "label 2",
        "text labels", "text scores", "object scores", "scalar labels", "column labels", "longer scores",
        "roc points, no positives", "column scores", "longer clusters", "alpha 5", "alpha 0", "alpha 1",
        "alpha -0.1", "score interval, no negatives",
        "clusters length", "one positive cluster"])
def test_errors_say_what_is_wrong(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


def test_intervals_are_clipped_to_the_range_of_an_auc_and_of_a_difference():
    y = np.r_[np.zeros(4, int), np.ones(4, int)]
    backwards = np.array([5, 6, 7, 3, 1, 2, 4, 0.0])  # AUC 1/16 on 8 cases: a wide interval
    for result in (auc_ci(y, backwards), auc_ci_clustered(y, backwards, np.arange(8))):
        assert result.auc == 0.0625 and result.auc - norm.ppf(0.975) * np.sqrt(result.variance) < 0
        assert result.ci_low == 0.0
    below_chance = auc_ci_clustered(y, backwards, np.arange(8))
    assert below_chance.z_vs_chance < 0
    assert below_chance.z_vs_chance == pytest.approx((0.0625 - 0.5) / np.sqrt(below_chance.variance))
    for flipped in (auc_ci(y, -backwards), auc_ci_clustered(y, -backwards, np.arange(8))):
        assert flipped.auc + norm.ppf(0.975) * np.sqrt(flipped.variance) > 1 and flipped.ci_high == 1.0
    for first, second, sign in ((-backwards, backwards, 1), (backwards, -backwards, -1)):
        compared = delong_test(y, first, second)
        half_width = norm.ppf(0.975) * abs(compared.auc_1 - compared.auc_2) / abs(compared.z)
        assert abs(compared.auc_1 - compared.auc_2) + half_width > 1
        assert (compared.diff_ci_high if sign > 0 else compared.diff_ci_low) == sign * 1.0


def test_two_clusters_of_each_class_are_enough():
    result = auc_ci_clustered(HAND_Y, HAND_SCORES, list("aabbcc"))  # a: 2 positives, b: one of each, c: 2 negatives
    assert result.clusters == 3 and result.auc == pytest.approx(8 / 9) and result.variance > 0


def test_a_reader_rating_each_sources_images_alike_gets_a_point_interval_not_nan():
    """Each cluster holds one positive and one negative with the same score: Obuchowski's variance is 0,
    which these 3 sources' scores gave as −1.4e-17 on a 2-core Intel Xeon (rounding); the interval is
    the point AUC = 0.5."""
    clusters, y = np.repeat(np.arange(3), 2), np.tile([0, 1], 3)
    scores = np.repeat([0.5, 0.4, 0.3], 2)
    result = auc_ci_clustered(y, scores, clusters)
    assert result.variance == pytest.approx(0.0, abs=1e-15)
    assert result.ci_low == pytest.approx(0.5) and result.ci_high == pytest.approx(0.5)
    assert (result.z_vs_chance, result.p_vs_chance) == (0.0, 1.0)


def test_the_errors_list_the_first_ten_wrong_values():
    with pytest.raises(ValueError) as error:
        auc_ci(list(range(14)), range(14))
    assert str(error.value).endswith("found 10, 11, 12, 13, 2, 3, 4, 5, 6, 7")
    with pytest.raises(ValueError) as error:
        auc_ci([0, 1] * 7, [np.nan] * 12 + [1.0, 2.0])
    assert str(error.value).endswith("NaN at 12 position(s): [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]")
