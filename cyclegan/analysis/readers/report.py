"""Reader-study reports: the paper's per-reader AUC table (markdown and CSV), results.json, ROC plots.

Table columns follow Becker et al.'s reader tables: AUC of the malignancy rating on original and on
modified images, and AUC of detecting modification (one column per checkpoint step when the study
has several, like the paper's early / late in experiment 2), each with its 95 % DeLong CI and,
with `paper`, the paper's value beside it, and the originals-vs-modified test with the two AUCs it
compares. Beside each DeLong CI, the CI (and for detection the p vs 0.5) "by source": Obuchowski's
clustered variance, a source image with all the images made from it counted as one case. Study
reader i is set beside paper reader i. With 2 or more readers a last row, "all
readers (MRMC)", holds the same columns from the MRMC analysis (random-reader CIs), and table.md
spells out its originals-vs-modified comparison below the table. `warnings` open table.md.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from .files import Problem
from .mrmc import MrmcResult
from .results import MrmcAnalysis, MrmcSet, RatedSet, ReaderResult
from .roc import roc_points


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
MRMC_READER = "all readers (MRMC)"
MRMC_METHOD = "Obuchowski-Rockette with Hillis' df, jackknife covariance"
TEST_HEADER = "original vs modified: AUCs compared, test"


def write_reports(readers: list[ReaderResult], mrmc: MrmcAnalysis | None, problems: list[Problem], out_dir: Path,
                  paper: str | None, inputs: dict, warnings: tuple[str, ...] = ()) -> list[Path]:
    """table.md, table.csv, results.json and roc_<i>_<reader>.png in `out_dir`; returns their paths."""
    paper_table = PAPER_TABLES[paper] if paper else None
    rows = [_table_row(index, reader, paper_table) for index, reader in enumerate(readers)]
    if mrmc is not None:
        rows.append(_mrmc_row(mrmc, _table_detection_sets(readers[0]), paper_table))
    table_csv = out_dir / "table.csv"
    _csv_frame(rows).to_csv(table_csv, index=False)
    table_md = out_dir / "table.md"
    table_md.write_text(_markdown(rows, mrmc, problems, paper_table, warnings))
    results = out_dir / "results.json"
    results.write_text(json.dumps(_results(readers, mrmc, problems, paper, inputs, warnings), indent=2) + "\n")
    plots = [_plot_roc(reader, out_dir / f"roc_{index + 1}_{_slug(reader.reader)}.png")
             for index, reader in enumerate(readers)]
    return [table_md, table_csv, results, *plots]


def _csv_frame(rows: list[dict[str, _Cell]]) -> pd.DataFrame:
    """table.csv's rows; columns of whole numbers stay whole where a row leaves them empty."""
    values = [{key: cell.value for key, cell in row.items()} for row in rows]
    frame = pd.DataFrame(values)
    for column in frame:
        present = [row[column] for row in values if row.get(column) is not None]
        if present and all(isinstance(value, int) and not isinstance(value, bool) for value in present):
            frame[column] = frame[column].astype("Int64")
    return frame


def set_title(rated: RatedSet | MrmcSet) -> str:
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
        row.update(_rated_set_cells(reader.sets[name], paper_value, paper_table))
    comparison, result = reader.comparison, reader.comparison.result
    test = f"paired, {comparison.cases} sources" if comparison.paired else f"unpaired, {comparison.cases} images"
    row.update({
        "original_vs_modified_test": _Cell("paired" if comparison.paired else "unpaired",
                                           f"{result.auc_1:.2f} vs {result.auc_2:.2f}: z = {_fmt(result.z)}, "
                                           f"{_fmt_p_is(result.p_value)} (DeLong, {test})", TEST_HEADER),
        "original_vs_modified_cases": _Cell(comparison.cases, "", ""),
        "original_vs_modified_auc_original": _csv_number(result.auc_1),
        "original_vs_modified_auc_modified": _csv_number(result.auc_2),
        "original_vs_modified_z": _csv_number(result.z),
        "original_vs_modified_p": _csv_number(result.p_value),
        "original_vs_modified_diff_ci_low": _csv_number(result.diff_ci_low),
        "original_vs_modified_diff_ci_high": _csv_number(result.diff_ci_high),
    })
    detection_sets = _table_detection_sets(reader)
    for column, rated in enumerate(detection_sets):
        paper_value = _paper_detection(paper_reader, paper_table, column, len(detection_sets))
        row.update(_rated_set_cells(rated, paper_value, paper_table))
    return row


