"""nbgrader configuration of the instructor's server on the course's JupyterHub (README,
"The course on JupyterHub").

The course's own configuration (the repository's nbgrader_config.py: solutions/ as source,
exercises/ as release, autograder/, grading in the sandbox) applied to the instructor's
course folder, $CNNCOURSE_COURSE_ROOT (~/cnn-course, made by the hub's set-up), plus the
exchange through which the formgrader releases assignments and feedback and collects
submissions.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

# hub/roles/instructor/ -> the repository's nbgrader_config.py (load_subconfig would skip a
# missing file silently: a wrong path must stop nbgrader instead)
_course_config = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                              "nbgrader_config.py")
if not os.path.isfile(_course_config):
    raise FileNotFoundError(_course_config)
load_subconfig(os.path.abspath(_course_config))  # noqa: F821 - provided by traitlets
c.Exchange.root = os.environ.get("CNNCOURSE_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
