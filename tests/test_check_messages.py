"""A failed check shows its message first and whole: in the notebook (IPython) and in
nbgrader's Validate report (the Validate button and `nbgrader validate`), not after a
traceback through the course's own check code, and not cut at Validate's line width."""

from __future__ import annotations

import io
import re
import subprocess
from contextlib import redirect_stdout

import nbformat
from IPython.core.interactiveshell import InteractiveShell

from cnncourse.checks.core import MESSAGE_WIDTH, CheckFailure
from cnncourse.nbgrader_course import BIN, solved_notebook

A1 = "a1_conv_forward"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
WRONG_SIZE = ("(n + 2 * padding - dilation * (k - 1) - 1) // stride + 1",
              "(n + 2 * padding - dilation * (k - 1) - 1) // stride + 2")


def words(text: str) -> list[str]:
    return text.split()


def test_ipython_shows_the_message_first_whole_and_wrapped():
    shell = InteractiveShell.instance()
    out = io.StringIO()
    with redirect_stdout(out):
        shell.run_cell("import torch\nfrom cnncourse.checks.conv import check_conv2d\n"
                       "def conv2d_naive(x, weight, bias=None, stride=1, padding=0, dilation=1,"
                       " groups=1):\n    return torch.zeros(1)\n")
        result = shell.run_cell("check_conv2d(conv2d_naive, 'basic')")
    error = result.error_in_exec
    assert isinstance(error, CheckFailure)
    shown = ANSI.sub("", out.getvalue()).strip().splitlines()
    assert shown[0].startswith("CheckFailure: conv2d_naive, basic: ")
    assert "cnncourse/checks" not in out.getvalue() and "Traceback" not in out.getvalue()
    assert max(map(len, shown)) <= MESSAGE_WIDTH
    assert words("\n".join(shown)) == words(f"CheckFailure: {error}")  # nothing cut


def test_nbgrader_validate_reports_the_message_uncut(tmp_path):
    nb = solved_notebook(A1, edit=lambda gid, src: src.replace(*WRONG_SIZE)
                         if gid == "conv_output_size" else src)
    nbformat.write(nb, tmp_path / f"{A1}.ipynb")
    proc = subprocess.run([str(BIN / "nbgrader"), "validate", f"{A1}.ipynb"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    report = proc.stdout
    assert "VALIDATION FAILED ON 1 CELL(S)" in report, report[-3000:]
    error = report.split("The error was:", 1)[1].strip().splitlines()
    assert error[0].strip().startswith("CheckFailure: conv_output_size: 8 of 9 visible cases failed.")
    assert not any(line.endswith("...") for line in error), "Validate cut a line of the message"
    assert "returned 4, expected 3" in report and "hint: H_out = floor(" in report
    assert "cnncourse/checks" not in report
