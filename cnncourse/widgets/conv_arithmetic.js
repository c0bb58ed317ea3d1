// Convolution arithmetic explorer (lecture L06-L08, L21, L30): sizes, the floor rule, the
// sliding window as in Dumoulin & Visin's conv_arithmetic figures, groups, transposed mode,
// and PyTorch's own refusals.
import { h, checkInput, floorDiv, colours } from "./_common.js";
import { intField, intPair, legend, arrowKeys, clamp } from "./_controls.js";
import { translator, plural } from "./_i18n.js";

// The widget's words (see _i18n.js); PyTorch's refusals are quoted as PyTorch words them.
export const TEXT = {
  en: {
    input: "input H × W", channels: "channels in, out", in: "in", out: "out", groups: "groups",
    kernel: "kernel", stride: "stride", padding: "padding", dilation: "dilation",
    transposed: " transposed (ConvTranspose2d)",
    typeHint: "Type a value, or use a field's steppers or its ↑ ↓ keys.",
    pause: "❚❚ pause", play: "▶ play",
    keyInput: "input", keyPadding: "padding (transposed: also inserted zeros)", keyWindow: "the window",
    keyOutput: "output", keyCell: "the output cell it computes",
    pointHint: "Point at an output cell, or click the picture and move with the arrow keys.",
    groupsText: (shape, weights, biases, g, gin, gout) => `weight ${shape}: ${weights} weights (+ ${biases} biases). ` +
      "The map: which input channels (columns) each output channel (rows) sees; " +
      `${g} group${g > 1 ? "s" : ""} of ${gin} → ${gout}.`,
    refuses: (type, error) => `PyTorch refuses: ${type}: ${error}`,
    rows: (a, b, n) => `rows ${a}–${b} of ${n}`, columns: (a, b, n) => `columns ${a}–${b} of ${n}`,
    largeLayer: "Large layer, drawn in part (it follows the window)",
    frame: "frame", paddedInput: "padded input", output: "output",
    covers: (i, j, n) => `output (${i}, ${j}): the window covers ${n} input cell${n === 1 ? "" : "s"}`,
    cellAria: (i, j, ho, wo) => `Output cell (${i}, ${j}) of ${ho}×${wo}; arrow keys move it.`,
    slidingWindow: "the sliding window",
    floorNote: (n) => ` (the last ${n} padded row${n > 1 ? "s" : ""}/column${n > 1 ? "s" : ""} are never the start of a window: floor)`,
  },
  ru: {
    input: "вход H × W", channels: "каналы вх., вых.", in: "вход", out: "выход", groups: "группы",
    kernel: "ядро", stride: "шаг", padding: "отступ", dilation: "расширение ядра",
    transposed: " транспонированная (ConvTranspose2d)",
    typeHint: "Введите значение или пользуйтесь стрелками поля и клавишами ↑ ↓.",
    pause: "❚❚ пауза", play: "▶ пуск",
    keyInput: "вход", keyPadding: "отступ (у транспонированной — и вставленные нули)", keyWindow: "окно",
    keyOutput: "выход", keyCell: "клетка выхода, которую оно вычисляет",
    pointHint: "Наведите указатель на клетку выхода или щёлкните по картинке и двигайтесь стрелками.",
    groupsText: (shape, weights, biases, g, gin, gout) => `тензор весов ${shape}: ${weights} ${plural(weights, "вес", "веса", "весов")} ` +
      `(+ ${biases} ${plural(biases, "смещение", "смещения", "смещений")}). ` +
      "Карта: какие входные каналы (столбцы) видит каждый выходной канал (строки); " +
      `${g} ${plural(g, "группа", "группы", "групп")} по ${gin} → ${gout}.`,
    refuses: (type, error) => `PyTorch отказывает: ${type}: ${error}`,
    rows: (a, b, n) => `строки ${a}–${b} из ${n}`, columns: (a, b, n) => `столбцы ${a}–${b} из ${n}`,
    largeLayer: "Большой слой, нарисован частично (следуя за окном)",
    frame: "эквивалентный вход", paddedInput: "вход с отступом", output: "выход",
    covers: (i, j, n) => `выход (${i}, ${j}): окно накрывает ${n} ${plural(n, "клетку", "клетки", "клеток")} входа`,
    cellAria: (i, j, ho, wo) => `Клетка выхода (${i}, ${j}) из ${ho}×${wo}; стрелки двигают её.`,
    slidingWindow: "скользящее окно",
    floorNote: (n) => ` (с ${plural(n, "последней", "последних", "последних")} ${n} ${plural(n, "строки", "строк", "строк")}/${plural(n, "столбца", "столбцов", "столбцов")} с отступом окно никогда не начинается: округление вниз)`,
  },
};

