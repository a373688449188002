"""Reader-study kit (its layouts: test_design.py): the blinded image files, answer key, template and page, the CLI."""

import csv
import json
import re
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cyclegan import cli
from cyclegan.analysis.readers import study
from cyclegan.analysis.readers.audit import CLASSIFIER, FEATURES
from cyclegan.analysis.readers.files import read_answer_key, read_responses
from cyclegan.analysis.readers.study import KEY_COLUMNS, KitLeakError, build_study, carry_background, shown_pixels
from cyclegan.data.dataset import PreparedDataset
from cyclegan.data.pipeline import split_images
from cyclegan.data.preprocess import breast_region
from tests.helpers import page_data

CHROMIUM = Path("/usr/bin/chromium")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _build(run, data, out, seed=5, **options):
    return build_study(run, "exp1", data, out, seed=seed, split="train", cases=4, **options)


@pytest.fixture(scope="module")
def kit(tiny_run, prepared, tmp_path_factory):
    """An exp1 kit with 4 cases per label (12 images) from the tiny run at step 4."""
    out = tmp_path_factory.mktemp("study") / "kit"
    _build(tiny_run, prepared, out)
    return out


def _key_rows(kit):
    with open(kit / "key" / "answer_key.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_kit_answer_key_matches_the_files(kit):
    rows = _key_rows(kit)
    assert list(rows[0]) == KEY_COLUMNS
    key = read_answer_key(kit / "key" / "answer_key.csv")
    files = sorted((kit / "reader" / "images").iterdir())
    assert {path.name for path in files} == {f"{ident}.png" for ident in key.index}
    assert len(key) == 12 and key["modified"].sum() == 6
    assert Counter(row["pair_id"] for row in rows if row["pair_id"]) == {pair: 2 for pair in
                                                                        {row["pair_id"] for row in rows} - {""}}
    assert all(row["step"] == ("4" if row["modified"] == "yes" else "") for row in rows)
    assert all(row["direction"] == {"no": "", "yes": {"healthy": "h2c", "cancer": "c2h"}[row["label"]]}[row["modified"]]
               for row in rows)
    study = json.loads((kit / "key" / "study.json").read_text())["study"]
    assert {row["study"] for row in rows} == {study} and {row["layout"] for row in rows} == {"exp1"}
    with open(kit / "reader" / "responses_template.csv", newline="") as handle:
        template = list(csv.DictReader(handle))
    assert [row["id"] for row in template] == [row["id"] for row in rows]
    assert {row["study"] for row in template} == {study} == {page_data(kit / "reader")["study"]}


def test_readers_see_no_answers(kit):
    reader = kit / "reader"
    assert {path.name for path in reader.iterdir()} == {"reading.html", "responses_template.csv", "images"}
    assert not list(reader.rglob("answer_key*")) and (kit / "key" / "answer_key.csv").is_file()
    shown_text = (reader / "reading.html").read_text() + (reader / "responses_template.csv").read_text()
    rows = _key_rows(kit)
    for row in rows:
        assert row["source"] not in shown_text and Path(row["source"]).stem not in shown_text
        assert f"images/{row['id']}.png" in (reader / "reading.html").read_text()
    assert not re.search(r"h2c|c2h|pair-\d", shown_text)


def _png_chunks(path):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    chunks, offset = [], len(PNG_MAGIC)
    while offset < len(data):
        (length,), kind = struct.unpack(">I", data[offset:offset + 4]), data[offset + 4:offset + 8].decode("ascii")
        chunks.append((kind, data[offset + 8:offset + 8 + length]))
        offset += 12 + length
    return chunks


def test_image_files_differ_in_nothing_but_pixels(kit):
    headers = set()
    for path in (kit / "reader" / "images").iterdir():
        chunks = _png_chunks(path)
        kinds = [kind for kind, _ in chunks]
        assert kinds[0] == "IHDR" and kinds[-1] == "IEND" and set(kinds[1:-1]) == {"IDAT"}, kinds
        headers.add(chunks[0][1])
        image = Image.open(path)
        assert (image.format, image.mode, image.size, image.info) == ("PNG", "I;16", (32, 32), {})
    assert len(headers) == 1
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", headers.pop())
    assert (width, height, depth, colour, interlace) == (32, 32, 16, 0, 0)


def test_every_reader_image_has_the_same_byte_length(kit):
    sizes = {path.stat().st_size for path in (kit / "reader" / "images").iterdir()}
    assert len(sizes) == 1 and sizes.pop() > 2 * 32 * 32  # 16 bits a pixel, stored uncompressed


def _leak_audit(kit) -> dict:
    with open(kit / "key" / "leak_audit.csv", newline="") as handle:
        return {(row["kit"], row["feature"]): row for row in csv.DictReader(handle)}


def test_kit_has_a_leak_audit_of_its_null_kit_and_itself_whose_warnings_study_json_repeats(kit):
    audit = _leak_audit(kit)
    assert list(audit) == [(kit_name, feature) for kit_name in ("null", "real") for feature in (*FEATURES, CLASSIFIER)]
    for feature in (*FEATURES, CLASSIFIER):  # the null kit passed, or the build would have failed
        row = audit["null", feature]
        assert float(row["ci_low"]) <= 0.5 <= float(row["ci_high"]) and not row["warning"]
    assert audit["real", "file_size"]["auc"] == "0.5000" and not audit["real", "file_size"]["warning"]
    for feature in ("padding_mean", "padding_std", "black_fraction"):  # the source's background, exactly
        assert abs(float(audit["real", feature]["auc"]) - 0.5) <= 0.15, audit["real", feature]
    warnings = [row["warning"] for row in audit.values() if row["warning"]]
    assert json.loads((kit / "key" / "study.json").read_text())["leak_warnings"] == warnings
    for (kit_name, _), row in audit.items():
        if kit_name == "real":
            assert bool(row["warning"]) == (abs(float(row["auc"]) - 0.5) > 0.15)
        assert float(row["ci_low"]) <= float(row["auc"]) <= float(row["ci_high"])


def test_the_null_kit_is_kept_beside_the_key_and_shows_every_source_as_itself(kit):
    rows = _key_rows(kit)
    null_images = kit / "key" / "null-kit" / "images"
    assert sorted(path.name for path in null_images.iterdir()) == sorted(f"{row['id']}.png" for row in rows)
    by_source = {}
    for row in rows:
        by_source.setdefault(row["source"], set()).add((null_images / f"{row['id']}.png").read_bytes())
        if row["modified"] == "no":  # the null kit's originals are the kit's originals
            assert (null_images / f"{row['id']}.png").read_bytes() == (
                kit / "reader" / "images" / f"{row['id']}.png").read_bytes()
    assert all(len(files) == 1 for files in by_source.values())


def test_carry_background_keeps_the_original_outside_the_breast():
    rows, columns = np.mgrid[0:32, 0:32]
    original = np.where(np.hypot((rows - 16) / 12, columns / 20) < 1, 0.4, -1.0)
    original[:, 26:] = -1.0  # zero padding, as `prepare` fits a narrower image
    modified = np.random.default_rng(0).uniform(-0.9, 0.9, original.shape)
    carried = carry_background(original, modified)
    breast = breast_region(original, margin=0)
    assert breast[16, :12].all() and not breast[:, 26:].any() and not breast[0].any()
    np.testing.assert_array_equal(carried[breast], modified[breast])
    np.testing.assert_array_equal(carried[~breast], original[~breast])


def test_a_carried_background_does_not_make_the_breast_look_larger():
    """A generator whose pixels around the breast are brighter than the background must not grow the
    breast a reader's tool finds in the modified image (it did with the grown region)."""
    rows, columns = np.mgrid[0:64, 0:64]
    original = np.where(np.hypot((rows - 32) / 24, columns / 40) < 1, 0.4, -1.0)
    original += np.random.default_rng(3).normal(0.0, 0.01, original.shape)
    generated = np.full(original.shape, 0.2)  # tissue grey everywhere, the ring around the breast too
    carried = carry_background(original, generated)
    np.testing.assert_array_equal(breast_region(carried), breast_region(original))


def test_generator_background_keeps_only_the_sources_padding():
    original = np.random.default_rng(1).uniform(-0.5, 0.9, (32, 32))
    original[:, 27:] = original[29:, :] = -1.0  # prepare's zero padding at the right and the bottom
    original[5, 20] = -1.0  # a black pixel inside is not padding
    generated = np.random.default_rng(2).uniform(-0.9, 0.9, original.shape)
    shown = shown_pixels(original, generated, "generator")
    np.testing.assert_array_equal(shown[:, 27:], original[:, 27:])
    np.testing.assert_array_equal(shown[29:], original[29:])
    np.testing.assert_array_equal(shown[:29, :27], generated[:29, :27])
    np.testing.assert_array_equal(shown_pixels(original, None, "generator"), original)


def _prepared_sources(prepared) -> dict:
    sources = {}
    for domain in ("healthy", "cancer"):
        names, images = split_images(PreparedDataset.open(prepared), "train", domain, include_masks=False)
        sources.update(zip(names, images[..., 0]))
    return sources


def test_one_mapping_for_the_whole_kit_keeps_the_datasets_16_bit_values(kit, prepared):
    sources = _prepared_sources(prepared)
    shown = {}
    for row in _key_rows(kit):
        shown[row["source"], row["modified"]] = np.asarray(Image.open(kit / "reader" / "images" / f"{row['id']}.png"))
        if row["modified"] == "no":  # the prepared dataset's own 16-bit values, not a per-image stretch
            expected = np.rint((sources[row["source"]].astype(np.float64) + 1.0) * 65535 / 2)
            np.testing.assert_array_equal(shown[row["source"], "no"], expected)
    pairs = [source for source, modified in shown if modified == "yes" and (source, "no") in shown]
    assert pairs
    for source in pairs:
        original, modified = shown[source, "no"].astype(int), shown[source, "yes"].astype(int)
        outside = ~breast_region(sources[source], margin=0)
        assert outside.any() and np.abs(modified - original).max() > 0
        np.testing.assert_array_equal(modified[outside], original[outside])  # same source value, same level


def test_the_page_opens_every_image_at_the_originals_common_window(kit, prepared):
    sources = _prepared_sources(prepared)
    originals = [sources[row["source"]] for row in _key_rows(kit) if row["modified"] == "no"]
    levels = np.rint((np.stack(originals).astype(np.float64) + 1.0) * 65535 / 2)
    expected = np.percentile(levels, (0.5, 99.5)) / 65535
    np.testing.assert_allclose(page_data(kit / "reader")["window"], expected, atol=1e-9)
    assert json.loads((kit / "key" / "study.json").read_text())["window"] == page_data(kit / "reader")["window"]


def test_two_builds_with_one_seed_share_the_layout_but_no_id_and_refuse_each_others_responses(
        kit, tiny_run, prepared, tmp_path):
    _build(tiny_run, prepared, tmp_path / "again")
    first, second = (read_answer_key(folder / "key" / "answer_key.csv") for folder in (kit, tmp_path / "again"))
    assert first["study"].iloc[0] != second["study"].iloc[0]
    assert first.index.intersection(second.index).empty
    layout = ["source", "label", "modified", "step"]
    assert first[layout].reset_index(drop=True).equals(second[layout].reset_index(drop=True))
    responses = tmp_path / "R1.csv"
    with open(kit / "reader" / "responses_template.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(responses, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**row, "malignancy": 3, "modified": 3} for row in rows)
    with pytest.raises(ValueError, match=f"carry study ID\\(s\\) {first['study'].iloc[0]}, but the answer key is "
                                         f"study {second['study'].iloc[0]}"):
        read_responses(responses, second)
    assert read_responses(responses, first).ratings.shape == (12, 2)
    with open(responses, "w", newline="") as handle:  # the study column dropped in a spreadsheet
        writer = csv.DictWriter(handle, fieldnames=["id", "malignancy", "modified"])
        writer.writeheader()
        writer.writerows({"id": row["id"], "malignancy": 3, "modified": 3} for row in rows)
    with pytest.raises(ValueError, match="carry no study ID"):
        read_responses(responses, first)


def test_readout_refuses_responses_to_another_kit(kit, tiny_run, prepared, tmp_path, capsys):
    _build(tiny_run, prepared, tmp_path / "other")
    assert cli.main(["readout", "analyze", "--key", str(tmp_path / "other" / "key" / "answer_key.csv"),
                     "--responses", str(kit / "reader" / "responses_template.csv"),
                     "--out", str(tmp_path / "readout")]) == cli.EXIT_BAD_INPUT
    assert "made for another kit" in capsys.readouterr().err


def test_a_leak_the_kit_makes_fails_the_build_through_its_null_kit(tiny_run, prepared, tmp_path, monkeypatch):
    honest = study.shown_pixels

    def brighter_modified(original, generated, background):  # a writer that treats modified images apart
        return honest(original, generated, background) + (0.02 if generated is not None else 0.0)

    monkeypatch.setattr(study, "shown_pixels", brighter_modified)
    with pytest.raises(KitLeakError, match=r"the kit leaks: .*padding_mean separates the null kit's images.*"
                                             r"classifier separates.*Nothing was written"):
        _build(tiny_run, prepared, tmp_path / "leaky")
    assert not (tmp_path / "leaky").exists()


def test_filled_template_passes_readout_analyze(kit, tmp_path):
    key_path = kit / "key" / "answer_key.csv"
    key = read_answer_key(key_path)
    blank = read_responses(kit / "reader" / "responses_template.csv", key)
    assert {problem.problem for problem in blank.problems} == {"bad rating"} and len(blank.problems) == 2 * len(key)
    rng = np.random.default_rng(0)
    with open(kit / "reader" / "responses_template.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(tmp_path / "R1.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({**row, "malignancy": rng.integers(1, 6), "modified": rng.integers(1, 6)} for row in rows)
    assert cli.main(["readout", "analyze", "--key", str(key_path), "--responses", str(tmp_path / "R1.csv"),
                     "--out", str(tmp_path / "readout")]) == 0
    assert (tmp_path / "readout" / "table.md").is_file()


def test_cli_builds_an_exp2_kit_across_two_steps_from_a_raw_folder(tiny_run, prepared, tmp_path, capsys):
    out = tmp_path / "kit"
    assert cli.main(["study", "build", "--run", str(tiny_run), "--steps", "2,4", "--layout", "exp2", "--input",
                     str(prepared.parent / "raw"), "--out", str(out), "--seed", "1", "--cases", "2",
                     "--lock-ratings"]) == 0
    printed = capsys.readouterr()
    assert "give readers" in printed.out and "step 2, 4" in printed.out
    record = json.loads((out / "key" / "study.json").read_text())
    assert record["lock_ratings"] is True and record["background"] == "source" and record["steps"] == [2, 4]
    assert "source's pixels outside its breast region" in record["background_rule"]
    assert [line for line in printed.err.splitlines() if line.startswith("warning: ")] == [
        f"warning: {warning} (see {out / 'key' / 'leak_audit.csv'})" for warning in record["leak_warnings"]]
    assert not _leak_audit(out)["real", "black_fraction"]["warning"]  # the carried background has the padding
    assert page_data(out / "reader")["lock_ratings"] is True
    key = read_answer_key(out / "key" / "answer_key.csv")
    assert len(key) == 12 and key["modified"].sum() == 6
    assert key.groupby("source").size().eq(3).all()  # each case: a pair, then once alone
    made = Counter(zip(key[key["modified"]]["label"], key[key["modified"]]["step"]))
    assert all(abs(made[label, 2] - made[label, 4]) <= 1 and made[label, 2] + made[label, 4] == 3 for label in (0, 1))


def test_split_train_says_those_are_the_generators_training_images(tiny_run, prepared, tmp_path, capsys):
    assert cli.main(["study", "build", "--run", str(tiny_run), "--layout", "exp1", "--input", str(prepared),
                     "--split", "train", "--cases", "4", "--out", str(tmp_path / "kit")]) == 0
    assert "warning: --split train: these are the generator's own training images" in capsys.readouterr().err


@pytest.mark.parametrize("arguments, message", [
    (["--layout", "exp1"], "needs 20 healthy and 20 cancer source images; the eval split of .* has 1 healthy"),
    (["--layout", "exp1", "--cases", "3"], "positive multiple of 4"),
    (["--layout", "exp1", "--cases", "4", "--split", "train", "--step", "3"], r"no checkpoint for step\(s\) \[3\]"),
])
def test_cli_rejects_bad_input_with_exit_2(tiny_run, prepared, tmp_path, capsys, arguments, message):
    code = cli.main(["study", "build", "--run", str(tiny_run), "--input", str(prepared), "--out",
                     str(tmp_path / "kit"), *arguments])
    assert code == cli.EXIT_BAD_INPUT
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "kit").exists()


def test_cli_refuses_a_folder_that_is_not_empty(tiny_run, prepared, tmp_path, capsys):
    (tmp_path / "kit").mkdir()
    (tmp_path / "kit" / "notes.txt").write_text("mine")
    assert cli.main(["study", "build", "--run", str(tiny_run), "--layout", "exp1", "--input", str(prepared),
                     "--out", str(tmp_path / "kit")]) == cli.EXIT_BAD_INPUT
    assert "not empty" in capsys.readouterr().err


@pytest.fixture(scope="module")
def dicom_kit(tiny_run, prepared, tmp_path_factory):
    """The kit fixture's build with --format dicom."""
    out = tmp_path_factory.mktemp("study") / "dicom-kit"
    _build(tiny_run, prepared, out, image_format="dicom")
    return out


def test_a_dicom_kit_holds_the_pngs_pixels_in_valid_files_that_differ_only_in_what_names_them(dicom_kit):
    import pydicom

    from cyclegan.analysis.readers.kit_dicom import PER_IMAGE
    from tests.helpers import dciodvfy_errors

    rows = _key_rows(dicom_kit)
    headers = {}
    for row in rows:
        path = dicom_kit / "reader" / "dicom" / f"{row['id']}.dcm"
        header = headers[row["id"]] = pydicom.dcmread(path)
        png = np.array(Image.open(dicom_kit / "reader" / "images" / f"{row['id']}.png"))
        np.testing.assert_array_equal(header.pixel_array, png)
        assert header.PatientID == f"{row['study']}-{int(row['screen']):03d}"
        assert dciodvfy_errors(path) == [], row["id"]
    first = headers[rows[0]["id"]]
    for header in headers.values():
        assert {element.keyword for element in header if element.keyword not in PER_IMAGE and
                element != first.get(element.tag)} == set()
    by_source = {}
    for row in rows:
        size = (dicom_kit / "reader" / "dicom" / f"{row['id']}.dcm").stat().st_size
        assert by_source.setdefault(row["source"], size) == size  # an original and its modification alike
    assert len({header.SOPInstanceUID for header in headers.values()}) == len(rows)
    assert json.loads((dicom_kit / "key" / "study.json").read_text())["format"] == "dicom"


def test_a_dicom_header_that_tells_modified_images_apart_fails_the_build(tiny_run, prepared, tmp_path, monkeypatch):
    from cyclegan.analysis.readers import kit_dicom

    honest = kit_dicom.write_kit_dicom
    modified_ids = []

    def labelled(path, grey_levels, study_id, image_id, screen, view, window):
        honest(path, grey_levels, study_id, image_id, screen, view, window)
        if len(modified_ids) % 2:  # every other image gets a description of its own
            import pydicom

            header = pydicom.dcmread(path)
            header.SeriesDescription = "CycleGAN"
            header.save_as(path)
        modified_ids.append(image_id)
        return path

    monkeypatch.setattr(study, "write_kit_dicom", labelled)
    with pytest.raises(KitLeakError, match="DICOM headers differ in SeriesDescription. Nothing was written"):
        _build(tiny_run, prepared, tmp_path / "leaky", image_format="dicom")
    assert not (tmp_path / "leaky").exists()


def test_a_dicom_kit_needs_dicom_sources(tiny_run, tmp_path):
    import cv2

    for domain in ("healthy", "cancer"):
        (tmp_path / "raw" / domain).mkdir(parents=True)
        rows, columns = np.mgrid[:64, :52]
        for index in range(6):
            breast = ((rows - 32) ** 2 + columns**2 < (600 + 40 * index)) * 30000 + 100
            cv2.imwrite(str(tmp_path / "raw" / domain / f"{index}.png"), breast.astype(np.uint16))
    with pytest.raises(ValueError, match="needs DICOM sources"):
        build_study(tiny_run, "exp1", tmp_path / "raw", tmp_path / "kit", seed=1, cases=4, image_format="dicom")
    assert not (tmp_path / "kit").exists()
