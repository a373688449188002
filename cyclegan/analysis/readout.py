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
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .readout_report import write_reports
from .roc import MIN_PER_CLASS, AucResult, ChanceResult, DelongResult, auc_ci, auc_vs_chance, \
    delong_test, delong_test_unpaired
from .study_files import Problem, ReaderResponses, read_answer_key, read_responses, write_problems

PROBLEMS_FILE = "problems.csv"


@dataclass(frozen=True)
class RatedSet:
    """One ROC analysis of one reader: ratings of a set of images against their truth."""

    name: str  # original | modified | detection | detection_step_<N>
    step: int | None  # the checkpoint step of a per-step detection set, else None
    truth: np.ndarray  # (n,) 0/1
    scores: np.ndarray  # (n,) ratings 1–5
    auc: AucResult
    chance: ChanceResult | None  # AUC vs 0.5, for detection sets


@dataclass(frozen=True)
class Comparison:
    """DeLong test of malignancy AUC on originals (auc_1) vs on modified images (auc_2)."""

    paired: bool
    cases: int  # sources when paired, images when unpaired
    result: DelongResult


@dataclass(frozen=True)
class ReaderResult:
    """Everything analysed for one reader; `sets` in the order original, modified, detection, per step."""

    reader: str
    cases: int  # images rated without problems
    sets: dict[str, RatedSet]
    comparison: Comparison


@dataclass(frozen=True)
class Readout:
    """The outcome of `analyze`: problems found, and the readers analysed (none when stopped by problems)."""

    problems: list[Problem]
    readers: list[ReaderResult]
    analysed: bool
    files: list[Path]


REPORT_FILES = ("table.md", "table.csv", "results.json")


def analyze(key_path, response_paths, out_dir, paper: str | None = None, allow_incomplete: bool = False) -> Readout:
    """Analyse every responses file against the key and write the reports into `out_dir`.

    Always writes problems.csv. With problems and not `allow_incomplete`, stops there; otherwise
    analyses each reader's problem-free cases and writes table.md, table.csv, results.json and one
    ROC plot per reader. Study reader i (order of `response_paths`) sits beside paper reader i.
    """
    key = read_answer_key(key_path)
    responses = [read_responses(path, key) for path in response_paths]
    _check_distinct_readers(responses)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*REPORT_FILES, *out_dir.glob("roc_*.png")]:  # never leave an earlier analysis beside this one
        (out_dir / stale).unlink(missing_ok=True)
    problems = [problem for reader in responses for problem in reader.problems]
    files = [write_problems(problems, out_dir / PROBLEMS_FILE)]
    if problems and not allow_incomplete:
        return Readout(problems, [], False, files)
    readers = [analyze_reader(key, reader) for reader in responses]
    files += write_reports(readers, problems, out_dir, paper=paper,
                           inputs={"key": str(key_path), "responses": [str(path) for path in response_paths]})
    return Readout(problems, readers, True, files)


def analyze_reader(key: pd.DataFrame, responses: ReaderResponses) -> ReaderResult:
    """The rated sets and the originals-vs-modified test for one reader's usable ratings."""
    cases = key.join(responses.ratings.add_prefix("rated_"), how="inner")
    original, modified = cases[~cases["modified"]], cases[cases["modified"]]
    plans = [("original", None, original, "label", "rated_malignancy"),
             ("modified", None, modified, "label", "rated_malignancy"),
             ("detection", None, cases, "modified", "rated_modified")]
    steps = sorted(int(step) for step in modified["step"].dropna().unique())
    if len(steps) > 1:
        plans += [(f"detection_step_{step}", step, pd.concat([original, modified[modified["step"] == step]]),
                   "modified", "rated_modified") for step in steps]
    sets = {}
    for name, step, rows, truth_column, score_column in plans:
        truth, scores = rows[truth_column].to_numpy(int), rows[score_column].to_numpy(float)
        is_detection = truth_column == "modified"
        with _context(responses.reader, name):
            sets[name] = RatedSet(name, step, truth, scores, auc_ci(truth, scores),
                                  auc_vs_chance(truth, scores) if is_detection else None)
    with _context(responses.reader, "originals vs modified"):
        comparison = _compare_original_modified(original, modified)
    return ReaderResult(responses.reader, len(cases), sets, comparison)


def _compare_original_modified(original: pd.DataFrame, modified: pd.DataFrame) -> Comparison:
    """Paired DeLong over sources with both kinds of image when enough of them, else unpaired."""
    per_source = pd.concat({"original": original.groupby("source")["rated_malignancy"].mean(),
                            "modified": modified.groupby("source")["rated_malignancy"].mean(),
                            "label": pd.concat([original, modified]).groupby("source")["label"].first()},
                           axis=1).dropna()
    label_counts = per_source["label"].value_counts()
    if min(label_counts.get(0, 0), label_counts.get(1, 0)) >= MIN_PER_CLASS:
        result = delong_test(per_source["label"].to_numpy(int), per_source["original"].to_numpy(),
                             per_source["modified"].to_numpy())
        return Comparison(True, len(per_source), result)
    result = delong_test_unpaired(original["label"].to_numpy(int), original["rated_malignancy"].to_numpy(float),
                                  modified["label"].to_numpy(int), modified["rated_malignancy"].to_numpy(float))
    return Comparison(False, len(original) + len(modified), result)


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
