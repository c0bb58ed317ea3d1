"""The course on JupyterHub: real local users, nbgrader's exchange, one configuration per role.

``python hub/start.py --instructor NAME --students NAME,NAME`` (as root) runs :func:`setup`
and then JupyterHub with ``hub/jupyterhub_config.py``; tests/test_jupyterhub_course.py uses
the same functions with throwaway users, and :func:`teardown` removes them again.

What :func:`setup` makes (README, "The course on JupyterHub"):

- two groups, ``cnn-course-instructors`` and ``cnn-course-students``, and the users (``useradd``,
  a private home of mode 0700, a password for the hub's PAM login);
- the state folder: ``course.json`` (users, ports, exchange), which the hub's configuration
  reads, and ``hub/`` (mode 0700: the hub's database, cookie secret and proxy pid file);
- nbgrader's exchange: the root ``<state>/exchange`` with the mode nbgrader requires (0777;
  here with the sticky bit, as /tmp, so no student can remove or replace what another user
  made), and the course's folder in it, ``cnn-course/`` with ``outbound`` (0755),
  ``inbound`` (2733) and ``feedback`` (0711), owned by the instructor from the start, so a
  student cannot claim the course's name in the exchange first;
- the instructor's course folder, ``~/cnn-course``: a copy of ``solutions/`` (nbgrader's
  source) and ``autograder/``, owned by the instructor; the repository's
  ``nbgrader_config.py`` applies to it (``CNNCOURSE_COURSE_ROOT``, set by the hub).

JupyterHub runs in a mount namespace of its own (:func:`hub_command`, :func:`namespace_script`),
shared by its proxy and the users' servers, terminals and kernels: there the repository's
sources, tests, own gradebook and history are empty root-only folders, and folders above the
venv's Python that other users cannot pass (e.g. /root) show just what the servers need.

Submissions: nbgrader's own submit leaves a submission world-readable (0644 files in a 0777
folder), hidden only by a random name in ``inbound`` (which students cannot list). The
students' configuration (hub/roles/student/nbgrader_config.py) submits with ``PrivateSubmit``
instead: the same submission, then readable by its student and by the group of ``inbound``
(set-group-ID, the instructor's group) only.

Only the standard library here: this module is no part of what students need, and imports
nothing the students' wheel does not declare.
"""

from __future__ import annotations

import argparse
import grp
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HUB_DIR = REPO_ROOT / "hub"
BIN = Path(sys.executable).parent
COURSE_ID = "cnn-course"
INSTRUCTORS = "cnn-course-instructors"
STUDENTS = "cnn-course-students"
COURSE_FOLDER = "cnn-course"