def _mrmc_row(mrmc: MrmcAnalysis, detection_sets: list[RatedSet], paper_table: PaperTable | None) -> dict[str, _Cell]:
    """The "all readers (MRMC)" row: the reader rows' columns, filled from the MRMC analysis."""
    row = {"reader": _Cell(MRMC_READER, MRMC_READER, "reader")}
    if paper_table:
        row["paper_reader"] = _Cell(None, "—", "paper reader")
    row["images"] = _Cell(mrmc.images, str(mrmc.images), "images")
    for name in ("original", "modified"):
        if name in mrmc.sets:
            row.update(_mrmc_set_cells(mrmc.sets[name], paper_table))
    row.update(_mrmc_comparison_cells(mrmc))
    for rated in detection_sets:
        if rated.name in mrmc.sets:
            row.update(_mrmc_set_cells(mrmc.sets[rated.name], paper_table))
    return row


def _mrmc_comparison_cells(mrmc: MrmcAnalysis) -> dict[str, _Cell]:
    """The originals-vs-modified cells of the MRMC row: random-reader F test, and fixed-reader p and CI."""
    if mrmc.comparison is None:
        return {"original_vs_modified_test": _Cell(None, "— (too few sources shown both ways)", TEST_HEADER)}
    sources, result = mrmc.comparison.sources, mrmc.comparison.result
    original, modified = result.mean_auc
    return {
        "original_vs_modified_test": _Cell("OR-Hillis", f"{original:.2f} vs {modified:.2f}: F(1, "
                                           f"{result.df_denominator:.1f}) = {_fmt(result.f_stat)}, "
                                           f"{_fmt_p_is(result.p_value)} (OR, random readers, {sources} sources)",
                                           TEST_HEADER),
        "original_vs_modified_cases": _Cell(sources, "", ""),
        "original_vs_modified_auc_original": _csv_number(float(original)),
        "original_vs_modified_auc_modified": _csv_number(float(modified)),
        "original_vs_modified_p": _csv_number(result.p_value),
        "original_vs_modified_diff_ci_low": _csv_number(result.diff_ci_low),
        "original_vs_modified_diff_ci_high": _csv_number(result.diff_ci_high),
        "original_vs_modified_f": _csv_number(result.f_stat),
        "original_vs_modified_df": _csv_number(result.df_denominator),
        "original_vs_modified_fixed_readers_p": _csv_number(result.fixed_readers_p_value),
        "original_vs_modified_fixed_readers_diff_ci_low": _csv_number(result.fixed_readers_ci_low),
        "original_vs_modified_fixed_readers_diff_ci_high": _csv_number(result.fixed_readers_ci_high),
    }


def _table_detection_sets(reader: ReaderResult) -> list[RatedSet]:
    """The detection columns of the paper's tables: one per step when there are several, else one."""
    per_step = [rated for rated in reader.sets.values() if rated.step is not None]
    return per_step or [reader.sets["detection"]]


def _rated_set_cells(rated: RatedSet, paper_value, paper_table: PaperTable | None) -> dict[str, _Cell]:
    """One reader's AUC cells of a rated set (DeLong CI; z and p vs 0.5 for detection), then the same by source."""
    auc, chance = rated.auc, rated.chance
    cells = _auc_cells(rated, auc.auc, auc.ci_low, auc.ci_high)
    if chance is not None:
        cells.update(_chance_cells(rated.name, chance.z, chance.p_value))
    return cells | _by_source_cells(rated) | _paper_cells(rated.name, paper_value, paper_table)


def _by_source_cells(rated: RatedSet) -> dict[str, _Cell]:
    """The clustered CI of a rated set (and its z and p vs 0.5 for detection), with the number of sources."""
    name, by_source = rated.name, rated.by_source
    cells = {f"{name}_ci_low_by_source": _Cell(_round(by_source.ci_low),
                                               f"{by_source.ci_low:.2f}–{by_source.ci_high:.2f}",
                                               "95 % CI (by source)"),
             f"{name}_ci_high_by_source": _csv_number(by_source.ci_high),
             f"{name}_sources": _Cell(by_source.clusters, "", "")}
    if rated.chance is not None:
        cells |= {f"{name}_z_vs_chance_by_source": _Cell(_round(by_source.z_vs_chance), "", ""),
                  f"{name}_p_vs_chance_by_source": _Cell(_round(by_source.p_vs_chance), _fmt_p(by_source.p_vs_chance),
                                                         "p vs 0.5 (by source)")}
    return cells


def _mrmc_set_cells(mrmc_set: MrmcSet, paper_table: PaperTable | None) -> dict[str, _Cell]:
    """The MRMC row's AUC cells of a rated set (random-reader CI; p vs 0.5 from a t test for detection)."""
    result = mrmc_set.result
    cells = _auc_cells(mrmc_set, result.auc, result.ci_low, result.ci_high)
    if mrmc_set.p_vs_chance is not None:
        cells.update(_chance_cells(mrmc_set.name, None, mrmc_set.p_vs_chance))
    return cells | _paper_cells(mrmc_set.name, None, paper_table)


