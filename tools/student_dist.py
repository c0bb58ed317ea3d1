"""Build the students' distribution: one zip with nothing of solutions/ in it.

    python tools/student_dist.py [--dist DIR] [--book HTML_DIR]     # or: make student

writes ``DIR/cnn-course-student-<version>.zip`` (default ``dist/``, which git ignores)
holding one folder ``cnn-course-student-<version>/`` with

- ``cnncourse-<version>-py3-none-any.whl``: the course package with its runtime
  dependencies declared (``pip install`` it, that is the whole set-up), the widgets' JS/CSS
  and MNIST with its provenance and licence README (package data, ``cnncourse/_data/mnist``);
- ``exercises/``: the released assignment notebooks, as committed in ``exercises/``, and
  their Russian release, ``exercises/ru/`` (the same assignments, text in Russian);
- ``book/``: the built HTML book (``make book``; open ``book/index.html``);
- ``README.md``: how to install and start, and the licences.

Left out: ``solutions/`` (reference solutions, hidden tests and their seeds), the tests,
the tools, the instructor's grader (``cnncourse.sandbox``, ``cnncourse.autograde``,
``cnncourse.nbgrader_course``, which reads ``solutions/``, and the release's translator
``cnncourse.notebook_translation``) and the generators of the hidden
grading cases (``cnncourse.checks.hidden``). Before writing the zip the script scans every
text file it holds, the wheel's included, for nbgrader's solution and hidden-test markers,
for paths under ``solutions/`` and for ``cnncourse/checks/hidden/``, and refuses to write
it if it finds one.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Instructor-only parts of the package: the grader (and its Dask driver), the
#: throwaway-course helper, what translates a release (nbgrader_config.py's, for a
#: Russian course) and the JupyterHub set-up (hub/, run from the repository).
GRADER_ONLY = ("sandbox", "autograde.py", "autograde_dask.py", "nbgrader_course.py",
               "notebook_translation.py", "jupyterhub_course.py")
#: The released languages besides English: exercises/<language>/<assignment>/.
RELEASE_LANGUAGES = ("ru",)
#: The generators of the hidden grading cases (cnncourse/checks/hidden/, one module per
#: checks module). The seeds stay in solutions/, but the generators alone tell which
#: argument combinations the autograder tries, so a student could special-case them. The
#: public checks import this package only for family="hidden"; without it they raise a
#: clear LookupError (cnncourse.checks.core.grader_module) and the visible cases still work.
HIDDEN_CASES = Path("checks") / "hidden"
#: Where the wheel carries MNIST (cnncourse.data.PACKAGE_MNIST_DIR).
PACKAGE_MNIST = Path("cnncourse") / "_data" / "mnist"
#: Markers that must never reach a student.
FORBIDDEN_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
STORED = {".whl", ".gz", ".zip", ".png", ".jpg", ".jpeg", ".gif", ".woff", ".woff2"}
_JUNK = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")


def version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
    if not match:
        raise SystemExit("no version in pyproject.toml")
    return match.group(1)


def build_wheel(out: Path, work: Path) -> Path:
    """The student wheel: the package without the grader and the hidden cases' generators,
    MNIST inside as package data."""
    src = work / "wheel-src"
    src.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", src / "pyproject.toml")
    package = ROOT / "cnncourse"

    def leave_out(folder, names):
        top = Path(folder) == package
        left_out = set(_JUNK(folder, names)) | ({*GRADER_ONLY, "_data"} & set(names) if top else set())
        if Path(folder) == package / HIDDEN_CASES.parent:  # cnncourse/checks: not its hidden/
            left_out |= {HIDDEN_CASES.name} & set(names)
        return left_out

    shutil.copytree(package, src / "cnncourse", ignore=leave_out)
    shutil.copytree(ROOT / "data" / "mnist", src / PACKAGE_MNIST, ignore=_JUNK)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-q", "-w", str(out), str(src)],
                   check=True, cwd=work)
    wheels = sorted(out.glob("cnncourse-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel, found {wheels}")
    return wheels[0]


def student_readme(name: str, wheel: str, assignments: list[str],
                   russian: list[str] | None = None) -> str:
    listing = "\n".join(f"- `exercises/{a}/{a}.ipynb`" for a in assignments)
    russian_listing = "\n".join(f"- `exercises/ru/{a}/{a}.ipynb`" for a in russian or [])
    return f"""# Convolutional neural networks: the course, for students

This folder is everything you need, offline:

