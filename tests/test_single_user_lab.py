"""JupyterLab for one user, with no hub and no exchange (`make lab`, `make lab STUDENT=1`).

nbgrader's Assignments and Courses panels need an exchange (and, for courses, a hub): in a
single-user lab they only show "exchange directory does not exist" and "Error fetching
courses!". `make lab` puts jupyter_config/instructor first on JUPYTER_CONFIG_PATH, which
turns off those two lab extensions (labconfig/page_config.json, disabledExtensions) and
their server extensions (jupyter_server_config.json, jpserver_extensions); the instructor
keeps Formgrader, Create Assignment and Validate. `make lab STUDENT=1` uses
jupyter_config/student: no nbgrader at all, as in the students' distribution, whose wheel
does not bring nbgrader (last test).

Each case runs the command of the Makefile's `lab` recipe itself (`make -n lab`), with a
free port on 127.0.0.1, a token, a throwaway root folder and its own config, data, runtime,
settings and workspace folders, opens the lab in headless Chromium, clicks every entry of
the Nbgrader menu and opens a notebook. The server is stopped whatever happens.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent

ERRORS = ("Error fetching courses", "exchange directory does not exist")
#: nbgrader's endpoints that only work with an exchange or a hub (the Assignments and
#: Courses panels ask them; the answers are the two errors above).
EXCHANGE_ENDPOINTS = ("/assignments", "/courses", "/formgraders")
NBGRADER_LAB = "@jupyter/nbgrader"
#: Where nbgrader's server extensions answer (a student's lab asks none of them).
NBGRADER_SERVER = EXCHANGE_ENDPOINTS + ("/formgrader", "/nbgrader_version")
CONFIG_DATA = re.compile(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', re.S)


def lab_command(student: bool) -> str:
    """The command line of the Makefile's `lab` recipe, as make would run it."""
    args = ["make", "-n", "--no-print-directory", "lab"] + (["STUDENT=1"] if student else [])
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    line = out.strip().splitlines()[-1]
    assert "jupyter lab" in line, out
    return line


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@contextlib.contextmanager
def single_user_lab(tmp: Path, student: bool):
    """The `make lab` server on a free port; yields (base URL, token, root folder)."""
    root = tmp / "root"
    (root / "autograder").mkdir(parents=True)  # the formgrader's gradebook goes here
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "notebook.ipynb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "CNNCOURSE_"))}
    env.update({
        # never the user's own folders
        "JUPYTER_CONFIG_DIR": str(tmp / "config"), "JUPYTER_DATA_DIR": str(tmp / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "workspaces"), "IPYTHONDIR": str(tmp / "ipython"),
        # nbgrader_config.py (read from the repository root, where make runs) puts the
        # course, its gradebook included, here instead of in this checkout
        "CNNCOURSE_COURSE_ROOT": str(root),
    })
    port, token = free_port(), secrets.token_hex(16)
    command = (f"{lab_command(student)} --no-browser --ip=127.0.0.1 --port={port} "
               f"--IdentityProvider.token={token} --ServerApp.root_dir={root}")
    log = tmp / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"the server ended:\n{log.read_text()}"
            with contextlib.suppress(OSError):
                if get(f"{base}/api/status", token)[0] == 200:
                    break
            assert time.monotonic() < deadline, f"no server after 60 s:\n{log.read_text()}"
            time.sleep(0.2)
        yield base, token, root
    finally:
        with contextlib.suppress(OSError):
            urllib.request.urlopen(urllib.request.Request(
                f"{base}/api/shutdown", method="POST", headers={"Authorization": f"token {token}"}), timeout=5)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def wait_kernels_idle(base: str, token: str, timeout: float = 60):
    """Wait until the server has a kernel and all its kernels are idle."""
    deadline = time.monotonic() + timeout
    while True:
        status, body = get(f"{base}/api/kernels", token)
        # a busy server can answer an error (a JSON object, not the list) for a moment
        kernels = json.loads(body) if status == 200 else None
        if (isinstance(kernels, list) and kernels
                and all(k.get("execution_state") == "idle" for k in kernels)):
            return
        assert time.monotonic() < deadline, (status, body)
        time.sleep(0.2)


def page_config(base: str, token: str) -> dict:
    status, text = get(f"{base}/lab", token)
    assert status == 200, (status, text[:500])
    return json.loads(html.unescape(CONFIG_DATA.search(text).group(1)))


def nbgrader_menu(page) -> list[str]:
    """The labels of the Nbgrader menu's visible entries ([] when the menu bar has none)."""
    bar = page.locator("#jp-menu-panel .lm-MenuBar-itemLabel")
    bar.filter(has_text="Help").wait_for()
    if "Nbgrader" not in bar.all_inner_texts():
        return []
    bar.filter(has_text="Nbgrader").click()
    labels = page.locator(".lm-Menu .lm-Menu-itemLabel >> visible=true").all_inner_texts()
    page.keyboard.press("Escape")
    return [label.strip() for label in labels if label.strip()]


