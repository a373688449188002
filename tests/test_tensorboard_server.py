"""A real TensorBoard, started with the README's flags on a tiny run, serves every panel at every
step with its description, every scalar's description and the artefact chart; the Images tab
shows the panels' pixels in headless Chromium."""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.util import event_pb2

from cyclegan.tensorboard.eventfiles import TENSORBOARD_FLAGS, tensorboard_command

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
STARTUP_TIMEOUT_S = 90


def _tensorboard_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if "tensorboard --logdir" in line]


def readme_flags() -> list[str]:
    """The flags of the README's `tensorboard --logdir DIR ...` commands, after DIR (all the same)."""
    flags = set()
    for line in _tensorboard_lines(ROOT / "README.md"):
        words = shlex.split(line)
        assert words[:2] == ["tensorboard", "--logdir"], line
        flags.add(tuple(words[3:]))
    (only,) = flags
    return list(only)


def test_every_printed_tensorboard_command_keeps_every_panel():
    """images=0 makes TensorBoard 2.21 serve no image at all; every command says images=100000."""
    assert readme_flags() == TENSORBOARD_FLAGS.split()
    assert tensorboard_command("runs/x/tensorboard") == f"tensorboard --logdir runs/x/tensorboard {TENSORBOARD_FLAGS}"
    for path in ("README.md", "docs/training.md", "experiments/README.md", "scripts/run_experiment.sh"):
        lines = _tensorboard_lines(ROOT / path)
        assert lines, path
        for line in lines:
            assert line.rstrip('"').endswith(TENSORBOARD_FLAGS), f"{path}: {line}"


def _logged(logdir: Path) -> dict[str, dict]:
    """{run: {tag: {step: Summary.Value}}} of the event files under logdir, runs named as
    TensorBoard names them (the folder relative to logdir)."""
    logged = {}
    for path in logdir.rglob("events.out.tfevents.*"):
        run = path.parent.relative_to(logdir).as_posix()
        for record in tf.data.TFRecordDataset(str(path)).as_numpy_iterator():
            event = event_pb2.Event.FromString(record)
            for value in event.summary.value:
                logged.setdefault(run, {}).setdefault(value.tag, {})[event.step] = value
    return logged


def _of_plugin(by_tag: dict[str, dict], plugin: str) -> dict[str, dict]:
    """The {tag: {step: value}} of `by_tag` whose summaries belong to TensorBoard plugin `plugin`."""
    return {tag: steps for tag, steps in by_tag.items()
            if next(iter(steps.values())).metadata.plugin_data.plugin_name == plugin}


