"""Reader-study kit: the layouts, the blinded image files, answer key, template and page, the CLI."""

import base64
import csv
import io
import json
import os
import re
import select
import shutil
import struct
import subprocess
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cyclegan import cli
from cyclegan.analysis.readers.audit import STATISTICS
from cyclegan.analysis.readers.design import design_study
from cyclegan.analysis.readers.files import read_answer_key, read_responses
from cyclegan.analysis.readers.page import write_reading_page
from cyclegan.analysis.readers.study import KEY_COLUMNS, build_study, carry_background
from cyclegan.data.dataset import PreparedDataset
from cyclegan.data.pipeline import split_images
from cyclegan.data.preprocess import breast_region

CHROMIUM = Path("/usr/bin/chromium")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FULL = {  # layout: images, modified, pair screens, alone screens, sources per label
    "exp1": (60, 30, 20, 20, 20),
    "exp2": (72, 36, 24, 24, 12),
}


def _names(count):
    return {0: [f"healthy-{index:02d}" for index in range(count)], 1: [f"cancer-{index:02d}" for index in range(count)]}


def _split_screens(design):
    screens = design.screens()
    return [screen for screen in screens if len(screen) == 2], [screen[0] for screen in screens if len(screen) == 1]


@pytest.mark.parametrize("layout", sorted(FULL))
def test_full_layouts_have_the_papers_counts_and_pairs(layout):
    images, modified, pair_count, alone_count, per_label = FULL[layout]
    design = design_study(layout, _names(30), seed=7)
    pairs, alone = _split_screens(design)
    assert len(design.images) == images and sum(image.modified for image in design.images) == modified
    assert (len(pairs), len(alone)) == (pair_count, alone_count)
    assert len({image.id for image in design.images}) == images
    assert [image.screen for image in design.images] == sorted(image.screen for image in design.images)
    assert {screen[0].screen for screen in design.screens()} == set(range(1, pair_count + alone_count + 1))
    for left, right in pairs:
        assert left.source == right.source and left.pair_id == right.pair_id != ""
        assert (left.side, right.side) == ("left", "right") and {left.modified, right.modified} == {False, True}
    assert all(image.side == image.pair_id == "" for image in alone)
    assert Counter(image.label for image in alone) == {0: alone_count // 2, 1: alone_count // 2}
    assert Counter((image.label, image.modified) for image in alone) == {
        key: alone_count // 4 for key in ((0, False), (0, True), (1, False), (1, True))}
    sources = {image.source: image.label for image in design.images}
    assert Counter(sources.values()) == {0: per_label, 1: per_label}
    assert all(image.direction == ("" if not image.modified else "h2c" if image.label == 0 else "c2h")
               for image in design.images)
    assert {image.side for pair in pairs for image in pair if image.modified} == {"left", "right"}  # drawn


def test_exp1_shows_alone_only_sources_not_paired():
    pairs, alone = _split_screens(design_study("exp1", _names(20), seed=1))
    assert not {screen[0].source for screen in pairs} & {image.source for image in alone}
    assert len({image.source for image in alone}) == 20


def test_exp2_shows_every_case_once_as_a_pair_and_once_alone():
    pairs, alone = _split_screens(design_study("exp2", _names(12), seed=1))
    assert sorted(screen[0].source for screen in pairs) == sorted(image.source for image in alone)
    assert len({image.source for image in alone}) == 24


def test_design_depends_on_the_seed_only():
    names = _names(25)
    shuffled = {label: names[label][::-1] for label in names}
    assert design_study("exp1", names, seed=3) == design_study("exp1", shuffled, seed=3)
    assert design_study("exp1", names, seed=3) != design_study("exp1", names, seed=4)


def test_design_rejects_cases_that_do_not_fit():
    with pytest.raises(ValueError, match="multiple of 4"):
        design_study("exp1", _names(30), seed=0, cases=6)
    with pytest.raises(ValueError, match="needs 12 healthy and 12 cancer.*too few: 5 healthy, 5 cancer"):
        design_study("exp2", _names(5), seed=0)
    with pytest.raises(ValueError, match="unknown layout 'exp3'"):
        design_study("exp3", _names(30), seed=0)
    assert len(design_study("exp2", _names(5), seed=0, cases=4).images) == 24


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
    with open(kit / "reader" / "responses_template.csv", newline="") as handle:
        assert [row["id"] for row in csv.DictReader(handle)] == [row["id"] for row in rows]


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
        assert (image.format, image.mode, image.size, image.info) == ("PNG", "L", (32, 32), {})
    assert len(headers) == 1
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", headers.pop())
    assert (width, height, depth, colour, interlace) == (32, 32, 8, 0, 0)


def test_every_reader_image_has_the_same_byte_length(kit):
    sizes = {path.stat().st_size for path in (kit / "reader" / "images").iterdir()}
    assert len(sizes) == 1 and sizes.pop() > 32 * 32  # stored uncompressed


def _leak_audit(kit) -> dict:
    with open(kit / "key" / "leak_audit.csv", newline="") as handle:
        return {row["statistic"]: row for row in csv.DictReader(handle)}


def test_kit_has_a_leak_audit_whose_warnings_study_json_repeats(kit):
    audit = _leak_audit(kit)
    assert tuple(audit) == STATISTICS
    assert audit["file_size"]["auc"] == "0.5000" and not audit["file_size"]["warning"]
    assert float(audit["zero_fraction"]["auc"]) == 0  # only originals have the zero padding of `prepare`
    assert audit["zero_fraction"]["warning"].startswith("zero_fraction separates modified from original images")
    warnings = [row["warning"] for row in audit.values() if row["warning"]]
    assert json.loads((kit / "key" / "study.json").read_text())["leak_warnings"] == warnings
    for row in audit.values():
        assert bool(row["warning"]) == (abs(float(row["auc"]) - 0.5) > 0.15)
        assert float(row["ci_low"]) <= float(row["auc"]) <= float(row["ci_high"])


def test_carry_background_keeps_the_original_outside_the_breast():
    rows, columns = np.mgrid[0:32, 0:32]
    original = np.where(np.hypot((rows - 16) / 12, columns / 20) < 1, 0.4, -1.0)
    original[:, 26:] = -1.0  # zero padding, as `prepare` fits a narrower image
    modified = np.random.default_rng(0).uniform(-0.9, 0.9, original.shape)
    carried = carry_background(original, modified)
    breast = breast_region(original)
    assert breast[16, :12].all() and not breast[:, 26:].any() and not breast[0].any()
    np.testing.assert_array_equal(carried[breast], modified[breast])
    np.testing.assert_array_equal(carried[~breast], original[~breast])


def test_originals_keep_their_pixels_and_modifications_change_them(kit, prepared):
    sources = {}
    for domain in ("healthy", "cancer"):
        names, images = split_images(PreparedDataset.open(prepared), "train", domain, include_masks=False)
        sources.update(zip(names, images[..., 0]))
    shown = {}
    for row in _key_rows(kit):
        pixels = np.asarray(Image.open(kit / "reader" / "images" / f"{row['id']}.png"), np.float64)
        shown[row["source"], row["modified"]] = pixels
        if row["modified"] == "no":
            source = sources[row["source"]]
            expected = np.rint((source - source.min()) / (source.max() - source.min()) * 255.0)
            np.testing.assert_array_equal(pixels, expected)
        assert pixels.min() == 0 and pixels.max() == 255
    for (source, modified), pixels in shown.items():
        if modified == "yes" and (source, "no") in shown:
            assert np.abs(pixels - shown[source, "no"]).max() > 0


def test_same_seed_gives_an_identical_kit(kit, tiny_run, prepared, tmp_path):
    _build(tiny_run, prepared, tmp_path / "again")
    files = sorted(path.relative_to(kit) for path in kit.rglob("*") if path.is_file())
    assert files == sorted(path.relative_to(tmp_path / "again") for path in (tmp_path / "again").rglob("*")
                           if path.is_file())
    assert all((kit / name).read_bytes() == (tmp_path / "again" / name).read_bytes() for name in files)
    _build(tiny_run, prepared, tmp_path / "other", seed=6)
    assert read_answer_key(tmp_path / "other" / "key" / "answer_key.csv").index.intersection(
        read_answer_key(kit / "key" / "answer_key.csv").index).empty


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


def test_cli_builds_an_exp2_kit_from_a_raw_folder(tiny_run, prepared, tmp_path, capsys):
    out = tmp_path / "kit"
    assert cli.main(["study", "build", "--run", str(tiny_run), "--step", "2", "--layout", "exp2", "--input",
                     str(prepared.parent / "raw"), "--out", str(out), "--seed", "1", "--cases", "2",
                     "--lock-ratings", "--keep-background"]) == 0
    printed = capsys.readouterr()
    assert "give readers" in printed.out
    record = json.loads((out / "key" / "study.json").read_text())
    assert record["lock_ratings"] is True and record["keep_background"] is True
    assert "original's pixels outside its breast region" in record["background"]
    assert [line for line in printed.err.splitlines() if line.startswith("warning: ")] == [
        f"warning: {warning} (see {out / 'key' / 'leak_audit.csv'})" for warning in record["leak_warnings"]]
    assert not _leak_audit(out)["zero_fraction"]["warning"]  # the carried background has the originals' padding
    assert _page_data(out / "reader")["lock_ratings"] is True
    key = read_answer_key(out / "key" / "answer_key.csv")
    assert len(key) == 12 and key["modified"].sum() == 6 and set(key["step"].dropna()) == {2}
    assert key.groupby("source").size().eq(3).all()  # each case: a pair, then once alone


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


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (no port, no network).

    bash hands Chromium the pipe's ends as file descriptors 3 and 4, where --remote-debugging-pipe
    expects them; its messages are JSON, each ended by a NUL byte.
    """

    KEYS = {"ArrowLeft": ("ArrowLeft", 37), "ArrowUp": ("ArrowUp", 38), "ArrowRight": ("ArrowRight", 39),
            "ArrowDown": ("ArrowDown", 40), "Enter": ("Enter", 13), "+": ("Equal", 187), "-": ("Minus", 189),
            "r": ("KeyR", 82), **{str(digit): (f"Digit{digit}", 48 + digit) for digit in range(10)}}

    def __init__(self, profile: Path, width: int = 1280, height: int = 720):
        theirs_in, self._commands = os.pipe()
        self._replies, theirs_out = os.pipe()
        self._log = profile.with_name("chromium.log")
        with self._log.open("w") as log:
            self._process = subprocess.Popen(
                ["bash", "-c", f'exec "$@" 3<&{theirs_in} 4>&{theirs_out}', "bash", str(CHROMIUM), "--headless",
                 "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--remote-debugging-pipe",
                 f"--user-data-dir={profile}", "about:blank"],
                pass_fds=(theirs_in, theirs_out), stdout=subprocess.DEVNULL, stderr=log)
        os.close(theirs_in)
        os.close(theirs_out)
        self._buffer, self._events, self._last_id, self._session = b"", [], 0, None
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def close(self):
        os.close(self._commands)
        self._process.kill()
        self._process.wait()
        os.close(self._replies)

    def _receive(self, timeout: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._replies], [], [], timeout)
            chunk = os.read(self._replies, 1 << 20) if ready else b""
            if not chunk:
                raise TimeoutError(f"chromium stopped answering; its log ends: {self._log.read_text()[-2000:]}")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, to_browser: bool = False) -> dict:
        """The result of one protocol command (to the page unless `to_browser`); events are kept."""
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params or {}}
        if self._session and not to_browser:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while (reply := self._receive(60)).get("id") != self._last_id:
            self._events.append(reply)
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply["result"]

    def wait_for(self, event: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self._events):
                if message.get("method") == event:
                    return self._events.pop(index)["params"]
            self._events.append(self._receive(max(deadline - time.monotonic(), 0.01)))

    def open(self, url: str):
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def reload(self):
        self.send("Page.reload")
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in reply, f"{expression}: {reply['exceptionDetails']}"
        return reply["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 30):
        """Poll until `expression` is truthy in the page."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
            time.sleep(0.02)

    def box(self, selector: str) -> list[float]:
        """x, y, width, height of the first element matching `selector`."""
        return self.evaluate(f"(r => [r.x, r.y, r.width, r.height])(document.querySelector("
                             f"{json.dumps(selector)}).getBoundingClientRect())")

    def key(self, key: str):
        """Press and release `key` as a real keyboard would, to whatever has focus."""
        code, virtual = self.KEYS[key]
        printable = len(key) == 1
        for kind in ("keyDown" if printable else "rawKeyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": code,
                                                 "windowsVirtualKeyCode": virtual,
                                                 **({"text": key} if printable and kind == "keyDown" else {})})

    def _mouse(self, kind: str, x: float, y: float, buttons: int):
        self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons,
                                               "clickCount": 1})

    def drag(self, selector: str, dx: float, dy: float, steps: int = 5):
        """Press the left button on the centre of `selector`, move by (dx, dy), release."""
        x, y, width, height = self.box(selector)
        x, y = x + width / 2, y + height / 2
        self._mouse("mouseMoved", x, y, 0)
        self._mouse("mousePressed", x, y, 1)
        for step in range(1, steps + 1):
            self._mouse("mouseMoved", x + dx * step / steps, y + dy * step / steps, 1)
        self._mouse("mouseReleased", x + dx, y + dy, 0)

    def click(self, selector: str):
        self.drag(selector, 0, 0, steps=0)

    def screenshot(self) -> Image.Image:
        return Image.open(io.BytesIO(base64.b64decode(self.send("Page.captureScreenshot")["data"])))

    def download(self, button: str, folder: Path) -> str:
        """The text of the file that clicking `button` downloads."""
        self.send("Browser.setDownloadBehavior", {"behavior": "allowAndName", "downloadPath": str(folder),
                                                  "eventsEnabled": True}, to_browser=True)
        self.click(button)
        while (progress := self.wait_for("Browser.downloadProgress"))["state"] != "completed":
            assert progress["state"] == "inProgress", progress
        return (folder / progress["guid"]).read_text()


