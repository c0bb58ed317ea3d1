// Receptive-field explorer (lecture L14, L17): a stack of convolution and pooling layers;
// pointing at a unit of the last layer highlights the input region it sees (computed here),
// beside the field measured by gradients in Python (embedded in the page).
import { h, floorDiv, fmt, colours, decodeBase64 } from "./_common.js";
import { intPair, parseInteger, setInvalid, legend, arrowKeys, clamp } from "./_controls.js";
import { translator } from "./_i18n.js";

// The widget's words (see _i18n.js); PyTorch's refusals are quoted as PyTorch words them.
export const TEXT = {
  en: {
    "kind.conv": "conv", "kind.maxpool": "maxpool", "kind.avgpool": "avgpool",
    layerOf: (k, kind) => `layer ${k} (${kind})`,
    doesNotFit: (keff, n) => `its ${keff}-pixel window does not fit an input of ${n}`,
    chooseStack: "choose a stack…",
    "stack.two 3×3 convolutions": "two 3×3 convolutions", "stack.three 3×3 convolutions": "three 3×3 convolutions",
    "stack.conv, pool, conv, pool (L14)": "conv, pool, conv, pool (L14)", "stack.dilated 3×3 (1, 2, 4)": "dilated 3×3 (1, 2, 4)",
    "stack.strided 5×5 then 3×3": "strided 5×5 then 3×3",
    backToMeasured: "back to the measured stack", input: "input H × W", stack: "stack", addLayer: "+ add a layer",
    keyPixel: "input pixel", keyField: "the field the selected unit sees (computed)",
    keyMeasured: "measured: where its gradient is nonzero (darker: larger)", keyUnit: "the selected unit",
    inputField: "input: computed field", measuredGrad: "measured: |∂y/∂x| (Python)", lastLayer: "last layer: point at a unit",
    pointHint: "Point at a unit of the last layer, or click it and move with the arrow keys.",
    kernel: "kernel", stride: "stride", padding: "padding", dilation: "dilation",
    layerField: (k, name) => `layer ${k} ${name}`, layerKind: (k) => `layer ${k} kind`,
    remove: "remove", removeLayer: (k) => `remove layer ${k}`,
    "th.layer": "layer", "th.output": "output", "th.field": "field", "th.jump": "jump", "th.start": "start",
    empty: "An empty stack: add a layer.", refused: (error) => `Refused: ${error}`,
    note: "random weights, random input; max pooling passes the gradient to its argmax",
    measured: (r0, r1, c0, c1, note) => ` Measured: the gradient reaches rows ${r0}–${r1}, columns ${c0}–${c1} (${note}); the outline is the computed field.`,
    otherStack: "measured in Python for\nanother stack: run the\nnotebook to re-measure,\nor go back to it",
    sees: (size, jump) => `every unit of the last layer sees at most ${size} input pixels, and neighbouring units' fields are ${jump} pixels apart`,
    unitSees: (unit, r0, r1, c0, c1) => `Unit ${unit} sees input rows ${r0}–${r1} and columns ${c0}–${c1}`,
    inPadding: " (part of its field lies in the padding).",
    selectedUnit: "the selected unit of the last layer",
  },
  ru: {
    "kind.conv": "свёртка", "kind.maxpool": "max-пулинг", "kind.avgpool": "усреднение",
    layerOf: (k, kind) => `слой ${k} (${kind})`,
    doesNotFit: (keff, n) => `его окно в ${keff} пикс. не помещается во вход размера ${n}`,
    chooseStack: "выберите стопку…",
    "stack.two 3×3 convolutions": "две свёртки 3×3", "stack.three 3×3 convolutions": "три свёртки 3×3",
    "stack.conv, pool, conv, pool (L14)": "(свёртка, пулинг) ×2 (L14)",
    "stack.dilated 3×3 (1, 2, 4)": "3×3, расширение 1, 2, 4",
    "stack.strided 5×5 then 3×3": "5×5 и 3×3 с шагом 2",
    backToMeasured: "вернуться к измеренной стопке", input: "вход H × W", stack: "стопка", addLayer: "+ добавить слой",
    keyPixel: "пиксель входа", keyField: "поле, которое видит выбранный нейрон (вычислено)",
    keyMeasured: "измерено: где его градиент не равен нулю (темнее — больше)", keyUnit: "выбранный нейрон",
    inputField: "вход: вычисленное поле", measuredGrad: "измерено: |∂y/∂x| (Python)", lastLayer: "последний слой: наведите на нейрон",
    pointHint: "Наведите указатель на нейрон последнего слоя или щёлкните по нему и двигайтесь стрелками.",
    kernel: "ядро", stride: "шаг", padding: "отступ", dilation: "расширение ядра",
    layerField: (k, name) => `слой ${k}, ${name}`, layerKind: (k) => `слой ${k}, тип`,
    remove: "удалить", removeLayer: (k) => `удалить слой ${k}`,
    "th.layer": "слой", "th.output": "выход", "th.field": "поле", "th.jump": "скачок", "th.start": "центр",
    empty: "Пустая стопка: добавьте слой.", refused: (error) => `Отказ: ${error}`,
    note: "случайные веса, случайный вход; max-пулинг передаёт градиент своему argmax",
    measured: (r0, r1, c0, c1, note) => ` Измерено: градиент доходит до строк ${r0}–${r1}, столбцов ${c0}–${c1} (${note}); рамка — вычисленное поле.`,
    otherStack: "измерено в Python\nдля другой стопки:\nзапустите блокнот заново\nили вернитесь к ней",
    sees: (size, jump) => `каждый нейрон последнего слоя видит не больше ${size} пикселей входа, а поля соседних нейронов отстоят на ${jump} пикс.`,
    unitSees: (unit, r0, r1, c0, c1) => `Нейрон ${unit} видит строки входа ${r0}–${r1} и столбцы ${c0}–${c1}`,
    inPadding: " (часть его поля лежит в отступе).",
    selectedUnit: "выбранный нейрон последнего слоя",
  },
};

