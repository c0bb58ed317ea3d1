// The widgets' words in the page's language. Each module keeps its own tables,
// TEXT = {en: {key: text}, ru: {key: text}}, with the same keys in both (a test checks it); a
// text is a string or a function of the numbers and names it shows. The language is the
// page's: the lang attribute of the widget's nearest ancestor that has one, else of <html>
// ("ru" in the book's Russian edition); any language without a table reads English.
// _base.py puts this file in front of each widget module that imports it; Node imports it
// as a module (there is no page there: English).

export const LANGUAGES = ["en", "ru"];

// The page's language for `el` (an element, or nothing: the document's): "en" or "ru".
export function pageLanguage(el) {
  let lang = "";
  if (el && typeof el.closest === "function") {
    const owner = el.closest("[lang]");
    if (owner) lang = owner.getAttribute("lang") || "";
  }
  if (!lang && typeof document !== "undefined" && document.documentElement) lang = document.documentElement.lang || "";
  const base = lang.toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.includes(base) ? base : "en";
}

// t(key, ...args): the text of `key` in the language of `el`'s page (English for a key the
// language lacks, an error for a key no table has: a typo must not pass silently).
export function translator(tables, el) {
  const lang = pageLanguage(el);
  const table = tables[lang] || tables.en;
  const t = (key, ...args) => {
    const v = key in table ? table[key] : tables.en[key];
    if (v === undefined) throw new Error(`no text for "${key}"`);
    return typeof v === "function" ? v(...args) : v;
  };
  t.lang = lang;
  return t;
}

// Russian plural forms: plural(n, "клетка", "клетки", "клеток") for 1, 2-4 and 5-20 (and 0).
export function plural(n, one, few, many) {
  const a = Math.abs(n) % 100, b = a % 10;
  if (a > 10 && a < 20) return many;
  if (b === 1) return one;
  if (b >= 2 && b <= 4) return few;
  return many;
}
