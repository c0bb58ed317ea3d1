"""Grading checks, written once and called by both visible and hidden tests.

A check takes the student's function, a *family* of cases (``"visible"`` or ``"hidden"``)
and a seed. The visible tests in a notebook and the hidden tests that the autograder adds
call the same check with different families and seeds, so hard-coding the visible cases
cannot pass. A failing check raises :class:`CheckFailure` whose message names the case,
its arguments and shapes, the largest error and where it is, and a hint.

The hidden family's cases are built by :mod:`cnncourse.checks.hidden` (one module per checks
module), imported only when hidden cases are asked for. The students' wheel leaves that
package out, so there the hidden family raises ``LookupError`` and only the visible one runs.
"""

from cnncourse.checks.core import Case, CheckFailure, CheckReport, forbid_calls

__all__ = ["Case", "CheckFailure", "CheckReport", "forbid_calls"]
