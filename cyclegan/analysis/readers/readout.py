"""Reader-study analysis: each reader's ratings against the answer key -> the paper's AUCs and tests.

Per reader (Becker et al., Tables 2 and 3):
- `original`: malignancy rating on the original images, truth the source's label;
- `modified`: malignancy rating on the modified images, truth the label of their source;
- `detection`: the "modified" rating on all images, truth modified yes/no; tested against chance
  (AUC 0.5). When the key holds modifications from several checkpoint steps, also one detection
  set per step (all originals against that step's modifications), e.g. the paper's early / late;
- originals vs modified: DeLong test of the two malignancy AUCs, paired over the sources that have
  both an original and a modified image (a source's ratings are averaged when it was shown more
  than once in one condition) when those hold at least 2 healthy and 2 cancer sources, otherwise
  unpaired over all original and all modified images.

Clustering by source: one source image is shown up to 3 times (original, modified, in a side-by-side
pair), and a reader rates the images of one source alike, so they are not independent cases. Beside
DeLong's figures (every image its own case), each rated set gets `by_source`: the same AUC with
Obuchowski's (1997) clustered variance, CI and (detection) test against 0.5, the cluster being the
key's `source` (see `roc`). The MRMC analysis takes a source with all its images as one case
throughout (leave-one-source-out jackknife).

With `paper`, a key whose `layout` column names the other experiment gives a warning (Readout.warnings,
table.md); a key without that column, or with it empty, gives none.

All readers together (MRMC, with at least 2 readers; Obuchowski–Rockette with Hillis' df, jackknife
covariance, see `mrmc`): each rated set over the images every reader rated, as one modality with
its random-reader CI (detection sets also tested against 0.5); and, when every reader saw at least
2 healthy and 2 cancer sources both original and modified, the malignancy AUC on originals vs
modified images over those sources (ratings averaged per source), with random and fixed readers.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .files import ReaderResponses, read_answer_key, read_responses, write_problems
from .mrmc import mrmc_roc, mrmc_single, single_p_value
from .report import write_reports
from .results import Comparison, MrmcAnalysis, MrmcComparison, MrmcSet, RatedSet, ReaderResult, Readout
from .roc import MIN_PER_CLASS, auc_ci, auc_ci_clustered, auc_vs_chance, delong_test, delong_test_unpaired

PROBLEMS_FILE = "problems.csv"
REPORT_FILES = ("table.md", "table.csv", "results.json")


def analyze(key_path, response_paths, out_dir, paper: str | None = None, allow_incomplete: bool = False) -> Readout:
    """Analyse every responses file against the key and write the reports into `out_dir`.

    Always writes problems.csv. With problems and not `allow_incomplete`, stops there; otherwise
    analyses each reader's problem-free cases (and, with 2 or more readers, all readers together)
    and writes table.md, table.csv, results.json and one ROC plot per reader. Study reader i (order
    of `response_paths`) sits beside paper reader i.
    """
    key = read_answer_key(key_path)
    warnings = _layout_warnings(key, paper)
    responses = [read_responses(path, key) for path in response_paths]
    _check_distinct_readers(responses)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*REPORT_FILES, *out_dir.glob("roc_*.png")]:  # never leave an earlier analysis beside this one
        (out_dir / stale).unlink(missing_ok=True)
    problems = [problem for reader in responses for problem in reader.problems]
    files = [write_problems(problems, out_dir / PROBLEMS_FILE)]
    if problems and not allow_incomplete:
        return Readout(problems, [], False, files, warnings=warnings)
    readers = [analyze_reader(key, reader) for reader in responses]
    mrmc = analyze_all_readers(key, responses) if len(responses) >= 2 else None
    files += write_reports(readers, mrmc, problems, out_dir, paper=paper, warnings=warnings,
                           inputs={"key": str(key_path), "responses": [str(path) for path in response_paths]})
    return Readout(problems, readers, True, files, mrmc, warnings)


def analyze_reader(key: pd.DataFrame, responses: ReaderResponses) -> ReaderResult:
    """The rated sets and the originals-vs-modified test for one reader's usable ratings."""
    cases = _rated_cases(key, responses)
    sets = {}
    for name, step, rows, truth_column, score_column in _set_plans(cases):
        truth, scores = rows[truth_column].to_numpy(int), rows[score_column].to_numpy(float)
        is_detection = truth_column == "modified"
        with _context(responses.reader, name):
            sets[name] = RatedSet(name, step, truth, scores, auc_ci(truth, scores),
                                  auc_vs_chance(truth, scores) if is_detection else None,
                                  auc_ci_clustered(truth, scores, rows["source"].to_numpy()))
    with _context(responses.reader, "originals vs modified"):
        comparison = _compare_original_modified(cases[~cases["modified"]], cases[cases["modified"]])
    return ReaderResult(responses.reader, len(cases), sets, comparison)


