"""`study build`: a blinded reader-study kit from a run at one or more checkpoints.

The kit folder holds two parts:

    reader/   what readers get: reading.html, responses_template.csv, images/<id>.png (and, with
              `image_format="dicom"`, dicom/<id>.dcm: the same pixels for a clinical viewer, kit_dicom.py)
    key/      what they must not see: answer_key.csv (see files.py), study.json (how it was built,
              and the page's settings: lock_ratings, window), leak_audit.csv (see audit.py), and
              null-kit/images/<id>.png: the null kit below (the same IDs; answer_key.csv applies)

Every build gets a new random study ID, which the page, the template, every exported response and
the key carry, and new random image IDs (see design.py); the layout (which sources, pairs and alone
images, and which step made each modified image) comes from the seed alone.

Every image is written the same way, original or modified: channel 0 through one fixed mapping of
the model's [-1, 1] range to a 16-bit greyscale PNG (-1 -> 0, 1 -> 65535; an original keeps the
prepared dataset's 16-bit values exactly), at the run's image size, with no text, time or
physical-size chunks, stored uncompressed (so every file has the same byte length), named by its
ID. A modified image shows the generator's pixels inside the source's breast region and the
source's own pixels outside it (`background="source"`, the default), or the generator's whole
frame but the source's padding (`background="generator"`, as the paper's readers saw it). The page
opens every image at one window, percentiles of all the kit's originals.

Before anything is written, the leak audit runs on a null kit: the same cases with every modified
image replaced by its own source, through the same path. If any feature tells its "modified"
images from its originals, the build fails (KitLeakError) naming it. The real kit's audit then says
which features separate modified from original images, and by how much.
"""

from __future__ import annotations

import csv
import json
import re
import secrets
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from cyclegan.data.dataset import is_prepared
from cyclegan.data.inputs import load_inputs
from cyclegan.data.preprocess import REGION_SIDE, breast_region
from cyclegan.domains import DIRECTIONS, DOMAINS
from cyclegan.runs.rundir import RunDir
from cyclegan.runs.translate import translate_batches

from .audit import GREY_LEVELS, audit_leaks, write_leak_audit
from .design import ShownImage, StudyDesign, design_study, get_layout
from .files import write_responses_template
from .kit_dicom import differing_attributes, source_view, write_kit_dicom
from .page import write_reading_page

KEY_COLUMNS = ["id", "source", "label", "modified", "direction", "step", "pair_id", "screen", "side", "study",
               "layout"]
FORMATS = ("png", "dicom")
AUGMENTED_COPY = re.compile(r"#aug\d+$")  # prepare's augmented copies are not shown to readers
WINDOW_PERCENTILES = (0.5, 99.5)  # of all the kit's originals' grey levels: the page's initial window
BACKGROUNDS = {  # study.json's "background_rule", by background
    "source": "modified images take the source's pixels outside its breast region (cyclegan.data.preprocess."
              "breast_region with margin 0: the largest region brighter than the background level, holes filled, "
              f"found on a copy of at most {REGION_SIDE} pixels per side, not grown)",
    "generator": "modified images as the generator made them, background included; the source's zero padding "
                 "(its trailing all-black columns and rows) kept",
}
TRAIN_SPLIT_WARNING = ("--split train: these are the generator's own training images; a reader study of its "
                       "held-out (eval) images is what the paper ran")


class KitLeakError(ValueError):
    """The null kit (every modified image replaced by its source) is not at chance: the kit leaks."""


