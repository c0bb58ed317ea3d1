"""Copy the browser assets the book needs into build/static (served as the book's _static).

The built book must load nothing from the network, so MathJax 3, RequireJS and the Jupyter
widget manager come from node_modules (installed by `npm ci` from package-lock.json), and
anywidget's front end from the anywidget Python package. `make book` runs this script.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules"
OUT = ROOT / "build" / "static"

REQUIRE_CONFIG = """\
// Point RequireJS at the local copy of anywidget's front end, and the widget manager at its
// own fonts, beside this file (written by tools/vendor_assets.py). The widget manager's
// modules @jupyter-widgets/base and /controls (defined in embed-amd.js) place their fonts
// beside their own RequireJS address: mapped here, or they would ask for them beside the page
// (.../book/@jupyter-widgets/*.woff2, 404).
(function () {
  var src = document.currentScript && document.currentScript.src;
  var base = src ? src.substring(0, src.lastIndexOf("/") + 1) : "_static/widgets/";
  window.__jupyter_widgets_assets_path__ = base;
  window.require.config({ paths: {
    anywidget: base + "anywidget",
    "@jupyter-widgets": base.replace(/\/$/, ""),
    "@jupyter-widgets/html-manager/dist": base.replace(/\/$/, ""),
  } });
})();
"""


def main() -> int:
    missing = [p for p in (NODE / "mathjax", NODE / "requirejs",
                           NODE / "@jupyter-widgets" / "html-manager") if not p.is_dir()]
    if missing:
        print(f"missing {', '.join(map(str, missing))}: run `npm ci` first", file=sys.stderr)
        return 1
    import anywidget

    if OUT.exists():
        shutil.rmtree(OUT)
    mathjax = OUT / "mathjax"
    mathjax.mkdir(parents=True)
    es5 = NODE / "mathjax" / "es5"
    shutil.copy2(es5 / "tex-chtml.js", mathjax / "tex-chtml.js")
    for sub in ("input", "ui", "a11y", "adaptors"):
        shutil.copytree(es5 / sub, mathjax / sub)
    # CommonHTML output only (tex-chtml.js); the SVG output is not used.
    shutil.copytree(es5 / "output", mathjax / "output",
                    ignore=shutil.ignore_patterns("svg", "svg.js"))
    shutil.copy2(NODE / "requirejs" / "require.js", OUT / "require.min.js")
    widgets = OUT / "widgets"
    shutil.copytree(NODE / "@jupyter-widgets" / "html-manager" / "dist", widgets,
                    ignore=shutil.ignore_patterns("*.map", "embed.js", "embed.js.LICENSE.txt",
                                                  "libembed-amd.js"))
    shutil.copy2(Path(anywidget.__file__).parent / "nbextension" / "index.js",
                 widgets / "anywidget.js")
    (widgets / "require-config.js").write_text(REQUIRE_CONFIG)
    size = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"vendored browser assets into {OUT.relative_to(ROOT)} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