@pytest.fixture
def browser(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium)")
    chromium = Chromium(tmp_path / "profile")
    yield chromium
    chromium.close()


def _page_data(reader: Path) -> dict:
    """The study data reading.html carries."""
    found = re.search(r'<script type="application/json" id="study-data">(.*?)</script>',
                      (reader / "reading.html").read_text(), re.DOTALL)
    return json.loads(found.group(1))


def test_kit_records_the_lock_and_background_settings_default_off(kit):
    record = json.loads((kit / "key" / "study.json").read_text())
    assert record["lock_ratings"] is False and record["keep_background"] is False
    assert _page_data(kit / "reader")["lock_ratings"] is False


def _position(browser) -> int:
    return browser.evaluate("state.position")


def _ratings(browser) -> dict:
    return browser.evaluate("state.ratings")


def _image_in_screenshot(browser, index: int = 0) -> np.ndarray:
    """The greyscale screen pixels of the index-th image on the screen."""
    x, y, width, height = browser.box(f"#images figure:nth-child({index + 1}) img")
    shot = np.asarray(browser.screenshot().convert("L"))
    return shot[round(y):round(y) + round(height), round(x):round(x) + round(width)]


def _zoom(browser) -> float:
    """Screen pixels per image pixel of the first image (the device pixel ratio is 1)."""
    return browser.evaluate("(i => i.getBoundingClientRect().width / i.naturalWidth)"
                            "(document.querySelector('#images img'))")