export const FIELDS = ["height", "width", "in_channels", "out_channels", "kernel_h", "kernel_w",
  "stride_h", "stride_w", "padding_h", "padding_w", "dilation_h", "dilation_w", "groups",
  "transposed", "output_padding_h", "output_padding_w"];

// What nn.Conv2d / nn.ConvTranspose2d (bias=False) does with a (1, C_in, H, W) input:
// {ok: true, out: [C_out, H_out, W_out]} or {ok: false, type, error} with PyTorch's message.
export function convCheck(c) {
  const { height: H, width: W, in_channels: cin, out_channels: cout, groups: g } = c;
  const [kh, kw, sh, sw] = [c.kernel_h, c.kernel_w, c.stride_h, c.stride_w];
  const [ph, pw, dh, dw] = [c.padding_h, c.padding_w, c.dilation_h, c.dilation_w];
  const [oph, opw] = c.transposed ? [c.output_padding_h, c.output_padding_w] : [0, 0];
  const refuse = (type, error) => ({ ok: false, type, error });
  // The module's constructor (torch.nn.modules.conv._ConvNd.__init__).
  if (g <= 0) return refuse("ValueError", "groups must be a positive integer");
  if (cin % g !== 0) return refuse("ValueError", "in_channels must be divisible by groups");
  if (cout % g !== 0) return refuse("ValueError", "out_channels must be divisible by groups");
  // The forward pass (aten/src/ATen/native/Convolution.cpp and the CPU kernels).
  if (ph < 0 || pw < 0) return refuse("RuntimeError", "negative padding is not supported");
  if (oph < 0 || opw < 0) return refuse("RuntimeError", "negative output_padding is not supported");
  if (sh <= 0 || sw <= 0) return refuse("RuntimeError", "non-positive stride is not supported");
  if (dh < 0 || dw < 0) return refuse("RuntimeError", "dilation should be greater than zero");
  if (!c.transposed) {
    if (dh === 0 || dw === 0)
      return refuse("RuntimeError", `dilation should be greater than zero, but got [${dh}, ${dw}]`);
    const [ih, iw] = [H + 2 * ph, W + 2 * pw];
    const [eh, ew] = [dh * (kh - 1) + 1, dw * (kw - 1) + 1];
    if (ih < eh || iw < ew)
      return refuse("RuntimeError", `Calculated padded input size per channel: (${ih} x ${iw}). ` +
        `Kernel size: (${eh} x ${ew}). Kernel size can't be greater than actual input size`);
    return { ok: true, out: [cout, floorDiv(ih - eh, sh) + 1, floorDiv(iw - ew, sw) + 1] };
  }
  if (dh === 0 || dw === 0)
    return refuse("RuntimeError", "dilation should be greater than zero, but got " +
      `dilation_height: ${dh}, dilation_width: ${dw}`);
  if (!((oph < sh || oph < dh) && (opw < sw || opw < dw)))
    return refuse("RuntimeError", "output padding must be smaller than either stride or " +
      `dilation, but got output_padding_height: ${oph} output_padding_width: ${opw} ` +
      `stride_height: ${sh} stride_width: ${sw} dilation_height: ${dh} dilation_width: ${dw}`);
  const ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  if (ho < 1 || wo < 1)
    return refuse("RuntimeError", `Given input size per channel: (${H} x ${W}). ` +
      `Calculated output size per channel: (${ho} x ${wo}). Output size is too small`);
  return { ok: true, out: [cout, ho, wo] };
}

