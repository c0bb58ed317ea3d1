"""Grading on a Dask cluster: ``python -m cnncourse.autograde ASSIGNMENT --dask`` or
``--scheduler tcp://HOST:PORT`` (:mod:`cnncourse.autograde` is the driver: it finds what to
grade, writes the markers and reports; this module only runs the submissions).

Every submission is one Dask task, :func:`_grade_task`. It runs in a worker process exactly
what a worker of the multiprocessing pool runs (:func:`cnncourse.autograde._grade`:
nbgrader's autograde, the submission in its own sandboxed kernel) and writes to the
gradebook the course is configured with -- with several machines, a server all reach
(``CNNCOURSE_DB_URL``, PostgreSQL).

- :class:`GraderPlugin`, a ``WorkerPlugin`` registered for the run, carries the driver's
  course: the folder of ``nbgrader_config.py`` and the driver's ``CNNCOURSE_*`` environment
  (course root, gradebook URL, sandbox limits), which replaces the worker's own, so that a
  worker grades the course the driver sees. It loads nbgrader's API on the worker's first
  task (in the task's thread, not in the worker's event loop) and grades one submission at
  a time per worker process, whatever its number of threads: the warm-kernel server and
  nbgrader's API are per process. Its teardown -- when the run ends (the driver unregisters
  it), or the worker closes -- stops the worker's warm-kernel server with its spool and
  cgroups.
- A worker that dies while grading (killed, out of memory, machine lost): the scheduler
  runs its tasks again on the other workers (and on the one the nanny starts instead), up
  to ``distributed.scheduler.allowed-failures`` times. What the dead worker leaves is no
  obstacle: its warm server dies with it (bwrap ``--die-with-parent``); its spool folder and
  cgroups, named after its pid, are removed by the next grader process that starts a server
  on that machine; its sandbox slots are ``flock``s, free when it dies; and nbgrader grades
  the submission again from the start (``force``), over the half-written result.
- A task that fails for good (its workers died too often, or it raised): the submission is
  reported NOT GRADED with the reason and gets no marker, so the next run grades it again.

A real cluster's workers need what the driver has, at the same paths: the repository (its
``nbgrader_config.py``) and the course root on a shared file system, the same virtual
environment, ``bwrap``, and a gradebook server they all reach; start them with one thread
each (``dask worker ADDRESS --nworkers N --nthreads 1``). README, "A class on a Dask
cluster".
"""

from __future__ import annotations

import os
import threading
import traceback
import uuid
from contextlib import contextmanager

import dask
from distributed import Client, LocalCluster, WorkerPlugin, as_completed, get_worker

from cnncourse import autograde as _driver

PLUGIN = "cnncourse-grader"


class GraderPlugin(WorkerPlugin):
    """Makes a Dask worker process a grader of one course (see the module's docstring)."""

    name = PLUGIN
    idempotent = False  # a new run replaces the previous run's (another course, new limits)

    def __init__(self, config_dir: str, env: dict[str, str]):
        self.config_dir = config_dir
        self.env = env

    def setup(self, worker) -> None:
        self._lock = threading.Lock()
        self._loaded = False
        for key in [k for k in os.environ if k.startswith("CNNCOURSE_") and k not in self.env]:
            del os.environ[key]
        os.environ.update(self.env)

    def grade(self, task: tuple[str, str, int]) -> dict:
        with self._lock:  # one submission at a time in this process
            if not self._loaded:
                _driver.load_api(self.config_dir)
                self._loaded = True
            return _driver._grade(task)

    def teardown(self, worker) -> None:
        from cnncourse.sandbox.zygote import Zygote
        Zygote._close_all()  # the warm-kernel server, its kernels, spool and cgroups


def _grade_task(task: tuple[str, str, int]) -> dict:
    """One submission, graded on the Dask worker this runs on."""
    return get_worker().plugins[PLUGIN].grade(task)


def course_env() -> dict[str, str]:
    """What the workers take from the driver: its CNNCOURSE_* variables."""
    return {k: v for k, v in os.environ.items() if k.startswith("CNNCOURSE_")}


@contextmanager
def _client(jobs: int, scheduler: str | None, echo):
    if scheduler:
        if not os.environ.get("CNNCOURSE_DB_URL"):
            echo("WARNING: the gradebook is the SQLite file in the course root (CNNCOURSE_DB_URL "
                 "is not set): workers on other machines reach it only over a shared file "
                 "system, where SQLite's locking is not reliable; use a PostgreSQL server "
                 "(README, \"Gradebook in PostgreSQL\")")
        with Client(scheduler) as client:
            n = len(client.scheduler_info(n_workers=-1)["workers"])
            echo(f"Dask: scheduler {scheduler}, {n} worker(s) now")
            yield client
        return
    # separate worker processes (each a grader with its own sandbox), one thread each; the
    # nanny restarts a worker that dies. No dashboard, so no use for the workers' sampling
    # profiler (a stack trace of the grading thread every 10 ms).
    with dask.config.set({"distributed.worker.profile.enabled": False}), \
            LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                         host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        echo(f"Dask: local cluster, scheduler {cluster.scheduler_address}, "
             f"{jobs} worker process(es)")
        yield client


def results(tasks: list[tuple[str, str, int]], config_dir: str, jobs: int,
            scheduler: str | None = None, echo=print):
    """Grade ``tasks`` on a local Dask cluster of ``jobs`` worker processes, or on the
    cluster at ``scheduler``; yields the records (:func:`cnncourse.autograde._grade`'s) as
    the tasks end, and for a task that failed for good one with ``lost`` set."""
    with _client(jobs, scheduler, echo) as client:
        client.register_plugin(GraderPlugin(config_dir, course_env()), name=PLUGIN)
        try:
            token = uuid.uuid4().hex[:8]
            futures = {client.submit(_grade_task, task, key=f"autograde-{task[1]}-{token}",
                                     pure=False): task for task in tasks}
            for future in as_completed(futures):
                task = futures[future]
                try:
                    record = future.result()
                except Exception as exc:  # noqa: BLE001 - KilledWorker, cancelled, raised
                    record = {"student": task[1], "success": False, "seconds": 0.0,
                              "cause": f"the Dask task failed ({type(exc).__name__}: {exc}); "
                                       f"the next run grades it again",
                              "log": "".join(traceback.format_exception(exc))[-6000:],
                              "lost": True}
                future.release()
                yield record
        finally:
            try:  # the workers stop their warm servers now (a real cluster's stay up)
                client.unregister_worker_plugin(PLUGIN)
            except Exception:  # noqa: BLE001 - a cluster going down takes them anyway
                pass
