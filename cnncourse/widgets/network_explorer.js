// Network explorer (lecture L19): a trained LeNet-5 running in the page. The reader draws a
// digit (or picks a test digit); every layer's maps, the dense layers and the ten class
// probabilities are recomputed here, from the weights the chapter trained and exported.
import { h, decodeBase64 } from "./_common.js";
import { translator, plural } from "./_i18n.js";

const ruLayer = (layer) => ({ pool1: "пулинг 1", pool2: "пулинг 2", logits: "логиты" }[layer] || layer);

// The widget's words (see _i18n.js); layer names (conv1, fc1, …) are the chapter's.
export const TEXT = {
  en: {
    padAria: "drawing pad: draw a digit with the mouse or a finger; with the keyboard, arrows move the pen, space lifts or lowers it, Delete clears",
    digit: "digit", yourDrawing: "your drawing", testDigit: (k, l) => `test digit #${k} (a ${l})`, clear: "clear", noise: "noise",
    shift: "shift", shiftLeft: "shift left", shiftRight: "shift right", shiftUp: "shift up", shiftDown: "shift down", noShift: "no shift",
    seenAria: "the network's input, 32 by 32", input: "input", drawOrPick: "draw, or pick a test digit",
    seen: "what the network sees (32×32)",
    preprocessed: (mean, std) => "Preprocessed as in training: a drawing is fitted into a 20×20 box (aspect kept), centred by its centre of mass " +
      `in 28×28 (as MNIST's digits were made), scaled to [0, 1], standardised with the training mean ${mean} and standard deviation ${std}, ` +
      "and padded by 2 pixels of background to 32×32. Shift and noise act on the 28×28 digit.",
    probsAria: "class probabilities", softmax: "softmax: the ten class probabilities",
    maxPool: "max pool", avgPool: "average pool", conv3Maps: "120 (1×1 maps)", logits: "fc2: 10 logits",
    mapAria: (layer, c) => `${layer} ${c >= 0 ? `map ${c}` : "units"}: arrows move the selected unit`,
    drawADigit: "Draw a digit in the box (or pick a test digit).",
    says: (best, p) => `The network says ${best} (p = ${p})`, label: (l) => `; the label is ${l}.`,
    shifted: (dx, dy) => `${dx} right, ${dy} down`,
    timing: (ms, n) => `forward pass and redraw in this browser: ${ms} ms (median of the last ${n} updates)`,
    mapUnit: (layer, c, i, j) => `${layer} map ${c}, unit (${i}, ${j})`, logitOf: (k) => `the logit of class ${k}`,
    unitOf: (layer, k) => `${layer} unit ${k}`,
    sees: (r0, r1, c0, c1, size) => `sees input rows ${r0}–${r1}, columns ${c0}–${c1} (${size}, outlined on the input)`,
    seesAll: "sees the whole input",
    fromKernels: (n, bias) => `It is computed from ${n} kernel${n > 1 ? "s" : ""} 5×5 (one per input map) and a bias ${bias}`,
    fromWeights: (n) => `It is computed from ${n} weights, one per unit of the layer before (laid out like it)`,
    maxWindow: "It is computed from no weights: the max of a 2×2 window of the map before",
    avgWindow: "It is computed from no weights: the average of a 2×2 window of the map before",
    unitText: (unit, v, sees, what, drawn) => `${unit} = ${v}: it ${sees}. ${what}` + (drawn ? " (red +, blue −):" : "."),
  },
  ru: {  // (ruLayer: the layers' names conv1, fc1, … as they are, pool1, pool2 and logits in Russian)
    padAria: "поле для рисования: нарисуйте цифру мышью или пальцем; с клавиатуры стрелки двигают перо, пробел поднимает или опускает его, Delete очищает",
    digit: "цифра", yourDrawing: "ваш рисунок", testDigit: (k, l) => `тест. цифра №${k} (${l})`, clear: "очистить", noise: "шум",
    shift: "сдвиг", shiftLeft: "сдвиг влево", shiftRight: "сдвиг вправо", shiftUp: "сдвиг вверх", shiftDown: "сдвиг вниз", noShift: "без сдвига",
    seenAria: "вход сети, 32 на 32", input: "вход", drawOrPick: "нарисуйте или выберите тестовую цифру",
    seen: "что видит сеть (32×32)",
    preprocessed: (mean, std) => "Предобработка как при обучении: рисунок вписывается в квадрат 20×20 (с сохранением пропорций), центрируется " +
      `по центру масс в поле 28×28 (так делались цифры MNIST), масштабируется в [0, 1], стандартизуется по среднему ${mean} ` +
      `и стандартному отклонению ${std} обучающей выборки и дополняется отступом в 2 пикселя фона до 32×32. Сдвиг и шум применяются к цифре 28×28.`,
    probsAria: "вероятности классов", softmax: "softmax: десять вероятностей классов",
    maxPool: "max-пулинг", avgPool: "усреднение", conv3Maps: "120 (карты 1×1)", logits: "fc2: 10 логитов",
    mapAria: (layer, c) => `${ruLayer(layer)}, ${c >= 0 ? `карта ${c}` : "нейроны"}: стрелки двигают выбранный нейрон`,
    drawADigit: "Нарисуйте цифру в квадрате (или выберите тестовую цифру).",
    says: (best, p) => `Сеть говорит: ${best} (p = ${p})`, label: (l) => `; метка — ${l}.`,
    shifted: (dx, dy) => `${dx} вправо, ${dy} вниз`,
    timing: (ms, n) => `прямой проход и перерисовка в этом браузере: ${ms} мс (медиана ${n} ${plural(n, "последнего обновления", "последних обновлений", "последних обновлений")})`,
    mapUnit: (layer, c, i, j) => `${ruLayer(layer)}, карта ${c}, нейрон (${i}, ${j})`, logitOf: (k) => `логит класса ${k}`,
    unitOf: (layer, k) => `${ruLayer(layer)}, нейрон ${k}`,
    sees: (r0, r1, c0, c1, size) => `видит строки входа ${r0}–${r1}, столбцы ${c0}–${c1} (${size}, рамка на входе)`,
    seesAll: "видит весь вход",
    fromKernels: (n, bias) => `Вычисляется из ${n} ${plural(n, "ядра", "ядер", "ядер")} 5×5 (по одному на входную карту) и смещения ${bias}`,
    fromWeights: (n) => `Вычисляется из ${n} ${plural(n, "веса", "весов", "весов")}, по одному на нейрон предыдущего слоя (расположены так же)`,
    maxWindow: "Весов нет: это максимум окна 2×2 предыдущей карты",
    avgWindow: "Весов нет: это среднее окна 2×2 предыдущей карты",
    unitText: (unit, v, sees, what, drawn) => `${unit} = ${v}: ${sees}. ${what}` + (drawn ? " (красный +, синий −):" : "."),
  },
};

