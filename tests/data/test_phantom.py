"""The synthetic phantom: valid, deterministic MG DICOMs with realistic texture and lesion masks."""

from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest

from cyclegan import cli
from cyclegan.data.image_files import read_image
from cyclegan.data.phantom import power_law_texture, write_phantom


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def _spectral_slope(patch: np.ndarray) -> float:
    """Slope of log power against log radial frequency, over 4/n..1/4 cycles per pixel."""
    size = patch.shape[0]
    window = np.outer(np.hanning(size), np.hanning(size))
    power = np.abs(np.fft.fft2((patch - patch.mean()) * window)) ** 2
    frequency = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij"))
    band = (frequency >= 4 / size) & (frequency <= 0.25)
    return float(np.polyfit(np.log(frequency[band]), np.log(power[band]), 1)[0])


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("phantom")
    summary = write_phantom(root, count=4, seed=11, height=256, width=208)
    assert summary["healthy"] == summary["cancer"] == 4
    return root


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path, phantom):
    write_phantom(tmp_path / "again", count=4, seed=11, height=256, width=208)
    write_phantom(tmp_path / "other", count=4, seed=12, height=256, width=208)
    original = _files(phantom)
    assert len(original) == 4 + 4 + 4  # healthy, cancer, masks
    assert _files(tmp_path / "again") == original
    other = _files(tmp_path / "other")
    assert other.keys() == original.keys()
    assert all(other[name] != original[name] for name in original)


def test_dicoms_are_16_bit_mammograms_with_view_and_laterality(phantom):
    headers = [pydicom.dcmread(path) for path in sorted(phantom.glob("*/*.dcm"))]
    assert len(headers) == 8
    assert {header.Modality for header in headers} == {"MG"}
    assert {header.ViewPosition for header in headers} == {"CC", "MLO"}
    assert {header.ImageLaterality for header in headers} == {"L", "R"}
    assert {header.PhotometricInterpretation for header in headers} == {"MONOCHROME1", "MONOCHROME2"}
    assert all(header.pixel_array.dtype == np.uint16 for header in headers)
    assert all(header.pixel_array.shape == (256, 208) for header in headers)
    assert all(header.PatientID for header in headers)


def test_breast_is_bright_and_faces_its_laterality_side_after_reading(phantom):
    for path in sorted(phantom.glob("*/*.dcm")):
        image = read_image(path)  # MONOCHROME1 inverted: tissue bright everywhere
        left, right = image[:, :104].mean(), image[:, 104:].mean()
        assert (right > left) == ("_R_" in path.name), path.name


def test_texture_power_spectrum_falls_as_f_to_the_minus_3(phantom):
    field = power_law_texture((128, 128), 3.0, np.random.default_rng(0))
    assert _spectral_slope(field) == pytest.approx(-3.0, abs=0.5)
    for path in sorted(phantom.glob("healthy/*_CC.dcm")):
        image = read_image(path)
        if "_R_" in path.name:
            image = image[:, ::-1]
        patch = image[128 - 48 : 128 + 48, 8 : 8 + 96]  # inside the breast, away from the skin line
        assert _spectral_slope(patch) == pytest.approx(-3.0, abs=0.8), path.name


def test_cancer_masks_mark_bright_lesions_inside_the_breast(phantom):
    for path in sorted(phantom.glob("cancer/*.dcm")):
        mask = cv2.imread(str(phantom / "masks" / f"{path.stem}.png"), cv2.IMREAD_UNCHANGED)
        assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 255}
        image = read_image(path)
        lesion = mask > 0
        ring = cv2.dilate(mask, np.ones((15, 15), np.uint8)) > 0
        assert image[lesion].mean() > image[ring & ~lesion].mean()
    mask_stems = sorted(path.stem for path in (phantom / "masks").iterdir())
    assert mask_stems == sorted(path.stem for path in (phantom / "cancer").iterdir())


def _phantom_cli(out: Path, *extra: str) -> int:
    return cli.main(["phantom", "--out", str(out), "--size", "64x52", *extra])


def test_a_folder_holding_a_phantom_is_refused_unless_overwrite_which_replaces_it_whole(tmp_path, capsys):
    out = tmp_path / "phantom"
    assert _phantom_cli(out, "--count", "2", "--seed", "1") == 0
    (out / "notes.txt").write_text("mine")
    first = _files(out)
    assert _phantom_cli(out, "--count", "1", "--seed", "2") == cli.EXIT_BAD_INPUT
    assert "already holds a phantom (healthy/, cancer/, masks/ not empty)" in capsys.readouterr().err
    assert _files(out) == first
    assert _phantom_cli(out, "--count", "1", "--seed", "2", "--overwrite") == 0
    write_phantom(tmp_path / "fresh", count=1, seed=2, height=64, width=52)
    assert _files(out) == {**_files(tmp_path / "fresh"), "notes.txt": b"mine"}
