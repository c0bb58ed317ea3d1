"""A kernel that dies before it answers is started once more, and the grader says why.

Nothing of the student's has run when a kernel fails to start, so a second start is fair;
a second failure stops the run with the kernel's own log in the error (a CI run once lost
a whole course to one such start, with nothing to say why)."""

from __future__ import annotations

import logging
import sys

import nbformat
import pytest

from cnncourse.sandbox import probe
from cnncourse.sandbox.execute import SandboxedExecute
from cnncourse.sandbox.manager import SandboxKernelManager

DIES = [sys.executable, "-c", "import sys; sys.stderr.write('no kernel today\\n'); sys.exit(3)"]


class FailingStarts(SandboxKernelManager):
    """Its first ``fail`` starts run a command that dies at once instead of the kernel."""

    fail = 1
    starts = 0

    async def _pre_start(self, **kw):
        cmd, kw = await super()._pre_start(**kw)
        FailingStarts.starts += 1
        return (DIES if FailingStarts.starts <= FailingStarts.fail else cmd), kw


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@pytest.fixture
def execute(caplog):
    assert probe() is None, probe()
    FailingStarts.starts = 0
    caplog.set_level(logging.WARNING)
    return SandboxedExecute(kernel_manager_class=FailingStarts, trusted_verdicts=False)


def test_a_kernel_that_dies_at_start_is_started_again(execute, tmp_path, caplog):
    FailingStarts.fail = 1
    nb, _ = execute.preprocess(_notebook(), {"metadata": {"path": str(tmp_path)}})
    assert FailingStarts.starts == 2
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    warned = [r.getMessage() for r in caplog.records if "did not start" in r.getMessage()]
    assert len(warned) == 1 and "no kernel today" in warned[0] and "attempt 1 of 2" in warned[0]


def test_a_second_failure_stops_the_run_with_the_kernels_log(execute, tmp_path):
    FailingStarts.fail = 2
    with pytest.raises(RuntimeError) as info:
        execute.preprocess(_notebook(), {"metadata": {"path": str(tmp_path)}})
    assert FailingStarts.starts == 2
    message = str(info.value)
    assert "did not start" in message and "attempt 2 of 2" in message
    assert "no kernel today" in message, message
