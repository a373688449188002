"""Which found images preparation keeps: the `--views` filter and the `--exclude` list.

An exclusion list is a CSV (comma- or semicolon-separated) with a `Filename` column; an image is
excluded when an entry equals its file name, its file stem, or one of the source's aliases for it
(INbreast file id, BCDR image_filename, CBIS-DDSM case folder).
"""

from __future__ import annotations

from pathlib import Path

from .items import VIEWS, SourceItem
from .sources.tables import read_table


def parse_views(text: str) -> tuple[str, ...]:
    """"CC,MLO" -> ("CC", "MLO"); ValueError for an unknown view."""
    views = tuple(part.strip().upper() for part in text.split(",") if part.strip())
    unknown = [view for view in views if view not in VIEWS]
    if unknown or not views:
        raise ValueError(f"views must be a comma-separated subset of {', '.join(VIEWS)}, got {text!r}")
    return views


def read_exclusions(path) -> frozenset[str]:
    """The entries of an exclusion CSV's `Filename` column; ValueError when it has none."""
    table = read_table(Path(path))
    table.require("Filename")
    return frozenset(name for row in table.rows if (name := row.get("Filename")))


class Selection:
    """Decides per item whether it is kept, and remembers which exclusion entries matched."""

    def __init__(self, views: tuple[str, ...] | None = None, exclude_file=None):
        self.views = views
        self.exclude_file = None if exclude_file is None else str(exclude_file)
        self.excluded = read_exclusions(exclude_file) if exclude_file is not None else frozenset()
        self.matched: set[str] = set()

    def reason_to_skip(self, item: SourceItem) -> str | None:
        """Why the item is not kept, or None to keep it."""
        path = Path(item.path)
        hits = self.excluded & {path.name, path.stem, *item.aliases}
        if hits:
            self.matched |= hits
            return f"listed in the exclusion file {self.exclude_file} (as {sorted(hits)[0]!r})"
        if self.views is not None and item.view is not None and item.view not in self.views:
            return f"view {item.view} is not among the selected views ({','.join(self.views)})"
        return None

    def describe(self) -> dict:
        """The selection as recorded in the manifest, with the exclusion entries that matched nothing."""
        return {
            "views": list(self.views) if self.views is not None else "all",
            "exclude_file": self.exclude_file,
            "excluded_names": len(self.excluded),
            "excluded_names_unmatched": sorted(self.excluded - self.matched),
        }
