"""Named preparation recipes: every `prepare` setting as one of the originals (or the paper) chose it.

`prepare --recipe NAME` takes a recipe's settings; any flag given as well overrides its setting.
Without a recipe, DEFAULTS apply. `pairing` is how the original trained on the data (the training
config's `data.pairing`); the manifest records it beside the settings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

PAIRINGS = ("independent", "exp1")  # config data.pairing; see data/pipeline.py


@dataclass(frozen=True)
class Recipe:
    """A full set of preparation settings (see `prepare.prepare_dataset`) and where they come from."""

    description: str
    size: tuple[int, int] | None
    views: tuple[str, ...] | None  # None: all views
    label_rule: str
    bcdr_rule: str
    mask_rule: str
    resize: str
    augment_copies: int
    eval_fraction: float
    pairing: str

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULTS = Recipe(
    description="no recipe: the defaults", size=None, views=None, label_rule="birads4", bcdr_rule="malignant",
    mask_rule="synthetic", resize="fit", augment_copies=0, eval_fraction=0.15, pairing="independent")

RECIPES = {
    "exp1": Recipe(
        description="experiment 1 as its code made it (BreastGAN/experiment1: notebooks/images.ipynb, "
                    "resources/data/loader.py, notebooks/resize_npimages.ipynb, flags/cyclegan.json): CC views "
                    "only, INbreast Mass = X and any BCDR outline as cancer, 1 + 9 augmented copies, no "
                    "held-out split, stretched to 256x256",
        size=(256, 256), views=("CC",), label_rule="mass", bcdr_rule="any-outline", mask_rule="synthetic",
        resize="stretch", augment_copies=9, eval_fraction=0.0, pairing="exp1"),
    "exp1-paper": Recipe(
        description="experiment 1 as the paper's text describes it (680 mammograms, CC and MLO views); "
                    "otherwise as its code made it",
        size=(256, 256), views=None, label_rule="mass", bcdr_rule="any-outline", mask_rule="synthetic",
        resize="stretch", augment_copies=9, eval_fraction=0.0, pairing="exp1"),
    "exp2": Recipe(
        description="experiment 2 as its code made it (BreastGAN/experiment2: resources/data/loader.py, "
                    "resources/data/transformer.py, local/convert_images.sh, notebooks/treval_split.py): both "
                    "views, INbreast BI-RADS >= 4 cancer and 3 excluded, BCDR by its last outline row, a "
                    "synthetic mask for every image without an annotation, aspect kept at 512x408, no "
                    "augmented copies, 15 % stratified eval split",
        size=(512, 408), views=None, label_rule="birads4", bcdr_rule="last-outline", mask_rule="synthetic",
        resize="fit", augment_copies=0, eval_fraction=0.15, pairing="independent"),
}


def resolve(recipe: str | None, **given) -> tuple[Recipe, dict]:
    """(the recipe used, its settings with every `given` value that is not None put over them).

    ValueError for an unknown recipe name.
    """
    if recipe is not None and recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r}; valid recipes: {', '.join(RECIPES)}")
    chosen = RECIPES[recipe] if recipe else DEFAULTS
    settings = chosen.as_dict()
    unknown = set(given) - set(settings)
    if unknown:
        raise TypeError(f"not recipe settings: {', '.join(sorted(unknown))}")
    settings.update({key: value for key, value in given.items() if value is not None})
    return chosen, settings