// The size formula along one axis, worked out with the numbers, as text.
export function formula(c, axis, t = translator(TEXT)) {
  const [n, k, s, p, d, op] = axis === "h"
    ? [c.height, c.kernel_h, c.stride_h, c.padding_h, c.dilation_h, c.output_padding_h]
    : [c.width, c.kernel_w, c.stride_w, c.padding_w, c.dilation_w, c.output_padding_w];
  const name = axis === "h" ? "H" : "W";
  if (c.transposed) {
    const v = (n - 1) * s - 2 * p + d * (k - 1) + op + 1;
    return `${name}_out = (${name}_in − 1)·s − 2p + d(k − 1) + output_padding + 1 = ` +
      `(${n} − 1)·${s} − 2·${p} + ${d}·(${k} − 1) + ${op} + 1 = ${v}`;
  }
  const num = n + 2 * p - d * (k - 1) - 1;
  const v = floorDiv(num, s) + 1;
  const rest = num - floorDiv(num, s) * s;
  return `${name}_out = ⌊(${name}_in + 2p − d(k − 1) − 1)/s⌋ + 1 = ⌊(${n} + 2·${p} − ${d}·(${k} − 1) − 1)/${s}⌋ + 1` +
    ` = ⌊${num}/${s}⌋ + 1 = ${v}` + (rest > 0 && num >= 0 ? t("floorNote", rest) : "");
}

// The frame the window slides over, along one axis: for a convolution the padded input; for a
// transposed convolution the equivalent direct convolution of Dumoulin & Visin (stride − 1
// zeros between input cells, d(k − 1) − p zeros around, output_padding more at the end).
// Returns {size, offset, step}: input cell r sits at frame position offset + r·step.
export function frameAxis(n, k, s, p, d, op, transposed) {
  if (!transposed) return { size: n + 2 * p, offset: p, step: 1, stride: s };
  const q = d * (k - 1) - p;
  return { size: (n - 1) * s + 1 + 2 * q + op, offset: q, step: s, stride: 1 };
}

export function frame(c) {
  return {
    h: frameAxis(c.height, c.kernel_h, c.stride_h, c.padding_h, c.dilation_h, c.output_padding_h, c.transposed),
    w: frameAxis(c.width, c.kernel_w, c.stride_w, c.padding_w, c.dilation_w, c.output_padding_w, c.transposed),
  };
}

// The input cells [row, col] that output cell (i, j) reads (in input coordinates; padding and
// inserted zeros left out), in row-major order. Valid configurations only.
export function windowCells(c, i, j) {
  const f = frame(c);
  const cells = [];
  for (let a = 0; a < c.kernel_h; a++) {
    const fr = i * f.h.stride + a * c.dilation_h - f.h.offset;
    if (fr < 0 || fr % f.h.step !== 0 || fr / f.h.step >= c.height) continue;
    for (let b = 0; b < c.kernel_w; b++) {
      const fc = j * f.w.stride + b * c.dilation_w - f.w.offset;
      if (fc < 0 || fc % f.w.step !== 0 || fc / f.w.step >= c.width) continue;
      cells.push([fr / f.h.step, fc / f.w.step]);
    }
  }
  return cells;
}

// Which input channels output channel o sees (groups): [first, last] inclusive.
export function channelRange(c, o) {
  const per_in = c.in_channels / c.groups, per_out = c.out_channels / c.groups;
  const g = Math.floor(o / per_out);
  return [g * per_in, (g + 1) * per_in - 1];
}

export function parameterCount(c) {
  return c.out_channels * (c.in_channels / c.groups) * c.kernel_h * c.kernel_w;
}

// The part of an axis of `size` cells drawn when it is long: `span` cells around the
// `extent` cells from `first` on (all of it when it fits). Returns [start, length].
export function viewport(size, first, extent, span) {
  const len = Math.min(size, Math.max(span, extent));
  const start = Math.max(0, Math.min(size - len, first - Math.floor((len - extent) / 2)));
  return [start, len];
}

