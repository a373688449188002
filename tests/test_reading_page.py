"""The reading page in headless Chromium: readers and kits kept apart, keyboard reading, zoom, window/level,
export, locks."""

import base64
import csv
import io
import json
import math
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cyclegan import cli
from cyclegan.analysis.readers.page import write_reading_page
from cyclegan.analysis.readers.study import build_study
from tests.helpers import page_data

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def kit(tiny_run, prepared, tmp_path_factory):
    """An exp1 kit with 4 cases per label (12 images) from the tiny run at step 4."""
    out = tmp_path_factory.mktemp("study") / "kit"
    build_study(tiny_run, "exp1", prepared, out, seed=5, split="train", cases=4)
    return out


def _key_rows(kit):
    with open(kit / "key" / "answer_key.csv", newline="") as handle:
        return list(csv.DictReader(handle))


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
        self._buffer, self._events, self._last_id, self._session, self.dialogs = b"", [], 0, None, []
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
        message = json.loads(message)
        if message.get("method") == "Page.javascriptDialogOpening":  # confirm() and alert(): noted, accepted
            self.dialogs.append(message["params"]["message"])
            self._post("Page.handleJavaScriptDialog", {"accept": True})
        return message

    def _post(self, method: str, params: dict, to_browser: bool = False) -> int:
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params}
        if self._session and not to_browser:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        return self._last_id

    def send(self, method: str, params: dict | None = None, to_browser: bool = False) -> dict:
        """The result of one protocol command (to the page unless `to_browser`); events are kept."""
        sent = self._post(method, params or {}, to_browser)
        while (reply := self._receive(60)).get("id") != sent:
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
        """Press and release `key` as a real keyboard would, to whatever has focus (Enter submits a form)."""
        code, virtual = self.KEYS[key]
        text = "\r" if key == "Enter" else key if len(key) == 1 else None
        for kind in ("keyDown" if text else "rawKeyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": code,
                                                 "windowsVirtualKeyCode": virtual,
                                                 **({"text": text} if text and kind == "keyDown" else {})})

    def _mouse(self, kind: str, x: float, y: float, buttons: int, **more):
        self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "buttons": buttons,
                                               "clickCount": 1, **more})

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

    def ctrl_wheel(self, x: float, y: float, delta_y: float):
        """One turn of the wheel at (x, y) with Ctrl held (as a trackpad's pinch also sends)."""
        self._mouse("mouseWheel", x, y, 0, deltaX=0, deltaY=delta_y, modifiers=2)

    def screenshot(self) -> Image.Image:
        return Image.open(io.BytesIO(base64.b64decode(self.send("Page.captureScreenshot")["data"])))

    def download(self, button: str, folder: Path) -> tuple[str, str]:
        """The name and the text of the file that clicking `button` downloads."""
        self.send("Browser.setDownloadBehavior", {"behavior": "allowAndName", "downloadPath": str(folder),
                                                  "eventsEnabled": True}, to_browser=True)
        self.click(button)
        name = self.wait_for("Browser.downloadWillBegin")["suggestedFilename"]
        while (progress := self.wait_for("Browser.downloadProgress"))["state"] != "completed":
            assert progress["state"] == "inProgress", progress
        return name, (folder / progress["guid"]).read_text()


