// Controls shared by the course widgets: validated number fields (a visible message next to
// the field, the model left as it was), legends, and arrow-key navigation. _base.py puts
// _common.js and this file in front of each widget module that imports them.
import { h, fmt } from "./_common.js";
import { translator } from "./_i18n.js";

// The controls' words (see _i18n.js): validation messages and the fields' names.
export const CONTROLS_TEXT = {
  en: {
    notNumber: (s) => `“${s}” is not a number: type e.g. 2, -0.25 or 1/9`,
    empty: "empty: type a number, e.g. 0",
    tooLarge: (s) => `“${s}” is too large`,
    divisionByZero: (s) => `“${s}”: division by zero`,
    notWhole: (s, min, max) => `${s ? `“${s}”` : "empty"}: enter a whole number from ${min} to ${max}`,
    cell: (name, row, col) => `${name} row ${row}, column ${col}`,
    refusedCell: (row, col, error) => `row ${row}, column ${col}: ${error}; the previous value is kept`,
    entry: "entry",
    height: "height",
    width: "width",
  },
  ru: {
    notNumber: (s) => `«${s}» — не число: введите, например, 2, -0.25 (с точкой) или 1/9`,
    empty: "пусто: введите число, например 0",
    tooLarge: (s) => `«${s}» — слишком большое число`,
    divisionByZero: (s) => `«${s}»: деление на ноль`,
    notWhole: (s, min, max) => `${s ? `«${s}»` : "пусто"}: введите целое число от ${min} до ${max}`,
    cell: (name, row, col) => `${name}, строка ${row}, столбец ${col}`,
    refusedCell: (row, col, error) => `строка ${row}, столбец ${col}: ${error}; прежнее значение сохранено`,
    entry: "элемент",
    height: "высота",
    width: "ширина",
  },
};
const ct = () => translator(CONTROLS_TEXT);  // the page's language (English in Node)

// A number typed by a reader: an integer, a decimal (-0.25, .5, 1e-3) or a fraction of two
// such numbers (1/9, -1/8, 3 / 4). Returns {ok: true, value} or {ok: false, error}.
export function parseNumber(text) {
  const s = String(text).trim().replace(/\u2212/g, "-");  // − (the minus sign) as -
  const num = "[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?";
  const m = s.match(new RegExp(`^(${num})(?:\\s*/\\s*(${num}))?$`));
  const t = ct();
  if (!m) return { ok: false, error: s ? t("notNumber", s) : t("empty") };
  const a = Number(m[1]);
  if (m[2] === undefined) return Number.isFinite(a) ? { ok: true, value: a } : { ok: false, error: t("tooLarge", s) };
  const b = Number(m[2]);
  if (b === 0) return { ok: false, error: t("divisionByZero", s) };
  const v = a / b;
  return Number.isFinite(v) ? { ok: true, value: v } : { ok: false, error: t("tooLarge", s) };
}

// A whole number typed in a field that takes min..max: {ok, value} or {ok: false, error}.
export function parseInteger(text, min, max) {
  const s = String(text).trim();
  const wrong = { ok: false, error: ct()("notWhole", s, min, max) };
  if (!/^[+-]?\d+$/.test(s)) return wrong;
  const v = Number(s);
  return v >= min && v <= max ? { ok: true, value: v } : wrong;
}

// Mark `input` valid or not; `msg` (an element next to it) shows the reason.
export function setInvalid(input, msg, error) {
  input.classList.toggle("cnnw-invalid", !!error);
  if (error) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  msg.textContent = error || "";
  msg.hidden = !error;
}

const message = () => { const m = h("span", { class: "cnnw-msg", role: "alert" }); m.hidden = true; return m; };

