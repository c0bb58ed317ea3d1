"""Parallel, resumable autograding: ``python -m cnncourse.autograde ASSIGNMENT --jobs N``.

Runs nbgrader's own autograde (the repository's ``nbgrader_config.py``: the sandbox and
its limits) for every submission in ``autograder/submitted/*/ASSIGNMENT``, with N worker
processes (default: the number of cores). Each worker loads nbgrader once and grades one
student at a time, as ``nbgrader autograde ASSIGNMENT --student S --force`` would; every
submission runs in its own sandboxed kernel, so the grades are those of a serial run.

Resumable: when a submission is graded, ``autograder/runs/ASSIGNMENT/STUDENT.json``
records a digest of the submitted folder and the outcome. A later run skips submissions
whose digest is unchanged (``--force`` regrades everything), so an interrupted run is
simply started again. A submission that nbgrader cannot grade (unreadable notebook,
database busy) is retried, then reported, each cause once on the terminal; it never stops
the others. A failure that is the course's (the assignment not in the gradebook) is graded
again by the next run.

Run it from the repository root with the environment active, like nbgrader::

    python -m cnncourse.autograde a1_conv_forward --jobs 2
    nbgrader generate_feedback a1_conv_forward
    nbgrader export

On a Dask cluster (:mod:`cnncourse.autograde_dask`), each submission a task, each worker
process a grader with its own sandbox, writing to the shared gradebook; the same markers::

    python -m cnncourse.autograde a1_conv_forward --jobs 4 --dask   # local, 4 processes
    python -m cnncourse.autograde a1_conv_forward --scheduler tcp://HOST:8786
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def course_root() -> Path:
    return Path(os.environ.get("CNNCOURSE_COURSE_ROOT") or REPO_ROOT)


def submission_digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(str(path.relative_to(folder)).encode() + b"\0")
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()


# -- why a submission was not graded ---------------------------------------------------------
_MISSING_ASSIGNMENT = "No assignment with ID"
_GENERIC_ERRORS = ("There was an error processing", "Please see the", "Traceback")
_EXCEPTION_LINE = re.compile(r"^\s*(?:[A-Za-z_][\w.]*\.)?\w+(?:Error|Exception): (.+)$", re.M)


def failure_cause(log: str, assignment: str) -> str:
    """The line of nbgrader's log that says why a submission was not graded: the first
    ``[ERROR]`` line that says more than "there was an error", else the last exception
    raised; with the remedy when the assignment is missing from the gradebook."""
    cause = ""
    for line in log.splitlines():
        if line.startswith("[ERROR]") and not line[7:].strip().startswith(_GENERIC_ERRORS):
            cause = line[7:].strip()
            break
    else:
        found = [m.group(1).strip() for m in _EXCEPTION_LINE.finditer(log)
                 if not m.group(1).startswith(_GENERIC_ERRORS[1])]
        cause = found[-1] if found else ""
    if cause.startswith(_MISSING_ASSIGNMENT):
        cause += f"; run `nbgrader generate_assignment {assignment}` first"
    return cause


def _course_problem(cause: str) -> bool:
    """The course's fault, not the submission's (assignment not in the gradebook, database
    busy): a later run grades the submission again even if it is unchanged."""
    return cause.startswith(_MISSING_ASSIGNMENT) or "database" in cause.lower()


# -- worker ---------------------------------------------------------------------------------
_API = None


def _init_worker(config_dir: str) -> None:
    """The multiprocessing pool's initializer."""
    # Terminated (an interrupted run): leave through SystemExit, so that multiprocessing's
    # finalizers stop this worker's warm-kernel server and remove its spool and cgroups.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    load_api(config_dir)


def load_api(config_dir: str) -> None:
    """Load nbgrader's API once in this grader process (a pool worker or a Dask worker),
    configured by ``config_dir``'s nbgrader_config.py, as ``nbgrader`` run there would be."""
    global _API
    os.chdir(config_dir)
    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=config_dir).load_config()
    coursedir = CourseDirectory(config=config)
    _API = NbGraderAPI(coursedir=coursedir, config=config)


def _grade(task: tuple[str, str, int]) -> dict:
    """Grade one submission in this process (its own sandboxed kernel); never raises for
    a broken submission: the record says why it was not graded."""
    assignment, student, retries = task
    result = {}
    start = time.monotonic()
    for attempt in range(retries + 1):
        result = _API.autograde(assignment, student, force=True, create=True)
        if result.get("success"):
            break
        text = (result.get("error") or "") + (result.get("log") or "")
        if "database" not in text.lower() or _MISSING_ASSIGNMENT in text:
            break  # the submission is broken, or the assignment not in the gradebook: no retry
        time.sleep(1 + attempt)
    success = bool(result.get("success"))
    log = (result.get("error") or "") + "\n" + (result.get("log") or "")
    return {"student": student, "success": success,
            "seconds": time.monotonic() - start,
            "grader": f"{socket.gethostname()}:{os.getpid()}",
            "cause": "" if success else failure_cause(log, assignment),
            "log": (result.get("error") or "")[-3000:] + (result.get("log") or "")[-3000:]}