export const KINDS = ["conv", "maxpool", "avgpool"];

// The recurrence of cnncourse.receptive_field for one axis per layer: output length n,
// field size r, jump j and start c (centre of unit 0's field). Returns
// {ok, rows: [{kind, out: [h, w], size, jump, start}]} or {ok: false, error}.
export function stackGeometry(H, W, layers, t = translator(TEXT)) {
  let n = [H, W], size = [1, 1], jump = [1, 1], start = [0, 0];
  const rows = [];
  for (const [index, l] of layers.entries()) {
    const d = l.kind === "avgpool" ? 1 : l.dilation;
    const keff = d * (l.kernel - 1) + 1;
    // PyTorch's pools (on the CPU, without autograd) refuse padding over half the kernel.
    if (l.kind !== "conv" && l.padding > floorDiv(l.kernel, 2))
      return { ok: false, error: `${t("layerOf", index, t(`kind.${l.kind}`))}: pad should be smaller than or equal to half of kernel size, but got pad = ${l.padding}, k = ${l.kernel}` };
    const next = { n: [], size: [], jump: [], start: [] };
    for (let a = 0; a < 2; a++) {
      const span = n[a] + 2 * l.padding - keff;
      if (span < 0) return { ok: false, error: `${t("layerOf", index, t(`kind.${l.kind}`))}: ${t("doesNotFit", keff, n[a])}` };
      next.n.push(floorDiv(span, l.stride) + 1);
      next.size.push(size[a] + (keff - 1) * jump[a]);
      next.start.push(start[a] + ((keff - 1) / 2 - l.padding) * jump[a]);
      next.jump.push(jump[a] * l.stride);
    }
    ({ n, size, jump, start } = next);
    rows.push({ kind: l.kind, out: n, size, jump, start });
  }
  return { ok: true, rows };
}

