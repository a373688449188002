"""`translate --dicom`: every translated image that came from a DICOM, as a derived DICOM at its source's
geometry (cyclegan/data/source_geometry.py says what is resampled; derived_dicom.py what the header says).

The source is read again from the path its record names (for a prepared dataset, as `prepare` saw it:
relative paths are taken from where the command runs). Augmented copies are not written: their warp
is not undone.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom

from cyclegan.data.dataset import PreparedDataset, is_prepared
from cyclegan.data.derived_dicom import Pseudonyms, derived_dataset, stored_pixels
from cyclegan.data.image_files import DICOM_SUFFIXES, read_dicom, read_dicom_shape
from cyclegan.data.items import UnusableFile
from cyclegan.data.preprocess import blank_labels, faces_right
from cyclegan.data.source_geometry import MODES, SourceGeometry

MODE_TEXT = {"blend": "the change upsampled and added to the source inside the breast, the source kept outside",
             "full": "the translated image upsampled over the whole source"}


@dataclass(frozen=True)
class DicomSource:
    """A translated image's source file and how `prepare` treated it: `flipped` (None: decided by the
    brighter half, as for a folder of files), `blank_labels`, and the `resize` mode. The file is read
    when a DICOM is written (`load`), so a long list of full-size mammograms is never held at once."""

    path: Path
    flipped: bool | None
    blank_labels: bool
    resize: str

    def load(self, frame: tuple[int, int]) -> tuple[pydicom.Dataset, np.ndarray, SourceGeometry]:
        """(header with pixels, raw pixels bright = dense, geometry in the (H, W) training `frame`)."""
        raw, header = read_dicom(self.path)
        flipped = faces_right(raw, None) if self.flipped is None else self.flipped
        trained = blank_labels(raw) if self.blank_labels else raw
        return header, raw, SourceGeometry.of(trained, frame, self.resize, flipped)


def locate_sources(input_path, sources: list[str]) -> tuple[dict[str, DicomSource], list[dict]]:
    """The DICOM source of each translatable entry of `sources`, and [{path, reason}] for the others.

    For a prepared dataset, its manifest says how each image was flipped, resized and label-blanked;
    a folder of files was prepared with the defaults (fit, flipped by the brighter half, no blanking).
    Only headers are read here.
    """
    entries, resize_mode, blanking = {}, "fit", {}
    if is_prepared(input_path):
        manifest = PreparedDataset.open(input_path).manifest
        entries = {entry["source"]: entry for entry in manifest["images"]}
        resize_mode = manifest["resize"]
        blanking = {spec: bool(account.get("label_blanking")) for spec, account in manifest["per_source"].items()}
    located, skipped = {}, []
    for source in sources:
        reason = _unusable(source)
        if reason is None:
            try:
                read_dicom_shape(Path(source))
            except UnusableFile as error:
                reason = str(error)
        if reason is not None:
            skipped.append({"path": source, "reason": f"no DICOM written: {reason}"})
            continue
        entry = entries.get(source)
        located[source] = DicomSource(Path(source), bool(entry["flipped"]) if entry else None,
                                      bool(entry and blanking.get(entry["source_spec"])), resize_mode)
    return located, skipped


def _unusable(source: str) -> str | None:
    """Why `source` has no DICOM to write back to, or None."""
    if "#aug" in source:
        return "an augmented copy (its warp is not undone)"
    path = Path(source)
    if path.suffix.lower() not in DICOM_SUFFIXES:
        return "the source is not a DICOM"
    if not path.is_file():
        return f"source file {path} not found (relative paths are taken from the current folder)"
    return None


class DicomWriter:
    """Writes derived DICOMs in `mode` (blend or full), with pseudonyms when `anonymize`."""

    def __init__(self, mode: str, anonymize: bool):
        if mode not in MODES:
            raise ValueError(f"--dicom-mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.mode = mode
        self.pseudonyms = Pseudonyms() if anonymize else None

    def write(self, path: Path, source: DicomSource, translated: np.ndarray, original: np.ndarray,
              run_dir: Path, step: int, direction: str) -> Path:
        """`path`.dcm from the (H, W) `translated` frame and the `original` frame it was made from."""
        header, source_raw, geometry = source.load(translated.shape)
        raw = geometry.to_source(source_raw, translated, original, self.mode)
        description = (f"CycleGAN-modified ({direction}) by BreastGAN-Keras: run {run_dir}, step {step}; "
                       f"--dicom-mode {self.mode}: {MODE_TEXT[self.mode]}")
        dataset = derived_dataset(header, stored_pixels(header, raw), description, self.pseudonyms)
        dataset.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=True)
        return path

    def write_pseudonyms(self, out_dir: Path) -> Path | None:
        """out_dir/pseudonyms.csv (patient ID -> pseudonym) when anonymising: keep it from the images' readers."""
        if self.pseudonyms is None:
            return None
        path = out_dir / "pseudonyms.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["patient_id", "pseudonym"])
            writer.writerows(self.pseudonyms.patients.items())
        return path
