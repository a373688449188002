"""Reader-study reports: the paper's per-reader AUC table (markdown and CSV), results.json, ROC plots.

Table columns follow Becker et al.'s reader tables: AUC of the malignancy rating on original and on
modified images, and AUC of detecting modification (one column per checkpoint step when the study
has several, like the paper's early / late in experiment 2), each with its 95 % DeLong CI and,
with `paper`, the paper's value beside it. Study reader i is set beside paper reader i.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .roc import roc_points
from .study_files import Problem

if TYPE_CHECKING:  # type names only: readout imports this module
    from .readout import RatedSet, ReaderResult


@dataclass(frozen=True)
class PaperReader:
    """One reader's AUCs as printed in the paper."""

    original: float
    modified: float
    detection: tuple[float, ...]  # one per column of PaperTable.detection_columns


@dataclass(frozen=True)
class PaperTable:
    title: str
    detection_columns: tuple[str, ...]
    readers: tuple[PaperReader, ...]


PAPER_TABLES = {
    "exp1": PaperTable("Becker et al., experiment 1 (256 × 256)", ("detection",), (
        PaperReader(0.85, 0.63, (0.66,)), PaperReader(0.75, 0.67, (0.48,)), PaperReader(0.77, 0.69, (0.50,)))),
    "exp2": PaperTable("Becker et al., experiment 2 (512 × 408)", ("early", "late"), (
        PaperReader(0.78, 0.69, (0.93, 0.93)), PaperReader(0.77, 0.59, (0.93, 1.0)),
        PaperReader(0.84, 0.60, (0.95, 0.90)))),
}
SET_TITLES = {"original": "malignancy, original images", "modified": "malignancy, modified images",
              "detection": "detecting modification"}


def write_reports(readers: list[ReaderResult], problems: list[Problem], out_dir: Path, paper: str | None,
                  inputs: dict) -> list[Path]:
    """table.md, table.csv, results.json and roc_<i>_<reader>.png in `out_dir`; returns their paths."""
    paper_table = PAPER_TABLES[paper] if paper else None
    rows = [_table_row(index, reader, paper_table) for index, reader in enumerate(readers)]
    table_csv = out_dir / "table.csv"
    pd.DataFrame([{key: cell.value for key, cell in row.items()} for row in rows]).to_csv(table_csv, index=False)
    table_md = out_dir / "table.md"
    table_md.write_text(_markdown(rows, problems, paper_table))
    results = out_dir / "results.json"
    results.write_text(json.dumps(_results(readers, problems, paper, inputs), indent=2) + "\n")
    plots = [_plot_roc(reader, out_dir / f"roc_{index + 1}_{_slug(reader.reader)}.png")
             for index, reader in enumerate(readers)]
    return [table_md, table_csv, results, *plots]


def set_title(rated: RatedSet) -> str:
    return SET_TITLES["detection"] + f", step {rated.step}" if rated.step is not None else SET_TITLES[rated.name]


@dataclass(frozen=True)
class _Cell:
    """One table cell: `value` for table.csv, `text` for table.md ('' hides it there), `header` for table.md."""

    value: object
    text: str
    header: str


def _table_row(index: int, reader: ReaderResult, paper_table: PaperTable | None) -> dict[str, _Cell]:
    """One reader's row, keyed by table.csv column name, in table order."""
    paper_reader = paper_table.readers[index] if paper_table and index < len(paper_table.readers) else None
    row = {"reader": _Cell(reader.reader, reader.reader, "reader")}
    if paper_table:
        number = index + 1 if paper_reader else None
        row["paper_reader"] = _Cell(number, str(number or "—"), "paper reader")
    row["images"] = _Cell(reader.cases, str(reader.cases), "images")
    for name in ("original", "modified"):
        paper_value = getattr(paper_reader, name) if paper_reader else None
        row.update(_auc_cells(reader.sets[name], paper_value, paper_table))
    comparison, result = reader.comparison, reader.comparison.result
    test = f"paired, {comparison.cases} sources" if comparison.paired else f"unpaired, {comparison.cases} images"
    row.update({
        "original_vs_modified_test": _Cell("paired" if comparison.paired else "unpaired",
                                           f"z = {_fmt(result.z)}, p = {_fmt_p(result.p_value)} ({test})",
                                           "original vs modified (DeLong)"),
        "original_vs_modified_cases": _Cell(comparison.cases, "", ""),
        "original_vs_modified_z": _Cell(_round(result.z), "", ""),
        "original_vs_modified_p": _Cell(_round(result.p_value), "", ""),
        "original_vs_modified_diff_ci_low": _Cell(_round(result.diff_ci_low), "", ""),
        "original_vs_modified_diff_ci_high": _Cell(_round(result.diff_ci_high), "", ""),
    })
    detection_sets = _table_detection_sets(reader)
    for column, rated in enumerate(detection_sets):
        paper_value = _paper_detection(paper_reader, paper_table, column, len(detection_sets))
        row.update(_auc_cells(rated, paper_value, paper_table))
    return row


def _table_detection_sets(reader: ReaderResult) -> list[RatedSet]:
    """The detection columns of the paper's tables: one per step when there are several, else one."""
    per_step = [rated for rated in reader.sets.values() if rated.step is not None]
    return per_step or [reader.sets["detection"]]


