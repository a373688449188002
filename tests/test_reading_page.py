"""The reading page in headless Chromium: keyboard reading, zoom, window/level, export, locks."""

import base64
import csv
import io
import json
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


def test_kit_records_the_lock_and_background_settings_default_off(kit):
    record = json.loads((kit / "key" / "study.json").read_text())
    assert record["lock_ratings"] is False and record["keep_background"] is False
    assert page_data(kit / "reader")["lock_ratings"] is False


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
    screens = page_data(reader)["screens"]
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
    write_reading_page(reader / "reading.html", "Reader study", "locked", page_data(kit / "reader")["screens"],
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
