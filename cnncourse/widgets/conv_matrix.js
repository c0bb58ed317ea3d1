// Convolution as a matrix (lecture L09, L30): for a small input and kernel, the sparse matrix
// M with M·x = conv(x) (flattened row by row) and, in the transposed mode, Mᵀ, which is the
// transposed convolution. The highlighted row (or column) follows the cell under the pointer.
import { h, checkInput, floorDiv, fmt, colours } from "./_common.js";
import { intField, intPair, wholeField, numberGrid, legend, arrowKeys, clamp } from "./_controls.js";
import { translator, plural } from "./_i18n.js";

// The widget's words (see _i18n.js).
export const TEXT = {
  en: {
    doesNotFit: (k, n) => `the kernel ${k} does not fit the padded input ${n}`,
    kernelHeight: "kernel, height", kernelWidth: "kernel, width",
    input: "input H × W", kernel: "kernel", stride: "stride", padding: "padding",
    weightsHint: "Weights: a number (−1, 0.5) or a fraction (1/4), then Enter.",
    transposed: " transposed: show Mᵀ (ConvTranspose2d)",
    pointHint: "Point at an output cell or a row of the matrix, or click the tables and move with the arrow keys.",
    weight: "kernel weight",
    isProduct: (sizes, product, m, size) => `${sizes} is ${product}, ${m} of size ${size}`,
    inputCount: "input x (1, 2, …)", inputX: "input x", outputY: "output y: point at a cell",
    caption: (m, size, nz, n, nk, transposed, k, cell) => `${m}: ${size}, ${nz} of ${n} entries can be nonzero (sparse interactions), ` +
      `each a copy of one of the ${nk} kernel weights (colour: which one). Highlighted: ${transposed ? "column" : "row"} ${k} of M, ` +
      `the output cell ${cell}; the input cells it reads are highlighted.`,
    selectedCell: "the selected output cell",
  },
  ru: {
    doesNotFit: (k, n) => `ядро ${k} не помещается во вход с отступом ${n}`,
    kernelHeight: "ядро, высота", kernelWidth: "ядро, ширина",
    input: "вход H × W", kernel: "ядро", stride: "шаг", padding: "отступ",
    weightsHint: "Веса: число (−1, 0.5 — с точкой) или дробь (1/4), затем Enter.",
    transposed: " транспонированная: показать Mᵀ (ConvTranspose2d)",
    pointHint: "Наведите указатель на клетку выхода или строку матрицы или щёлкните по таблицам и двигайтесь стрелками.",
    weight: "вес ядра",
    isProduct: (sizes, product, m, size) => `${sizes} — это ${product}, матрица ${m} размера ${size}`,
    inputCount: "вход x (1, 2, …)", inputX: "вход x", outputY: "выход y: наведите на клетку",
    caption: (m, size, nz, n, nk, transposed, k, cell) => `${m}: ${size}, ненулевыми могут быть ${nz} из ${n} ${plural(n, "элемента", "элементов", "элементов")} ` +
      `(разреженные взаимодействия), каждый — копия одного из ${nk} ${plural(nk, "веса", "весов", "весов")} ядра (цвет — какого). ` +
      `Подсвечен${transposed ? " столбец" : "а строка"} ${k} матрицы M — клетка выхода ${cell}; клетки входа, которые она читает, подсвечены.`,
    selectedCell: "выбранная клетка выхода",
  },
};

// Output size of the (direct) convolution along one axis.
export const outLen = (n, k, s, p) => floorDiv(n + 2 * p - k, s) + 1;

// The (H_out·W_out)×(H·W) matrix of F.conv2d(x, kernel, stride, padding) on an H×W input,
// and for each entry the kernel index a·kw + b it holds (−1 for a structural zero).
export function convMatrix(H, W, kernel, stride, padding, t = translator(TEXT)) {
  const kh = kernel.length, kw = kernel[0].length;
  const ho = outLen(H, kh, stride, padding), wo = outLen(W, kw, stride, padding);
  if (ho < 1 || wo < 1) return { ok: false, error: t("doesNotFit", `${kh}×${kw}`, `${H + 2 * padding}×${W + 2 * padding}`) };
  const matrix = [], which = [];
  for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) {
    const row = new Array(H * W).fill(0), src = new Array(H * W).fill(-1);
    for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) {
      const r = i * stride - padding + a, c = j * stride - padding + b;
      if (r < 0 || r >= H || c < 0 || c >= W) continue;
      row[r * W + c] += kernel[a][b];
      src[r * W + c] = a * kw + b;
    }
    matrix.push(row); which.push(src);
  }
  return { ok: true, outHeight: ho, outWidth: wo, matrix, which };
}

export function transpose(m) {
  return m[0].map((_, j) => m.map((row) => row[j]));
}