// ------------------------------------------------------------------ the network
// LeNet-5's layers as the chapter builds them (cnncourse.architectures.lenet): 32×32 input.
export const CONVS = [[1, 6], [6, 16], [16, 120]];  // (in, out) channels, all 5×5, stride 1
export const DENSE = [[120, 84], [84, 10]];
export const K = 5;
//: The layers the widget shows (and the parity test compares), in order.
export const LAYERS = ["conv1", "pool1", "conv2", "pool2", "conv3", "fc1", "logits", "probs"];

// The float32 weights (little-endian, base64) as named Float32Arrays, in the order of the
// PyTorch state dict: conv1.weight, conv1.bias, conv2..., conv3..., fc1..., fc2...
export function decodeWeights(b64) {
  const bytes = decodeBase64(b64);
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const sizes = [];
  CONVS.forEach(([i, o], n) => sizes.push([`conv${n + 1}.w`, o * i * K * K], [`conv${n + 1}.b`, o]));
  DENSE.forEach(([i, o], n) => sizes.push([`fc${n + 1}.w`, o * i], [`fc${n + 1}.b`, o]));
  const w = {};
  let at = 0;
  for (const [name, n] of sizes) { w[name] = all.subarray(at, at + n); at += n; }
  if (at !== all.length) throw new Error(`weights: expected ${at} numbers, got ${all.length}`);
  return w;
}

const act = (kind) => (kind === "relu" ? (v) => (v > 0 ? v : 0) : Math.tanh);

// A valid 5×5 convolution of x (cin×n×n) with weights (cout×cin×5×5) and bias, then the
// activation: cout×(n−4)×(n−4).
function conv(x, cin, n, wt, bias, cout, f) {
  const m = n - K + 1, out = new Float64Array(cout * m * m);
  for (let o = 0; o < cout; o++) {
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
      let s = bias[o];
      for (let c = 0; c < cin; c++) {
        const wo = (o * cin + c) * K * K, xo = c * n * n;
        for (let a = 0; a < K; a++) {
          const xr = xo + (i + a) * n + j, wr = wo + a * K;
          s += x[xr] * wt[wr] + x[xr + 1] * wt[wr + 1] + x[xr + 2] * wt[wr + 2] + x[xr + 3] * wt[wr + 3] + x[xr + 4] * wt[wr + 4];
        }
      }
      out[(o * m + i) * m + j] = f(s);
    }
  }
  return out;
}

