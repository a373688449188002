"""The "any folder" source: `<root>/healthy/*`, `<root>/cancer/*` and optional `<root>/masks/*`.

Images may be DICOM, PNG or TIFF. A mask belongs to the image with the same file stem
(`cancer/x.dcm` <- `masks/x.png`; a cancer image first when both domains have the stem), non-zero =
lesion; a healthy image's mask is drawn only under the mask rule `synthetic` (labels.py). Only the
three folders' direct children are read. The folder records no laterality, so preparation orients
each image by its brighter half.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

from cyclegan.domains import CANCER, DOMAINS

from ..image_files import UnreadableImage, is_image_path, read_image, read_mask
from ..items import Pixels, SkippedFile, SourceItem, UnusableFile, skip_with_companions
from ..labels import Rules


class FolderSource:
    """Iterates a folder's images as `SourceItem`s (sorted by path) and unused files as `SkippedFile`s.

    The folder names are the labels, so the label rules do not apply.
    """

    def __init__(self, root: Path, rules: Rules = Rules()):
        self.root = Path(root)
        self.rules = rules
        self.domain_files = {domain: _children(self.root / domain) for domain in DOMAINS}
        self.masks_by_stem, self.unusable_masks = _index_masks(_children(self.root / "masks"))
        stems = {path.stem for paths in self.domain_files.values() for path in paths}
        self.unusable_masks += [
            SkippedFile(str(path), "mask without an image of the same stem")
            for stem, path in sorted(self.masks_by_stem.items()) if stem not in stems
        ]

    def describe(self) -> dict:
        return {"labels": "folder name: healthy/ or cancer/ (--label-rule not used)",
                "orientation": "by the brighter half (no laterality recorded)", "label_blanking": False,
                "tables": []}

    def __iter__(self) -> Iterator[SourceItem | SkippedFile]:
        yield from self.unusable_masks
        cancer_stems = {path.stem for path in self.domain_files[CANCER]}
        for label, domain in enumerate(DOMAINS):
            for path in self.domain_files[domain]:
                owns_mask = label == 1 or path.stem not in cancer_stems
                mask_path = self.masks_by_stem.get(path.stem) if owns_mask else None
                yield from _entries(path, label, mask_path, self.rules.annotates(label))


def read_folder_image(path: str, mask_path: str | None) -> Pixels:
    """An image file and, when given, its mask file (which must have the image's shape)."""
    image = read_image(Path(path))
    if mask_path is None:
        return Pixels(image)
    try:
        mask = read_mask(Path(mask_path))
    except UnreadableImage as error:
        raise UnusableFile(f"its mask {mask_path} is unreadable: {error}") from error
    if mask.shape != image.shape:
        raise UnusableFile(f"its mask {mask_path} has shape {mask.shape}, the image {image.shape}")
    return Pixels(image, mask, mask_files=(mask_path,))


def _children(directory: Path) -> list[Path]:
    """Direct children of a folder, sorted; [] when the folder does not exist."""
    return sorted(directory.iterdir()) if directory.is_dir() else []


def _index_masks(paths: list[Path]) -> tuple[dict[str, Path], list[SkippedFile]]:
    """Mask files by stem (the first in sorted order wins) and the entries that cannot be masks."""
    by_stem: dict[str, Path] = {}
    unusable = []
    for path in paths:
        if not path.is_file() or not is_image_path(path):
            unusable.append(SkippedFile(str(path), "not an image file, so not a mask"))
        elif path.stem in by_stem:
            reason = f"another mask has the same file stem: {by_stem[path.stem]}"
            unusable.append(SkippedFile(str(path), reason))
        else:
            by_stem[path.stem] = path
    return by_stem, unusable


def _entries(path: Path, label: int, mask_path: Path | None, annotated: bool) -> list[SourceItem | SkippedFile]:
    """The image's item, or its skip (and its mask's) when it is not an image file.

    annotated: whether its mask file (if any) is drawn; otherwise it is only a companion.
    """
    read = partial(read_folder_image, str(path), str(mask_path) if mask_path and annotated else None)
    item = SourceItem(str(path), label, read, companions=(str(mask_path),) if mask_path else ())
    if not path.is_file():
        return skip_with_companions(item, "not a regular file (sub-folders are not searched)")
    if not is_image_path(path):
        return skip_with_companions(item, f"not an image file (suffix {path.suffix!r})")
    return [item]
