"""tools/prerequisites.sh, which `make book` and `make test` run first: as root it installs
the missing system packages with apt-get; as another user it stops at once with one message
naming them. Run here with a PATH from which Chromium and bubblewrap are missing, and a
stand-in apt-get that records what it was asked to install."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "prerequisites.sh"


@pytest.fixture
def bare_path():
    """A bin folder with only the shell's basics, python3, node and npm: no chromium, no bwrap,
    no PostgreSQL (in a folder every user can reach: the non-root case runs as nobody)."""
    import tempfile

    top = Path(tempfile.mkdtemp(prefix="cnncs-prereq-"))
    top.chmod(0o755)
    bin_dir = top / "bin"
    bin_dir.mkdir(mode=0o755)
    for tool in ("bash", "sh", "id", "cat", "env"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    for tool in ("python3", "node", "npm"):  # stand-ins: present, and a new enough Python
        (bin_dir / tool).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / tool).chmod(0o755)
    yield bin_dir
    shutil.rmtree(top, ignore_errors=True)


def fake_apt(bin_dir: Path, log: Path) -> None:
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$@" >> {log}\nexit 0\n')
    (bin_dir / "apt-get").chmod(0o755)


def run(target, bin_dir, user=None):
    # no PostgreSQL either: its programs are looked for in POSTGRESQL_LIB, an empty folder
    env = {"PATH": str(bin_dir), "PYTHON": "python3", "POSTGRESQL_LIB": str(bin_dir.parent)}
    cmd = ["bash", str(SCRIPT), target]
    if user is not None:  # another user: setpriv drops root for this one command
        cmd = [shutil.which("setpriv"), f"--reuid={user}", f"--regid={user}", "--clear-groups",
               *cmd]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


def test_nothing_missing_nothing_done(bare_path, tmp_path):
    log = tmp_path / "apt.log"
    fake_apt(bare_path, log)
    proc = run("book", bare_path)  # the book needs no browser and no sandbox
    assert proc.returncode == 0, proc.stderr
    assert not log.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="installing needs root; the non-root case is tested below")
def test_as_root_the_missing_packages_are_installed(bare_path, tmp_path):
    log = tmp_path / "apt.log"
    fake_apt(bare_path, log)
    proc = run("test", bare_path)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert calls[0].startswith("update")
    assert calls[1].split()[-3:] == ["chromium", "bubblewrap", "postgresql"], calls


def test_another_user_gets_one_message_and_nothing_runs(bare_path):
    log = bare_path.parent / "apt.log"
    fake_apt(bare_path, log)
    user = None if os.geteuid() != 0 else 65534  # nobody
    proc = run("test", bare_path, user=user)
    assert proc.returncode == 1
    assert not log.exists()
    lines = proc.stderr.strip().splitlines()
    assert lines == ["prerequisites: missing system packages: chromium bubblewrap postgresql",
                     "install them with:  sudo apt-get install -y chromium bubblewrap postgresql"], lines


def test_an_old_python_is_named(bare_path):
    (bare_path / "python3").unlink()
    (bare_path / "python3").write_text("#!/bin/sh\n[ \"$1\" = --version ] && echo Python 3.8.10\nexit 1\n")
    (bare_path / "python3").chmod(0o755)
    proc = run("book", bare_path)
    assert proc.returncode == 1
    assert "Python 3.8.10" in proc.stderr and ">= 3.10" in proc.stderr