def _check_screen_layout(browser, reader: Path):
    """Every question inside 1280×720 beside the images; images pixelated, pixel-exact at an integer zoom."""
    browser.wait_until("[...document.querySelectorAll('#images img')].every(img => img.style.width)")  # loaded, zoomed
    images = browser.evaluate("[...document.querySelectorAll('#images img')].map(i => [i.getAttribute('src'), "
                              "getComputedStyle(i).imageRendering, i.getBoundingClientRect().right])")
    questions = browser.evaluate("[...document.querySelectorAll('#questions fieldset')].map(f => "
                                 "(r => [r.left, r.top, r.right, r.bottom])(f.getBoundingClientRect()))")
    assert len(questions) == 2 * len(images)
    for left, top, right, bottom in questions:
        assert 0 <= left and 0 <= top and right <= 1280 and bottom <= 720
        assert left >= max(image_right for _, _, image_right in images)
    zoom = _zoom(browser)
    assert zoom == int(zoom) >= 2
    for index, (source, rendering, _) in enumerate(images):
        assert rendering == "pixelated"
        pixels = np.asarray(Image.open(reader / source))
        np.testing.assert_array_equal(_image_in_screenshot(browser, index),
                                      np.kron(pixels, np.ones((int(zoom), int(zoom)), np.uint8)))


