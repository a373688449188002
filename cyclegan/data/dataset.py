"""A prepared dataset folder as training and the analyses read it: manifest.json (validated once),
its counts, image size, shards, epoch length and fingerprint.

`prepare` writes the folder (prepare.py, manifest.py); everything after preparation opens it as a
`PreparedDataset` and hands that down, so the manifest is read once; pipeline.py reads its records.
No TensorFlow, no dataset readers and no pydicom here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from cyclegan.config import CHOICES
from cyclegan.domains import CANCER, DOMAINS, HEALTHY
from cyclegan.errors import ConfigError, DatasetError

PAIRINGS = CHOICES["data.pairing"]  # how pipeline.py pairs the domains in an epoch

MANIFEST_NAME = "manifest.json"
SPLITS = ("train", "eval")
MANIFEST_VERSION = 3  # 3: 16-bit records, mask origins and rules, recipes; 2 and older: 8-bit


def is_prepared(path) -> bool:
    """Whether `path` is a prepared dataset folder (holds a manifest.json)."""
    return (Path(path) / MANIFEST_NAME).is_file()


@dataclass(frozen=True)
class PreparedDataset:
    """A prepared dataset folder: `manifest` is its manifest.json (see manifest.py for the keys),
    `fingerprint` the sha256 of that file's bytes (`prepare` rewrites it byte for byte for the same
    inputs and settings)."""

    path: Path
    manifest: dict
    fingerprint: str

    @classmethod
    def open(cls, path) -> PreparedDataset:
        """The dataset in folder `path`, its manifest checked.

        FileNotFoundError when the folder holds no manifest.json; DatasetError (a ValueError) naming
        the file when it is not valid JSON, was prepared by an older version (8-bit records) or lacks
        a key training reads; ValueError when a domain has no training images.
        """
        path = Path(path)
        manifest_path = path / MANIFEST_NAME
        if not manifest_path.is_file():
            raise FileNotFoundError(
                f"{path} is not a prepared dataset: no {MANIFEST_NAME}; "
                "run `python -m cyclegan prepare …` to create one")
        content = manifest_path.read_bytes()
        manifest = _parse_manifest(manifest_path, content)
        if manifest.get("version") != MANIFEST_VERSION:
            raise DatasetError(
                f"{path} was prepared by another version of `prepare` (manifest version {manifest.get('version')}, "
                f"this one reads {MANIFEST_VERSION}: 16-bit records); prepare it again "
                "(python -m cyclegan prepare ... --overwrite)")
        _check_manifest_keys(manifest_path, manifest)
        for domain in DOMAINS:
            if manifest["counts"]["train"][domain] == 0:
                raise ValueError(f"prepared dataset {path} has no {domain} training images")
        return cls(path, manifest, hashlib.sha256(content).hexdigest())

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of every image, in pixels."""
        height, width = self.manifest["size"]
        return height, width

    @property
    def counts(self) -> dict[str, dict[str, int]]:
        """Records per split and domain: {"train": {"healthy": n, "cancer": n}, "eval": {...}}."""
        return self.manifest["counts"]

    def shard_paths(self, split: str, domain: str) -> list[str]:
        """The shard files of one split and domain, in record order."""
        return [str(self.path / name) for name in self.manifest["shards"][split][domain]]

    def paired_images(self, pairing: str) -> int:
        """Images of each domain an epoch uses (config `data.pairing`, see pipeline.py):
        min(#healthy, #cancer) training records, or #cancer under the exp1 pairing (ValueError when
        there are fewer healthy than cancer records)."""
        counts = self.counts["train"]
        if pairing not in PAIRINGS:
            raise ValueError(f"data.pairing must be one of {', '.join(PAIRINGS)}, got {pairing!r}")
        if pairing == "exp1" and counts[HEALTHY] < counts[CANCER]:
            raise ValueError(f"data.pairing exp1 pairs every cancer record with a healthy one, but the dataset has "
                             f"{counts[HEALTHY]} healthy and {counts[CANCER]} cancer training records")
        return counts[CANCER] if pairing == "exp1" else min(counts[domain] for domain in DOMAINS)

    def epoch_steps(self, global_batch_size: int, batches_per_step: int = 1, pairing: str = "independent") -> int:
        """Steps in an epoch: `paired_images` // global batch size // batches per step (at least 1;
        a step of the sequential order reads two batches). ValueError when no batch fills."""
        batches = self.paired_images(pairing) // global_batch_size
        if batches == 0:
            raise ValueError(
                f"global batch size {global_batch_size} exceeds the images an epoch pairs "
                f"({self.counts['train']}): an epoch would have no steps; lower train.batch_size")
        return max(batches // batches_per_step, 1)

    def check_size(self, size: tuple[int, int], remedy: str) -> None:
        """ConfigError unless the images are `size` = (height, width) pixels, the config's; the
        message ends with `remedy`."""
        if tuple(size) != self.size:
            raise ConfigError(f"the config trains on {size[0]}x{size[1]} images, but {self.path} was prepared at "
                              f"{self.size[0]}x{self.size[1]}; {remedy}")


def _parse_manifest(path: Path, content: bytes) -> dict:
    try:
        manifest = json.loads(content)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path} is not valid JSON ({err}); prepare the dataset again") from err
    if not isinstance(manifest, dict):
        raise DatasetError(f"{path} is not a JSON object; prepare the dataset again")
    return manifest


def _check_manifest_keys(path: Path, manifest: dict) -> None:
    """DatasetError naming the first key training reads that is missing or of the wrong type."""
    size = manifest.get("size")
    if not (isinstance(size, list) and len(size) == 2 and all(_is_count(side) and side > 0 for side in size)):
        raise DatasetError(f"{path}: 'size' must be [height, width] in pixels, got {size!r}; "
                           "prepare the dataset again")
    for split in SPLITS:
        for domain in DOMAINS:
            count = _entry(path, manifest, "counts", split, domain)
            shards = _entry(path, manifest, "shards", split, domain)
            if not _is_count(count):
                raise DatasetError(f"{path}: counts.{split}.{domain} must be a record count, got {count!r}")
            if not (isinstance(shards, list) and all(isinstance(name, str) for name in shards)):
                raise DatasetError(f"{path}: shards.{split}.{domain} must be a list of file names, got {shards!r}")


def _entry(path: Path, manifest: dict, *keys: str):
    """manifest[keys[0]][keys[1]]…, or DatasetError naming the manifest and the first missing key."""
    value = manifest
    for depth, key in enumerate(keys):
        if not isinstance(value, dict) or key not in value:
            raise DatasetError(f"{path} has no '{'.'.join(keys[:depth + 1])}'; it was not written by `prepare` "
                               "or is damaged: prepare the dataset again")
        value = value[key]
    return value


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