def _auc_cells(rated: RatedSet | MrmcSet, auc: float, ci_low: float, ci_high: float) -> dict[str, _Cell]:
    return {f"{rated.name}_auc": _Cell(_round(auc), f"{auc:.2f} ({ci_low:.2f}–{ci_high:.2f})",
                                       f"AUC {set_title(rated)} (95 % CI)"),
            f"{rated.name}_ci_low": _csv_number(ci_low),
            f"{rated.name}_ci_high": _csv_number(ci_high)}


def _chance_cells(name: str, z: float | None, p_value: float) -> dict[str, _Cell]:
    return {f"{name}_z_vs_chance": _Cell(None if z is None else _round(z), "", ""),
            f"{name}_p_vs_chance": _Cell(_round(p_value), _fmt_p(p_value), "p vs 0.5")}


def _paper_cells(name: str, paper_value, paper_table: PaperTable | None) -> dict[str, _Cell]:
    if not paper_table:
        return {}
    text = paper_value if isinstance(paper_value, str) else "—" if paper_value is None else f"{paper_value:.2f}"
    return {f"{name}_paper": _Cell(paper_value, text, "paper")}


def _paper_detection(paper_reader: PaperReader | None, paper_table: PaperTable | None, column: int, columns: int):
    """The paper's detection AUC for study detection column `column`: matched in order when the
    numbers of columns agree, else all of the paper's values with their labels (a string)."""
    if paper_reader is None:
        return None
    if len(paper_table.detection_columns) in (1, columns):
        return paper_reader.detection[min(column, len(paper_reader.detection) - 1)]
    return " / ".join(f"{value:.2f} ({label})" for value, label in zip(paper_reader.detection,
                                                                      paper_table.detection_columns))


