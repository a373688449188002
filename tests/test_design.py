"""Reader-study designs: the paper's counts, pairs and alone screens, seeds and ids, several steps, bad input."""

import re
from collections import Counter
from dataclasses import FrozenInstanceError

import pytest

from cyclegan.analysis.readers.design import LAYOUTS, design_study

FULL = {  # layout: images, modified, pair screens, alone screens, sources per label
    "exp1": (60, 30, 20, 20, 20),
    "exp2": (72, 36, 24, 24, 12),
}


def _names(count):
    return {0: [f"healthy-{index:02d}" for index in range(count)], 1: [f"cancer-{index:02d}" for index in range(count)]}


def _split_screens(design):
    screens = design.screens()
    return [screen for screen in screens if len(screen) == 2], [screen[0] for screen in screens if len(screen) == 1]


@pytest.mark.parametrize("layout", sorted(FULL))
def test_full_layouts_have_the_papers_counts_and_pairs(layout):
    images, modified, pair_count, alone_count, per_label = FULL[layout]
    design = design_study(layout, _names(30), seed=7)
    pairs, alone = _split_screens(design)
    assert len(design.images) == images and sum(image.modified for image in design.images) == modified
    assert (len(pairs), len(alone)) == (pair_count, alone_count)
    ids = [image.id for image in design.images]
    assert len(set(ids)) == images and all(re.fullmatch(r"[0-9a-f]{10}", image_id) for image_id in ids)
    spread = {image.id[0] for image in design_study(layout, _names(30), seed=7, ids_seed=0).images}
    assert len(spread) >= 12  # the leading digits of IDs drawn from all 16^10 (a fixed draw: no flakiness)
    assert [image.screen for image in design.images] == sorted(image.screen for image in design.images)
    assert {screen[0].screen for screen in design.screens()} == set(range(1, pair_count + alone_count + 1))
    for left, right in pairs:
        assert left.source == right.source and left.pair_id == right.pair_id != ""
        assert (left.side, right.side) == ("left", "right") and {left.modified, right.modified} == {False, True}
    assert all(image.side == image.pair_id == "" for image in alone)
    assert Counter(image.label for image in alone) == {0: alone_count // 2, 1: alone_count // 2}
    assert Counter((image.label, image.modified) for image in alone) == {
        key: alone_count // 4 for key in ((0, False), (0, True), (1, False), (1, True))}
    sources = {image.source: image.label for image in design.images}
    assert Counter(sources.values()) == {0: per_label, 1: per_label}
    assert all(image.direction == ("" if not image.modified else "h2c" if image.label == 0 else "c2h")
               for image in design.images)
    assert {image.side for pair in pairs for image in pair if image.modified} == {"left", "right"}  # drawn


def test_exp1_shows_alone_only_sources_not_paired():
    pairs, alone = _split_screens(design_study("exp1", _names(20), seed=1))
    assert not {screen[0].source for screen in pairs} & {image.source for image in alone}
    assert len({image.source for image in alone}) == 20


def test_exp2_shows_every_case_once_as_a_pair_and_once_alone():
    pairs, alone = _split_screens(design_study("exp2", _names(12), seed=1))
    assert sorted(screen[0].source for screen in pairs) == sorted(image.source for image in alone)
    assert len({image.source for image in alone}) == 24


def _layout(design):
    return [(image.screen, image.side, image.source, image.modified, image.step) for image in design.images]


def test_design_depends_on_the_seed_only_and_its_ids_on_fresh_entropy():
    names = _names(25)
    shuffled = {label: names[label][::-1] for label in names}
    assert design_study("exp1", names, seed=3, ids_seed=0) == design_study("exp1", shuffled, seed=3, ids_seed=0)
    assert _layout(design_study("exp1", names, seed=3)) != _layout(design_study("exp1", names, seed=4))
    first, second = design_study("exp1", names, seed=3), design_study("exp1", names, seed=3)
    assert _layout(first) == _layout(second)
    assert not {image.id for image in first.images} & {image.id for image in second.images}


@pytest.mark.parametrize("layout", sorted(FULL))
def test_several_steps_share_each_labels_modified_images_evenly(layout):
    design = design_study(layout, _names(30), seed=2, steps=(35000, 70000))
    made = Counter((image.label, image.step) for image in design.images if image.modified)
    assert set(made) == {(label, step) for label in (0, 1) for step in (35000, 70000)}
    assert all(abs(made[label, 35000] - made[label, 70000]) <= 1 for label in (0, 1))
    assert all(image.step is None for image in design.images if not image.modified)
    pairs, alone = _split_screens(design)
    assert {image.step for pair in pairs for image in pair if image.modified} == {35000, 70000}


def test_design_rejects_cases_that_do_not_fit():
    with pytest.raises(ValueError, match="multiple of 4"):
        design_study("exp1", _names(30), seed=0, cases=6)
    for layout, cases in (("exp1", 0), ("exp1", -4), ("exp2", 0), ("exp2", -2), ("exp2", 3)):
        with pytest.raises(ValueError, match=f"positive multiple.*got {cases}$"):
            design_study(layout, _names(30), seed=0, cases=cases)
    with pytest.raises(ValueError, match="needs 12 healthy and 12 cancer.*too few: 5 healthy, 5 cancer"):
        design_study("exp2", _names(5), seed=0)
    with pytest.raises(ValueError, match="unknown layout 'exp3'"):
        design_study("exp3", _names(30), seed=0)
    assert len(design_study("exp2", _names(5), seed=0, cases=4).images) == 24


def test_a_drawn_design_cannot_be_altered():
    design = design_study("exp1", _names(20), seed=0, cases=4)
    for thing, field in ((design, "images"), (design.images[0], "modified"), (LAYOUTS["exp1"], "cases_multiple")):
        with pytest.raises(FrozenInstanceError):
            setattr(thing, field, getattr(thing, field))
