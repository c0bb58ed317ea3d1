"""Shared fixtures of the project's tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def venv_env() -> dict:
    """The environment for subprocesses: this interpreter's bin directory first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("CNNCOURSE_COURSE_ROOT", None)
    return env


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (playwright), for the tests that open the built book (one for all of
    them: each test opens its own pages)."""
    from book_browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture(scope="session")
def base_url():
    """The built book (`make book`, or $CNNCOURSE_BOOK_HTML) served on 127.0.0.1."""
    from book_browser import book_html, serve

    with serve(book_html()) as url:
        yield url
