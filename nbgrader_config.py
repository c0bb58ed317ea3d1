"""nbgrader configuration of the course. Instructors run nbgrader from this directory
(nbgrader reads nbgrader_config.py from the folder it starts in), with no extra flags:

    nbgrader generate_assignment a1_conv_forward   # solutions/ -> exercises/, and the gradebook
    nbgrader autograde a1_conv_forward             # autograder/submitted/<student>/...
    nbgrader generate_feedback a1_conv_forward     # -> autograder/feedback/
    nbgrader export                                # -> autograder/grades.csv

The course root is this directory, or $CNNCOURSE_COURSE_ROOT when set (the tests grade in
a throwaway copy that way). Everything nbgrader generates lives under autograder/ (a
tracked folder whose .gitignore keeps the gradebook, submissions, feedback and grades out
of git).

The course's language is $CNNCOURSE_LANG: English when unset, Russian with
CNNCOURSE_LANG=ru (cnncourse.i18n.language_from_env). A Russian course releases the same
solutions/ with its text in Russian (cnncourse.notebook_translation, from the catalogs
locale/ru/LC_MESSAGES/solutions/<assignment>.po) into exercises/ru/, and keeps its own
gradebook, submissions, feedback and grades under autograder/ru/: an English and a Russian
course never share a gradebook, whose cells differ in their text.

    CNNCOURSE_LANG=ru nbgrader generate_assignment a1_conv_forward   # -> exercises/ru/
    CNNCOURSE_LANG=ru nbgrader autograde a1_conv_forward             # autograder/ru/submitted/...
"""

import os
import sys

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

root = os.environ.get("CNNCOURSE_COURSE_ROOT") or os.path.dirname(os.path.abspath(__file__))
_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:  # the cnncourse package of this checkout
    sys.path.insert(0, _here)

from cnncourse.i18n import language_from_env  # noqa: E402
from cnncourse.notebook_translation import CODE_STUBS, TEXT_STUBS, TranslateNotebook  # noqa: E402

language = language_from_env(os.environ.get("CNNCOURSE_LANG"))
# English: exercises/ and autograder/; another language: exercises/<lang>/ and autograder/<lang>/
release = "exercises" if language == "en" else f"exercises/{language}"
work = "autograder" if language == "en" else f"autograder/{language}"

c.CourseDirectory.root = root
c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = release
c.CourseDirectory.submitted_directory = f"{work}/submitted"
c.CourseDirectory.autograded_directory = f"{work}/autograded"
c.CourseDirectory.feedback_directory = f"{work}/feedback"
# The gradebook: SQLite in autograder/ (autograder/ru/ for a Russian course) by default;
# $CNNCOURSE_DB_URL, any SQLAlchemy URL, to keep it elsewhere, e.g. PostgreSQL (several
# graders writing at once; README, "Gradebook in PostgreSQL"; give a Russian course a
# database of its own): postgresql+psycopg://USER@/DATABASE?host=/run/postgresql
c.CourseDirectory.db_url = (os.environ.get("CNNCOURSE_DB_URL")
                            or "sqlite:///" + os.path.join(root, work, "gradebook.db"))
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.egg-info"]

# exercises/ is committed, so without force `generate_assignment` would say "Skipping
# existing assignment" and never enter the assignment into the gradebook (every autograde
# then fails with "No assignment with ID ... exists in the database"). With force it
# rewrites exercises/<assignment>/ from solutions/ (byte for byte the committed release
# while solutions/ is unchanged; tests/test_nbgrader_assignments.py and
# tests/test_instructor_fresh_clone.py check it) and updates
# the assignment's cells in the gradebook (sources, points). That is safe while submissions
# exist: nbgrader keeps every submission and grade, and when graded cells or notebooks were
# added or removed it refuses with an error, leaves the gradebook as it was and removes
# exercises/<assignment>/ (`git checkout exercises/` restores it). `make exercises` and
# tools/release.py always passed --force: the same.
c.GenerateAssignment.force = True
# Without force nbgrader rewrites existing feedback only when the autograded folder's
# timestamp.txt (the submission's, if any) is newer than the feedback's; a regrade does not
# change it, so the feedback would keep the old score while the gradebook has the new one.
# Feedback is derived from the gradebook and autograded/: always rewrite it.
c.GenerateFeedback.force = True

# What students see where a solution was removed.
c.ClearSolutions.code_stub = {"python": CODE_STUBS[language]}
c.ClearSolutions.text_stub = TEXT_STUBS[language]

if language != "en":
    # The notebook's text in the course's language, before nbgrader locks the cells,
    # computes their checksums and saves them to the gradebook (so autograde restores, and
    # feedback shows, the translated cells); nbgrader's own preprocessors follow as they are.
    from nbgrader.converters import GenerateAssignment as _GenerateAssignment  # noqa: E402

    c.GenerateAssignment.preprocessors = [
        TranslateNotebook,
        *_GenerateAssignment.class_traits()["preprocessors"].default()]
    c.TranslateNotebook.language = language
    c.TranslateNotebook.locale_dir = os.path.join(_here, "locale")

# Grading runs every notebook top to bottom; a cell may take at most this long.
c.Execute.timeout = 300
c.Execute.kernel_name = "python3"

# Student code runs in a sandbox (cnncourse/sandbox: bubblewrap, a separate uid, no
# network, resource limits); see README, "For instructors". Without the sandbox, grading
# refuses to start unless CNNCOURSE_UNSAFE_GRADING=1. Limits (defaults in
# cnncourse.sandbox.Limits) can be changed here, e.g. c.SandboxedExecute.cell_seconds = 60,
# or per run with CNNCOURSE_LIMIT_CELL_SECONDS=60 and the like.
c.Autograde.autograde_preprocessors = [
    "cnncourse.sandbox.execute.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
# Feedback shows the case messages of failing hidden tests, never their source.
c.GenerateFeedback.preprocessors = [
    "cnncourse.sandbox.feedback.HideHiddenTests",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# The feedback page typesets its math offline: cnncourse/sandbox/templates/feedback/mathjax.html.j2
# is found before nbconvert's macro (which loads MathJax from a CDN) and writes MathJax 3
# into the page (cnncourse.sandbox.feedback.offline_mathjax). Also for the formgrader's
# "Generate feedback" button, which always uses the template "feedback".
import nbgrader as _nbgrader  # noqa: E402 - only for the path of its templates

c.HTMLExporter.extra_template_basedirs = [
    os.path.join(_here, "cnncourse", "sandbox", "templates"),
    os.path.join(os.path.dirname(_nbgrader.__file__), "server_extensions", "formgrader", "templates"),
]
c.HTMLExporter.filters = {"offline_mathjax": "cnncourse.sandbox.feedback.offline_mathjax"}
# A course in another language: the page's own words (score lines, cell kinds, comments; literal
# English in nbgrader's template) come from the course's catalog.
if language != "en":
    from cnncourse.sandbox.feedback import feedback_template_dir  # noqa: E402

    c.HTMLExporter.extra_template_basedirs.insert(0, feedback_template_dir(language))

c.CsvExportPlugin.to = os.path.join(root, work, "grades.csv")
