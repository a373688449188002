"""What a prepared dataset's manifest.json holds, built from the preparation's settings and results.

Keys:
  version, sources ("KIND:PATH" as given), size [height, width], seed, eval_fraction, split_by
  label_rule        {name, description}
  selection         views, exclusion file, how many names it listed, the ones that matched nothing
  preprocessing     every parameter of the per-image steps (preprocess.py)
  augmentation      copies per image, seed and ranges (augment.py)
  counts            {split: {domain: records}}: records in the shards, augmented copies included
  original_counts   {split: {domain: images}}: the same without the copies
  masks_synthesised {domain: records whose mask was made up}
  per_source        {spec: how it labels, orients and cleans; tables read; images per domain; skipped}
  shards            {split: {domain: [shard file names]}} (null in a dry run)
  images            one entry per record: source, domain, split, source_spec, patient_id, view,
                    flipped, mask_synthesised, mask_files; copies add augmented_from and augmentation
  skipped           [{path, reason, source}]: every found file (or table row) not in a record
"""

from __future__ import annotations

from . import augment, preprocess
from .augment import draw_augmentation
from .items import DOMAINS
from .labels import LABEL_RULES
from .records import SPLITS

MANIFEST_VERSION = 2


def preprocessing_parameters() -> dict:
    """The per-image steps and their parameters, in the order they run."""
    return {
        "label_blanking": (
            "sources with burned-in labels (see per_source): pixels outside the largest region brighter than the "
            f"background (median of Otsu's darker class + {preprocess.BACKGROUND_SIGMAS} MAD-based standard "
            "deviations, at most Otsu's threshold), "
            f"holes filled, found on a copy of at most {preprocess.REGION_SIDE} px per side and grown by "
            f"{preprocess.REGION_MARGIN} px there, are set to the image minimum"),
        "orientation": "breast to the left edge: mirrored when the laterality is R or, where a source "
                       "records none reliably, when the right half is brighter",
        "intensity": "standardised ((x - mean) / std), then rescaled linearly to [0, 255] and rounded to 8 bits",
        "resize": "aspect kept: the longer side (height on a tie) fits the target side; area averaging "
                  "(anti-aliased) when shrinking, bilinear when enlarging",
        "pad": "zeros at the right and bottom, or cropped there",
        "mask": "same flip and scale; a shrunk pixel is lesion when any lesion pixel falls in it "
                "(nearest neighbour when enlarging); values 0 / 255",
        "healthy_mask": "empty",
        "synthesised_mask": "cancer images without an annotation: an ellipse inside the largest Otsu region, "
                            "semi-axes 1/6 of its bounding box",
    }


def build_manifest(settings: dict, descriptions: dict[str, dict], split: dict, shards: dict | None,
                   skipped: list[dict]) -> dict:
    """The manifest of a preparation.

    settings: size, seed, eval_fraction, split_by, label_rule, augment_copies, selection.
    descriptions: each source's `describe()` by spec. split: split.split_images' result.
    """
    copies, seed = settings["augment_copies"], settings["seed"]
    originals = {name: {domain: len(split[name][domain]) for domain in DOMAINS} for name in SPLITS}
    images = [entry for name in SPLITS for domain in DOMAINS for image in split[name][domain]
              for entry in _entries(image, name, copies, seed)]
    return {
        "version": MANIFEST_VERSION,
        "sources": list(descriptions),
        "size": settings["size"],
        "seed": seed,
        "eval_fraction": settings["eval_fraction"],
        "split_by": settings["split_by"],
        "label_rule": {"name": settings["label_rule"], "description": LABEL_RULES[settings["label_rule"]]},
        "selection": settings["selection"],
        "preprocessing": preprocessing_parameters(),
        "augmentation": {"copies": copies, "seed": seed, **augment.ranges(),
                         "order": "warp (image bilinear, mask nearest), contrast on the 8-bit image, "
                                  "re-standardise to [0, 255]"},
        "counts": {name: {domain: count * (1 + copies) for domain, count in counts.items()}
                   for name, counts in originals.items()},
        "original_counts": originals,
        "masks_synthesised": {domain: sum(entry["mask_synthesised"] for entry in images if entry["domain"] == domain)
                              for domain in DOMAINS},
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
             "flipped": image.flipped, "mask_synthesised": image.mask_synthesised,
             "mask_files": list(image.mask_files)}
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
