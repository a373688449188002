"""Which images a reader study shows, and how: the two layouts of Becker et al., without any pixels.

"Cases" are source images; each is shown original, modified (healthy sources by h2c, cancer sources
by c2h), or both. A screen shows one image alone or an original/modified pair of the same source
side by side. With N cases per label (healthy and cancer alike):

- exp1 (default N = 20): N/2 sources per label as pairs, the other N/2 alone — half of those
  original, half modified. At N = 20: 20 pairs (40 images) and 20 images alone, 30 original and
  30 modified, from 40 sources. N must be a multiple of 4.
- exp2 (default N = 12): every source once as a pair and once more alone, half of the alone ones
  modified. At N = 12: 24 pairs (48 images) and 24 images alone (12 original, 12 modified),
  72 images from 12 healthy and 12 cancer sources. N must be even.

Which sources are drawn, which alone images are modified, the order of the screens, the sides of
each pair and, with several checkpoint steps, which step made each modified image are all drawn from
one generator seeded with the study's seed; the steps are balanced per label (e.g. the paper's
experiment 2: half of the modifications from 35k steps, half from 70k). The image IDs are drawn
apart, from fresh entropy unless `ids_seed` is given, so two kits built with one seed share no ID.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cyclegan.domains import DIRECTIONS, DOMAINS

ID_DIGITS = 10  # hex digits of an image ID


@dataclass(frozen=True)
class Layout:
    """Per label, out of `cases` sources: `pair_share` shown as pairs; alone: the rest, or (`alone_again`)
    every source a second time; half of the alone images modified."""

    name: str
    default_cases: int
    pair_share: float
    alone_again: bool
    cases_multiple: int

    def per_label(self, cases: int) -> tuple[int, int]:
        """(sources shown as pairs, images shown alone) per label; ValueError when `cases` does not fit."""
        if cases <= 0 or cases % self.cases_multiple:
            raise ValueError(f"layout {self.name} needs the number of cases per label to be a positive multiple "
                             f"of {self.cases_multiple} (default {self.default_cases}), got {cases}")
        pairs = round(cases * self.pair_share)
        return pairs, cases if self.alone_again else cases - pairs


LAYOUTS = {
    "exp1": Layout("exp1", default_cases=20, pair_share=0.5, alone_again=False, cases_multiple=4),
    "exp2": Layout("exp2", default_cases=12, pair_share=1.0, alone_again=True, cases_multiple=2),
}


def get_layout(name: str) -> Layout:
    """The layout called `name`; ValueError naming the known ones."""
    if name not in LAYOUTS:
        raise ValueError(f"unknown layout {name!r}; choose one of {', '.join(LAYOUTS)}")
    return LAYOUTS[name]


@dataclass(frozen=True)
class ShownImage:
    """One image file of the study, where it is shown, and the truth about it."""

    id: str
    screen: int  # 1-based position in the reading order
    side: str  # left | right in a pair, "" alone
    pair_id: str  # shared by the two images of a pair, "" alone
    source: str
    label: int  # the source's: 0 healthy, 1 cancer
    modified: bool
    step: int | None = None  # the checkpoint step that made a modified image; None for originals

    @property
    def direction(self) -> str:
        """The generator that made a modified image (h2c for healthy sources, c2h for cancer), else ""."""
        return DIRECTIONS[self.label] if self.modified else ""


@dataclass(frozen=True)
class StudyDesign:
    layout: str
    cases: int  # sources per label
    images: tuple[ShownImage, ...]  # in reading order: by screen, left before right

    def screens(self) -> list[tuple[ShownImage, ...]]:
        """The images of each screen, in reading order."""
        grouped: dict[int, list[ShownImage]] = {}
        for image in self.images:
            grouped.setdefault(image.screen, []).append(image)
        return [tuple(grouped[screen]) for screen in sorted(grouped)]


def design_study(layout: str, sources: dict[int, list[str]], seed: int, cases: int | None = None,
                 steps: tuple[int | None, ...] = (None,), ids_seed: int | None = None) -> StudyDesign:
    """The study for `layout` from the available source names per label ({0: healthy, 1: cancer}).

    `cases` sources per label (default: the layout's) are drawn at random; each modified image is
    made at one of `steps`, as evenly as the label's modified images allow. ValueError when the
    layout is unknown, `cases` does not fit it, or a label has fewer distinct sources than `cases`.
    """
    spec = get_layout(layout)
    cases = spec.default_cases if cases is None else cases
    pairs, alone = spec.per_label(cases)
    available = {label: sorted(set(sources.get(label, []))) for label in range(len(DOMAINS))}
    short = {DOMAINS[label]: len(names) for label, names in available.items() if len(names) < cases}
    if short:
        raise ValueError(f"layout {layout} with {cases} cases per label needs {cases} healthy and {cases} cancer "
                         f"source images; too few: " + ", ".join(f"{count} {name}" for name, count in short.items()))
    rng = np.random.default_rng(seed)
    screens = []  # each: [(source, label, modified, step), ...]
    for label, names in available.items():
        drawn = [names[index] for index in rng.permutation(len(names))[:cases]]
        paired = drawn[:pairs]
        alone_sources = [drawn[index] for index in rng.permutation(pairs)] if spec.alone_again else drawn[pairs:]
        modified_count = pairs + alone // 2
        made_at = iter([steps[index % len(steps)] for index in rng.permutation(modified_count)])
        screens += [[(source, label, False, None), (source, label, True, next(made_at))] for source in paired]
        screens += [[(source, label, True, next(made_at)) if index < alone // 2 else (source, label, False, None)]
                    for index, source in enumerate(alone_sources)]
    ids = _random_ids(np.random.default_rng(ids_seed), sum(len(screen) for screen in screens))
    images = []
    for number, index in enumerate(rng.permutation(len(screens)), start=1):
        shown = screens[index]
        if len(shown) == 2 and rng.random() < 0.5:
            shown = shown[::-1]
        sides = ("left", "right") if len(shown) == 2 else ("",)
        pair_id = f"pair-{number:03d}" if len(shown) == 2 else ""
        images += [ShownImage(next(ids), number, side, pair_id, source, label, modified, step)
                   for side, (source, label, modified, step) in zip(sides, shown)]
    return StudyDesign(layout, cases, tuple(images))


def _random_ids(rng: np.random.Generator, count: int):
    """`count` distinct random hex IDs of ID_DIGITS digits, as an iterator."""
    return (f"{int(number):0{ID_DIGITS}x}" for number in rng.choice(16 ** ID_DIGITS, size=count, replace=False))