export function matVec(m, v) {
  return m.map((row) => row.reduce((s, x, j) => s + x * v[j], 0));
}

// The output_padding that makes ConvTranspose2d map H_out×W_out back to H×W.
export const outputPadding = (n, k, s, p) => (n + 2 * p - k) - floorDiv(n + 2 * p - k, s) * s;

const defaultInput = (H, W) => Array.from({ length: H }, (_, i) => Array.from({ length: W }, (_, j) => (i * W + j) % 5));

function render({ model, el }) {
  const t = translator(TEXT, el);
  const root = h("div", { class: "cnnw cnnw-conv-matrix" });
  const kernelBox = h("div", {});
  const resizeKernel = () => {
    const kh = Number(khIn.input.value), kw = Number(kwIn.input.value);
    const old = model.get("kernel");
    model.set("kernel", Array.from({ length: kh }, (_, a) => Array.from({ length: kw }, (_, b) =>
      old[a] && old[a][b] !== undefined ? old[a][b] : 1)));
    model.save_changes();
  };
  const k0 = model.get("kernel");
  const khIn = wholeField(t("kernelHeight"), 1, 3, k0.length, resizeKernel);
  const kwIn = wholeField(t("kernelWidth"), 1, 3, k0[0].length, resizeKernel);
  khIn.input.dataset.role = "kernel-h"; kwIn.input.dataset.role = "kernel-w";
  const controls = h("div", { class: "cnnw-controls" },
    intPair(model, "height", "width", t("input"), 1, 5),
    h("div", { class: "cnnw-pair" }, h("span", { text: t("kernel") }), khIn.field, h("span", { text: "×" }), kwIn.field),
    kernelBox,
    h("div", { class: "cnnw-hint", text: t("weightsHint") }),
    intField(model, "stride", t("stride"), 1, 3),
    intField(model, "padding", t("padding"), 0, 2),
    checkInput(model, "transposed", t("transposed")));
  const status = h("div", { class: "cnnw-status" });
  const grids = h("div", { class: "cnnw-row cnnw-wrap" });
  const canvas = h("canvas", {});
  const key = h("div", {});
  const caption = h("div", { class: "cnnw-caption", "aria-live": "polite" });
  root.append(controls, h("div", { class: "cnnw-view" }, status, grids,
    h("div", { class: "cnnw-hint", text: t("pointHint") }),
    canvas, key, caption));
  el.appendChild(root);
  let hover = 0, geom = null, kernelShape = "";
  const typed = new Map();  // "a,b" -> [text as typed, its value]: 1/4 stays 1/4
  const shownWeight = (a, b, v) => { const t = typed.get(`${a},${b}`); return t && t[1] === v ? t[0] : fmt(v, 4); };

  const table = (title, m, hot, onEnter, cls) => {
    const t = h("table", { class: `cnnw-grid ${cls}` });
    m.forEach((row, i) => t.append(h("tr", {}, ...row.map((v, j) => {
      const td = h("td", { text: fmt(v, 2) });
      if (hot.has(i * row.length + j)) td.classList.add("cnnw-hot");
      if (onEnter) td.addEventListener("mouseenter", () => onEnter(i * row.length + j));
      return td;
    }))));
    return h("div", {}, h("div", { class: "cnnw-caption", text: title }), t);
  };

  function draw() {
    const H = model.get("height"), W = model.get("width"), s = model.get("stride"), p = model.get("padding");
    const kernel = model.get("kernel"), T = model.get("transposed");
    let x = model.get("values");
    if (x.length !== H || x[0].length !== W) x = defaultInput(H, W);
    khIn.input.value = String(kernel.length); kwIn.input.value = String(kernel[0].length);
    const shape = `${kernel.length}x${kernel[0].length}`;
    if (shape !== kernelShape) {
      kernelShape = shape;
      kernelBox.replaceChildren(numberGrid(kernel, (a, b, v, text) => {
        typed.set(`${a},${b}`, [text, v]);
        const k = model.get("kernel").map((r) => r.slice()); k[a][b] = v; model.set("kernel", k); model.save_changes();
      }, { name: t("weight"), shown: shownWeight }));
    } else kernelBox.querySelectorAll("tr").forEach((tr, a) => tr.querySelectorAll("input").forEach((input, b) => {
      if (input !== document.activeElement && !input.classList.contains("cnnw-invalid")) input.value = shownWeight(a, b, kernel[a][b]);
    }));
    const r = convMatrix(H, W, kernel, s, p, t);
    grids.replaceChildren();
    if (!r.ok) { status.textContent = r.error; canvas.width = 1; canvas.height = 1; caption.textContent = ""; key.replaceChildren(); geom = null; return; }
    const { outHeight: ho, outWidth: wo } = r;
    const M = T ? transpose(r.matrix) : r.matrix;
    const which = T ? transpose(r.which) : r.which;
    const [inH, inW, outH, outW] = T ? [ho, wo, H, W] : [H, W, ho, wo];
    const v = T ? Array.from({ length: ho * wo }, (_, k) => k + 1) : x.flat();
    const y = matVec(M, v);
    if (hover >= outH * outW) hover = 0;
    const inputsUsed = new Set(M[hover].map((m, j) => (which[hover][j] >= 0 ? j : -1)).filter((j) => j >= 0));
    const reshape = (flat, w) => Array.from({ length: flat.length / w }, (_, i) => flat.slice(i * w, (i + 1) * w));
    const op = [outputPadding(H, kernel.length, s, p), outputPadding(W, kernel[0].length, s, p)];
    status.textContent = T
      ? `ConvTranspose2d(1, 1, (${kernel.length}, ${kernel[0].length}), stride=${s}, padding=${p}, output_padding=(${op.join(", ")})): ` +
        t("isProduct", `${ho}×${wo} → ${H}×${W}`, "y = Mᵀ·x", "Mᵀ", `${H * W}×${ho * wo}`)
      : `Conv2d(1, 1, (${kernel.length}, ${kernel[0].length}), stride=${s}, padding=${p}): ` +
        t("isProduct", `${H}×${W} → ${ho}×${wo}`, "y = M·x", "M", `${ho * wo}×${H * W}`);
    const onEnter = (k) => { hover = k; draw(); };
    grids.append(table(T ? t("inputCount") : t("inputX"), reshape(v, inW), inputsUsed, null, "cnnw-in"),
      table(t("outputY"), reshape(y, outW), new Set([hover]), onEnter, "cnnw-out"));
    // The matrix, drawn on a canvas: row `hover` highlighted; entries coloured by the kernel
    // weight they hold (the same weight everywhere: parameter sharing).
    const rows = M.length, cols = M[0].length;
    const cell = Math.max(12, Math.min(22, Math.floor(560 / cols)));
    canvas.width = cols * cell + 2; canvas.height = rows * cell + 2;
    const ctx = canvas.getContext("2d");
    const col = colours(root);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = col.out;
    ctx.fillRect(0, hover * cell, cols * cell, cell);
    ctx.font = `${Math.floor(cell * 0.55)}px monospace`;
    ctx.textAlign = "center"; ctx.textBaseline = "middle";
    const nk = kernel.length * kernel[0].length;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
      const k = which[i][j];
      if (k >= 0) {
        ctx.fillStyle = `hsla(${Math.round(360 * k / nk)}, 70%, 55%, ${i === hover ? 0.75 : 0.35})`;
        ctx.fillRect(j * cell + 1, i * cell + 1, cell - 1, cell - 1);
        ctx.fillStyle = col.fg;
        ctx.fillText(fmt(M[i][j], 1), j * cell + cell / 2, i * cell + cell / 2 + 1);
      } else {
        ctx.fillStyle = col.grid;
        ctx.fillText("·", j * cell + cell / 2, i * cell + cell / 2);
      }
    }
    ctx.strokeStyle = col.hot; ctx.lineWidth = 2;
    ctx.strokeRect(1, hover * cell + 1, cols * cell - 1, cell - 1);
    geom = { cell, rows, outW };
    key.replaceChildren(legend(kernel.flatMap((row, a) => row.map((w, b) =>
      [`hsla(${Math.round(360 * (a * kernel[0].length + b) / nk)}, 70%, 55%, 0.75)`, `w[${a},${b}] = ${fmt(w, 3)}`]))));
    const nz = which.flat().filter((k) => k >= 0).length;
    caption.textContent = t("caption", T ? "Mᵀ" : "M", `${rows}×${cols}`, nz, rows * cols, nk, T, hover,
      `(${Math.floor(hover / outW)}, ${hover % outW})`);
  }
  canvas.addEventListener("mousemove", (e) => {
    if (!geom) return;
    const i = Math.floor(e.offsetY * canvas.height / canvas.clientHeight / geom.cell);  // offset: inside the border
    if (i >= 0 && i < geom.rows && i !== hover) { hover = i; draw(); }
  });
  arrowKeys(grids, t("selectedCell"), (di, dj) => {
    if (!geom) return;
    const w = geom.outW, n = geom.rows;
    const i = clamp(Math.floor(hover / w) + di, 0, Math.floor((n - 1) / w)), j = clamp(hover % w + dj, 0, w - 1);
    hover = clamp(i * w + j, 0, n - 1); draw();
  });
  for (const f of ["height", "width", "kernel", "stride", "padding", "transposed", "values"]) model.on(`change:${f}`, draw);
  draw();
}

export default { render };
