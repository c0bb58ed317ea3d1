"""Install requirements.txt and cnncourse (editable) into the virtual environment.

    .venv/bin/python tools/install_python_env.py [--without NAME ...]

With uv (https://docs.astral.sh/uv/, pinned below, installed into the venv by pip): it
fetches and unpacks the ~200 wheels in parallel and compiles their byte code on every core,
where pip does both one file at a time. The byte code is needed: the autograder's sandbox
mounts the venv read-only, so a module without it would be compiled anew in every kernel.

uv does not read pip's configuration, so the indexes, find-links, constraints and CA
certificate that pip is configured with (pip.conf files and PIP_* variables, as
``pip config list`` shows them) are passed on; all indexes are trusted alike, as pip does.
Where uv cannot be installed (an index without it), pip does the install as before.

``--without`` uninstalls packages afterwards (the Makefile's SLOW_IMPORTS).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV = "uv==0.13.9"
QUIET_PIP = ["--disable-pip-version-check", "-q"]


def pip_config(python: str) -> dict[str, list[str]]:
    """pip's effective settings: key -> values (``extra-index-url`` may hold several)."""
    proc = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True)
    return parse_pip_config(proc.stdout if proc.returncode == 0 else "")


def parse_pip_config(text: str) -> dict[str, list[str]]:
    """Parse ``pip config list`` (``global.find-links='/opt/wheels'``, ``:env:.cert='...'``).

    Later sources win for single values as in pip (the environment is listed first and wins
    over files, so it is kept when already set); list-valued keys are whitespace-split."""
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if not sep or "." not in key:
            continue
        section, name = key.rsplit(".", 1)
        if section not in ("global", "install", ":env:"):
            continue
        values = shlex.split(value)
        values = values[0].split() if len(values) == 1 else values
        if name not in settings or section == ":env:":
            settings[name] = values
    return settings


def uv_arguments(settings: dict[str, list[str]]) -> tuple[list[str], dict[str, str]]:
    """uv pip install options and environment for pip's settings."""
    args, env = ["--index-strategy", "unsafe-best-match"], {}
    for url in settings.get("index-url", [])[:1]:
        args += ["--default-index", url]
    for url in settings.get("extra-index-url", []):
        args += ["--index", url]
    for path in settings.get("find-links", []):
        args += ["--find-links", path]
    for path in settings.get("constraint", []):
        args += ["--constraint", path]
    for path in settings.get("cert", [])[:1]:
        env["SSL_CERT_FILE"] = path
    return args, env


def run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    return subprocess.run(cmd, env={**os.environ, **(env or {})}).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without", nargs="*", default=[], help="packages to uninstall afterwards")
    opts = parser.parse_args()
    python = sys.executable
    start = time.monotonic()
    targets = ["-r", str(ROOT / "requirements.txt"), "-e", str(ROOT)]
    have_uv = run([python, "-m", "pip", "install", *QUIET_PIP, UV]) == 0
    if have_uv:
        uv = str(Path(python).parent / "uv")
        args, env = uv_arguments(pip_config(python))
        code = run([uv, "pip", "install", "--quiet", "--python", python, "--compile-bytecode",
                    *args, *targets], env)
        if code == 0 and opts.without:
            code = run([uv, "pip", "uninstall", "--quiet", "--python", python, *opts.without], env)
    else:
        print("install_python_env: uv is not available; installing with pip", file=sys.stderr)
        code = run([python, "-m", "pip", "install", *QUIET_PIP, *targets])
        if code == 0 and opts.without:
            code = run([python, "-m", "pip", "uninstall", *QUIET_PIP, "-y", *opts.without])
    if code == 0:
        print(f"install_python_env: installed with {'uv' if have_uv else 'pip'} "
              f"in {time.monotonic() - start:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
