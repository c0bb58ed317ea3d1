"""The grader's hidden cases: one module per checks module, building the hidden family.

The public checks (``cnncourse.checks.conv`` & co.) import these modules lazily through
:func:`cnncourse.checks.core.grader_module`, only when ``family == "hidden"``. The
students' wheel leaves this package out (tools/student_dist.py): the generators reveal
which argument combinations the autograder tries, which a student could special-case.
Asking for hidden cases there raises ``LookupError`` with a clear message.
"""