// 2×2 pooling with stride 2 (average or max) of c maps n×n.
function pool(x, c, n, kind) {
  const m = n >> 1, out = new Float64Array(c * m * m);
  for (let k = 0; k < c; k++) for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) {
    const p = k * n * n + 2 * i * n + 2 * j;
    const v = [x[p], x[p + 1], x[p + n], x[p + n + 1]];
    out[(k * m + i) * m + j] = kind === "max" ? Math.max(...v) : (v[0] + v[1] + v[2] + v[3]) / 4;
  }
  return out;
}

function dense(x, wt, bias, nin, nout, f) {
  const out = new Float64Array(nout);
  for (let o = 0; o < nout; o++) {
    let s = bias[o];
    for (let i = 0; i < nin; i++) s += x[i] * wt[o * nin + i];
    out[o] = f ? f(s) : s;
  }
  return out;
}

// The forward pass of the input x (1024 numbers, the standardised, padded 32×32 image):
// every layer's output, as PyTorch computes it (activation after each convolution and fc1).
export function forward(w, x, arch = {}) {
  const f = act(arch.activation), kind = arch.pool || "avg";
  const conv1 = conv(x, 1, 32, w["conv1.w"], w["conv1.b"], 6, f);
  const pool1 = pool(conv1, 6, 28, kind);
  const conv2 = conv(pool1, 6, 14, w["conv2.w"], w["conv2.b"], 16, f);
  const pool2 = pool(conv2, 16, 10, kind);
  const conv3 = conv(pool2, 16, 5, w["conv3.w"], w["conv3.b"], 120, f);
  const fc1 = dense(conv3, w["fc1.w"], w["fc1.b"], 120, 84, f);
  const logits = dense(fc1, w["fc2.w"], w["fc2.b"], 84, 10, null);
  const top = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - top));
  const z = e.reduce((a, b) => a + b, 0);
  const probs = e.map((v) => v / z);
  return { conv1, pool1, conv2, pool2, conv3, fc1, logits, probs };
}

// ------------------------------------------------------------------ the input
// A 28×28 digit in [0, 1] -> the network's input, as the chapter's padded(): standardised
// with the training mean and std, then padded by 2 with the value of a black pixel.
export function standardise(img28, mean, std) {
  const x = new Float64Array(32 * 32).fill((0 - mean) / std);
  for (let i = 0; i < 28; i++) for (let j = 0; j < 28; j++) x[(i + 2) * 32 + j + 2] = (img28[i * 28 + j] - mean) / std;
  return x;
}

// Test digit number k of the embedded uint8 digits (k·784 ... ) scaled to [0, 1].
export function testDigit(bytes, k) {
  const out = new Float64Array(784);
  for (let p = 0; p < 784; p++) out[p] = bytes[k * 784 + p] / 255;
  return out;
}

// Parity helper: forward passes of embedded-format digits (base64 uint8, n×784).
export function forwardDigits(weightsB64, digitsB64, mean, std, arch = {}) {
  const w = decodeWeights(weightsB64), bytes = decodeBase64(digitsB64);
  const out = [];
  for (let k = 0; k < bytes.length / 784; k++) {
    const y = forward(w, standardise(testDigit(bytes, k), mean, std), arch);
    out.push(Object.fromEntries(LAYERS.map((name) => [name, Array.from(y[name])])));
  }
  return out;
}

// Weights of resampling n source cells onto m target cells (each target cell averages the
// part of the source it covers): an m×n matrix, rows summing to 1.
function areaWeights(n, m) {
  const r = n / m, W = [];
  for (let a = 0; a < m; a++) {
    const lo = a * r, hi = (a + 1) * r, row = new Float64Array(n);
    for (let s = Math.floor(lo); s < Math.min(n, Math.ceil(hi)); s++) row[s] = (Math.min(hi, s + 1) - Math.max(lo, s)) / r;
    W.push(row);
  }
  return W;
}

