"""What a prepared dataset's manifest.json holds, built from the preparation's settings and results.

Keys:
  version, sources ("KIND:PATH" as given), size [height, width], seed, eval_fraction, split_by
  recipe            {name (null without one), description, pairing: how the original trained on it}
  rules             {label, bcdr, mask}: each {name, description} (labels.py)
  resize            fit | stretch
  bit_depth         16: images and masks are 16-bit PNGs
  selection         views, exclusion file, how many names it listed, the ones that matched nothing
  preprocessing     every parameter of the per-image steps (preprocess.py, synthetic_masks.py)
  augmentation      copies per image, seed and ranges (augment.py)
  counts            {split: {domain: records}}: records in the shards, augmented copies included
  original_counts   {split: {domain: images}}: the same without the copies
  mask_origins      {domain: {annotated, synthetic, empty: records}}, and synthetic_masks_outside_breast
  per_source        {spec: how it labels, orients and cleans; tables read; images per domain; skipped}
  shards            {split: {domain: [shard file names]}} (null in a dry run)
  images            one entry per record: source, domain, split, source_spec, patient_id, view,
                    flipped, mask (annotated | synthetic | empty), mask_files, and for synthetic
                    masks mask_inside_breast; copies add augmented_from and augmentation
  skipped           [{path, reason, source}]: every found file (or table row) not in a record
"""

from __future__ import annotations

from cyclegan.domains import DOMAINS

from . import augment, image_files, preprocess, synthetic_masks
from .augment import draw_augmentation
from .dataset import MANIFEST_VERSION, SPLITS
from .process_images import MASK_ORIGINS
from .recipes import PrepareSettings

BIT_DEPTH = 16


def preprocessing_parameters(resize: str) -> dict:
    """The per-image steps and their parameters, in the order they run."""
    low, high = synthetic_masks.VALUE_RANGE
    resizes = {
        "fit": "aspect kept: the longer side (height on a tie) fits the target side, zeros added (or the "
               "excess cropped) at the right and bottom",
        "stretch": "both sides scaled to the target size (aspect not kept), as experiment 1's training images",
    }
    return {
        "usable": (f"skipped, with the reason: images below {image_files.MIN_SIDE} pixels on a side, with any NaN "
                   "or infinite pixel, or of one value everywhere"),
        "label_blanking": (
            "sources with burned-in labels (see per_source): pixels outside the largest region brighter than the "
            f"background (median of Otsu's darker class + {preprocess.BACKGROUND_SIGMAS} MAD-based standard "
            "deviations, at most Otsu's threshold), "
            f"holes filled, found on a copy of at most {preprocess.REGION_SIDE} px per side and grown by "
            f"{preprocess.REGION_MARGIN} px there, are set to the image minimum"),
        "synthetic_mask": (
            "on the full-resolution image before orientation (see rules.mask for which images): "
            f"1 + Poisson({synthetic_masks.MEAN_EXTRA_BLOBS}) blobs at uniform centres, r_min = max(1, "
            "min(h, w) // 80), r_max = max(r_min, min(h, w) // 10), area ~ U(r_min^2, r_max^2), r1 ~ "
            "U{r_min..r_max}, r2 = max(1, area // r1), inside when dy^2/r1 + dx^2/r2 <= 1 + "
            f"N(0, {synthetic_masks.EDGE_NOISE}^2) per pixel, value {low} + {high - low:.1f} (1 - r1 r2 / "
            f"r_max^2); redrawn up to {synthetic_masks.MAX_DRAWS} times until inside the Otsu breast region"),
        "orientation": "breast to the left edge: mirrored when the laterality is R or, where a source "
                       "records none reliably, when the right half is brighter",
        "resize": f"{resize}: {resizes[resize]}; area averaging (anti-aliased) when a side shrinks, bilinear "
                  "when both grow; on the raw intensities, padding with raw 0",
        "intensity": f"then min-max scaled to [0, {preprocess.STORED_MAX}] (16 bits); standardising first, as "
                     "the originals do, gives the same result",
        "mask": "the same flip and resize as the image (soft, graded edges), then its own min-max scale to "
                f"[0, {preprocess.STORED_MAX}]; an empty mask stays 0. Training scales both channels to [-1, 1]",
    }


def build_manifest(settings: PrepareSettings, selection: dict, descriptions: dict[str, dict], split: dict,
                   shards: dict | None, skipped: list[dict]) -> dict:
    """The manifest of a preparation.

    settings: as prepare_dataset checked them (size in whole pixels). selection: the run's
    `Selection.describe()`. descriptions: each source's `describe()` by spec. split:
    split.split_images' result.
    """
    copies, seed = settings.augment_copies, settings.seed
    originals = {name: {domain: len(split[name][domain]) for domain in DOMAINS} for name in SPLITS}
    images = [entry for name in SPLITS for domain in DOMAINS for image in split[name][domain]
              for entry in _entries(image, name, copies, seed)]
    return {
        "version": MANIFEST_VERSION,
        "sources": list(descriptions),
        "size": list(settings.size),
        "seed": seed,
        "eval_fraction": settings.eval_fraction,
        "split_by": settings.split_by,
        "recipe": {"name": settings.recipe, "description": settings.description, "pairing": settings.pairing},
        "rules": settings.rules.describe(),
        "resize": settings.resize,
        "bit_depth": BIT_DEPTH,
        "selection": selection,
        "preprocessing": preprocessing_parameters(settings.resize),
        "augmentation": {"copies": copies, "seed": seed, **augment.ranges(),
                         "order": "image as floats in [0, 255]; warp image and mask (both bilinear); contrast "
                                  "on the image, clipped to [0, 255]; both min-max scaled to 16 bits again"},
        "counts": {name: {domain: count * (1 + copies) for domain, count in counts.items()}
                   for name, counts in originals.items()},
        "original_counts": originals,
        "mask_origins": {domain: {origin: sum(entry["domain"] == domain and entry["mask"] == origin for entry in images)
                                  for origin in MASK_ORIGINS} for domain in DOMAINS},
        "synthetic_masks_outside_breast": sum(entry.get("mask_inside_breast") is False for entry in images),
        "per_source": {spec: _source_account(spec, description, images, skipped)
                       for spec, description in descriptions.items()},
        "shards": shards,
        "images": images,
        "skipped": skipped,
    }


def _entries(image, split_name: str, copies: int, seed: int) -> list[dict]:
    """The manifest entries of one image and its augmented copies."""
    entry = {"source": image.source, "domain": image.domain, "split": split_name,
             "source_spec": image.source_spec, "patient_id": image.patient_id, "view": image.view,
             "flipped": image.flipped, "mask": image.mask_origin, "mask_files": list(image.mask_files)}
    if image.mask_inside_breast is not None:
        entry["mask_inside_breast"] = image.mask_inside_breast
    copied = [{**entry, "source": f"{image.source}#aug{copy}", "augmented_from": image.source,
               "augmentation": draw_augmentation(seed, image.source, copy).as_dict()}
              for copy in range(1, copies + 1)]
    return [entry, *copied]


def _source_account(spec: str, description: dict, images: list[dict], skipped: list[dict]) -> dict:
    """One source's description with its original images per domain and its skipped count."""
    own = [entry for entry in images if entry["source_spec"] == spec and "augmented_from" not in entry]
    return {"kind": spec.partition(":")[0], **description,
            "images": {domain: sum(entry["domain"] == domain for entry in own) for domain in DOMAINS},
            "skipped": sum(entry["source"] == spec for entry in skipped)}
