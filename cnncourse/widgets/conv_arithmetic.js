// Convolution arithmetic explorer (lecture L06-L08, L21, L30): sizes, the floor rule, the
// sliding window as in Dumoulin & Visin's conv_arithmetic figures, groups, transposed mode,
// and PyTorch's own refusals.
import { h, intInput, checkInput, floorDiv, colours } from "./_common.js";

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
export function formula(c, axis) {
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
    ` = ⌊${num}/${s}⌋ + 1 = ${v}` + (rest > 0 && num >= 0 ? ` (the last ${rest} padded row${rest > 1 ? "s" : ""}/column${rest > 1 ? "s" : ""} are never the start of a window: floor)` : "");
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

function render({ model, el }) {
  const cfg = () => Object.fromEntries(FIELDS.map((f) => [f, model.get(f)]));
  const root = h("div", { class: "cnnw cnnw-conv-arithmetic" });
  const pair = (a, b, label, min, max) =>
    h("div", { class: "cnnw-pair" }, h("span", { text: label }),
      intInput(model, a, "", min, max), h("span", { text: "×" }), intInput(model, b, "", min, max));
  const controls = h("div", { class: "cnnw-controls" },
    pair("height", "width", "input H × W", 1, 128),
    pair("in_channels", "out_channels", "channels in, out", 1, 64),
    intInput(model, "groups", "groups", 1, 64),
    pair("kernel_h", "kernel_w", "kernel", 1, 9),
    pair("stride_h", "stride_w", "stride", 1, 6),
    pair("padding_h", "padding_w", "padding", 0, 8),
    pair("dilation_h", "dilation_w", "dilation", 1, 4),
    checkInput(model, "transposed", " transposed (ConvTranspose2d)"),
    pair("output_padding_h", "output_padding_w", "output_padding", 0, 5));
  const canvas = h("canvas", {});
  const play = h("button", { type: "button", text: "❚❚ pause" });
  const stepInfo = h("span", { class: "cnnw-caption" });
  const status = h("div", { class: "cnnw-status" });
  const math = h("div", { class: "cnnw-formula" });
  const groupsCanvas = h("canvas", { class: "cnnw-small" });
  const groupsText = h("div", { class: "cnnw-caption" });
  const view = h("div", { class: "cnnw-view" }, canvas, h("div", {}, play, " ", stepInfo),
    status, math, h("div", { class: "cnnw-row" }, groupsCanvas, groupsText));
  root.append(controls, view);
  el.appendChild(root);

  let step = 0, playing = true, hover = null, geom = null;

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
    groupsText.textContent = `weight ${wshape}: ${parameterCount(c)} weights (+ ${c.out_channels} biases). ` +
      `The map: which input channels (columns) each output channel (rows) sees; ` +
      `${c.groups} group${c.groups > 1 ? "s" : ""} of ${c.in_channels / c.groups} → ${c.out_channels / c.groups}.`;
  }

  function draw() {
    const c = cfg();
    const r = convCheck(c);
    const ctx = canvas.getContext("2d");
    const col = colours(root);
    if (!r.ok) {
      root.classList.add("cnnw-refused");
      status.textContent = `PyTorch refuses: ${r.type}: ${r.error}`;
      math.textContent = "";
      canvas.style.display = "none"; geom = null;
      groupsCanvas.width = 1; groupsCanvas.height = 1; groupsText.textContent = "";
      stepInfo.textContent = "";
      return;
    }
    root.classList.remove("cnnw-refused");
    canvas.style.display = "";
    const [co, ho, wo] = r.out;
    const layer = c.transposed ? "ConvTranspose2d" : "Conv2d";
    status.textContent = `${layer}: (1, ${c.in_channels}, ${c.height}, ${c.width}) → (1, ${co}, ${ho}, ${wo})`;
    math.textContent = formula(c, "h") + "\n" + formula(c, "w");
    drawGroups(c);
    const f = frame(c);
    const big = Math.max(f.h.size, f.w.size, ho, wo);
    const cell = Math.max(4, Math.min(18, Math.floor(330 / big)));
    const gap = 3 * cell;
    canvas.width = (f.w.size + wo) * cell + gap + 2; canvas.height = Math.max(f.h.size, ho) * cell + 2;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const i = hover ? hover[0] : Math.floor(step / wo) % ho, j = hover ? hover[1] : step % wo;
    const isInput = (pos, ax, n) => pos >= ax.offset && (pos - ax.offset) % ax.step === 0 && (pos - ax.offset) / ax.step < n;
    for (let y = 0; y < f.h.size; y++) for (let x = 0; x < f.w.size; x++) {
      ctx.fillStyle = isInput(y, f.h, c.height) && isInput(x, f.w, c.width) ? col.input : col.pad;
      ctx.fillRect(x * cell + 1, y * cell + 1, cell - 1, cell - 1);
    }
    ctx.fillStyle = col.window;
    for (let a = 0; a < c.kernel_h; a++) for (let b = 0; b < c.kernel_w; b++) {
      const y = i * f.h.stride + a * c.dilation_h, x = j * f.w.stride + b * c.dilation_w;
      ctx.fillRect(x * cell + 1, y * cell + 1, cell - 1, cell - 1);
    }
    const ox = f.w.size * cell + gap;
    for (let y = 0; y < ho; y++) for (let x = 0; x < wo; x++) {
      ctx.fillStyle = y === i && x === j ? col.hot : col.out;
      ctx.fillRect(ox + x * cell + 1, y * cell + 1, cell - 1, cell - 1);
    }
    ctx.fillStyle = col.fg;
    ctx.font = `${Math.max(10, cell)}px sans-serif`;
    ctx.fillText("→", f.w.size * cell + cell * 0.8, Math.min(f.h.size, ho) * cell / 2 + cell / 2);
    geom = { ox, cell, ho, wo };
    const seen = windowCells(c, i, j).length;
    stepInfo.textContent = `output (${i}, ${j}): the window covers ${seen} input cell${seen === 1 ? "" : "s"}` +
      (c.transposed ? " (blue: input, grey: padding and inserted zeros)" : " (blue: input, grey: padding)");
  }

  canvas.addEventListener("mousemove", (e) => {
    if (!geom) return;
    const x = Math.floor((e.offsetX * canvas.width / canvas.clientWidth - geom.ox) / geom.cell);  // offset: inside the border
    const y = Math.floor(e.offsetY * canvas.height / canvas.clientHeight / geom.cell);
    hover = x >= 0 && x < geom.wo && y >= 0 && y < geom.ho ? [y, x] : null;
    draw();
  });
  canvas.addEventListener("mouseleave", () => { hover = null; draw(); });
  play.addEventListener("click", () => { playing = !playing; play.textContent = playing ? "❚❚ pause" : "▶ play"; });
  const timer = setInterval(() => {
    if (!el.isConnected) { clearInterval(timer); return; }
    if (playing && !hover && geom) { step = (step + 1) % (geom.ho * geom.wo); draw(); }
  }, 700);
  for (const f of FIELDS) model.on(`change:${f}`, () => { step = 0; draw(); });
  draw();
  return () => clearInterval(timer);
}

export default { render };
