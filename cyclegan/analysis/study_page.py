"""reading.html: the self-contained page readers rate a study kit in (no server, no network).

The page shows one screen at a time (an image alone or a pair side by side), asks for each image
the likelihood of malignancy and the likelihood that it was modified (1–5), keeps the answers in
the browser's localStorage (a reload loses nothing) and exports them as the responses CSV that
`readout analyze` reads: id, malignancy, modified, reader. Images are referenced relatively, so
the page works opened straight from the kit's reader folder.

Test hook: `reading.html?autotest=1` rates every image through the page's own radio buttons
(malignancy 1 + i mod 5, modified 1 + (2i + 1) mod 5 for the i-th image in reading order), names
the reader "autotest" and writes the export into <pre id="export">; `?autotest=export` only writes
the export of the answers already stored.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

PAGE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  :root { color-scheme: dark; }
  body { margin: 0; font-family: system-ui, sans-serif; background: #111; color: #e8e8e8; }
  header { position: sticky; top: 0; display: flex; flex-wrap: wrap; align-items: center; gap: .6rem 1.4rem;
           padding: .6rem 1rem; background: #1d1d1d; border-bottom: 1px solid #333; }
  header h1 { margin: 0; font-size: 1.1rem; }
  button { font: inherit; padding: .25rem .8rem; }
  details, #storage-warning { margin: .6rem 1rem; }
  #storage-warning { color: #ffb347; }
  nav { display: flex; justify-content: center; align-items: center; gap: 1rem; margin: .8rem; }
  #screen { display: flex; flex-wrap: wrap; justify-content: center; gap: 2rem; padding: 0 1rem 2rem; }
  figure { margin: 0; display: flex; flex-direction: column; align-items: center; gap: .5rem; }
  figure img { height: 70vh; max-width: 44vw; object-fit: contain; background: #000; }
  #screen.single figure img { max-width: 90vw; }
  fieldset { border: 1px solid #444; border-radius: 4px; }
  fieldset label { margin-right: .7rem; }
  fieldset small { display: block; color: #aaa; margin-top: .2rem; }
</style>
</head>
<body>
<header>
  <h1>__TITLE__</h1>
  <label>Reader name <input id="reader" autocomplete="off"></label>
  <span id="progress"></span>
  <button id="next-unrated">Next unrated</button>
  <button id="export-button">Export responses (CSV)</button>
</header>
<p id="storage-warning" hidden>This browser does not keep your answers: export them before you close the page.</p>
<details>
  <summary>Instructions</summary>
  <p>Some images are originals, some were modified by a neural network that adds or removes signs of
  cancer. A screen shows one image, or two images side by side. Rate every image: how likely it shows
  a malignancy (1 definitely healthy … 5 definitely cancer) and how likely it was modified
  (1 definitely original … 5 definitely modified). Your answers stay in this browser; when you are
  done, enter your name and press "Export responses (CSV)", then send the downloaded file back.</p>
</details>
<nav>
  <button id="previous">&larr; Previous</button>
  <span id="position"></span>
  <button id="next">Next &rarr;</button>
</nav>
<section id="screen"></section>
<pre id="export" hidden></pre>
<script type="application/json" id="study-data">__DATA__</script>
<script>
"use strict";
const study = JSON.parse(document.getElementById("study-data").textContent);
const FIELDS = [
  {name: "malignancy", question: "Likelihood of malignancy", scale: "1 definitely healthy … 5 definitely cancer"},
  {name: "modified", question: "Likelihood that the image was modified",
   scale: "1 definitely original … 5 definitely modified"},
];
const ids = study.screens.flat().map(image => image.id);
const storageKey = "breastgan-study:" + study.kit;
const readerInput = document.getElementById("reader");
let state = {reader: "", position: 0, ratings: {}};

function warnStorage() { document.getElementById("storage-warning").hidden = false; }

function loadState() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved && typeof saved === "object") state = Object.assign(state, saved);
  } catch (error) { warnStorage(); }
}

function saveState() {
  try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (error) { warnStorage(); }
}

function isRated(id) {
  const rating = state.ratings[id];
  return Boolean(rating) && FIELDS.every(field => rating[field.name]);
}

function rate(id, field, value) {
  state.ratings[id] = Object.assign({}, state.ratings[id], {[field]: value});
  saveState();
  showProgress();
}

function showProgress() {
  document.getElementById("progress").textContent =
    `${ids.filter(isRated).length} of ${ids.length} images rated`;
}

function element(tag, properties) { return Object.assign(document.createElement(tag), properties || {}); }

function ratingFieldset(id, field) {
  const fieldset = element("fieldset");
  fieldset.append(element("legend", {textContent: field.question}));
  for (let value = 1; value <= 5; value++) {
    const input = element("input", {type: "radio", name: `${id}-${field.name}`, value: String(value)});
    input.checked = (state.ratings[id] || {})[field.name] === value;
    input.addEventListener("change", () => rate(id, field.name, value));
    const label = element("label");
    label.append(input, ` ${value}`);
    fieldset.append(label);
  }
  fieldset.append(element("small", {textContent: field.scale}));
  return fieldset;
}

function showScreen(index) {
  state.position = Math.max(0, Math.min(study.screens.length - 1, index));
  saveState();
  const images = study.screens[state.position];
  const section = document.getElementById("screen");
  section.replaceChildren();
  section.className = images.length > 1 ? "pair" : "single";
  images.forEach((image, side) => {
    const caption = images.length > 1 ? ["Left", "Right"][side] : "Image";
    const figure = element("figure");
    figure.append(element("figcaption", {textContent: caption}), element("img", {src: image.src, alt: caption}));
    FIELDS.forEach(field => figure.append(ratingFieldset(image.id, field)));
    section.append(figure);
  });
  document.getElementById("position").textContent = `Screen ${state.position + 1} of ${study.screens.length}`;
  document.getElementById("previous").disabled = state.position === 0;
  document.getElementById("next").disabled = state.position === study.screens.length - 1;
}

function nextUnrated() {
  const count = study.screens.length;
  for (let step = 1; step <= count; step++) {
    const index = (state.position + step) % count;
    if (!study.screens[index].every(image => isRated(image.id))) return showScreen(index);
  }
  alert("Every image is rated.");
}

function csvCell(text) { return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text; }

function responsesCsv() {
  const rows = [["id", "malignancy", "modified", "reader"]];
  for (const id of ids) {
    const rating = state.ratings[id] || {};
    rows.push([id, rating.malignancy || "", rating.modified || "", state.reader.trim()]);
  }
  return rows.map(row => row.map(cell => csvCell(String(cell))).join(",")).join("\n") + "\n";
}

function exportResponses() {
  const reader = state.reader.trim();
  if (!reader) { alert("Please enter your name first."); readerInput.focus(); return; }
  const missing = ids.filter(id => !isRated(id)).length;
  if (missing && !confirm(`${missing} image(s) are not rated yet. Export anyway?`)) return;
  const link = element("a", {href: URL.createObjectURL(new Blob([responsesCsv()], {type: "text/csv"})),
                             download: `responses_${reader.replace(/[^A-Za-z0-9_-]+/g, "_")}.csv`});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

function autotest(mode) {
  if (mode === "1") {
    study.screens.forEach((images, index) => {
      showScreen(index);
      for (const image of images) {
        const i = ids.indexOf(image.id);
        const values = {malignancy: 1 + i % 5, modified: 1 + (2 * i + 1) % 5};
        for (const field of FIELDS) {
          document.querySelector(`input[name="${image.id}-${field.name}"][value="${values[field.name]}"]`).click();
        }
      }
    });
    readerInput.value = "autotest";
    readerInput.dispatchEvent(new Event("input"));
  }
  const output = document.getElementById("export");
  output.textContent = responsesCsv();
  output.hidden = false;
}

loadState();
readerInput.value = state.reader;
readerInput.addEventListener("input", () => { state.reader = readerInput.value; saveState(); });
document.getElementById("previous").addEventListener("click", () => showScreen(state.position - 1));
document.getElementById("next").addEventListener("click", () => showScreen(state.position + 1));
document.getElementById("next-unrated").addEventListener("click", nextUnrated);
document.getElementById("export-button").addEventListener("click", exportResponses);
document.addEventListener("keydown", event => {
  if (event.target instanceof HTMLInputElement) return;
  if (event.key === "ArrowLeft") showScreen(state.position - 1);
  if (event.key === "ArrowRight") showScreen(state.position + 1);
});
showScreen(state.position);
showProgress();
const testMode = new URLSearchParams(location.search).get("autotest");
if (testMode) autotest(testMode);
</script>
</body>
</html>
"""


def write_reading_page(path, title: str, kit: str, screens: list[list[dict]]) -> Path:
    """Write the page for `screens` (each a list of {"id", "src"}: image ID and relative image path).

    `kit` names the study in the browser's storage, so two kits opened in one browser keep apart.
    """
    path = Path(path)
    data = json.dumps({"kit": kit, "screens": screens}, separators=(",", ":")).replace("</", "<\\/")
    path.write_text(PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data), encoding="utf-8")
    return path
