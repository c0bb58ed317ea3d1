"""Regenerate exercises/ (nbgrader's release folder) from solutions/ (its source folder),
in English and in Russian (exercises/ru/).

    python tools/release.py [ASSIGNMENT ...]      # default: every assignment in solutions/
    python tools/release.py --language ru [ASSIGNMENT ...]   # only one language

This is `nbgrader generate_assignment --force` for each assignment, run from the course
root so that nbgrader_config.py applies: once as the English course (-> exercises/<a>/)
and once as the Russian one, CNNCOURSE_LANG=ru (-> exercises/ru/<a>/, the text from
locale/ru/LC_MESSAGES/solutions/<a>.po; each language has its own gradebook, autograder/
and autograder/ru/). tests/test_nbgrader_assignments.py and tests/test_assignments_ru.py
check that the committed exercises/ is exactly what this produces.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("en", "ru")


def assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "solutions").iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def release_dir(language: str) -> str:
    return "exercises" if language == "en" else f"exercises/{language}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--language", choices=LANGUAGES, action="append",
                        help="release only this language (repeatable; default: all)")
    parser.add_argument("assignment", nargs="*")
    args = parser.parse_args(argv)
    bin_dir = Path(sys.executable).parent
    nbgrader = bin_dir / "nbgrader"
    for language in args.language or LANGUAGES:
        # nbgrader runs `alembic` from PATH: put this environment's bin first.
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                   CNNCOURSE_LANG=language)
        if language != "en":  # the Russian course's own folder (its gradebook lives there)
            (ROOT / "autograder" / language).mkdir(parents=True, exist_ok=True)
        for name in args.assignment or assignments():
            subprocess.run([str(nbgrader), "generate_assignment", name, "--force",
                            "--log-level=WARN"], cwd=ROOT, env=env, check=True)
            print(f"released {name} -> {release_dir(language)}/{name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
