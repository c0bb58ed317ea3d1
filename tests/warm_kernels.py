"""Warm notebook kernels for nbval: every kernel is forked from a server that imported torch once.

Starting a Python kernel for a chapter costs 6-9 s of CPU on the test machine before the
notebook's first line runs, nearly all of it imports (``torch`` 3 s, ``torchvision`` another
3 s, with ``torch._dynamo``; matplotlib, scikit-image, SciPy). ``make test`` runs every chapter
and solution twice (native and portable CPU kernels), about 50 kernels: five minutes of CPU
on a 2-core machine. So each pytest worker starts, on its first notebook, one server
(:func:`serve`) that imports those modules with the worker's environment -- the same
``ATEN_CPU_CAPABILITY``, thread counts and hash seed a cold kernel would get -- and then
forks one kernel per notebook: the kernel command that jupyter_client starts is
:func:`client`, which hands its standard streams, working folder, environment and
arguments to the server and stays alive exactly as long as the kernel (signals forwarded,
exit status returned; if the client is killed, the kernel kills itself).

The forked kernel is the kernel ``python -m ipykernel_launcher`` would be: the same
interpreter, ``sys.path`` and environment, the notebook's folder as working folder, the
inline matplotlib backend that ipykernel selects; only the modules below are already in
``sys.modules``. Nothing is computed before the fork (no thread pools exist yet: PyTorch's
start at the first operation), and every chapter seeds its own generators. The notebook's
code, every cell of it, runs in the kernel as before, so nbval compares what it printed.

``CNNCOURSE_WARM_NOTEBOOK_KERNELS=0`` turns this off (cold kernels, as nbval starts them).
The root ``conftest.py`` installs it; the sandboxed grader has its own warm kernels
(:mod:`cnncourse.sandbox.zygote`), with a jail, which these do not need: they run the
course's own notebooks.
"""

from __future__ import annotations

import array
import ctypes
import importlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from cnncourse.sandbox import zygote

# The sandboxed grader's list (torch, matplotlib, IPython, what a kernel imports while it
# starts, cnncourse's checks), and what the chapters import besides.
PRELOAD = [*zygote.PRELOAD, "scipy.signal", "torchvision", "torchvision.models", "PIL.Image",
           "skimage.filters", "cnncourse.plotting", "cnncourse.runtime", "cnncourse.training",
           "cnncourse.widgets", "IPython.core.logger", "psutil"]
# Another list, comma-separated, for tests that need a cheap server.
PRELOAD_ENV = "CNNCOURSE_WARM_PRELOAD"
SOCKET_ENV = "CNNCOURSE_WARM_KERNEL_SOCKET"
SWITCH_ENV = "CNNCOURSE_WARM_NOTEBOOK_KERNELS"
HERE = os.path.dirname(os.path.abspath(__file__))
_MAX = 1 << 20


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1") != "0" and sys.platform.startswith("linux")


# --- the server: one per pytest worker ------------------------------------------------

def _die_with_parent():
    """SIGTERM this process when the process that started it (the pytest worker) ends."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _recv_request(conn: socket.socket):
    fds = array.array("i")
    msg, ancdata, _flags, _addr = conn.recvmsg(_MAX, socket.CMSG_LEN(3 * fds.itemsize))
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[:len(data) - (len(data) % fds.itemsize)])
    return json.loads(msg.decode()), list(fds)


def _run_kernel(conn: socket.socket, request: dict, fds: list[int]):
    """In the forked child: become the kernel that ``python -m ipykernel_launcher`` would be."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def watch_client():
        # The client lives as long as the kernel: when it is gone (killed), so is the kernel.
        try:
            while conn.recv(64):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch_client, daemon=True).start()
    sys.argv = ["ipykernel_launcher", *request["args"]]
    sys.path[:] = [p for p in sys.path if p != HERE]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


def serve(path: str):
    _die_with_parent()
    # What ipykernel sets before the notebook imports matplotlib (kernelapp.init_gui_pylab).
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    preload = os.environ.get(PRELOAD_ENV)
    for name in preload.split(",") if preload else PRELOAD:
        importlib.import_module(name)
    # The kernels' environment comes from their request; this one is not passed on.
    os.environ.pop("MPLBACKEND", None)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    listener.listen(16)
    os.rename(path + ".tmp", path)  # the socket appears once the modules are imported
    kernels: dict[int, socket.socket] = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        ready, _, _ = select.select([listener], [], [], 0.2)
        if ready:
            conn, _ = listener.accept()
            try:
                request, fds = _recv_request(conn)
            except (OSError, ValueError):
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:
                listener.close()
                for other in kernels.values():
                    other.close()
                try:
                    _run_kernel(conn, request, fds)
                except SystemExit as e:
                    os._exit(e.code if isinstance(e.code, int) else 1)
                except BaseException:  # noqa: BLE001 - the kernel failed to start
                    import traceback

                    traceback.print_exc()
                    os._exit(1)
                os._exit(0)
            for fd in fds:
                os.close(fd)
            conn.sendall(f"pid {pid}\n".encode())
            kernels[pid] = conn
        while kernels:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = kernels.pop(pid, None)
            if conn is not None:
                try:
                    conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
                except OSError:
                    pass
                conn.close()


# --- started from the pytest worker ---------------------------------------------------

# One server per environment: the chapters run natively and under the portable CPU kernels
# (conftest.py), and what a kernel imports must have been imported under its own variables.
_servers: dict[frozenset, tuple[subprocess.Popen, str]] = {}
_VOLATILE = {SOCKET_ENV, "PYTEST_CURRENT_TEST"}


def start_server() -> str:
    """Start (once) the server for the current environment, point ``SOCKET_ENV`` at its
    socket and return the path; the server may still be importing: clients wait for the
    socket to appear."""
    key = frozenset((k, v) for k, v in os.environ.items() if k not in _VOLATILE)
    if key not in _servers:
        path = os.path.join(tempfile.mkdtemp(prefix="warm-kernels-"), "kernels.sock")
        env = {k: v for k, v in os.environ.items() if k not in _VOLATILE}
        server = subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", path],
                                  stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        _servers[key] = (server, path)
    os.environ[SOCKET_ENV] = _servers[key][1]
    return _servers[key][1]


def stop_servers():
    while _servers:
        server, path = _servers.popitem()[1]
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        for leftover in (path, path + ".tmp"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        os.rmdir(os.path.dirname(path))
    os.environ.pop(SOCKET_ENV, None)


def kernel_argv() -> list[str]:
    return [sys.executable, os.path.abspath(__file__), "kernel", "-f", "{connection_file}"]


# --- the kernel command that jupyter_client starts -------------------------------------

def _cold(args: list[str]):
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *args])


def client(args: list[str]):
    path = os.environ.get(SOCKET_ENV, "")
    deadline = time.monotonic() + 120
    while path and not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not path or not os.path.exists(path):
        _cold(args)  # no server (turned off, or it failed): the kernel nbval would start
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
    request = json.dumps({"args": args, "cwd": os.getcwd(), "env": env}).encode()
    conn.sendmsg([request], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))])
    reader = conn.makefile("r")
    first = reader.readline().split()
    if len(first) != 2 or first[0] != "pid":
        sys.exit(1)
    pid = int(first[1])

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP, signal.SIGUSR1,
                   signal.SIGUSR2):
        signal.signal(signum, forward)
    line = reader.readline().split()
    sys.exit(int(line[1]) if len(line) == 2 and line[0] == "exit" else 1)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    elif sys.argv[1] == "kernel":
        client(sys.argv[2:])
