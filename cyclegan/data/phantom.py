"""Synthetic mammography phantom written in the any-folder layout, for tests and dry runs.

`write_phantom` writes `healthy/*.dcm`, `cancer/*.dcm` and `masks/<cancer stem>.png`. Each image is
a 16-bit MG DICOM: a half-ellipse breast growing from the chest wall with a bright skin line,
parenchymal texture with a 1/f^3 power spectrum, a pectoral muscle triangle on MLO views and, in
the cancer domain, spiculated masses and microcalcification clusters whose masks are saved (0/255).
Left breasts lie on the image's left, right breasts are mirrored; every fourth image is stored
MONOCHROME1 (inverted). Output is a pure function of the arguments (same seed -> same bytes).
A folder that already holds a phantom is refused unless `overwrite`, which replaces those three
subfolders whole, so files of two phantoms (other seeds, counts or sizes) never mix.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from cyclegan.domains import DOMAINS

from .mammogram_dicom import write_dicom

BITS_STORED = 14
TEXTURE_EXPONENT = 3.0  # power spectrum ~ 1/f^3, as measured on real mammographic parenchyma
MIN_SIDE = 32  # pixels; smaller phantoms leave no room for lesions
FOLDERS = (*DOMAINS, "masks")  # what a phantom writes into its folder


def write_phantom(out_dir, count: int, seed: int, height: int = 512, width: int = 416,
                  overwrite: bool = False) -> dict:
    """Write `count` healthy and `count` cancer phantom mammograms of height x width pixels.

    File stems are `<domain>_<index>_<L|R>_<CC|MLO>`; views cycle L-CC, R-CC, L-MLO, R-MLO and four
    consecutive images share a patient. Returns {"out_dir", "healthy", "cancer", "masks"} counts.
    FileExistsError when healthy/, cancer/ or masks/ of `out_dir` holds anything, unless `overwrite`,
    which deletes them first; other files in `out_dir` are left alone.
    """
    if count < 0 or min(height, width) < MIN_SIDE:
        raise ValueError(f"need count >= 0 and sides >= {MIN_SIDE} pixels, got {count} of {height}x{width}")
    out_dir = Path(out_dir)
    _clear_phantom(out_dir, overwrite)
    for folder in FOLDERS:
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    for label, domain in enumerate(DOMAINS):
        for index in range(count):
            rng = np.random.default_rng([seed, label, index])
            laterality, view = "LR"[index % 2], ("CC", "MLO")[(index // 2) % 2]
            image, lesions = render_breast(rng, height, width, view, cancer=label == 1)
            if laterality == "R":
                image, lesions = image[:, ::-1], lesions[:, ::-1]
            stem = f"{domain}_{index:04d}_{laterality}_{view}"
            header = {
                "seed": seed, "stem": stem, "laterality": laterality, "view": view,
                "patient_id": f"PHANTOM-{seed}-{domain}-{index // 4:04d}", "monochrome1": index % 4 == 3,
            }
            _write_dicom(out_dir / domain / f"{stem}.dcm", image, header)
            if label == 1:
                cv2.imwrite(str(out_dir / "masks" / f"{stem}.png"), lesions.astype(np.uint8) * np.uint8(255))
    return {"out_dir": str(out_dir), **{domain: count for domain in DOMAINS}, "masks": count}


def _clear_phantom(out_dir: Path, overwrite: bool) -> None:
    """Delete the phantom folders in `out_dir` that hold anything; FileExistsError instead unless `overwrite`."""
    used = [out_dir / folder for folder in FOLDERS if (out_dir / folder).is_dir() and any((out_dir / folder).iterdir())]
    if used and not overwrite:
        raise FileExistsError(f"{out_dir} already holds a phantom ({', '.join(f'{path.name}/' for path in used)} "
                              "not empty); choose another folder, or pass --overwrite to replace it")
    for path in used:
        shutil.rmtree(path)


def power_law_texture(shape: tuple[int, int], exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian random field of `shape` whose power spectrum falls as 1/f**exponent; zero mean, unit std."""
    white = np.fft.rfft2(rng.standard_normal(shape))
    frequency = np.hypot(np.fft.fftfreq(shape[0])[:, None], np.fft.rfftfreq(shape[1])[None, :])
    frequency[0, 0] = np.inf  # no DC component
    field = np.fft.irfft2(white * frequency ** (-exponent / 2), s=shape)
    return ((field - field.mean()) / field.std()).astype(np.float32)


