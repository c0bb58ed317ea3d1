// Pooling explorer (lecture L12, L14): max or average pooling with kernel, stride, padding
// and ceil_mode; the output, PyTorch's refusals, and where the gradient goes.
import { h, selectInput, checkInput, floorDiv, fmt } from "./_common.js";
import { intPair, wholeField, legend, arrowKeys, clamp } from "./_controls.js";
import { translator, plural } from "./_i18n.js";

// The widget's words (see _i18n.js); PyTorch's refusals are quoted as PyTorch words them.
export const TEXT = {
  en: {
    inputHeight: "input height", inputWidth: "input width",
    pooling: "pooling", max: "max (MaxPool2d)", avg: "average (AvgPool2d)", input: "input H × W",
    newInput: "new random input", kernel: "kernel", stride: "stride", padding: "padding",
    countIncludePad: " count_include_pad (average)",
    keyWindow: "the window of the selected output cell, and that cell", keyMax: "its maximum (max pooling)",
    keyPadding: "padding (italic)",
    pointHint: "Point at an output cell, or click the tables and move with the arrow keys.",
    refuses: (error) => `PyTorch refuses: ${error}`,
    ceilNote: ", minus one if the last window would start in the right padding",
    inputTable: "input (with padding)", outputTable: "output: point at a cell",
    gradTable: "gradient of sum(output) w.r.t. the input",
    maxCaption: (cell, v, from, dead, n) => `Output ${cell} = ${v}, the maximum of its window, taken from input ${from} (red). ` +
      `Backward, each output's gradient goes to its argmax only: ${dead} of ${n} inputs get none.`,
    avgCaption: (cell, v) => `Output ${cell} = ${v}, the mean of its window. Backward, each output's gradient is shared equally by the cells it averaged.`,
    selectedCell: "the selected output cell",
  },
  ru: {
    inputHeight: "высота входа", inputWidth: "ширина входа",
    pooling: "пулинг", max: "max (MaxPool2d)", avg: "усреднение (AvgPool2d)", input: "вход H × W",
    newInput: "новый случайный вход", kernel: "ядро", stride: "шаг", padding: "отступ",
    countIncludePad: " count_include_pad (усреднение)",
    keyWindow: "окно выбранной клетки выхода и сама клетка", keyMax: "его максимум (max-пулинг)",
    keyPadding: "отступ (курсив)",
    pointHint: "Наведите указатель на клетку выхода или щёлкните по таблицам и двигайтесь стрелками.",
    refuses: (error) => `PyTorch отказывает: ${error}`,
    ceilNote: ", минус один, если последнее окно начиналось бы в правом отступе",
    inputTable: "вход (с отступом)", outputTable: "выход: наведите на клетку",
    gradTable: "градиент sum(выход) по входу",
    maxCaption: (cell, v, from, dead, n) => `Выход ${cell} = ${v} — максимум своего окна, взятый из клетки входа ${from} (красная). ` +
      `При обратном проходе градиент каждого выхода уходит только в его argmax: ${dead} из ${n} ${plural(n, "входа", "входов", "входов")} не получают ничего.`,
    avgCaption: (cell, v) => `Выход ${cell} = ${v} — среднее своего окна. При обратном проходе градиент каждого выхода поровну делится между клетками, которые он усреднял.`,
    selectedCell: "выбранная клетка выхода",
  },
};

export const FIELDS = ["kind", "kernel_h", "kernel_w", "stride_h", "stride_w", "padding_h",
  "padding_w", "ceil_mode", "count_include_pad"];

// Output length along one axis (ATen's pooling_output_shape, dilation 1).
export function outputLength(n, k, s, p, ceil) {
  let out = floorDiv(n + 2 * p - (k - 1) - 1 + (ceil ? s - 1 : 0), s) + 1;
  if (ceil && (out - 1) * s >= n + p) out -= 1;  // the last window must start inside
  return out;
}

