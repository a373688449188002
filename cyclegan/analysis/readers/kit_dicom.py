"""`study build --format dicom`: the reader kit's images as Digital Mammography DICOMs too, for a
clinical viewer, as blind as the PNGs.

Each file holds exactly the PNG's 16-bit grey levels (MONOCHROME2), at the run's image size, with
the breast on the image's left as the page shows it. Every file of a kit carries the same header
but for what names the image and its source's view:
- UIDs derived from the kit's random study ID and the image's random ID; the patient ID and study
  UID are per screen (`<study>-<screen>`), so the two images of a pair share a patient;
- the laterality and view of the source (read from its DICOM header; an original and its modified
  image share them), with the orientation of the image as shown;
- fixed dates, one description ("reader-study image ...", DERIVED\\SECONDARY for every image: all
  are resized and rescaled), one manufacturer, and the kit's common initial window.
`differing_attributes` finds any other attribute that differs within the kit; the build fails on one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom

from cyclegan.data.mammogram_dicom import VIEW_CODES, Labelling, write_dicom

from .audit import GREY_LEVELS

PER_IMAGE = frozenset({"SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID", "PatientID", "PatientName",
                       "ImageLaterality", "ViewPosition", "ViewCodeSequence", "PatientOrientation", "PixelData"})
VIEW_BY_CODE = {code: view for view, (code, _) in VIEW_CODES.items()}


def source_view(source: str) -> tuple[str, str]:
    """(laterality L / R, view CC / MLO) from a source DICOM's header; ValueError when it has none."""
    try:
        header = pydicom.dcmread(source, stop_before_pixels=True)
    except Exception as error:  # pydicom raises many types for non-DICOM files
        raise ValueError(f"--format dicom needs DICOM sources; {source} is not one ({type(error).__name__})") from error
    laterality = str(header.get("ImageLaterality") or header.get("Laterality") or "")
    codes = [VIEW_BY_CODE.get(str(item.get("CodeValue", ""))) for item in header.get("ViewCodeSequence", [])]
    position = {"CC": "CC", "MLO": "MLO", "ML": "MLO"}.get(str(header.get("ViewPosition", "")).upper())
    view = next((code for code in codes if code), position)
    if laterality not in ("L", "R") or view is None:
        raise ValueError(f"--format dicom needs each source's laterality and view (ImageLaterality, ViewPosition "
                         f"or ViewCodeSequence); {source} has laterality {laterality or 'none'}, "
                         f"view {view or 'none'}")
    return laterality, view


def write_kit_dicom(path: Path, grey_levels: np.ndarray, study_id: str, image_id: str, screen: int,
                    view: tuple[str, str], window: tuple[float, float]) -> Path:
    """One kit image: (H, W) uint16 `grey_levels` as `path`; `window` (low, high) in grey fractions."""
    low, high = window
    labelling = Labelling(manufacturer="BreastGAN-Keras reader kit", patient_name=f"Reader study^{study_id}",
                          image_type=("DERIVED", "SECONDARY", ""),
                          derivation=f"reader-study image of study {study_id}: resized to the training size "
                                     "and rescaled to 16 bits",
                          window=(round((low + high) / 2 * GREY_LEVELS, 1), round((high - low) * GREY_LEVELS, 1)))
    write_dicom(path, grey_levels, 16, "MONOCHROME2", f"{study_id}-{screen:03d}", *view, uid_parts=(study_id, image_id),
                chest_wall_left=True, labelling=labelling)
    return path


def differing_attributes(paths: list[Path]) -> list[str]:
    """The attributes, other than PER_IMAGE, whose values (or presence) differ between the files."""
    headers = [pydicom.dcmread(path) for path in paths]
    differing = sorted({element.keyword for header in headers[1:] for element in header
                        if element.keyword not in PER_IMAGE and element != headers[0].get(element.tag)}
                       | {element.keyword for element in headers[0] if element.keyword not in PER_IMAGE
                          and any(element.tag not in header for header in headers[1:])})
    return differing
