// Kernel playground (lecture L05, L25): a photo, a kernel (a preset or your own, up to 7×7),
// the padding mode, grayscale or each RGB channel on its own; the output, the kernel's rank
// and, for rank 1, its separable factors.
import { h, selectInput, fmt, decodeBase64 } from "./_common.js";
import { numberGrid, legend, arrowKeys, clamp } from "./_controls.js";
import { translator } from "./_i18n.js";

// The widget's words (see _i18n.js); the presets' names are the lecture's (cnncourse.lecture).
export const TEXT = {
  en: {
    "preset.identity": "identity", "preset.blur": "blur", "preset.sharpen": "sharpen",
    "preset.top sobel": "top sobel", "preset.bottom sobel": "bottom sobel", "preset.left sobel": "left sobel",
    "preset.right sobel": "right sobel", "preset.outline": "outline", "preset.custom": "custom", "preset.edited": "edited",
    kernelHeight: "kernel height", kernelWidth: "kernel width",
    arithChannel: "channel of the arithmetic", arithOf: "arithmetic of", red: "red", green: "green", blue: "blue",
    kernel: "kernel", size: "size",
    editHint: "Edit a weight: a number (−2, 0.25) or a fraction (1/9), then Enter.",
    padding: "padding", none: "none (valid)", sameSize: (mode) => `${mode} (same size)`,
    image: "image", grayscale: "grayscale", rgb: "RGB, channel by channel",
    showOutput: "show output", clipped: "clipped to 0–255", rescaled: "rescaled min–max",
    keyWindow: "the kernel's window on the input", keyPixel: "the output pixel it gives",
    pointHint: "Point at a pixel of either picture, or click one and move with the arrow keys (Shift: 5 pixels).",
    weight: "kernel weight", sumOfProducts: "the sum of the products",
    arithCaption: (i, j, channel, r0, r1, c0, c1, padded) => `Output pixel (row ${i}, column ${j})${channel}: ` +
      `the input under the window (rows ${r0}–${r1}, columns ${c0}–${c1}${padded ? `; italic: ${padded} padding` : ""}), times the kernel, summed:`,
    input: "input", products: "products",
    shownAs: (v, clip) => `shown as ${v} (${clip ? "clipped to 0–255" : "rescaled min–max to 0–255"})`,
    inputAria: (i, j) => `input photo; selected pixel row ${i}, column ${j}; arrow keys move it`,
    outputAria: (i, j) => `output; selected pixel row ${i}, column ${j}; arrow keys move it`,
    rank: (r) => `rank ${r}`,
    separable: (u, v, kh, kw) => `: separable, K = u·vᵀ with u = [${u}]ᵀ, v = [${v}]: a ${kh}×1 then a 1×${kw} convolution`,
    zeroKernel: ": the zero kernel", notSeparable: ": not separable (only rank-1 kernels are)",
    sumOfWeights: (s) => `. Sum of the weights: ${s}.`,
    sizes: (a, b, lo, hi) => `input ${a} → output ${b}; output values from ${lo} to ${hi}`,
    doesNotFit: (k, n) => `The ${k} kernel does not fit the ${n} input without padding.`,
    selectedPixel: "the selected pixel",
  },
  ru: {
    "preset.identity": "тождественное", "preset.blur": "размытие", "preset.sharpen": "резкость",
    "preset.top sobel": "Собель сверху", "preset.bottom sobel": "Собель снизу", "preset.left sobel": "Собель слева",
    "preset.right sobel": "Собель справа", "preset.outline": "контур", "preset.custom": "«custom» из лекции", "preset.edited": "изменённое",
    kernelHeight: "высота ядра", kernelWidth: "ширина ядра",
    arithChannel: "канал для арифметики", arithOf: "арифметика канала", red: "красный", green: "зелёный", blue: "синий",
    kernel: "ядро", size: "размер",
    editHint: "Измените вес: число (−2, 0.25 — с точкой) или дробь (1/9), затем Enter.",
    padding: "отступ", none: "без отступа (valid)", sameSize: (mode) => `${mode} (размер сохраняется)`,
    image: "изображение", grayscale: "в градациях серого", rgb: "RGB, канал за каналом",
    showOutput: "выход", clipped: "обрезанный до 0–255", rescaled: "растянутый min–max",
    keyWindow: "окно ядра на входе", keyPixel: "пиксель выхода, который оно даёт",
    pointHint: "Наведите указатель на пиксель любой из картинок или щёлкните по нему и двигайтесь стрелками (с Shift — на 5 пикселей).",
    weight: "вес ядра", sumOfProducts: "сумма произведений",
    arithCaption: (i, j, channel, r0, r1, c0, c1, padded) => `Пиксель выхода (строка ${i}, столбец ${j})${channel}: ` +
      `вход под окном (строки ${r0}–${r1}, столбцы ${c0}–${c1}${padded ? `; курсив: отступ ${padded}` : ""}), умноженный на ядро и просуммированный:`,
    input: "вход", products: "произведения",
    shownAs: (v, clip) => `показан как ${v} (${clip ? "обрезан до 0–255" : "растянут min–max до 0–255"})`,
    inputAria: (i, j) => `входная фотография; выбран пиксель: строка ${i}, столбец ${j}; стрелки двигают его`,
    outputAria: (i, j) => `выход; выбран пиксель: строка ${i}, столбец ${j}; стрелки двигают его`,
    rank: (r) => `ранг ${r}`,
    separable: (u, v, kh, kw) => `: сепарабельное, K = u·vᵀ, где u = [${u}]ᵀ, v = [${v}]: свёртка ${kh}×1, затем 1×${kw}`,
    zeroKernel: ": нулевое ядро", notSeparable: ": не сепарабельное (сепарабельны только ядра ранга 1)",
    sumOfWeights: (s) => `. Сумма весов: ${s}.`,
    sizes: (a, b, lo, hi) => `вход ${a} → выход ${b}; значения выхода от ${lo} до ${hi}`,
    doesNotFit: (k, n) => `Ядро ${k} не помещается во вход ${n} без отступа.`,
    selectedPixel: "выбранный пиксель",
  },
};

