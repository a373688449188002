"""reading.html: the self-contained page readers rate a study kit in (no server, no network).

The page shows one screen at a time (an image alone or a pair side by side) with, beside it, two
questions per image: the likelihood of malignancy and the likelihood that it was modified (1–5). It
is made for reading with the keyboard: ← / → change the screen whatever has focus, 1–5 answer the
highlighted question and move the highlight on, ↑ / ↓ move it. Images are drawn pixel for pixel
(`image-rendering: pixelated`) at an integer number of screen pixels per image pixel (the largest
that fits, or + / - / 0), and dragging on an image sets the window (left/right) and level (up/down)
of every image on the screen, R resets them; window/level is an SVG filter, as a page opened from
file:// may not read the images' pixels, and without it the pixels are the file's. The answers and
the time each image was on screen (summed over visits, while the page was visible) stay in the
browser's localStorage, so a reload loses nothing, and are exported as the responses CSV that
`readout analyze` reads: id, malignancy, modified, reader, reading_ms. With `lock_ratings`, the
ratings given on a screen can no longer be changed once the reader leaves it (unanswered questions
stay open). Images are referenced relatively, so the page works opened straight from the kit's
reader folder.
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
  body { margin: 0; height: 100vh; display: flex; flex-direction: column; font: 15px system-ui, sans-serif;
         background: #111; color: #e8e8e8; }
  header { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem 1.2rem; padding: .45rem 1rem;
           background: #1d1d1d; border-bottom: 1px solid #333; }
  header h1 { margin: 0; font-size: 1.05rem; }
  button { font: inherit; padding: .2rem .7rem; }
  #storage-warning { margin: .4rem 1rem; color: #ffb347; }
  main { flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(0, 1fr) 23rem; }
  #images { display: flex; gap: .8rem; padding: .6rem; min-width: 0; min-height: 0; }
  figure { flex: 1 1 0; min-width: 0; margin: 0; display: flex; flex-direction: column; gap: .3rem; }
  figcaption { text-align: center; color: #bbb; }
  .viewport { flex: 1 1 0; min-height: 0; overflow: auto; display: flex; background: #000; }
  .viewport img { flex: none; margin: auto; image-rendering: pixelated; cursor: crosshair; touch-action: none; }
  #panel { overflow-y: auto; padding: .6rem .9rem; border-left: 1px solid #333; background: #181818;
           display: flex; flex-direction: column; gap: .6rem; }
  #navigation { display: flex; justify-content: space-between; align-items: center; gap: .5rem; }
  .image-questions h2 { margin: 0 0 .3rem; font-size: .95rem; color: #bbb; font-weight: normal; }
  fieldset { margin: 0 0 .35rem; padding: .25rem .6rem .4rem; border: 1px solid #444; border-radius: 4px; }
  fieldset.active { border-color: #6aa6ff; box-shadow: 0 0 0 1px #6aa6ff; }
  fieldset.locked { opacity: .6; }
  fieldset.locked legend::after { content: " (locked)"; color: #ffb347; }
  legend { padding: 0 .3rem; }
  .choices { display: flex; gap: .3rem; }
  .choices label { flex: 1; display: flex; justify-content: center; align-items: center; gap: .25rem;
                   padding: .15rem 0; border: 1px solid #555; border-radius: 4px; cursor: pointer; }
  .choices label:has(input:checked) { background: #27548a; border-color: #6aa6ff; }
  fieldset small { display: block; color: #aaa; margin-top: .2rem; }
  #view-tools { display: grid; grid-template-columns: auto 1fr; gap: .35rem .6rem; align-items: center; }
  #view-tools div { display: flex; align-items: center; gap: .35rem; }
  #lock-note { margin: 0; color: #ffb347; }
  #keys { margin: 0; color: #aaa; font-size: .85rem; line-height: 1.45; }
  kbd { font: inherit; padding: 0 .25rem; border: 1px solid #555; border-radius: 3px; }
  details p { margin: .4rem 0 0; color: #ccc; font-size: .9rem; }
  @media (max-width: 760px) {
    body { height: auto; }
    main { grid-template-columns: 1fr; grid-template-rows: 65vh auto; }
  }
</style>
</head>
<body>
<svg width="0" height="0" style="position: absolute" aria-hidden="true">
  <filter id="window-level" color-interpolation-filters="sRGB">
    <feComponentTransfer><feFuncR type="linear"/><feFuncG type="linear"/><feFuncB type="linear"/></feComponentTransfer>
  </filter>
</svg>
<header>
  <h1>__TITLE__</h1>
  <label>Reader name <input id="reader" autocomplete="off"></label>
  <span id="progress"></span>
  <button id="next-unrated">Next unrated</button>
  <button id="export-button">Export responses (CSV)</button>
</header>
<p id="storage-warning" hidden>This browser does not keep your answers: export them before you close the page.</p>
<main>
  <section id="images"></section>
  <aside id="panel">
    <div id="navigation">
      <button id="previous">&larr; Previous</button>
      <span id="position"></span>
      <button id="next">Next &rarr;</button>
    </div>
    <div id="questions"></div>
    <p id="lock-note" hidden>Ratings lock when you leave a screen.</p>
    <div id="view-tools">
      <span>Zoom</span>
      <div><button id="zoom-out" title="Key −">&minus;</button><span id="zoom-value"></span>
        <button id="zoom-in" title="Key +">+</button><button id="zoom-fit" title="Key 0">Fit</button></div>
      <span>Window</span>
      <div><span id="window-level-value"></span><button id="window-reset" title="Key R">Reset</button></div>
    </div>
    <p id="keys"><kbd>&larr;</kbd> <kbd>&rarr;</kbd> screen &middot; <kbd>1</kbd>&ndash;<kbd>5</kbd> answer the
      highlighted question, the highlight moves on (malignancy, then modified) &middot; <kbd>&uarr;</kbd>
      <kbd>&darr;</kbd> move it &middot; <kbd>+</kbd> <kbd>&minus;</kbd> <kbd>0</kbd> zoom, fit &middot;
      drag on an image: window &harr;, level &varr;, <kbd>R</kbd> reset</p>
    <details>
      <summary>Instructions</summary>
      <p>Some images are originals, some were modified by a neural network that adds or removes signs of
      cancer. A screen shows one image, or two images side by side. Rate every image: how likely it shows
      a malignancy (1 definitely healthy … 5 definitely cancer) and how likely it was modified
      (1 definitely original … 5 definitely modified). Images are shown pixel for pixel: the zoom counts
      screen pixels per image pixel. Drag on an image to the right for a wider window (less contrast),
      down for a higher level (darker); every screen starts at the full range.
      Your answers, and how long each image was on screen, stay in this browser; when you are done,
      enter your name and press "Export responses (CSV)", then send the downloaded file back.</p>
    </details>
  </aside>
</main>
<script type="application/json" id="study-data">__DATA__</script>
<script>
"use strict";
const study = JSON.parse(document.getElementById("study-data").textContent);
const FIELDS = [
  {name: "malignancy", question: "Likelihood of malignancy", scale: "1 definitely healthy … 5 definitely cancer"},
  {name: "modified", question: "Likelihood that it was modified",
   scale: "1 definitely original … 5 definitely modified"},
];
const GREY_LEVELS = 255;
const MAX_ZOOM = 32;
const ids = study.screens.flat().map(image => image.id);
const storageKey = "breastgan-study:" + study.kit;
const readerInput = document.getElementById("reader");
let state = {reader: "", position: 0, ratings: {}, readingMs: {}, locked: {}};
const view = {zoom: null, level: 0.5, width: 1, active: 0, shownSince: null};

function byId(id) { return document.getElementById(id); }

function clamp(value, low, high) { return Math.max(low, Math.min(high, value)); }

function element(tag, properties) { return Object.assign(document.createElement(tag), properties || {}); }

function shownImages() { return [...document.querySelectorAll("#images img")]; }

function warnStorage() { byId("storage-warning").hidden = false; }

function loadState() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (saved && typeof saved === "object") state = Object.assign(state, saved);
  } catch (error) { warnStorage(); }
  state.position = clamp(state.position, 0, study.screens.length - 1);
}

function saveState() {
  try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (error) { warnStorage(); }
}

function ratingOf(id, field) { return (state.ratings[id] || {})[field]; }

function isLocked(id, field) { return Boolean((state.locked[id] || {})[field]); }

function isRated(id) { return FIELDS.every(field => ratingOf(id, field.name)); }

function screenQuestions() {
  return study.screens[state.position].flatMap(image => FIELDS.map(field => ({id: image.id, field: field.name})));
}

function rate(id, field, value) {
  if (isLocked(id, field)) return;
  state.ratings[id] = Object.assign({}, state.ratings[id], {[field]: value});
  saveState();
  const questions = screenQuestions();
  const answered = questions.findIndex(question => question.id === id && question.field === field);
  view.active = Math.min(answered + 1, questions.length - 1);
  showRatings();
  showProgress();
}

function answerActive(value) {
  const question = screenQuestions()[view.active];
  rate(question.id, question.field, value);
}

function moveActive(step) {
  view.active = clamp(view.active + step, 0, screenQuestions().length - 1);
  showRatings();
}

function lockAnswered(position) {
  for (const image of study.screens[position]) {
    for (const field of FIELDS) {
      if (ratingOf(image.id, field.name)) {
        state.locked[image.id] = Object.assign({}, state.locked[image.id], {[field.name]: true});
      }
    }
  }
}

function recordReadingTime() {
  const now = performance.now();
  if (view.shownSince !== null) {
    for (const image of study.screens[state.position]) {
      state.readingMs[image.id] = (state.readingMs[image.id] || 0) + now - view.shownSince;
    }
  }
  view.shownSince = document.hidden ? null : now;
  saveState();
}

function showProgress() {
  byId("progress").textContent = `${ids.filter(isRated).length} of ${ids.length} images rated`;
}

function showRatings() {
  document.querySelectorAll("#questions fieldset").forEach((fieldset, index) => {
    const {id, field} = fieldset.dataset;
    const locked = isLocked(id, field);
    fieldset.classList.toggle("active", index === view.active);
    fieldset.classList.toggle("locked", locked);
    for (const input of fieldset.querySelectorAll("input")) {
      input.checked = ratingOf(id, field) === Number(input.value);
      input.disabled = locked;
    }
  });
}

function ratingFieldset(id, field) {
  const fieldset = element("fieldset");
  Object.assign(fieldset.dataset, {id, field: field.name});
  const choices = element("div", {className: "choices"});
  for (let value = 1; value <= 5; value++) {
    const input = element("input", {type: "radio", name: `${id}-${field.name}`, value: String(value)});
    input.addEventListener("change", () => rate(id, field.name, value));
    const label = element("label");
    label.append(input, String(value));
    choices.append(label);
  }
  fieldset.append(element("legend", {textContent: field.question}), choices,
                  element("small", {textContent: field.scale}));
  return fieldset;
}

function questionGroup(id, caption) {
  const group = element("section", {className: "image-questions"});
  group.append(element("h2", {textContent: caption}), ...FIELDS.map(field => ratingFieldset(id, field)));
  return group;
}

function imageFigure(image, caption) {
  const img = element("img", {src: image.src, alt: caption, draggable: false});
  img.addEventListener("load", applyZoom);
  img.addEventListener("pointerdown", startWindowing);
  const viewport = element("div", {className: "viewport"});
  viewport.append(img);
  viewport.addEventListener("scroll", () => syncScroll(viewport));
  const figure = element("figure");
  figure.append(element("figcaption", {textContent: caption}), viewport);
  return figure;
}

function syncScroll(source) {
  for (const viewport of document.querySelectorAll("#images .viewport")) {
    if (viewport !== source) {
      viewport.scrollLeft = source.scrollLeft;
      viewport.scrollTop = source.scrollTop;
    }
  }
}

function loadedImages() { return shownImages().filter(img => img.naturalWidth); }

function fitZoom() {
  const fits = loadedImages().map(img => {
    const box = img.parentElement.getBoundingClientRect();
    const scale = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
    return Math.floor(scale * window.devicePixelRatio);
  });
  return clamp(Math.min(...fits), 1, MAX_ZOOM);
}

function currentZoom() { return view.zoom === null ? fitZoom() : view.zoom; }

function setZoom(zoom) {
  view.zoom = zoom === null ? null : clamp(zoom, 1, MAX_ZOOM);
  applyZoom();
}

function applyZoom() {
  if (!loadedImages().length) return;
  const zoom = currentZoom();
  for (const img of loadedImages()) {
    img.style.width = `${img.naturalWidth * zoom / window.devicePixelRatio}px`;
    img.style.height = `${img.naturalHeight * zoom / window.devicePixelRatio}px`;
  }
  byId("zoom-value").textContent = `×${zoom}` + (view.zoom === null ? " (fit)" : "");
}

function startWindowing(event) {
  if (event.button !== 0) return;
  event.preventDefault();
  const img = event.currentTarget;
  img.setPointerCapture(event.pointerId);
  let last = {x: event.clientX, y: event.clientY};
  const drag = move => {
    view.width = clamp(view.width + (move.clientX - last.x) / GREY_LEVELS, 1 / GREY_LEVELS, 2);
    view.level = clamp(view.level + (move.clientY - last.y) / GREY_LEVELS, 0, 1);
    last = {x: move.clientX, y: move.clientY};
    applyWindowLevel();
  };
  img.addEventListener("pointermove", drag);
  img.addEventListener("lostpointercapture", () => img.removeEventListener("pointermove", drag), {once: true});
}

function resetWindowLevel() {
  Object.assign(view, {level: 0.5, width: 1});
  applyWindowLevel();
}

function applyWindowLevel() {
  const identity = view.level === 0.5 && view.width === 1;
  for (const transfer of document.querySelectorAll("#window-level feComponentTransfer > *")) {
    transfer.setAttribute("slope", String(1 / view.width));
    transfer.setAttribute("intercept", String(0.5 - view.level / view.width));
  }
  for (const img of shownImages()) img.style.filter = identity ? "" : "url(#window-level)";
  byId("window-level-value").textContent =
    `width ${Math.round(view.width * GREY_LEVELS)}, level ${Math.round(view.level * GREY_LEVELS)}`;
}

function renderScreen() {
  const images = study.screens[state.position];
  const captions = images.length > 1 ? ["Left image", "Right image"] : ["Image"];
  byId("images").replaceChildren(...images.map((image, side) => imageFigure(image, captions[side])));
  byId("questions").replaceChildren(...images.map((image, side) => questionGroup(image.id, captions[side])));
  const open = screenQuestions().findIndex(({id, field}) => !ratingOf(id, field) && !isLocked(id, field));
  view.active = Math.max(open, 0);
  byId("position").textContent = `Screen ${state.position + 1} of ${study.screens.length}`;
  byId("previous").disabled = state.position === 0;
  byId("next").disabled = state.position === study.screens.length - 1;
  resetWindowLevel();
  applyZoom();
  showRatings();
}

function goTo(index) {
  const target = clamp(index, 0, study.screens.length - 1);
  if (target === state.position) return;
  recordReadingTime();
  if (study.lock_ratings) lockAnswered(state.position);
  state.position = target;
  saveState();
  renderScreen();
}

function nextUnrated() {
  const count = study.screens.length;
  for (let step = 1; step <= count; step++) {
    const index = (state.position + step) % count;
    if (!study.screens[index].every(image => isRated(image.id))) return goTo(index);
  }
  alert("Every image is rated.");
}

function csvCell(text) { return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text; }

function responsesCsv() {
  const rows = [["id", "malignancy", "modified", "reader", "reading_ms"]];
  for (const id of ids) {
    const rating = state.ratings[id] || {};
    rows.push([id, rating.malignancy || "", rating.modified || "", state.reader.trim(),
               Math.round(state.readingMs[id] || 0)]);
  }
  return rows.map(row => row.map(cell => csvCell(String(cell))).join(",")).join("\n") + "\n";
}

function exportResponses() {
  const reader = state.reader.trim();
  if (!reader) { alert("Please enter your name first."); readerInput.focus(); return; }
  const missing = ids.filter(id => !isRated(id)).length;
  if (missing && !confirm(`${missing} image(s) are not rated yet. Export anyway?`)) return;
  recordReadingTime();
  const link = element("a", {href: URL.createObjectURL(new Blob([responsesCsv()], {type: "text/csv"})),
                             download: `responses_${reader.replace(/[^A-Za-z0-9_-]+/g, "_")}.csv`});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

const KEY_ACTIONS = {
  ArrowRight: () => goTo(state.position + 1),
  ArrowLeft: () => goTo(state.position - 1),
  ArrowDown: () => moveActive(1),
  ArrowUp: () => moveActive(-1),
  "+": () => setZoom(currentZoom() + 1),
  "=": () => setZoom(currentZoom() + 1),
  "-": () => setZoom(currentZoom() - 1),
  "0": () => setZoom(null),
  r: resetWindowLevel,
  R: resetWindowLevel,
};

function onKey(event) {
  if (event.ctrlKey || event.altKey || event.metaKey) return;
  if (event.target === readerInput) {
    if (event.key === "Enter" || event.key === "Escape") readerInput.blur();
    return;
  }
  const digit = /^(?:Digit|Numpad)([1-5])$/.exec(event.code);
  const action = digit ? () => answerActive(Number(digit[1])) : KEY_ACTIONS[event.key];
  if (!action) return;
  event.preventDefault();
  event.stopPropagation();
  action();
}

loadState();
readerInput.value = state.reader;
readerInput.addEventListener("input", () => { state.reader = readerInput.value; saveState(); });
byId("previous").addEventListener("click", () => goTo(state.position - 1));
byId("next").addEventListener("click", () => goTo(state.position + 1));
byId("next-unrated").addEventListener("click", nextUnrated);
byId("export-button").addEventListener("click", exportResponses);
byId("zoom-in").addEventListener("click", () => setZoom(currentZoom() + 1));
byId("zoom-out").addEventListener("click", () => setZoom(currentZoom() - 1));
byId("zoom-fit").addEventListener("click", () => setZoom(null));
byId("window-reset").addEventListener("click", resetWindowLevel);
byId("lock-note").hidden = !study.lock_ratings;
window.addEventListener("keydown", onKey, true);
window.addEventListener("resize", applyZoom);
document.addEventListener("visibilitychange", recordReadingTime);
window.addEventListener("pagehide", recordReadingTime);
view.shownSince = document.hidden ? null : performance.now();
renderScreen();
showProgress();
</script>
</body>
</html>
"""


def write_reading_page(path, title: str, kit: str, screens: list[list[dict]], lock_ratings: bool = False) -> Path:
    """Write the page for `screens` (each a list of {"id", "src"}: image ID and relative image path).

    `kit` names the study in the browser's storage, so two kits opened in one browser keep apart.
    `lock_ratings`: a screen's ratings can no longer be changed once the reader leaves it.
    """
    path = Path(path)
    data = json.dumps({"kit": kit, "lock_ratings": lock_ratings, "screens": screens},
                      separators=(",", ":")).replace("</", "<\\/")
    path.write_text(PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data), encoding="utf-8")
    return path