def render_breast(rng: np.random.Generator, height: int, width: int, view: str, cancer: bool):
    """A left breast (chest wall at the left edge): (image float32 in [0, 1], lesion mask bool)."""
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    centre_row = height * rng.uniform(0.45, 0.55)
    semi_axes = height * rng.uniform(0.38, 0.46), width * rng.uniform(0.6, 0.85)  # rows, columns
    radius = np.hypot((rows - centre_row) / semi_axes[0], cols / semi_axes[1])  # 1 on the skin
    inside = radius < 1.0
    thickness = np.sqrt(np.clip(1.0 - radius**2, 0.0, 1.0))  # compressed-breast edge fall-off

    image = np.full((height, width), 0.02, np.float32)
    texture = power_law_texture((height, width), TEXTURE_EXPONENT, rng)
    image[inside] += (0.3 + 0.15 * thickness + 0.08 * texture)[inside]
    image[(radius > 0.975) & inside] += 0.15  # skin line
    if view == "MLO":
        pectoral = cols / (width * rng.uniform(0.25, 0.4)) + rows / (height * rng.uniform(0.35, 0.55)) < 1.0
        image[pectoral & inside] = (0.65 + 0.03 * texture)[pectoral & inside]
    else:
        pectoral = np.zeros_like(inside)

    lesions = np.zeros((height, width), bool)
    if cancer:
        candidates = np.argwhere(inside & ~pectoral & (radius < 0.6))  # (row, column) lesion centres
        lesion_layer = np.zeros((height, width), np.float32)
        _add_spiculated_mass(lesion_layer, lesions, candidates[rng.integers(len(candidates))], rng, width)
        if rng.random() < 0.5:
            centre = candidates[rng.integers(len(candidates))]
            _add_calcification_cluster(lesion_layer, lesions, centre, rng, width)
        image += lesion_layer
    image += rng.normal(0.0, 0.004, image.shape).astype(np.float32)  # quantum noise
    return np.clip(image, 0.0, 1.0), lesions


def _add_spiculated_mass(layer: np.ndarray, lesions: np.ndarray, centre, rng, width: int) -> None:
    """Bright soft disc with radiating spicules drawn into `layer`; its footprint into `lesions`."""
    row, col = int(centre[0]), int(centre[1])
    core = max(2.0, width * rng.uniform(0.03, 0.05))
    rows, cols = np.mgrid[0 : layer.shape[0], 0 : layer.shape[1]]
    distance = np.hypot(rows - row, cols - col)
    mass = 0.3 * np.exp(-((distance / core) ** 4))
    spicules = np.zeros_like(layer)
    for angle in rng.uniform(0.0, 2 * np.pi, rng.integers(8, 17)):
        length = core * rng.uniform(1.6, 3.0)
        end = (round(col + length * np.cos(angle)), round(row + length * np.sin(angle)))
        cv2.line(spicules, (col, row), end, 0.18, thickness=1, lineType=cv2.LINE_AA)
    lesion = mass + spicules
    layer += lesion
    lesions |= lesion > 0.05


def _add_calcification_cluster(layer: np.ndarray, lesions: np.ndarray, centre, rng, width: int) -> None:
    """A cluster of tiny bright dots; the mask is the disc that encloses the cluster."""
    row, col = int(centre[0]), int(centre[1])
    spread = max(2.0, width * rng.uniform(0.015, 0.03))
    offsets = rng.normal(0.0, spread, (rng.integers(6, 16), 2))
    dot_radius = 1 if width >= 128 else 0
    for d_row, d_col in offsets:
        cv2.circle(layer, (round(col + d_col), round(row + d_row)), dot_radius, 0.45, thickness=-1)
    enclosing = np.zeros(layer.shape, np.uint8)
    cv2.circle(enclosing, (col, row), int(np.abs(offsets).max() * 1.5) + 2, 1, thickness=-1)
    lesions |= enclosing.astype(bool)


def _write_dicom(path: Path, image: np.ndarray, header: dict) -> None:
    """Save a [0, 1] float phantom image as a 16-bit (14 bits stored) MG DICOM with seed-derived UIDs."""
    maximum = 2**BITS_STORED - 1
    pixels = np.rint(image * maximum).astype(np.uint16)
    photometric = "MONOCHROME2"
    if header["monochrome1"]:
        pixels, photometric = np.uint16(maximum) - pixels, "MONOCHROME1"
    write_dicom(path, pixels, BITS_STORED, photometric, header["patient_id"], header["laterality"],
                header["view"], uid_parts=(str(header["seed"]), header["stem"]))
