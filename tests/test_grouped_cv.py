"""The source-grouped cross-validated classifier shared by the detector and the leak audit."""

import numpy as np
from sklearn.metrics import roc_auc_score

from cyclegan.analysis import grouped_cv


def _study_like(seed: int, shift: float):
    """exp1-like rows: 20 sources shown both ways, 10 only as originals, 10 only modified."""
    groups = np.array(list(range(20)) * 2 + list(range(20, 40)))
    truth = np.array([0] * 20 + [1] * 20 + [0] * 10 + [1] * 10)
    table = np.random.default_rng(seed).normal(size=(len(truth), 3))
    table[:, 0] += shift * truth
    return table, truth, groups


def test_a_source_never_sits_on_both_sides_of_a_split(monkeypatch):
    table, truth, groups = _study_like(0, 0.0)
    fitted = grouped_cv._fit_predict
    splits = []

    def recording(train, train_truth, test):
        splits.append(({tuple(row) for row in train}, {tuple(row) for row in test}))
        return fitted(train, train_truth, test)

    monkeypatch.setattr(grouped_cv, "_fit_predict", recording)
    scores = grouped_cv.out_of_fold_scores(table, truth, groups, folds=5, repeats=3)
    assert len(splits) == 15 and np.all((scores > 0) & (scores < 1))
    group_of = {tuple(row): group for row, group in zip(table, groups)}
    for train, test in splits:
        assert not {group_of[row] for row in train} & {group_of[row] for row in test}
        assert len(train) + len(test) == len(table)


def _auc(seed: int, shift: float, repeats: int) -> float:
    table, truth, groups = _study_like(seed, shift)
    return roc_auc_score(truth, grouped_cv.out_of_fold_scores(table, truth, groups, repeats=repeats, seed=seed))


def test_scores_find_a_real_shift_and_stay_at_chance_without_one():
    assert min(_auc(seed, 2.0, repeats=2) for seed in range(5)) > 0.8  # about 0.92 in theory at this shift
    assert abs(np.mean([_auc(seed, 0.0, repeats=1) for seed in range(20)]) - 0.5) < 0.06
