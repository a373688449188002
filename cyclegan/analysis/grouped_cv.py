"""Out-of-fold scores of a standardised logistic regression, folds grouped by source.

Shared by the automated detector (artifacts/detector.py) and the reader kit's leak audit
(readers/audit.py): an image and the other images of its source (its original, its modification)
never sit on opposite sides of a split, so a score says what the classifier learnt from other sources.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def out_of_fold_scores(table: np.ndarray, truth: np.ndarray, groups, folds: int = 5, repeats: int = 1,
                       seed: int = 0) -> np.ndarray:
    """(n,) mean out-of-fold P(positive) for the rows of the (n, features) `table`.

    `truth`: (n,) 0/1; `groups`: (n,) source of each row. Folds (at most one per group) are stratified
    and grouped, reshuffled `repeats` times from `seed`. The model weighs its classes equally
    (balanced class weights), so a fold's share of positives does not move its scores.
    """
    groups = np.unique(np.asarray(groups), return_inverse=True)[1]
    truth = np.asarray(truth, dtype=int)
    totals, counts = np.zeros(len(truth)), np.zeros(len(truth))
    for repeat in range(repeats):
        splitter = StratifiedGroupKFold(n_splits=min(folds, groups.max() + 1), shuffle=True,
                                        random_state=seed + repeat)
        for train, test in splitter.split(table, truth, groups):
            totals[test] += _fit_predict(table[train], truth[train], table[test])
            counts[test] += 1
    return totals / np.maximum(counts, 1)


def _fit_predict(train: np.ndarray, truth: np.ndarray, test: np.ndarray) -> np.ndarray:
    """P(positive) for `test` from a model fit on `train`; the training share when it holds one class."""
    if np.unique(truth).size < 2:
        return np.full(len(test), float(truth.mean()))
    model = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=1000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(train, truth).predict_proba(test)[:, 1]
