// The standalone page's script: draws the scene embedded in the JSON element "scene" with vtk.js
// (inlined before it as the global `vtk`). Values are one byte per cell, variant and time
// (value = offset + code * scale; 255 = no data). URL hash #t=<time>&v=<variant index or name>.
"use strict";
const S = JSON.parse(document.getElementById("scene").textContent);
const ny = S.shape[0], nx = S.shape[1], ncell = ny * nx, ntime = S.times.length;
const NO_DATA = 255, PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const DASHES = ["none", "7 4", "2 3", "10 3 2 3"];
const $ = id => document.getElementById(id);
const state = {t: 0, v: 0, cell: null, timer: null};
// any failure (no WebGL, most often) is shown on the page and marked for the tests
window.addEventListener("error", e => {
  $("error").style.display = "block";
  $("error").textContent = "This page could not draw the city (it needs WebGL): " + e.message;
  document.body.dataset.ready = "error: " + e.message;
});

function bytes(b64) {
  const s = atob(b64), a = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
  return a.buffer;
}
const values = new Uint8Array(bytes(S.values));
const lut = new Uint8Array(bytes(S.lut));
const decode = code => (code === NO_DATA ? NaN : S.offset + code * S.scale);
const UNITS = S.units === "degree_C" ? "\u00b0C" : S.units;
const num = x => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));
const fmt = x => num(x) + (UNITS ? " " + UNITS : "");

// -- the vtk.js scene -------------------------------------------------------------------------
const {vtkActor, vtkMapper, vtkCellPicker} = vtk.Rendering.Core;
const {vtkPolyData} = vtk.Common.DataModel;
const {vtkDataArray} = vtk.Common.Core;
const grw = vtk.Rendering.Misc.vtkGenericRenderWindow.newInstance({
  background: [0.96, 0.96, 0.95], listenWindowResize: true});
grw.setContainer($("view"));
grw.resize();
const renderer = grw.getRenderer(), renderWindow = grw.getRenderWindow();

function polyData(points, polys, lines) {
  const pd = vtkPolyData.newInstance();
  pd.getPoints().setData(points, 3);
  if (polys) pd.getPolys().setData(polys);
  if (lines) pd.getLines().setData(lines);
  return pd;
}
function colourArray(rgb) {
  return vtkDataArray.newInstance({name: "rgb", numberOfComponents: 3, values: rgb});
}
function addActor(pd, {cellColours = false, colour = null, lineWidth = 1} = {}) {
  const mapper = vtkMapper.newInstance();
  mapper.setInputData(pd);
  mapper.setColorModeToDirectScalars();
  if (cellColours) mapper.setScalarModeToUseCellData();
  if (colour) mapper.setScalarVisibility(false);
  const actor = vtkActor.newInstance();
  actor.setMapper(mapper);
  actor.getProperty().set({ambient: 0.3, diffuse: 0.75, specular: 0, lineWidth});
  if (colour) actor.getProperty().setColor(...colour);
  renderer.addActor(actor);
  return actor;
}

// the ground: one point per (decimated) cell, rows north to south; a quad per square of points
const tPoints = new Float32Array(bytes(S.terrain.points));
const quads = new Uint32Array(5 * (ny - 1) * (nx - 1));
for (let r = 0, k = 0; r < ny - 1; r++) for (let c = 0; c < nx - 1; c++, k += 5) {
  const a = r * nx + c;
  quads.set([4, a, a + nx, a + nx + 1, a + 1], k);
}
const terrain = polyData(tPoints, quads);
const normals = Float32Array.from(new Int8Array(bytes(S.terrain.normals)), x => x / 127);
terrain.getPointData().setNormals(
  vtkDataArray.newInstance({name: "Normals", numberOfComponents: 3, values: normals}));
const landRgb = new Uint8Array(bytes(S.terrain.rgb));
const groundColours = colourArray(new Uint8Array(ncell * 3));
terrain.getPointData().setScalars(groundColours);
const terrainActor = addActor(terrain);

