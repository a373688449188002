"""reading.html: the self-contained page readers rate a study kit in (no server, no network).

Each time the page opens it asks for the reader's name first, and shows nothing of any earlier
reader until a name is entered. The answers are kept per study ID and reader name in the browser's
localStorage, so a reload loses nothing, two kits opened in one browser keep apart, and a reader
who enters their name again resumes their answers (the page says so). "New reader" saves and goes
back to the name dialog, so readers can take turns in one browser.

The page shows one screen at a time (an image alone or a pair side by side) with, beside it, two
questions per image: the likelihood of malignancy and the likelihood that it was modified (1–5). It
is made for reading with the keyboard: ← / → change the screen whatever has focus, 1–5 answer the
highlighted question and move the highlight on, ↑ / ↓ move it. Images are drawn with sharp pixels
(`image-rendering: pixelated`), at first fitted to their viewports (the largest scale, whole or not,
at which every image of the screen fits); + / - step through the pixel-exact whole zooms (screen
pixels per image pixel) about the viewport's centre, Ctrl + wheel about the cursor, 0 fits again.
Dragging on an image sets the window (left/right) and level (up/down) of every image on the screen,
R resets them to the kit's `window`, where every screen starts; window/level is an SVG filter, as a
page opened from file:// may not read the images' pixels, and where the window is the full range the
pixels are the file's. The answers and the time each image was on screen (summed over visits, while
the page was visible) are exported as the responses CSV that `readout analyze` reads: id,
malignancy, modified, reader, reading_ms, study (the study ID, also in the file's name). With
`lock_ratings`, the ratings given on a screen can no longer be changed once the reader leaves it
(unanswered questions stay open). Images are referenced relatively, so the page works opened
straight from the kit's reader folder.
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
  #resume-note { color: #8fd18f; }
  button { font: inherit; padding: .2rem .7rem; }
  #start { position: fixed; inset: 0; z-index: 1; display: flex; align-items: center; justify-content: center;
           background: #111; }
  #start[hidden] { display: none; }
  #start form { display: flex; flex-direction: column; gap: .7rem; padding: 1.2rem 1.5rem; background: #1d1d1d;
                border: 1px solid #444; border-radius: 6px; }
  #start h2 { margin: 0; font-size: 1.1rem; }
  #start p { margin: 0; color: #bbb; }
  #storage-warning { margin: .4rem 1rem; color: #ffb347; }
  main { flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(0, 1fr) 23rem; }
  #images { display: flex; gap: .8rem; padding: .6rem; min-width: 0; min-height: 0; }
  figure { flex: 1 1 0; min-width: 0; margin: 0; display: flex; flex-direction: column; gap: .3rem; }
  figcaption { text-align: center; color: #bbb; }
  .viewport { flex: 1 1 0; min-height: 0; overflow: auto; display: flex; background: #000; }
  #images.fit .viewport { overflow: hidden; }
  .viewport img { flex: none; margin: auto; image-rendering: pixelated; cursor: crosshair; touch-action: none; }
  #panel { min-height: 0; overflow-y: auto; padding: .6rem .9rem; border-left: 1px solid #333; background: #181818;
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
<div id="start" role="dialog" aria-modal="true" aria-labelledby="start-title">
  <form id="start-form">
    <h2 id="start-title">__TITLE__</h2>
    <label>Your name <input id="reader" autocomplete="off"></label>
    <p id="start-message">Enter your name to start, or to resume your answers.</p>
    <button>Start</button>
  </form>
</div>
<header>
  <h1>__TITLE__</h1>
  <span>Reader: <strong id="reader-name"></strong></span>
  <button id="new-reader" title="Save your answers and let another reader start">New reader</button>
  <span id="progress"></span>
  <span id="resume-note" hidden></span>
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
      <kbd>&darr;</kbd> move it &middot; <kbd>+</kbd> <kbd>&minus;</kbd> <kbd>0</kbd> zoom, fit, Ctrl + wheel zoom
      at the cursor &middot; drag on an image: window &harr;, level &varr;, <kbd>R</kbd> reset</p>
    <details>
      <summary>Instructions</summary>
      <p>Some images are originals, some were modified by a neural network that adds or removes signs of
      cancer. A screen shows one image, or two images side by side. Rate every image: how likely it shows
      a malignancy (1 definitely healthy … 5 definitely cancer) and how likely it was modified
      (1 definitely original … 5 definitely modified). Images open fitted to the screen; + and − step
      through the pixel-exact zooms (×2: two screen pixels per image pixel). Drag on an image to the right
      for a wider window (less contrast), down for a higher level (darker); every screen starts at the
      study's common window, R returns to it. Your answers, and how long each image was on screen, stay
      in this browser under your name: enter it again to resume, press "New reader" to let someone else
      read. When you are done, press "Export responses (CSV)" and send the downloaded file back.</p>
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
const DRAG_STEP = 1 / 255;  // window or level change per pixel dragged, as a fraction of the grey range
const MAX_ZOOM = 32;
const WHEEL_STEP = 100;  // wheel movement per zoom step: a mouse wheel's notch
const [LOW, HIGH] = study.window;
const ids = study.screens.flat().map(image => image.id);
const nameInput = document.getElementById("reader");
let reader = "";  // "" while the start dialog is open
let state = blankState();
const view = {zoom: null, scale: 1, wheel: 0, level: 0.5, width: 1, active: 0, shownSince: null};

function byId(id) { return document.getElementById(id); }

function clamp(value, low, high) { return Math.max(low, Math.min(high, value)); }

function element(tag, properties) { return Object.assign(document.createElement(tag), properties || {}); }

function shownImages() { return [...document.querySelectorAll("#images img")]; }

function warnStorage() { byId("storage-warning").hidden = false; }

function blankState() { return {position: 0, ratings: {}, readingMs: {}, locked: {}}; }

function storageKey() { return `breastgan-study:${study.study}:${reader}`; }

function loadState() {
  try {
    const saved = JSON.parse(localStorage.getItem(storageKey()) || "null");
    if (saved && typeof saved === "object") state = Object.assign(blankState(), saved);
  } catch (error) { warnStorage(); }
  state.position = clamp(state.position, 0, study.screens.length - 1);
}

function saveState() {
  if (!reader) return;
  try { localStorage.setItem(storageKey(), JSON.stringify(state)); } catch (error) { warnStorage(); }
}

function setReader(name) {  // "": back to the start dialog, with nothing of any reader shown
  reader = name;
  state = blankState();
  if (reader) loadState();
  byId("reader-name").textContent = reader;
  const note = byId("resume-note");
  note.textContent = `Resuming: ${ids.filter(isRated).length} of ${ids.length} rated`;
  note.hidden = !Object.keys(state.ratings).length;
  byId("start").hidden = Boolean(reader);
  for (const part of document.querySelectorAll("header, main")) part.inert = !reader;
  view.zoom = null;
  view.shownSince = reader && !document.hidden ? performance.now() : null;
  renderScreen();
  showProgress();
  if (!reader) {
    nameInput.value = "";
    nameInput.focus();
  }
}

function start(event) {
  event.preventDefault();
  const name = nameInput.value.trim();
  if (name) setReader(name);
  else byId("start-message").textContent = "Please enter your name.";
}

function newReader() {
  recordReadingTime();
  setReader("");
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
  view.shownSince = document.hidden || !reader ? null : now;
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
  img.addEventListener("wheel", wheelZoom, {passive: false});
  const viewport = element("div", {className: "viewport"});
  viewport.append(img);
  viewport.addEventListener("scroll", () => syncScroll(viewport));
  const figure = element("figure");
  figure.append(element("figcaption", {textContent: caption}), viewport);
  return figure;
}

const syncedTo = new WeakMap();  // viewport -> the scroll position syncScroll last gave it

function scrollPosition(viewport) { return `${viewport.scrollLeft},${viewport.scrollTop}`; }

function syncScroll(source) {  // the screen's other viewports scroll with `source`
  if (syncedTo.get(source) === scrollPosition(source)) return;  // the late echo of a scroll set here
  for (const viewport of document.querySelectorAll("#images .viewport")) {
    if (viewport !== source) {
      viewport.scrollLeft = source.scrollLeft;
      viewport.scrollTop = source.scrollTop;
      syncedTo.set(viewport, scrollPosition(viewport));
    }
  }
}

function loadedImages() { return shownImages().filter(img => img.naturalWidth); }

function fitScale() {  // the largest scale at which every loaded image of the screen fits its viewport
  return Math.min(MAX_ZOOM, ...loadedImages().map(img => {
    const box = img.parentElement.getBoundingClientRect();
    return Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight) * window.devicePixelRatio;
  }));
}

function applyZoom() {  // view.scale: device pixels per image pixel, kept while a new screen's images load
  const images = loadedImages();
  view.scale = view.zoom ?? (images.length ? fitScale() : view.scale);
  byId("images").classList.toggle("fit", view.zoom === null);
  for (const img of images) {
    img.style.width = `${img.naturalWidth * view.scale / window.devicePixelRatio}px`;
    img.style.height = `${img.naturalHeight * view.scale / window.devicePixelRatio}px`;
  }
  byId("zoom-value").textContent = view.zoom === null ? `fit (×${view.scale.toFixed(2)})` : `×${view.zoom}`;
}

function visibleCentre(viewport) {
  const box = viewport.getBoundingClientRect();
  return {x: box.left + viewport.clientWidth / 2, y: box.top + viewport.clientHeight / 2};
}

function setZoom(zoom, cursor) {
  // the image point under `cursor` ({img, x, y}), else at the first viewport's centre, stays in place
  const img = cursor ? cursor.img : loadedImages()[0];
  const anchor = () => cursor || visibleCentre(img.parentElement);
  const box = img && img.getBoundingClientRect(), from = img && anchor();
  view.zoom = zoom;
  applyZoom();
  if (!img) return;
  const zoomed = img.getBoundingClientRect(), to = anchor(), viewport = img.parentElement;
  viewport.scrollLeft += zoomed.left + (from.x - box.left) / box.width * zoomed.width - to.x;
  viewport.scrollTop += zoomed.top + (from.y - box.top) / box.height * zoomed.height - to.y;
  syncScroll(viewport);  // now, before a late scroll event of another viewport can carry its old position back
}

function stepZoom(step, cursor) {  // to the next whole zoom above (step 1) or below (-1) the scale shown
  const zoom = step > 0 ? Math.floor(view.scale) + 1 : Math.ceil(view.scale) - 1;
  if (zoom >= 1 && zoom <= MAX_ZOOM) setZoom(zoom, cursor);
}

function wheelZoom(event) {
  if (!event.ctrlKey) return;  // a plain wheel scrolls
  event.preventDefault();
  view.wheel += event.deltaY;
  if (Math.abs(view.wheel) < WHEEL_STEP) return;
  stepZoom(view.wheel < 0 ? 1 : -1, {img: event.currentTarget, x: event.clientX, y: event.clientY});
  view.wheel = 0;
}

function startWindowing(event) {
  if (event.button !== 0) return;
  event.preventDefault();
  const img = event.currentTarget;
  img.setPointerCapture(event.pointerId);
  let last = {x: event.clientX, y: event.clientY};
  const drag = move => {
    view.width = clamp(view.width + (move.clientX - last.x) * DRAG_STEP, DRAG_STEP, 2);
    view.level = clamp(view.level + (move.clientY - last.y) * DRAG_STEP, 0, 1);
    last = {x: move.clientX, y: move.clientY};
    applyWindowLevel();
  };
  img.addEventListener("pointermove", drag);
  img.addEventListener("lostpointercapture", () => img.removeEventListener("pointermove", drag), {once: true});
}

function resetWindowLevel() {
  Object.assign(view, {level: (LOW + HIGH) / 2, width: HIGH - LOW});
  applyWindowLevel();
}

function percent(fraction) { return `${(100 * fraction).toFixed(1)}%`; }

function applyWindowLevel() {
  const identity = view.level === 0.5 && view.width === 1;
  for (const transfer of document.querySelectorAll("#window-level feComponentTransfer > *")) {
    transfer.setAttribute("slope", String(1 / view.width));
    transfer.setAttribute("intercept", String(0.5 - view.level / view.width));
  }
  for (const img of shownImages()) img.style.filter = identity ? "" : "url(#window-level)";
  byId("window-level-value").textContent = `width ${percent(view.width)}, level ${percent(view.level)}`;
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
  byId("resume-note").hidden = true;
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
  const rows = [["id", "malignancy", "modified", "reader", "reading_ms", "study"]];
  for (const id of ids) {
    const rating = state.ratings[id] || {};
    rows.push([id, rating.malignancy || "", rating.modified || "", reader, Math.round(state.readingMs[id] || 0),
               study.study]);
  }
  return rows.map(row => row.map(cell => csvCell(String(cell))).join(",")).join("\n") + "\n";
}

function fileNamePart(text) { return text.replace(/[^A-Za-z0-9_-]+/g, "_"); }

function exportResponses() {
  const missing = ids.filter(id => !isRated(id)).length;
  if (missing && !confirm(`${missing} image(s) are not rated yet. Export anyway?`)) return;
  recordReadingTime();
  const link = element("a", {href: URL.createObjectURL(new Blob([responsesCsv()], {type: "text/csv"})),
                             download: `responses_${fileNamePart(reader)}_${fileNamePart(study.study)}.csv`});
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
  "+": () => stepZoom(1),
  "=": () => stepZoom(1),
  "-": () => stepZoom(-1),
  "0": () => setZoom(null),
  r: resetWindowLevel,
  R: resetWindowLevel,
};

function onKey(event) {
  if (!reader || event.ctrlKey || event.altKey || event.metaKey) return;  // the start dialog's name takes keys
  const digit = /^(?:Digit|Numpad)([1-5])$/.exec(event.code);
  const action = digit ? () => answerActive(Number(digit[1])) : KEY_ACTIONS[event.key];
  if (!action) return;
  event.preventDefault();
  event.stopPropagation();
  action();
}

byId("start-form").addEventListener("submit", start);
byId("new-reader").addEventListener("click", newReader);
byId("previous").addEventListener("click", () => goTo(state.position - 1));
byId("next").addEventListener("click", () => goTo(state.position + 1));
byId("next-unrated").addEventListener("click", nextUnrated);
byId("export-button").addEventListener("click", exportResponses);
byId("zoom-in").addEventListener("click", () => stepZoom(1));
byId("zoom-out").addEventListener("click", () => stepZoom(-1));
byId("zoom-fit").addEventListener("click", () => setZoom(null));
byId("window-reset").addEventListener("click", resetWindowLevel);
byId("lock-note").hidden = !study.lock_ratings;
window.addEventListener("keydown", onKey, true);
window.addEventListener("resize", applyZoom);
document.addEventListener("visibilitychange", recordReadingTime);
window.addEventListener("pagehide", recordReadingTime);
setReader("");
</script>
</body>
</html>
"""


def write_reading_page(path, title: str, study_id: str, screens: list[list[dict]], lock_ratings: bool = False,
                       window: tuple[float, float] = (0.0, 1.0)) -> Path:
    """Write the page for `screens` (each a list of {"id", "src"}: image ID and relative image path).

    `study_id` names the study in the browser's storage and in every exported row, so two kits opened
    in one browser keep apart. `lock_ratings`: a screen's ratings can no longer be changed once the
    reader leaves it. `window`: (low, high) the initial display window of every image, as fractions
    of the images' full grey range (0: black, 1: white).
    """
    path = Path(path)
    data = json.dumps({"study": study_id, "lock_ratings": lock_ratings, "window": list(window), "screens": screens},
                      separators=(",", ":")).replace("</", "<\\/")
    path.write_text(PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data), encoding="utf-8")
    return path