// A drawing (R×R ink values in [0, 1]) -> a 28×28 digit as MNIST's were made: the ink's
// bounding box scaled (aspect kept, area averaging) so that its longer side is 20 pixels,
// then placed in 28×28 with its centre of mass at pixel (14, 14) (MNIST's own mean).
export function preprocessDrawing(ink, R) {
  const out = new Float64Array(784);
  let top = R, bottom = -1, left = R, right = -1;
  for (let i = 0; i < R; i++) for (let j = 0; j < R; j++) if (ink[i * R + j] > 0) {
    top = Math.min(top, i); bottom = Math.max(bottom, i); left = Math.min(left, j); right = Math.max(right, j);
  }
  if (bottom < 0) return out;
  const hh = bottom - top + 1, ww = right - left + 1, side = Math.max(hh, ww);
  const th = Math.max(1, Math.round(20 * hh / side)), tw = Math.max(1, Math.round(20 * ww / side));
  const Wr = areaWeights(hh, th), Wc = areaWeights(ww, tw);
  // small = Wr · box · Wcᵀ
  const tmp = new Float64Array(th * ww);
  for (let a = 0; a < th; a++) for (let s = 0; s < hh; s++) {
    const wgt = Wr[a][s];
    if (wgt) for (let j = 0; j < ww; j++) tmp[a * ww + j] += wgt * ink[(top + s) * R + left + j];
  }
  const small = new Float64Array(th * tw);
  for (let a = 0; a < th; a++) for (let b = 0; b < tw; b++) {
    let v = 0;
    for (let j = 0; j < ww; j++) v += tmp[a * ww + j] * Wc[b][j];
    small[a * tw + b] = v;
  }
  let mass = 0, ci = 0, cj = 0;
  for (let a = 0; a < th; a++) for (let b = 0; b < tw; b++) { const v = small[a * tw + b]; mass += v; ci += v * a; cj += v * b; }
  const oi = Math.floor(14 - ci / mass + 0.5), oj = Math.floor(14 - cj / mass + 0.5);
  for (let a = 0; a < th; a++) for (let b = 0; b < tw; b++) {
    const i = a + oi, j = b + oj;
    if (i >= 0 && i < 28 && j >= 0 && j < 28) out[i * 28 + j] = Math.min(1, Math.max(0, small[a * tw + b]));
  }
  return out;
}

// The 28×28 digit moved by (dy, dx) pixels, background coming in.
export function shift(img, dy, dx) {
  const out = new Float64Array(784);
  for (let i = 0; i < 28; i++) for (let j = 0; j < 28; j++) {
    const a = i - dy, b = j - dx;
    if (a >= 0 && a < 28 && b >= 0 && b < 28) out[i * 28 + j] = img[a * 28 + b];
  }
  return out;
}

// Seeded Gaussian noise of standard deviation `amount` added to every pixel, clipped to [0, 1].
export function addNoise(img, amount, seed = 1) {
  if (!amount) return Float64Array.from(img);
  let s = seed >>> 0;
  const u = () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s + 0.5) / 4294967296; };
  return img.map((v) => {
    const g = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
    return Math.min(1, Math.max(0, v + amount * g));
  });
}

// The 32×32 input rows (and columns) that unit i of a layer sees: [start, end).
export const GEOMETRY = { conv1: [1, 5], pool1: [2, 6], conv2: [2, 14], pool2: [4, 16], conv3: [4, 32] };
export function field(layer, i, j) {
  const g = GEOMETRY[layer];
  if (!g) return [[0, 32], [0, 32]];
  return [[i * g[0], i * g[0] + g[1]], [j * g[0], j * g[0] + g[1]]];
}

// ------------------------------------------------------------------ the view
const SHAPES = { conv1: [6, 28], pool1: [6, 14], conv2: [16, 10], pool2: [16, 5] };

// Diverging colour of v in [−1, 1]: blue (−) through light grey to red (+).
function diverging(v) {
  const t = Math.max(-1, Math.min(1, v));
  return t >= 0 ? [245 - 45 * t, 245 - 205 * t, 245 - 215 * t] : [245 + 205 * t, 245 + 125 * t, 245 + 10 * t];
}

