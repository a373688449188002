"""translate --dicom: modified images as derived DICOMs at their source's geometry (source_geometry.py,
derived_dicom.py, runs/dicom_out.py), checked by geometry, by header and by dciodvfy."""

import csv
from pathlib import Path

import numpy as np
import pydicom
import pytest

from cyclegan import cli
from cyclegan.data.derived_dicom import stored_pixels
from cyclegan.data.mammogram_dicom import write_dicom
from cyclegan.data.prepare import prepare_dataset
from cyclegan.data.preprocess import preprocess
from cyclegan.data.recipes import resolve
from cyclegan.data.source_geometry import SourceGeometry
from tests.data.phantom_layouts import write_inbreast
from tests.helpers import dciodvfy_errors

FRAME = (50, 50)


def _source(flipped: bool) -> np.ndarray:
    """A raw 100 x 80 breast: a bright half-disc on the chest wall (left, or right when `flipped`)."""
    rows, columns = np.mgrid[:100, :80]
    breast = ((rows - 50) ** 2 + columns**2 < 45**2) * (600.0 + 2.0 * rows) + 20.0
    return breast[:, ::-1].copy() if flipped else breast


def _frame(source: np.ndarray, flipped: bool) -> np.ndarray:
    """The source as `prepare` puts it in the frame, in model units [-1, 1]."""
    stored, _ = preprocess(source, None, FRAME, "R" if flipped else "L")
    return stored.astype(np.float32) / 65535.0 * 2.0 - 1.0


@pytest.mark.parametrize("flipped", [False, True])
def test_an_unchanged_frame_gives_back_the_source_exactly_in_blend_mode(flipped):
    source = _source(flipped)
    geometry = SourceGeometry.of(source, FRAME, "fit", flipped)
    frame = _frame(source, flipped)
    np.testing.assert_array_equal(geometry.to_source(source, frame, frame, "blend"), source)


@pytest.mark.parametrize("flipped", [False, True])
def test_a_change_lands_where_the_frame_shows_it_and_only_inside_the_breast(flipped):
    source = _source(flipped)
    geometry = SourceGeometry.of(source, FRAME, "fit", flipped)
    frame = _frame(source, flipped)
    changed = frame.copy()
    changed[20, 10] += 0.5  # frame pixel (20, 10): source pixels 40-41 x 20-21 (scale 0.5), mirrored when flipped
    changed[:, 30:] += 0.5  # beyond the breast (its radius: 22.5 frame columns) and the padding (from column 40)
    out = geometry.to_source(source, changed, frame, "blend") - source
    peak = np.unravel_index(np.argmax(out), out.shape)
    column = 79 - peak[1] if flipped else peak[1]
    assert peak[0] in (40, 41) and column in (20, 21)
    # bilinear: the frame pixel's change spread over its 2 x 2 source pixels and their neighbours, its sum kept
    assert out.sum() == pytest.approx(4 * 0.5 * (geometry.high - geometry.low) / 2, rel=0.05)
    outside = ~(geometry.region[:, ::-1] if flipped else geometry.region)
    assert np.all(out[outside] == 0) and np.count_nonzero(out) < 40


def test_full_mode_puts_the_upsampled_frame_over_the_source():
    source = _source(False)
    geometry = SourceGeometry.of(source, FRAME, "fit", False)
    frame = _frame(source, False)
    full = geometry.to_source(source, frame, frame, "full")
    inside = geometry.region & (np.abs(np.diff(source, axis=1, prepend=0)) < 50)
    assert np.median(np.abs(full - source)[inside]) < 3.0  # the round trip of a smooth image
    darker = geometry.to_source(source, frame - 0.2, frame, "full")
    assert np.median((full - darker)[inside]) == pytest.approx(0.2 * (geometry.high - geometry.low) / 2, rel=0.01)


def test_stored_pixels_invert_monochrome1_about_the_source_maximum(tmp_path):
    pixels = (np.arange(64 * 52).reshape(64, 52) % 4000).astype(np.uint16)
    write_dicom(tmp_path / "m1.dcm", pixels, 14, "MONOCHROME1", "P1", "L", "CC", ("t",))
    header = pydicom.dcmread(tmp_path / "m1.dcm")
    raw = pixels.max() - pixels.astype(np.float32)  # as read_dicom gives it
    restored = stored_pixels(header, raw + 0.4)
    assert restored.dtype == np.uint16
    np.testing.assert_array_equal(restored, pixels)
    assert stored_pixels(header, raw + 1e6).min() == 0 and stored_pixels(header, raw - 1e6).max() == 2**14 - 1