// What F.max_pool2d / F.avg_pool2d says about a (1, 1, H, W) input:
// {ok: true, out: [H_out, W_out]} or {ok: false, error}.
export function poolCheck(H, W, c) {
  const [kh, kw, sh, sw, ph, pw] = [c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.padding_h, c.padding_w];
  const refuse = (error) => ({ ok: false, type: "RuntimeError", error });
  if (kh <= 0 || kw <= 0) return refuse(`kernel size should be greater than zero, but got kH: ${kh} kW: ${kw}`);
  if (sh === 0 || sw === 0) return refuse("stride should not be zero");
  for (const p of [ph, pw]) if (p < 0) return refuse(`pad must be non-negative, but got pad: ${p}`);
  for (const [p, k] of [[ph, kh], [pw, kw]])
    if (p > floorDiv(k, 2)) return refuse(`pad should be at most half of effective kernel size, but got pad=${p}, kernel_size=${k} and dilation=1`);
  const ho = outputLength(H, kh, sh, ph, c.ceil_mode), wo = outputLength(W, kw, sw, pw, c.ceil_mode);
  if (ho < 1 || wo < 1) return refuse(`Given input size: (1x${H}x${W}). Calculated output size: (1x${ho}x${wo}). Output size is too small`);
  return { ok: true, out: [ho, wo] };
}

// The window of output (i, j) along one axis: [start, end) in input coordinates, unclipped.
const span = (i, k, s, p) => [i * s - p, i * s - p + k];

// Pool the H×W input x (nested lists). Returns {values, argmax} (argmax: [row, col] of the
// input cell each max came from, the first maximum in row-major order, as PyTorch takes).
export function pool(x, c) {
  const H = x.length, W = x[0].length;
  const r = poolCheck(H, W, c);
  if (!r.ok) return r;
  const [ho, wo] = r.out;
  const values = [], argmax = [];
  for (let i = 0; i < ho; i++) {
    const vrow = [], arow = [];
    for (let j = 0; j < wo; j++) {
      let [h0, h1] = span(i, c.kernel_h, c.stride_h, c.padding_h);
      let [w0, w1] = span(j, c.kernel_w, c.stride_w, c.padding_w);
      if (c.kind === "max") {
        let best = -Infinity, at = [Math.max(h0, 0), Math.max(w0, 0)];
        for (let a = Math.max(h0, 0); a < Math.min(h1, H); a++)
          for (let b = Math.max(w0, 0); b < Math.min(w1, W); b++)
            if (x[a][b] > best || Number.isNaN(x[a][b])) { best = x[a][b]; at = [a, b]; }
        vrow.push(best); arow.push(at);
      } else {
        // ATen's avg_pool2d: the divisor counts padding (count_include_pad) up to H + p only.
        const size = (Math.min(h1, H + c.padding_h) - h0) * (Math.min(w1, W + c.padding_w) - w0);
        h0 = Math.max(h0, 0); w0 = Math.max(w0, 0); h1 = Math.min(h1, H); w1 = Math.min(w1, W);
        if (h0 >= h1 || w0 >= w1) { vrow.push(0); arow.push(null); continue; }
        let sum = 0;
        for (let a = h0; a < h1; a++) for (let b = w0; b < w1; b++) sum += x[a][b];
        vrow.push(sum / (c.count_include_pad ? size : (h1 - h0) * (w1 - w0))); arow.push(null);
      }
    }
    values.push(vrow); argmax.push(arow);
  }
  return { ok: true, out: r.out, values, argmax };
}

