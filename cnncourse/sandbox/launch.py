"""Kernel entry point inside the sandbox (or, unsafe, outside it).

``python -m cnncourse.sandbox.launch -f CONNECTION_FILE``, with the settings in the
environment variable ``CNNCOURSE_SANDBOX_CONFIG`` (JSON): sets the resource limits, copies
the submission into the writable work folder, imports the real ``torch`` and
``cnncourse`` before any student file can shadow them, then runs an IPython kernel.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys


def _copy_submission(src: str, dst: str) -> None:
    os.makedirs(dst, exist_ok=True)
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        target = os.path.normpath(os.path.join(dst, rel))
        os.makedirs(target, exist_ok=True)
        for name in files:
            try:  # best effort: a file too large for the limits is left out
                shutil.copy(os.path.join(root, name), os.path.join(target, name))
            except OSError as exc:
                print(f"sandbox: {name} not copied: {exc}", file=sys.stderr)


def prepare(cfg: dict) -> None:
    """Everything before the kernel starts, in the kernel's own process: resource limits,
    the submission copied into the work folder, the runtime imported before anything beside
    the notebook could shadow it, one thread, and the result recorder."""
    # The grader's pid means nothing in the jail's PID namespace; the jail ends the kernel
    # when the grader goes.
    os.environ.pop("JPY_PARENT_PID", None)
    try:  # if memory runs out, the student's processes go first (raising it needs no right)
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("500")
    except OSError:
        pass
    for name, (soft, hard) in cfg["rlimits"].items():
        try:
            resource.setrlimit(getattr(resource, name), (soft, hard))
        except (ValueError, OSError) as exc:  # a hard limit already lower: keep it
            print(f"sandbox: {name} not set: {exc}", file=sys.stderr)
    if cfg.get("submission") and cfg.get("workdir") and cfg["submission"] != cfg["workdir"]:
        _copy_submission(cfg["submission"], cfg["workdir"])
    os.chdir(cfg["workdir"])
    # Nothing beside the notebook may replace the runtime: import it now, from the runtime.
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and
                   os.path.abspath(p) != os.path.abspath(cfg["workdir"])]
    import numpy  # noqa: F401
    import torch
    import cnncourse.checks.core  # noqa: F401
    torch.set_num_threads(int(cfg.get("threads", 1)))
    if os.environ.get("CNNCOURSE_RECORD_DIR"):  # run_cases records results for the grader
        from cnncourse.sandbox.replay import install_recorder
        install_recorder(os.environ.pop("CNNCOURSE_RECORD_DIR"))


def run_kernel(argv: list[str]) -> None:
    """Run the IPython kernel (``argv``: ``-f CONNECTION_FILE`` and options)."""
    from ipykernel.kernelapp import IPKernelApp
    # IPython puts the working folder first on sys.path again: take it out, so that later
    # imports (torchvision by a check, ...) cannot pick up a file beside the notebook.
    unshadow = ("__import__('sys').path.__setitem__(slice(None), [p for p in "
                "__import__('sys').path if p not in ('', '.', __import__('os').getcwd())])")
    IPKernelApp.launch_instance(argv=list(argv) + [f"--IPKernelApp.exec_lines={[unshadow]!r}"])


def main() -> None:
    prepare(json.loads(os.environ.pop("CNNCOURSE_SANDBOX_CONFIG")))
    run_kernel(sys.argv[1:])


if __name__ == "__main__":
    main()