def analyze_all_readers(key: pd.DataFrame, responses: list[ReaderResponses]) -> MrmcAnalysis:
    """MRMC analysis of 2 or more readers: every rated set over the images all of them rated, and
    originals vs modified over the sources all of them rated both ways."""
    rated = [_rated_cases(key, reader) for reader in responses]
    shared_ids = sorted(set.intersection(*(set(cases.index) for cases in rated)))
    shared = key.loc[shared_ids]
    sets = {}
    for name, step, rows, truth_column, score_column in _set_plans(shared):
        truth, sources = rows[truth_column].to_numpy(int), rows["source"].to_numpy()
        if min(np.unique(sources[truth == 1]).size, np.unique(sources[truth == 0]).size) < MIN_PER_CLASS:
            continue
        result = mrmc_single(np.stack([cases.loc[rows.index, score_column].to_numpy(float) for cases in rated]), truth,
                             clusters=sources)
        chance = single_p_value(result, 0.5) if truth_column == "modified" else None
        sets[name] = MrmcSet(name, step, len(truth), int(truth.sum()), result, chance)
    return MrmcAnalysis(tuple(reader.reader for reader in responses), len(shared), sets,
                        _mrmc_original_modified(rated))


def _mrmc_original_modified(rated: list[pd.DataFrame]) -> MrmcComparison | None:
    """OR comparison over the sources every reader rated both ways, when 2 or more of each label."""
    per_reader = [_source_means(cases[~cases["modified"]], cases[cases["modified"]]) for cases in rated]
    shared = sorted(set.intersection(*(set(means.index) for means in per_reader)))
    labels = per_reader[0].loc[shared, "label"].to_numpy(int)
    if min(labels.sum(), len(labels) - labels.sum()) < MIN_PER_CLASS:
        return None
    scores = np.stack([[means.loc[shared, condition].to_numpy() for means in per_reader]
                       for condition in ("original", "modified")])
    return MrmcComparison(len(shared), mrmc_roc(scores, labels))


def _rated_cases(key: pd.DataFrame, responses: ReaderResponses) -> pd.DataFrame:
    """The key's rows this reader rated without problems, ratings in rated_malignancy and rated_modified."""
    return key.join(responses.ratings.add_prefix("rated_"), how="inner")


def _set_plans(cases: pd.DataFrame) -> list[tuple[str, int | None, pd.DataFrame, str, str]]:
    """(name, step, rows, truth column, score column) of each rated set of `cases` (key rows)."""
    original, modified = cases[~cases["modified"]], cases[cases["modified"]]
    plans = [("original", None, original, "label", "rated_malignancy"),
             ("modified", None, modified, "label", "rated_malignancy"),
             ("detection", None, cases, "modified", "rated_modified")]
    steps = sorted(int(step) for step in modified["step"].dropna().unique())
    if len(steps) > 1:
        plans += [(f"detection_step_{step}", step, pd.concat([original, modified[modified["step"] == step]]),
                   "modified", "rated_modified") for step in steps]
    return plans


def _source_means(original: pd.DataFrame, modified: pd.DataFrame) -> pd.DataFrame:
    """Per source with both kinds of image: mean malignancy rating on its originals and on its
    modifications, and its label; index source."""
    return pd.concat({"original": original.groupby("source")["rated_malignancy"].mean(),
                      "modified": modified.groupby("source")["rated_malignancy"].mean(),
                      "label": pd.concat([original, modified]).groupby("source")["label"].first()},
                     axis=1).dropna()


def _compare_original_modified(original: pd.DataFrame, modified: pd.DataFrame) -> Comparison:
    """Paired DeLong over sources with both kinds of image when enough of them, else unpaired."""
    per_source = _source_means(original, modified)
    label_counts = per_source["label"].value_counts()
    if min(label_counts.get(0, 0), label_counts.get(1, 0)) >= MIN_PER_CLASS:
        result = delong_test(per_source["label"].to_numpy(int), per_source["original"].to_numpy(),
                             per_source["modified"].to_numpy())
        return Comparison(True, len(per_source), result)
    result = delong_test_unpaired(original["label"].to_numpy(int), original["rated_malignancy"].to_numpy(float),
                                  modified["label"].to_numpy(int), modified["rated_malignancy"].to_numpy(float))
    return Comparison(False, len(original) + len(modified), result)


def _layout_warnings(key: pd.DataFrame, paper: str | None) -> tuple[str, ...]:
    """A warning when `paper` is not the layout in the key's `layout` column (none without that column)."""
    layouts = sorted(set(key["layout"].dropna().astype(str)) - {""}) if paper and "layout" in key else []
    if not layouts or layouts == [paper]:
        return ()
    return (f"--paper {paper} sets the paper's {paper} values beside a study whose answer key has layout "
            f"{' and '.join(layouts)}",)


def _check_distinct_readers(responses: list[ReaderResponses]) -> None:
    names = [reader.reader for reader in responses]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"several responses files give the reader name(s) {', '.join(repeated)}; "
                         "rename the files or fill their reader column")


@contextmanager
def _context(reader: str, analysis: str):
    """Prefix a ValueError with the reader and analysis it came from."""
    try:
        yield
    except ValueError as err:
        raise ValueError(f"reader {reader!r}, {analysis}: {err}") from err