- `{wheel}`: the course's Python package (data, lecture examples, widgets and
  the checks that the assignments' tests call), with MNIST inside;
- `exercises/`: the assignments; `exercises/ru/`: the same assignments in Russian;
- `book/`: the book, as HTML. Open `book/index.html` in a browser.

## Set up (once)

You need Python 3.10 or newer. In this folder:

```bash
python3 -m venv .venv
source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
pip install {wheel}
```

That one `pip install` brings PyTorch, JupyterLab and everything else the notebooks use.

## Work on an assignment

```bash
source .venv/bin/activate
jupyter lab exercises
```

{listing}

Write your code where it says `YOUR CODE HERE`, then run all cells: each test cell says
how many points it is worth and prints one line per part that passes, or the case that
failed. The autograder runs the same checks again on other, hidden cases, so make your
code general. Hand in the notebook as your instructor says.

## Задания на русском

Те же задания с текстом на русском — в `exercises/ru/` (и проверки там сообщают о
результатах по-русски):

{russian_listing}

Пишите код там, где написано `ВАШ КОД ЗДЕСЬ`, затем выполните все ячейки. Сдавайте
русский блокнот, если ваш курс идёт на русском, — так, как скажет преподаватель.

## Licences

Code: MIT. Text: CC BY-SA 4.0. MNIST (Y. LeCun, C. Cortes, C. J. C. Burges) is
redistributed under CC BY-SA 3.0: its provenance and licence are in the package, in
`cnncourse/_data/mnist/README.md` (unzip the wheel, or look in your environment's
site-packages). The photos come with scikit-image (CC0).

({name})
"""


def scan(folder: Path) -> list[str]:
    """Every forbidden marker or solutions/ path in ``folder``, zips (the wheel) included."""
    problems = []

    def check_text(where: str, data: bytes):
        text = data.decode("utf-8", errors="ignore")
        for marker in FORBIDDEN_MARKERS:
            if marker in text:
                problems.append(f"{where}: contains {marker!r}")

    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if "solutions" in path.relative_to(folder).parts:
            problems.append(f"{rel}: a solutions/ path")
        if not path.is_file():
            continue
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as whl:
                for info in whl.infolist():
                    if "solutions" in Path(info.filename).parts:
                        problems.append(f"{rel}!{info.filename}: a solutions/ path")
                    if info.filename.startswith(f"cnncourse/{HIDDEN_CASES.as_posix()}/"):
                        problems.append(f"{rel}!{info.filename}: a hidden cases' generator")
                    check_text(f"{rel}!{info.filename}", whl.read(info))
        else:
            check_text(rel, path.read_bytes())
    return problems


def build(dist: Path, book: Path) -> Path:
    if not (book / "index.html").is_file():
        raise SystemExit(f"no built book in {book}: run `make book` first")
    assignments = sorted(p.name for p in (ROOT / "exercises").iterdir()
                         if p.is_dir() and any(p.glob("*.ipynb")))
    name = f"cnn-course-student-{version()}"
    dist.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cnncourse-student-") as tmp:
        work = Path(tmp)
        top = work / name
        top.mkdir()
        wheel = build_wheel(top, work)
        for a in assignments:
            shutil.copytree(ROOT / "exercises" / a, top / "exercises" / a, ignore=_JUNK)
        russian = []
        for language in RELEASE_LANGUAGES:
            for a in assignments:
                if (ROOT / "exercises" / language / a).is_dir():
                    shutil.copytree(ROOT / "exercises" / language / a,
                                    top / "exercises" / language / a, ignore=_JUNK)
                    russian.append(a)
        shutil.copytree(book, top / "book", ignore=_JUNK)
        (top / "README.md").write_text(student_readme(name, wheel.name, assignments, russian))
        problems = scan(top)
        if problems:
            raise SystemExit("refusing to build the students' distribution:\n  "
                             + "\n  ".join(problems[:20]))
        archive = dist / f"{name}.zip"
        partial = archive.with_suffix(".zip.part")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(top.rglob("*")):
                if path.is_file():  # already compressed files are stored as they are
                    z.write(path, path.relative_to(work).as_posix(),
                            zipfile.ZIP_STORED if path.suffix in STORED else None)
        partial.replace(archive)
    return archive


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--book", type=Path, default=ROOT / "_build" / "html")
    args = parser.parse_args(argv)
    archive = build(args.dist, args.book)
    print(f"{archive} ({archive.stat().st_size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