export const MODES = ["zeros", "reflect", "replicate", "circular", "valid"];

// The photo is embedded as base64 of its uint8 pixels (HWC).
export const decodePixels = (b64) => decodeBase64(b64);

// Index into [0, n) for a padded position p (p may be negative or >= n), per padding mode;
// -1 for zero padding.
export function padIndex(p, n, mode) {
  if (p >= 0 && p < n) return p;
  if (mode === "zeros") return -1;
  if (mode === "replicate") return p < 0 ? 0 : n - 1;
  if (mode === "circular") return ((p % n) + n) % n;
  // reflect: mirror without repeating the edge (…, 2, 1, | 0, 1, 2, …)
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let q = ((p % period) + period) % period;
  return q < n ? q : period - q;
}

// Convolve each channel of an H×W×C image (flat, HWC) with the kernel (cross-correlation, as
// F.conv2d): mode "valid" pads nothing; otherwise the output keeps the size, padded as
// nn.Conv2d(padding="same", padding_mode=mode): (k − 1) // 2 before, the rest after.
// Returns {height, width, channels, values} (values flat, HWC).
export function convolve(pixels, H, W, C, kernel, mode) {
  const kh = kernel.length, kw = kernel[0].length;
  const [top, left] = mode === "valid" ? [0, 0] : [Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2)];
  const [ho, wo] = mode === "valid" ? [H - kh + 1, W - kw + 1] : [H, W];
  if (ho < 1 || wo < 1) return { height: 0, width: 0, channels: C, values: [] };
  const values = new Array(ho * wo * C).fill(0);
  for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) for (let c = 0; c < C; c++) {
    let s = 0;
    for (let a = 0; a < kh; a++) {
      const r = padIndex(i - top + a, H, mode);
      if (r < 0) continue;
      for (let b = 0; b < kw; b++) {
        const q = padIndex(j - left + b, W, mode);
        if (q < 0) continue;
        s += kernel[a][b] * pixels[(r * W + q) * C + c];
      }
    }
    values[(i * wo + j) * C + c] = s;
  }
  return { height: ho, width: wo, channels: C, values };
}