// The input rows and columns unit (i, j) of a layer sees: [[top, bottom], [left, right]],
// both included, clipped to the H×W input (RFRow.field(unit, input_hw)).
export function field(row, H, W, i, j) {
  return [[i, H], [j, W]].map(([u, n], a) => {
    const lo = Math.round(row.start[a] + u * row.jump[a] - (row.size[a] - 1) / 2);
    return [Math.max(lo, 0), Math.min(lo + row.size[a] - 1, n - 1)];
  });
}

// The key of a configuration (the same string as the Python side's signature()).
export function signature(H, W, layers) {
  return `${H}x${W}|` + layers.map((l) => `${l.kind}:${l.kernel},${l.stride},${l.padding},${l.kind === "avgpool" ? 1 : l.dilation}`).join(";");
}

export const PRESETS = {
  "two 3×3 convolutions": [["conv", 3, 1, 0, 1], ["conv", 3, 1, 0, 1]],
  "three 3×3 convolutions": [["conv", 3, 1, 0, 1], ["conv", 3, 1, 0, 1], ["conv", 3, 1, 0, 1]],
  "conv, pool, conv, pool (L14)": [["conv", 3, 1, 0, 1], ["maxpool", 2, 2, 0, 1], ["conv", 3, 1, 0, 1], ["maxpool", 2, 2, 0, 1]],
  "dilated 3×3 (1, 2, 4)": [["conv", 3, 1, 1, 1], ["conv", 3, 1, 2, 2], ["conv", 3, 1, 4, 4]],
  "strided 5×5 then 3×3": [["conv", 5, 2, 2, 1], ["conv", 3, 2, 1, 1], ["avgpool", 2, 2, 0, 1]],
};
const asLayer = ([kind, kernel, stride, padding, dilation]) => ({ kind, kernel, stride, padding, dilation });

