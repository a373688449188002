"""Translating images with a run's generators at any kept step.

Per input image and step: the input, the translated image, its reconstruction (translated back)
and the difference translated − input, each as a 16-bit PNG carrying text chunks that say what it
is (the modified ones: CycleGAN-modified, run, step, direction), plus one float32 `.npz` with all
arrays; a `manifest.csv` lists every file written. Images map -1..1 to black..white; the difference
is amplified ×DIFFERENCE_GAIN as in the TensorBoard panels (file name `difference-x4`: ±0.25 image
units black / white, 0 mid-grey). With `dicom_mode`, each image that came from a DICOM is also
written as a derived DICOM at its source's geometry (dicom_out.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, PngImagePlugin
from tqdm import tqdm

from cyclegan.data.inputs import load_inputs
from cyclegan.display import DIFFERENCE_GAIN
from cyclegan.domains import INPUT_DOMAIN, REVERSE
from cyclegan.runs.dicom_out import DicomWriter, locate_sources
from cyclegan.runs.rundir import RunDir

MANIFEST_COLUMNS = ["source", "step", "direction", "input", "translated", "reconstructed", "difference", "arrays",
                    "dicom"]


def translate_batches(generator, images: np.ndarray, batch_size: int = 4) -> np.ndarray:
    """generator(images) in batches of `batch_size`: (N, H, W, C) float32 in, the same shape out.
    A generator already wrapped in tf.function is called as it is (no new trace)."""
    call = generator if isinstance(generator, tf.types.experimental.GenericFunction) else tf.function(generator)
    return np.concatenate([call(tf.constant(images[start:start + batch_size])).numpy()
                           for start in range(0, len(images), batch_size)])


def write_png16(path: Path, values: np.ndarray, low: float, high: float, text: dict[str, str]) -> None:
    """Write a (H, W) float array as a 16-bit greyscale PNG, mapping [low, high] to [0, 65535]."""
    scaled = np.clip((values - low) / (high - low), 0.0, 1.0) * 65535.0
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    Image.fromarray(np.rint(scaled).astype(np.uint16)).save(path, pnginfo=info)


def translate_run(run_dir, direction: str, input_path, out_dir, steps: list[int] | None = None,
                  split: str = "eval", batch_size: int = 4, progress: bool = True,
                  dicom_mode: str | None = None, anonymize: bool = False) -> Path:
    """Translate every input image at every selected step; returns the manifest.csv path.

    `dicom_mode` (blend or full): also write derived DICOMs at the sources' geometry, with patient
    pseudonyms when `anonymize` (out_dir/pseudonyms.csv maps them back).
    """
    if anonymize and dicom_mode is None:
        raise ValueError("--anonymize applies to the DICOM outputs: give --dicom too")
    dicom = DicomWriter(dicom_mode, anonymize) if dicom_mode else None
    if direction not in INPUT_DOMAIN:
        raise ValueError(f"direction must be h2c or c2h, got {direction!r}")
    run, out_dir = RunDir(run_dir), Path(out_dir)
    config = run.config()
    steps = run.select_steps(steps)
    domain, back = INPUT_DOMAIN[direction], REVERSE[direction]
    sources, images, skipped = load_inputs(input_path, (config.data.height, config.data.width),
                                           config.data.include_masks, domain, split)
    dicom_sources = {}
    if dicom:
        dicom_sources, no_dicom = locate_sources(input_path, sources)
        skipped = [*skipped, *no_dicom]
    for entry in skipped:
        print(f"skipped {entry['path']}: {entry['reason']}")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    bar = tqdm(total=len(steps) * len(sources), unit="image", disable=not progress)
    for step in steps:
        generators = run.generators(step)
        translated = translate_batches(generators[direction], images, batch_size)
        reconstructed = translate_batches(generators[back], translated, batch_size)
        step_dir = out_dir / f"step-{step}"
        step_dir.mkdir(exist_ok=True)
        for index, source in enumerate(sources):
            row = _write_outputs(step_dir, index, source, images[index], translated[index],
                                 reconstructed[index], run.path, step, direction)
            if source in dicom_sources:
                path = dicom.write(step_dir / f"{Path(row['arrays']).stem}.dcm", dicom_sources[source],
                                    translated[index, ..., 0], images[index, ..., 0], run.path, step, direction)
                row["dicom"] = str(path.relative_to(out_dir))
            rows.append(row)
            bar.update(1)
    bar.close()
    manifest = out_dir / "manifest.csv"
    with manifest.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    if dicom and dicom.write_pseudonyms(out_dir):
        print(f"--anonymize: patient names and IDs replaced by pseudonyms; {out_dir / 'pseudonyms.csv'} maps "
              "them back (keep it apart from the images)")
    return manifest


def _write_outputs(step_dir: Path, index: int, source: str, original: np.ndarray, translated: np.ndarray,
                   reconstructed: np.ndarray, run_dir: Path, step: int, direction: str) -> dict:
    """Write one image's PNGs and arrays; returns its manifest row (paths relative to the output)."""
    stem = f"{index:04d}-{Path(source).stem}-{direction}"
    difference = translated - original
    base = {"Software": "BreastGAN-Keras", "Source": source}
    modified = {**base, "CycleGAN-Modified": "yes", "CycleGAN-Run": str(run_dir), "CycleGAN-Step": str(step),
                "CycleGAN-Direction": direction}
    limit = 1.0 / DIFFERENCE_GAIN
    files = {}
    for kind, values, low, high in (("input", original, -1.0, 1.0),
                                    ("translated", translated, -1.0, 1.0),
                                    ("reconstructed", reconstructed, -1.0, 1.0),
                                    (f"difference-x{DIFFERENCE_GAIN:g}", difference, -limit, limit)):
        path = step_dir / f"{stem}.{kind}.png"
        if kind == "input":
            text = {**base, "Description": f"input image of the {direction} translation (not modified)"}
        else:
            text = {**modified, "Description": f"CycleGAN-modified image ({kind}, {direction}) from run {run_dir} "
                                               f"at step {step}"}
        write_png16(path, values[..., 0], low, high, text)
        files[kind.partition("-")[0]] = str(path.relative_to(step_dir.parent))
    arrays = step_dir / f"{stem}.npz"
    np.savez_compressed(arrays, input=original, translated=translated, reconstructed=reconstructed,
                        difference=difference)
    files["arrays"] = str(arrays.relative_to(step_dir.parent))
    return {"source": source, "step": step, "direction": direction, **files, "dicom": ""}


class Translator:
    """A run's generators, built once and restored step by step: translate(step, direction, images)."""

    def __init__(self, run: RunDir):
        self.run = run
        self.generators = None
        self.calls = {}
        self.step = None

    def __call__(self, step: int, direction: str, images: np.ndarray, batch_size: int = 8) -> np.ndarray:
        if self.generators is None:
            self.generators = self.run.generators(step)
            self.calls = {name: tf.function(generator) for name, generator in self.generators.items()}
        elif step != self.step:
            self.run.restore_generators(self.generators, step)
        self.step = step
        return translate_batches(self.calls[direction], images, batch_size)
