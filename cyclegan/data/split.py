"""Train / eval split of prepared images: stratified by domain, seeded, by image or by patient.

`image` (the original): each domain is shuffled on its own and round(n * eval_fraction) of it
goes to eval. `patient`: whole patients go to eval, so no patient is in both splits; patients
are stratified by whether they have a cancer image, and taken in shuffled order while they fit
into round(images of that stratum * eval_fraction), so the fractions are met approximately.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from cyclegan.domains import DOMAINS

from .process_images import PreparedImage

SPLIT_MODES = ("image", "patient")


def split_images(images: list[PreparedImage], eval_fraction: float, seed: int,
                 by: str = "image") -> dict[str, dict[str, list[PreparedImage]]]:
    """{"train" | "eval": {domain: images ordered by source path}}."""
    if by == "image":
        eval_sources = {image.source for label in range(len(DOMAINS))
                        for image in _eval_images([i for i in images if i.label == label], eval_fraction, seed, label)}
    elif by == "patient":
        eval_sources = _eval_patients(images, eval_fraction, seed)
    else:
        raise ValueError(f"unknown split mode {by!r}; valid modes: {', '.join(SPLIT_MODES)}")
    ordered = sorted(images, key=lambda image: image.source)
    return {name: {domain: [image for image in ordered
                            if image.domain == domain and (image.source in eval_sources) == is_eval]
                   for domain in DOMAINS}
            for name, is_eval in (("train", False), ("eval", True))}


def _eval_images(images: list[PreparedImage], eval_fraction: float, seed: int, label: int) -> list[PreparedImage]:
    """Shuffle one domain (ordered by source path) with (seed, label); the first round(n * f) are eval.

    At least one image stays in train.
    """
    ordered = sorted(images, key=lambda image: image.source)
    order = np.random.default_rng([seed, label]).permutation(len(ordered))
    eval_count = min(round(len(ordered) * eval_fraction), len(ordered) - 1)
    return [ordered[index] for index in order[:eval_count]]


def _eval_patients(images: list[PreparedImage], eval_fraction: float, seed: int) -> set[str]:
    """Sources of the images of the patients drawn for eval."""
    patients: dict[str, list[PreparedImage]] = defaultdict(list)
    for image in images:
        patients[image.patient_key].append(image)
    eval_sources: set[str] = set()
    for stratum in (0, 1):
        keys = sorted(key for key, owned in patients.items() if max(image.label for image in owned) == stratum)
        target = round(sum(len(patients[key]) for key in keys) * eval_fraction)
        taken = 0
        for index in np.random.default_rng([seed, stratum]).permutation(len(keys)):
            owned = patients[keys[index]]
            if taken + len(owned) <= target:
                taken += len(owned)
                eval_sources.update(image.source for image in owned)
    return eval_sources
