"""Start the course's JupyterHub (README, "The course on JupyterHub"), as root:

    .venv/bin/python hub/start.py --instructor teacher --students alice,bob

Creates the missing users (printing their passwords), the exchange and the instructor's
course folder, then runs JupyterHub on 127.0.0.1:8000 until Ctrl-C. The work is in
cnncourse.jupyterhub_course."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnncourse.jupyterhub_course import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