def _markdown(rows: list[dict[str, _Cell]], mrmc: MrmcAnalysis | None, problems: list[Problem],
              paper_table: PaperTable | None, warnings: tuple[str, ...]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key, cell in row.items() if cell.header))
    headers = {key: cell.header for row in rows for key, cell in row.items()}
    lines = ["# Reader study: per-reader AUCs", "",
             *[line for warning in warnings for line in (f"**Warning:** {warning}", "")],
             "| " + " | ".join(headers[key] for key in columns) + " |",
             "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(row[key].text if key in row else "" for key in columns) + " |" for row in rows]
    lines += ["", "AUCs with 95 % DeLong CIs. Malignancy is scored against the true label of the image's source "
              "(for modified images too); detection against modified yes/no, with p from a two-sided test of "
              "AUC = 0.5. Original vs modified: DeLong test of the two malignancy AUCs, paired over sources "
              "shown both original and modified when there are enough of them (ratings averaged per source), "
              "else unpaired over all images. Its cell gives the two AUCs that test compares: over the paired "
              "sources they can differ from the AUC columns, which use all images.",
              "", "DeLong's CIs count every image as an independent case, but one source image is shown up to "
              "3 times (original, modified, in a pair) and a reader rates its images alike. \"95 % CI (by "
              "source)\" and \"p vs 0.5 (by source)\": the same AUC with Obuchowski's (1997) clustered variance, "
              "a source with all its images counted as one case; read these. They are wider than DeLong's when a "
              "source's images share a class (malignancy) and can be narrower when they hold both (detection: an "
              "original and its modification, whose errors offset)."]
    if mrmc is not None:
        lines += ["", *_mrmc_notes(mrmc)]
    if paper_table:
        lines += ["", f"Paper values: {paper_table.title}. Study reader i (the order of --responses) is set beside "
                  "paper reader i; they are different people, so compare the pattern, not the reader."]
    if problems:
        lines += ["", f"{len(problems)} problem(s) in the responses (problems.csv); those cases were left out, "
                  "so the image counts differ from the answer key."]
    return "\n".join(lines) + "\n"


def _mrmc_notes(mrmc: MrmcAnalysis) -> list[str]:
    """table.md's paragraphs on the MRMC row and the MRMC originals-vs-modified comparison."""
    lines = [f"{MRMC_READER}: the {len(mrmc.readers)} readers together, {MRMC_METHOD} (Obuchowski & Rockette "
             "1995; Hillis 2007; Hillis, Berbaum & Metz 2008), random readers and random cases: the "
             f"readers' mean AUC over the {mrmc.images} images every reader rated, with its 95 % CI (Hillis' "
             "single-modality df); for detection, p of a t test of AUC = 0.5 on the same df. A case there is a "
             "source with all its images (the jackknife leaves out one source at a time)."]
    if mrmc.comparison is None:
        return lines + ["", "Originals vs modified across readers: not analysed, because fewer than 2 healthy "
                            "and 2 cancer sources were shown both original and modified to every reader."]
    result, sources = mrmc.comparison.result, mrmc.comparison.sources
    original, modified = result.single
    return lines + ["", f"Originals vs modified across readers, over the {sources} sources every reader saw both "
                        f"ways: mean malignancy AUC {_fmt_ci(original)} on originals vs {_fmt_ci(modified)} on "
                        f"modified images; difference {result.diff:.3f} (95 % CI {result.diff_ci_low:.3f} to "
                        f"{result.diff_ci_high:.3f}), F(1, {result.df_denominator:.1f}) = {_fmt(result.f_stat)}, "
                        f"{_fmt_p_is(result.p_value)}. For these readers only (readers fixed, cases random): "
                        f"95 % CI {result.fixed_readers_ci_low:.3f} to {result.fixed_readers_ci_high:.3f}, "
                        f"{_fmt_p_is(result.fixed_readers_p_value)}."]


def _results(readers: list[ReaderResult], mrmc: MrmcAnalysis | None, problems: list[Problem], paper: str | None,
             inputs: dict, warnings: tuple[str, ...]) -> dict:
    """Every number of the analysis, JSON-ready (non-finite z as the strings 'inf' / '-inf')."""
    def reader_json(index: int, reader: ReaderResult) -> dict:
        sets = {}
        for name, rated in reader.sets.items():
            entry = {"step": rated.step, "positives": int(rated.truth.sum()),
                     "negatives": int(len(rated.truth) - rated.truth.sum()), **rated.auc._asdict()}
            by_source = rated.by_source
            entry["by_source"] = {"sources": by_source.clusters, "auc": by_source.auc, "variance": by_source.variance,
                                  "ci_low": by_source.ci_low, "ci_high": by_source.ci_high}
            if rated.chance is not None:
                entry.update(z_vs_chance=rated.chance.z, p_vs_chance=rated.chance.p_value)
                entry["by_source"].update(z_vs_chance=by_source.z_vs_chance, p_vs_chance=by_source.p_vs_chance)
            sets[name] = entry
        comparison = reader.comparison
        return {"reader": reader.reader, "study_reader": index + 1, "images": reader.cases, "sets": sets,
                "original_vs_modified": {"paired": comparison.paired, "cases": comparison.cases,
                                         **comparison.result._asdict()}}

    document = {"inputs": inputs, "paper": paper, "warnings": list(warnings), "problems": len(problems),
                "readers": [reader_json(index, reader) for index, reader in enumerate(readers)],
                "mrmc": _mrmc_json(mrmc)}
    return _finite_or_text(document)


def _mrmc_json(mrmc: MrmcAnalysis | None) -> dict | None:
    """The MRMC analysis, JSON-ready: per set its single-modality result, and the comparison."""
    if mrmc is None:
        return None
    sets = {name: {"step": entry.step, "cases": entry.cases, "positives": entry.positives,
                   "negatives": entry.cases - entry.positives, **asdict(entry.result),
                   "p_vs_chance": entry.p_vs_chance} for name, entry in mrmc.sets.items()}
    comparison = None
    if mrmc.comparison is not None:
        comparison = {"sources": mrmc.comparison.sources, **_mrmc_result_json(mrmc.comparison.result)}
    return {"method": MRMC_METHOD, "readers": list(mrmc.readers), "images": mrmc.images, "sets": sets,
            "original_vs_modified": comparison}


def _mrmc_result_json(result: MrmcResult) -> dict:
    """An original (modality 0) vs modified (modality 1) MrmcResult with its arrays keyed by modality."""
    modalities = ("original", "modified")
    entry = {key: value for key, value in vars(result).items() if key not in ("reader_auc", "mean_auc", "single")}
    return {"reader_auc": {name: aucs.tolist() for name, aucs in zip(modalities, result.reader_auc)},
            "mean_auc": dict(zip(modalities, result.mean_auc.tolist())), **entry,
            "single": {name: asdict(single) for name, single in zip(modalities, result.single)}}


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


def _csv_number(value: float) -> _Cell:
    """A number that only table.csv shows, rounded to 4 decimals."""
    return _Cell(_round(value), "", "")


def _fmt(value: float) -> str:
    return f"{value:.2f}" if math.isfinite(value) else ("∞" if value > 0 else "−∞")


def _fmt_ci(result) -> str:
    """'0.85 (95 % CI 0.78–0.92)' of anything with auc, ci_low and ci_high."""
    return f"{result.auc:.2f} (95 % CI {result.ci_low:.2f}–{result.ci_high:.2f})"


def _fmt_p(p_value: float) -> str:
    return "< 0.001" if p_value < 0.001 else f"{p_value:.3f}"


def _fmt_p_is(p_value: float) -> str:
    """'p = 0.042' or 'p < 0.001'."""
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