// buildings: quads of four corners, one colour per quad (flat shading from the faces)
if (S.buildings) {
  const bPoints = new Float32Array(bytes(S.buildings.points)), nq = bPoints.length / 12;
  const cells = new Uint32Array(5 * nq);
  for (let i = 0; i < nq; i++) cells.set([4, 4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3], 5 * i);
  const houses = polyData(bPoints, cells);
  houses.getCellData().setScalars(colourArray(new Uint8Array(bytes(S.buildings.rgb))));
  addActor(houses, {cellColours: true});
}

// district outlines: a segment on the ground between neighbouring cells of two districts
const at = (r, c, k) => tPoints[3 * (r * nx + c) + k];
if (S.districts) {
  const codes = new Uint8Array(bytes(S.districts.codes)), seg = [], half = S.cell / 2;
  // above the ground surface, which between two points may bulge over both (scene metres)
  const lift = 1 + 0.08 * S.cell;
  for (let r = 0; r < ny; r++) for (let c = 0; c < nx; c++) {
    const here = codes[r * nx + c];
    if (c + 1 < nx && codes[r * nx + c + 1] !== here) {
      const x = (at(r, c, 0) + at(r, c + 1, 0)) / 2, y = at(r, c, 1);
      const z = Math.max(at(r, c, 2), at(r, c + 1, 2)) + lift;
      seg.push(x, y - half, z, x, y + half, z);
    }
    if (r + 1 < ny && codes[(r + 1) * nx + c] !== here) {
      const y = (at(r, c, 1) + at(r + 1, c, 1)) / 2, x = at(r, c, 0);
      const z = Math.max(at(r, c, 2), at(r + 1, c, 2)) + lift;
      seg.push(x - half, y, z, x + half, y, z);
    }
  }
  const lines = new Uint32Array(seg.length / 2);
  for (let i = 0; i < seg.length / 6; i++) lines.set([2, 2 * i, 2 * i + 1], 3 * i);
  if (seg.length) addActor(polyData(Float32Array.from(seg), null, lines),
                           {colour: [0.25, 0.25, 0.3], lineWidth: 2});
  S.districts.names.forEach((name, i) => {
    const div = document.createElement("div");
    div.className = "district"; div.textContent = name;
    div.dataset.at = JSON.stringify(S.districts.centres[i]);
    $("labels").appendChild(div);
  });
}
function placeLabels() {
  const {clientWidth: w, clientHeight: h} = $("view");
  for (const div of $("labels").children) {
    const [x, y, z] = JSON.parse(div.dataset.at);
    const [u, v, d] = renderer.worldToNormalizedDisplay(x, y, z, w / h);
    div.style.display = d > 0 && d < 1 ? "" : "none";
    div.style.left = (u * w) + "px"; div.style.top = ((1 - v) * h) + "px";
  }
}

// the camera: from the south-south-west, 40 degrees up; a portrait screen steps back
function resetCamera() {
  const camera = renderer.getActiveCamera(), b = terrain.getBounds();
  const centre = [(b[0] + b[1]) / 2, (b[2] + b[3]) / 2, (b[4] + b[5]) / 2];
  const {clientWidth: w, clientHeight: h} = $("view");
  const az = -0.45, el = w < h ? 1.0 : 0.7;  // a tall screen looks down more steeply
  camera.setFocalPoint(...centre);
  camera.setPosition(centre[0] + Math.cos(el) * Math.sin(az), centre[1] - Math.cos(el) *
                     Math.cos(az), centre[2] + Math.sin(el));
  camera.setViewUp(0, 0, 1);
  renderer.resetCamera();
  // the city is wider than deep in this view: a narrow screen must fit its width
  camera.dolly(Math.min(1.3, 0.9 * w / h));
  renderer.resetCameraClippingRange();
}

