"""The CBIS-DDSM source: the four case-description CSVs and the DICOM tree as downloaded.

Layout (root = the folder holding both, at any depth):
  *case_description*.csv     mass/calc x train/test; one row per abnormality: patient_id, 'left or
                             right breast', 'image view', pathology, 'image file path', 'ROI mask
                             file path', 'cropped image file path'
  <case folder>/**/*.dcm     e.g. Mass-Training_P_00001_LEFT_CC/<date-named>/<series-named>/1-1.dcm
                             (full mammogram); <case folder>_1/... holds that abnormality's ROI mask
                             and cropped image

The CSV paths' UID-named folders differ from the downloaded ones, so each path is resolved by its
leading case folder name: the DICOMs below it. Rows are grouped per mammogram (patient, side,
view), since the mass and calc tables list the same mammogram again. A mammogram with a MALIGNANT
abnormality is cancer, its MALIGNANT abnormalities' ROI masks (the candidate of the image's size:
the cropped image is the other file) make its mask; benign-only mammograms are healthy, and under
the mask rule `synthetic` their benign ROI masks are their annotation (as experiment 2's code, which
took each row's ROI mask whatever its pathology). The films
carry burned-in labels, which are blanked, and laterality is decided by the brighter half.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from ..image_files import UnreadableImage, read_dicom, read_dicom_shape
from ..items import Pixels, SkippedFile, SourceItem, UnusableFile
from ..labels import Rules
from .tables import Row, Table, read_table

COLUMNS = ("patient_id", "left or right breast", "image view", "pathology", "image file path",
           "ROI mask file path", "cropped image file path")
PATHOLOGIES = {"MALIGNANT": 1, "BENIGN": 0, "BENIGN_WITHOUT_CALLBACK": 0}
VIEWS = {"CC": "CC", "MLO": "MLO"}


@dataclass(frozen=True)
class Abnormality:
    """One case-description row, its paths split into (case folder, path as written)."""

    where: str
    label: int
    image: tuple[str, str]
    roi: tuple[str, str]
    cropped: tuple[str, str]


class CbisSource:
    """Iterates CBIS-DDSM mammograms (sorted by patient, side, view) as `SourceItem`s; the rest as skipped."""

    def __init__(self, root: Path, rules: Rules = Rules()):
        self.root = Path(root)
        self.rules = rules
        self.case_tables, self.other_tables = [], []
        for path in sorted(self.root.rglob("*.csv")):
            try:
                table = read_table(path, delimiter=",")
            except UnusableFile as error:
                self.other_tables.append(SkippedFile(str(path), str(error)))
                continue
            if table.has(*COLUMNS):
                self.case_tables.append(table)
            else:
                reason = f"not a CBIS-DDSM case-description table (needs columns {list(COLUMNS)})"
                self.other_tables.append(SkippedFile(str(path), reason))
        if not self.case_tables:
            raise ValueError(f"CBIS-DDSM source {root}: no case-description CSV (with columns {list(COLUMNS)})")

    def describe(self) -> dict:
        return {"labels": "cancer when an abnormality is MALIGNANT, else healthy (--label-rule not used)",
                "orientation": "by the brighter half (laterality of the scans is not reliable)",
                "label_blanking": True, "tables": [str(table.path) for table in self.case_tables]}

    def __iter__(self) -> Iterator[SourceItem | SkippedFile]:
        yield from self.other_tables
        groups: dict[tuple[str, str, str], list[Abnormality]] = defaultdict(list)
        for table in self.case_tables:
            for row in table.rows:
                try:
                    key, abnormality = _abnormality(table, row)
                except UnusableFile as error:
                    yield SkippedFile(table.where(row), str(error))
                    continue
                groups[key].append(abnormality)
        cases = {case for group in groups.values() for row in group for case, _ in (row.image, row.roi, row.cropped)}
        files, unplaced = _dicoms_by_case(self.root, cases)
        yield from (SkippedFile(str(path), "not below a case folder the case-description tables name")
                    for path in unplaced)
        for key, group in sorted(groups.items()):
            yield from _mammogram(self.root, key, group, files, self.rules)


def read_cbis(image: str, candidates: tuple[tuple[str, ...], ...]) -> Pixels:
    """The mammogram's pixels and the union of one ROI mask per abnormality in `candidates`.

    `candidates` lists, per abnormality, the files that may be its ROI mask; the first of the
    image's size is taken. UnusableFile when an abnormality has none of that size.
    """
    pixels, _ = read_dicom(Path(image))
    mask, used, unused = np.zeros(pixels.shape, bool), [], {}
    for options in candidates:
        chosen = _first_of_shape(options, pixels.shape, unused)
        if chosen is None:
            found = "; ".join(f"{Path(path).name}: {unused[path]}" for path in options) or "no candidate files"
            raise UnusableFile(f"no ROI mask of the image's size {pixels.shape[0]}x{pixels.shape[1]} ({found})")
        mask |= read_dicom(Path(chosen))[0] > 0
        used.append(chosen)
    if not used:
        return Pixels(pixels)
    return Pixels(pixels, mask, mask_files=tuple(used), unused={k: v for k, v in unused.items() if k not in used})


def _first_of_shape(paths: tuple[str, ...], shape: tuple[int, int], unused: dict[str, str]) -> str | None:
    """The first path whose DICOM header has `shape`; the reasons for the others go into `unused`."""
    for path in paths:
        try:
            found = read_dicom_shape(Path(path))
        except UnreadableImage as error:
            unused[path] = str(error)
            continue
        if found == shape:
            return path
        unused[path] = f"{found[0]}x{found[1]}, not the mammogram's size (a cropped image, or another mask)"
    return None


def _case_path(text: str) -> tuple[str, str]:
    """(leading case folder, path) of a CSV path; real cells may carry stray white space or backslashes."""
    path = text.strip().replace("\\", "/")
    return path.split("/", 1)[0], path


def _abnormality(table: Table, row: Row) -> tuple[tuple[str, str, str], Abnormality]:
    """(mammogram key (patient, side, view), abnormality) of a row; UnusableFile for unknown values."""
    pathology, view = row.get("pathology").upper(), row.get("image view").upper()
    side = row.get("left or right breast").upper()
    if pathology not in PATHOLOGIES:
        raise UnusableFile(f"pathology {pathology!r} is not one of {', '.join(PATHOLOGIES)}")
    if view not in VIEWS or side not in ("LEFT", "RIGHT"):
        raise UnusableFile(f"view {view!r} / side {side!r} is not CC or MLO / LEFT or RIGHT")
    paths = [_case_path(row.get(column)) for column in COLUMNS[4:]]
    if not all(case for case, _ in paths):
        raise UnusableFile("a file path cell is empty")
    return (row.get("patient_id"), side, view), Abnormality(table.where(row), PATHOLOGIES[pathology], *paths)


def _dicoms_by_case(root: Path, cases: set[str]) -> tuple[dict[str, list[Path]], list[Path]]:
    """Every *.dcm under root by its nearest ancestor folder named like a case, and the ones below none."""
    by_case, unplaced = defaultdict(list), []
    for path in sorted(root.rglob("*.dcm")):
        case = next((parent.name for parent in path.relative_to(root).parents if parent.name in cases), None)
        (by_case[case] if case else unplaced).append(path)
    return by_case, unplaced


def _mammogram(root: Path, key: tuple[str, str, str], group: list[Abnormality],
               files: dict[str, list[Path]], rules: Rules) -> Iterator[SourceItem | SkippedFile]:
    """The item of one mammogram (or the skips when it cannot be found) and its unusable copies."""
    image, extra = _choose_image(root, key, group, files)
    companions = sorted({path for abnormality in group for case, _ in (abnormality.roi, abnormality.cropped)
                         for path in files.get(case, [])})
    yield from (SkippedFile(str(path), why) for path, why in extra)
    if image is None:
        cases = ", ".join(sorted({abnormality.image[0] for abnormality in group}))
        for abnormality in group:
            yield SkippedFile(abnormality.where, f"no full mammogram DICOM found below {cases}")
        yield from (SkippedFile(str(path), "belongs to a mammogram that was not found") for path in companions)
        return
    label = max(abnormality.label for abnormality in group)
    drawn = [abnormality for abnormality in group if abnormality.label == label and rules.annotates(label)]
    candidates = tuple(_mask_candidates(root, abnormality, files) for abnormality in drawn)
    yield SourceItem(str(image), label, partial(read_cbis, str(image), candidates), patient_id=key[0],
                     view=VIEWS[key[2]], aliases=tuple(sorted({abnormality.image[0] for abnormality in group})),
                     companions=tuple(map(str, companions)), blank_labels=True)


def _choose_image(root: Path, key: tuple[str, str, str], group: list[Abnormality],
                  files: dict[str, list[Path]]) -> tuple[Path | None, list[tuple[Path, str]]]:
    """The mammogram's DICOM (None if not found) and [(path, reason)] for the other files of its case folders.

    Its case folders are tried in sorted order; one resolves when it holds the path as written
    or exactly one DICOM. Later folders that resolve hold copies of the same mammogram.
    """
    image, extra = None, []
    for case, written in sorted({abnormality.image for abnormality in group}):
        found = files.get(case, [])
        exact = root / written
        chosen = exact if exact in found else found[0] if len(found) == 1 else None
        if image is None and chosen is not None:
            image = chosen
            extra += [(path, "another file in the mammogram's case folder") for path in found if path != chosen]
        elif image is not None:
            extra += [(path, f"same mammogram ({' '.join(key)}) as {image}") for path in found]
        else:
            why = f"case folder {case} holds {len(found)} DICOMs; which is the full mammogram is unclear"
            extra += [(path, why) for path in found]
    return image, extra


def _mask_candidates(root: Path, abnormality: Abnormality, files: dict[str, list[Path]]) -> tuple[str, ...]:
    """Files that may hold the abnormality's ROI mask: the written path if it exists, then its case folders'."""
    exact = root / abnormality.roi[1]
    ordered = [exact] if exact.is_file() else []
    ordered += files.get(abnormality.roi[0], []) + files.get(abnormality.cropped[0], [])
    return tuple(dict.fromkeys(map(str, ordered)))
