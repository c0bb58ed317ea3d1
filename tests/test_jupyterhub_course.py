"""The course on JupyterHub (hub/), for real: real users, the real hub, proxy, servers and tools.

The test makes three throwaway local users (an instructor and two students) with the hub's
set-up (cnncourse.jupyterhub_course.setup), starts JupyterHub with hub/jupyterhub_config.py
on a free port of 127.0.0.1 (its proxy and API on free ports too), and goes through the
whole cycle as those users:

1. each role sees its own tools only: the students' lab has the Assignments tab and no
   Formgrader, Create Assignment or Course List, the instructor's the opposite (the lab's
   page config, the server extensions answering or not, `jupyter labextension list` as the
   user in the server's own environment, and the Nbgrader menu and sidebars in headless
   Chromium);
2. the instructor generates and releases a1 (formgrader's REST API in the instructor's
   server); student A, logged in with her password in Chromium, fetches it in the
   Assignments tab; student B fetches through the same server extension's REST API; each
   writes a solution (the contents API: A the reference solution, B one that ignores the
   dilation); A validates hers (nbgrader's Validate runs it in her own kernel: every test
   cell passes); each submits (A with the tab's Submit button);
3. the instructor collects, autogrades each submission (in the course's sandbox, as the
   instructor: a user namespace; B's extra cell, which looks for the instructor's course
   folder, does not find it), generates and releases feedback; each student fetches the
   feedback (A in the tab) and the feedback page shows the score of the gradebook: A all
   points, B all but the parts the mistake fails, computed from the notebook's points;
4. isolation, as student A (runuser): B's submission in the exchange, B's home, the
   instructor's course folder (solutions, gradebook, collected submissions) and the hub's
   database cannot be read, nor the exchange's inbound listed -- while B and the instructor
   can read what is theirs; on the hub, the repository's solutions/ and tests/ cannot be read
   either; A's token opens neither B's nor the instructor's server.

The hub stops at the end (and on failure): its proxy, the servers, every process of the
three users; the users, their homes and groups and the state folder are removed.
Runs as root (it creates users), as `make test` does in CI.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from cnncourse.jupyterhub_course import (COURSE_ID, HubCourse, free_port, hub_command,
                                         hub_environment, setup, stop_hub, teardown,
                                         wait_for_hub)
from cnncourse.nbgrader_course import REPO_ROOT, solved_notebook
from test_instructor_fresh_clone import points
from test_nbgrader_assignments import MISTAKES

A1 = "a1_conv_forward"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="creates local users and spawns their servers: as root")

STUDENT_TOOLS = {"@jupyter/nbgrader:assignment-list"}
INSTRUCTOR_TOOLS = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                    "@jupyter/nbgrader:course-list"}


def request(method: str, url: str, token: str, body=None, timeout: float = 600):
    """(status, JSON or text) of one HTTP request with a hub or user API token."""
    req = urllib.request.Request(url, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"token {token}",
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, data = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, data = e.code, e.read().decode()
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data


class Hub:
    def __init__(self, course: HubCourse, url: str, token: str, proc: subprocess.Popen):
        self.course, self.url, self.token, self.proc = course, url, token, proc
        self.tokens: dict[str, str] = {}
        self.teacher = course.instructors[0]
        self.ann, self.ben = course.students

    def api(self, method: str, path: str, body=None):
        return request(method, f"{self.url}/hub/api{path}", self.token, body)

    def user(self, name: str, method: str, path: str, body=None, token: str | None = None):
        """A request to NAME's single-user server, through the proxy, with NAME's token."""
        return request(method, f"{self.url}/user/{name}{path}", token or self.tokens[name], body)

    def start_servers(self, timeout: float = 120):
        for name in self.course.users:
            status, _ = self.api("POST", f"/users/{name}/server")
            assert status in (201, 202), (name, status)
        deadline = time.monotonic() + timeout
        waiting = set(self.course.users)
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                server = self.api("GET", f"/users/{name}")[1]["servers"].get("", {})
                if server.get("ready"):
                    waiting.discard(name)
            time.sleep(0.3)
        assert not waiting, f"servers not ready after {timeout} s: {sorted(waiting)}"
        for name in self.course.users:
            status, data = self.api("POST", f"/users/{name}/tokens", {"note": "test"})
            assert status == 201, data
            self.tokens[name] = data["token"]

    def server_pid(self, name: str) -> int:
        return self.api("GET", f"/users/{name}")[1]["servers"][""]["state"]["pid"]

    def as_user(self, name: str, *cmd: str) -> subprocess.CompletedProcess:
        """CMD as NAME, in the environment of NAME's server and the hub's mount namespace."""
        environ = Path(f"/proc/{self.server_pid(name)}/environ").read_bytes().split(b"\0")
        env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        return subprocess.run([shutil.which("nsenter"), "-t", str(self.proc.pid), "-m", "--",
                               shutil.which("runuser"), "-u", name, "--", *cmd],
                              env=env, cwd="/", capture_output=True, text=True, timeout=120)

    def formgrader(self, action: str) -> dict:
        status, data = self.user(self.teacher, "POST", f"/formgrader/api/{action}")
        if not isinstance(data, dict):
            data = {"error": data}
        assert status == 200 and data.get("success"), \
            f"{action}: {status}\n{data.get('error') or data.get('log')}"
        return data


@pytest.fixture(scope="module")
def hub():
    tag = secrets.token_hex(2)
    state = Path(tempfile.mkdtemp(prefix="cnn-course-hub-"))
    course = HubCourse(state=state, instructors=[f"cnnt{tag}-teacher"],
                       students=[f"cnnt{tag}-ann", f"cnnt{tag}-ben"],
                       port=free_port(), hub_port=free_port(), proxy_api_port=free_port())
    course.passwords = {name: secrets.token_urlsafe(12) for name in course.users}
    proc = None
    started = time.perf_counter()
    try:
        setup(course)
        token = secrets.token_hex(24)
        with open(course.private / "hub.log", "w") as log:
            proc = subprocess.Popen(hub_command(course), env=hub_environment(course, token),
                                    cwd=course.private, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{course.port}"
        wait_for_hub(url, proc)
        print(f"\nhub up in {time.perf_counter() - started:.1f} s")
        yield Hub(course, url, token, proc)
    finally:
        if proc is not None:
            stop_hub(course, proc, kill_users=True)
            print("hub log (last lines):\n" + "\n".join(
                (course.private / "hub.log").read_text(errors="replace").splitlines()[-60:]))
        teardown(course)


@pytest.fixture(scope="module")
def servers(hub):
    started = time.perf_counter()
    hub.start_servers()
    print(f"\n3 servers ready in {time.perf_counter() - started:.1f} s")
    return hub


def page_config(hub: Hub, name: str) -> dict:
    status, html = hub.user(name, "GET", "/lab")
    assert status == 200
    match = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                      html, re.S)
    return json.loads(match.group(1))


def test_each_role_sees_its_own_tools(servers):
    hub = servers
    for name, own, foreign in ((hub.ann, STUDENT_TOOLS, INSTRUCTOR_TOOLS),
                               (hub.ben, STUDENT_TOOLS, INSTRUCTOR_TOOLS),
                               (hub.teacher, INSTRUCTOR_TOOLS, STUDENT_TOOLS)):
        disabled = set(page_config(hub, name)["disabledExtensions"])
        assert foreign <= disabled and not own & disabled, (name, disabled)
        if name == hub.ben:
            continue  # the same role as A
        # the lab's view, as the user in the server's environment
        labext = hub.as_user(name, str(BIN / "jupyter"), "labextension", "list")
        listing = labext.stdout + labext.stderr
        assert labext.returncode == 0 and "@jupyter/nbgrader v" in listing, listing
        listed = set(listing.partition("Disabled extensions:")[2].split())
        assert foreign <= listed and not own & listed, (name, listing)
    # the server extensions answer for their role only
    assert hub.user(hub.teacher, "GET", "/formgrader/api/status")[0] == 200
    assert hub.user(hub.ann, "GET", "/formgrader/api/status")[0] == 404
    assert hub.user(hub.ann, "GET", f"/assignments?course_id={COURSE_ID}")[0] == 200
    assert hub.user(hub.teacher, "GET", f"/assignments?course_id={COURSE_ID}")[0] == 404


def log_in(browser, hub: Hub, name: str):
    """A new browser context logged in to the hub as NAME with NAME's password, on its lab
    (after a try with a wrong password, which the hub refuses)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    for password in ("not-" + hub.course.passwords[name], hub.course.passwords[name]):
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", name)
        page.fill("#password_input", password)
        page.click("#login_submit")
        if password.startswith("not-"):
            page.get_by_text("Invalid username or password").wait_for(timeout=30_000)
    page.wait_for_url(f"**/user/{name}/lab**", timeout=60_000)
    page.wait_for_selector(".lm-MenuBar-itemLabel >> text=Nbgrader", timeout=60_000)
    return context, page