// -- time and variant --------------------------------------------------------------------------
function thresholdCode() {
  return S.threshold === null ? -1 : Math.max(0, Math.floor((S.threshold - S.offset) / S.scale));
}
function colourFrame() {
  const base = (state.v * ntime + state.t) * ncell, cut = thresholdCode();
  const out = groundColours.getData();
  for (let i = 0; i < ncell; i++) {
    const code = values[base + i], own = code === NO_DATA || code <= cut;
    for (let k = 0; k < 3; k++) out[3 * i + k] = own ? landRgb[3 * i + k] : lut[3 * code + k];
  }
  groundColours.modified();
  terrain.modified();
}
function show() {
  colourFrame();
  renderWindow.render();
  $("t").value = state.t; $("v").value = state.v;
  $("tlabel").textContent = S.times[state.t];
  $("status").textContent = S.times[state.t] + " \u00b7 " + S.variants[state.v];
  if (state.cell) plot();
  history.replaceState(null, "", "#t=" + state.t + "&v=" + encodeURIComponent(S.variants[state.v]));
}
function fromHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  const t = parseInt(h.get("t") || "0", 10), v = h.get("v") || "0";
  state.t = Math.min(Math.max(isNaN(t) ? 0 : t, 0), ntime - 1);
  const named = S.variants.indexOf(v), iv = parseInt(v, 10);
  state.v = named >= 0 ? named : (iv >= 0 && iv < S.variants.length ? iv : 0);
}
function play() {
  if (state.timer) {
    clearInterval(state.timer); state.timer = null;
  } else {
    state.timer = setInterval(() => { state.t = (state.t + 1) % ntime; show(); }, 600);
  }
  $("play").innerHTML = state.timer ? "&#10074;&#10074;" : "&#9654;";
  $("play").title = state.timer ? "pause" : "play";
}

// -- the click plot: the picked cell's values over time, one line per variant ----------------
const xs = Array.from({length: nx}, (_, c) => at(0, c, 0));
const ys = Array.from({length: ny}, (_, r) => at(r, 0, 1));
const nearest = (list, x) => list.reduce((best, v, i) =>
  (Math.abs(v - x) < Math.abs(list[best] - x) ? i : best), 0);
function series(v, cell) {
  return Array.from({length: ntime}, (_, t) => decode(values[(v * ntime + t) * ncell + cell]));
}
const finiteOrNull = y => (Number.isFinite(y) ? y : null);  // JSON has no NaN
function svg(tag, attrs, text) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}
function plot() {
  const [r, c] = state.cell, cell = r * nx + c, all = S.variants.map((_, v) => series(v, cell));
  const finite = all.flat().filter(Number.isFinite);
  let lo = finite.length ? Math.min(...finite) : 0, hi = finite.length ? Math.max(...finite) : 1;
  if (hi - lo < 1e-9) {  // a flat line: give it room (a dry cell's zero stays the bottom)
    const pad = Math.abs(lo) * 0.1;
    if (pad) { lo -= pad; hi += pad; } else hi = lo + 1;
  }
  const L = 48, R = 312, T = 8, B = 150;
  const px = t => L + (R - L) * (ntime > 1 ? t / (ntime - 1) : 0.5);
  const py = y => B - (B - T) * (y - lo) / (hi - lo);
  const box = $("plot");
  box.replaceChildren(
    svg("rect", {x: L, y: T, width: R - L, height: B - T, fill: "none", stroke: "#999"}),
    svg("line", {x1: px(state.t), x2: px(state.t), y1: T, y2: B, stroke: "#888",
                 "stroke-dasharray": "3 3", class: "now"}),
    svg("text", {x: L - 4, y: T + 9, "text-anchor": "end", "font-size": 10}, num(hi)),
    svg("text", {x: L - 4, y: B, "text-anchor": "end", "font-size": 10}, num(lo)),
    svg("text", {x: L, y: B + 14, "font-size": 10}, S.times[0]),
    svg("text", {x: R, y: B + 14, "text-anchor": "end", "font-size": 10}, S.times[ntime - 1]));
  $("keys").replaceChildren();
  all.forEach((ys_, v) => {
    let d = "", pen = "M";
    ys_.forEach((y, t) => {
      if (!Number.isFinite(y)) { pen = "M"; return; }
      d += pen + px(t).toFixed(1) + " " + py(y).toFixed(1) + " "; pen = "L";
    });
    const colour = PALETTE[v % PALETTE.length], dash = DASHES[v % DASHES.length];
    // dashes keep equal series (a cell no intervention changes) all visible
    box.appendChild(svg("path", {d, fill: "none", stroke: colour, "stroke-width": 2,
                                 "stroke-dasharray": dash,
                                 class: "series", "data-variant": S.variants[v],
                                 "data-values": JSON.stringify(ys_.map(finiteOrNull))}));
    const key = document.createElement("span");
    key.style.setProperty("--c", colour); key.textContent = S.variants[v];
    $("keys").appendChild(key);
  });
  if (!finite.length) {
    box.appendChild(svg("text", {x: (L + R) / 2, y: (T + B) / 2, "text-anchor": "middle",
                                 "font-size": 12}, "no data here (a building?)"));
  }
  const unit = UNITS ? ` (${UNITS})` : "";
  const where = `x ${xs[c].toFixed(0)} m, y ${ys[r].toFixed(0)} m`;
  $("charttitle").textContent = `${S.label}${unit} at ${where}`;
  $("chart").dataset.cell = r + "," + c;
  $("chart").classList.add("shown");
}
const picker = vtkCellPicker.newInstance();
picker.setPickFromList(true); picker.initializePickList(); picker.addPickList(terrainActor);
// a pin on the picked cell
const pin = polyData(new Float32Array(6), null, Uint32Array.from([2, 0, 1]));
const pinActor = addActor(pin, {colour: [0.85, 0.1, 0.1], lineWidth: 4});
pinActor.setVisibility(false);
function pick(position) {
  picker.pick([position.x, position.y, 0], renderer);
  if (!picker.getActors().length) return;
  const [x, y] = picker.getPickPosition();
  state.cell = [nearest(ys, y), nearest(xs, x)];
  const [r, c] = state.cell, b = terrain.getBounds(), z = at(r, c, 2);
  pin.getPoints().setData(Float32Array.from([xs[c], ys[r], z, xs[c], ys[r],
                                             z + 0.08 * Math.max(b[1] - b[0], b[3] - b[2])]), 3);
  pin.modified();
  pinActor.setVisibility(true);
  renderWindow.render();
  plot();
}

