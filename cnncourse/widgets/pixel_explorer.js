// PixelExplorer (lecture L01): the picture, and the integers under the pointer (or under the
// window the arrow keys move).
import { h } from "./_common.js";
import { legend, arrowKeys, clamp } from "./_controls.js";
import { translator } from "./_i18n.js";

// The widget's words (see _i18n.js).
export const TEXT = {
  en: {
    channel: "channel",
    window: "the window whose numbers are shown",
    hint: "Point at the picture, or click it and move the window with the arrow keys (Shift: 5 pixels).",
    gray: "gray", rgb: "colour (R,G,B)", r: "red", g: "green", b: "blue",
    shown: (r0, r1, c0, c1) => `rows ${r0}–${r1}, columns ${c0}–${c1}`,
    eachCell: " (in each cell: R, G, B)",
    picture: "the picture: arrow keys move the window",
  },
  ru: {
    channel: "канал",
    window: "окно, числа которого показаны",
    hint: "Наведите указатель на картинку или щёлкните по ней и двигайте окно стрелками (с Shift — на 5 пикселей).",
    gray: "серый", rgb: "цвет (R,G,B)", r: "красный", g: "зелёный", b: "синий",
    shown: (r0, r1, c0, c1) => `строки ${r0}–${r1}, столбцы ${c0}–${c1}`,
    eachCell: " (в каждой клетке: R, G, B)",
    picture: "картинка: стрелки двигают окно",
  },
};

function render({ model, el }) {
  const t = translator(TEXT, el);
  const root = document.createElement("div");
  root.className = "cnnw cnnw-pixel-explorer";
  const canvas = document.createElement("canvas");
  const side = document.createElement("div");
  side.className = "cnnw-controls";
  const label = document.createElement("label");
  label.textContent = t("channel");
  const select = document.createElement("select");
  label.appendChild(select);
  const caption = document.createElement("div");
  caption.className = "cnnw-caption";
  const table = document.createElement("table");
  table.className = "cnnw-grid";
  const key = legend([[{ outline: "#ff3b30" }, t("window")]]);
  const hint = h("div", { class: "cnnw-hint", text: t("hint") });
  side.append(label, caption, table);
  root.append(h("div", { class: "cnnw-view" }, canvas, key, hint), side);
  el.appendChild(root);

  const H = model.get("height"), W = model.get("width"), C = model.get("channels");
  const px = model.get("pixels");
  const options = C === 1 ? ["gray"] : ["rgb", "r", "g", "b"];
  for (const o of options) {
    const opt = document.createElement("option");
    opt.value = o;
    opt.textContent = t(o);
    select.appendChild(opt);
  }
  const value = (i, j, c) => px[(i * W + j) * C + c];

  function draw() {
    const scale = model.get("scale"), crop = model.get("crop");
    const ch = model.get("channel"), r0 = model.get("row"), c0 = model.get("col");
    canvas.width = W; canvas.height = H;
    canvas.style.width = `${W * scale}px`; canvas.style.height = `${H * scale}px`;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(W, H);
    const k = { r: 0, g: 1, b: 2 }[ch];
    for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) {
      const o = (i * W + j) * 4;
      for (let c = 0; c < 3; c++) {
        let v;
        if (C === 1) v = value(i, j, 0);
        else if (k === undefined) v = value(i, j, c);
        else v = c === k ? value(i, j, k) : 0;
        img.data[o + c] = v;
      }
      img.data[o + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    ctx.strokeStyle = "#ff3b30"; ctx.lineWidth = 1;
    ctx.strokeRect(c0 + 0.5, r0 + 0.5, crop - 1, crop - 1);
    select.value = ch;
    caption.textContent = t("shown", r0, r0 + crop - 1, c0, c0 + crop - 1) +
      (C === 3 && ch === "rgb" ? t("eachCell") : "");
    table.replaceChildren();
    for (let i = r0; i < Math.min(H, r0 + crop); i++) {
      const tr = document.createElement("tr");
      for (let j = c0; j < Math.min(W, c0 + crop); j++) {
        const td = document.createElement("td");
        if (C === 1) td.textContent = value(i, j, 0);
        else if (k === undefined) {  // R, G and B on three lines: six columns fit a phone
          td.append(String(value(i, j, 0)), h("br"), String(value(i, j, 1)), h("br"), String(value(i, j, 2)));
        }
        else td.textContent = value(i, j, k);
        tr.appendChild(td);
      }
      table.appendChild(tr);
    }
  }

  canvas.addEventListener("mousemove", (e) => {
    const rect = canvas.getBoundingClientRect();
    const crop = model.get("crop");
    const j = Math.floor((e.clientX - rect.left) / rect.width * W);
    const i = Math.floor((e.clientY - rect.top) / rect.height * H);
    model.set("row", Math.max(0, Math.min(H - crop, i - (crop >> 1))));
    model.set("col", Math.max(0, Math.min(W - crop, j - (crop >> 1))));
    model.save_changes();
  });
  arrowKeys(canvas, t("picture"), (di, dj) => {
    const crop = model.get("crop");
    model.set("row", clamp(model.get("row") + di, 0, H - crop));
    model.set("col", clamp(model.get("col") + dj, 0, W - crop));
    model.save_changes();
  });
  select.setAttribute("aria-label", t("channel"));
  select.addEventListener("change", () => { model.set("channel", select.value); model.save_changes(); });
  for (const name of ["row", "col", "channel", "crop", "scale"]) model.on(`change:${name}`, draw);
  draw();
}
export default { render };
