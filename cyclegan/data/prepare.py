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
from pathlib import Path

from .augment import augment, draw_augmentation
from .dataset import MANIFEST_NAME, SPLITS
from .items import DOMAINS, SkippedFile, skip_with_companions
from .labels import Rules
from .manifest import build_manifest
from .png_bytes import decode_png, encode_png
from .preprocess import RESIZE_MODES
from .process_images import ImageSettings, Job, PreparedImage, process_all
from .recipes import resolve
from .records import serialize_encoded, write_shards
from .selection import Selection, parse_views
from .sources import open_source
from .split import SPLIT_MODES, split_images

IMAGES_PER_SHARD = 256


def prepare_dataset(
    sources: list[str],
    size: tuple[int, int] | None = None,
    out_dir=None,
    eval_fraction: float | None = None,
    seed: int = 42,
    overwrite: bool = False,
    progress: bool = True,
    *,
    recipe: str | None = None,
    label_rule: str | None = None,
    bcdr_rule: str | None = None,
    mask_rule: str | None = None,
    resize: str | None = None,
    views=None,
    exclude=None,
    augment_copies: int | None = None,
    split_by: str = "image",
    workers: int = 1,
    dry_run: bool = False,
) -> dict:
    """Prepare "KIND:PATH" sources into `out_dir` at `size` = (height, width) pixels.

    recipe: a name in recipes.RECIPES whose settings apply; any of the settings below given as
    well (not None) overrides the recipe's, and without a recipe recipes.DEFAULTS apply.
    label_rule (INbreast), bcdr_rule, mask_rule: labels.LABEL_RULES, BCDR_RULES, MASK_RULES.
    resize: fit | stretch (preprocess.resize). views: None (all), e.g. ("CC",) or "CC,MLO".
    exclude: CSV with a Filename column of images to leave out. augment_copies: augmented copies
    per image (augment.py), kept in their image's split. split_by: image | patient (split.py);
    `eval_fraction` of each domain (rounded) goes to eval, shuffled with `seed`, which also seeds
    synthetic masks and augmentation. workers: processes reading and preprocessing images (started
    with "spawn": a calling script needs an `if __name__ == "__main__":` guard). dry_run: do
    everything but write; out_dir may be None.

    Returns the manifest (also written to out_dir/manifest.json). Raises FileExistsError if out_dir
    exists and not `overwrite`, FileNotFoundError for a missing source path, ValueError for an
    unknown source kind, bad settings, a broken source layout, or a domain without images.
    """
    chosen, recipe_settings = resolve(
        recipe, size=None if size is None else tuple(size), views=views, label_rule=label_rule,
        bcdr_rule=bcdr_rule, mask_rule=mask_rule, resize=resize, augment_copies=augment_copies,
        eval_fraction=eval_fraction)
    if recipe_settings["size"] is None:
        raise ValueError("no image size: give one (--size HEIGHTxWIDTH) or a recipe that has one (--recipe)")
    size = _check_size(recipe_settings["size"])
    eval_fraction, augment_copies = recipe_settings["eval_fraction"], recipe_settings["augment_copies"]
    _check_settings(eval_fraction, recipe_settings["resize"], augment_copies, split_by, workers, sources)
    rules = Rules(recipe_settings["label_rule"], recipe_settings["bcdr_rule"], recipe_settings["mask_rule"])
    views = recipe_settings["views"]
    if views is not None:
        views = parse_views(views if isinstance(views, str) else ",".join(views))
    out_dir = None if out_dir is None else Path(out_dir)
    if not dry_run and out_dir is None:
        raise ValueError("an output folder is needed unless this is a dry run")
    if not dry_run and out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} already exists; choose another folder or overwrite it (--overwrite)")
    selection = Selection(views, exclude)
    opened = {spec: open_source(spec, rules) for spec in sources}
    jobs, skipped = _select(opened, selection)

    image_settings = ImageSettings(size, recipe_settings["resize"], rules, seed)
    prepared: list[PreparedImage] = []
    for job, (image, skips) in zip(jobs, process_all(jobs, image_settings, workers, progress)):
        skipped += [{"path": skip.path, "reason": skip.reason, "source": job.source_spec} for skip in skips]
        if image is not None:
            prepared.append(image)
    _check_domains(prepared, sources, skipped)
    split = split_images(prepared, eval_fraction, seed, split_by)
    _check_training_images(split, split_by)
    settings = {"size": list(size), "seed": seed, "eval_fraction": eval_fraction, "split_by": split_by,
                "rules": rules, "resize": recipe_settings["resize"], "augment_copies": augment_copies,
                "selection": selection.describe(),
                "recipe": {"name": recipe, "description": chosen.description, "pairing": chosen.pairing}}
    descriptions = {spec: source.describe() for spec, source in opened.items()}
    if dry_run:
        return build_manifest(settings, descriptions, split, None, skipped)

    staging = _sibling(out_dir, "partial")
    staging.mkdir(parents=True)
    try:
        shards = {name: {domain: write_shards(staging, name, domain,
                                              _examples(split[name][domain], size, augment_copies, seed),
                                              IMAGES_PER_SHARD)
                         for domain in DOMAINS}
                  for name in SPLITS}
        manifest = build_manifest(settings, descriptions, split, shards, skipped)
        (staging / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
        _move_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def _check_size(size) -> tuple[int, int]:
    if len(size) != 2 or any(int(side) != side or side < 1 for side in size):
        raise ValueError(f"size must be (height, width) in positive whole pixels, got {size!r}")
    return int(size[0]), int(size[1])


def _check_settings(eval_fraction, resize, augment_copies, split_by, workers, sources) -> None:
    if not 0.0 <= eval_fraction < 1.0:
        raise ValueError(f"eval_fraction must be in [0, 1), got {eval_fraction}")
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {', '.join(RESIZE_MODES)}, got {resize!r}")
    if int(augment_copies) != augment_copies or augment_copies < 0:
        raise ValueError(f"augment_copies must be a whole number >= 0, got {augment_copies}")
    if split_by not in SPLIT_MODES:
        raise ValueError(f"split_by must be one of {', '.join(SPLIT_MODES)}, got {split_by!r}")
    if int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers}")
    if not sources:
        raise ValueError("no sources given; pass at least one KIND:PATH")


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


def _skipped_summary(skipped: list[dict], shown: int = 3) -> str:
    examples = "".join(f"; {entry['path']}: {entry['reason']}" for entry in skipped[:shown])
    return f"{len(skipped)} file(s) skipped{examples}{'; ...' if len(skipped) > shown else ''}"


def _examples(images: list[PreparedImage], size: tuple[int, int], copies: int, seed: int) -> Iterator[bytes]:
    """Serialized examples: each image, then its `copies` augmented copies (source "<path>#augK")."""
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