def _auc_cells(rated: RatedSet, paper_value, paper_table: PaperTable | None) -> dict[str, _Cell]:
    auc = rated.auc
    cells = {f"{rated.name}_auc": _Cell(_round(auc.auc), f"{auc.auc:.2f} ({auc.ci_low:.2f}–{auc.ci_high:.2f})",
                                        f"AUC {set_title(rated)} (95 % CI)"),
             f"{rated.name}_ci_low": _Cell(_round(auc.ci_low), "", ""),
             f"{rated.name}_ci_high": _Cell(_round(auc.ci_high), "", "")}
    if rated.chance is not None:
        cells[f"{rated.name}_z_vs_chance"] = _Cell(_round(rated.chance.z), "", "")
        cells[f"{rated.name}_p_vs_chance"] = _Cell(_round(rated.chance.p_value), _fmt_p(rated.chance.p_value),
                                                   "p vs 0.5")
    if paper_table:
        text = paper_value if isinstance(paper_value, str) else "—" if paper_value is None else f"{paper_value:.2f}"
        cells[f"{rated.name}_paper"] = _Cell(paper_value, text, "paper")
    return cells


def _paper_detection(paper_reader: PaperReader | None, paper_table: PaperTable | None, column: int, columns: int):
    """The paper's detection AUC for study detection column `column`: matched in order when the
    numbers of columns agree, else all of the paper's values with their labels (a string)."""
    if paper_reader is None:
        return None
    if len(paper_table.detection_columns) in (1, columns):
        return paper_reader.detection[min(column, len(paper_reader.detection) - 1)]
    return " / ".join(f"{value:.2f} ({label})" for value, label in zip(paper_reader.detection,
                                                                      paper_table.detection_columns))


def _markdown(rows: list[dict[str, _Cell]], problems: list[Problem], paper_table: PaperTable | None) -> str:
    columns = list(dict.fromkeys(key for row in rows for key, cell in row.items() if cell.header))
    headers = {key: cell.header for row in rows for key, cell in row.items()}
    lines = ["# Reader study: per-reader AUCs", "",
             "| " + " | ".join(headers[key] for key in columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row[key].text if key in row else "" for key in columns) + " |" for row in rows]
    lines += ["", "AUCs with 95 % DeLong CIs. Malignancy is scored against the true label of the image's source "
              "(for modified images too); detection against modified yes/no, with p from a two-sided test of "
              "AUC = 0.5. Original vs modified: DeLong test of the two malignancy AUCs, paired over sources "
              "shown both original and modified when there are enough of them (the z, p and AUCs of that test "
              "are in table.csv and results.json)."]
    if paper_table:
        lines += ["", f"Paper values: {paper_table.title}. Study reader i (the order of --responses) is set beside "
                  "paper reader i; they are different people, so compare the pattern, not the reader."]
    if problems:
        lines += ["", f"{len(problems)} problem(s) in the responses (problems.csv); those cases were left out, "
                  "so the image counts differ from the answer key."]
    return "\n".join(lines) + "\n"


def _results(readers: list[ReaderResult], problems: list[Problem], paper: str | None, inputs: dict) -> dict:
    """Every number of the analysis, JSON-ready (non-finite z as the strings 'inf' / '-inf')."""
    def reader_json(index: int, reader: ReaderResult) -> dict:
        sets = {}
        for name, rated in reader.sets.items():
            entry = {"step": rated.step, "positives": int(rated.truth.sum()),
                     "negatives": int(len(rated.truth) - rated.truth.sum()), **rated.auc._asdict()}
            if rated.chance is not None:
                entry.update(z_vs_chance=rated.chance.z, p_vs_chance=rated.chance.p_value)
            sets[name] = entry
        comparison = reader.comparison
        return {"reader": reader.reader, "study_reader": index + 1, "images": reader.cases, "sets": sets,
                "original_vs_modified": {"paired": comparison.paired, "cases": comparison.cases,
                                         **comparison.result._asdict()}}

    document = {"inputs": inputs, "paper": paper, "problems": len(problems),
                "readers": [reader_json(index, reader) for index, reader in enumerate(readers)]}
    return _finite_or_text(document)


def _finite_or_text(value):
    """`value` with every non-finite float inside it replaced by its text ('inf', '-inf', 'nan')."""
    if isinstance(value, dict):
        return {key: _finite_or_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite_or_text(item) for item in value]
    return str(value) if isinstance(value, float) and not math.isfinite(value) else value


def _plot_roc(reader: ReaderResult, path: Path) -> Path:
    """One PNG per reader: the empirical ROC curve of every rated set, with AUC and CI in the legend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5, 5.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    for rated in reader.sets.values():
        fpr, tpr = roc_points(rated.truth, rated.scores)
        auc = rated.auc
        axes.plot(fpr, tpr, marker="o", markersize=3,
                  label=f"{set_title(rated)}: {auc.auc:.2f} ({auc.ci_low:.2f}–{auc.ci_high:.2f})")
    axes.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", xlabel="false positive rate",
             ylabel="true positive rate", title=f"Reader {reader.reader}")
    axes.legend(loc="lower right", fontsize=7, title="AUC (95 % CI)", title_fontsize=7)
    figure.savefig(path)
    return path


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "reader"


def _round(value: float) -> float:
    return round(value, 4) if math.isfinite(value) else value


def _fmt(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else ("∞" if value > 0 else "−∞")


def _fmt_p(p_value: float) -> str:
    return "< 0.001" if p_value < 0.001 else f"{p_value:.3f}"
