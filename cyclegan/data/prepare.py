"""Preparation: raw sources -> preprocessed, split TFRecord shards + manifest.json in one folder.

The output folder appears atomically: everything is written into a temporary sibling folder that
is renamed into place at the end, so an interrupted run leaves no manifest.json at `out_dir`.
Reruns with the same inputs and settings give byte-identical shards and manifest.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .items import DOMAINS, SkippedFile, SourceItem
from .preprocess import preprocess, synthesise_mask
from .records import SPLITS, serialize_example, write_shards
from .sources import open_source

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
IMAGES_PER_SHARD = 256


@dataclass(frozen=True)
class PreparedImage:
    """One preprocessed image ready for a shard."""

    source: str
    patient_id: str | None
    mask_synthesised: bool
    example: bytes  # serialized tf.train.Example


def prepare_dataset(
    sources: list[str],
    size: tuple[int, int],
    out_dir,
    eval_fraction: float = 0.15,
    seed: int = 42,
    overwrite: bool = False,
    progress: bool = True,
) -> dict:
    """Prepare "KIND:PATH" sources into `out_dir` at `size` = (height, width) pixels.

    Splits each domain separately (stratified) into train and eval, `eval_fraction` of it (rounded)
    into eval, shuffled with `seed`. Returns the manifest (also written to out_dir/manifest.json).
    Raises FileExistsError if out_dir exists and not `overwrite`, FileNotFoundError for a missing
    source path, ValueError for an unknown source kind, bad settings, or a domain without images.
    """
    size = _check_size(size)
    if not 0.0 <= eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be in [0, 1), got {eval_fraction}")
    if not sources:
        raise ValueError("no sources given; pass at least one KIND:PATH")
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} already exists; choose another folder or overwrite it (--overwrite)")
    opened = [(spec, open_source(spec)) for spec in sources]

    prepared, skipped = _read_and_preprocess(opened, size, progress)
    _check_domains(prepared, sources, skipped)
    split = {
        domain: _split(prepared[domain], eval_fraction, seed, label) for label, domain in enumerate(DOMAINS)
    }

    staging = _sibling(out_dir, "partial")
    staging.mkdir(parents=True)
    try:
        shards = {name: {domain: [] for domain in DOMAINS} for name in SPLITS}
        for domain in DOMAINS:
            for name in SPLITS:
                examples = [image.example for image in split[domain][name]]
                shards[name][domain] = write_shards(staging, name, domain, examples, IMAGES_PER_SHARD)
        manifest = _manifest(sources, size, seed, eval_fraction, split, shards, skipped)
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        _move_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _check_size(size) -> tuple[int, int]:
    if len(size) != 2 or any(int(side) != side or side < 1 for side in size):
        raise ValueError(f"size must be (height, width) in positive whole pixels, got {size!r}")
    return int(size[0]), int(size[1])


def _read_and_preprocess(opened, size, progress: bool) -> tuple[dict[str, list[PreparedImage]], list[dict]]:
    """Preprocess every item of every source; returns images by domain and skipped-file records."""
    prepared: dict[str, list[PreparedImage]] = {domain: [] for domain in DOMAINS}
    skipped: list[dict] = []
    seen: set[str] = set()
    for spec, source in opened:
        entries = tqdm(source, total=len(source), desc=f"prepare {spec}", unit="file", disable=not progress)
        for entry in entries:
            if isinstance(entry, SkippedFile):
                skipped.append({"path": entry.path, "reason": entry.reason})
            elif entry.path in seen:
                skipped.append({"path": entry.path, "reason": "already read from an earlier source"})
            else:
                seen.add(entry.path)
                prepared[entry.domain].append(_prepare_item(entry, size))
    return prepared, skipped


def _prepare_item(item: SourceItem, size: tuple[int, int]) -> PreparedImage:
    image, mask = preprocess(item.image, item.mask, size, item.laterality)
    synthesised = item.mask_synthesised
    if mask is None and item.label == 1:
        mask, synthesised = synthesise_mask(image), True
    elif mask is None:
        mask = np.zeros_like(image)
    example = serialize_example(image, mask, item.label, item.path, synthesised)
    return PreparedImage(item.path, item.patient_id, synthesised, example)


def _check_domains(prepared: dict[str, list[PreparedImage]], sources: list[str], skipped: list[dict]) -> None:
    """ValueError unless both domains have images; the message names the sources and skipped files."""
    if not any(prepared.values()):
        raise ValueError(f"no usable images in {', '.join(sources)} ({_skipped_summary(skipped)})")
    for domain, images in prepared.items():
        if not images:
            raise ValueError(
                f"no {domain} images in {', '.join(sources)}: both domains (healthy, cancer) need images; "
                f"a folder source reads them from <root>/{domain}/ ({_skipped_summary(skipped)})"
            )


def _skipped_summary(skipped: list[dict], shown: int = 3) -> str:
    examples = "".join(f"; {entry['path']}: {entry['reason']}" for entry in skipped[:shown])
    return f"{len(skipped)} file(s) skipped{examples}{'; ...' if len(skipped) > shown else ''}"


def _split(images: list[PreparedImage], eval_fraction: float, seed: int, label: int) -> dict[str, list]:
    """Shuffle one domain (ordered by source path) with (seed, label); the first round(n * f) are eval.

    At least one image stays in train. Each split is returned ordered by source path.
    """
    ordered = sorted(images, key=lambda image: image.source)
    order = np.random.default_rng([seed, label]).permutation(len(ordered))
    eval_count = min(round(len(ordered) * eval_fraction), len(ordered) - 1)
    eval_indices = set(order[:eval_count].tolist())
    return {
        "train": [image for index, image in enumerate(ordered) if index not in eval_indices],
        "eval": [image for index, image in enumerate(ordered) if index in eval_indices],
    }


def _manifest(sources, size, seed, eval_fraction, split, shards, skipped) -> dict:
    return {
        "version": MANIFEST_VERSION,
        "sources": list(sources),
        "size": list(size),
        "seed": seed,
        "eval_fraction": eval_fraction,
        "counts": {name: {domain: len(split[domain][name]) for domain in DOMAINS} for name in SPLITS},
        "masks_synthesised": {
            domain: sum(image.mask_synthesised for images in split[domain].values() for image in images)
            for domain in DOMAINS
        },
        "shards": shards,
        "images": [
            {"source": image.source, "domain": domain, "split": name, "patient_id": image.patient_id,
             "mask_synthesised": image.mask_synthesised}
            for name in SPLITS for domain in DOMAINS for image in split[domain][name]
        ],
        "skipped": skipped,
    }


def _sibling(out_dir: Path, purpose: str) -> Path:
    """A hidden folder next to out_dir owned by this process; a stale one (same pid) is removed."""
    path = out_dir.parent / f".{out_dir.name}.{purpose}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    return path


def _move_into_place(staging: Path, out_dir: Path) -> None:
    """Rename the finished staging folder to out_dir, replacing an existing out_dir last."""
    if out_dir.exists():
        retired = _sibling(out_dir, "old")
        out_dir.rename(retired)
        staging.rename(out_dir)
        shutil.rmtree(retired) if retired.is_dir() else retired.unlink()
    else:
        staging.rename(out_dir)
