"""nbgrader configuration of a student's server on the course's JupyterHub (README, "The
course on JupyterHub").

The hub's spawner puts this folder first on the student's JUPYTER_CONFIG_PATH, so the
Assignments tab (nbgrader's assignment list) and `nbgrader fetch_assignment / submit /
fetch_feedback` in the student's terminal find the course and its exchange; the student
has no course folder, no gradebook and no formgrader.
"""

import os
import shutil

from nbgrader.exchange.default.submit import ExchangeSubmit

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "cnn-course"
c.Exchange.root = os.environ.get("CNNCOURSE_EXCHANGE_ROOT", "/srv/nbgrader/exchange")


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, then the submission readable only by its student (owner) and the
    group of ``inbound`` (files 0640, folders 0770: the instructor reads and removes it).

    ``inbound`` is set-group-ID, so what is created in it belongs to the instructor's group;
    but nbgrader's copy gives the submission's folder the mode of the student's folder
    (``copystat``), which drops that bit before nbgrader writes ``timestamp.txt`` into it, and a
    student cannot give a file to a group she is not in. So the submission is copied once
    more, contents only, into a new folder of ``inbound`` (every file created there gets the
    group), which then replaces nbgrader's."""

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        # not matched by collect's "<student>+<assignment>+*" while it exists
        fresh = os.path.join(self.inbound_path, ".private-" + self.assignment_filename)
        shutil.copytree(dest, fresh, copy_function=shutil.copyfile)
        shutil.rmtree(dest)
        os.rename(fresh, dest)
        for folder, _, files in os.walk(dest):
            os.chmod(folder, 0o770)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o640)


# A submission is readable by its student and by the course's instructors only (nbgrader's
# own copy leaves it world-readable, hidden only by a random file name).
c.ExchangeFactory.submit = PrivateSubmit