@dataclass
class HubCourse:
    """One course on one hub: who takes part, where its state lives, where it listens."""

    state: Path
    instructors: list[str]
    students: list[str]
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    exchange: Path | None = None
    course_folder: str = COURSE_FOLDER
    passwords: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.state = Path(self.state)
        self.exchange = Path(self.exchange) if self.exchange else self.state / "exchange"

    @property
    def private(self) -> Path:
        """The hub's own files, root's only."""
        return self.state / "hub"

    @property
    def users(self) -> list[str]:
        return [*self.instructors, *self.students]

    def course_root(self, instructor: str) -> Path:
        return Path(pwd.getpwnam(instructor).pw_dir) / self.course_folder

    def write(self):
        data = {k: v for k, v in asdict(self).items() if k != "passwords"}
        data.update(state=str(self.state), exchange=str(self.exchange))
        (self.state / "course.json").write_text(json.dumps(data, indent=1) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(*cmd: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _chown(path: Path, user: str, group: str | None = None):
    shutil.chown(path, user, group or pwd.getpwnam(user).pw_gid)


def closed_folders(paths: list[Path]) -> list[Path]:
    """The folders above ``paths`` that other users cannot pass (no o+x), outermost first."""
    closed: list[Path] = []
    for path in paths:
        for folder in reversed(Path(path).resolve().parents):
            if not os.stat(folder).st_mode & stat.S_IXOTH and folder not in closed:
                closed.append(folder)
    return sorted(closed, key=lambda f: len(f.parts))


def needed_paths() -> list[Path]:
    """What every user's server reads: the repository (the hub's configuration, the venv,
    ``cnncourse``) and the Python installation the venv was made from."""
    return [REPO_ROOT.resolve(), Path(sys.base_prefix).resolve()]


#: What of the repository no server on the hub sees: the instructor grades in ~/cnn-course,
#: so the sources with the solutions and hidden tests, the repository's own gradebook and
#: submissions, the plain-loop solutions of the tests and git's history stay out of reach of
#: every process the hub starts (README, "The course on JupyterHub", for what remains).
HIDDEN_IN_HUB = ("solutions", "autograder", "tests", ".git")


def namespace_script(course: HubCourse) -> str:
    """The shell script that prepares the hub's own mount namespace (shared by its proxy and
    every user's server) before it runs JupyterHub; outside it nothing changes.

    - Folders above :func:`needed_paths` that other users cannot pass (e.g. /root, when the
      venv was made from a Python under /root/.pyenv) are each covered by an empty tmpfs of
      mode 0755 in which only the needed entries are bound back;
    - the repository's :data:`HIDDEN_IN_HUB` folders are covered by empty tmpfs of mode 0700,
      root's."""
    needed = needed_paths()
    q = shlex.quote
    keep_root = course.private / "mounts"
    lines = ["set -e"]
    for i, folder in enumerate(closed_folders(needed)):
        children = sorted({p.relative_to(folder).parts[0] for p in needed if folder in p.parents})
        keeps = []
        for j, child in enumerate(children):
            keep = keep_root / f"{i}-{j}"
            keep.mkdir(parents=True, exist_ok=True)
            keeps.append((folder / child, keep))
            lines.append(f"mount --bind {q(str(folder / child))} {q(str(keep))}")
        lines.append(f"mount -t tmpfs -o mode=0755,size=64k cnn-course-hub {q(str(folder))}")
        for target, keep in keeps:
            lines.append(f"mkdir {q(str(target))} && mount --move {q(str(keep))} {q(str(target))}")
    for name in HIDDEN_IN_HUB:
        if (REPO_ROOT / name).is_dir():
            lines.append(f"mount -t tmpfs -o mode=0700,size=4k,ro cnn-course-hub "
                         f"{q(str(REPO_ROOT.resolve() / name))}")
    lines.append('exec "$@"')
    return "\n".join(lines)


def setup(course: HubCourse) -> HubCourse:
    """Create (or keep) the groups and users, the state folder, the exchange and the
    instructor's course folder; write ``course.json``. Users that exist keep their password;
    new ones get a random one, returned in ``course.passwords`` unless one was given there."""
    if os.geteuid() != 0:
        raise PermissionError("the hub's set-up creates users and spawns their servers: "
                              "run it as root")
    for path in (REPO_ROOT, REPO_ROOT / ".venv", REPO_ROOT / "hub"):
        if os.stat(path).st_mode & 0o005 != 0o005:
            raise PermissionError(f"{path} must be readable by every user (o+rx): the users' "
                                  "servers run the course's .venv and read hub/")
    for group in (INSTRUCTORS, STUDENTS):
        if not _group_exists(group):
            _run("groupadd", group)
    for role, names in ((INSTRUCTORS, course.instructors), (STUDENTS, course.students)):
        for name in names:
            if not user_exists(name):
                _run("useradd", "--create-home", "--shell", "/bin/bash", "--groups", role, name)
                course.passwords.setdefault(name, secrets.token_urlsafe(12))
            else:
                _run("usermod", "--append", "--groups", role, name)
            if name in course.passwords:
                _run("chpasswd", input=f"{name}:{course.passwords[name]}\n")
            os.chmod(pwd.getpwnam(name).pw_dir, 0o700)  # nobody reads another's home

    course.state.mkdir(parents=True, exist_ok=True)
    os.chmod(course.state, 0o755)
    course.private.mkdir(exist_ok=True)
    os.chmod(course.private, 0o700)  # the hub's database, cookie secret, proxy pid file
    # nbgrader's exchange: the root must be 0777 (ExchangeReleaseAssignment.ensure_root); the
    # sticky bit (which nbgrader's check ignores) keeps each user's entries their own.
    course.exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(course.exchange, 0o1777)
    owner = course.instructors[0]
    folders = {"": 0o755, "outbound": 0o755, "inbound": 0o2733, "feedback": 0o711}
    for sub, mode in folders.items():
        path = course.exchange / COURSE_ID / sub
        path.mkdir(exist_ok=True)
        _chown(path, owner)
        os.chmod(path, mode)  # nbgrader's modes (release_assignment, release_feedback)

    for instructor in course.instructors:
        root = course.course_root(instructor)
        if not (root / "solutions").is_dir():
            shutil.copytree(REPO_ROOT / "solutions", root / "solutions",
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        (root / "autograder").mkdir(exist_ok=True)
        _run("chown", "-R", f"{instructor}:{pwd.getpwnam(instructor).pw_gid}", str(root))
    course.write()
    return course


def hub_command(course: HubCourse) -> list[str]:
    """JupyterHub with the course's configuration, in a mount namespace of its own, which its
    proxy and the users' servers share (:func:`namespace_script`)."""
    hub = [str(BIN / "jupyterhub"), "-f", str(HUB_DIR / "jupyterhub_config.py")]
    return ["unshare", "--mount", "--propagation", "private", "--",
            "sh", "-c", namespace_script(course), "sh", *hub]


def hub_environment(course: HubCourse, service_token: str | None = None) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["CNNCOURSE_HUB_STATE"] = str(course.state)
    env.pop("CNNCOURSE_COURSE_ROOT", None)
    env.pop("CNNCOURSE_HUB_SERVICE_TOKEN", None)
    if service_token:
        env["CNNCOURSE_HUB_SERVICE_TOKEN"] = service_token
    return env


def wait_for_hub(url: str, proc: subprocess.Popen | None = None, timeout: float = 120) -> None:
    """Wait until the hub answers ``/hub/api`` through its proxy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"jupyterhub exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/hub/api", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the hub did not answer at {url} within {timeout} s")


def processes_of(users: list[str]) -> list[int]:
    """PIDs of every process running as one of ``users``."""
    uids = {pwd.getpwnam(u).pw_uid for u in users if user_exists(u)}
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid in uids:
                    pids.append(int(entry))
            except FileNotFoundError:
                pass
    return pids


def _kill(pids: list[int], sig=signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_hub(course: HubCourse, proc: subprocess.Popen, timeout: float = 20,
             kill_users: bool = False) -> None:
    """Stop the hub (which stops its proxy and the users' servers), then the proxy by its pid
    file if it is still there; with ``kill_users`` (throwaway users) every process of the
    course's users too, by its PID."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    pid_file = course.private / "jupyterhub-proxy.pid"
    if pid_file.exists():
        try:
            _kill([int(pid_file.read_text().strip())])
        except ValueError:
            pass
    deadline = time.monotonic() + 10
    while kill_users and (left := processes_of(course.users)) and time.monotonic() < deadline:
        _kill(left)
        time.sleep(0.1)


def teardown(course: HubCourse) -> None:
    """Remove what :func:`setup` made for a throwaway course: the users (with their homes and
    mail spools), the groups when empty, the state folder with the exchange."""
    _kill(processes_of(course.users))
    for name in course.users:
        if user_exists(name):
            subprocess.run(["userdel", "--remove", name], capture_output=True)
    for group in (INSTRUCTORS, STUDENTS):
        if _group_exists(group) and not grp.getgrnam(group).gr_mem:
            subprocess.run(["groupdel", group], capture_output=True)
    shutil.rmtree(course.state, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python hub/start.py",
        description="Set up the course's JupyterHub (users, exchange, the instructor's course "
                    "folder) and run it until interrupted. As root.")
    parser.add_argument("--instructor", required=True,
                        help="the instructor's user name (created if missing)")
    parser.add_argument("--students", required=True,
                        help="students' user names, comma-separated (created if missing)")
    parser.add_argument("--state", default="/srv/cnn-course-hub",
                        help="the hub's state folder, with the exchange (default: %(default)s)")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    course = HubCourse(state=Path(args.state), instructors=[args.instructor],
                       students=[s for s in args.students.split(",") if s],
                       ip=args.ip, port=args.port, hub_port=free_port(),
                       proxy_api_port=free_port())
    setup(course)
    for name, password in course.passwords.items():
        print(f"new user {name}: password {password}")
    print(f"JupyterHub of the course on http://{course.ip}:{course.port}/ (Ctrl-C stops it)",
          flush=True)
    proc = subprocess.Popen(hub_command(course), env=hub_environment(course), cwd=course.private)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        stop_hub(course, proc)