def nbgrader_menu(page) -> set[str]:
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    items = {t.strip() for t in page.locator(".lm-Menu-itemLabel").all_inner_texts() if t.strip()}
    page.keyboard.press("Escape")
    return items


def sidebar_titles(page) -> set[str]:
    return {e.get_attribute("title") or "" for e in page.locator(".lm-TabBar-tab").all()}


def test_the_whole_cycle(servers, browser):
    hub = servers
    timings = {}
    t0 = time.perf_counter()
    total = sum(points(A1).values())
    mistake, edit, lost_parts = MISTAKES[A1]
    expected = {hub.ann: total, hub.ben: total - sum(points(A1)[p] for p in lost_parts)}
    assert 0 < expected[hub.ben] < total

    # -- the tools each role sees in the browser -----------------------------------------
    teacher_ctx, teacher_page = log_in(browser, hub, hub.teacher)
    teacher_menu = nbgrader_menu(teacher_page)
    assert {"Formgrader", "Create assignment", "Course List"} <= teacher_menu, teacher_menu
    assert "Assignment List" not in teacher_menu
    assert "Nbgrader Create Assignment" in sidebar_titles(teacher_page)
    teacher_ctx.close()

    context, page = log_in(browser, hub, hub.ann)
    menu = nbgrader_menu(page)
    assert menu == {"Assignment List"}, menu
    assert not any("Create Assignment" in t for t in sidebar_titles(page))
    timings["log in, menus"] = time.perf_counter() - t0

    # -- the instructor generates and releases a1 ------------------------------------------
    hub.formgrader(f"assignment/{A1}/assign")
    hub.formgrader(f"assignment/{A1}/release")
    timings["release"] = time.perf_counter() - t0

    # -- A fetches a1 in the Assignments tab, B through the server extension -------------
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text="Assignment List").click()
    released = page.locator("#released_assignments_list .list_item", has_text=A1)
    released.get_by_role("button", name="Fetch").click()
    fetched = page.locator("#fetched_assignments_list .list_item", has_text=A1).first
    fetched.wait_for(timeout=60_000)
    status, listing = hub.user(hub.ben, "POST", "/assignments/fetch",
                               {"course_id": COURSE_ID, "assignment_id": A1})
    assert status == 200 and any(a["assignment_id"] == A1 and a["status"] == "fetched"
                                 for a in listing["value"]), listing
    for name in (hub.ann, hub.ben):
        home = Path(f"~{name}").expanduser()
        assert (home / A1 / f"{A1}.ipynb").is_file()
        assert (home / A1 / f"{A1}.ipynb").stat().st_uid == os.stat(home).st_uid

    # -- each writes a solution (as the user, through the contents API) ---------------------
    answers = {hub.ann: solved_notebook(A1), hub.ben: solved_notebook(A1, edit=edit)}
    # B also looks for the instructor's course folder, which the instructor's own processes
    # can read: from the sandbox it is not there
    course_root = hub.course.course_root(hub.teacher)
    solutions = str(course_root / "solutions")
    answers[hub.ben].cells.append(nbformat.v4.new_code_cell(
        f"import os\nprint('course folder seen:', os.path.exists({solutions!r}))"))
    for name, nb in answers.items():
        status, data = hub.user(name, "PUT", f"/api/contents/{A1}/{A1}.ipynb",
                                {"type": "notebook", "format": "json", "content": nb})
        assert status == 200, data

    # A validates hers first (nbgrader's Validate: her kernel, the course's venv and checks)
    status, result = hub.user(hub.ann, "POST", "/assignments/validate",
                              {"path": f"{A1}/{A1}.ipynb"})
    assert status == 200 and result["success"] and result["value"] == {}, result
    timings["validate"] = time.perf_counter() - t0

    # -- and submits: A with the tab's Submit button, B through the REST API -------------
    page.locator("#refresh_assignments_list").click()
    page.locator("#fetched_assignments_list .list_item", has_text=A1).first \
        .get_by_role("button", name="Submit").click()
    submitted = page.locator("#submitted_assignments_list .list_item", has_text=A1).first
    submitted.wait_for(timeout=60_000)
    status, listing = hub.user(hub.ben, "POST", "/assignments/submit",
                               {"course_id": COURSE_ID, "assignment_id": A1})
    assert status == 200 and "value" in listing, listing
    timings["fetch, write, submit"] = time.perf_counter() - t0

    # -- the instructor collects, autogrades in the sandbox, generates and releases feedback
    hub.formgrader(f"assignment/{A1}/collect")
    for name in (hub.ann, hub.ben):
        hub.formgrader(f"submission/{A1}/{name}/autograde")
    timings["collect, autograde 2"] = time.perf_counter() - t0
    hub.formgrader(f"assignment/{A1}/generate_feedback")
    hub.formgrader(f"assignment/{A1}/release_feedback")

    graded = nbformat.read(course_root / "autograder" / "autograded" / hub.ben / A1 / f"{A1}.ipynb",
                           as_version=4)
    assert graded.cells[-1].outputs[0]["text"] == "course folder seen: False\n", graded.cells[-1]
    assert subprocess.run(["runuser", "-u", hub.teacher, "--", "test", "-d",
                           str(course_root / "solutions")]).returncode == 0
    with Gradebook(f"sqlite:///{course_root / 'autograder' / 'gradebook.db'}",
                   course_id=COURSE_ID) as gb:
        gradebook = {name: (gb.find_submission(A1, name).score,
                            gb.find_submission(A1, name).max_score) for name in expected}
    assert gradebook == {name: (score, total) for name, score in expected.items()}, gradebook
    status, submissions = hub.user(hub.teacher, "GET", f"/formgrader/api/submissions/{A1}")
    assert {s["student"]: s["score"] for s in submissions if s["student"] in expected} == expected

    # -- each student fetches the feedback and sees the gradebook's score -------------------
    status, listing = hub.user(hub.ben, "POST", "/assignments/fetch_feedback",
                               {"course_id": COURSE_ID, "assignment_id": A1})
    assert status == 200, listing
    page.locator("#refresh_assignments_list").click()
    submitted.get_by_role("button", name="Fetch Feedback").click()
    # "(view feedback)" opens the feedback's folder in the file browser; the page opens in
    # JupyterLab's HTML viewer, as a student would open it
    view = page.locator("#submitted_assignments_list a", has_text="view feedback").first
    view.click(timeout=60_000)
    page_file = page.locator(".jp-DirListing-item", has_text=f"{A1}.html")
    page_file.dblclick(timeout=30_000)
    heading = page.frame_locator(".jp-HTMLViewer iframe").locator("h4", has_text="Score:").first
    shown = heading.inner_text(timeout=30_000)
    assert re.search(rf"\(Score: {expected[hub.ann]:.1f} / {total:.1f}\)", shown), shown
    context.close()
    for name in (hub.ann, hub.ben):
        home = Path(f"~{name}").expanduser()
        pages = list((home / A1 / "feedback").glob(f"*/{A1}.html"))
        assert len(pages) == 1, pages
        status, data = hub.user(name, "GET", "/api/contents/"
                                + urllib.parse.quote(str(pages[0].relative_to(home)))
                                + "?type=file&format=text")
        assert status == 200
        shown = re.search(r"\(Score: ([\d.]+) / ([\d.]+)\)</h4>", data["content"])
        assert (float(shown[1]), float(shown[2])) == gradebook[name], (name, shown[0])
    timings["feedback"] = time.perf_counter() - t0
    print("\n" + ", ".join(f"{k}: {v:.1f} s" for k, v in timings.items()))


