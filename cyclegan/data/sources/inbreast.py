"""The INbreast source: `AllDICOMs/`, `AllXML/` and the semicolon-separated table `INbreast.csv`.

Layout (root = the INbreast folder):
  AllDICOMs/<fileid>_<patient>_MG_<L|R>_<CC|ML>_ANON.dcm   the mammograms (ML means MLO)
  AllXML/<fileid>.xml                                     lesion ROIs, OsiriX plist: Images[0].ROIs[].Point_px
  INbreast.csv                                            one row per image: File Name (= fileid), Bi-Rads
                                                          ("4a" -> 4), Laterality, View and, in some exports, Mass

Labels follow `--label-rule` (see labels.py); under `mass` an image is cancer when its Mass cell
is filled (experiment 1's code: "X") or, without a Mass column, when one of its ROIs is named like
"Mass". All ROIs of an image's ROI file are drawn into its mask; a healthy image's only under the
mask rule `synthetic`. Under the mask rule `empty` a cancer image needs its ROI file (it is skipped
without one); under `synthetic` it gets a synthetic mask instead, as experiment 2's code did.
Laterality comes from the file name, so right breasts are mirrored by it.
"""

from __future__ import annotations

import plistlib
import re
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from pathlib import Path

from ..image_files import read_dicom
from ..items import Pixels, SkippedFile, SourceItem, UnusableFile, skip_with_companions
from ..labels import LABEL_RULES, Rules, birads_category, label_from_birads
from .outlines import draw_outlines
from .tables import Row, Table, read_table

TABLE_NAME = "INbreast.csv"
DICOM_NAME = re.compile(r"(\d+)_([^_]+)_MG_([LR])_(CC|ML|MLO)_ANON\.dcm", re.IGNORECASE)
NAME_PATTERN = "<fileid>_<patient>_MG_<L|R>_<CC|ML>_ANON.dcm"
NO_MASS = frozenset({"", "0", "no", "n", "false", "-"})


class InbreastSource:
    """Iterates INbreast's DICOMs (sorted by path) as `SourceItem`s, and every unused file or row as skipped."""

    def __init__(self, root: Path, rules: Rules = Rules()):
        self.root = Path(root)
        self.rules = rules
        self.rule = rules.label
        self.table = read_table(_find_table(self.root), delimiter=";")
        self.table.require("File Name", *(() if self.rule == "mass" else ("Bi-Rads",)))

    def describe(self) -> dict:
        return {"labels": f"{self.rule}: {LABEL_RULES[self.rule]}", "orientation": "laterality from the file name",
                "label_blanking": False, "tables": [str(self.table.path)]}

    def __iter__(self) -> Iterator[SourceItem | SkippedFile]:
        dicoms, misnamed_dicoms = _index_dicoms(self.root / "AllDICOMs")
        xmls, misnamed_xmls = _index_xmls(self.root / "AllXML")
        rows, unusable_rows = _index_rows(self.table)
        yield from misnamed_dicoms + misnamed_xmls + unusable_rows
        for file_id, row in sorted(rows.items()):
            if file_id not in dicoms:
                yield SkippedFile(self.table.where(row), f"no DICOM with file id {file_id} in AllDICOMs/")
        for file_id, xml in sorted(xmls.items()):
            if file_id not in dicoms:
                yield SkippedFile(str(xml), f"no DICOM with file id {file_id} in AllDICOMs/")
        for file_id, (path, patient, laterality, view) in sorted(dicoms.items(), key=lambda item: item[1][0]):
            xml = xmls.get(file_id)
            item = SourceItem(str(path), 0, read=partial(read_inbreast, str(path), None), patient_id=patient,
                              laterality=laterality, view=view, aliases=(file_id,),
                              companions=(str(xml),) if xml else ())
            if file_id not in rows:
                yield from skip_with_companions(item, f"no row for file id {file_id} in {self.table.path.name}")
                continue
            try:
                yield self._labelled(item, rows[file_id], xml)
            except UnusableFile as error:
                yield from skip_with_companions(item, str(error))

    def _labelled(self, item: SourceItem, row: Row, xml: Path | None) -> SourceItem:
        """The item with its label and reader; UnusableFile when the row or ROI file rules it out."""
        _check_agreement(row, item, self.table)
        if self.rule == "mass":
            label = int(self._has_mass(row, xml))
            reason = "image with a mass"
        else:
            category = birads_category(row.get("Bi-Rads"))
            label = label_from_birads(category, self.rule)
            reason = f"BI-RADS {category} image"
        if label == 1 and xml is None and self.rules.mask == "empty":
            raise UnusableFile(f"cancer ({reason}) without its ROI file AllXML/{item.aliases[0]}.xml "
                               "(under --mask-rule synthetic it would get a synthetic mask)")
        drawn = str(xml) if xml is not None and self.rules.annotates(label) else None
        return replace(item, label=label, read=partial(read_inbreast, item.path, drawn))

    def _has_mass(self, row: Row, xml: Path | None) -> bool:
        if self.table.has("Mass"):
            return row.get("Mass").lower() not in NO_MASS
        return xml is not None and any("mass" in name.lower() for name, _ in read_osirix_rois(xml))


