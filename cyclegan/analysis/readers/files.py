"""Reader-study files: the answer key, one reader's responses, and the blank responses template.

answer_key.csv, one row per image shown:
    id        the image's random ID (unique)
    source    the source image it came from (an original and its modification share it)
    label     the source's true label: 0 / healthy or 1 / cancer
    modified  yes / no (or 1 / 0)
    direction h2c | c2h, empty for originals          (optional here; not used by the analysis)
    step      checkpoint step of a modification, empty for originals (optional)
    pair_id   shown side by side with the other image of that pair, empty for singles (optional)
    study     the kit's study ID, the same on every row (optional)
    layout    the kit's layout, exp1 or exp2 (optional)

A reader's responses CSV: id, malignancy (1–5), modified (1–5), optionally reader (their name;
otherwise the file's stem names them) and study (the study ID of the kit they rated). When the key
has a study ID, responses must carry the same one: responses to another kit are an error that names
both IDs. Other problems in responses are collected per ID, never dropped silently; problems in the
key are errors.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cyclegan.domains import DOMAINS

KEY_REQUIRED = ("id", "source", "label", "modified")
KEY_OPTIONAL = ("step", "study", "layout")
RESPONSE_REQUIRED = ("id", "malignancy", "modified")
RATINGS = ("malignancy", "modified")
RATING_RANGE = (1, 5)
LABEL_WORDS = {**{str(label): label for label in range(len(DOMAINS))},
               **{domain: label for label, domain in enumerate(DOMAINS)}}
MODIFIED_WORDS = {"no": False, "0": False, "yes": True, "1": True}
SHOWN_ERRORS = 10  # rows named in an error message


@dataclass(frozen=True)
class Problem:
    """One problem with one reader's responses, by image ID (row: the CSV line, 0 when not in the file)."""

    reader: str
    file: str
    id: str
    row: int
    problem: str  # unknown id | duplicate id | bad rating | missing case
    detail: str


@dataclass(frozen=True)
class ReaderResponses:
    """One reader's usable ratings and the problems found; a case with any problem is not in `ratings`."""

    reader: str
    path: Path
    ratings: pd.DataFrame  # index: image id (str); int columns malignancy, modified in 1..5
    problems: list[Problem]


def read_answer_key(path) -> pd.DataFrame:
    """The answer key indexed by image id: source (str), label (int 0/1), modified (bool), step (Int64 or
    <NA>), study and layout (str, "" when not given)."""
    table = _read_csv(path, KEY_REQUIRED)
    errors = []
    for column in KEY_OPTIONAL:
        if column not in table:
            table[column] = ""
    if table["study"].nunique() > 1:
        errors.append(f"rows name several study IDs ({', '.join(sorted(table['study'].unique()))})")
    for column, words in (("label", LABEL_WORDS), ("modified", MODIFIED_WORDS)):
        bad = ~table[column].str.lower().isin(words)
        errors += [f"{column}={value!r} (id {ident!r}) is not one of {'/'.join(words)}"
                   for ident, value in zip(table["id"][bad], table[column][bad])]
        table[column] = table[column].str.lower().map(words)
    bad_step = (table["step"] != "") & ~table["step"].str.fullmatch(r"\d+")
    errors += [f"step={value!r} (id {ident!r}) is not a whole number"
               for ident, value in zip(table["id"][bad_step], table["step"][bad_step])]
    labels_per_source = table.groupby("source")["label"].nunique()
    errors += [f"source {source!r} has rows with different labels" for source in labels_per_source.index[
        labels_per_source > 1]]
    errors += [f"id {ident!r} appears {count} times"
               for ident, count in table["id"].value_counts().items() if count > 1]
    errors += [f"line {line} has an empty {column}" for column in ("id", "source")
               for line in table.index[table[column] == ""] + 2]
    if errors:
        raise ValueError(f"{path}: {len(errors)} problem(s) in the answer key: " + "; ".join(errors[:SHOWN_ERRORS]))
    table = table.astype({"label": int, "modified": bool})
    table["step"] = pd.array([int(step) if step else None for step in table["step"]], dtype="Int64")
    return table.set_index("id")[["source", "label", "modified", "step", *KEY_OPTIONAL[1:]]]