def test_students_cannot_read_each_other_or_the_instructor(servers):
    """After the cycle: A (runuser, any tool) cannot read B's submission or the instructor's
    course; B and the instructor can (so the paths are right); A's token opens only A's server."""
    hub = servers
    inbound = hub.course.exchange / COURSE_ID / "inbound"
    ben_submissions = sorted(inbound.glob(f"{hub.ben}+{A1}+*"))
    assert ben_submissions, "the cycle left no submission of B in the exchange"
    ben_submission = ben_submissions[-1] / f"{A1}.ipynb"
    teacher_course = hub.course.course_root(hub.teacher)
    ben_home = Path(f"~{hub.ben}").expanduser()
    cache = ben_home / ".local" / "share" / "jupyter" / "nbgrader_cache" / COURSE_ID
    collected = teacher_course / "autograder" / "submitted" / hub.ben / A1 / f"{A1}.ipynb"
    private = {  # what: (path, who may read it)
        "B's submission in the exchange": (ben_submission, (hub.ben, hub.teacher)),
        "B's notebook": (ben_home / A1 / f"{A1}.ipynb", (hub.ben,)),
        "B's copy of the submission": (next(cache.glob(f"*/{A1}.ipynb")), (hub.ben,)),
        "the instructor's solutions": (teacher_course / "solutions" / A1 / f"{A1}.ipynb",
                                       (hub.teacher,)),
        "the instructor's gradebook": (teacher_course / "autograder" / "gradebook.db",
                                       (hub.teacher,)),
        "B's collected submission": (collected, (hub.teacher,)),
        "the hub's database": (hub.course.private / "jupyterhub.sqlite", ()),
    }
    for what, (path, owners) in private.items():
        assert path.is_file(), (what, path)
        denied = subprocess.run(["runuser", "-u", hub.ann, "--", "cat", str(path)],
                                capture_output=True, text=True)
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, (what, denied)
        for owner in owners:
            allowed = subprocess.run(["runuser", "-u", owner, "--", "cat", str(path)],
                                     capture_output=True)
            assert allowed.returncode == 0, (what, owner, allowed.stderr)
    listing = subprocess.run(["runuser", "-u", hub.ann, "--", "ls", str(inbound)],
                             capture_output=True, text=True)
    assert listing.returncode != 0 and "Permission denied" in listing.stderr
    # on the hub (its servers, terminals, kernels) the repository's sources are out of reach too
    for hidden in (REPO_ROOT / "solutions" / A1 / f"{A1}.ipynb",
                   REPO_ROOT / "tests" / "slow_solutions.py"):
        assert hidden.is_file()
        denied = hub.as_user(hub.ann, "cat", str(hidden))
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, (hidden, denied)
    # through the hub: A's token does not open B's or the instructor's server
    for other in (hub.ben, hub.teacher):
        status, _ = hub.user(other, "GET", "/api/contents", token=hub.tokens[hub.ann])
        assert status == 403, (other, status)
