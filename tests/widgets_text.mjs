// The words of the widgets (the TEXT tables of cnncourse/widgets/*.js, see _i18n.js), for
// tests/test_widgets_parity.py and tests/test_widgets_browser.py.
// argv: the module paths. stdout: {module: {keys: {en: [...], ru: [...]}, arity: {key: [en, ru]},
// texts: {en: [...], ru: [...]}}}: every text, functions called with sample arguments.
import { pathToFileURL } from "node:url";

// Sample arguments: the numbers a text shows (1, 2, 5: the Russian plural forms; 0: "none"),
// true/false for the texts that take a flag.
const SAMPLES = [1, 2, 5, 0, 21];
const out = {};
for (const path of process.argv.slice(2)) {
  const mod = await import(pathToFileURL(path).href);
  const tables = mod.TEXT || mod.CONTROLS_TEXT;
  const entry = { keys: {}, arity: {}, texts: {} };
  for (const [lang, table] of Object.entries(tables)) {
    entry.keys[lang] = Object.keys(table);
    entry.texts[lang] = [];
    for (const [key, v] of Object.entries(table)) {
      if (typeof v === "function") {
        (entry.arity[key] ||= []).push(v.length);
        for (const s of SAMPLES) entry.texts[lang].push(String(v(...Array(v.length).fill(s))));
      } else {
        (entry.arity[key] ||= []).push(-1);
        entry.texts[lang].push(String(v));
      }
    }
  }
  out[path] = entry;
}
process.stdout.write(JSON.stringify(out));