# -- driver ---------------------------------------------------------------------------------
def _pool_results(tasks: list[tuple[str, str, int]], jobs: int, config_dir: str):
    """Grade ``tasks`` with a pool of ``jobs`` local processes; yields records as they end."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(config_dir,),
                  maxtasksperchild=50) as pool:
        yield from pool.imap_unordered(_grade, tasks)
        pool.close()  # workers end normally: their servers, spools and cgroups go with them
        pool.join()


def autograde(assignment: str, jobs: int | None = None, force: bool = False,
              students: list[str] | None = None, retries: int = 2,
              config_dir: Path | str = REPO_ROOT, echo=print, dask: bool = False,
              scheduler: str | None = None) -> dict[str, dict]:
    """Grade every (or the named) student's submission; returns student -> record.

    By default a multiprocessing pool of ``jobs`` processes grades them; ``dask=True``: a
    local Dask cluster of ``jobs`` worker processes; ``scheduler``: the workers of the Dask
    cluster at that address (cnncourse.autograde_dask). The markers, the resumption and
    the records are the same whichever grades."""
    from cnncourse.sandbox import require_sandbox

    require_sandbox()  # refuse early, with the reason, when the sandbox cannot run
    root = course_root()
    submitted = root / "autograder" / "submitted"
    runs = root / "autograder" / "runs" / assignment
    runs.mkdir(parents=True, exist_ok=True)
    found = sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())
    if students:
        found = [s for s in found if s in set(students)]
    records, todo, digests = {}, [], {}
    for student in found:
        digest = submission_digest(submitted / student / assignment)
        digests[student] = digest
        marker = runs / f"{student}.json"
        if not force and marker.exists():
            try:
                record = json.loads(marker.read_text())
            except ValueError:
                record = {}
            done = root / "autograder" / "autograded" / student / assignment
            cause = record.get("cause") or failure_cause(record.get("log", ""), assignment)
            settled = done.is_dir() if record.get("success") else not _course_problem(cause)
            if record.get("digest") == digest and settled:
                records[student] = {**record, "skipped": True}
                continue
        todo.append(student)
    jobs = max(1, min(jobs or os.cpu_count() or 1, max(1, len(todo))))
    if scheduler:
        how = f"the workers of the Dask cluster at {scheduler}"
    else:
        how = f"{jobs} worker(s)" + (" (a local Dask cluster)" if dask else "")
    echo(f"{assignment}: {len(found)} submissions, {len(records)} already graded, "
         f"{len(todo)} to grade with {how}")
    from cnncourse.sandbox import Limits, cgroup
    warning = cgroup.memory_limit_warning(Limits.from_env())
    if warning:
        echo(f"WARNING: {warning}")
    if todo:
        tasks = [(assignment, s, retries) for s in todo]
        if dask or scheduler:
            from cnncourse import autograde_dask
            results = autograde_dask.results(tasks, str(config_dir), jobs=jobs,
                                             scheduler=scheduler, echo=echo)
        else:
            results = _pool_results(tasks, jobs, str(config_dir))
        try:
            for i, rec in enumerate(results, 1):
                records[rec["student"]] = rec
                if rec.pop("lost", False):  # the grader failed, not the submission: no
                    status = f"NOT GRADED: {rec['cause']}"  # marker, the next run grades it
                else:
                    rec["digest"] = digests[rec["student"]]
                    (runs / f"{rec['student']}.json").write_text(json.dumps(rec, indent=1))
                    status = ("ok" if rec["success"] else
                              "NOT GRADED (see its log in autograder/runs/)")
                echo(f"[{i}/{len(todo)}] {rec['student']}: {status} in {rec['seconds']:.1f} s")
        finally:  # interrupted: the pool is terminated, the Dask cluster closed, right now
            results.close()
    return records


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse.autograde",
        description="Autograde all submissions of an assignment in parallel (sandboxed, resumable).")
    parser.add_argument("assignment")
    parser.add_argument("--jobs", "-j", type=int, default=None,
                        help="worker processes (default: number of cores)")
    parser.add_argument("--force", action="store_true", help="regrade everything")
    parser.add_argument("--student", action="append", help="only this student (repeatable)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--dask", action="store_true",
                       help="grade on a local Dask cluster of --jobs worker processes")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the workers of the Dask cluster whose scheduler is at "
                            "ADDRESS (tcp://HOST:PORT); they need the course root, the venv "
                            "and the gradebook at the same paths (README)")
    args = parser.parse_args(argv)
    if args.dask or args.scheduler:
        # Terminated: leave through SystemExit, so that the local cluster closes (its workers
        # stop their warm servers) and a real cluster's workers are told the run is over.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    from cnncourse.sandbox import SandboxUnavailable
    try:
        records = autograde(args.assignment, args.jobs, args.force, args.student,
                            dask=args.dask, scheduler=args.scheduler)
    except SandboxUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    failed = sorted(s for s, r in records.items() if not r.get("success"))
    if failed:  # each cause once, with the students it stopped
        causes: dict[str, list[str]] = {}
        for student in failed:
            record = records[student]
            cause = record.get("cause") or failure_cause(record.get("log", ""), args.assignment)
            causes.setdefault(cause or "see the logs in autograder/runs/", []).append(student)
        for cause, students in causes.items():
            print(f"not graded: {', '.join(students)}\n  cause: {cause}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
