"""Phantom mammograms written in the on-disk layouts of INbreast, BCDR (D01 / D02) and CBIS-DDSM.

For the data tests and benchmarks/prepare_throughput.py (which imports it as
`tests.data.phantom_layouts`), and for trying the readers without the real data: folder trees, file
names, table headers and separators and annotation formats follow the real datasets; pixels come
from `cyclegan.data.phantom.render_breast`. Right breasts are stored mirrored (breast against the
right edge), as the datasets store them. Each writer returns one dict per mammogram saying what it wrote.

Facts taken from documents we did not write are cited beside the constant or writer that uses them:
- [LOADER] the original project's reader of all three datasets, BreastGAN/augmentation
  `resources/data/loader.py` (read_inbreast_csv, load_inbreast, read_bcdr_img_csv,
  read_bcdr_outlines_csv, load_bcdr, read_cbis_csv, get_cbis_image_path);
- [INBREAST] Moreira et al., "INbreast: toward a full-field digital mammographic database",
  Academic Radiology 19(2):236-248, 2012 (DICOM images, XML annotations exported from OsiriX);
- [TCIA] The Cancer Imaging Archive's CBIS-DDSM collection page, doi:10.7937/K9/TCIA.2016.7O02S9CY
  (the four case-description CSVs by name: mass/calc, train/test);
- [LEE] Lee et al., "A curated mammography data set for use in computer-aided detection and
  diagnosis research", Scientific Data 4:170177, 2017 (full mammograms, cropped lesions and ROI
  masks as DICOM; pathology MALIGNANT, BENIGN, BENIGN_WITHOUT_CALLBACK).
Everything not cited (file-id and UID numbering, dates, the study folders' inner names) is ours.
"""

from __future__ import annotations

import plistlib
from pathlib import Path

import cv2
import numpy as np

from cyclegan.data.mammogram_dicom import write_dicom
from cyclegan.data.phantom import render_breast

BITS = 14  # bits stored in the 16-bit DICOMs and TIFFs

# [LOADER] read_inbreast_csv: ';'-separated, one header line, then (redacted) patient ID, age,
# laterality, view, acquisition date as YYYYMM, file name (the numeric file id), ACR, Bi-Rads
# (first character is the category: "4a"), Mass ("X" or empty). The header words are ours.
INBREAST_COLUMNS = ("Patient ID", "Patient age", "Laterality", "View", "Acquisition date", "File Name", "ACR",
                    "Bi-Rads", "Mass", "Micros")
INBREAST_CASES = (("1", ""), ("2", ""), ("3", ""), ("4a", "X"), ("5", "X"), ("2", "X"), ("4c", ""), ("6", "X"))

# [LOADER] read_bcdr_img_csv / read_bcdr_outlines_csv: ','-separated, cells stripped of padding,
# the fields in exactly these orders; image_type_name is laterality + view ("LCC", "RO"; "O" is
# MLO); lw_x_points / lw_y_points hold the outline; classification "Malign" (compared lower-cased)
# or "Benign". load_bcdr: BCDR-D0x_dataset/bcdr_d0x_img.csv and bcdr_d0x_outlines.csv (none in
# D02), image_filename relative to the dataset folder, ending in .tif.
BCDR_IMG_COLUMNS = ("patient_id", "study_id", "series", "image_filename", "image_type_name", "image_type_id",
                    "age", "density")
BCDR_OUTLINE_COLUMNS = ("patient_id", "study_id", "series", "lesion_id", "segmentation_id", "image_view",
                        "image_filename", "lw_x_points", "lw_y_points", "mammography_type", "mammography_nodule",
                        "mammography_calcification", "mammography_microcalcification",
                        "mammography_axillary_adenopathy", "mammography_architectural_distortion",
                        "mammography_stroma_distortion", "age", "density", "classification")
BCDR_CODES = ("LCC", "RCC", "LO", "RO")

