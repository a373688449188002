"""Preparation: raw sources -> preprocessed, split TFRecord shards + manifest.json in one folder.

Steps: open every "KIND:PATH" source and list what it found; drop images outside `--views`, on
the exclusion list or already read from an earlier source; read and preprocess the rest
(process_images.py, optionally in worker processes); split (split.py); write each split and domain
as shards, the augmented copies of an image right after it; write manifest.json (manifest.py).
Every file a source found ends up in a record or in the manifest's `skipped`.

The output folder appears atomically: everything is written into a temporary sibling folder that
is renamed into place at the end, so an interrupted run leaves no manifest.json at `out_dir`.
Reruns with the same inputs and settings give byte-identical shards and manifest, whatever the
number of workers.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from cyclegan.domains import DOMAINS

from .augment import augment, draw_augmentation
from .dataset import MANIFEST_NAME, SPLITS
from .items import SkippedFile, skip_with_companions
from .manifest import build_manifest
from .png_bytes import decode_png, encode_png
from .preprocess import RESIZE_MODES
from .process_images import ImageSettings, Job, PreparedImage, process_all
from .recipes import PrepareSettings
from .records import serialize_encoded, write_shards
from .selection import Selection, parse_views
from .sources.registry import open_source
from .split import SPLIT_MODES, split_images

IMAGES_PER_SHARD = 256


def prepare_dataset(
    sources: list[str],
    settings: PrepareSettings,
    out_dir,
    *,
    overwrite: bool = False,
    progress: bool = True,
    workers: int = 1,
    dry_run: bool = False,
) -> dict:
    """Prepare "KIND:PATH" sources into `out_dir` as `settings` (recipes.resolve) say.

    overwrite: replace an existing out_dir. progress: show a progress bar. workers: processes
    reading and preprocessing images (started with "spawn": a calling script needs an
    `if __name__ == "__main__":` guard). dry_run: do everything but write; out_dir may be None.

    Returns the manifest (also written to out_dir/manifest.json). Raises FileExistsError if out_dir
    exists and not `overwrite`, FileNotFoundError for a missing source path, ValueError for an
    unknown source kind, bad settings, a broken source layout, or a domain without images.
    """
    settings = replace(settings, size=_checked_size(settings.size))
    _check_settings(settings, workers, sources)
    rules = settings.rules
    views = _parsed_views(settings.views)
    out_dir = None if out_dir is None else Path(out_dir)
    if not dry_run and out_dir is None:
        raise ValueError("an output folder is needed unless this is a dry run")
    if not dry_run and out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} already exists; choose another folder or overwrite it (--overwrite)")
    selection = Selection(views, settings.exclude)
    opened = {spec: open_source(spec, rules) for spec in sources}
    jobs, skipped = _select(opened, selection)

    image_settings = ImageSettings(settings.size, settings.resize, rules, settings.seed)
    prepared: list[PreparedImage] = []
    for job, (image, skips) in zip(jobs, process_all(jobs, image_settings, workers, progress)):
        skipped += [{"path": skip.path, "reason": skip.reason, "source": job.source_spec} for skip in skips]
        if image is not None:
            prepared.append(image)
    _check_domains(prepared, sources, skipped)
    split = split_images(prepared, settings.eval_fraction, settings.seed, settings.split_by)
    _check_training_images(split, settings.split_by)
    descriptions = {spec: source.describe() for spec, source in opened.items()}
    if dry_run:
        return build_manifest(settings, selection.describe(), descriptions, split, None, skipped)

    staging = _sibling(out_dir, "partial")
    staging.mkdir(parents=True)
    try:
        shards = {name: {domain: write_shards(staging, name, domain, _examples(split[name][domain], settings),
                                              IMAGES_PER_SHARD)
                         for domain in DOMAINS}
                  for name in SPLITS}
        manifest = build_manifest(settings, selection.describe(), descriptions, split, shards, skipped)
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        _move_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _checked_size(size) -> tuple[int, int]:
    """(height, width) as ints; ValueError when there is none or it is not two positive whole numbers."""
    if size is None:
        raise ValueError("no image size: give one (--size HEIGHTxWIDTH) or a recipe that has one (--recipe)")
    if len(size) != 2 or any(int(side) != side or side < 1 for side in size):
        raise ValueError(f"size must be (height, width) in positive whole pixels, got {size!r}")
    return int(size[0]), int(size[1])


def _check_settings(settings: PrepareSettings, workers, sources: list[str]) -> None:
    """ValueError for an eval_fraction, resize, augment_copies, split_by, workers or sources out of range."""
    if not 0.0 <= settings.eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be in [0, 1), got {settings.eval_fraction}")
    if settings.resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {', '.join(RESIZE_MODES)}, got {settings.resize!r}")
    copies = settings.augment_copies
    if int(copies) != copies or copies < 0:
        raise ValueError(f"augment_copies must be a whole number >= 0, got {copies}")
    if settings.split_by not in SPLIT_MODES:
        raise ValueError(f"split_by must be one of {', '.join(SPLIT_MODES)}, got {settings.split_by!r}")
    if int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers}")
    if not sources:
        raise ValueError("no sources given; pass at least one KIND:PATH")


def _parsed_views(views) -> tuple[str, ...] | None:
    """PrepareSettings.views as a tuple of upper-case view names (None: all); ValueError for an unknown one."""
    if views is None:
        return None
    return parse_views(views if isinstance(views, str) else ",".join(views))


def _select(opened: dict, selection: Selection) -> tuple[list[Job], list[dict]]:
    """Jobs for the items to read, and skipped-file records for everything else the sources found."""
    jobs, skipped, seen = [], [], set()
    for spec, source in opened.items():
        for entry in source:
            if isinstance(entry, SkippedFile):
                skips = [entry]
            elif entry.path in seen:
                skips = skip_with_companions(entry, "already read from an earlier source")
            elif reason := selection.reason_to_skip(entry):
                skips = skip_with_companions(entry, reason)
            else:
                seen.add(entry.path)
                jobs.append(Job(entry, spec))
                continue
            skipped += [{"path": skip.path, "reason": skip.reason, "source": spec} for skip in skips]
    return jobs, skipped


def _check_domains(prepared: list[PreparedImage], sources: list[str], skipped: list[dict]) -> None:
    """ValueError unless both domains have images; the message names the sources and skipped files."""
    if not prepared:
        raise ValueError(f"no usable images in {', '.join(sources)} ({_skipped_summary(skipped)})")
    for domain in DOMAINS:
        if not any(image.domain == domain for image in prepared):
            raise ValueError(
                f"no {domain} images in {', '.join(sources)}: both domains (healthy, cancer) need images; "
                f"a folder source reads them from <root>/{domain}/ ({_skipped_summary(skipped)})"
            )


def _check_training_images(split: dict, split_by: str) -> None:
    for domain in DOMAINS:
        if not split["train"][domain]:
            raise ValueError(f"the {split_by} split left no {domain} images for training; lower --eval-fraction")


EVAL_READERS = "`translate`, `artifacts`, `detect` and `study build` read the eval split by default"


def split_warnings(manifest: dict) -> list[str]:
    """Warnings about a prepared dataset's eval split (one line each, without "warning: "): one per
    domain whose eval split is empty, or one for both when eval_fraction is 0 (no held-out split)."""
    originals = manifest["original_counts"]
    empty = [domain for domain in DOMAINS if originals["eval"][domain] == 0]
    if not empty:
        return []
    fraction, split_by, recipe = manifest["eval_fraction"], manifest["split_by"], manifest["recipe"]["name"]
    if fraction == 0:
        given = f"the recipe {recipe} sets --eval-fraction 0" if recipe else "--eval-fraction is 0"
        return [f"the eval split is empty ({given}: no held-out images): TensorBoard's image panels will show "
                f"training images, and {EVAL_READERS} (pass --split train there); give --eval-fraction > 0 "
                "for held-out images"]
    return [f"the eval split of {domain} is empty (0 of {originals['train'][domain]} {domain} images held out "
            f"at --eval-fraction {fraction:g}, --split-by {split_by}): `train` refuses the dataset while "
            f"data.eval_images > 0 (the TensorBoard image panels show eval images), and {EVAL_READERS}; "
            f"raise --eval-fraction{' or use --split-by image' if split_by == 'patient' else ''}, "
            f"or add {domain} images"
            for domain in empty]


def _skipped_summary(skipped: list[dict], shown: int = 3) -> str:
    examples = "".join(f"; {entry['path']}: {entry['reason']}" for entry in skipped[:shown])
    return f"{len(skipped)} file(s) skipped{examples}{'; ...' if len(skipped) > shown else ''}"


def _examples(images: list[PreparedImage], settings: PrepareSettings) -> Iterator[bytes]:
    """Serialized examples: each image, then its settings.augment_copies augmented copies (source "<path>#augK")."""
    size, copies, seed = settings.size, settings.augment_copies, settings.seed
    for image in images:
        yield serialize_encoded(image.image_png, image.mask_png, image.label, image.source, image.mask_origin, *size)
        if not copies:
            continue
        pixels, mask = decode_png(image.image_png), decode_png(image.mask_png)
        for copy in range(1, copies + 1):
            warped, warped_mask = augment(pixels, mask, draw_augmentation(seed, image.source, copy))
            yield serialize_encoded(encode_png(warped), encode_png(warped_mask), image.label,
                                    f"{image.source}#aug{copy}", image.mask_origin, *size)


def _sibling(out_dir: Path, purpose: str) -> Path:
    """A hidden folder next to out_dir owned by this process; a stale one (same pid) is removed, and
    so are those of processes that are gone (`_remove_orphaned_siblings`)."""
    _remove_orphaned_siblings(out_dir)
    path = out_dir.parent / f".{out_dir.name}.{purpose}-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    return path


def _remove_orphaned_siblings(out_dir: Path) -> None:
    """Remove the .NAME.partial-PID and .NAME.old-PID folders of out_dir whose process is gone
    (killed before it could remove them)."""
    for path in out_dir.parent.glob(f".{out_dir.name}.*-*"):
        purpose, _, pid = path.name[len(out_dir.name) + 2:].rpartition("-")
        if purpose in ("partial", "old") and pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _move_into_place(staging: Path, out_dir: Path) -> None:
    """Rename the finished staging folder to out_dir, replacing an existing out_dir last."""
    if out_dir.exists():
        retired = _sibling(out_dir, "old")
        out_dir.rename(retired)
        staging.rename(out_dir)
        shutil.rmtree(retired) if retired.is_dir() else retired.unlink()
    else:
        staging.rename(out_dir)