def build_study(run_dir, layout: str, input_path, out_dir, seed: int, steps: list[int] | None = None,
                split: str = "eval", cases: int | None = None, batch_size: int = 4,
                lock_ratings: bool = False, background: str = "source", image_format: str = "png") -> dict:
    """Write the kit into `out_dir` (new or empty); returns what study.json records.

    `input_path`: a prepared dataset (both domains of its `split`) or a folder with healthy/ and
    cancer/ subfolders of raw images; None: the dataset the run was trained on. `steps`: the
    checkpoints that make the modified images, shared evenly (default: the latest).
    `lock_ratings`: the reading page keeps readers from changing a screen's ratings once they leave
    it. `background`: a key of BACKGROUNDS. `image_format`: png, or dicom (the PNGs and DICOMs of them).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; choose a new folder for the kit")
    if background not in BACKGROUNDS:
        raise ValueError(f"background must be one of {', '.join(BACKGROUNDS)}, got {background!r}")
    if image_format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {image_format!r}")
    run = RunDir(run_dir)
    config = run.config()
    steps = run.select_steps(steps)
    input_path = run.data_dir() if input_path is None else input_path
    spec = get_layout(layout)
    cases = spec.default_cases if cases is None else cases
    spec.per_label(cases)  # a ValueError now, before any image is read, when `cases` does not fit
    size = (config.data.height, config.data.width)
    images = {label: _source_images(input_path, size, config.data.include_masks, domain, split)
              for label, domain in enumerate(DOMAINS)}
    _check_enough(images, cases, layout, spec.cases_multiple, input_path, split)
    design = design_study(layout, {label: list(found) for label, found in images.items()}, seed, cases, tuple(steps))
    views = ({source: source_view(source) for source in {image.source for image in design.images}}
             if image_format == "dicom" else {})
    originals = {source: image[..., 0] for found in images.values() for source, image in found.items()}
    modified = _translations(design, images, run, batch_size)
    study_id = secrets.token_hex(6)
    reader_dir, key_dir = out_dir / "reader", out_dir / "key"
    pixels = _shown(design, originals, modified, background)
    window = _window(design, originals)
    with tempfile.TemporaryDirectory(prefix="null-kit-") as folder, \
            tempfile.TemporaryDirectory(prefix="kit-dicom-") as dicoms:
        null_audit = _audit_null_kit(Path(folder), design, originals, background)
        if views:
            _write_dicoms(Path(dicoms), design, pixels, study_id, views, window)
        (reader_dir / "images").mkdir(parents=True)
        key_dir.mkdir()
        shutil.move(folder, key_dir / "null-kit" / "images")
        if views:
            shutil.move(dicoms, reader_dir / "dicom")
    paths = _write_images(reader_dir / "images", design, pixels)
    ids = [shown.id for shown in design.images]
    write_responses_template(ids, reader_dir / "responses_template.csv", study_id)
    screens = [[{"id": shown.id, "src": f"images/{shown.id}.png"} for shown in screen] for screen in design.screens()]
    write_reading_page(reader_dir / "reading.html", "Reader study", study_id, screens, lock_ratings, window)
    _write_answer_key(key_dir / "answer_key.csv", design, study_id)
    audit = null_audit + audit_leaks(paths, [shown.modified for shown in design.images],
                                     [shown.source for shown in design.images])
    write_leak_audit(audit, key_dir / "leak_audit.csv")
    record = {"study": study_id, "run": str(Path(run_dir).resolve()), "steps": steps, "layout": layout,
              "cases_per_label": cases, "seed": seed, "input": str(Path(input_path).resolve()), "split": split,
              "lock_ratings": lock_ratings, "window": list(window), "background": background, "format": image_format,
              "background_rule": BACKGROUNDS[background], "images": len(ids), "screens": len(screens),
              "modified": sum(shown.modified for shown in design.images),
              "warnings": [TRAIN_SPLIT_WARNING] * (split == "train"),
              "leak_warnings": [row["warning"] for row in audit if row["warning"]]}
    (key_dir / "study.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def _source_images(input_path, size, include_masks: bool, domain: str, split: str) -> dict[str, np.ndarray]:
    """{source name: (H, W, C) image in [-1, 1]} of one domain, augmented copies left out."""
    path = Path(input_path)
    if not is_prepared(path):
        if not (path / domain).is_dir():
            raise FileNotFoundError(f"input {path} is neither a prepared dataset nor a folder with "
                                    "healthy/ and cancer/ subfolders of images")
        path = path / domain
    sources, images, skipped = load_inputs(path, size, include_masks, domain, split)
    for entry in skipped:
        print(f"skipped {entry['path']}: {entry['reason']}")
    return {source: image for source, image in zip(sources, images) if not AUGMENTED_COPY.search(source)}


def _check_enough(images: dict, cases: int, layout: str, multiple: int, input_path, split: str) -> None:
    counts = {DOMAINS[label]: len(found) for label, found in images.items()}
    if min(counts.values()) < cases:
        where = f"the {split} split of {input_path}" if is_prepared(input_path) else str(input_path)
        needed = " and ".join(f"{cases} {domain}" for domain in DOMAINS)
        found = " and ".join(f"{counts[domain]} {domain}" for domain in DOMAINS)
        raise ValueError(f"layout {layout} with {cases} cases per label needs {needed} "
                         f"source images; {where} has {found}. "
                         f"Use a larger input (or --split train), or fewer --cases (a multiple of {multiple})")


def _translations(design: StudyDesign, images: dict, run: RunDir, batch_size: int) -> dict:
    """{(source, step): (H, W) generator output in [-1, 1]} for every modified image the design shows."""
    wanted = sorted({(image.step, image.label, image.source) for image in design.images if image.modified})
    translated = {}
    for step in sorted({step for step, _, _ in wanted}):
        generators = run.generators(step)
        for label, found in images.items():
            sources = [source for made_at, of, source in wanted if made_at == step and of == label]
            if sources:
                outputs = translate_batches(generators[DIRECTIONS[label]],
                                            np.stack([found[source] for source in sources]), batch_size)
                translated.update({(source, step): output[..., 0] for source, output in zip(sources, outputs)})
    return translated


def _shown(design: StudyDesign, originals: dict, modified: dict, background: str) -> dict[str, np.ndarray]:
    """{image ID: (H, W) pixels in [-1, 1] as shown}; `modified`: {(source, step): generator output}."""
    return {image.id: shown_pixels(originals[image.source],
                                   modified[image.source, image.step] if image.modified else None, background)
            for image in design.images}


def shown_pixels(original: np.ndarray, generated: np.ndarray | None, background: str) -> np.ndarray:
    """What readers see of a source, (H, W) in [-1, 1]: the `original` itself, or (given the generator's
    output `generated`) its modified image by the `background` rule (BACKGROUNDS)."""
    if generated is None:
        return original
    if background == "source":
        return carry_background(original, generated)
    return np.where(padding(original), original, generated)


def carry_background(original: np.ndarray, modified: np.ndarray) -> np.ndarray:
    """`modified` inside the original's breast region, `original` outside it; (H, W) each.

    The region is not grown (margin 0): in a grown one, the generator's pixels in the ring around the
    breast, brighter than the background, would make the modified breast look larger than its source.
    """
    return np.where(breast_region(original, margin=0), modified, original)


def padding(original: np.ndarray) -> np.ndarray:
    """(H, W) bool: the trailing columns and rows that are all at the image's minimum (prepare's zero padding)."""
    black = original <= original.min()
    columns, rows = np.cumprod(black.all(axis=0)[::-1])[::-1], np.cumprod(black.all(axis=1)[::-1])[::-1]
    return columns.astype(bool)[None, :] | rows.astype(bool)[:, None]


def _audit_null_kit(folder: Path, design: StudyDesign, originals: dict, background: str) -> list[dict]:
    """Write the null kit (every modified image its own source, written as the kit is) into `folder`
    and audit it; KitLeakError naming every feature that is not at chance."""
    null_modified = {(image.source, image.step): originals[image.source] for image in design.images if image.modified}
    paths = _write_images(folder, design, _shown(design, originals, null_modified, background))
    rows = audit_leaks(paths, [image.modified for image in design.images],
                       [image.source for image in design.images], kit="null")
    failures = [row["warning"] for row in rows if row["warning"]]
    if failures:
        raise KitLeakError(f"the kit leaks: {'; '.join(failures)}. Nothing was written")
    return rows


def _write_images(folder: Path, design: StudyDesign, pixels: dict[str, np.ndarray]) -> list[Path]:
    """Each shown image as folder/<id>.png (`write_png16`), in the design's order."""
    paths = [folder / f"{image.id}.png" for image in design.images]
    for image, path in zip(design.images, paths):
        write_png16(path, pixels[image.id])
    return paths