def _check_zoom_keys(browser):
    fit = _zoom(browser)
    browser.key("+")
    assert _zoom(browser) == fit + 1
    browser.key("-")
    browser.key("-")
    assert _zoom(browser) == fit - 1
    browser.key("0")
    assert _zoom(browser) == fit


def _check_window_level(browser):
    """Dragging on the image changes the displayed pixels; the button and the R key restore them."""
    shown = _image_in_screenshot(browser)
    for reset in (lambda: browser.click("#window-reset"), lambda: browser.key("r")):
        browser.drag("#images img", -80, -40)
        windowed = _image_in_screenshot(browser)
        assert windowed.shape == shown.shape and np.abs(windowed.astype(int) - shown).max() > 30
        reset()
        np.testing.assert_array_equal(_image_in_screenshot(browser), shown)


def _expected_ratings(index: int) -> dict:
    """The ratings the test gives the index-th image in reading order (every value 1–5 comes up)."""
    return {"malignancy": 1 + index % 5, "modified": 1 + (2 * index + 1) % 5}


def _rate_screen_and_press_right(browser, ids: list[str]):
    """Click the first image's malignancy, key in the other ratings, then → with the clicked radio focused."""
    screen = browser.evaluate("study.screens[state.position].map(image => image.id)")
    expected = {ident: _expected_ratings(ids.index(ident)) for ident in screen}
    browser.click(f'input[name="{screen[0]}-malignancy"][value="{expected[screen[0]]["malignancy"]}"]')
    assert browser.evaluate("document.activeElement.type") == "radio"
    keyed = [expected[screen[0]]["modified"]] + [value for ident in screen[1:] for value in expected[ident].values()]
    for value in keyed:
        browser.key(str(value))
    browser.key("ArrowRight")
    assert {ident: _ratings(browser)[ident] for ident in screen} == expected


