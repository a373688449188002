"""Kinds of skip reasons, for the summary `prepare` prints ("skipped 4 files: 3 unreadable DICOM, 1 ...").

A manifest's `skipped` entries keep their full reason (with paths, sizes, error text); this module
only names the kind of each, so that a summary can count them. A reason whose wording puts a
path, a file id or a number before its first ":" or "(" has a pattern here; any other reason's
kind is its text up to its first ":", " (" or ";".
"""

from __future__ import annotations

import re
from collections import Counter

# (pattern matched at the start of a reason, its kind); the first that matches wins.
KINDS = tuple((re.compile(pattern), kind) for pattern, kind in (
    (r"belongs to .*, which was skipped$", "belongs to a skipped image"),
    (r"annotation of .*: ", "annotation not drawn into the mask"),
    (r"its mask .* is unreadable", "unreadable mask"),
    (r"its mask .* has shape", "mask and image differ in shape"),
    (r"listed in the exclusion file", "on the exclusion list"),
    (r"view \S+ is not among the selected views", "view not selected (--views)"),
    (r"\d+ of \d+ pixels are NaN or infinite", "NaN or infinite pixels"),
    (r"DICOM pixel data has shape", "DICOM not one greyscale frame"),
    (r"file id \S+ already used by", "file id already used"),
    (r"file id \S+ repeats line", "file id listed twice in the table"),
    (r"no DICOM with file id", "no DICOM for the file id"),
    (r"no row for file id", "no table row for the file id"),
    (r"File Name .* is not a file id", "File Name is not a file id"),
    (r"cancer \(.*\) without its ROI file", "cancer without its ROI file"),
    (r"unreadable OsiriX ROI file", "unreadable OsiriX ROI file"),
    (r"unreadable table ", "unreadable table"),
    (r".+ says .*, the file name", "table contradicts the file name"),
    (r".+ is listed again$", "listed twice in the table"),
    (r"no file .+ in ", "listed file not found"),
    (r"not listed in ", "not listed in the table"),
    (r"image_type_name ", "unknown image_type_name"),
    (r"outline of .*, which .* does not list", "outline of an unlisted image"),
    (r"outline has \d+ x and \d+ y", "outline coordinates do not pair up"),
    (r"no ROI mask of the image's size", "no ROI mask of the image's size"),
    (r"pathology .* is not one of", "unknown pathology"),
    (r"view .* / side .* is not", "unknown view or side"),
    (r"BI-RADS value .* is not a category", "BI-RADS value not a category"),
    (r"no full mammogram DICOM found below", "no full mammogram DICOM found"),
    (r"case folder .* holds \d+ DICOMs", "case folder with several DICOMs"),
))
_FALLBACK_END = re.compile(r":|;| \(")
_TABLE_ROW = re.compile(r":line \d+$")


def reason_kind(reason: str) -> str:
    """The kind of a skip reason, e.g. "unreadable DICOM: InvalidDicomError: ..." -> "unreadable DICOM"."""
    for pattern, kind in KINDS:
        if pattern.match(reason):
            return kind
    return _FALLBACK_END.split(reason, maxsplit=1)[0].strip() or reason


def kind_counts(skipped: list[dict]) -> dict[str, int]:
    """{kind: skipped entries of that kind}, the most frequent first (ties by name)."""
    counts = Counter(reason_kind(entry["reason"]) for entry in skipped)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def describe_skips(skipped: list[dict]) -> str:
    """One line: "skipped 4 files: 3 unreadable DICOM, 1 not an image file" ("skipped no files")."""
    if not skipped:
        return "skipped no files"
    rows = sum(bool(_TABLE_ROW.search(entry["path"])) for entry in skipped)
    what = "table rows" if rows == len(skipped) else "files and table rows" if rows else "files"
    if len(skipped) == 1:
        what = "table row" if rows else "file"
    kinds = ", ".join(f"{count} {kind}" for kind, count in kind_counts(skipped).items())
    return f"skipped {len(skipped)} {what}: {kinds}"
