"""The rules a preparation follows: labels (INbreast's and BCDR's) and which images get which mask.

`--label-rule` decides INbreast's labels from its BI-RADS categories or Mass column, `--bcdr-rule`
BCDR's from its outline rows; CBIS-DDSM and folders label by their own ground truth (pathology,
folder names). `--mask-rule` decides the lesion mask of an image without an annotation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .items import UnusableFile

LABEL_RULES = {
    "birads4": "BI-RADS >= 4 cancer, BI-RADS 3 excluded, <= 2 healthy (the original)",
    "birads3": "BI-RADS >= 3 cancer, <= 2 healthy (the 2020 replication)",
    "mass": "an annotated mass is cancer, no mass is healthy (experiment 1's code: Mass = X)",
}
BCDR_RULES = {
    "malignant": "an image with a Malign outline is cancer, its Malign outlines are the mask; other images are "
                 "healthy and their (benign) outlines their annotation",
    "last-outline": "the classification on the image's last outline row decides, that one outline is the mask "
                    "(experiment 2's code)",
    "any-outline": "an image with any outline row, benign ones included, is cancer; all its outlines are the "
                   "mask (experiment 1's code)",
}
MASK_RULES = {
    "synthetic": "every image without a lesion annotation, healthy ones included, gets a synthetic blob inside "
                 "the breast; annotated images of both domains keep their annotation (experiment 2's code)",
    "empty": "healthy images get an empty mask; cancer images without an annotation get a synthetic blob",
}


@dataclass(frozen=True)
class Rules:
    """The rules of one preparation, by name: label (LABEL_RULES), bcdr (BCDR_RULES), mask (MASK_RULES)."""

    label: str = "birads4"
    bcdr: str = "malignant"
    mask: str = "synthetic"

    def __post_init__(self):
        for kind, name, valid in (("label", self.label, LABEL_RULES), ("BCDR", self.bcdr, BCDR_RULES),
                                  ("mask", self.mask, MASK_RULES)):
            if name not in valid:
                raise ValueError(f"unknown {kind} rule {name!r}; valid rules: {', '.join(valid)}")

    def annotates(self, label: int) -> bool:
        """Whether an image of this label keeps its lesion annotation (healthy ones only under `synthetic`)."""
        return label == 1 or self.mask == "synthetic"

    def describe(self) -> dict:
        """{"label", "bcdr", "mask"}: each rule's name and description, for the manifest."""
        return {kind: {"name": name, "description": rules[name]}
                for kind, name, rules in (("label", self.label, LABEL_RULES), ("bcdr", self.bcdr, BCDR_RULES),
                                          ("mask", self.mask, MASK_RULES))}


def birads_category(text: str) -> int:
    """The category digit of a BI-RADS value ("4a" -> 4, "5" -> 5); UnusableFile when there is none."""
    match = re.fullmatch(r"\s*([0-6])\s*[a-cA-C]?\s*", text)
    if not match:
        raise UnusableFile(f"BI-RADS value {text!r} is not a category 0-6 (with an optional a/b/c)")
    return int(match.group(1))


def label_from_birads(category: int, rule: str) -> int:
    """0 healthy or 1 cancer under a BI-RADS rule; UnusableFile for an excluded category."""
    if rule == "birads4":
        if category == 3:
            raise UnusableFile("BI-RADS 3: excluded under label rule birads4")
        return int(category >= 4)
    if rule == "birads3":
        return int(category >= 3)
    raise ValueError(f"label rule {rule!r} is not a BI-RADS rule")
