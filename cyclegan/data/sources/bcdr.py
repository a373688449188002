"""The BCDR source (D01, D02 layouts): TIFFs listed in `<name>_img.csv`, outlines in `<name>_outlines.csv`.

Layout (root = one `<name>_dataset/` folder, or a folder holding several):
  <name>_dataset/<name>_img.csv        patient_id, study_id, series, image_filename (relative to the
                                        folder), image_type_name (LCC, LO, RCC, RO: side + view,
                                        O = MLO), image_type_id, age, density
  <name>_dataset/<name>_outlines.csv   where present (D01): one row per lesion outline, image_filename,
                                        lw_x_points, lw_y_points (space-separated pixel coordinates),
                                        classification ("Malign" / "Benign")
  <name>_dataset/**/*.tif              the images

`--bcdr-rule` (labels.BCDR_RULES) decides labels and masks from an image's outline rows, in table
order: `malignant` (default) — a Malign outline makes it cancer, its Malign outlines (polygons) its
mask; `last-outline` (experiment 2's code) — the last row's classification decides and that polygon
is the mask; `any-outline` (experiment 1's code) — any row makes it cancer, all its outlines the
mask. Images without outlines (all of D02, which has no outlines table) are healthy. A healthy
image's outlines are drawn only under the mask rule `synthetic`. Every outline row is a companion
of its image: drawn into its mask or reported as not drawn. Laterality comes from image_type_name.
Cells are stripped, since BCDR's CSVs pad them with spaces.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from ..image_files import read_raster
from ..items import Pixels, SkippedFile, SourceItem, UnusableFile
from ..labels import BCDR_RULES, Rules
from .outlines import draw_outlines
from .tables import Row, Table, read_table

IMAGE_SUFFIXES = frozenset({".tif", ".tiff"})
VIEW_CODES = {"CC": "CC", "O": "MLO", "MLO": "MLO"}  # image_type_name = side letter + one of these
IMG_TABLE_SUFFIX = "_img.csv"
OUTLINES_TABLE_SUFFIX = "_outlines.csv"

Outline = tuple[tuple[int, int], ...]
MALIGN = "malign"


class BcdrSource:
    """Iterates the images of every `*_img.csv` under root as `SourceItem`s; unused files and rows as skipped."""

    def __init__(self, root: Path, rules: Rules = Rules()):
        self.root = Path(root)
        self.rules = rules
        self.image_tables = sorted(self.root.rglob(f"*{IMG_TABLE_SUFFIX}"))
        if not self.image_tables:
            raise ValueError(f"BCDR source {root}: no *{IMG_TABLE_SUFFIX} found (a BCDR dataset folder holds "
                             f"<name>{IMG_TABLE_SUFFIX}, <name>{OUTLINES_TABLE_SUFFIX} and the TIFFs)")

    def describe(self) -> dict:
        return {"labels": f"{self.rules.bcdr}: {BCDR_RULES[self.rules.bcdr]} (--label-rule not used)",
                "orientation": "laterality from image_type_name", "label_blanking": False,
                "tables": [str(path) for path in self.image_tables + self._outline_tables()]}

    def _outline_tables(self) -> list[Path]:
        return [path for path in map(_outlines_path, self.image_tables) if path.is_file()]

    def __iter__(self) -> Iterator[SourceItem | SkippedFile]:
        used_tables = set(self.image_tables + self._outline_tables())
        for path in sorted(self.root.rglob("*.csv")):
            if path not in used_tables:
                yield SkippedFile(str(path), f"not read: only *{IMG_TABLE_SUFFIX} and *{OUTLINES_TABLE_SUFFIX} are")
        images_by_folder = _images_by_dataset_folder(self.root, [path.parent for path in self.image_tables])
        for path in images_by_folder.pop(None, []):
            yield SkippedFile(str(path), "not inside a folder with a *_img.csv")
        for table_path in self.image_tables:
            yield from _dataset_entries(table_path, images_by_folder.get(table_path.parent, []), self.rules)


def read_bcdr(path: str, outlines: tuple[Outline, ...], rows: tuple[str, ...], unused: dict[str, str]) -> Pixels:
    """The TIFF's pixels and, when there are outlines, their filled polygons as the mask.

    rows: the outline rows drawn; `unused`: why each of the image's other rows is not.
    """
    image = read_raster(Path(path))
    if not outlines:
        return Pixels(image, unused=unused)
    return Pixels(image, draw_outlines(image.shape, outlines), mask_files=rows, unused=unused)


def _outlines_path(image_table: Path) -> Path:
    return image_table.with_name(image_table.name[: -len(IMG_TABLE_SUFFIX)] + OUTLINES_TABLE_SUFFIX)


def _images_by_dataset_folder(root: Path, folders: list[Path]) -> dict[Path | None, list[Path]]:
    """Every TIFF under root by the deepest dataset folder that holds it (None: none does)."""
    by_folder: dict[Path | None, list[Path]] = defaultdict(list)
    deepest_first = sorted(set(folders), key=lambda folder: len(folder.parts), reverse=True)
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            by_folder[next((folder for folder in deepest_first if folder in path.parents), None)].append(path)
    return by_folder


def _dataset_entries(table_path: Path, images: list[Path], rules: Rules) -> Iterator[SourceItem | SkippedFile]:
    """Items and skips of one dataset folder: its image table, outlines table and TIFFs."""
    folder = table_path.parent
    table = read_table(table_path, delimiter=",")
    table.require("patient_id", "image_filename", "image_type_name")
    outlines, skipped = _read_outlines(_outlines_path(table_path), table)
    yield from skipped
    listed = set()
    for row in table.rows:
        name = row.get("image_filename")
        path = folder / name
        if path in listed:
            yield SkippedFile(table.where(row), f"{name} is listed again")
        elif not path.is_file():
            yield SkippedFile(table.where(row), f"no file {name} in {folder}")
        else:
            listed.add(path)
            yield _item(path, name, row, outlines.get(name, []), rules)
    for path in images:
        if path not in listed:
            yield SkippedFile(str(path), f"not listed in {table_path.name}")


def _item(path: Path, name: str, row: Row, outlines: list[tuple[str, str, Outline]],
          rules: Rules) -> SourceItem | SkippedFile:
    """The image of one table row, labelled by its outlines [(row reference, classification, points)]."""
    code = row.get("image_type_name").upper()
    if code[:1] not in ("L", "R") or code[1:] not in VIEW_CODES:
        return SkippedFile(str(path), f"image_type_name {code!r} is not one of LCC, LO, RCC, RO")
    label, drawn, reason = _label_and_outlines(outlines, rules)
    rows = tuple(where for where, _, _ in drawn)
    unused = {where: reason for where, _, _ in outlines if where not in rows}
    read = partial(read_bcdr, str(path), tuple(points for _, _, points in drawn), rows, unused)
    return SourceItem(str(path), label, read, patient_id=row.get("patient_id"), laterality=code[0],
                      view=VIEW_CODES[code[1:]], aliases=(name,), companions=tuple(where for where, _, _ in outlines))


def _label_and_outlines(outlines: list[tuple[str, str, Outline]], rules: Rules) -> tuple[int, list, str]:
    """(label, the outlines drawn into the mask, why the others are not) under the preparation's rules."""
    if rules.bcdr == "last-outline":
        label, drawn = int(bool(outlines) and outlines[-1][1] == MALIGN), outlines[-1:]
        unused = "not drawn: an earlier outline row of the image (--bcdr-rule last-outline draws the last)"
    elif rules.bcdr == "any-outline":
        label, drawn, unused = int(bool(outlines)), outlines, "not drawn"
    else:
        label = int(any(classification == MALIGN for _, classification, _ in outlines))
        drawn = [outline for outline in outlines if outline[1] == MALIGN] if label else outlines
        unused = "not drawn: a benign outline of a cancer image (--bcdr-rule malignant draws the Malign ones)"
    if not rules.annotates(label):
        return label, [], "not drawn: healthy images get an empty mask under --mask-rule empty"
    return label, drawn, unused


