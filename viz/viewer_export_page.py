"""The HTML, CSS and WebGL script of the standalone page that ``metrotwin.viz.viewer_export``
fills with a scene (the JSON replaces ``__METROTWIN_SCENE__``). No external resource is
loaded: the page works from a file opened offline. WebGL 1 only, so that software renderers
(headless Chromium's SwiftShader) draw it too; ``preserveDrawingBuffer`` lets a screenshot read
the canvas. URL hash ``#t=<time index>&v=<variant index or name>`` selects the frame."""

PAGE_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>metrotwin city</title>
<style>
html,body{margin:0;height:100%;font:14px system-ui,sans-serif;background:#f4f4f2;color:#222}
#view{position:absolute;inset:0;width:100%;height:100%;display:block;touch-action:none}
#panel{position:absolute;left:8px;top:8px;right:8px;max-width:520px;background:#fffd;
 padding:8px 10px;border-radius:6px;box-shadow:0 1px 4px #0003}
#panel h1{font-size:15px;margin:0 0 6px}
#panel label{display:block;margin:4px 0}
#t{width:100%}
#legend{display:flex;align-items:center;gap:6px;margin-top:6px}
#bar{flex:1;min-width:0;width:100%;height:10px;border:1px solid #999}
#lo,#hi{white-space:nowrap}
</style></head>
<body>
<canvas id="view"></canvas>
<div id="panel">
<h1 id="title"></h1>
<label>variant <select id="v"></select></label>
<label>time <span id="tlabel"></span><input id="t" type="range" min="0" value="0" step="1">
</label>
<div id="legend"><span id="lo"></span><canvas id="bar" width="255" height="1"></canvas>
<span id="hi"></span></div>
</div>
<script id="scene" type="application/json">__METROTWIN_SCENE__</script>
<script>
"use strict";
const S = JSON.parse(document.getElementById("scene").textContent);
function bytes(b64) {
  const s = atob(b64), a = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
  return a.buffer;
}
const canvas = document.getElementById("view");
const gl = canvas.getContext("webgl", {preserveDrawingBuffer: true, antialias: true});
const VS = `attribute vec3 p; attribute vec3 n; attribute vec3 c;
uniform mat4 m; varying vec3 vc; varying float lit;
void main(){ gl_Position = m * vec4(p, 1.0); vc = c;
  lit = 0.45 + 0.55 * max(dot(normalize(n), normalize(vec3(-0.4, -0.6, 0.7))), 0.0); }`;
const FS = `precision mediump float; varying vec3 vc; varying float lit;
void main(){ gl_FragColor = vec4(vc * lit, 1.0); }`;
function shader(type, src) {
  const s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s); return s;
}
const prog = gl.createProgram();
gl.attachShader(prog, shader(gl.VERTEX_SHADER, VS));
gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, FS));
gl.linkProgram(prog); gl.useProgram(prog);
const uExt = gl.getExtension("OES_element_index_uint");
function buffer(data, target) {
  const b = gl.createBuffer(); gl.bindBuffer(target || gl.ARRAY_BUFFER, b);
  gl.bufferData(target || gl.ARRAY_BUFFER, data, gl.STATIC_DRAW); return b;
}
function mesh(m) {
  return {p: buffer(new Float32Array(bytes(m.points))), n: buffer(new Int8Array(bytes(m.normals))),
          rgb: new Uint8Array(bytes(m.rgb)), c: gl.createBuffer()};
}
const terrain = mesh(S.terrain);
// two triangles per square of neighbouring grid points (rows north to south)
const tIndex = new Uint32Array(6 * (S.shape[0] - 1) * (S.shape[1] - 1));
for (let r = 0, k = 0; r < S.shape[0] - 1; r++) for (let c = 0; c < S.shape[1] - 1; c++) {
  const a = r * S.shape[1] + c, b = a + 1, d = a + S.shape[1], e = d + 1;
  tIndex.set([a, d, b, b, d, e], k); k += 6;
}
terrain.idx = buffer(tIndex, gl.ELEMENT_ARRAY_BUFFER);
const houses = S.buildings ? quadMesh(S.buildings) : null;
function quadMesh(m) {
  // quads (4 corners) to triangles (6 vertices); one normal and colour per quad
  const q = new Float32Array(bytes(m.points)), n = new Int8Array(bytes(m.normals));
  const rgb = new Uint8Array(bytes(m.rgb)), nq = rgb.length / 3, order = [0, 1, 2, 0, 2, 3];
  const p6 = new Float32Array(nq * 18), n6 = new Int8Array(nq * 18), c6 = new Uint8Array(nq * 18);
  for (let i = 0; i < nq; i++) for (let j = 0; j < 6; j++) for (let k = 0; k < 3; k++) {
    const o = 18 * i + 3 * j + k;
    p6[o] = q[12 * i + 3 * order[j] + k]; n6[o] = n[3 * i + k]; c6[o] = rgb[3 * i + k];
  }
  return {p: buffer(p6), n: buffer(n6), c: buffer(c6), count: nq * 6};
}
const values = new Uint8Array(bytes(S.values));
const lut = new Uint8Array(bytes(S.lut));
const ncell = S.shape[0] * S.shape[1], ntime = S.times.length;
const colours = new Uint8Array(ncell * 3);
// bounds of the scene, for the camera
const pts = new Float32Array(bytes(S.terrain.points));
let lo = [1e30, 1e30, 1e30], hi = [-1e30, -1e30, -1e30];
for (let i = 0; i < pts.length; i++) { const k = i % 3;
  lo[k] = Math.min(lo[k], pts[i]); hi[k] = Math.max(hi[k], pts[i]); }
