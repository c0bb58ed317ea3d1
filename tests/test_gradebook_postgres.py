"""The gradebook in PostgreSQL: a real server, started here on a Unix socket in a
throwaway folder (no TCP port), and the instructor's commands -- generate_assignment,
autograde in the sandbox, generate_feedback, export -- with ``CNNCOURSE_DB_URL`` pointing
at it. The grades are those the SQLite gradebook gives (tests/test_nbgrader_assignments.py):
the reference keeps 100, a plausible mistake loses exactly its parts; no SQLite file is
made, and the rows are in PostgreSQL."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from cnncourse.nbgrader_course import Course, solved_notebook
from test_nbgrader_assignments import MISTAKES

A1 = "a1_conv_forward"


def postgres_bin() -> Path:
    """The server's programs (Debian keeps them out of PATH), newest version first."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    on_path = shutil.which("initdb")
    assert found or on_path, ("PostgreSQL's server is not installed: "
                              "`apt-get install -y postgresql` (tools/prerequisites.sh test does it)")
    return Path(found[0] if found else on_path).parent


@pytest.fixture(scope="module")
def server():
    """(db_url, run) for a fresh cluster; as root it runs as the postgres system user, which
    PostgreSQL requires (it refuses to run as root)."""
    bindir = postgres_bin()
    home = Path(tempfile.mkdtemp(prefix="cnncourse-pg-"))
    data, sock = home / "data", home / "socket"
    sock.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        home.chmod(0o755)
        for path in (home, sock):
            os.chown(path, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(prefix + list(args), cwd=home, capture_output=True, text=True,
                              timeout=120, check=True)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "course", "--auth=trust", "-E", "UTF8")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(home / "server.log"), "-o",
        f"-c listen_addresses='' -k {sock}", "start")
    try:
        run(str(bindir / "createdb"), "-h", str(sock), "-U", "course", "gradebook")
        yield f"postgresql+psycopg://course@/gradebook?host={sock}", run
    finally:
        subprocess.run(prefix + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                 "stop"], capture_output=True, timeout=120)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def course(server, tmp_path_factory):
    db_url, _ = server
    course = Course(tmp_path_factory.mktemp("postgres"), [A1], db_url=db_url)
    course.release(A1)
    student, edit, _ = MISTAKES[A1]
    course.submit("good", A1, solved_notebook(A1))
    course.submit(student, A1, solved_notebook(A1, edit=edit))
    course.autograde(A1)
    course.generate_feedback(A1)
    course.scores = course.export()
    return course


def test_autograde_and_export_against_postgresql(course):
    student, _, lost = MISTAKES[A1]
    assert course.scores[("good", A1)] == 100.0
    with Gradebook(course.db_url) as gb:
        assert sorted(s.id for s in gb.students) == sorted(["good", student])
        nb = gb.find_submission_notebook(A1, A1, student)
        cells = {g.name: (g.score, g.max_score) for g in nb.grades}
    assert {k for k, (s, m) in cells.items() if s < m} == lost
    assert course.scores[(student, A1)] == 100 - sum(cells[k][1] for k in lost)
    assert (course.root / "autograder" / "feedback" / student / A1).is_dir()


def test_no_sqlite_gradebook_is_made(course):
    assert not (course.root / "autograder" / "gradebook.db").exists()


def test_the_rows_are_in_postgresql(server, course):
    _, run = server
    out = run(str(postgres_bin() / "psql"), "-h", course.db_url.split("host=")[1], "-U", "course",
              "-d", "gradebook", "-At", "-c", "select count(*) from submitted_assignment").stdout
    assert out.strip() == "2"
