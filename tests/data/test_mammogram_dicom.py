"""The phantom's DICOMs are valid Digital Mammography X-Ray images (For Presentation), by dciodvfy."""

import numpy as np
import pydicom

from cyclegan.data.phantom import write_phantom
from tests.helpers import dciodvfy_errors


def test_phantom_dicoms_pass_dciodvfy_in_both_photometric_interpretations(tmp_path):
    write_phantom(tmp_path, 4, seed=5, height=64, width=52)
    files = sorted(tmp_path.glob("*/*.dcm"))
    headers = [pydicom.dcmread(path) for path in files]
    assert {header.PhotometricInterpretation for header in headers} == {"MONOCHROME1", "MONOCHROME2"}
    for path in files:
        assert dciodvfy_errors(path) == [], path.name


def test_the_window_covers_the_breast_as_shown(tmp_path):
    write_phantom(tmp_path, 4, seed=5, height=64, width=52)
    for path in sorted(tmp_path.glob("*/*.dcm")):
        header = pydicom.dcmread(path)
        pixels = header.pixel_array.astype(float)
        inverted = header.PhotometricInterpretation == "MONOCHROME1"
        shown = pixels.max() - pixels if inverted else pixels
        centre = pixels.max() - header.WindowCenter if inverted else header.WindowCenter
        breast = shown[shown > shown.min()]
        low, high = centre - header.WindowWidth / 2, centre + header.WindowWidth / 2
        assert 0.9 < np.mean((breast >= low) & (breast <= high)) < 1.0, path.name