@pytest.mark.parametrize("student", [False, True], ids=["instructor", "student"])
def test_single_user_lab_shows_no_panel_that_needs_an_exchange(student, browser, tmp_path):
    with single_user_lab(tmp_path, student) as (base, token, root):
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url.split("?")[0]))
        try:
            page.goto(f"{base}/lab?token={token}")
            page.locator(".jp-Launcher").wait_for(timeout=30000)
            menu = nbgrader_menu(page)
            # Open whatever the menu offers: no panel may show an exchange's error.
            for label in menu:
                page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text="Nbgrader").click()
                page.locator(".lm-Menu .lm-Menu-itemLabel").get_by_text(label, exact=True).click()
                page.wait_for_timeout(1500)
                shown = [e for e in ERRORS if e in page.inner_text("body")]
                assert not shown, f"Nbgrader > {label} shows {shown}"
            assert not {"Assignment List", "Course List"} & set(menu), menu
            if student:
                assert menu == [], menu
            else:
                assert {"Formgrader", "Create assignment"} <= set(menu), menu
                # the Formgrader opened above, in its panel
                page.frame_locator("#formgrader iframe").get_by_text("Manage Assignments").first.wait_for()
            # Create Assignment: a tab of the right side bar
            tabs = page.locator("#jp-right-stack .lm-TabBar-tabLabel, .jp-SideBar.jp-mod-right .lm-TabBar-tabLabel")
            labels = [t.strip() for t in tabs.all_inner_texts()]
            assert ("Create Assignment" not in labels) if student else ("Create Assignment" in labels), labels

            # A notebook: Validate in its toolbar for the instructor, nothing of nbgrader for
            # a student.
            page.goto(f"{base}/lab/tree/notebook.ipynb?token={token}")
            toolbar = page.locator(".jp-NotebookPanel-toolbar")
            toolbar.get_by_text("Python 3").wait_for()  # the kernel's name, the toolbar's last item
            texts = toolbar.inner_text()
            assert ("Validate" not in texts) if student else ("Validate" in texts), texts
            wait_kernels_idle(base, token)  # a server stopped while a kernel starts takes 15 s more

            text = page.inner_text("body")
            assert not [e for e in ERRORS if e in text], text[:2000]
            asked = [u for u in requests if u.startswith(base) and u[len(base):] in EXCHANGE_ENDPOINTS]
            assert asked == [], asked
            if student:  # (its code is still downloaded: JupyterLab loads disabled extensions' bundles)
                asked = [u for u in requests if u.startswith(base) and u[len(base):].startswith(NBGRADER_SERVER)]
                assert asked == [], asked
        finally:
            page.close()

        # The page config lists the disabled extensions: the exchange panels always, all of
        # nbgrader's lab extension for a student.
        disabled = page_config(base, token)["disabledExtensions"]
        expected = [NBGRADER_LAB] if student else [f"{NBGRADER_LAB}:assignment-list", f"{NBGRADER_LAB}:course-list"]
        assert set(expected) <= set(disabled), disabled
        if not student:
            assert not any(name in disabled for name in
                           (NBGRADER_LAB, f"{NBGRADER_LAB}:formgrader", f"{NBGRADER_LAB}:create-assignment",
                            f"{NBGRADER_LAB}:validate-assignment", f"{NBGRADER_LAB}:menu")), disabled
        # The server extensions behind the panels are off too: their endpoints do not exist.
        for endpoint in EXCHANGE_ENDPOINTS:
            status, body = get(base + endpoint, token)
            assert status == 404, (endpoint, status, body[:300])
        formgrader_status = get(f"{base}/formgrader", token)[0]
        assert (formgrader_status == 404) if student else (formgrader_status in (200, 302)), formgrader_status


# --- the students' distribution ----------------------------------------------------------

def installed_closure(requirements: list[str]) -> tuple[dict[str, metadata.Distribution], set[str]]:
    """What ``pip install`` brings for ``requirements`` (extras and markers followed), found
    among the distributions installed here: (name -> distribution, names not installed)."""
    found: dict[str, metadata.Distribution] = {}
    missing: set[str] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        if name in missing:
            continue
        if name not in found:
            try:
                found[name] = metadata.distribution(req.name)
            except metadata.PackageNotFoundError:
                missing.add(name)
                continue
            todo += [(Requirement(r), "") for r in found[name].requires or []]
        for wanted in req.extras:
            todo += [(Requirement(r), wanted) for r in found[name].requires or []]
    return found, missing


def nbgrader_files(dists: dict[str, metadata.Distribution]) -> list[str]:
    """Files these distributions install whose path names nbgrader (its package, its lab
    extension under share/jupyter/labextensions, its server extensions' configuration)."""
    return [f"{name}: {f}" for name, dist in sorted(dists.items()) for f in dist.files or []
            if "nbgrader" in str(f).lower()]


def test_the_students_environment_brings_no_nbgrader_extension():
    """The wheel's dependencies (pyproject.toml's, the Requires-Dist of the cnncourse
    installed here, which tools/student_dist.py builds into the wheel too) and everything
    they bring install nothing of nbgrader: a JupyterLab started from the students'
    environment has no nbgrader panel, menu or endpoint."""
    requires = metadata.requires("cnncourse")
    closure, missing = installed_closure(requires)
    assert {"jupyterlab", "notebook", "torch"} <= set(closure), sorted(closure)
    # Only what the Makefile removes from this venv on purpose (SLOW_IMPORTS) is not here.
    slow = re.search(r"^SLOW_IMPORTS := (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    assert missing <= {canonicalize_name(n) for n in slow}, missing
    assert "nbgrader" not in closure
    assert nbgrader_files(closure) == []
    # The same search finds nbgrader's lab extension and server configuration once nbgrader
    # is required (the instructor's requirements.txt).
    found = nbgrader_files(installed_closure(requires + ["nbgrader"])[0])
    assert any("labextensions/@jupyter/nbgrader/package.json" in f for f in found), found
    assert any("jupyter_server_config.d/nbgrader.json" in f for f in found), found