function render({ model, el }) {
  const t = translator(TEXT, el);
  const cfg = () => Object.fromEntries(FIELDS.map((f) => [f, model.get(f)]));
  const root = h("div", { class: "cnnw cnnw-conv-arithmetic" });
  const controls = h("div", { class: "cnnw-controls" },
    intPair(model, "height", "width", t("input"), 1, 128),
    intPair(model, "in_channels", "out_channels", t("channels"), 1, 64, [t("in"), t("out")]),
    intField(model, "groups", t("groups"), 1, 64),
    intPair(model, "kernel_h", "kernel_w", t("kernel"), 1, 9),
    intPair(model, "stride_h", "stride_w", t("stride"), 1, 6),
    intPair(model, "padding_h", "padding_w", t("padding"), 0, 8),
    intPair(model, "dilation_h", "dilation_w", t("dilation"), 1, 4),
    checkInput(model, "transposed", t("transposed")),
    intPair(model, "output_padding_h", "output_padding_w", "output_padding", 0, 5),
    h("div", { class: "cnnw-hint", text: t("typeHint") }));
  const canvas = h("canvas", {});
  const play = h("button", { type: "button", text: t("pause"), "aria-pressed": "false", "data-role": "play" });
  const stepInfo = h("span", { class: "cnnw-caption" });
  const shownPart = h("div", { class: "cnnw-caption" });
  const status = h("div", { class: "cnnw-status", "aria-live": "polite" });
  const math = h("div", { class: "cnnw-formula" });
  const groupsCanvas = h("canvas", { class: "cnnw-small" });
  const groupsText = h("div", { class: "cnnw-caption" });
  const col0 = colours(root);
  const key = legend([[col0.input, t("keyInput")], [col0.pad, t("keyPadding")],
    [col0.window, t("keyWindow")], [col0.out, t("keyOutput")], [col0.hot, t("keyCell")]]);
  const view = h("div", { class: "cnnw-view" }, status, canvas, key,
    h("div", {}, play, " ", stepInfo), shownPart,
    h("div", { class: "cnnw-hint", text: t("pointHint") }),
    math, h("div", { class: "cnnw-row" }, groupsCanvas, groupsText));
  root.append(controls, view);
  el.appendChild(root);

  let step = 0, playing = true, hover = null, pinned = null, geom = null;
  const setPlaying = (on) => {
    playing = on; play.textContent = playing ? t("pause") : t("play");
    play.setAttribute("aria-pressed", String(!playing));
  };

  function drawGroups(c) {
    const n = Math.max(c.in_channels, c.out_channels);
    const cell = Math.max(2, Math.min(10, Math.floor(120 / n)));
    groupsCanvas.width = c.in_channels * cell; groupsCanvas.height = c.out_channels * cell;
    const ctx = groupsCanvas.getContext("2d");
    const col = colours(root);
    for (let o = 0; o < c.out_channels; o++) {
      const [a, b] = channelRange(c, o);
      ctx.fillStyle = col.window;
      ctx.fillRect(a * cell, o * cell, (b - a + 1) * cell, cell);
    }
    const wshape = c.transposed
      ? `(${c.in_channels}, ${c.out_channels / c.groups}, ${c.kernel_h}, ${c.kernel_w})`
      : `(${c.out_channels}, ${c.in_channels / c.groups}, ${c.kernel_h}, ${c.kernel_w})`;
    groupsText.textContent = t("groupsText", wshape, parameterCount(c), c.out_channels, c.groups,
      c.in_channels / c.groups, c.out_channels / c.groups);
  }

  // The output cell shown: under the pointer, chosen with the keys, or the animation's.
  const current = (ho, wo) => hover || pinned || [Math.floor(step / wo) % ho, step % wo];

  function draw() {
    const c = cfg();
    const r = convCheck(c);
    const ctx = canvas.getContext("2d");
    const col = colours(root);
    if (!r.ok) {
      root.classList.add("cnnw-refused");
      status.textContent = t("refuses", r.type, r.error);
      math.textContent = ""; shownPart.textContent = "";
      canvas.style.display = "none"; key.style.display = "none"; geom = null;
      groupsCanvas.width = 1; groupsCanvas.height = 1; groupsText.textContent = "";
      stepInfo.textContent = "";
      return;
    }
    root.classList.remove("cnnw-refused");
    canvas.style.display = ""; key.style.display = "";
    const [co, ho, wo] = r.out;
    if (pinned && (pinned[0] >= ho || pinned[1] >= wo)) pinned = null;
    const layer = c.transposed ? "ConvTranspose2d" : "Conv2d";
    status.textContent = `${layer}: (1, ${c.in_channels}, ${c.height}, ${c.width}) → (1, ${co}, ${ho}, ${wo})`;
    math.textContent = formula(c, "h", t) + "\n" + formula(c, "w", t);
    drawGroups(c);
    const f = frame(c);
    const [i, j] = current(ho, wo);
    // A large layer is drawn in part: 16 cells of the frame around the window, 12 of the
    // output around the cell, so that every cell stays visible.
    const eh = c.dilation_h * (c.kernel_h - 1) + 1, ew = c.dilation_w * (c.kernel_w - 1) + 1;
    const [fr0, fh] = viewport(f.h.size, i * f.h.stride, eh, 16);
    const [fc0, fw] = viewport(f.w.size, j * f.w.stride, ew, 16);
    const [or0, oh] = viewport(ho, i, 1, 12), [oc0, ow] = viewport(wo, j, 1, 12);
    const cell = Math.max(6, Math.min(22, Math.floor(420 / (fw + ow + 3))));
    const gap = 3 * cell;
    canvas.width = (fw + ow) * cell + gap + 2; canvas.height = Math.max(fh, oh) * cell + 2;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const isInput = (pos, ax, n) => pos >= ax.offset && (pos - ax.offset) % ax.step === 0 && (pos - ax.offset) / ax.step < n;
    for (let y = 0; y < fh; y++) for (let x = 0; x < fw; x++) {
      ctx.fillStyle = isInput(fr0 + y, f.h, c.height) && isInput(fc0 + x, f.w, c.width) ? col.input : col.pad;
      ctx.fillRect(x * cell + 1, y * cell + 1, cell - 1, cell - 1);
    }
    ctx.fillStyle = col.window;
    for (let a = 0; a < c.kernel_h; a++) for (let b = 0; b < c.kernel_w; b++) {
      const y = i * f.h.stride + a * c.dilation_h - fr0, x = j * f.w.stride + b * c.dilation_w - fc0;
      ctx.fillRect(x * cell + 1, y * cell + 1, cell - 1, cell - 1);
    }
    const ox = fw * cell + gap;
    for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) {
      ctx.fillStyle = or0 + y === i && oc0 + x === j ? col.hot : col.out;
      ctx.fillRect(ox + x * cell + 1, y * cell + 1, cell - 1, cell - 1);
    }
    ctx.fillStyle = col.fg;
    ctx.font = `${Math.max(10, cell)}px sans-serif`;
    ctx.fillText("→", fw * cell + cell * 0.8, Math.min(fh, oh) * cell / 2 + cell / 2);
    geom = { ox, cell, ho, wo, or0, oc0, oh, ow };
    const part = (a0, n, total, what) => (n < total ? t(what, a0, a0 + n - 1, total) : "");
    const shown = [part(fr0, fh, f.h.size, "rows"), part(fc0, fw, f.w.size, "columns")].filter(Boolean);
    const shownOut = [part(or0, oh, ho, "rows"), part(oc0, ow, wo, "columns")].filter(Boolean);
    shownPart.textContent = shown.length || shownOut.length
      ? `${t("largeLayer")}: ${shown.length ? `${c.transposed ? t("frame") : t("paddedInput")} ${shown.join(", ")}` : ""}` +
        `${shown.length && shownOut.length ? "; " : ""}${shownOut.length ? `${t("output")} ${shownOut.join(", ")}` : ""}.`
      : "";
    const seen = windowCells(c, i, j).length;
    stepInfo.textContent = t("covers", i, j, seen);
    canvas.setAttribute("aria-label", t("cellAria", i, j, ho, wo));
  }

  canvas.addEventListener("mousemove", (e) => {
    if (!geom) return;
    const x = Math.floor((e.offsetX * canvas.width / canvas.clientWidth - geom.ox) / geom.cell);  // offset: inside the border
    const y = Math.floor(e.offsetY * canvas.height / canvas.clientHeight / geom.cell);
    hover = x >= 0 && x < geom.ow && y >= 0 && y < geom.oh ? [geom.or0 + y, geom.oc0 + x] : null;
    draw();
  });
  canvas.addEventListener("mouseleave", () => { hover = null; draw(); });
  arrowKeys(canvas, t("slidingWindow"), (di, dj) => {
    if (!geom) return;
    const [i, j] = current(geom.ho, geom.wo);
    pinned = [clamp(i + di, 0, geom.ho - 1), clamp(j + dj, 0, geom.wo - 1)];
    hover = null; setPlaying(false); draw();
  });
  play.addEventListener("click", () => { setPlaying(!playing); if (playing) pinned = null; });
  const timer = setInterval(() => {
    if (!el.isConnected) { clearInterval(timer); return; }
    if (playing && !hover && !pinned && geom) { step = (step + 1) % (geom.ho * geom.wo); draw(); }
  }, 700);
  for (const f of FIELDS) model.on(`change:${f}`, () => { step = 0; pinned = null; draw(); });
  draw();
  return () => clearInterval(timer);
}

export default { render };
