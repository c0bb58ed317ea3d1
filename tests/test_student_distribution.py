"""The students' distribution (`make student`, tools/student_dist.py): what it holds, what it
never holds, and that an exercise runs against its wheel installed in a fresh environment.

The distribution is built once per module with the script the make target calls. The
fresh environment is a new venv with the wheel installed ``--no-deps``; its dependencies
come from this project's venv through a ``.pth`` path line (which does not run the
``.pth`` files of that folder, so the editable install of ``cnncourse`` there stays
invisible), so no PyTorch is downloaded. The dependencies are checked against the exact pins
of requirements.txt and the imports of the wheel and the exercises (a `pip install
--dry-run --no-index` over the whole Jupyter tree would cost ~20 s on a busy machine).
"""

from __future__ import annotations

import ast
import html
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from cnncourse.nbgrader_course import source_notebook

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "student_dist.py"
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir()
                     if p.is_dir() and any(p.glob("*.ipynb")))
RUN_ASSIGNMENT = "a1_conv_forward"
RUN_CHAPTER = "book/part1/01_what_an_image_is"  # photos, MNIST and a widget: the package's data

_HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS[^\n]*\n(.*?)### END HIDDEN TESTS", re.S)
_SOLUTION = re.compile(r"### BEGIN SOLUTION[^\n]*\n(.*?)### END SOLUTION", re.S)
_SEED = re.compile(r"\bseed\s*=\s*(\d+)")


# --- what must not be in it, taken from solutions/ --------------------------------------

def hidden_secrets() -> tuple[set[str], set[int]]:
    """Every line of every hidden-test block in solutions/, and the seeds they use."""
    lines, seeds = set(), set()
    for assignment in ASSIGNMENTS:
        for cell in source_notebook(assignment).cells:
            for block in _HIDDEN.findall(cell.source):
                for line in block.splitlines():
                    line = line.strip()
                    if line and not line.startswith("#"):
                        lines.add(line)
                        seeds.update(int(s) for s in _SEED.findall(line))
    return lines, seeds


HIDDEN_LINES, HIDDEN_SEEDS = hidden_secrets()


def text_files(top: Path) -> dict[str, str]:
    """name -> text of every file under ``top`` and inside its wheels; HTML also as plain
    text (tags removed, entities decoded) so that highlighted code cannot hide a match."""
    texts = {}

    def add(name: str, data: bytes):
        text = data.decode("utf-8", errors="ignore")
        texts[name] = text
        if name.endswith((".html", ".htm")):
            texts[name + " (as text)"] = html.unescape(re.sub(r"<[^>]+>", "", text))

    for path in sorted(top.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(top).as_posix()
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as whl:
                for info in whl.infolist():
                    add(f"{rel}!{info.filename}", whl.read(info))
        elif path.suffix != ".gz":
            add(rel, path.read_bytes())
    return texts


def leaks(top: Path) -> list[str]:
    """Everything in the unpacked distribution ``top`` that a student must not see."""
    found = []
    for path in top.rglob("*"):
        if "solutions" in path.relative_to(top).parts:
            found.append(f"{path.relative_to(top)}: a solutions/ path")
    for name, text in text_files(top).items():
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            if marker in text:
                found.append(f"{name}: {marker!r}")
        for line in HIDDEN_LINES:
            if line in text:
                found.append(f"{name}: hidden test line {line!r}")
        for line in text.splitlines():  # a hidden call's seed, however it is written
            if "hidden" in line:
                for seed in _SEED.findall(line):
                    if int(seed) in HIDDEN_SEEDS:
                        found.append(f"{name}: hidden seed {seed} in {line.strip()[:120]!r}")
    return found


_HIDDEN_DEF = re.compile(r"^\s*def\s+\w*hidden\w*\s*\(", re.M | re.I)


def hidden_generators(files: dict[str, str]) -> list[str]:
    """What in ``files`` (path -> source of a cnncourse/checks module) builds hidden cases:
    the cnncourse/checks/hidden/ package, a function named after them, a seeded
    ``random.Random`` (every hidden generator draws from one; the visible cases are fixed
    lists), or a loop inside an ``if family == "hidden"`` branch."""
    found = []
    for name, source in sorted(files.items()):
        if name.startswith("cnncourse/checks/hidden/"):
            found.append(f"{name}: the hidden cases' package")
        found += [f"{name}: {m.group().strip()!r}" for m in _HIDDEN_DEF.finditer(source)]
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and "hidden" in node.name.lower():
                found.append(f"{name}: function {node.name}")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "Random"):
                found.append(f"{name}:{node.lineno}: a seeded random.Random")
            elif isinstance(node, (ast.If, ast.IfExp)) and any(
                    isinstance(c, ast.Constant) and c.value == "hidden" for c in ast.walk(node.test)):
                body = node.body if isinstance(node, ast.If) else [node.body]
                if any(isinstance(n, (ast.For, ast.While, ast.comprehension))
                       for b in body for n in ast.walk(b)):
                    found.append(f"{name}:{node.lineno}: a loop in a family == 'hidden' branch")
    return found