function render({ model, el }) {
  const t = translator(TEXT, el);
  const kindName = (k) => (`kind.${k}` in TEXT.en ? t(`kind.${k}`) : k);
  const root = h("div", { class: "cnnw cnnw-receptive-field" });
  const layerBox = h("div", { class: "cnnw-layers" });
  const preset = h("select", {});
  preset.dataset.role = "preset";
  preset.append(h("option", { value: "", text: t("chooseStack") }));
  for (const name of Object.keys(PRESETS)) preset.append(h("option", { value: name, text: t(`stack.${name}`) }));
  const setLayers = (layers) => { model.set("layers", layers); model.save_changes(); };
  preset.addEventListener("change", () => { if (PRESETS[preset.value]) setLayers(PRESETS[preset.value].map(asLayer)); });
  const embeddedBtn = h("button", { type: "button", text: t("backToMeasured"), onclick: () => {
    const e = model.get("empirical");
    if (e && e.layers) { model.set("height", e.height); model.set("width", e.width); setLayers(e.layers); }
  } });
  const controls = h("div", { class: "cnnw-controls" },
    intPair(model, "height", "width", t("input"), 4, 48),
    h("label", {}, h("span", { text: t("stack") }), preset),
    layerBox,
    h("button", { type: "button", text: t("addLayer"), onclick: () => setLayers([...model.get("layers"), asLayer(["conv", 3, 1, 0, 1])]) }),
    embeddedBtn);
  const status = h("div", { class: "cnnw-status" });
  const inCanvas = h("canvas", {}), gradCanvas = h("canvas", {}), outCanvas = h("canvas", { class: "cnnw-output" });
  const label = (t, c) => h("div", {}, h("div", { class: "cnnw-caption", text: t }), c);
  const caption = h("div", { class: "cnnw-caption", "aria-live": "polite" });
  const col0 = colours(root);
  const key = legend([[col0.input, t("keyPixel")], [col0.window, t("keyField")],
    ["rgba(255, 90, 0, .8)", t("keyMeasured")], [col0.hot, t("keyUnit")]]);
  const table = h("table", { class: "cnnw-grid cnnw-rf-table" });
  root.append(controls, h("div", { class: "cnnw-view" }, status,
    h("div", { class: "cnnw-row cnnw-wrap" }, label(t("inputField"), inCanvas),
      label(t("measuredGrad"), gradCanvas), label(t("lastLayer"), outCanvas)),
    key, h("div", { class: "cnnw-hint", text: t("pointHint") }),
    caption, table));
  el.appendChild(root);
  let unit = null, geom = null;

  function drawLayers(layers) {
    layerBox.replaceChildren();
    layers.forEach((l, idx) => {
      const kind = h("select", {});
      for (const k of KINDS) kind.append(h("option", { value: k, text: kindName(k) }));
      kind.value = l.kind;
      const msg = h("span", { class: "cnnw-msg", role: "alert" });
      msg.hidden = true;
      const num = (key, min, max) => {
        const input = h("input", { type: "number", min: String(min), max: String(max), title: t(key),
          "aria-label": t("layerField", idx, t(key)) });
        input.value = String(key === "dilation" && l.kind === "avgpool" ? 1 : l[key]);
        input.dataset.layer = String(idx); input.dataset.key = key;
        if (key === "dilation" && l.kind === "avgpool") input.disabled = true;
        input.addEventListener("change", () => {
          const r = parseInteger(input.value, min, max);
          setInvalid(input, msg, r.ok ? "" : `${t("layerField", idx, t(key))}: ${r.error}`);
          if (!r.ok) return;
          const ls = model.get("layers").map((x) => ({ ...x }));
          ls[idx][key] = r.value; setLayers(ls);
        });
        return input;
      };
      kind.addEventListener("change", () => {
        const ls = model.get("layers").map((x) => ({ ...x }));
        ls[idx].kind = kind.value;
        if (kind.value !== "conv") ls[idx].padding = Math.min(ls[idx].padding, floorDiv(ls[idx].kernel, 2));
        if (kind.value === "avgpool") ls[idx].dilation = 1;
        setLayers(ls);
      });
      kind.setAttribute("aria-label", t("layerKind", idx));
      const remove = h("button", { type: "button", text: "✕", title: t("remove"), "aria-label": t("removeLayer", idx),
        onclick: () => setLayers(model.get("layers").filter((_, k) => k !== idx)) });
      layerBox.append(h("div", { class: "cnnw-layer" }, h("span", { text: `${idx}` }), kind,
        "k", num("kernel", 1, 9), "s", num("stride", 1, 4), "p", num("padding", 0, 8), "d", num("dilation", 1, 4), remove, msg));
    });
  }

  function draw() {
    const H = model.get("height"), W = model.get("width"), layers = model.get("layers");
    drawLayers(layers);
    const col = colours(root);
    const g = stackGeometry(H, W, layers);
    const cell = Math.max(3, Math.min(10, Math.floor(200 / Math.max(H, W))));
    for (const c of [inCanvas, gradCanvas]) { c.width = W * cell + 1; c.height = H * cell + 1; }
    const ctxIn = inCanvas.getContext("2d"), ctxG = gradCanvas.getContext("2d");
    const grid = (ctx, h_, w_, c_) => {
      ctx.clearRect(0, 0, w_ * c_ + 1, h_ * c_ + 1);
      ctx.fillStyle = col.input;
      for (let i = 0; i < h_; i++) for (let j = 0; j < w_; j++) ctx.fillRect(j * c_ + 1, i * c_ + 1, c_ - 1, c_ - 1);
    };
    grid(ctxIn, H, W, cell); grid(ctxG, H, W, cell);
    table.replaceChildren(h("tr", {}, ...["layer", "output", "field", "jump", "start"].map((k) => h("th", { text: t(`th.${k}`) }))));
    if (!g.ok || !layers.length) {
      status.textContent = g.ok ? t("empty") : t("refused", g.error);
      root.classList.toggle("cnnw-refused", !g.ok);
      outCanvas.width = 1; outCanvas.height = 1; geom = null; caption.textContent = "";
      return;
    }
    root.classList.remove("cnnw-refused");
    const last = g.rows[g.rows.length - 1];
    const [oh, ow] = last.out;
    if (!unit || unit[0] >= oh || unit[1] >= ow) unit = [Math.floor(oh / 2), Math.floor(ow / 2)];
    g.rows.forEach((r, k) => table.append(h("tr", {}, ...[`${k} ${kindName(r.kind)}`, `${r.out[0]}×${r.out[1]}`,
      `${r.size[0]}×${r.size[1]}`, `${r.jump[0]}×${r.jump[1]}`, `${fmt(r.start[0])}, ${fmt(r.start[1])}`].map((v) => h("td", { text: v })))));
    const [[top, bottom], [left, right]] = field(last, H, W, unit[0], unit[1]);
    ctxIn.fillStyle = col.window;
    ctxIn.fillRect(left * cell, top * cell, (right - left + 1) * cell + 1, (bottom - top + 1) * cell + 1);
    const oc = Math.max(4, Math.min(14, Math.floor(160 / Math.max(oh, ow))));
    outCanvas.width = ow * oc + 1; outCanvas.height = oh * oc + 1;
    const ctxO = outCanvas.getContext("2d");
    for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
      ctxO.fillStyle = i === unit[0] && j === unit[1] ? col.hot : col.out;
      ctxO.fillRect(j * oc + 1, i * oc + 1, oc - 1, oc - 1);
    }
    geom = { oc, oh, ow };
    // The measured field, when Python measured this very stack.
    const e = model.get("empirical");
    const same = e && e.signature === signature(H, W, layers);
    let measured = "";
    if (same) {
      const [t0, l0, hh, ww, b64] = e.units[unit[0] * ow + unit[1]];
      const v = decodeBase64(b64);
      for (let a = 0; a < hh; a++) for (let b = 0; b < ww; b++) {
        const x = v[a * ww + b];
        if (!x) continue;
        ctxG.fillStyle = `rgba(255, 90, 0, ${(0.15 + 0.85 * x / 255).toFixed(3)})`;
        ctxG.fillRect((l0 + b) * cell, (t0 + a) * cell, cell + 1, cell + 1);
      }
      ctxG.strokeStyle = col.fg; ctxG.lineWidth = 1;
      ctxG.strokeRect(left * cell + 0.5, top * cell + 0.5, (right - left + 1) * cell, (bottom - top + 1) * cell);
      const note = e.note === TEXT.en.note ? t("note") : e.note;  // the note measure() writes, in the page's language
      measured = hh ? t("measured", t0, t0 + hh - 1, l0, l0 + ww - 1, note) : "";
    } else {
      ctxG.fillStyle = col.fg; ctxG.font = "12px sans-serif";
      const msg = t("otherStack").split("\n");
      msg.forEach((m, k) => ctxG.fillText(m, 4, 16 + 15 * k));
    }
    embeddedBtn.hidden = !!same || !(e && e.layers);
    status.textContent = `${H}×${W} → ${oh}×${ow}; ` + t("sees", `${last.size[0]}×${last.size[1]}`, `${last.jump[0]}×${last.jump[1]}`);
    caption.textContent = t("unitSees", `(${unit[0]}, ${unit[1]})`, top, bottom, left, right) +
      (bottom - top + 1 < last.size[0] || right - left + 1 < last.size[1] ? t("inPadding") : ".") + measured;
  }
  outCanvas.addEventListener("mousemove", (e) => {
    if (!geom) return;
    const j = Math.floor(e.offsetX * outCanvas.width / outCanvas.clientWidth / geom.oc), i = Math.floor(e.offsetY * outCanvas.height / outCanvas.clientHeight / geom.oc);  // offset: inside the border
    if (i >= 0 && i < geom.oh && j >= 0 && j < geom.ow && (!unit || unit[0] !== i || unit[1] !== j)) { unit = [i, j]; draw(); }
  });
  arrowKeys(outCanvas, t("selectedUnit"), (di, dj) => {
    if (!geom || !unit) return;
    unit = [clamp(unit[0] + di, 0, geom.oh - 1), clamp(unit[1] + dj, 0, geom.ow - 1)]; draw();
  });
  for (const f of ["height", "width", "layers", "empirical"]) model.on(`change:${f}`, draw);
  draw();
}

export default { render };
