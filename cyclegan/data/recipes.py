"""A preparation's settings, and the named recipes: every setting as one of the originals (or the paper) chose it.

`prepare --recipe NAME` takes a recipe's settings; any flag given as well overrides its setting
(`resolve`). Without a recipe, DEFAULTS apply. `pairing` is how the original trained on the data (the
training config's `data.pairing`); the manifest records it beside the settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

from .labels import Rules


@dataclass(frozen=True)
class PrepareSettings:
    """Everything that decides what `prepare.prepare_dataset` writes (not how it runs); the manifest records it.

    `prepare_dataset` checks the values (ValueError) before it reads anything.

    recipe: the RECIPES name these settings come from; None without one.
    description: where the settings come from, in words.
    size: (height, width) of the prepared images in pixels, positive whole numbers; None until given
        (only DEFAULTS has none; `prepare_dataset` refuses it).
    views: None for all views, else the views to keep, as a tuple such as ("CC",) or as text "CC,MLO"
        (items.VIEWS, any case).
    label_rule: INbreast labels, a name in labels.LABEL_RULES.
    bcdr_rule: BCDR labels and masks, a name in labels.BCDR_RULES.
    mask_rule: which images get a synthetic mask, a name in labels.MASK_RULES.
    resize: preprocess.RESIZE_MODES: fit (aspect kept, padded) or stretch (fills the frame).
    augment_copies: augmented copies per image (augment.py), a whole number >= 0, kept in their image's split.
    eval_fraction: share of each domain held out for eval (rounded to whole images), in [0, 1).
    pairing: how the original trained on the data: the training config's data.pairing.
    seed: an integer seeding the split's shuffle, the synthetic masks and the augmentation.
    split_by: split.SPLIT_MODES: image (the original: images drawn one by one) or patient (no patient in
        both splits).
    exclude: None, or a CSV with a Filename column of images to leave out (selection.py).
    """

    recipe: str | None = None
    description: str = "no recipe: the defaults"
    size: tuple[int, int] | None = None
    views: tuple[str, ...] | str | None = None
    label_rule: str = "birads4"
    bcdr_rule: str = "malignant"
    mask_rule: str = "synthetic"
    resize: str = "fit"
    augment_copies: int = 0
    eval_fraction: float = 0.15
    pairing: str = "independent"
    seed: int = 42
    split_by: str = "image"
    exclude: str | os.PathLike | None = None

    @property
    def rules(self) -> Rules:
        """The three label and mask rules; ValueError for an unknown name."""
        return Rules(self.label_rule, self.bcdr_rule, self.mask_rule)


DEFAULTS = PrepareSettings()

RECIPES = {settings.recipe: settings for settings in (
    PrepareSettings(
        recipe="exp1",
        description="experiment 1 as its code made it (BreastGAN/experiment1: notebooks/images.ipynb, "
                    "resources/data/loader.py, notebooks/resize_npimages.ipynb, flags/cyclegan.json): CC views "
                    "only, INbreast Mass = X and any BCDR outline as cancer, 1 + 9 augmented copies, no "
                    "held-out split, stretched to 256x256",
        size=(256, 256), views=("CC",), label_rule="mass", bcdr_rule="any-outline", mask_rule="synthetic",
        resize="stretch", augment_copies=9, eval_fraction=0.0, pairing="exp1"),
    PrepareSettings(
        recipe="exp1-paper",
        description="experiment 1 as the paper's text describes it (680 mammograms, CC and MLO views); "
                    "otherwise as its code made it",
        size=(256, 256), views=None, label_rule="mass", bcdr_rule="any-outline", mask_rule="synthetic",
        resize="stretch", augment_copies=9, eval_fraction=0.0, pairing="exp1"),
    PrepareSettings(
        recipe="exp2",
        description="experiment 2 as its code made it (BreastGAN/experiment2: resources/data/loader.py, "
                    "resources/data/transformer.py, local/convert_images.sh, notebooks/treval_split.py): both "
                    "views, INbreast BI-RADS >= 4 cancer and 3 excluded, BCDR by its last outline row, a "
                    "synthetic mask for every image without an annotation, aspect kept at 512x408, no "
                    "augmented copies, 15 % stratified eval split",
        size=(512, 408), views=None, label_rule="birads4", bcdr_rule="last-outline", mask_rule="synthetic",
        resize="fit", augment_copies=0, eval_fraction=0.15, pairing="independent"),
)}


def resolve(recipe: str | None = None, **given) -> PrepareSettings:
    """The settings of `recipe` (a RECIPES name; None: DEFAULTS) with every `given` value that is not
    None put over them; `given` names PrepareSettings fields other than `recipe`.

    ValueError for an unknown recipe name, TypeError for a keyword that is not a setting.
    """
    if recipe is not None and recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; valid recipes: {', '.join(RECIPES)}")
    unknown = set(given) - {field.name for field in fields(PrepareSettings)}
    if unknown:
        raise TypeError(f"not preparation settings: {', '.join(sorted(unknown))}")
    chosen = RECIPES[recipe] if recipe else DEFAULTS
    return replace(chosen, **{name: value for name, value in given.items() if value is not None})