// -- wiring --------------------------------------------------------------------------------
function start() {
  $("title").textContent = S.title;
  document.title = S.title;
  S.variants.forEach((name, i) => $("v").add(new Option(name, i)));
  $("t").max = ntime - 1;
  $("t").oninput = () => { state.t = +$("t").value; show(); };
  $("v").onchange = () => { state.v = +$("v").value; show(); };
  $("play").onclick = play;
  $("close").onclick = () => {
    state.cell = null; $("chart").classList.remove("shown");
    pinActor.setVisibility(false); renderWindow.render();
  };
  $("toggle").onclick = () => {
    const open = document.body.classList.toggle("drawer");
    $("toggle").setAttribute("aria-expanded", open);
  };
  $("fieldname").textContent = S.label + (UNITS ? " (" + UNITS + ")" : "");
  $("lo").textContent = fmt(S.threshold === null ? S.offset : S.threshold);
  $("hi").textContent = fmt(S.offset + 254 * S.scale);
  const bar = $("bar").getContext("2d"), img = bar.createImageData(255, 1);
  for (let i = 0; i < 255; i++) {
    img.data.set([lut[3 * i], lut[3 * i + 1], lut[3 * i + 2], 255], 4 * i);
  }
  bar.putImageData(img, 0, 0);
  const interactor = renderWindow.getInteractor();
  let press = null;  // a click is a press and release without a drag
  interactor.onLeftButtonPress(e => { press = e.position; });
  interactor.onLeftButtonRelease(e => {
    if (press && Math.hypot(e.position.x - press.x, e.position.y - press.y) < 5) pick(e.position);
    press = null;
  });
  renderer.getActiveCamera().onModified(() => requestAnimationFrame(placeLabels));
  window.addEventListener("resize", () => requestAnimationFrame(placeLabels));
  window.onhashchange = () => { fromHash(); show(); };
  resetCamera();
  fromHash();
  show();
  placeLabels();
  document.body.dataset.ready = "yes";
}
start();