function render({ model, el }) {
  const t = translator(TEXT, el);
  const R = 112;  // the drawing's resolution (4× MNIST's)
  const arch = model.get("arch");
  const mean = arch.mean, std = arch.std;
  let w = decodeWeights(model.get("weights"));
  let digits = decodeBase64(model.get("digits"));
  const labels = model.get("labels");
  const relu = arch.activation === "relu";
  const actName = relu ? "ReLU" : "tanh", pool = arch.pool === "max" ? "max" : "avg";

  const root = h("div", { class: "cnnw cnnw-network" });
  // --- input side: drawing pad, controls, what the network sees
  const ink = document.createElement("canvas"); ink.width = R; ink.height = R;
  const inkCtx = ink.getContext("2d", { willReadFrequently: true });
  const pad = h("canvas", { class: "cnnw-pad", width: "224", height: "224", tabindex: "0", role: "img",
    "aria-label": t("padAria") });
  const padCtx = pad.getContext("2d");
  const select = h("select", { "aria-label": t("digit") });
  select.dataset.role = "digit";
  select.append(h("option", { value: "-1", text: t("yourDrawing") }));
  labels.forEach((l, k) => select.append(h("option", { value: String(k), text: t("testDigit", k, l) })));
  const clearBtn = h("button", { type: "button", text: t("clear"), "data-role": "clear" });
  const noise = h("input", { type: "range", min: "0", max: "1", step: "0.05", "aria-label": t("noise") });
  noise.dataset.role = "noise";
  const noiseText = h("span", {});
  const shiftText = h("span", {});
  const arrow = (t, dy, dx, label) => h("button", { type: "button", text: t, "aria-label": label, onclick: () => {
    model.set("shift", [Math.max(-8, Math.min(8, model.get("shift")[0] + dy)), Math.max(-8, Math.min(8, model.get("shift")[1] + dx))]);
    model.save_changes();
  } });
  const shifts = h("div", { class: "cnnw-pair" }, h("span", { text: t("shift") }), arrow("←", 0, -1, t("shiftLeft")),
    arrow("→", 0, 1, t("shiftRight")), arrow("↑", -1, 0, t("shiftUp")), arrow("↓", 1, 0, t("shiftDown")),
    h("button", { type: "button", text: "0", "aria-label": t("noShift"), onclick: () => { model.set("shift", [0, 0]); model.save_changes(); } }), shiftText);
  const seen = h("canvas", { class: "cnnw-map cnnw-seen", width: "32", height: "32", role: "img", "aria-label": t("seenAria") });
  const seenBox = h("div", { class: "cnnw-box" }, seen);
  const fieldMark = h("div", { class: "cnnw-field" });
  seenBox.append(fieldMark);
  const inputCol = h("div", { class: "cnnw-controls cnnw-net-input" },
    h("label", {}, h("span", { text: t("input") }), select),
    pad,
    h("div", { class: "cnnw-pair" }, clearBtn, h("span", { class: "cnnw-note", text: t("drawOrPick") })),
    h("label", {}, h("span", { text: t("noise") }), noise, noiseText),
    shifts);
  const seenCol = h("div", { class: "cnnw-net-seen" }, h("div", { class: "cnnw-caption", text: t("seen") }), seenBox,
    h("p", { class: "cnnw-note", text: t("preprocessed", mean, std) }));
  const probsBox = h("div", { class: "cnnw-probs", role: "list", "aria-label": t("probsAria") });
  const verdict = h("div", { class: "cnnw-status" });
  const outCol = h("div", { class: "cnnw-net-out" }, h("div", { class: "cnnw-caption", text: t("softmax") }), probsBox, verdict);
  const top = h("div", { class: "cnnw-row cnnw-wrap cnnw-net-top" }, inputCol, seenCol, outCol);

  // --- the layers
  const maps = {};   // layer -> [canvas per channel]
  const layerBoxes = h("div", { class: "cnnw-layers" });
  const titles = {
    conv1: `conv1 + ${actName}: 6@28×28`, pool1: `${t(`${pool}Pool`)}: 6@14×14`, conv2: `conv2 + ${actName}: 16@10×10`,
    pool2: `${t(`${pool}Pool`)}: 16@5×5`, conv3: `conv3 + ${actName}: ${t("conv3Maps")}`, fc1: `fc1 + ${actName}: 84`, logits: t("logits"),
  };
  let sel = { layer: "conv1", c: 0, i: 12, j: 12 };
  const unitGrid = { conv3: [10, 12], fc1: [7, 12], logits: [1, 10] };  // rows × cols of the 1-D layers
  const mapCanvas = (layer, c, n, m) => {
    const cv = h("canvas", { class: "cnnw-map", width: String(m), height: String(n), tabindex: "0", role: "img",
      "aria-label": t("mapAria", layer, n > 1 && m > 1 && !unitGrid[layer] ? c : -1) });
    cv.dataset.layer = layer; cv.dataset.channel = String(c);
    const pick = (i, j) => { sel = { layer, c, i, j }; showSelection(); };
    cv.addEventListener("mousemove", (e) => {
      const i = Math.min(n - 1, Math.max(0, Math.floor(e.offsetY / cv.clientHeight * n)));
      const j = Math.min(m - 1, Math.max(0, Math.floor(e.offsetX / cv.clientWidth * m)));
      if (sel.layer !== layer || sel.c !== c || sel.i !== i || sel.j !== j) pick(i, j);
    });
    cv.addEventListener("focus", () => { if (sel.layer !== layer || sel.c !== c) pick(Math.min(sel.i, n - 1), Math.min(sel.j, m - 1)); });
    cv.addEventListener("keydown", (e) => {
      const d = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
      if (!d) return;
      e.preventDefault();
      pick(Math.min(n - 1, Math.max(0, sel.i + d[0])), Math.min(m - 1, Math.max(0, sel.j + d[1])));
    });
    const box = h("div", { class: "cnnw-box" }, cv, h("div", { class: "cnnw-unit" }));
    return [cv, box];
  };
  for (const layer of ["conv1", "pool1", "conv2", "pool2", "conv3", "fc1", "logits"]) {
    const row = h("div", { class: "cnnw-maps" });
    maps[layer] = [];
    if (SHAPES[layer]) {
      const [c, n] = SHAPES[layer];
      for (let k = 0; k < c; k++) { const [cv, box] = mapCanvas(layer, k, n, n); maps[layer].push(cv); row.append(box); }
    } else {
      const [n, m] = unitGrid[layer];
      const [cv, box] = mapCanvas(layer, 0, n, m); maps[layer].push(cv); row.append(box);
      cv.classList.add(`cnnw-units-${layer}`);
    }
    row.classList.add(`cnnw-maps-${layer}`);
    layerBoxes.append(h("div", { class: "cnnw-layer-block" }, h("div", { class: "cnnw-caption", text: titles[layer] }), row));
  }
  const kernels = h("div", { class: "cnnw-kernels" });
  const unitText = h("div", { class: "cnnw-unit-text", "aria-live": "polite" });
  const unitPanel = h("div", { class: "cnnw-unit-panel" }, unitText, kernels);
  const timing = h("div", { class: "cnnw-note cnnw-timing" });
  root.append(top, unitPanel, layerBoxes, timing);
  el.appendChild(root);

  // --- drawing
  let pen = null, cursor = [R / 2, R / 2], penDown = false;
  const stroke = (a, b) => {
    inkCtx.strokeStyle = "#000"; inkCtx.lineWidth = 9; inkCtx.lineCap = "round"; inkCtx.lineJoin = "round";
    inkCtx.beginPath(); inkCtx.moveTo(a[0], a[1]); inkCtx.lineTo(b[0] + 0.01, b[1]); inkCtx.stroke();
  };
  const toInk = (e) => [e.offsetX / pad.clientWidth * R, e.offsetY / pad.clientHeight * R];
  const startDrawing = () => {
    if (model.get("digit") !== -1) {  // drawing over a test digit starts from that digit
      const img = testDigit(digits, model.get("digit"));
      const id = inkCtx.createImageData(R, R);
      for (let p = 0; p < R * R; p++) id.data[4 * p + 3] = Math.round(255 * img[Math.floor(Math.floor(p / R) / 4) * 28 + Math.floor((p % R) / 4)]);
      inkCtx.putImageData(id, 0, 0);
      model.set("digit", -1); model.save_changes();
    }
  };
  pad.addEventListener("pointerdown", (e) => {
    e.preventDefault(); pad.setPointerCapture(e.pointerId); startDrawing();
    pen = toInk(e); stroke(pen, pen); update();
  });
  pad.addEventListener("pointermove", (e) => {
    if (!pen) return;
    const p = toInk(e); stroke(pen, p); pen = p; update();
  });
  const lift = () => { pen = null; };
  pad.addEventListener("pointerup", lift); pad.addEventListener("pointercancel", lift);
  pad.addEventListener("keydown", (e) => {
    const d = { ArrowUp: [0, -4], ArrowDown: [0, 4], ArrowLeft: [-4, 0], ArrowRight: [4, 0] }[e.key];
    if (d) {
      e.preventDefault();
      const next = [Math.max(0, Math.min(R, cursor[0] + d[0])), Math.max(0, Math.min(R, cursor[1] + d[1]))];
      if (penDown) { startDrawing(); stroke(cursor, next); }
      cursor = next; update();
    } else if (e.key === " " || e.key === "Enter") {
      e.preventDefault(); penDown = !penDown;
      if (penDown) { startDrawing(); stroke(cursor, cursor); }
      update();
    } else if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault(); clear();
    }
  });
  const clear = () => {
    inkCtx.clearRect(0, 0, R, R);
    if (model.get("digit") !== -1) { model.set("digit", -1); model.save_changes(); } else update();
  };
  clearBtn.addEventListener("click", clear);
  select.addEventListener("change", () => { model.set("digit", Number(select.value)); model.save_changes(); });
  noise.addEventListener("input", () => { model.set("noise", Number(noise.value)); model.save_changes(); });

  // --- computing and drawing
  let y = null, img28 = null;
  const paint = (cv, data, n, m, offset, scale) => {
    const ctx = cv.getContext("2d"), id = ctx.createImageData(m, n);
    for (let p = 0; p < n * m; p++) {
      const [r, g, b] = diverging(data[offset + p] * scale);
      id.data[4 * p] = r; id.data[4 * p + 1] = g; id.data[4 * p + 2] = b; id.data[4 * p + 3] = 255;
    }
    ctx.putImageData(id, 0, 0);
  };
  const scaleOf = (v) => { let m = 0; for (const x of v) m = Math.max(m, Math.abs(x)); return m > 0 ? 1 / m : 1; };

  function inputImage() {
    const k = model.get("digit");
    let img;
    if (k >= 0) img = testDigit(digits, k);
    else {
      const data = inkCtx.getImageData(0, 0, R, R).data, a = new Float64Array(R * R);
      for (let p = 0; p < R * R; p++) a[p] = data[4 * p + 3] / 255;
      img = preprocessDrawing(a, R);
    }
    const [dy, dx] = model.get("shift");
    return addNoise(shift(img, dy, dx), model.get("noise"), 7);
  }

  function drawPad() {
    const k = model.get("digit");
    padCtx.fillStyle = "#fff"; padCtx.fillRect(0, 0, 224, 224);
    if (k >= 0) {
      const img = testDigit(digits, k), id = padCtx.createImageData(28, 28);
      for (let p = 0; p < 784; p++) { const v = 255 - Math.round(255 * img[p]); id.data.set([v, v, v, 255], 4 * p); }
      const tmp = document.createElement("canvas"); tmp.width = 28; tmp.height = 28; tmp.getContext("2d").putImageData(id, 0, 0);
      padCtx.imageSmoothingEnabled = false; padCtx.drawImage(tmp, 0, 0, 224, 224);
    } else padCtx.drawImage(ink, 0, 0, 224, 224);
    if (document.activeElement === pad) {  // the keyboard pen
      padCtx.strokeStyle = penDown ? "#c00000" : "#0050b0"; padCtx.lineWidth = 2;
      padCtx.beginPath(); padCtx.arc(cursor[0] * 2, cursor[1] * 2, 9, 0, 2 * Math.PI); padCtx.stroke();
    }
  }

  function update() {
    const t0 = performance.now();
    img28 = inputImage();
    const x = standardise(img28, mean, std);
    y = forward(w, x, arch);
    drawPad();
    // what the network sees: the standardised input, black background
    const sctx = seen.getContext("2d"), sid = sctx.createImageData(32, 32);
    for (let p = 0; p < 1024; p++) { const v = Math.round(255 * Math.min(1, Math.max(0, x[p] * std + mean))); sid.data.set([v, v, v, 255], 4 * p); }
    sctx.putImageData(sid, 0, 0);
    for (const layer of ["conv1", "pool1", "conv2", "pool2"]) {
      const [c, n] = SHAPES[layer], s = relu ? scaleOf(y[layer]) : 1;
      for (let k = 0; k < c; k++) paint(maps[layer][k], y[layer], n, n, k * n * n, s);
    }
    paint(maps.conv3[0], y.conv3, 10, 12, 0, relu ? scaleOf(y.conv3) : 1);
    paint(maps.fc1[0], y.fc1, 7, 12, 0, relu ? scaleOf(y.fc1) : 1);
    paint(maps.logits[0], y.logits, 1, 10, 0, scaleOf(y.logits));
    const best = y.probs.indexOf(Math.max(...y.probs));
    probsBox.replaceChildren(...Array.from(y.probs, (p, k) => h("div", { class: `cnnw-prob${k === best ? " cnnw-best" : ""}`, role: "listitem" },
      h("span", { class: "cnnw-digit", text: String(k) }),
      h("span", { class: "cnnw-bar" }, h("span", { style: `width: ${(100 * p).toFixed(1)}%` })),
      h("span", { class: "cnnw-p", text: p.toFixed(3) }))));
    const k = model.get("digit");
    const empty = img28.every((v) => v === 0);
    verdict.textContent = empty ? t("drawADigit") :
      t("says", best, y.probs[best].toFixed(3)) + (k >= 0 ? t("label", labels[k]) : ".");
    const [dy, dx] = model.get("shift");
    shiftText.textContent = t("shifted", dx, dy);
    noiseText.textContent = `σ = ${Number(model.get("noise")).toFixed(2)}`;
    select.value = String(k); noise.value = String(model.get("noise"));
    showSelection();
    lastMs = performance.now() - t0;
    recent.push(lastMs); if (recent.length > 15) recent.shift();
    const sorted = [...recent].sort((a, b) => a - b), median = sorted[Math.floor(sorted.length / 2)];
    timing.textContent = t("timing", median.toFixed(1), recent.length);
  }
  let lastMs = 0;
  const recent = [];

  function showSelection() {
    if (!y) return;
    const { layer, c, i, j } = sel;
    root.querySelectorAll(".cnnw-unit").forEach((u) => { u.style.display = "none"; });
    const cv = maps[layer][c];
    const [n, m] = [cv.height, cv.width];
    const mark = cv.parentNode.querySelector(".cnnw-unit");
    Object.assign(mark.style, { display: "block", top: `${100 * i / n}%`, left: `${100 * j / m}%`, width: `${100 / m}%`, height: `${100 / n}%` });
    let value, unitName, unit = i * m + j;
    if (SHAPES[layer]) { value = y[layer][(c * n + i) * n + j]; unitName = t("mapUnit", layer, c, i, j); }
    else { value = y[layer][unit]; unitName = layer === "logits" ? t("logitOf", unit) : t("unitOf", layer, unit); }
    if (!SHAPES[layer] && unit >= y[layer].length) { mark.style.display = "none"; unitText.textContent = ""; kernels.replaceChildren(); return; }
    const [[r0, r1], [c0, c1]] = field(layer, i, j);
    Object.assign(fieldMark.style, { top: `${100 * r0 / 32}%`, left: `${100 * c0 / 32}%`, height: `${100 * (r1 - r0) / 32}%`, width: `${100 * (c1 - c0) / 32}%` });
    const fieldText = GEOMETRY[layer] ? t("sees", r0, r1 - 1, c0, c1 - 1, `${r1 - r0}×${c1 - c0}`) : t("seesAll");
    // the kernel(s) that produced it
    let ks = [], kn = 5, km = 5, what;
    const convIdx = { conv1: 1, conv2: 2, conv3: 3 }[layer];
    const ch = layer === "conv3" ? unit : c;
    if (convIdx) {
      const cin = CONVS[convIdx - 1][0], wt = w[`conv${convIdx}.w`];
      for (let q = 0; q < cin; q++) ks.push(wt.subarray((ch * cin + q) * 25, (ch * cin + q + 1) * 25));
      what = t("fromKernels", cin, w[`conv${convIdx}.b`][ch].toFixed(3));
    } else if (layer === "fc1" || layer === "logits") {
      const [nin] = layer === "fc1" ? DENSE[0] : DENSE[1], wt = w[layer === "fc1" ? "fc1.w" : "fc2.w"];
      ks = [wt.subarray(unit * nin, (unit + 1) * nin)];
      [kn, km] = layer === "fc1" ? [10, 12] : [7, 12];
      what = t("fromWeights", nin);
    } else what = t(`${pool}Window`);
    unitText.textContent = t("unitText", unitName, value.toFixed(3), fieldText, what, ks.length > 0);
    const s = ks.length ? scaleOf(ks.flatMap((k) => Array.from(k))) : 1;
    kernels.replaceChildren(...ks.map((k) => {
      const kc = h("canvas", { class: "cnnw-kernel-map", width: String(km), height: String(kn) });
      const pad_ = new Float64Array(kn * km); pad_.set(k);
      paint(kc, pad_, kn, km, 0, s);
      return kc;
    }));
    for (const [lay, cvs] of Object.entries(maps)) cvs.forEach((q, idx) => q.classList.toggle("cnnw-selected", lay === layer && idx === c));
  }

  // A benchmark hook for the browser test: n updates over the test digits, their times (ms).
  root.cnnwBench = (n) => {
    const times = [];
    for (let r = 0; r < n; r++) {
      model.set("digit", r % labels.length);  // no save: the hook measures, it does not edit
      update(); times.push(lastMs);
    }
    return times;
  };
  pad.addEventListener("focus", drawPad); pad.addEventListener("blur", drawPad);
  for (const f of ["digit", "noise", "shift"]) model.on(`change:${f}`, update);
  model.on("change:weights", () => { w = decodeWeights(model.get("weights")); update(); });
  model.on("change:digits", () => { digits = decodeBase64(model.get("digits")); update(); });
  update();
}

export default { render };
