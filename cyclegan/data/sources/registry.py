"""Registry of raw data sources and parsing of `KIND:PATH` source specifications.

A source class takes the root path and the preparation's `labels.Rules` (each source applies the
rules that concern it). It is an iterable of `SourceItem | SkippedFile` in a deterministic
order and says in `describe()` how it labels, orients and cleans its images. Adding a dataset =
adding its class to `SOURCES`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

from ..items import SkippedFile, SourceItem
from ..labels import Rules
from .bcdr import BcdrSource
from .cbis import CbisSource
from .folder import FolderSource
from .inbreast import InbreastSource


class Source(Protocol):
    """What `prepare` needs from a source."""

    def __iter__(self) -> Iterator[SourceItem | SkippedFile]: ...

    def describe(self) -> dict:
        """{"labels", "orientation", "label_blanking", "tables"} for the manifest."""
        ...


SOURCES: dict[str, Callable[[Path, Rules], Source]] = {
    "folder": FolderSource,
    "inbreast": InbreastSource,
    "bcdr": BcdrSource,
    "cbis": CbisSource,
}


def parse_source(spec: str) -> tuple[str, Path]:
    """Split "KIND:PATH" into (kind, path); ValueError for an unknown kind or a malformed spec."""
    kind, separator, path = spec.partition(":")
    if not separator or not path:
        raise ValueError(f"source {spec!r} is not of the form KIND:PATH (KIND one of {', '.join(SOURCES)})")
    if kind not in SOURCES:
        valid = ", ".join(sorted(SOURCES))
        raise ValueError(f"unknown source kind {kind!r} in {spec!r}; valid kinds: {valid}")
    return kind, Path(path)


def open_source(spec: str, rules: Rules = Rules()) -> Source:
    """The source object for "KIND:PATH"; FileNotFoundError when PATH does not exist."""
    kind, path = parse_source(spec)
    if not path.exists():
        raise FileNotFoundError(f"source path {str(path)!r} (from {spec!r}) does not exist")
    return SOURCES[kind](path, rules)
