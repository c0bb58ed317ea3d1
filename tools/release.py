"""Regenerate exercises/ (nbgrader's release folder) from solutions/ (its source folder).

    python tools/release.py [ASSIGNMENT ...]      # default: every assignment in solutions/

This is `nbgrader generate_assignment --force` for each assignment, run from the course
root so that nbgrader_config.py applies. tests/test_release.py checks that the committed
exercises/ is exactly what this produces.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "solutions").iterdir()
                  if p.is_dir() and any(p.glob("*.ipynb")))


def main(argv: list[str]) -> int:
    bin_dir = Path(sys.executable).parent
    nbgrader = bin_dir / "nbgrader"
    # nbgrader runs `alembic` from PATH: put this environment's bin first.
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    for name in argv or assignments():
        subprocess.run([str(nbgrader), "generate_assignment", name, "--force",
                        "--log-level=WARN"], cwd=ROOT, env=env, check=True)
        print(f"released {name} -> exercises/{name}/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
