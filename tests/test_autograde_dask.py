"""The parallel grader on a Dask cluster (``python -m cnncourse.autograde --dask`` and
``--scheduler``), writing to a PostgreSQL gradebook (tests/postgres_server.py).

100 submissions of a1_conv_forward -- 25 each of the reference, a wrong convolution, one
that raises and one with a syntax error (cnncourse.nbgrader_course.A1_SUBMISSION_MIX, as
tools/benchmark_autograde.py makes them) -- are graded on a local Dask cluster of two
separate worker processes. One worker is killed (SIGKILL) while it grades a submission,
after the first ten are done. Asserted: every one of the 100 is graded once, with the grade
that nbgrader's own serial run gives that notebook, the markers are written, the killed
worker's submission was graded again by another worker, and the killed worker left no
warm-server spool or cgroup behind. A second run grades nothing; after an interruption
(three results lost) a run on an existing cluster (``--scheduler``, a cluster this test
starts, one worker, which does not have the course's environment) grades just those three,
with the same grades, and the worker stops its warm server when the run ends. Workers
that cannot reach the course report each submission NOT GRADED and write no marker. A run
terminated (SIGTERM) while it grades leaves no process behind, and the next run grades the
rest.

Cost: a grade depends only on the notebook, so the serial run grades each *distinct*
submission once (4 notebooks, not 100); the 100 copies all go through Dask. The file took
175 s on a 2-core machine with little else running, 104 s of it the 100 submissions with
the killed worker (90 s in another run); -s prints that time and the throughput.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
from postgres_server import postgres  # noqa: F401 - the fixture

from cnncourse.autograde import submission_digest
from cnncourse.nbgrader_course import (A1_SUBMISSION_MIX as MIX, REPO_ROOT, Course, nbgrader_env,
                                       solved_notebook)
from sandbox_kernel import grader_traces, left_behind

A1 = "a1_conv_forward"
N = 100
KILL_AFTER = 10  # submissions graded before a worker is killed


def kind(student: str) -> str:
    return student.split("_", 1)[1]


def wrapper(course, *args: str, **popen) -> subprocess.Popen:
    env = nbgrader_env(course.root, db_url=course.db_url)
    env["PYTHONUNBUFFERED"] = "1"  # progress lines as they happen
    return subprocess.Popen([sys.executable, "-m", "cnncourse.autograde", A1, *args],
                            cwd=REPO_ROOT, env=env, text=True, **popen)


def run_wrapper(course, *args: str) -> subprocess.CompletedProcess:
    proc = wrapper(course, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    """kind -> grade, from ``nbgrader autograde`` (serial, SQLite) of one of each kind."""
    course = Course(tmp_path_factory.mktemp("serial"), [A1])
    course.release(A1)
    for name, edit in MIX:
        course.submit(f"s_{name}", A1, solved_notebook(A1, edit=edit))
    course.autograde(A1)
    return {kind(student): score for (student, _), score in course.export().items()}


def kill_a_grading_worker(scheduler: str) -> tuple[int, list[str]]:
    """SIGKILL a worker process of the cluster at ``scheduler`` while it runs a task; its
    pid and the students whose tasks it was running."""
    from distributed import Client

    with Client(scheduler, timeout=30) as client:
        pids = client.run(os.getpid)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            executing = client.run(lambda dask_worker: [str(ts.key) for ts in
                                                        dask_worker.state.executing])
            for address, keys in executing.items():
                if keys:
                    os.kill(pids[address], signal.SIGKILL)
                    return pids[address], [k[len("autograde-"):].rsplit("-", 1)[0] for k in keys]
            time.sleep(0.05)
    raise AssertionError("no worker was grading")


@pytest.fixture(scope="module")
def dask_run(postgres, tmp_path_factory):
    """100 submissions graded with --dask --jobs 2 against PostgreSQL, one worker killed."""
    course = Course(tmp_path_factory.mktemp("dask"), [A1], db_url=postgres.create_database("dask"))
    course.release(A1)
    notebooks = {name: solved_notebook(A1, edit=edit) for name, edit in MIX}
    for i in range(N):
        name = MIX[i % len(MIX)][0]
        course.submit(f"s{i:03d}_{name}", A1, notebooks[name])
    before = grader_traces()
    err = open(course.root / "wrapper.err", "w+")
    start = time.monotonic()
    proc = wrapper(course, "--jobs", "2", "--dask", stdout=subprocess.PIPE, stderr=err)
    watchdog = threading.Timer(1200, proc.kill)  # 412 s seen at load average 13
    watchdog.start()
    lines, killed, scheduler = [], None, None
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Dask: local cluster, scheduler "):
                scheduler = line.split("scheduler ")[1].split(",")[0]
            if killed is None and line.startswith(f"[{KILL_AFTER}/{N}]"):
                assert scheduler, "".join(lines)
                killed = kill_a_grading_worker(scheduler)
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    seconds = time.monotonic() - start
    err.seek(0)
    result = subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines), err.read())
    traces = left_behind(before)
    print(f"\n{N} submissions on a local Dask cluster of 2 worker processes, one killed: "
          f"{seconds:.0f} s, {N / (seconds / 60) / (os.cpu_count() or 1):.1f} submissions "
          f"per minute per core ({os.cpu_count()} cores)")
    return course, result, killed, traces, course.export()


def markers(course) -> dict[str, dict]:
    runs = course.root / "autograder" / "runs" / A1
    return {p.stem: json.loads(p.read_text()) for p in runs.glob("*.json")}


def test_the_serial_grades_tell_the_kinds_apart(serial):
    assert serial["good"] == 100.0
    assert all(score < 100.0 for name, score in serial.items() if name != "good"), serial
    assert len(serial) == len(MIX)


def test_every_submission_is_graded_once_with_the_serial_grade(dask_run, serial):
    course, result, _, _, scores = dask_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"{N} to grade with 2 worker(s) (a local Dask cluster)" in result.stdout
    done = [line.split()[1].rstrip(":") for line in result.stdout.splitlines()
            if line.startswith("[") and line.split()[2] == "ok"]
    assert len(done) == N and len(set(done)) == N
    assert len(scores) == N
    for (student, assignment), score in scores.items():
        assert score == serial[kind(student)], (student, score, serial)


def test_the_markers_are_written_with_the_digests(dask_run):
    course, *_ = dask_run
    found = markers(course)
    assert len(found) == N
    for student, record in found.items():
        assert record["success"], student
        assert record["digest"] == submission_digest(
            course.root / "autograder" / "submitted" / student / A1)
        assert (course.root / "autograder" / "autograded" / student / A1).is_dir()


def test_the_gradebook_is_postgresql(dask_run, postgres):
    course, *_ = dask_run
    assert postgres.psql("dask", "select count(*) from submitted_assignment").strip() == str(N)
    assert not (course.root / "autograder" / "gradebook.db").exists()


def test_a_killed_worker_loses_no_submission(dask_run, serial):
    course, result, killed, traces, scores = dask_run
    assert killed is not None, "no worker was killed"
    pid, students = killed
    graders = {int(r["grader"].rsplit(":", 1)[1]) for r in markers(course).values()}
    assert pid in graders  # it graded some before it died ...
    assert len(graders - {pid}) >= 2  # ... the other worker and the one started instead
    for student in students:  # ... and what it was grading was graded again elsewhere
        record = markers(course)[student]
        assert record["success"] and int(record["grader"].rsplit(":", 1)[1]) != pid
        assert scores[(student, A1)] == serial[kind(student)]
    assert traces == [], traces  # its spool folder and cgroups are gone too


def test_a_second_run_grades_nothing(dask_run):
    course, *_ = dask_run
    again = run_wrapper(course, "--jobs", "2", "--dask")
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{N} already graded, 0 to grade" in again.stdout
    assert "Dask:" not in again.stdout  # no cluster started for nothing


def test_an_interrupted_run_resumes_on_an_existing_cluster(dask_run, serial):
    from distributed import Client, LocalCluster

    course, _, _, _, scores = dask_run
    lost = ["s001_wrong", "s002_raises", "s003_syntax"]
    for student in lost:  # their results never came back
        (course.root / "autograder" / "runs" / A1 / f"{student}.json").unlink()
        shutil.rmtree(course.root / "autograder" / "autograded" / student)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        resumed = run_wrapper(course, "--scheduler", cluster.scheduler_address)

        def warm_servers():
            from cnncourse.sandbox.zygote import Zygote
            return len(Zygote._running)
        left = client.run(warm_servers)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{N - 3} already graded, 3 to grade" in resumed.stdout
    assert f"scheduler {cluster.scheduler_address}, 1 worker(s)" in resumed.stdout
    assert sorted(line.split()[1].rstrip(":") for line in resumed.stdout.splitlines()
                  if line.startswith("[") and line.split()[2] == "ok") == lost
    assert course.export() == scores
    assert set(left.values()) == {0}, left  # the run's end stopped the worker's server


def test_a_task_that_fails_gets_no_marker_and_is_graded_by_the_next_run(tmp_path, monkeypatch):
    """Workers that cannot reach the course (its nbgrader_config.py not at the driver's path,
    as on a machine without the shared folder): each submission is reported NOT GRADED with
    the reason and gets no marker, so the next run tries it again."""
    from distributed import Client, LocalCluster

    from cnncourse.autograde import autograde

    course = Course(tmp_path, [A1])
    course.submit("alice", A1, solved_notebook(A1))
    monkeypatch.setenv("CNNCOURSE_COURSE_ROOT", str(course.root))
    monkeypatch.delenv("CNNCOURSE_DB_URL", raising=False)
    said = []
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster):
        records = autograde(A1, scheduler=cluster.scheduler_address, echo=said.append,
                            config_dir=tmp_path / "not-shared")
        again = autograde(A1, scheduler=cluster.scheduler_address, echo=said.append,
                          config_dir=tmp_path / "not-shared")
    assert not records["alice"]["success"]
    cause = records["alice"]["cause"]
    assert "FileNotFoundError" in cause and "not-shared" in cause, cause
    assert any(line.startswith("[1/1] alice: NOT GRADED: the Dask task failed") for line in said)
    assert not (course.root / "autograder" / "runs" / A1 / "alice.json").exists()
    assert sum("0 already graded, 1 to grade" in line for line in said) == 2, said  # both runs
    assert not again["alice"].get("skipped") and not again["alice"]["success"]


def test_a_terminated_run_stops_its_cluster_and_the_next_resumes(tmp_path, serial):
    """SIGTERM to a --dask run while it grades: it exits with no process left (workers,
    nanny children, warm servers); the next run grades only what has no marker, with the
    serial grades, and afterwards nothing of either run is left in /var/tmp or the cgroups."""
    import psutil

    course = Course(tmp_path, [A1])
    course.release(A1)
    for i in range(6):
        name, edit = MIX[i % len(MIX)]
        course.submit(f"t{i}_{name}", A1, solved_notebook(A1, edit=edit))
    before = grader_traces()
    proc = wrapper(course, "--jobs", "2", "--dask", stdout=subprocess.PIPE,
                   stderr=subprocess.DEVNULL)
    children = []
    try:
        for line in proc.stdout:
            if line.startswith("[2/6]"):
                children = psutil.Process(proc.pid).children(recursive=True)
                proc.send_signal(signal.SIGTERM)
                break
        assert proc.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert children, "the run ended before it was terminated"
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert alive == [], alive
    done = len(markers(course))
    assert 2 <= done < 6
    resumed = run_wrapper(course, "--jobs", "2", "--dask")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{done} already graded, {6 - done} to grade" in resumed.stdout
    scores = course.export()
    assert len(scores) == 6
    for (student, _), score in scores.items():
        assert score == serial[kind(student)], (student, score)
    assert left_behind(before) == []