def _responses(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _answers(row: dict) -> dict:
    """A responses row without its reading time."""
    return {key: row[key] for key in ("id", "malignancy", "modified", "reader")}


def _check_reading_time_sums_visits(browser, screens: list, before: list[dict], downloads: Path) -> list[dict]:
    """Leave the last screen for 0.3 s on the one before, come back for 0.3 s: both gain, no other."""
    browser.key("ArrowLeft")
    time.sleep(0.3)
    browser.key("ArrowRight")
    time.sleep(0.3)
    after = _responses(browser.download("#export-button", downloads))
    revisited = {image["id"] for screen in screens[-2:] for image in screen}
    for old, new in zip(before, after):
        gained = int(new["reading_ms"]) - int(old["reading_ms"])
        assert gained >= 300 if old["id"] in revisited else gained == 0, (old, new)
    return after


@pytest.mark.slow
def test_reading_page_is_read_by_keyboard_and_exports_ratings_and_reading_times(browser, kit, tmp_path):
    reader, downloads = kit / "reader", tmp_path / "downloads"
    ids = [row["id"] for row in _key_rows(kit)]
    screens = _page_data(reader)["screens"]
    browser.open((reader / "reading.html").as_uri())
    for index, screen in enumerate(screens):
        assert _position(browser) == index
        _check_screen_layout(browser, reader)
        browser.screenshot().save(tmp_path / f"screen_{index + 1}_of_{len(screens)}_{len(screen)}_images.png")
        if index == 0:
            _check_zoom_keys(browser)
            _check_window_level(browser)
        _rate_screen_and_press_right(browser, ids)
    assert _position(browser) == len(screens) - 1
    browser.click("#reader")
    browser.send("Input.insertText", {"text": "autotest"})
    browser.key("Enter")  # leaves the name field, so the keys go to the page again
    browser.wait_until("responsesCsv().includes('autotest')")  # the page has taken the name in
    exported = _responses(browser.download("#export-button", downloads))
    assert [_answers(row) for row in exported] == [
        {"id": ident, **{key: str(value) for key, value in _expected_ratings(index).items()}, "reader": "autotest"}
        for index, ident in enumerate(ids)]
    assert all(int(row["reading_ms"]) > 0 for row in exported)
    exported = _check_reading_time_sums_visits(browser, screens, exported, downloads)

    browser.reload()
    reloaded = _responses(browser.evaluate("responsesCsv()"))
    assert [_answers(row) for row in reloaded] == [_answers(row) for row in exported]  # a reload loses nothing
    (tmp_path / "autotest.csv").write_text(browser.evaluate("responsesCsv()"))
    assert cli.main(["readout", "analyze", "--key", str(kit / "key" / "answer_key.csv"),
                     "--responses", str(tmp_path / "autotest.csv"), "--out", str(tmp_path / "readout")]) == 0
    browser.key("ArrowLeft")  # every question answered: the first is highlighted
    ident = screens[-2][0]["id"]
    changed = 6 - _expected_ratings(ids.index(ident))["malignancy"]
    browser.key(str(changed))
    assert _ratings(browser)[ident]["malignancy"] == changed  # unlocked by default


def _locked(browser, ident: str, field: str) -> bool:
    """Whether the page shows the question locked, its radio buttons disabled."""
    return browser.evaluate(f"(f => f.classList.contains('locked') && [...f.querySelectorAll('input')].every("
                            f"input => input.disabled))(document.querySelector("
                            f"'fieldset[data-id=\"{ident}\"][data-field=\"{field}\"]'))")


@pytest.mark.slow
def test_reading_page_locks_ratings_once_a_screen_is_left(browser, kit, tmp_path):
    reader = tmp_path / "reader"
    shutil.copytree(kit / "reader", reader)
    write_reading_page(reader / "reading.html", "Reader study", "locked", _page_data(kit / "reader")["screens"],
                       lock_ratings=True)
    browser.open((reader / "reading.html").as_uri())
    assert browser.evaluate("!document.getElementById('lock-note').hidden")
    first = browser.evaluate("study.screens[0][0].id")
    browser.key("2")  # malignancy only; the highlight moves to "modified"
    browser.key("ArrowRight")
    browser.key("ArrowLeft")
    assert _locked(browser, first, "malignancy") and not _locked(browser, first, "modified")
    browser.click(f'input[name="{first}-malignancy"][value="5"]')
    browser.key("ArrowUp")
    browser.key("5")
    assert _ratings(browser)[first] == {"malignancy": 2}
    browser.key("ArrowDown")
    browser.key("4")  # the question left open stays open
    browser.key("ArrowRight")
    browser.key("ArrowLeft")
    assert _locked(browser, first, "malignancy") and _locked(browser, first, "modified")
    for key in ("ArrowUp", "ArrowUp", "1", "ArrowDown", "1"):  # to malignancy, then to modified
        browser.key(key)
    assert _ratings(browser)[first] == {"malignancy": 2, "modified": 4}
    assert f"\n{first},2,4," in browser.evaluate("responsesCsv()")