// The gradient with respect to the input, given the gradient g (H_out × W_out) of the output:
// max pooling sends each g[i][j] to its argmax; average pooling spreads it over the window.
export function backward(x, c, g) {
  const H = x.length, W = x[0].length;
  const r = pool(x, c);
  const grad = Array.from({ length: H }, () => new Array(W).fill(0));
  r.values.forEach((row, i) => row.forEach((_, j) => {
    if (c.kind === "max") { const [a, b] = r.argmax[i][j]; grad[a][b] += g[i][j]; return; }
    let [h0, h1] = span(i, c.kernel_h, c.stride_h, c.padding_h);
    let [w0, w1] = span(j, c.kernel_w, c.stride_w, c.padding_w);
    const size = (Math.min(h1, H + c.padding_h) - h0) * (Math.min(w1, W + c.padding_w) - w0);
    h0 = Math.max(h0, 0); w0 = Math.max(w0, 0); h1 = Math.min(h1, H); w1 = Math.min(w1, W);
    const div = c.count_include_pad ? size : (h1 - h0) * (w1 - w0);
    for (let a = h0; a < h1; a++) for (let b = w0; b < w1; b++) grad[a][b] += g[i][j] / div;
  }));
  return grad;
}

// A deterministic "random" integer input 0..9 of size H×W (the widget's "new input").
export function sampleInput(H, W, seed) {
  let s = (seed * 2654435761 + H * 40503 + W) >>> 0;
  return Array.from({ length: H }, () => Array.from({ length: W }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 16) % 10;
  }));
}