def _read_outlines(path: Path, image_table: Table) -> tuple[dict[str, list], list[SkippedFile]]:
    """{image_filename: [(row reference, classification lower-cased, points)]} and the unusable rows."""
    if not path.is_file():
        return {}, []
    table = read_table(path, delimiter=",")
    table.require("image_filename", "lw_x_points", "lw_y_points", "classification")
    listed = {row.get("image_filename") for row in image_table.rows}
    outlines, skipped = defaultdict(list), []
    for row in table.rows:
        name = row.get("image_filename")
        try:
            if name not in listed:
                raise UnusableFile(f"outline of {name}, which {image_table.path.name} does not list")
            points = _points(row.get("lw_x_points"), row.get("lw_y_points"))
        except UnusableFile as error:
            skipped.append(SkippedFile(table.where(row), str(error)))
            continue
        outlines[name].append((table.where(row), row.get("classification").lower(), points))
    return outlines, skipped


def _points(xs: str, ys: str) -> Outline:
    """Space-separated x and y coordinate lists as ((x, y), ...); UnusableFile when they do not pair up."""
    try:
        columns, rows = [round(float(x)) for x in xs.split()], [round(float(y)) for y in ys.split()]
    except ValueError as error:
        raise UnusableFile(f"outline points are not numbers: {error}") from error
    if not columns or len(columns) != len(rows):
        raise UnusableFile(f"outline has {len(columns)} x and {len(rows)} y coordinates")
    return tuple(zip(columns, rows))
