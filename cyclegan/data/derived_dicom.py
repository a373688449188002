"""A modified image as a derived DICOM of its source: the source's header with new pixels and what says
they were derived (ImageType DERIVED\\SECONDARY, new SOP Instance and Series UIDs in the source's
study, DerivationDescription, a Source Image Sequence naming the original, a recomputed window),
and optionally pseudonyms for the patient.

The source's attributes are kept: patient, study, geometry, pixel spacing, view and laterality.
"""

from __future__ import annotations

import copy

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from .mammogram_dicom import set_window

PATIENT_FIELDS_REMOVED = ("PatientBirthDate", "PatientAddress", "OtherPatientIDs", "OtherPatientNames",
                          "PatientTelephoneNumbers", "ReferringPhysicianName", "InstitutionName",
                          "InstitutionAddress", "OperatorsName", "PerformingPhysicianName")


def stored_pixels(source: pydicom.Dataset, raw: np.ndarray) -> np.ndarray:
    """Raw (rows, columns) intensities (bright = dense, as cyclegan.data.image_files.read_dicom gives
    them) back in the source's stored form: MONOCHROME1 inverted again about the source's own maximum,
    rounded and clipped to its stored bits, in its pixel dtype."""
    pixels = source.pixel_array
    if source.get("PhotometricInterpretation", "MONOCHROME2") == "MONOCHROME1":
        raw = float(pixels.max()) - raw
    bits = int(source.BitsStored)
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if int(source.PixelRepresentation) else (0, 2**bits - 1)
    return np.clip(np.rint(raw), low, high).astype(pixels.dtype)


class Pseudonyms:
    """Patient name and ID replaced by ANON-0001, ANON-0002, ... in order of first appearance, the same
    one for every image of a patient; study UIDs replaced by new ones, one per source study; birth
    date, addresses, other IDs, institution and staff names (PATIENT_FIELDS_REMOVED) emptied."""

    def __init__(self):
        self.patients: dict[str, str] = {}
        self.studies: dict[str, str] = {}

    def apply(self, dataset: Dataset) -> None:
        patient = str(dataset.get("PatientID", ""))
        pseudonym = self.patients.setdefault(patient, f"ANON-{len(self.patients) + 1:04d}")
        dataset.PatientID = dataset.PatientName = pseudonym
        dataset.StudyInstanceUID = self.studies.setdefault(str(dataset.StudyInstanceUID), generate_uid())
        for keyword in PATIENT_FIELDS_REMOVED:
            if keyword in dataset:
                dataset.data_element(keyword).value = ""
        dataset.PatientIdentityRemoved = "YES"
        dataset.DeidentificationMethod = "BreastGAN-Keras translate --anonymize (patient pseudonyms)"  # LO: 64 chars


def derived_dataset(source: pydicom.Dataset, pixels: np.ndarray, description: str,
                    pseudonyms: Pseudonyms | None = None) -> Dataset:
    """A copy of `source` holding `pixels` (its rows, columns and dtype), marked as derived from it."""
    if pixels.shape != source.pixel_array.shape or pixels.dtype != source.pixel_array.dtype:
        raise ValueError(f"pixels {pixels.shape} {pixels.dtype} do not match the source's "
                         f"{source.pixel_array.shape} {source.pixel_array.dtype}")
    dataset = copy.deepcopy(source)
    reference = Dataset()
    reference.ReferencedSOPClassUID = source.SOPClassUID
    reference.ReferencedSOPInstanceUID = source.SOPInstanceUID
    dataset.SourceImageSequence = Sequence([reference])
    image_type = list(source.get("ImageType", ["ORIGINAL", "PRIMARY"]))
    dataset.ImageType = ["DERIVED", "SECONDARY", *image_type[2:]]
    dataset.SOPInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.DerivationDescription = description[:1024]
    dataset.BurnedInAnnotation = "YES" if source.get("BurnedInAnnotation") == "YES" else "NO"
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    dataset.PixelData = np.ascontiguousarray(pixels).tobytes()
    dataset["PixelData"].VR = "OW" if pixels.dtype.itemsize == 2 else "OB"
    if "VOILUTSequence" in dataset:
        del dataset.VOILUTSequence
    set_window(dataset, pixels)
    if pseudonyms is not None:
        pseudonyms.apply(dataset)
    return dataset