def _translate(run, data, out, *extra):
    assert cli.main(["translate", "--run", str(run), "--direction", "h2c", "--input", str(data), "--split", "train",
                     "--out", str(out), "--dicom", *extra]) == 0
    with open(out / "manifest.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _check_derived(row, out, source_errors=None):
    source, derived = pydicom.dcmread(row["source"]), pydicom.dcmread(out / row["dicom"])
    assert derived.pixel_array.shape == source.pixel_array.shape
    assert derived.pixel_array.dtype == source.pixel_array.dtype
    assert list(derived.ImageType[:2]) == ["DERIVED", "SECONDARY"]
    assert derived.SOPInstanceUID != source.SOPInstanceUID and derived.SeriesInstanceUID != source.SeriesInstanceUID
    assert derived.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert "step 4" in derived.DerivationDescription and "h2c" in derived.DerivationDescription
    for keyword in ("PhotometricInterpretation", "ImageLaterality", "ViewPosition", "ImagerPixelSpacing",
                    "PatientOrientation"):
        assert derived.get(keyword) == source.get(keyword), keyword
    assert not np.array_equal(derived.pixel_array, source.pixel_array)
    errors = dciodvfy_errors(out / row["dicom"])
    assert set(errors) <= set(dciodvfy_errors(row["source"]) if source_errors is None else source_errors)
    return source, derived


def test_translate_writes_derived_dicoms_at_the_phantoms_geometry(tiny_run, prepared, tmp_path):
    rows = _translate(tiny_run, prepared, tmp_path / "out")
    assert rows and all(row["dicom"] for row in rows)
    for row in rows:
        source, derived = _check_derived(row, tmp_path / "out", source_errors=[])
        assert derived.StudyInstanceUID == source.StudyInstanceUID and derived.PatientID == source.PatientID
        assert (tmp_path / "out" / row["input"]).is_file()
    assert "x4" in rows[0]["difference"]


def test_anonymize_gives_one_pseudonym_per_patient(tiny_run, prepared, tmp_path):
    rows = _translate(tiny_run, prepared, tmp_path / "out", "--anonymize")
    seen = {}
    for row in rows:
        source, derived = pydicom.dcmread(row["source"]), pydicom.dcmread(tmp_path / "out" / row["dicom"])
        assert derived.PatientID.startswith("ANON-") and str(derived.PatientName) == derived.PatientID
        assert derived.PatientIdentityRemoved == "YES" and derived.StudyInstanceUID != source.StudyInstanceUID
        assert seen.setdefault(source.PatientID, derived.PatientID) == derived.PatientID
    assert len(set(seen.values())) == len(seen) > 1
    with open(tmp_path / "out" / "pseudonyms.csv", newline="") as handle:
        assert {row["patient_id"]: row["pseudonym"] for row in csv.DictReader(handle)} == seen


def test_an_inbreast_layout_source_gets_no_new_dciodvfy_error(tiny_run, tmp_path):
    write_inbreast(tmp_path / "INbreast", 8, seed=2, height=64, width=48)
    data = tmp_path / "prepared"
    prepare_dataset([f"inbreast:{tmp_path / 'INbreast'}"], resolve(size=(32, 32)), data, progress=False)
    rows = _translate(tiny_run, data, tmp_path / "out")
    assert rows and all(row["dicom"] for row in rows)
    for row in rows:
        _check_derived(row, tmp_path / "out")


def test_anonymize_without_dicom_is_refused(tiny_run, prepared, tmp_path, capsys):
    assert cli.main(["translate", "--run", str(tiny_run), "--direction", "h2c", "--input", str(prepared),
                     "--out", str(tmp_path / "out"), "--anonymize"]) != 0
    assert "give --dicom too" in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_a_png_input_is_translated_without_a_dicom(tiny_run, tmp_path):
    import cv2

    folder = tmp_path / "pngs"
    folder.mkdir()
    rows, columns = np.mgrid[:64, :52]
    cv2.imwrite(str(folder / "a.png"), (((rows - 32) ** 2 + columns**2 < 900) * 40000 + 100).astype(np.uint16))
    out = tmp_path / "out"
    assert cli.main(["translate", "--run", str(tiny_run), "--direction", "h2c", "--input", str(folder),
                     "--out", str(out), "--dicom"]) == 0
    with open(out / "manifest.csv", newline="") as handle:
        assert [row["dicom"] for row in csv.DictReader(handle)] == [""]
    assert not list(Path(out).rglob("*.dcm"))