// A labelled whole-number field with steppers, bound to the synced trait `name`: a value out
// of min..max or not a whole number is refused with a message beside the field (the trait
// keeps its value). `label` is shown; `aria` (default: label) is what screen readers say.
export function intField(model, name, label, min, max, { aria, onChange } = {}) {
  const input = h("input", { type: "number", min: String(min), max: String(max), step: "1",
    "aria-label": aria || label || name });
  input.value = String(model.get(name));
  input.dataset.trait = name;
  const msg = message();
  input.addEventListener("change", () => {
    const r = parseInteger(input.value, min, max);
    setInvalid(input, msg, r.ok ? "" : `${aria || label || name}: ${r.error}`);
    if (!r.ok) return;
    model.set(name, r.value);
    model.save_changes();
    if (onChange) onChange();
  });
  model.on(`change:${name}`, () => { input.value = String(model.get(name)); setInvalid(input, msg, ""); });
  return h("label", { class: "cnnw-field" }, label ? h("span", { text: label }) : null, input, msg);
}

// A whole-number field of its own (not a trait): onValid(value) on a valid entry; an invalid
// one is refused with a message beside it. Returns {field: the label element, input}.
export function wholeField(aria, min, max, value, onValid) {
  const input = h("input", { type: "number", min: String(min), max: String(max), step: "1", "aria-label": aria });
  input.value = String(value);
  const msg = message();
  input.addEventListener("change", () => {
    const r = parseInteger(input.value, min, max);
    setInvalid(input, msg, r.ok ? "" : `${aria}: ${r.error}`);
    if (r.ok) onValid(r.value);
  });
  return { field: h("label", { class: "cnnw-field" }, input, msg), input, msg };
}

// Two whole-number fields on one line ("kernel 3 × 5"), with one message line under them.
export function intPair(model, a, b, label, min, max, names = [ct()("height"), ct()("width")]) {
  const fa = intField(model, a, "", min, max, { aria: `${label}, ${names[0]}` });
  const fb = intField(model, b, "", min, max, { aria: `${label}, ${names[1]}` });
  return h("div", { class: "cnnw-pair" }, h("span", { text: label }), fa, h("span", { text: "×" }), fb);
}

// An editable table of numbers (decimals or fractions). onChange(row, col, value) is called
// for each valid entry; an invalid one is marked, explained under the table, and not used.
// shown(row, col, value) gives the text of a cell (default: the value, 4 decimals).
export function numberGrid(matrix, onChange, { name = ct()("entry"), shown = (a, b, v) => fmt(v, 4) } = {}) {
  const t = ct();
  const table = h("table", { class: "cnnw-grid cnnw-kernel" });
  const msg = message();
  msg.classList.add("cnnw-msg-block");
  const bad = new Set();
  matrix.forEach((row, a) => {
    const tr = h("tr", {});
    row.forEach((v, b) => {
      const input = h("input", { type: "text", inputmode: "decimal", size: "5",
        "aria-label": t("cell", name, a + 1, b + 1) });
      input.value = shown(a, b, v);
      input.addEventListener("change", () => {
        const r = parseNumber(input.value);
        if (r.ok) bad.delete(`${a},${b}`); else bad.add(`${a},${b}`);
        setInvalid(input, msg, r.ok ? (bad.size ? msg.textContent : "") : t("refusedCell", a + 1, b + 1, r.error));
        if (r.ok) onChange(a, b, r.value, input.value.trim());
      });
      tr.append(h("td", {}, input));
    });
    table.append(tr);
  });
  return h("div", { class: "cnnw-kernel-box" }, table, msg);
}

// A legend: [[css colour or {outline: colour}, text], ...] as swatches with their text.
export function legend(items) {
  return h("div", { class: "cnnw-legend" }, ...items.map(([colour, text]) => {
    const sw = h("span", { class: "cnnw-swatch", "aria-hidden": "true" });
    if (typeof colour === "string") sw.style.background = colour;
    else sw.style.outline = `2px solid ${colour.outline}`;
    return h("span", { class: "cnnw-key" }, sw, text);
  }));
}

// Make `el` focusable and let the arrow keys move a selection: move(dRow, dCol) is called for
// ArrowUp/Down/Left/Right (Shift: 5 cells at a time).
export function arrowKeys(el, label, move) {
  el.tabIndex = 0;
  el.setAttribute("role", "application");
  el.setAttribute("aria-label", label);
  el.addEventListener("keydown", (e) => {
    const d = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
    if (!d) return;
    e.preventDefault();
    const n = e.shiftKey ? 5 : 1;
    move(d[0] * n, d[1] * n);
  });
}

// Clamp v to lo..hi.
export const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