class Server:
    """A tensorboard process on 127.0.0.1 and the run it serves."""

    def __init__(self, logdir: Path, log: Path):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        command = [str(Path(sys.executable).with_name("tensorboard")), "--logdir", str(logdir), *readme_flags(),
                   "--port", str(self.port), "--host", "127.0.0.1"]
        self.log = log
        with log.open("w") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **query) -> bytes:
        address = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        with urllib.request.urlopen(address, timeout=30) as response:
            return response.read()

    def json(self, path: str, **query):
        return json.loads(self.get(path, **query))

    def wait_until(self, ready, what: str) -> None:
        """Polls `ready()` (errors count as not ready) until it is true or STARTUP_TIMEOUT_S pass."""
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"tensorboard exited: {self.log.read_text()[-2000:]}"
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail(f"tensorboard did not serve {what} within {STARTUP_TIMEOUT_S} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)


@pytest.fixture(scope="module")
def served(tiny_run, tmp_path_factory):
    """(server, logged events) for the tiny run's tensorboard/ folder, once everything is loaded."""
    logdir = tiny_run / "tensorboard"
    logged = _logged(logdir)
    server = Server(logdir, tmp_path_factory.mktemp("tensorboard") / "tensorboard.log")
    try:
        def loaded():
            tags = server.json("/data/plugin/scalars/tags")
            return all(tag in tags.get(run, {})
                       for run, by_tag in logged.items() for tag in _of_plugin(by_tag, "scalars"))
        server.wait_until(loaded, "the run's scalar tags")
        yield server, logged
    finally:
        server.stop()


def test_the_run_has_its_experiments_name(served):
    server, logged = served
    assert list(logged) == ["exp1"]
    assert server.json("/data/runs") == ["exp1"]
    plugins = server.json("/data/plugins_listing")
    for plugin in ("images", "scalars", "custom_scalars"):
        assert plugins[plugin]["enabled"], plugin


def test_every_image_tag_is_served_at_every_logged_step_with_its_description(served):
    server, logged = served
    (run,) = logged
    images = _of_plugin(logged[run], "images")
    assert set(images) == {f"images/{direction}{view}" for direction in ("h2c", "c2h")
                           for view in ("", "_grid_view", "_spectrum")}
    server.wait_until(lambda: all(len(server.json("/data/plugin/images/images", run=run, tag=tag, sample=0)) ==
                                  len(steps) for tag, steps in images.items()), "every image step")
    served_tags = server.json("/data/plugin/images/tags")[run]
    for tag, steps in images.items():
        assert len(served_tags[tag]["description"]) > 100, tag
        entries = server.json("/data/plugin/images/images", run=run, tag=tag, sample=0)
        assert [entry["step"] for entry in entries] == sorted(steps) == [2, 4], tag
        for entry in entries:
            png = server.get("/data/plugin/images/individualImage?" + entry["query"])
            assert png == steps[entry["step"]].tensor.string_val[2], f"{tag} at step {entry['step']}"


def test_every_scalar_has_a_description_and_every_chart_resolves(served):
    server, logged = served
    (run,) = logged
    scalar_tags = server.json("/data/plugin/scalars/tags")[run]
    for tag in _of_plugin(logged[run], "scalars"):
        assert scalar_tags[tag]["description"], tag
    image_steps = sorted(logged[run]["images/h2c"])
    layout = server.json("/data/plugin/custom_scalars/layout")
    charts = [chart for category in layout["category"] for chart in category["chart"]]
    assert len(charts) == 2
    assert "160k" in layout["category"][0]["title"]  # the tiny run is an exp1 config
    for chart in charts:
        for pattern in chart["multiline"]["tag"]:
            assert [tag for tag in scalar_tags if re.match(pattern, tag)], f"{pattern} matches no tag"
            answer = server.json("/data/plugin/custom_scalars/scalars", run=run, tag=pattern)
            assert answer["regex_valid"], pattern
            (series,) = answer["tag_to_events"].values()
            assert [step for _, step, _ in series] == image_steps, pattern  # a line over all steps


def _best_match(screenshot: np.ndarray, template: np.ndarray) -> tuple[float, int]:
    """(normalised correlation, width) of `template` scaled (nearest neighbour, as TensorBoard draws
    panels) to the width at which it best matches somewhere in `screenshot`; both greyscale uint8.
    Widths are tried every 8 pixels on both images shrunk 4x, then one by one around the best."""
    import cv2

    small = cv2.resize(screenshot, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)

    def match(width: int, shrink: int = 1) -> tuple[float, int]:
        height = round(template.shape[0] * width / template.shape[1])
        if height > screenshot.shape[0] or width > screenshot.shape[1]:
            return -1.0, width
        scaled = cv2.resize(template, (width, height), interpolation=cv2.INTER_NEAREST)
        if shrink > 1:
            scaled = cv2.resize(scaled, (width // shrink, height // shrink), interpolation=cv2.INTER_AREA)
        page = small if shrink > 1 else screenshot
        return float(cv2.matchTemplate(page, scaled, cv2.TM_CCOEFF_NORMED).max()), width

    _, coarse = max(match(width, shrink=4) for width in range(max(template.shape[1], 64), screenshot.shape[1], 8))
    return max(match(width) for width in range(max(coarse - 12, 1), coarse + 13))


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium (apt-get install chromium)")
def test_the_images_tab_shows_every_panels_pixels(served, tmp_path):
    import cv2

    server, logged = served
    (run,) = logged
    screenshot_path = tmp_path / "images-tab.png"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--force-device-scale-factor=1", "--hide-scrollbars",
         "--window-size=1400,1600", "--virtual-time-budget=20000", f"--screenshot={screenshot_path}",
         f"{server.url}/#images"],
        capture_output=True, timeout=120, check=True)
    screenshot = cv2.imread(str(screenshot_path), cv2.IMREAD_GRAYSCALE)
    for tag, steps in _of_plugin(logged[run], "images").items():
        last = steps[max(steps)].tensor.string_val[2]  # the card shows the last step
        panel = cv2.imdecode(np.frombuffer(last, np.uint8), cv2.IMREAD_GRAYSCALE)
        correlation, width = _best_match(screenshot, panel)
        assert correlation > 0.9, f"{tag} is not in the page (best match {correlation:.2f} at width {width}); " \
            f"see {screenshot_path}"
