"""ROC statistics: AUC with ties, DeLong variance and covariance, paired/unpaired tests, errors."""

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from cyclegan.analysis.readers.roc import (
    auc_ci,
    auc_score_ci,
    auc_vs_chance,
    delong_test,
    delong_test_unpaired,
    roc_points,
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


def test_score_interval_limits_solve_its_equation():
    result = auc_score_ci(HAND_Y, HAND_SCORES)
    assert result.auc == pytest.approx(8 / 9) and result.ci_low < 8 / 9 < result.ci_high < 1
    for limit in (result.ci_low, result.ci_high):
        assert abs(8 / 9 - limit) == pytest.approx(1.959963984540054 * np.sqrt(_newcombe_variance(limit, 3, 3)),
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


def test_roc_points_enclose_the_auc():
    y, scores = _ratings(np.random.default_rng(5))
    fpr, tpr = roc_points(y, scores)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(auc_ci(y, scores).auc, abs=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: auc_ci([1, 1, 1], [1, 2, 3]), "0 negative"),
    (lambda: auc_ci([0, 0, 0, 1], [1, 2, 3, 4]), "1 positive"),
    (lambda: auc_ci(HAND_Y, [3, 2, np.nan, 2, 1, 1]), "scores is NaN at 1 position(s): [2]"),
    (lambda: delong_test(HAND_Y, HAND_SCORES, [1, 2, 3]), "y_true has 6 cases but scores_2 has shape (3,)"),
    (lambda: delong_test(HAND_Y, [np.nan] + HAND_SCORES[1:], HAND_SCORES), "scores_1 is NaN"),
    (lambda: delong_test_unpaired(HAND_Y, HAND_SCORES, [0, 1], [1, 2]), "1 positive and 1 negative"),
    (lambda: auc_ci([0, 1, 2, 1, 0], [1, 2, 3, 4, 5]), "only 0 and 1, found 2"),
    (lambda: auc_ci(["a", "b", "a", "b"], [1, 2, 3, 4]), "numbers 0 and 1"),
    (lambda: auc_ci(HAND_Y, HAND_SCORES, alpha=5), "alpha"),
    (lambda: auc_score_ci([1, 1, 1], [1, 2, 3]), "0 negative"),
], ids=["no negatives", "one positive", "nan", "length", "nan paired", "one class unpaired", "label 2",
        "text labels", "alpha", "score interval, no negatives"])
def test_errors_say_what_is_wrong(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)