function render({ model, el }) {
  const t = translator(TEXT, el);
  const root = h("div", { class: "cnnw cnnw-pooling" });
  const cfg = () => Object.fromEntries(FIELDS.map((f) => [f, model.get(f)]));
  let seed = 0;
  const newInput = () => {
    const H = Number(hIn.input.value), W = Number(wIn.input.value);
    model.set("values", sampleInput(H, W, ++seed)); model.save_changes();
  };
  const x0 = model.get("values");
  const hIn = wholeField(t("inputHeight"), 1, 12, x0.length, newInput);
  const wIn = wholeField(t("inputWidth"), 1, 12, x0[0].length, newInput);
  hIn.input.dataset.role = "input-h"; wIn.input.dataset.role = "input-w";
  const controls = h("div", { class: "cnnw-controls" },
    selectInput(model, "kind", t("pooling"), [["max", t("max")], ["avg", t("avg")]]),
    h("div", { class: "cnnw-pair" }, h("span", { text: t("input") }), hIn.field, h("span", { text: "×" }), wIn.field),
    h("button", { type: "button", text: t("newInput"), "data-role": "new-input", onclick: () => {
      if (!hIn.input.classList.contains("cnnw-invalid") && !wIn.input.classList.contains("cnnw-invalid")) newInput();
    } }),
    intPair(model, "kernel_h", "kernel_w", t("kernel"), 1, 6),
    intPair(model, "stride_h", "stride_w", t("stride"), 1, 6),
    intPair(model, "padding_h", "padding_w", t("padding"), 0, 3),
    checkInput(model, "ceil_mode", " ceil_mode"),
    checkInput(model, "count_include_pad", t("countIncludePad")));
  const status = h("div", { class: "cnnw-status", "aria-live": "polite" });
  const tables = h("div", { class: "cnnw-row cnnw-wrap" });
  const caption = h("div", { class: "cnnw-caption", "aria-live": "polite" });
  const key = legend([["rgba(255, 140, 0, .35)", t("keyWindow")],
    [{ outline: "#ff3b30" }, t("keyMax")], ["rgba(128,128,128,.18)", t("keyPadding")]]);
  const maxKey = key.children[1];  // average pooling outlines no maximum: its key is hidden
  root.append(controls, h("div", { class: "cnnw-view" }, status, tables, key,
    h("div", { class: "cnnw-hint", text: t("pointHint") }), caption));
  el.appendChild(root);
  let hover = [0, 0];

  function grid(title, rows, cls) {
    const t = h("table", { class: `cnnw-grid ${cls}` });
    rows.forEach((row) => t.append(h("tr", {}, ...row)));
    return h("div", {}, h("div", { class: "cnnw-caption", text: title }), t);
  }

  function draw() {
    const x = model.get("values"), c = cfg();
    const H = x.length, W = x[0].length;
    hIn.input.value = String(H); wIn.input.value = String(W);
    const r = pool(x, c);
    tables.replaceChildren();
    if (!r.ok) {
      root.classList.add("cnnw-refused");
      status.textContent = t("refuses", `RuntimeError: ${r.error}`);
      caption.textContent = "";
      return;
    }
    root.classList.remove("cnnw-refused");
    const [ho, wo] = r.out;
    if (hover[0] >= ho || hover[1] >= wo) hover = [0, 0];
    const [i, j] = hover;
    const layer = c.kind === "max" ? "max_pool2d" : "avg_pool2d";
    maxKey.hidden = c.kind !== "max";
    status.textContent = `${layer}: ${H}×${W} → ${ho}×${wo}` +
      `   (H_out = ⌊(${H} + 2·${c.padding_h} − ${c.kernel_h}${c.ceil_mode ? ` + ${c.stride_h} − 1` : ""})/${c.stride_h}⌋ + 1` +
      `${c.ceil_mode ? t("ceilNote") : ""})`;
    const [h0, h1] = span(i, c.kernel_h, c.stride_h, c.padding_h);
    const [w0, w1] = span(j, c.kernel_w, c.stride_w, c.padding_w);
    // The frame: the input with its padding, and as far as ceil_mode windows reach.
    const rEnd = Math.max(H + c.padding_h, (ho - 1) * c.stride_h - c.padding_h + c.kernel_h);
    const cEnd = Math.max(W + c.padding_w, (wo - 1) * c.stride_w - c.padding_w + c.kernel_w);
    const inRows = [];
    for (let a = -c.padding_h; a < rEnd; a++) {
      const row = [];
      for (let b = -c.padding_w; b < cEnd; b++) {
        const inside = a >= 0 && a < H && b >= 0 && b < W;
        const td = h("td", { text: inside ? fmt(x[a][b]) : (c.kind === "max" ? "−∞" : (a < H + c.padding_h && b < W + c.padding_w ? "0" : "·")) });
        if (!inside) td.classList.add("cnnw-pad");
        if (a >= h0 && a < h1 && b >= w0 && b < w1) td.classList.add("cnnw-hot");
        if (c.kind === "max" && r.argmax[i][j][0] === a && r.argmax[i][j][1] === b) td.classList.add("cnnw-max");
        row.push(td);
      }
      inRows.push(row);
    }
    const outRows = r.values.map((row, a) => row.map((v, b) => {
      const td = h("td", { text: fmt(v, 2) });
      if (a === i && b === j) td.classList.add("cnnw-hot");
      td.addEventListener("mouseenter", () => { hover = [a, b]; draw(); });
      return td;
    }));
    const ones = r.values.map((row) => row.map(() => 1));
    const grad = backward(x, c, ones);
    const gradRows = grad.map((row) => row.map((v) => {
      const td = h("td", { text: fmt(v, 2) });
      if (v === 0) td.classList.add("cnnw-zero");
      return td;
    }));
    tables.append(grid(t("inputTable"), inRows, "cnnw-in"), grid(t("outputTable"), outRows, "cnnw-out"),
      grid(t("gradTable"), gradRows, "cnnw-grad"));
    const dead = grad.flat().filter((v) => v === 0).length;
    caption.textContent = c.kind === "max"
      ? t("maxCaption", `(${i}, ${j})`, fmt(r.values[i][j], 2), `(${r.argmax[i][j].join(", ")})`, dead, H * W)
      : t("avgCaption", `(${i}, ${j})`, fmt(r.values[i][j], 3));
  }
  arrowKeys(tables, t("selectedCell"), (di, dj) => {
    const r = pool(model.get("values"), cfg());
    if (!r.ok) return;
    hover = [clamp(hover[0] + di, 0, r.out[0] - 1), clamp(hover[1] + dj, 0, r.out[1] - 1)];
    draw();
  });
  for (const f of [...FIELDS, "values"]) model.on(`change:${f}`, draw);
  draw();
}

export default { render };
