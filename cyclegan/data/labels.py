"""Label rules: how a BI-RADS category decides healthy (0), cancer (1) or excluded.

`--label-rule` picks one; sources that have BI-RADS categories (INbreast) apply it, the others
label by their own ground truth (BCDR classification, CBIS-DDSM pathology, folder names).
"""

from __future__ import annotations

import re

from .items import UnusableFile

LABEL_RULES = {
    "birads4": "BI-RADS >= 4 cancer, BI-RADS 3 excluded, <= 2 healthy (the original)",
    "birads3": "BI-RADS >= 3 cancer, <= 2 healthy (the 2020 replication)",
    "mass": "an annotated mass is cancer, no mass is healthy",
}


def check_rule(rule: str) -> str:
    """The rule name, or ValueError listing the valid ones."""
    if rule not in LABEL_RULES:
        raise ValueError(f"unknown label rule {rule!r}; valid rules: {', '.join(LABEL_RULES)}")
    return rule


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
