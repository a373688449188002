"""Writing a single-frame Digital Mammography X-Ray Image (For Presentation) DICOM that the standard's
definitions accept: every Type 1 and Type 2 attribute of its modules, the breast and view coded in
SNOMED CT, checked with dicom3tools' `dciodvfy` (tests/data/test_mammogram_dicom.py).

Used by the phantom (cyclegan/data/phantom.py) and by the tests' dataset fixtures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MAMMOGRAPHY_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.1.2"  # Digital Mammography X-Ray Image, For Presentation
FIXED_DATE = "20000101"
BREAST_HEIGHT_MM = 240.0  # an image's rows span this many millimetres (ImagerPixelSpacing follows)
VIEW_CODES = {"CC": ("399162004", "cranio-caudal"), "MLO": ("399368009", "medio-lateral oblique")}


def patient_orientation(laterality: str, view: str, chest_wall_left: bool) -> str:
    """PatientOrientation (row direction \\ column direction): the rows run from the chest wall to the
    nipple (A) or back (P); down is towards the patient's right (left breast) or left, and also
    towards the feet (F) on an MLO view. E.g. a left CC as stored: A\\R; a right MLO as stored: P\\FL."""
    down = {"L": "R", "R": "L"}[laterality]
    return f"{'A' if chest_wall_left else 'P'}\\{'F' if view == 'MLO' else ''}{down}"


def code_item(value: str, meaning: str, scheme: str = "SCT") -> Dataset:
    """One item of a code sequence (SNOMED CT by default)."""
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def _window(pixels: np.ndarray) -> tuple[float, float]:
    """(centre, width) of a VOI window over the 1st–99th percentile of the pixels that are not the minimum."""
    values = pixels[pixels > pixels.min()] if np.any(pixels > pixels.min()) else pixels
    low, high = np.percentile(values, [1.0, 99.0])
    width = max(float(high - low), 1.0)
    return round(float(low) + width / 2.0, 1), round(width, 1)


@dataclass(frozen=True)
class Labelling:
    """What a file says of its own making: who made it and what kind of image it is, and a VOI window
    in stored values (None: one over the breast, `set_window`)."""

    manufacturer: str = "BreastGAN-Keras phantom"
    patient_name: str = "Phantom^BreastGAN"
    image_type: tuple[str, ...] = ("ORIGINAL", "PRIMARY", "")
    derivation: str | None = None  # DerivationDescription, for derived images
    window: tuple[float, float] | None = None  # (centre, width)


PHANTOM = Labelling()


def write_dicom(path: Path, pixels: np.ndarray, bits_stored: int, photometric: str, patient_id: str,
                laterality: str, view: str, uid_parts: tuple[str, ...], chest_wall_left: bool | None = None,
                labelling: Labelling = PHANTOM) -> None:
    """Save uint8 / uint16 (h, w) pixels as a single-frame MG DICOM ("For Presentation").

    `photometric`: MONOCHROME2 (bright = dense) or MONOCHROME1 (inverted); `laterality` L or R,
    `view` CC or MLO; `chest_wall_left`: where the image has the chest wall (None: as the laterality
    is stored, left for L). UIDs are derived from `uid_parts` (the first, e.g. a seed, enters every
    UID; the rest name the image) and dates are fixed, so equal arguments give equal bytes.
    """

    def uid(*parts: str) -> str:
        return generate_uid(entropy_srcs=["breastgan-phantom", *uid_parts[:1], *parts])

    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SOPClassUID = MAMMOGRAPHY_SOP_CLASS
    dataset.SOPInstanceUID = uid(*uid_parts[1:], "instance")
    dataset.StudyInstanceUID = uid(patient_id)
    dataset.SeriesInstanceUID = uid(*uid_parts[1:], "series")
    dataset.ImageType = list(labelling.image_type)
    if labelling.derivation:
        dataset.DerivationDescription = labelling.derivation
    dataset.Modality = "MG"
    dataset.Manufacturer = labelling.manufacturer
    dataset.PatientName = labelling.patient_name
    dataset.PatientID = patient_id
    dataset.PatientBirthDate = ""
    dataset.PatientSex = "F"
    dataset.StudyDate = dataset.SeriesDate = dataset.ContentDate = FIXED_DATE
    dataset.StudyTime = dataset.SeriesTime = dataset.ContentTime = "000000"
    dataset.ReferringPhysicianName = ""
    dataset.StudyID = "1"
    dataset.AccessionNumber = ""
    dataset.SeriesNumber = 1
    dataset.InstanceNumber = 1
    left = laterality == "L" if chest_wall_left is None else chest_wall_left
    _set_mammography_image(dataset, laterality, view, pixels.shape[0], left)
    dataset.set_pixel_data(pixels, photometric, bits_stored, generate_instance_uid=False)
    set_presentation(dataset, pixels, labelling.window)
    dataset.save_as(path, enforce_file_format=True)


def _set_mammography_image(dataset: Dataset, laterality: str, view: str, rows: int, chest_wall_left: bool) -> None:
    """The DX / mammography image, detector and positioning attributes of one view."""
    dataset.PresentationIntentType = "FOR PRESENTATION"
    dataset.ImageLaterality = laterality
    dataset.ViewPosition = view
    view_item = code_item(*VIEW_CODES[view])
    view_item.ViewModifierCodeSequence = Sequence()
    dataset.ViewCodeSequence = Sequence([view_item])
    dataset.PatientOrientation = patient_orientation(laterality, view, chest_wall_left)
    dataset.AnatomicRegionSequence = Sequence([code_item("76752008", "Breast")])
    dataset.OrganExposed = "BREAST"
    dataset.PositionerType = "MAMMOGRAPHIC"
    dataset.DetectorType = "DIRECT"
    spacing = round(BREAST_HEIGHT_MM / rows, 6)
    dataset.ImagerPixelSpacing = [spacing, spacing]
    dataset.AcquisitionContextSequence = Sequence()
    dataset.RescaleIntercept, dataset.RescaleSlope, dataset.RescaleType = 0, 1, "US"
    dataset.LossyImageCompression = "00"
    dataset.BurnedInAnnotation = "NO"


def set_presentation(dataset: Dataset, pixels: np.ndarray, window: tuple[float, float] | None = None) -> None:
    """The attributes that follow from the stored pixels and their photometric interpretation: pixel
    intensity relationship and its sign, presentation LUT shape, and the VOI `window` (centre, width;
    None: one over the breast, `set_window`)."""
    inverted = dataset.PhotometricInterpretation == "MONOCHROME1"
    dataset.PixelIntensityRelationship = "LOG"
    dataset.PixelIntensityRelationshipSign = 1 if inverted else -1  # -1: higher values, less beam (denser)
    dataset.PresentationLUTShape = "INVERSE" if inverted else "IDENTITY"
    if window is None:
        set_window(dataset, pixels)
    else:
        dataset.WindowCenter, dataset.WindowWidth = window


def set_window(dataset: Dataset, pixels: np.ndarray) -> None:
    """WindowCenter / WindowWidth (stored values) over the 1st–99th percentile of the breast as shown."""
    inverted = dataset.PhotometricInterpretation == "MONOCHROME1"
    centre, width = _window(pixels.max() - pixels if inverted else pixels)
    dataset.WindowCenter = float(pixels.max()) - centre if inverted else centre
    dataset.WindowWidth = width
