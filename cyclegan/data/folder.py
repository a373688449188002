"""The "any folder" source: `<root>/healthy/*`, `<root>/cancer/*` and optional `<root>/masks/*`.

Images may be DICOM, PNG or TIFF. A mask belongs to the cancer image with the same file stem
(`cancer/x.dcm` <- `masks/x.png`), non-zero = lesion. Only the three folders' direct children are
read. The folder records no laterality, so preparation orients each image by its brighter half.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .image_files import UnreadableImage, is_image_path, read_image, read_mask
from .items import DOMAINS, SkippedFile, SourceItem


class FolderSource:
    """Iterates a folder's images as `SourceItem`s (sorted by path) and unused files as `SkippedFile`s."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.domain_files = {domain: _children(self.root / domain) for domain in DOMAINS}
        self.masks_by_stem, self.unusable_masks = _index_masks(_children(self.root / "masks"))
        cancer_stems = {path.stem for path in self.domain_files["cancer"]}
        self.unusable_masks += [
            SkippedFile(str(path), "mask without a cancer image of the same stem")
            for stem, path in sorted(self.masks_by_stem.items()) if stem not in cancer_stems
        ]

    def __len__(self) -> int:
        """Number of entries the iteration yields (for progress bars)."""
        return sum(len(files) for files in self.domain_files.values()) + len(self.unusable_masks)

    def __iter__(self) -> Iterator[SourceItem | SkippedFile]:
        yield from self.unusable_masks
        for label, domain in enumerate(DOMAINS):
            for path in self.domain_files[domain]:
                mask_path = self.masks_by_stem.get(path.stem) if domain == "cancer" else None
                yield _read_item(path, label, mask_path)


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


def _read_item(path: Path, label: int, mask_path: Path | None) -> SourceItem | SkippedFile:
    if not path.is_file():
        return SkippedFile(str(path), "not a regular file (sub-folders are not searched)")
    if not is_image_path(path):
        return SkippedFile(str(path), f"not an image file (suffix {path.suffix!r})")
    try:
        image = read_image(path)
    except UnreadableImage as error:
        return SkippedFile(str(path), str(error))
    mask = None
    if mask_path is not None:
        try:
            mask = read_mask(mask_path)
        except UnreadableImage as error:
            return SkippedFile(str(path), f"its mask {mask_path} is unreadable: {error}")
        if mask.shape != image.shape:
            reason = f"its mask {mask_path} has shape {mask.shape}, the image {image.shape}"
            return SkippedFile(str(path), reason)
    return SourceItem(path=str(path), image=image, label=label, mask=mask)