// Singular values of a small matrix (one-sided Jacobi), largest first.
export function singularValues(matrix) {
  const m = matrix.length, n = matrix[0].length;
  const a = matrix.map((row) => row.slice());
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0;
    for (let p = 0; p < n - 1; p++) for (let q = p + 1; q < n; q++) {
      let alpha = 0, beta = 0, gamma = 0;
      for (let i = 0; i < m; i++) { alpha += a[i][p] ** 2; beta += a[i][q] ** 2; gamma += a[i][p] * a[i][q]; }
      if (gamma === 0 || Math.abs(gamma) <= 1e-300 || Math.abs(gamma) <= 2.2e-16 * Math.sqrt(alpha * beta)) continue;
      off = Math.max(off, Math.abs(gamma) / Math.sqrt(alpha * beta));
      const zeta = (beta - alpha) / (2 * gamma);
      const t = Math.sign(zeta || 1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
      const cs = 1 / Math.sqrt(1 + t * t), sn = cs * t;
      for (let i = 0; i < m; i++) {
        const x = a[i][p], y = a[i][q];
        a[i][p] = cs * x - sn * y; a[i][q] = sn * x + cs * y;
      }
    }
    if (off < 1e-15) break;
  }
  const sv = [];
  for (let j = 0; j < n; j++) { let s = 0; for (let i = 0; i < m; i++) s += a[i][j] ** 2; sv.push(Math.sqrt(s)); }
  return sv.sort((x, y) => y - x);
}

// The rank as torch.linalg.matrix_rank computes it: singular values above
// σ_max · max(m, n) · eps (float64).
export function rank(matrix) {
  const sv = singularValues(matrix);
  const tol = sv[0] * Math.max(matrix.length, matrix[0].length) * 2.220446049250313e-16;
  return sv.filter((s) => s > tol).length;
}

// For a rank-1 kernel K, a column u and a row v with K = u·vᵀ (u scaled so that its smallest
// nonzero entry is ±1 and its first nonzero entry is positive); null otherwise.
export function separable(matrix) {
  if (rank(matrix) !== 1) return null;
  const m = matrix.length, n = matrix[0].length;
  let bi = 0, bj = 0;
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++)
    if (Math.abs(matrix[i][j]) > Math.abs(matrix[bi][bj])) { bi = i; bj = j; }
  let u = matrix.map((row) => row[bj]);
  const nz = u.filter((x) => Math.abs(x) > 1e-12 * Math.abs(matrix[bi][bj]));
  const smallest = Math.min(...nz.map(Math.abs));
  const sign = Math.sign(nz[0]);
  u = u.map((x) => x / (smallest * sign));
  const v = matrix[bi].map((x) => x / u[bi]);
  return { column: u, row: v };
}