const centre = [0, 1, 2].map(k => (lo[k] + hi[k]) / 2);
const radius = Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]) / 2 || 1;
const cam = {az: -0.5, el: 0.75, dist: 2.2};
const state = {t: 0, v: 0};
function threshold_code() {
  if (S.threshold === null) return -1;
  return Math.max(0, Math.floor((S.threshold - S.offset) / S.scale));
}
function colourFrame() {
  const base = (state.v * ntime + state.t) * ncell, cut = threshold_code();
  for (let i = 0; i < ncell; i++) {
    const code = values[base + i];
    const own = code === 255 || code <= cut;
    for (let k = 0; k < 3; k++)
      colours[3 * i + k] = own ? terrain.rgb[3 * i + k] : lut[3 * Math.min(code, 254) + k];
  }
  gl.bindBuffer(gl.ARRAY_BUFFER, terrain.c);
  gl.bufferData(gl.ARRAY_BUFFER, colours, gl.DYNAMIC_DRAW);
}
function matrix() {
  const w = canvas.width, h = canvas.height, f = 1 / Math.tan(0.35), near = radius * 0.05;
  // a portrait screen (a phone) sees less across: step back so the city still fits
  const far = radius * 10, d = cam.dist * radius * Math.max(1, h / w);
  const eye = [centre[0] + d * Math.cos(cam.el) * Math.sin(cam.az),
               centre[1] - d * Math.cos(cam.el) * Math.cos(cam.az),
               centre[2] + d * Math.sin(cam.el)];
  const zc = norm(sub(eye, centre)), xc = norm(cross([0, 0, 1], zc)), yc = cross(zc, xc);
  const view = [xc[0], yc[0], zc[0], 0, xc[1], yc[1], zc[1], 0, xc[2], yc[2], zc[2], 0,
                -dot(xc, eye), -dot(yc, eye), -dot(zc, eye), 1];
  const a = w / h, proj = [f / a, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) / (near - far), -1,
                           0, 0, 2 * far * near / (near - far), 0];
  return mul(proj, view);
}
function sub(a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; }
function dot(a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
function norm(a) {
  const l = Math.hypot(a[0], a[1], a[2]) || 1; return [a[0] / l, a[1] / l, a[2] / l];
}
function cross(a, b) {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
function mul(a, b) {
  const r = new Array(16).fill(0);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++)
    r[j * 4 + i] += a[k * 4 + i] * b[j * 4 + k];
  return r;
}
function attrib(name, buf, size, type, normalized) {
  const loc = gl.getAttribLocation(prog, name);
  gl.bindBuffer(gl.ARRAY_BUFFER, buf); gl.enableVertexAttribArray(loc);
  gl.vertexAttribPointer(loc, size, type, normalized, 0, 0);
}
function draw() {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * dpr; canvas.height = canvas.clientHeight * dpr;
  gl.viewport(0, 0, canvas.width, canvas.height);
  gl.clearColor(0.96, 0.96, 0.95, 1); gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
  gl.enable(gl.DEPTH_TEST);
  gl.uniformMatrix4fv(gl.getUniformLocation(prog, "m"), false, new Float32Array(matrix()));
  for (const [m, indexed] of [[terrain, true], [houses, false]]) {
    if (!m) continue;
    attrib("p", m.p, 3, gl.FLOAT, false); attrib("n", m.n, 3, gl.BYTE, true);
    attrib("c", m.c, 3, gl.UNSIGNED_BYTE, true);
    if (indexed) { gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, m.idx);
      gl.drawElements(gl.TRIANGLES, tIndex.length, gl.UNSIGNED_INT, 0); }
    else gl.drawArrays(gl.TRIANGLES, 0, m.count);
  }
}
const tSlider = document.getElementById("t"), vSelect = document.getElementById("v");
function show() {
  colourFrame(); draw();
  tSlider.value = state.t; vSelect.value = state.v;
  document.getElementById("tlabel").textContent = S.times[state.t];
  history.replaceState(null, "", "#t=" + state.t + "&v=" + encodeURIComponent(S.variants[state.v]));
}
function fromHash() {
  const h = new URLSearchParams(location.hash.slice(1));
  const t = parseInt(h.get("t") || "0", 10), v = h.get("v") || "0";
  state.t = Math.min(Math.max(isNaN(t) ? 0 : t, 0), ntime - 1);
  const named = S.variants.indexOf(v), iv = parseInt(v, 10);
  state.v = named >= 0 ? named : (iv >= 0 && iv < S.variants.length ? iv : 0);
}
document.getElementById("title").textContent = S.title;
S.variants.forEach((name, i) => vSelect.add(new Option(name, i)));
tSlider.max = ntime - 1;
tSlider.oninput = () => { state.t = +tSlider.value; show(); };
vSelect.onchange = () => { state.v = +vSelect.value; show(); };
const fmt = x => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)) + " " + S.units;
document.getElementById("lo").textContent = fmt(S.threshold === null ? S.offset : S.threshold);
document.getElementById("hi").textContent = fmt(S.offset + 254 * S.scale);
const bar = document.getElementById("bar").getContext("2d"), img = bar.createImageData(255, 1);
for (let i = 0; i < 255; i++)
  img.data.set([lut[3 * i], lut[3 * i + 1], lut[3 * i + 2], 255], 4 * i);
bar.putImageData(img, 0, 0);
let drag = null;
canvas.onpointerdown = e => {
  drag = [e.clientX, e.clientY]; canvas.setPointerCapture(e.pointerId);
};
canvas.onpointerup = () => { drag = null; };
canvas.onpointermove = e => {
  if (!drag) return;
  cam.az += (e.clientX - drag[0]) * 0.01;
  cam.el = Math.min(1.55, Math.max(0.1, cam.el + (e.clientY - drag[1]) * 0.01));
  drag = [e.clientX, e.clientY]; draw();
};
canvas.onwheel = e => {
  e.preventDefault();
  cam.dist = Math.min(8, Math.max(0.3, cam.dist * Math.exp(e.deltaY * 0.001))); draw();
};
window.onresize = draw;
window.onhashchange = () => { fromHash(); show(); };
fromHash(); show();
document.body.dataset.ready = uExt ? "yes" : "no-uint-index";
</script>
</body></html>
"""