def checks_sources(names_and_bytes) -> dict[str, str]:
    return {n: data.decode() for n, data in names_and_bytes
            if n.startswith("cnncourse/checks/") and n.endswith(".py")}


# --- the distribution ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The built distribution, unpacked: the top folder ``cnn-course-student-<version>``."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--dist", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    archives = list(out.glob("cnn-course-student-*.zip"))
    assert len(archives) == 1, archives
    unpacked = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(archives[0]) as z:
        tops = {Path(n).parts[0] for n in z.namelist()}
        assert tops == {archives[0].stem}, tops
        z.extractall(unpacked)
    return unpacked / archives[0].stem


@pytest.fixture(scope="module")
def wheel(dist) -> Path:
    wheels = list(dist.glob("cnncourse-*-py3-none-any.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_it_holds_the_wheel_the_released_exercises_the_book_and_a_readme(dist, wheel):
    assert sorted(p.name for p in dist.iterdir()) == sorted(["README.md", wheel.name, "exercises", "book"])
    released = {p.relative_to(ROOT / "exercises").as_posix(): p.read_bytes()
                for p in (ROOT / "exercises").rglob("*") if p.is_file()
                and ".ipynb_checkpoints" not in p.parts}
    shipped = {p.relative_to(dist / "exercises").as_posix(): p.read_bytes()
               for p in (dist / "exercises").rglob("*") if p.is_file()}
    assert set(shipped) == {f"{a}/{a}.ipynb" for a in ASSIGNMENTS} | {
        f"ru/{a}/{a}.ipynb" for a in ASSIGNMENTS}  # and the Russian release
    assert shipped == released
    assert (dist / "book" / "index.html").is_file()
    assert (dist / "book" / "book" / "assignments" / f"{RUN_ASSIGNMENT}.html").is_file()
    readme = (dist / "README.md").read_text()
    assert f"pip install {wheel.name}" in readme and "CC BY-SA 3.0" in readme
    assert f"`exercises/ru/{RUN_ASSIGNMENT}/{RUN_ASSIGNMENT}.ipynb`" in readme


def test_the_wheel_carries_mnist_with_its_licence_and_the_widget_assets_but_not_the_grader(wheel):
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
    mnist = {n for n in names if n.startswith("cnncourse/_data/mnist/")}
    assert mnist == {"cnncourse/_data/mnist/README.md"} | {
        f"cnncourse/_data/mnist/{f}" for f in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
    assets = [p.name for p in (ROOT / "cnncourse" / "widgets").iterdir() if p.suffix in (".js", ".css")]
    assert "widgets.css" in assets and "_common.js" in assets
    for asset in assets:
        assert f"cnncourse/widgets/{asset}" in names
    assert not any(n.startswith(("cnncourse/sandbox/", "cnncourse/autograde", "cnncourse/nbgrader_course",
                                 "cnncourse/notebook_translation")) for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_the_wheel_has_no_generator_of_the_hidden_cases(wheel):
    # the scan is real: the repository's own checks hold the generators it looks for
    own = checks_sources((p.relative_to(ROOT).as_posix(), p.read_bytes())
                         for p in (ROOT / "cnncourse" / "checks").rglob("*.py"))
    found = "\n".join(hidden_generators(own))
    assert "cnncourse/checks/hidden/conv.py: the hidden cases' package" in found
    assert "a seeded random.Random" in found
    assert "def _hidden(" in "\n".join(hidden_generators({"x.py": "def _hidden(part, seed):\n    pass\n"}))
    with zipfile.ZipFile(wheel) as whl:
        shipped = checks_sources((n, whl.read(n)) for n in whl.namelist())
        assert not any(n.startswith("cnncourse/checks/hidden/") for n in whl.namelist())
    assert {"cnncourse/checks/conv.py", "cnncourse/checks/core.py"} <= set(shipped)
    assert hidden_generators(shipped) == []


def test_nothing_of_the_solutions_hidden_tests_or_their_seeds_is_inside(dist):
    # what is looked for is real: every assignment has hidden tests with seeds
    assert len(HIDDEN_LINES) >= len(ASSIGNMENTS) and len(HIDDEN_SEEDS) >= len(ASSIGNMENTS)
    assert leaks(dist) == []


def test_the_leak_scan_finds_a_solution_notebook_a_stray_hidden_line_and_a_seed(dist, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(dist / "exercises", bad / "exercises")
    name = f"{RUN_ASSIGNMENT}/{RUN_ASSIGNMENT}.ipynb"
    assert leaks(bad) == []
    for where in (name, f"ru/{name}"):  # the source shipped by mistake, as either release
        shutil.copy(ROOT / "solutions" / name, bad / "exercises" / where)
        found = "\n".join(leaks(bad))
        assert f"exercises/{where}: 'BEGIN SOLUTION'" in found and "'BEGIN HIDDEN TESTS'" in found
        assert "hidden seed" in found
        shutil.copy(dist / "exercises" / where, bad / "exercises" / where)
    shutil.copytree(dist / "exercises", bad / "exercises", dirs_exist_ok=True)
    # a hidden check left in, markers gone, reformatted: its seed still gives it away
    line = sorted(HIDDEN_LINES)[0]
    seed = _SEED.findall(line)[0]
    (bad / "notes.html").write_text(f"<pre>check(fn, family=<span>&quot;hidden&quot;</span>, "
                                    f"seed = {seed})</pre>")
    (bad / "exercises" / "copy.py").write_text(line + "\n")
    found = leaks(bad)
    assert any(f.startswith("notes.html (as text): hidden seed") for f in found), found
    assert any(f.startswith("exercises/copy.py: hidden test line") for f in found), found


# --- the wheel's metadata -------------------------------------------------------------------

def _requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as whl:
        meta = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        text = whl.read(meta).decode()
    return [Requirement(line.split(":", 1)[1].strip())
            for line in text.splitlines() if line.startswith("Requires-Dist:")]


def _imports(source: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_requires_dist_covers_every_third_party_import_and_agrees_with_requirements_txt(wheel, dist):
    requires = {canonicalize_name(r.name): r for r in _requires(wheel) if r.marker is None}
    modules = set()
    with zipfile.ZipFile(wheel) as whl:
        for name in whl.namelist():
            if name.endswith(".py"):
                modules |= _imports(whl.read(name).decode())
    for notebook in (dist / "exercises").rglob("*.ipynb"):
        for cell in nbformat.read(notebook, as_version=4).cells:
            if cell.cell_type == "code":
                modules |= _imports(cell.source)
    third_party = modules - set(sys.stdlib_module_names) - {"cnncourse", "__future__"}
    assert {"torch", "numpy", "matplotlib", "skimage", "anywidget"} <= third_party
    owners = importlib.metadata.packages_distributions()
    for module in sorted(third_party):
        dists = {canonicalize_name(d) for d in owners.get(module, [])}
        assert dists & set(requires), f"{module} (from {sorted(dists)}) is not in Requires-Dist"
    for needed in ("jupyterlab", "ipykernel", "ipywidgets"):  # to run the notebooks at all
        assert needed in requires
    # every requirement is met by the exact pins of requirements.txt (make setup installs both)
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            pins[canonicalize_name(req.name)] = next(iter(req.specifier)).version
    for name, req in requires.items():
        if name in pins:
            assert req.specifier.contains(pins[name], prereleases=True), (req, pins[name])
        else:  # not pinned there: what the project's venv has must fit
            assert req.specifier.contains(importlib.metadata.version(name), prereleases=True), req
    assert requires["torch"].specifier == Requirement(f"torch=={pins['torch']}").specifier
    assert requires["torchvision"].specifier == Requirement(f"torchvision=={pins['torchvision']}").specifier


# --- running an exercise against the installed wheel -----------------------------------------

@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory, wheel) -> Path:
    """A new venv with only the wheel installed; the project's site-packages on a .pth line."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # installed before the .pth exists: pip sees an empty environment
    subprocess.run([*_pip(venv), "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "project-dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    return venv


def _pip(venv: Path) -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(venv / "bin" / "python")]


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "CNNCOURSE_MNIST_DIR", "CNNCOURSE_COURSE_ROOT",
                        "VIRTUAL_ENV", "JUPYTER_PATH")}
    env.update(extra)
    return env


def _solution_regions(assignment: str) -> dict[str, list[str]]:
    """grade_id -> the code between the solution markers of solutions/ (markers removed)."""
    out = {}
    for cell in source_notebook(assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            out[meta["grade_id"]] = _SOLUTION.findall(cell.source)
    return out


_STUB = re.compile(r"^[ \t]*# (?:YOUR CODE HERE|ВАШ КОД ЗДЕСЬ)\n[ \t]*raise NotImplementedError\(\)[ \t]*$", re.M)

#: Appended to the exercise: what the kernel imported and where the package finds its files.
_PROBE = r"""
import importlib, json, pkgutil, sys
import cnncourse
mods = [m.name for m in pkgutil.walk_packages(cnncourse.__path__, "cnncourse.")]
for m in mods:
    importlib.import_module(m)
from cnncourse import data
from cnncourse.widgets._base import CourseWidget
x, y = data.load_mnist("test")
widgets = {cls.__name__: [len(cls._esm), len(cls._css)] for cls in CourseWidget.__subclasses__()}
from cnncourse.checks import architectures, backprop, conv, matmul, norm_dropout, receptive
cases = {  # each: (number of visible cases, what asking for hidden ones raised)
    "conv.conv2d_cases": lambda f: conv.conv2d_cases("basic", family=f, seed=1),
    "conv.conv_output_size_cases": lambda f: conv.conv_output_size_cases(family=f, seed=1),
    "matmul.conv_matrix_cases": lambda f: matmul.conv_matrix_cases(family=f, seed=1),
    "matmul.conv_transpose2d_cases": lambda f: matmul.conv_transpose2d_cases("groups", family=f, seed=1),
    "backprop.max_pool_cases": lambda f: backprop.max_pool_cases("ties", family=f, seed=1),
    "norm_dropout.dropout2d_cases": lambda f: norm_dropout.dropout2d_cases("masks", family=f, seed=1),
    "receptive.conv2d_flops_cases": lambda f: receptive.conv2d_flops_cases(family=f, seed=1),
    "architectures.architecture_cases": lambda f: architectures.architecture_cases("se", family=f, seed=1),
}
hidden = {}
for name, call in cases.items():
    try:
        call("hidden")
        raised = None
    except Exception as exc:
        raised = [type(exc).__name__, str(exc)]
    hidden[name] = [len(call("visible")), raised]
print(json.dumps({"file": cnncourse.__file__, "modules": mods, "mnist": str(data.mnist_dir()),
                  "cache": str(data.cache_dir()), "n": len(y), "mean": float(x.float().mean()),
                  "torch": sys.modules["torch"].__file__, "widgets": widgets, "hidden": hidden}))
"""


def solved_copy(released: Path, work: Path):
    """The released exercise ``released``, copied into ``work``, its stubs filled with the
    code of solutions/."""
    notebook = work / released.name
    shutil.copy(released, notebook)
    nb = nbformat.read(notebook, as_version=4)
    regions = _solution_regions(RUN_ASSIGNMENT)
    filled = 0
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type != "code" or not _STUB.search(cell.source):
            continue
        assert len(_STUB.findall(cell.source)) == len(regions[grade_id]) >= 1, grade_id
        for code in regions[grade_id]:
            cell.source = _STUB.sub(lambda m: code.rstrip(), cell.source, count=1)
            filled += 1
    assert filled == sum(len(r) for r in regions.values()) >= 1
    assert not any(_STUB.search(c.source) for c in nb.cells)
    return nb


@pytest.fixture(scope="module")
def executed(dist, fresh_venv, tmp_path_factory):
    """The released exercise, copied out of the repository, its stubs filled with the code
    of solutions/, run by a kernel of the fresh venv; and what the probe cell printed."""
    work = tmp_path_factory.mktemp("work")
    nb = solved_copy(dist / "exercises" / RUN_ASSIGNMENT / f"{RUN_ASSIGNMENT}.ipynb", work)
    nb.cells.append(nbformat.v4.new_code_cell(_PROBE))
    run_in_fresh_kernel(nb, work, fresh_venv, tmp_path_factory)
    return nb, json.loads(_stdout(nb.cells[-1]).strip().splitlines()[-1])


def run_in_fresh_kernel(nb, work: Path, fresh_venv: Path, tmp_path_factory) -> None:
    """Execute ``nb`` in ``work`` with a kernel of the fresh venv, as a student's Jupyter
    would; an error in any cell raises (nbclient's CellExecutionError)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    kernels = tmp_path_factory.mktemp("kernels")
    (kernels / "fresh").mkdir()
    (kernels / "fresh" / "kernel.json").write_text(json.dumps({
        "argv": [str(fresh_venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh venv", "language": "python"}))
    km = AsyncKernelManager(kernel_name="fresh", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    client = NotebookClient(nb, km=km, timeout=300, startup_timeout=120,
                            resources={"metadata": {"path": str(work)}})
    client.execute(env=_clean_env(MPLBACKEND="agg"), cwd=str(work))


def _stdout(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def test_a_solved_exercise_passes_its_visible_tests_in_the_fresh_venv(executed):
    nb, _ = executed
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) == 7
    for cell in graded:
        out = _stdout(cell)
        assert re.search(r": all \d+ visible cases passed\.", out), (cell.metadata["nbgrader"]["grade_id"], out)
        assert "failed" not in out


def test_the_russian_exercise_solved_passes_in_russian_in_the_fresh_venv(dist, fresh_venv, tmp_path_factory):
    """exercises/ru/: its setup cell sets the checks' language with the installed wheel's
    cnncourse.i18n (and its compiled catalog); every test cell passes and says so in Russian."""
    work = tmp_path_factory.mktemp("work_ru")
    nb = solved_copy(dist / "exercises" / "ru" / RUN_ASSIGNMENT / f"{RUN_ASSIGNMENT}.ipynb", work)
    run_in_fresh_kernel(nb, work, fresh_venv, tmp_path_factory)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) == 7
    for cell in graded:
        out = _stdout(cell)
        assert re.search(r"[А-Яа-яЁё]", out) and "visible" not in out, \
            (cell.metadata["nbgrader"]["grade_id"], out)


def test_the_kernel_used_the_installed_wheel_which_finds_mnist_and_its_widget_assets(executed, fresh_venv):
    _, info = executed
    assert Path(info["file"]).is_relative_to(fresh_venv), info["file"]  # not the editable install
    assert not Path(info["torch"]).is_relative_to(fresh_venv)  # from the project's venv, via .pth
    assert Path(info["mnist"]).is_relative_to(fresh_venv), info["mnist"]
    assert not Path(info["cache"]).is_relative_to(fresh_venv)  # site-packages is not written to
    assert info["n"] == 10000 and 0 < info["mean"] < 255
    assert not any(m.startswith(("cnncourse.sandbox", "cnncourse.autograde", "cnncourse.nbgrader_course",
                                 "cnncourse.checks.hidden")) for m in info["modules"])
    assert {"cnncourse.checks.conv", "cnncourse.widgets", "cnncourse.data"} <= set(info["modules"])
    # every widget got its ES module (with the _*.js helpers it imports, bundled) and the
    # stylesheet from the wheel
    n_js = len([p for p in (ROOT / "cnncourse" / "widgets").glob("*.js") if not p.name.startswith("_")])
    assert len(info["widgets"]) == n_js >= 1, info["widgets"]
    assert all(js > 0 and css > 0 for js, css in info["widgets"].values())


def test_the_installed_package_refuses_hidden_cases_clearly_and_keeps_the_visible_ones(executed):
    _, info = executed
    message = "the hidden cases are the grader's: they are not part of the students' package"
    assert len(info["hidden"]) == 8
    for name, (visible, raised) in info["hidden"].items():
        assert visible >= 1, name
        assert raised == ["LookupError", message], (name, raised)


def test_a_chapter_downloaded_from_its_page_runs_in_the_fresh_venv(dist, fresh_venv, tmp_path_factory):
    """The chapter's page says how to run it and links the how-to; the .ipynb its download
    button offers runs as it is, outside the repository, with only the wheel installed."""
    page = dist / "book" / f"{RUN_CHAPTER}.html"
    text = page.read_text()
    assert "Run this chapter." in text
    assert 'href="../intro.html#run-a-chapter"' in text
    links = sorted(set(re.findall(r'href="([^"]+\.ipynb)"', text)))
    assert len(links) == 1, links
    source = (page.parent / html.unescape(links[0])).resolve()
    assert source.is_file() and source.is_relative_to(dist.resolve() / "book"), source
    work = tmp_path_factory.mktemp("chapter")
    shutil.copy(source, work / source.name)
    nb = nbformat.read(work / source.name, as_version=4)
    run_in_fresh_kernel(nb, work, fresh_venv, tmp_path_factory)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors and sum(c.cell_type == "code" for c in nb.cells) >= 10