# [TCIA] mass_case_description_{train,test}_set.csv and calc_case_description_{train,test}_set.csv.
# [LOADER] read_cbis_csv: columns "image view", "pathology" ("MALIGNANT" is cancer), "left or right
# breast" (first letter is the laterality), "image file path", "cropped image file path", "ROI mask
# file path". get_cbis_image_path: a CSV path is <case>/<uid>/<uid>/<file> below CBIS-DDSM/, whose
# UID folders are found on disk by their last five characters only, and whose end needs stripping.
# [LEE] pathology values. The other column names follow the published tables as we know them.
CBIS_COLUMNS = {
    "mass": ("patient_id", "breast_density", "left or right breast", "image view", "abnormality id",
             "abnormality type", "mass shape", "mass margins", "assessment", "pathology", "subtlety",
             "image file path", "cropped image file path", "ROI mask file path"),
    "calc": ("patient_id", "breast density", "left or right breast", "image view", "abnormality id",
             "abnormality type", "calc type", "calc distribution", "assessment", "pathology", "subtlety",
             "image file path", "cropped image file path", "ROI mask file path"),
}
CBIS_PATHOLOGIES = ("MALIGNANT", "BENIGN", "BENIGN_WITHOUT_CALLBACK")
UID_ROOT = "1.3.6.1.4.1.9590.100.1.2"


def stored_breast(seed: int, index: int, height: int, width: int, view: str, laterality: str,
                  lesion: bool) -> tuple[np.ndarray, np.ndarray]:
    """A phantom breast as stored: (uint16 pixels with BITS bits, lesion mask bool), mirrored if "R"."""
    image, lesions = render_breast(np.random.default_rng([seed, index]), height, width, view, cancer=lesion)
    pixels = np.rint(image * (2**BITS - 1)).astype(np.uint16)
    if laterality == "R":
        return np.ascontiguousarray(pixels[:, ::-1]), np.ascontiguousarray(lesions[:, ::-1])
    return pixels, lesions


