"""nbgrader configuration of a student's server on the course's JupyterHub (README, "The
course on JupyterHub").

The hub's spawner puts this folder first on the student's JUPYTER_CONFIG_PATH, so the
Assignments tab (nbgrader's assignment list) and `nbgrader fetch_assignment / submit /
fetch_feedback` in the student's terminal find the course and its exchange; the student
has no course folder, no gradebook and no formgrader.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "cnn-course"
c.Exchange.root = os.environ.get("CNNCOURSE_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
# A submission is readable by its student and by the course's instructors only (nbgrader's
# own copy leaves it world-readable, hidden only by a random file name).
c.ExchangeFactory.submit = "cnncourse.jupyterhub_course.PrivateSubmit"