def _write_dicoms(folder: Path, design: StudyDesign, pixels: dict[str, np.ndarray], study_id: str,
                  views: dict[str, tuple[str, str]], window: tuple[float, float]) -> None:
    """Each shown image as folder/<id>.dcm (kit_dicom.py); KitLeakError when their headers differ
    in anything but what names the image and its source's view."""
    paths = [write_kit_dicom(folder / f"{image.id}.dcm", grey_levels(pixels[image.id]), study_id, image.id,
                             image.screen, views[image.source], window) for image in design.images]
    differing = differing_attributes(paths)
    if differing:
        raise KitLeakError(f"the kit's DICOM headers differ in {', '.join(differing)}. Nothing was written")


def grey_levels(values: np.ndarray) -> np.ndarray:
    """(H, W) values in [-1, 1] -> uint16 grey levels by the kit's one mapping: -1 -> 0, 1 -> GREY_LEVELS."""
    return np.rint((np.clip(values, -1.0, 1.0) + 1.0) * (GREY_LEVELS / 2.0)).astype(np.uint16)


def write_png16(path: Path, values: np.ndarray) -> None:
    """(H, W) values in [-1, 1] -> 16-bit greyscale PNG by `grey_levels`; no ancillary chunks; stored
    uncompressed, so its byte length depends on H and W alone."""
    Image.fromarray(grey_levels(values)).save(path, format="PNG", compress_level=0)


def _window(design: StudyDesign, originals: dict) -> tuple[float, float]:
    """(low, high) grey fractions: WINDOW_PERCENTILES of the grey levels of every original the kit shows."""
    shown = np.stack([grey_levels(originals[image.source]) for image in design.images if not image.modified])
    low, high = np.percentile(shown, WINDOW_PERCENTILES) / GREY_LEVELS
    return (float(low), float(high)) if high > low else (0.0, 1.0)


def _write_answer_key(path: Path, design: StudyDesign, study_id: str) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=KEY_COLUMNS)
        writer.writeheader()
        writer.writerows(_key_row(shown, design.layout, study_id) for shown in design.images)


def _key_row(shown: ShownImage, layout: str, study_id: str) -> dict:
    return {"id": shown.id, "source": shown.source, "label": DOMAINS[shown.label],
            "modified": "yes" if shown.modified else "no", "direction": shown.direction,
            "step": shown.step if shown.modified else "", "pair_id": shown.pair_id, "screen": shown.screen,
            "side": shown.side, "study": study_id, "layout": layout}
