"""`study build`: a blinded reader-study kit from a run at one checkpoint.

The kit folder holds two parts:

    reader/   what readers get: reading.html, responses_template.csv, images/<id>.png
    key/      what they must not see: answer_key.csv (see files.py), study.json (how it was built,
              and the page's settings: lock_ratings), leak_audit.csv (see audit.py)

The layout (which sources, pairs and alone images; see design.py) comes from the seed alone.
Every image is written the same way whether original or modified: channel 0, min–max scaled to
0–255 on its own (as the training pipeline scales its inputs), an 8-bit greyscale PNG at the run's
image size with no text, time or physical-size chunks, stored uncompressed (so every file has the
same byte length), named by a random ID. So nothing but the pixels tells a modified image from an
original. With `keep_background`, a modified image also takes the original's pixels outside the
breast (`carry_background`), so only breast tissue differs. The leak audit in key/ then says whether
simple statistics of the files still separate modified from original images. The same inputs and
seed give a byte-identical kit.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image

from cyclegan.data.dataset import is_prepared
from cyclegan.data.inputs import load_inputs
from cyclegan.data.preprocess import REGION_MARGIN, REGION_SIDE, breast_region
from cyclegan.domains import DIRECTIONS, DOMAINS
from cyclegan.runs.rundir import RunDir
from cyclegan.runs.translate import translate_batches

from .audit import audit_leaks, write_leak_audit
from .design import StudyDesign, design_study, get_layout
from .files import write_responses_template
from .page import write_reading_page

KEY_COLUMNS = ["id", "source", "label", "modified", "direction", "step", "pair_id", "screen", "side"]
AUGMENTED_COPY = re.compile(r"#aug\d+$")  # prepare's augmented copies are not shown to readers
BACKGROUNDS = {  # study.json's "background", by keep_background
    True: "modified images take the original's pixels outside its breast region (cyclegan.data.preprocess."
          "breast_region: the largest region brighter than the background level, holes filled, grown by "
          f"{REGION_MARGIN} pixels on a copy of at most {REGION_SIDE} pixels per side)",
    False: "modified images as the generator made them, background included",
}


def build_study(run_dir, layout: str, input_path, out_dir, seed: int, step: int | None = None,
                split: str = "eval", cases: int | None = None, batch_size: int = 4,
                lock_ratings: bool = False, keep_background: bool = False) -> dict:
    """Write the kit into `out_dir` (new or empty); returns what study.json records.

    `input_path`: a prepared dataset (both domains of its `split`) or a folder with healthy/ and
    cancer/ subfolders of raw images; None: the dataset the run was trained on. `step`: the
    checkpoint (default: the latest). `lock_ratings`: the reading page keeps readers from changing a
    screen's ratings once they leave it. `keep_background`: modified images take the original's
    pixels outside the breast.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} is not empty; choose a new folder for the kit")
    run = RunDir(run_dir)
    config = run.config()
    [step] = run.select_steps([step] if step is not None else None)
    input_path = run.data_dir() if input_path is None else input_path
    spec = get_layout(layout)
    cases = spec.default_cases if cases is None else cases
    spec.per_label(cases)  # a ValueError now, before any image is read, when `cases` does not fit
    size = (config.data.height, config.data.width)
    images = {label: _source_images(input_path, size, config.data.include_masks, domain, split)
              for label, domain in enumerate(DOMAINS)}
    _check_enough(images, cases, layout, spec.cases_multiple, input_path, split)
    design = design_study(layout, {label: list(found) for label, found in images.items()}, seed, cases)
    pixels = _pixels(design, images, run.generators(step), batch_size, keep_background)

    reader_dir, key_dir = out_dir / "reader", out_dir / "key"
    (reader_dir / "images").mkdir(parents=True)
    key_dir.mkdir()
    for shown in design.images:
        _write_png8(reader_dir / "images" / f"{shown.id}.png", pixels[shown.source, shown.modified])
    ids = [shown.id for shown in design.images]
    write_responses_template(ids, reader_dir / "responses_template.csv")
    screens = [[{"id": shown.id, "src": f"images/{shown.id}.png"} for shown in screen] for screen in design.screens()]
    kit = hashlib.sha256(",".join(ids).encode()).hexdigest()[:12]
    write_reading_page(reader_dir / "reading.html", "Reader study", kit, screens, lock_ratings)
    _write_answer_key(key_dir / "answer_key.csv", design, step)
    audit = audit_leaks([reader_dir / "images" / f"{ident}.png" for ident in ids],
                        [shown.modified for shown in design.images])
    write_leak_audit(audit, key_dir / "leak_audit.csv")
    record = {"run": str(Path(run_dir).resolve()), "step": step, "layout": layout, "cases_per_label": cases,
              "seed": seed, "input": str(Path(input_path).resolve()), "split": split, "kit": kit,
              "lock_ratings": lock_ratings, "keep_background": keep_background,
              "background": BACKGROUNDS[keep_background],
              "images": len(ids), "screens": len(screens), "modified": sum(shown.modified for shown in design.images),
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


def _pixels(design: StudyDesign, images: dict, generators: dict, batch_size: int, keep_background: bool) -> dict:
    """{(source, modified): (H, W) image in [-1, 1]} for every image the design shows; with
    `keep_background`, modified images carry their original's background (`carry_background`)."""
    pixels = {}
    for label, found in images.items():
        shown = sorted({image.source for image in design.images if image.label == label})
        modified = sorted({image.source for image in design.images if image.label == label and image.modified})
        pixels.update({(source, False): found[source][..., 0] for source in shown})
        if modified:
            translated = translate_batches(generators[DIRECTIONS[label]],
                                           np.stack([found[source] for source in modified]), batch_size)
            for source, image in zip(modified, translated):
                original = found[source][..., 0]
                pixels[source, True] = carry_background(original, image[..., 0]) if keep_background else image[..., 0]
    return pixels


def carry_background(original: np.ndarray, modified: np.ndarray) -> np.ndarray:
    """`modified` inside the original's breast region (see BACKGROUNDS), `original` outside it; (H, W) each."""
    return np.where(breast_region(original), modified, original)


def _write_png8(path: Path, values: np.ndarray) -> None:
    """(H, W) floats -> 8-bit greyscale PNG, min–max scaled on their own; no ancillary chunks; stored
    uncompressed, so its byte length depends on H and W alone."""
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
    Image.fromarray(np.rint(scaled).astype(np.uint8)).save(path, format="PNG", compress_level=0)


def _write_answer_key(path: Path, design: StudyDesign, step: int) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=KEY_COLUMNS)
        writer.writeheader()
        writer.writerows({"id": shown.id, "source": shown.source, "label": DOMAINS[shown.label],
                          "modified": "yes" if shown.modified else "no", "direction": shown.direction,
                          "step": step if shown.modified else "", "pair_id": shown.pair_id,
                          "screen": shown.screen, "side": shown.side} for shown in design.images)
