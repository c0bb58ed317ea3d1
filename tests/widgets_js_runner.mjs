// Call the exported pure functions of a widget's JavaScript module, for the parity tests.
// stdin: {"module": "/abs/path/widget.js", "calls": [["functionName", arg1, ...], ...]}
// stdout: [{"ok": true, "value": ...} | {"ok": false, "error": "..."}, ...] (one per call).
import { pathToFileURL } from "node:url";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const { module, calls } = JSON.parse(input);
const mod = await import(pathToFileURL(module).href);
const results = calls.map(([name, ...args]) => {
  try {
    if (typeof mod[name] !== "function") throw new Error(`${module} exports no function ${name}`);
    return { ok: true, value: mod[name](...args) };
  } catch (e) {
    return { ok: false, error: String(e && e.stack || e) };
  }
});
// Typed arrays (Uint8Array, Float64Array) come back as plain JSON arrays.
const plain = (key, v) => (ArrayBuffer.isView(v) ? Array.from(v) : v);
process.stdout.write(JSON.stringify(results, plain));