def outline(lesions: np.ndarray) -> list[tuple[int, int]]:
    """(x, y) points around the largest lesion of a bool mask."""
    contours, _ = cv2.findContours(lesions.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    largest = max(contours, key=cv2.contourArea)
    return [(int(x), int(y)) for x, y in largest[:, 0, :]]


def write_inbreast(root, count: int, seed: int = 0, height: int = 64, width: int = 48,
                   mass_column: bool = True) -> list[dict]:
    """INbreast layout: AllDICOMs/, AllXML/ (OsiriX plists) and INbreast.csv (semicolons).

    Cases cycle through INBREAST_CASES (Bi-Rads, Mass); every image but BI-RADS 1 has a lesion and
    a ROI file with its outline (named Mass when Mass is "X", else Cluster) and one calcification
    point. Returns {path, file_id, birads, mass, laterality, view, patient, xml} per image.
    """
    root = Path(root)
    for folder in ("AllDICOMs", "AllXML"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    written, rows = [], []
    for index in range(count):
        birads, mass = INBREAST_CASES[index % len(INBREAST_CASES)]
        laterality, view = "LR"[index % 2], ("CC", "MLO")[(index // 2) % 2]
        patient, file_id = f"{seed:04x}{index // 4:012x}", str(50000000 + index)
        pixels, lesions = stored_breast(seed, index, height, width, view, laterality, lesion=birads != "1")
        # [LOADER] load_inbreast: AllDICOMs/<fileid>_<patient>_<modality>_<laterality>_<view>_<x>.dcm,
        # view "ML" for MLO; the ROIs of image <fileid> are AllXML/<fileid>.xml. [INBREAST]: DICOM + XML.
        name = f"{file_id}_{patient}_MG_{laterality}_{'ML' if view == 'MLO' else 'CC'}_ANON.dcm"
        write_dicom(root / "AllDICOMs" / name, pixels, BITS, "MONOCHROME2", patient, laterality, view,
                    uid_parts=(str(seed), file_id))
        xml = None
        if birads != "1":
            xml = root / "AllXML" / f"{file_id}.xml"
            centre = np.argwhere(lesions).mean(axis=0)
            write_osirix(xml, [("Mass" if mass else "Cluster", outline(lesions)),
                               ("Calcification", [(float(centre[1]), float(centre[0]))])])
        rows.append(["removed", "54", laterality, view, "201001", file_id, "2", birads, mass, ""])
        written.append({"path": str(root / "AllDICOMs" / name), "file_id": file_id, "birads": birads,
                        "mass": bool(mass), "laterality": laterality, "view": view, "patient": patient,
                        "xml": str(xml) if xml else None})
    columns = list(INBREAST_COLUMNS) if mass_column else [c for c in INBREAST_COLUMNS if c != "Mass"]
    keep = [INBREAST_COLUMNS.index(column) for column in columns]
    lines = [";".join(columns)] + [";".join(row[i] for i in keep) for row in rows] + [";" * (len(columns) - 1)]
    (root / "INbreast.csv").write_text("\n".join(lines) + "\n")
    return written


def write_osirix(path: Path, rois: list[tuple[str, list[tuple[float, float]]]]) -> None:
    """An OsiriX ROI plist: Images[0].ROIs[] with Name, NumberOfPoints and Point_px "(x, y)" strings."""
    entries = [{"Name": name, "NumberOfPoints": len(points), "IndexInImage": index,
                "Point_px": [f"({x:.6f}, {y:.6f})" for x, y in points]}
               for index, (name, points) in enumerate(rois)]
    images = [{"ImageIndex": 0, "NumberOfROIs": len(entries), "ROIs": entries}]
    with open(path, "wb") as file:
        plistlib.dump({"Images": images}, file, fmt=plistlib.FMT_XML)


def write_bcdr(root, count: int, seed: int = 0, height: int = 64, width: int = 48, name: str = "BCDR-D01",
               outlines: bool = True) -> list[dict]:
    """BCDR layout: <name>_dataset/ with <prefix>_img.csv, <prefix>_outlines.csv and patient_*/study_*/*.tif.

    With `outlines` (D01), images cycle Malign outline, Benign outline, none; without (D02) there
    is no outlines table. Cells are padded with a space after each comma, as BCDR's are.
    Returns {path, image_filename, classification, laterality, view, patient} per image.
    """
    folder = Path(root) / f"{name}_dataset"
    prefix = name.lower().replace("-", "_")
    written, image_rows, outline_rows = [], [], []
    for index in range(count):
        patient, code = index // 4 + 1, BCDR_CODES[index % 4]
        classification = ("Malign", "Benign", None)[index % 3] if outlines else None
        view = "CC" if code.endswith("CC") else "MLO"
        pixels, lesions = stored_breast(seed, index, height, width, view, code[0], lesion=classification is not None)
        relative = f"patient_{patient}/study_{patient}/img_{patient}_{patient}_1_{code}.tif"
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / relative), pixels)
        image_rows.append([patient, patient, 1, relative, code, index % 4 + 1, 54, 2])
        if classification:
            points = outline(lesions)
            outline_rows.append([patient, patient, 1, index, index, index % 4 + 1, relative,
                                 " ".join(str(x) for x, _ in points), " ".join(str(y) for _, y in points),
                                 1, 1, 0, 0, 0, 0, 0, 54, 2, classification])
        written.append({"path": str(folder / relative), "image_filename": relative, "classification": classification,
                        "laterality": code[0], "view": view, "patient": str(patient)})
    _write_padded_csv(folder / f"{prefix}_img.csv", BCDR_IMG_COLUMNS, image_rows)
    if outlines:
        _write_padded_csv(folder / f"{prefix}_outlines.csv", BCDR_OUTLINE_COLUMNS, outline_rows)
    return written


def _write_padded_csv(path: Path, columns, rows) -> None:
    lines = [", ".join(columns)] + [", ".join(str(cell) for cell in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def write_cbis(root, count: int, seed: int = 0, height: int = 64, width: int = 48,
               repeat_first: bool = True) -> list[dict]:
    """CBIS-DDSM layout: the four case-description CSVs and CBIS-DDSM/<case>/<date>/<series>/1-N.dcm.

    Mammogram i: patient P_<i+1>, LEFT / RIGHT alternating, CC CC MLO MLO, pathology cycling
    MALIGNANT, BENIGN, BENIGN_WITHOUT_CALLBACK, Mass for i // 4 even else Calc, Training for
    i // 8 even else Test. Every film carries a burned-in label (a bright block in the top corner
    away from the breast); its ROI folder (<case>_1) holds the cropped lesion (1-1.dcm) and the ROI
    mask (1-2.dcm). The CSV paths use UID folder names that differ from the ones on disk (each
    folder on disk ends in the last five characters of its UID, [LOADER]), and ROI mask paths end
    in a newline, as the real tables do. `repeat_first` lists mammogram 0 again in a Calc table
    with a BENIGN calcification, under its own case folders (a copy of its pixels).
    Returns {path, patient, side, view, pathology, label_box (row, column slices as stored)} per mammogram.
    """
    root = Path(root)
    tables: dict[tuple[str, str], list[list[str]]] = {(kind, split): [] for kind in CBIS_COLUMNS
                                                       for split in ("train", "test")}
    written = []
    for index in range(count):
        patient, side, view = f"P_{index + 1:05d}", ("LEFT", "RIGHT")[index % 2], ("CC", "MLO")[(index // 2) % 2]
        pathology = CBIS_PATHOLOGIES[index % 3]
        kind, split = ("mass", "calc")[(index // 4) % 2], ("train", "test")[(index // 8) % 2]
        pixels, lesions = stored_breast(seed, index, height, width, view, side[0], lesion=True)
        label_box = _burn_label(pixels, side)
        case = f"{kind.capitalize()}-{'Training' if split == 'train' else 'Test'}_{patient}_{side}_{view}"
        path = _write_cbis_case(root, case, index, pixels, lesions, tables[(kind, split)], pathology, kind)
        written.append({"path": str(path), "patient": patient, "side": side, "view": view, "pathology": pathology,
                        "label_box": label_box})
        if repeat_first and index == 0:
            other = "calc" if kind == "mass" else "mass"
            again = f"{other.capitalize()}-{'Training' if split == 'train' else 'Test'}_{patient}_{side}_{view}"
            _write_cbis_case(root, again, count + 1, pixels, lesions, tables[(other, split)], "BENIGN", other)
    for (kind, split), rows in tables.items():
        path = root / f"{kind}_case_description_{split}_set.csv"
        lines = [",".join(CBIS_COLUMNS[kind])] + [",".join(_quoted(cell) for cell in row) for row in rows]
        path.write_text("\n".join(lines) + "\n")
    return written


def _burn_label(pixels: np.ndarray, side: str) -> tuple[slice, slice]:
    """Draw a bright block into the top corner away from the breast; returns where (as stored)."""
    height, width = pixels.shape
    rows, span = slice(1, 1 + max(2, height // 8)), max(2, width // 5)
    columns = slice(width - 1 - span, width - 1) if side == "LEFT" else slice(1, 1 + span)
    pixels[rows, columns] = 2**BITS - 1
    return rows, columns


def _write_cbis_case(root: Path, case: str, number: int, pixels: np.ndarray, lesions: np.ndarray,
                     rows: list[list[str]], pathology: str, kind: str) -> Path:
    """Write a mammogram's full image, cropped lesion and ROI mask; append its CSV row; return the image path.

    `case` is "<Kind>-<Training|Test>_P_<n>_<LEFT|RIGHT>_<CC|MLO>".
    """
    patient, side, view = case.split("_", 1)[1].rsplit("_", 2)
    tree = root / "CBIS-DDSM"
    full = tree / case / f"07-20-2016-DDSM-{number:05d}" / f"1.000000-full mammogram images-{number:05d}" / "1-1.dcm"
    roi_folder = tree / f"{case}_1" / f"08-29-2017-DDSM-{number:05d}" / f"1.000000-ROI mask images-{number:05d}"
    for folder in (full.parent, roi_folder):
        folder.mkdir(parents=True, exist_ok=True)
    (top, left), (bottom, right) = np.argwhere(lesions).min(axis=0), np.argwhere(lesions).max(axis=0) + 1
    files = {full: (pixels, BITS), roi_folder / "1-1.dcm": (np.ascontiguousarray(pixels[top:bottom, left:right]), BITS),
             roi_folder / "1-2.dcm": (lesions.astype(np.uint8) * np.uint8(255), 8)}
    for path, (data, bits) in files.items():
        write_dicom(path, data, bits, "MONOCHROME2", patient, side[0], view,
                    uid_parts=(case, path.name, str(data.shape)))
    study, series, roi_study, roi_series = (f"{UID_ROOT}.{part}{number:05d}" for part in range(1, 5))
    described = ["OVAL", "CIRCUMSCRIBED"] if kind == "mass" else ["PLEOMORPHIC", "CLUSTERED"]
    rows.append([patient, "2", side, view, "1", kind, *described, "4", pathology, "3",
                 f"{case}/{study}/{series}/000000.dcm", f"{case}_1/{roi_study}/{roi_series}/000000.dcm",
                 f"{case}_1/{roi_study}/{roi_series}/000001.dcm\n"])
    return full


def _quoted(cell: str) -> str:
    return f'"{cell}"' if any(character in cell for character in ',"\n') else cell