def read_responses(path, key: pd.DataFrame) -> ReaderResponses:
    """One reader's responses checked against the key: unknown, duplicate and missing IDs, bad ratings."""
    path = Path(path)
    table = _read_csv(path, RESPONSE_REQUIRED)
    _check_study(table, path, key)
    reader = _reader_name(table, path)
    problems = []

    def report(ident: str, line: int, problem: str, detail: str) -> None:
        problems.append(Problem(reader, str(path), ident, line, problem, detail))

    counts = table["id"].value_counts()
    usable = {}
    for line, row in zip(table.index + 2, table.itertuples(index=False)):
        if row.id not in key.index:
            report(row.id, line, "unknown id", "not in the answer key" if row.id else "empty id")
        elif counts[row.id] > 1:
            report(row.id, line, "duplicate id", f"rated {counts[row.id]} times; none of them used")
        else:
            ratings = {column: _rating(getattr(row, column)) for column in RATINGS}
            for column, value in ratings.items():
                if value is None:
                    low, high = RATING_RANGE
                    text = getattr(row, column)
                    report(row.id, line, "bad rating", f"{column}={text!r} is not a whole number {low}–{high}")
            if None not in ratings.values():
                usable[row.id] = ratings
    for ident in key.index.difference(table["id"], sort=False):
        report(ident, 0, "missing case", "in the answer key but not rated")
    ratings = pd.DataFrame.from_dict(usable, orient="index", columns=list(RATINGS), dtype=int)
    return ReaderResponses(reader, path, ratings, problems)


def write_responses_template(ids, path, study_id: str) -> Path:
    """A blank responses CSV for `ids` (in the order shown to readers): id, malignancy, modified, and
    study, filled with `study_id`."""
    path = Path(path)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*RESPONSE_REQUIRED, "study"])
        writer.writerows([ident, "", "", study_id] for ident in ids)
    return path


def write_problems(problems: list[Problem], path) -> Path:
    """problems.csv: one row per problem (reader, file, id, row, problem, detail); header only when none."""
    path = Path(path)
    columns = list(Problem.__dataclass_fields__)
    pd.DataFrame([vars(problem) for problem in problems], columns=columns).to_csv(path, index=False)
    return path


def _read_csv(path, required: tuple[str, ...]) -> pd.DataFrame:
    """All cells as stripped strings (empty cells stay ""), lower-case column names; checks `required`.

    ValueError naming the file when it is empty, not UTF-8 text (e.g. a binary file), not a CSV table or
    has rows longer than its header.
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"{path}: the file is empty") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a CSV text file (not UTF-8 at byte {err.start}); expected columns "
                         f"{', '.join(required)}") from err
    except pd.errors.ParserError as err:
        raise ValueError(f"{path}: not a readable CSV table ({err}); expected columns {', '.join(required)}") from err
    if not isinstance(table.index, pd.RangeIndex):  # pandas took the first columns as an index
        raise ValueError(f"{path}: rows have more fields than the header's {len(table.columns)} columns")
    table.columns = [str(column).strip().lower() for column in table.columns]
    missing = [column for column in required if column not in table]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(required)}")
    return table.apply(lambda column: column.str.strip())


def _check_study(table: pd.DataFrame, path: Path, key: pd.DataFrame) -> None:
    """ValueError unless the responses carry the key's study ID (when the key has one)."""
    [expected] = key["study"].unique()[:1] if len(key) else [""]
    if not expected:
        return
    found = sorted(set(table["study"]) - {""}) if "study" in table else []
    if found != [expected]:
        given = f"study ID(s) {', '.join(found)}" if found else "no study ID"
        raise ValueError(f"{path}: these responses carry {given}, but the answer key is study {expected}: "
                         "they were made for another kit (or with its template), so they are not scored against "
                         "this key")


def _reader_name(table: pd.DataFrame, path: Path) -> str:
    """The one name in the optional reader column, else the file's stem."""
    names = sorted(set(table["reader"]) - {""}) if "reader" in table else []
    if len(names) > 1:
        raise ValueError(f"{path}: the reader column names several readers ({', '.join(names)}); "
                         "give one responses file per reader")
    return names[0] if names else path.stem


def _rating(text: str) -> int | None:
    """The rating as an int in RATING_RANGE, or None when `text` is empty, not a number or out of range."""
    try:
        value = float(text)
    except ValueError:
        return None
    low, high = RATING_RANGE
    if not math.isfinite(value) or value != int(value) or not low <= value <= high:
        return None
    return int(value)
