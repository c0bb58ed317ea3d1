// Helpers shared by the course widgets. _base.py puts this file in front of each widget's
// module (the browser gets one self-contained ES module); Node imports it as a module.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// A labelled <select> bound to the trait `name`; options: [[value, text], ...].
export function selectInput(model, name, label, options) {
  const select = h("select", {});
  select.dataset.trait = name;
  for (const [value, text] of options) select.append(h("option", { value: String(value), text }));
  select.value = String(model.get(name));
  select.addEventListener("change", () => { model.set(name, select.value); model.save_changes(); });
  model.on(`change:${name}`, () => { select.value = String(model.get(name)); });
  return h("label", {}, label ? h("span", { text: label }) : null, select);
}

// A labelled checkbox bound to the boolean trait `name`.
export function checkInput(model, name, label) {
  const box = h("input", { type: "checkbox" });
  box.checked = !!model.get(name);
  box.dataset.trait = name;
  box.addEventListener("change", () => { model.set(name, box.checked); model.save_changes(); });
  model.on(`change:${name}`, () => { box.checked = !!model.get(name); });
  return h("label", {}, box, label);
}

// Integer division rounding toward minus infinity, as Python's // and C++ for sizes >= 0.
export const floorDiv = (a, b) => Math.floor(a / b);

// A number as short text: integers as they are, others with up to `digits` decimals.
export function fmt(v, digits = 2) {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const s = v.toFixed(digits).replace(/0+$/, "").replace(/\.$/, "");
  return s === "-0" ? "0" : s;
}

// Theme-aware colours: the text colour of the page, and the course's highlight colours.
export function colours(node) {
  const fg = getComputedStyle(node).color || "#444";
  return { fg, grid: "rgba(128,128,128,0.55)", input: "rgba(70,130,220,0.30)",
           pad: "rgba(128,128,128,0.15)", window: "rgba(255,140,0,0.55)",
           out: "rgba(0,180,170,0.35)", hot: "rgba(255,59,48,0.85)" };
}

// Bytes from base64 (data embedded in the page).
export function decodeBase64(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