// Output values to display bytes: "clip" to 0..255, or "rescale" min..max to 0..255.
export function toBytes(values, display) {
  let lo = 0, hi = 255;
  if (display === "rescale" && values.length) {
    lo = Infinity; hi = -Infinity;
    for (const v of values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    if (hi === lo) hi = lo + 1;
  }
  return values.map((v) => Math.max(0, Math.min(255, Math.round((v - lo) / (hi - lo) * 255))));
}

// The arithmetic of output pixel (i, j), channel c: the input values under the kernel (the
// padding mode's values; null for zero padding), the products with the kernel, and their sum,
// which is the output value (as convolve computes it).
export function pixelArithmetic(pixels, H, W, C, kernel, mode, i, j, c = 0) {
  const kh = kernel.length, kw = kernel[0].length;
  const [top, left] = mode === "valid" ? [0, 0] : [Math.floor((kh - 1) / 2), Math.floor((kw - 1) / 2)];
  const values = [], products = [], from = [];
  let sum = 0;
  for (let a = 0; a < kh; a++) {
    const vrow = [], prow = [], frow = [];
    const r = padIndex(i - top + a, H, mode);
    for (let b = 0; b < kw; b++) {
      const q = padIndex(j - left + b, W, mode);
      const v = r < 0 || q < 0 ? null : pixels[(r * W + q) * C + c];
      const prod = v === null ? 0 : kernel[a][b] * v;
      vrow.push(v); prow.push(prod); frow.push(r < 0 || q < 0 ? null : [r, q]);
      if (v !== null) sum += prod;
    }
    values.push(vrow); products.push(prow); from.push(frow);
  }
  return { values, products, from, sum, top: i - top, left: j - left };
}

function render({ model, el }) {
  const t = translator(TEXT, el);
  const presetName = (name) => (`preset.${name}` in TEXT.en ? t(`preset.${name}`) : name);
  const H = model.get("height"), W = model.get("width");
  const rgb = decodePixels(model.get("rgb")), gray = decodePixels(model.get("gray"));
  const presets = model.get("presets");
  const root = h("div", { class: "cnnw cnnw-kernel-playground" });
  const presetSel = h("select", {});
  presetSel.dataset.trait = "preset";
  for (const name of [...Object.keys(presets), "edited"]) presetSel.append(h("option", { value: name, text: presetName(name) }));
  const sizeSel = (axis) => {
    const s = h("select", { "aria-label": t(axis === "h" ? "kernelHeight" : "kernelWidth") });
    s.dataset.role = `kernel-${axis}`;
    for (let k = 1; k <= 7; k++) s.append(h("option", { value: String(k), text: String(k) }));
    return s;
  };
  const khSel = sizeSel("h"), kwSel = sizeSel("w");
  const table = h("div", {});
  const info = h("div", { class: "cnnw-caption" });
  const channelSel = h("select", { "aria-label": t("arithChannel") });
  for (const [v, name] of [["0", "red"], ["1", "green"], ["2", "blue"]]) channelSel.append(h("option", { value: v, text: t(name) }));
  const channelBox = h("label", {}, h("span", { text: t("arithOf") }), channelSel);
  const controls = h("div", { class: "cnnw-controls" },
    h("label", {}, h("span", { text: t("kernel") }), presetSel),
    h("label", {}, h("span", { text: t("size") }), khSel, "×", kwSel),
    table,
    h("div", { class: "cnnw-hint", text: t("editHint") }),
    selectInput(model, "padding_mode", t("padding"), MODES.map((m) => [m, m === "valid" ? t("none") : t("sameSize", m)])),
    selectInput(model, "color", t("image"), [["gray", t("grayscale")], ["rgb", t("rgb")]]),
    selectInput(model, "display", t("showOutput"), [["clip", t("clipped")], ["rescale", t("rescaled")]]),
    channelBox, info);
  const inCanvas = h("canvas", {}), outCanvas = h("canvas", { class: "cnnw-output" });
  const caption = h("div", { class: "cnnw-caption" });
  const arith = h("div", { class: "cnnw-arith", "aria-live": "polite" });
  const key = legend([[{ outline: "#ff8c00" }, t("keyWindow")], [{ outline: "#ff8c00" }, t("keyPixel")]]);
  const view = h("div", { class: "cnnw-view" },
    h("div", { class: "cnnw-row cnnw-wrap" }, inCanvas, outCanvas), key, caption,
    h("div", { class: "cnnw-hint", text: t("pointHint") }),
    arith);
  root.append(controls, view);
  el.appendChild(root);
  let sel = [Math.floor(H / 2), Math.floor(W / 2)], last = null;
  const typed = new Map();  // "a,b" -> [text as typed, its value]: 1/9 stays 1/9

  // Paint bytes (HWC) at `scale` pixels per pixel, and outline rows r0..r1, columns c0..c1.
  function paint(canvas, bytes, h_, w_, C, box) {
    const scale = model.get("scale");
    const off = document.createElement("canvas");
    off.width = Math.max(1, w_); off.height = Math.max(1, h_);
    const octx = off.getContext("2d");
    const img = octx.createImageData(off.width, off.height);
    for (let p = 0; p < h_ * w_; p++) {
      for (let c = 0; c < 3; c++) img.data[4 * p + c] = bytes[p * C + (C === 1 ? 0 : c)];
      img.data[4 * p + 3] = 255;
    }
    octx.putImageData(img, 0, 0);
    canvas.width = w_ * scale; canvas.height = h_ * scale;
    canvas.style.width = `${w_ * scale}px`;
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(off, 0, 0, w_ * scale, h_ * scale);
    if (!box) return;
    const [r0, r1, c0, c1] = box;
    const x = Math.max(c0, 0) * scale, y = Math.max(r0, 0) * scale;
    const w = (Math.min(c1, w_ - 1) + 1) * scale - x, hh = (Math.min(r1, h_ - 1) + 1) * scale - y;
    ctx.lineWidth = 3; ctx.strokeStyle = "#111"; ctx.strokeRect(x - 1.5, y - 1.5, w + 3, hh + 3);
    ctx.lineWidth = 1.5; ctx.strokeStyle = "#ff8c00"; ctx.strokeRect(x - 1.5, y - 1.5, w + 3, hh + 3);
  }

  function drawKernelTable(kernel) {
    table.replaceChildren(numberGrid(kernel, (a, b, x, text) => {
      const k = model.get("kernel").map((r) => r.slice());
      k[a][b] = x;
      typed.set(`${a},${b}`, [text, x]);
      model.set("preset", "edited"); model.set("kernel", k); model.save_changes();
    }, { name: t("weight"), shown: shownWeight }));
  }
  function shownWeight(a, b, v) {
    const t = typed.get(`${a},${b}`);
    return t && t[1] === v ? t[0] : fmt(v, 4);
  }

  function resize() {
    const old = model.get("kernel");
    const kh = Number(khSel.value), kw = Number(kwSel.value);
    const k = Array.from({ length: kh }, (_, a) => Array.from({ length: kw }, (_, b) =>
      (old[a] && old[a][b] !== undefined) ? old[a][b] : 0));
    model.set("preset", "edited"); model.set("kernel", k); model.save_changes();
  }
  khSel.addEventListener("change", resize); kwSel.addEventListener("change", resize);
  presetSel.addEventListener("change", () => {
    model.set("preset", presetSel.value);
    if (presets[presetSel.value]) { typed.clear(); model.set("kernel", presets[presetSel.value]); }
    model.save_changes();
  });

  const small = (m, cls, mark, text = (a, b, v) => (v === null ? "0" : fmt(v, 3))) => {
    const t = h("table", { class: `cnnw-grid ${cls}` });
    m.forEach((row, a) => t.append(h("tr", {}, ...row.map((v, b) => {
      const td = h("td", { text: text(a, b, v) });
      if (mark && mark(a, b)) td.classList.add("cnnw-pad");
      return td;
    }))));
    return t;
  };

  function showArithmetic(src, C, kernel, mode, out, bytes) {
    const [i, j] = sel;
    const c = C === 1 ? 0 : Number(channelSel.value);
    const r = pixelArithmetic(src, H, W, C, kernel, mode, i, j, c);
    const v = out.values[(i * out.width + j) * C + c];
    const pads = (a, b) => r.from[a][b] === null || r.from[a][b][0] !== r.top + a || r.from[a][b][1] !== r.left + b;
    const cname = C === 1 ? "" : ` (${t(["red", "green", "blue"][c])})`;
    const padded = r.values.some((row, a) => row.some((_, b) => pads(a, b)));
    const kw = kernel[0].length;
    const weight = (a, b) => { const t = shownWeight(a, b, kernel[a][b]); return /^[\d.]+$/.test(t) ? t : `(${t})`; };
    const terms = kernel.flat().length <= 9
      ? kernel.flat().map((k, n) => `${weight(Math.floor(n / kw), n % kw)}·${r.values[Math.floor(n / kw)][n % kw] ?? 0}`).join(" + ") + " = "
      : `${t("sumOfProducts")} = `;
    arith.replaceChildren(
      h("div", { class: "cnnw-caption", text: t("arithCaption", i, j, cname, r.top, r.top + kernel.length - 1, r.left, r.left + kw - 1, padded ? mode : "") }),
      h("div", { class: "cnnw-row" },
        h("div", {}, h("div", { text: t("input") }), small(r.values, "cnnw-arith-in", pads)),
        h("span", { text: "×" }),
        h("div", {}, h("div", { text: t("kernel") }), small(kernel, "cnnw-arith-k", null, (a, b, v) => shownWeight(a, b, v))),
        h("span", { text: "→" }),
        h("div", {}, h("div", { text: t("products") }), small(r.products, "cnnw-arith-p", pads))),
      h("div", { class: "cnnw-arith-sum", text: `${terms}${fmt(r.sum, 4)}` +
        ` → ${t("shownAs", bytes[(i * out.width + j) * C + c], model.get("display") === "clip")}` }));
    if (Math.abs(r.sum - v) > 1e-9 * Math.max(1, Math.abs(v))) arith.append(h("div", { text: `(convolve: ${v})` }));
  }

  function draw() {
    const kernel = model.get("kernel"), mode = model.get("padding_mode");
    const isGray = model.get("color") === "gray";
    const [src, C] = isGray ? [gray, 1] : [rgb, 3];
    presetSel.value = model.get("preset");
    khSel.value = String(kernel.length); kwSel.value = String(kernel[0].length);
    channelBox.style.display = isGray ? "none" : "";
    const out = convolve(src, H, W, C, kernel, mode);
    sel = [clamp(sel[0], 0, Math.max(out.height - 1, 0)), clamp(sel[1], 0, Math.max(out.width - 1, 0))];
    const [top, left] = mode === "valid" ? [0, 0] : [Math.floor((kernel.length - 1) / 2), Math.floor((kernel[0].length - 1) / 2)];
    const [i, j] = sel;
    paint(inCanvas, src, H, W, C, out.height ? [i - top, i - top + kernel.length - 1, j - left, j - left + kernel[0].length - 1] : null);
    const bytes = toBytes(out.values, model.get("display"));
    paint(outCanvas, bytes, out.height, out.width, C, out.height ? [i, i, j, j] : null);
    inCanvas.setAttribute("aria-label", t("inputAria", i, j));
    outCanvas.setAttribute("aria-label", t("outputAria", i, j));
    // The weights' table: rebuilt when the kernel's size changes; otherwise its fields are
    // updated in place (keyboard focus and an invalid entry's message stay where they are).
    const shape = `${kernel.length}x${kernel[0].length}`;
    if (shape !== last) { drawKernelTable(kernel); last = shape; }
    else table.querySelectorAll("tr").forEach((tr, a) => tr.querySelectorAll("input").forEach((input, b) => {
      if (input !== document.activeElement && !input.classList.contains("cnnw-invalid")) input.value = shownWeight(a, b, kernel[a][b]);
    }));
    const r = rank(kernel), sep = separable(kernel);
    const sum = kernel.flat().reduce((s, x) => s + x, 0);
    info.textContent = t("rank", r) + (sep
      ? t("separable", sep.column.map((x) => fmt(x, 4)).join(", "), sep.row.map((x) => fmt(x, 4)).join(", "), kernel.length, kernel[0].length)
      : (r === 0 ? t("zeroKernel") : t("notSeparable"))) + t("sumOfWeights", fmt(sum, 4));
    let lo = Infinity, hi = -Infinity;
    for (const v of out.values) { if (v < lo) lo = v; if (v > hi) hi = v; }
    caption.textContent = t("sizes", `${H}×${W}${isGray ? "" : "×3"}`, `${out.height}×${out.width}${isGray ? "" : "×3"}`, fmt(lo, 1), fmt(hi, 1));
    if (out.height) showArithmetic(src, C, kernel, mode, out, bytes);
    else arith.replaceChildren(h("div", { text: t("doesNotFit", `${kernel.length}×${kernel[0].length}`, `${H}×${W}`) }));
  }
  // Pointing at the input selects the output pixel whose window is centred there.
  const point = (canvas, isOutput) => (e) => {
    const scale = model.get("scale");
    const kernel = model.get("kernel"), valid = model.get("padding_mode") === "valid";
    let i = Math.floor(e.offsetY * canvas.height / canvas.clientHeight / scale);  // offset: inside the border
    let j = Math.floor(e.offsetX * canvas.width / canvas.clientWidth / scale);
    if (!isOutput && valid) { i -= Math.floor((kernel.length - 1) / 2); j -= Math.floor((kernel[0].length - 1) / 2); }
    if (i !== sel[0] || j !== sel[1]) { sel = [i, j]; draw(); }
  };
  inCanvas.addEventListener("mousemove", point(inCanvas, false));
  outCanvas.addEventListener("mousemove", point(outCanvas, true));
  for (const cv of [inCanvas, outCanvas])
    arrowKeys(cv, t("selectedPixel"), (di, dj) => { sel = [sel[0] + di, sel[1] + dj]; draw(); });
  channelSel.addEventListener("change", draw);
  for (const name of ["kernel", "padding_mode", "color", "display", "preset", "scale"]) model.on(`change:${name}`, draw);
  draw();
}

export default { render };