@pytest.fixture
def browser(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (apt-get install chromium)")
    chromium = Chromium(tmp_path / "profile")
    yield chromium
    chromium.close()


def test_kit_page_carries_the_kits_study_id_window_and_lock_setting(kit):
    record = json.loads((kit / "key" / "study.json").read_text())
    assert record["lock_ratings"] is False and record["background"] == "source"
    data = page_data(kit / "reader")
    assert (data["study"], data["window"], data["lock_ratings"]) == (record["study"], record["window"], False)


def _position(browser) -> int:
    return browser.evaluate("state.position")


def _ratings(browser) -> dict:
    return browser.evaluate("state.ratings")


def _text(browser, selector: str) -> str:
    return browser.evaluate(f"document.querySelector({json.dumps(selector)}).textContent")


def _start_open(browser) -> bool:
    return not browser.evaluate("document.getElementById('start').hidden")


def _wait_started(browser, name: str):
    browser.wait_until(f"document.getElementById('start').hidden && "
                       f"document.getElementById('reader-name').textContent === {json.dumps(name)}")


def _start(browser, name: str):
    """Enter `name` in the start dialog, which opens with an empty name, and press Enter."""
    browser.wait_until("!document.getElementById('start').hidden")
    assert browser.evaluate("document.getElementById('reader').value") == ""
    browser.click("#reader")
    browser.send("Input.insertText", {"text": name})
    browser.key("Enter")
    _wait_started(browser, name)


def _shown_ratings(browser) -> dict:
    """{radio group name (image id-question): value} of every radio button checked in the page."""
    return dict(browser.evaluate("[...document.querySelectorAll('input[type=radio]:checked')].map(input => "
                                 "[input.name, Number(input.value)])"))


def _key_in(browser, ratings: dict):
    """Answer the screen's questions in order by keys: `ratings` {image id: {question: value}}."""
    for values in ratings.values():
        for value in values.values():
            browser.key(str(value))


def _loaded(browser):
    browser.wait_until("[...document.querySelectorAll('#images img')].every(img => img.naturalWidth && "
                       "img.style.width)")


def _image_in_screenshot(browser, index: int = 0) -> np.ndarray:
    """The greyscale screen pixels of the index-th image on the screen."""
    x, y, width, height = browser.box(f"#images figure:nth-child({index + 1}) img")
    shot = np.asarray(browser.screenshot().convert("L"))
    return shot[round(y):round(y) + round(height), round(x):round(x) + round(width)]


def _shown_pixels(browser, index: int = 0) -> np.ndarray:
    """The screen's grey at the centre of every pixel of the index-th image (wholly on screen), at any zoom."""
    selector = json.dumps(f"#images figure:nth-child({index + 1}) img")
    x, y, width, height, columns, rows = browser.evaluate(
        f"(i => (r => [r.x, r.y, r.width, r.height, i.naturalWidth, i.naturalHeight])(i.getBoundingClientRect()))"
        f"(document.querySelector({selector}))")
    shot = np.asarray(browser.screenshot().convert("L"))
    return shot[np.ix_(np.floor(y + (np.arange(rows) + 0.5) * height / rows).astype(int),
                       np.floor(x + (np.arange(columns) + 0.5) * width / columns).astype(int))]


def _zoom(browser) -> float:
    """Screen pixels per image pixel of the first image (the device pixel ratio is 1)."""
    return browser.evaluate("(i => i.getBoundingClientRect().width / i.naturalWidth)"
                            "(document.querySelector('#images img'))")


def _image_point(browser, x: float | None = None, y: float | None = None) -> np.ndarray:
    """The point of the first image (in image pixels) at screen point (x, y), else at its viewport's
    visible centre."""
    return np.array(browser.evaluate(
        f"(i => {{ const v = i.parentElement.getBoundingClientRect(), r = i.getBoundingClientRect();"
        f"const x = {json.dumps(x)} ?? v.left + i.parentElement.clientWidth / 2;"
        f"const y = {json.dumps(y)} ?? v.top + i.parentElement.clientHeight / 2;"
        f"return [(x - r.left) / r.width * i.naturalWidth, (y - r.top) / r.height * i.naturalHeight]; }})"
        f"(document.querySelector('#images img'))"))


def _check_screen_layout(browser):
    """Every question inside 1280×720 beside the images; the images pixelated at one scale, each inside
    its viewport, one of them filling it on its limiting side (within a pixel)."""
    _loaded(browser)
    images = browser.evaluate("[...document.querySelectorAll('#images img')].map(i => ((r, v) => ["
                              "getComputedStyle(i).imageRendering, r.right, r.width / i.naturalWidth, "
                              "v.width - r.width, v.height - r.height])"
                              "(i.getBoundingClientRect(), i.parentElement.getBoundingClientRect()))")
    questions = browser.evaluate("[...document.querySelectorAll('#questions fieldset')].map(f => "
                                 "(r => [r.left, r.top, r.right, r.bottom])(f.getBoundingClientRect()))")
    assert len(questions) == 2 * len(images)
    for left, top, right, bottom in questions:
        assert 0 <= left and 0 <= top and right <= 1280 and bottom <= 720
        assert left >= max(image[1] for image in images)
    assert {image[0] for image in images} == {"pixelated"}
    assert max(image[2] for image in images) - min(image[2] for image in images) < 1e-9
    assert all(spare_width > -0.02 and spare_height > -0.02 for *_, spare_width, spare_height in images)
    assert min(min(spare_width, spare_height) for *_, spare_width, spare_height in images) < 1


def _check_pixel_exact(browser, reader: Path, zoom: int):
    """Every pixel of every image on the screen is a zoom × zoom square of one grey, the same for the
    same grey in the file, a brighter one for a brighter file grey."""
    sources = browser.evaluate("[...document.querySelectorAll('#images img')].map(i => i.getAttribute('src'))")
    for index, source in enumerate(sources):
        pixels = np.asarray(Image.open(reader / source))
        height, width = pixels.shape
        blocks = _image_in_screenshot(browser, index).reshape(height, zoom, width, zoom)
        np.testing.assert_array_equal(blocks, np.broadcast_to(blocks[:, :1, :, :1], blocks.shape))
        order = np.argsort(pixels, axis=None, kind="stable")
        file_grey, screen_grey = pixels.ravel()[order], blocks[:, 0, :, 0].ravel()[order].astype(int)
        steps = np.diff(screen_grey)
        assert (steps >= 0).all() and not steps[np.diff(file_grey) == 0].any()
        assert screen_grey[-1] - screen_grey[0] > 100


def _check_zoom_keys(browser, reader: Path):
    """− and + step to the whole zooms below and above fit, pixel-exact; 0 returns to fit."""
    fit = _zoom(browser)
    browser.key("-")
    assert _zoom(browser) == math.floor(fit) >= 2
    _check_pixel_exact(browser, reader, math.floor(fit))
    browser.key("+")
    assert _zoom(browser) == math.floor(fit) + 1
    browser.key("0")
    assert _zoom(browser) == pytest.approx(fit)


def _check_window_level(browser):
    """Dragging on the image changes the displayed pixels; the button and the R key restore them."""
    shown = _image_in_screenshot(browser)
    for reset in (lambda: browser.click("#window-reset"), lambda: browser.key("r")):
        browser.drag("#images img", -80, -40)
        windowed = _image_in_screenshot(browser)
        assert windowed.shape == shown.shape and np.abs(windowed.astype(int) - shown).max() > 30
        reset()
        np.testing.assert_array_equal(_image_in_screenshot(browser), shown)


def _filter(browser) -> list[float]:
    """Slope, intercept, slope, … of the colour channels of the window/level filter."""
    return browser.evaluate("[...document.querySelectorAll('#window-level feComponentTransfer > *')].flatMap("
                            "f => [Number(f.getAttribute('slope')), Number(f.getAttribute('intercept'))])")


def _check_filter_at(browser, window: list[float]):
    low, high = window
    assert _filter(browser) == pytest.approx([1 / (high - low), -low / (high - low)] * 3)


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
    return {key: row[key] for key in ("id", "malignancy", "modified", "reader", "study")}


def _exported(text: str, ids: list[str], reader: str, study: str) -> dict:
    """{id: {question: value}} of the ratings in an export, which has a row per image, each with
    `reader` and `study`."""
    rows = _responses(text)
    assert list(rows[0]) == ["id", "malignancy", "modified", "reader", "reading_ms", "study"]
    assert [row["id"] for row in rows] == ids
    assert {(row["reader"], row["study"]) for row in rows} == {(reader, study)}
    return {row["id"]: {field: int(row[field]) for field in ("malignancy", "modified") if row[field]}
            for row in rows if row["malignancy"] or row["modified"]}


def _check_reading_time_sums_visits(browser, screens: list, before: list[dict], downloads: Path) -> list[dict]:
    """Leave the last screen for 0.3 s on the one before, come back for 0.3 s: both gain, no other."""
    browser.key("ArrowLeft")
    time.sleep(0.3)
    browser.key("ArrowRight")
    time.sleep(0.3)
    after = _responses(browser.download("#export-button", downloads)[1])
    revisited = {image["id"] for screen in screens[-2:] for image in screen}
    for old, new in zip(before, after):
        gained = int(new["reading_ms"]) - int(old["reading_ms"])
        assert gained >= 300 if old["id"] in revisited else gained == 0, (old, new)
    return after


@pytest.mark.slow
def test_reading_page_is_read_by_keyboard_and_exports_ratings_and_reading_times(browser, kit, tmp_path):
    reader, downloads = kit / "reader", tmp_path / "downloads"
    ids = [row["id"] for row in _key_rows(kit)]
    data = page_data(reader)
    screens, study = data["screens"], data["study"]
    browser.open((reader / "reading.html").as_uri())
    _start(browser, "autotest")
    _check_filter_at(browser, data["window"])
    for index, screen in enumerate(screens):
        assert _position(browser) == index
        _check_screen_layout(browser)
        browser.screenshot().save(tmp_path / f"screen_{index + 1}_of_{len(screens)}_{len(screen)}_images.png")
        if index == 0:
            _check_zoom_keys(browser, reader)
            _check_window_level(browser)
        _rate_screen_and_press_right(browser, ids)
    assert _position(browser) == len(screens) - 1
    name, text = browser.download("#export-button", downloads)
    assert name == f"responses_autotest_{study}.csv" and not browser.dialogs  # all rated: no question asked
    exported = _responses(text)
    assert [_answers(row) for row in exported] == [
        {"id": ident, **{key: str(value) for key, value in _expected_ratings(index).items()}, "reader": "autotest",
         "study": study} for index, ident in enumerate(ids)]
    assert all(int(row["reading_ms"]) > 0 for row in exported)
    exported = _check_reading_time_sums_visits(browser, screens, exported, downloads)

    browser.reload()
    _start(browser, "autotest")
    assert _text(browser, "#resume-note") == f"Resuming: {len(ids)} of {len(ids)} rated"
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


@pytest.mark.slow
def test_reading_page_keeps_readers_apart_in_one_browser(browser, kit, tmp_path):
    """Reader 1 rates, hands over with New reader; reader 2 sees nothing of it, and exports only their
    own ratings; reopened, the page shows nothing until reader 1's name resumes exactly their ratings."""
    data = page_data(kit / "reader")
    screens, study = data["screens"], data["study"]
    ids = [image["id"] for screen in screens for image in screen]
    page = (kit / "reader" / "reading.html").as_uri()
    browser.open(page)
    browser.click("#reader")
    browser.key("Enter")
    assert _start_open(browser) and _text(browser, "#start-message") == "Please enter your name."
    browser.send("Input.insertText", {"text": "reader "})
    browser.key("1")  # the name field takes the rating keys
    browser.key("Enter")
    _wait_started(browser, "reader 1")
    first = {}
    for screen in screens[:2]:
        ratings = {image["id"]: _expected_ratings(ids.index(image["id"])) for image in screen}
        _key_in(browser, ratings)
        first.update(ratings)
        browser.key("ArrowRight")
    browser.key("3")
    first[screens[2][0]["id"]] = {"malignancy": 3}
    shown_first = _shown_ratings(browser)
    assert shown_first == {f"{screens[2][0]['id']}-malignancy": 3}

    browser.click("#new-reader")
    assert _start_open(browser) and _shown_ratings(browser) == {}
    assert browser.evaluate("[document.getElementById('reader').value, document.activeElement.id]") == ["", "reader"]
    _start(browser, "reader 2")
    assert _shown_ratings(browser) == {} and _text(browser, "#progress") == f"0 of {len(ids)} images rated"
    assert _text(browser, "#position") == f"Screen 1 of {len(screens)}"
    assert browser.evaluate("document.getElementById('resume-note').hidden")
    second = {image["id"]: {field: 6 - value for field, value in _expected_ratings(ids.index(image["id"])).items()}
              for image in screens[0]}
    _key_in(browser, second)
    name, text = browser.download("#export-button", tmp_path)
    assert browser.dialogs == [f"{len(ids) - len(second)} image(s) are not rated yet. Export anyway?"]
    assert name == f"responses_reader_2_{study}.csv"
    assert _exported(text, ids, "reader 2", study) == second

    browser.open(page)
    assert _shown_ratings(browser) == {}
    _start(browser, "reader 1")
    rated = sum(len(screen) for screen in screens[:2])
    assert _text(browser, "#resume-note") == f"Resuming: {rated} of {len(ids)} rated"
    assert _text(browser, "#position") == f"Screen 3 of {len(screens)}"
    assert _shown_ratings(browser) == shown_first
    assert _exported(browser.evaluate("responsesCsv()"), ids, "reader 1", study) == first


@pytest.mark.slow
def test_reading_page_keeps_kits_apart_in_one_browser(browser, kit, tmp_path):
    """The same reader name on a second kit (another study ID) in the same browser starts afresh."""
    data = page_data(kit / "reader")
    ids = [image["id"] for screen in data["screens"] for image in screen]
    other = tmp_path / "reader"
    shutil.copytree(kit / "reader", other)
    write_reading_page(other / "reading.html", "Reader study", "another-study", data["screens"],
                       window=tuple(data["window"]))
    browser.open((kit / "reader" / "reading.html").as_uri())
    _start(browser, "same reader")
    _key_in(browser, {image["id"]: {"malignancy": 2, "modified": 4} for image in data["screens"][0]})
    rated = _shown_ratings(browser)
    assert len(rated) == 2 * len(data["screens"][0])

    browser.open((other / "reading.html").as_uri())
    _start(browser, "same reader")
    assert _shown_ratings(browser) == {} and _text(browser, "#progress") == f"0 of {len(ids)} images rated"
    assert browser.evaluate("document.getElementById('resume-note').hidden")
    assert _exported(browser.download("#export-button", tmp_path)[1], ids, "same reader", "another-study") == {}

    browser.open((kit / "reader" / "reading.html").as_uri())
    _start(browser, "same reader")
    assert _shown_ratings(browser) == rated


@pytest.mark.slow
def test_reading_page_zooms_from_fit_in_whole_steps_about_the_centre_or_the_cursor(browser, kit):
    screens = page_data(kit / "reader")["screens"]
    browser.open((kit / "reader" / "reading.html").as_uri())
    _start(browser, "zoomer")
    _check_screen_layout(browser)
    fit = _zoom(browser)
    assert fit != int(fit) and _text(browser, "#zoom-value") == f"fit (×{fit:.2f})"
    browser.key("ArrowRight")
    browser.key("+")  # before the new screen's images have loaded
    _loaded(browser)
    assert _zoom(browser) == math.floor(fit) + 1 and _text(browser, "#zoom-value") == f"×{math.floor(fit) + 1}"
    browser.key("0")
    pair = next(index for index, screen in enumerate(screens) if len(screen) == 2)
    for _ in range(abs(pair - _position(browser))):
        browser.key("ArrowRight" if pair > _position(browser) else "ArrowLeft")
    _loaded(browser)
    centre = _image_point(browser)
    size = browser.evaluate("(i => [i.naturalWidth, i.naturalHeight])(document.querySelector('#images img'))")
    np.testing.assert_allclose(centre, np.array(size) / 2, atol=0.5)
    for _ in range(4):  # the point at the viewport's centre stays there
        browser.key("+")
        np.testing.assert_allclose(_image_point(browser), centre, atol=0.5)
    browser.evaluate("document.querySelector('#images .viewport').scrollBy(40, 0)")
    sync = "[...document.querySelectorAll('#images .viewport')].map(v => [v.scrollLeft, v.scrollTop])"
    browser.wait_until(f"(s => s[0][0] > 0 && s[0].join() === s[1].join())({sync})")  # the pair scrolls as one
    left = browser.evaluate(sync)[0][0]  # a second scroll comes before the first one's echo from the other viewport
    browser.evaluate("(v => { v.addEventListener('scroll', () => { v.scrollLeft -= 10; }, {once: true}); "
                     "v.scrollLeft -= 10; })(document.querySelector('#images .viewport'))")
    browser.wait_until(f"(s => s[0][0] === {left - 20} && s[1][0] === {left - 20})({sync})", timeout=5)
    moved = _image_point(browser)
    browser.key("+")
    np.testing.assert_allclose(_image_point(browser), moved, atol=0.5)
    assert browser.evaluate(f"(s => s[0].join() === s[1].join())({sync})")  # at once, not at the next frame
    x, y, width, height = browser.box("#images .viewport")
    while _zoom(browser) * min(size) <= max(width, height):  # an image that fits on an axis stays centred on it
        browser.key("+")
    x, y = x + 40, y + 40
    under, zoom = _image_point(browser, x, y), _zoom(browser)
    browser.ctrl_wheel(x, y, -100)
    assert _zoom(browser) == zoom + 1
    np.testing.assert_allclose(_image_point(browser, x, y), under, atol=1 / (zoom + 1))  # within a screen pixel


@pytest.mark.slow
def test_reading_page_opens_the_instructions_without_scrolling_at_1280x720(browser, kit):
    browser.open((kit / "reader" / "reading.html").as_uri())
    _start(browser, "reader")
    _loaded(browser)
    images = browser.box("#images")
    browser.click("#panel details summary")
    browser.wait_until("document.querySelector('#panel details').open")
    assert browser.evaluate("document.documentElement.scrollHeight <= innerHeight")
    assert browser.box("#images") == images


@pytest.mark.slow
def test_reading_page_starts_every_screen_at_the_kits_window(browser, kit, tmp_path):
    reader = tmp_path / "reader"
    shutil.copytree(kit / "reader", reader)
    write_reading_page(reader / "reading.html", "Reader study", "windowed", page_data(kit / "reader")["screens"],
                       window=(0.25, 0.65))
    window = page_data(reader)["window"]
    browser.open((reader / "reading.html").as_uri())
    _start(browser, "reader")
    _loaded(browser)
    _check_filter_at(browser, window)
    assert _text(browser, "#window-level-value") == "width 40.0%, level 45.0%"
    image = Image.open(reader / browser.evaluate("document.querySelector('#images img').getAttribute('src')"))
    full = 65535 if image.mode.startswith("I") else 255
    expected = np.clip((np.asarray(image) / full - window[0]) / (window[1] - window[0]), 0, 1) * 255
    np.testing.assert_allclose(_shown_pixels(browser), expected, atol=3)
    initial = _filter(browser)
    browser.drag("#images img", 60, 30)
    assert _filter(browser) != pytest.approx(initial)
    browser.key("r")
    _check_filter_at(browser, window)
    browser.drag("#images img", 60, 30)
    browser.key("ArrowRight")
    _loaded(browser)
    _check_filter_at(browser, window)


def _locked(browser, ident: str, field: str) -> bool:
    """Whether the page shows the question locked, its radio buttons disabled."""
    return browser.evaluate(f"(f => f.classList.contains('locked') && [...f.querySelectorAll('input')].every("
                            f"input => input.disabled))(document.querySelector("
                            f"'fieldset[data-id=\"{ident}\"][data-field=\"{field}\"]'))")


@pytest.mark.slow
def test_reading_page_locks_ratings_once_a_screen_is_left(browser, kit, tmp_path):
    reader = tmp_path / "reader"
    shutil.copytree(kit / "reader", reader)
    write_reading_page(reader / "reading.html", "Reader study", "locked", page_data(kit / "reader")["screens"],
                       lock_ratings=True)
    browser.open((reader / "reading.html").as_uri())
    _start(browser, "reader")
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
