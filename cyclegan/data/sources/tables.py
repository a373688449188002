"""Reading the datasets' metadata tables (CSV, comma- or semicolon-separated) by column name.

Column names are matched case-insensitively with surrounding and repeated white space ignored
("Bi-Rads", " bi-rads " and "BI-RADS" are one column); cell values are stripped. Each row keeps
its line number so a skipped row can be named as "<table>:line N".
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from ..items import UnusableFile

DELIMITERS = ",;\t"


def column_key(name: str) -> str:
    """The name a column is matched by: lower case, white space collapsed."""
    return " ".join(name.strip().lower().split())


@dataclass(frozen=True)
class Row:
    """One data row: its first line number in the file and its cells by `column_key`."""

    line: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        """The stripped cell of `column` ("" when the column or cell is absent)."""
        return self.cells.get(column_key(column), "")


@dataclass(frozen=True)
class Table:
    """A table's path, its column keys in file order, and its non-blank data rows."""

    path: Path
    columns: tuple[str, ...]
    rows: tuple[Row, ...]

    def has(self, *columns: str) -> bool:
        return all(column_key(column) in self.columns for column in columns)

    def require(self, *columns: str) -> None:
        """ValueError naming the missing columns and the ones present, unless all are there."""
        missing = [column for column in columns if column_key(column) not in self.columns]
        if missing:
            raise ValueError(f"table {self.path} lacks column(s) {missing}; its columns are {list(self.columns)}")

    def where(self, row: Row) -> str:
        """How a skipped row is named in the manifest: "<path>:line N"."""
        return f"{self.path}:line {row.line}"


def read_table(path: Path, delimiter: str | None = None) -> Table:
    """Read a CSV whose first non-blank row is the header; `delimiter` None guesses it from that row.

    Text is decoded as UTF-8 (with or without BOM), else Latin-1. Blank rows are dropped.
    UnusableFile (a ValueError) when the file is not a CSV.
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if delimiter is None:
        header_line = next((line for line in text.splitlines() if line.strip()), "")
        delimiter = max(DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: tuple[str, ...] = ()
    rows = []
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if not columns:
                    columns = tuple(column_key(cell) for cell in cells)
                else:
                    rows.append(Row(line, {key: cell.strip() for key, cell in zip(columns, cells) if key}))
            line = reader.line_num + 1
    except csv.Error as error:
        raise UnusableFile(f"unreadable table {path} near line {line}: {error}") from error
    return Table(Path(path), columns, tuple(rows))
