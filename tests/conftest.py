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


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (playwright), for the tests that open the built book (one per test
    file: playwright's sync API keeps an event loop running in the thread while it is open,
    and the sandbox's tests call asyncio.run, which refuses to run inside one)."""
    from book_browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture(scope="session")
def base_url():
    """The built book (`make book`, or $CNNCOURSE_BOOK_HTML) served on 127.0.0.1."""
    from book_browser import book_html, serve

    with serve(book_html()) as url:
        yield url