def read_inbreast(dicom: str, xml: str | None) -> Pixels:
    """The DICOM's pixels and, when `xml` is given, every ROI of it drawn as the mask."""
    image, _ = read_dicom(Path(dicom))
    if xml is None:
        return Pixels(image)
    mask = draw_outlines(image.shape, [points for _, points in read_osirix_rois(Path(xml))])
    if not mask.any():
        return Pixels(image, unused={xml: "not drawn: it holds no ROI inside the image"})
    return Pixels(image, mask, mask_files=(xml,))


def read_osirix_rois(path: Path) -> list[tuple[str, list[tuple[float, float]]]]:
    """(name, [(x, y), ...]) of each ROI in an OsiriX XML plist (Images[0].ROIs[].Point_px, "(x, y)")."""
    try:
        with open(path, "rb") as file:
            rois = plistlib.load(file)["Images"][0].get("ROIs", [])
        return [(str(roi.get("Name", "")), [_point(text) for text in roi["Point_px"]]) for roi in rois]
    except Exception as error:  # plistlib, KeyError, IndexError, ValueError: all mean "not this format"
        raise UnusableFile(f"unreadable OsiriX ROI file {path}: {type(error).__name__}: {error}") from error


def _point(text: str) -> tuple[float, float]:
    x, y = text.strip().strip("()").split(",")
    return float(x), float(y)


def _find_table(root: Path) -> Path:
    """INbreast.csv in root, else root's only CSV; ValueError otherwise."""
    if (root / TABLE_NAME).is_file():
        return root / TABLE_NAME
    candidates = sorted(root.glob("*.csv"))
    if len(candidates) == 1:
        return candidates[0]
    found = ", ".join(path.name for path in candidates) or "none"
    raise ValueError(f"INbreast source {root}: expected the table {TABLE_NAME} (semicolon-separated; export "
                     f"INbreast.xls that way if you only have that), found CSVs: {found}")


def _index_dicoms(folder: Path) -> tuple[dict[str, tuple[Path, str, str, str]], list[SkippedFile]]:
    """{fileid: (path, patient, laterality, view)} of AllDICOMs/ and the files that do not fit."""
    if not folder.is_dir():
        raise ValueError(f"INbreast source: no folder {folder} (expected {NAME_PATTERN} files in it)")
    found, skipped = {}, []
    for path in sorted(folder.iterdir()):
        match = DICOM_NAME.fullmatch(path.name)
        if not match or not path.is_file():
            skipped.append(SkippedFile(str(path), f"not an INbreast DICOM: name does not follow {NAME_PATTERN}"))
        elif match.group(1) in found:
            reason = f"file id {match.group(1)} already used by {found[match.group(1)][0]}"
            skipped.append(SkippedFile(str(path), reason))
        else:
            file_id, patient, laterality, view = match.groups()
            found[file_id] = (path, patient, laterality.upper(), _view(view))
    return found, skipped


def _index_xmls(folder: Path) -> tuple[dict[str, Path], list[SkippedFile]]:
    """{fileid: path} of AllXML/<fileid>.xml (the folder may be absent) and the files that do not fit."""
    found, skipped = {}, []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.is_file() and path.suffix.lower() == ".xml" and path.stem.isdigit():
            found[path.stem] = path
        else:
            skipped.append(SkippedFile(str(path), "not an INbreast ROI file: name is not <fileid>.xml"))
    return found, skipped


def _index_rows(table: Table) -> tuple[dict[str, Row], list[SkippedFile]]:
    """{fileid: row} of the table and the rows that cannot be used (no or a repeated File Name)."""
    found, skipped = {}, []
    for row in table.rows:
        file_id = re.sub(r"\.0+$", "", row.get("File Name"))  # spreadsheets export 22678622 as 22678622.0
        if not file_id.isdigit():
            skipped.append(SkippedFile(table.where(row), f"File Name {file_id!r} is not a file id"))
        elif file_id in found:
            skipped.append(SkippedFile(table.where(row), f"file id {file_id} repeats line {found[file_id].line}"))
        else:
            found[file_id] = row
    return found, skipped


def _view(code: str) -> str:
    """INbreast's view code as CC or MLO ("ML" in file names means MLO)."""
    return {"ML": "MLO"}.get(code.upper(), code.upper())


def _check_agreement(row: Row, item: SourceItem, table: Table) -> None:
    """UnusableFile when the row's Laterality or View contradicts the file name."""
    laterality, view = row.get("Laterality").upper(), _view(row.get("View"))
    if (laterality and laterality != item.laterality) or (view and view != item.view):
        raise UnusableFile(f"{table.where(row)} says {laterality or '?'} {view or '?'}, "
                           f"the file name {item.laterality} {item.view}")
