"""The output policy (README, "Output policy"; tests/output_policy.py): what nbval does not
compare digit by digit is asserted by the cell itself, and the text never quotes it."""

from __future__ import annotations

import re

import pytest

from output_policy import ROOT, TAG, assertions, cells, notebooks, quoted_machine_numbers

NOTEBOOKS = notebooks()


def _id(path):
    return str(path.relative_to(ROOT))


def test_the_policy_sees_every_notebook_nbval_runs():
    names = {_id(p) for p in NOTEBOOKS}
    assert "book/part1/06_cnn.ipynb" in names and "solutions/a1_conv_forward/a1_conv_forward.ipynb" in names
    assert len(NOTEBOOKS) >= 25


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_cells_not_compared_exactly_assert_their_claim(path):
    missing = [c.name for c in cells(path) if c.inexact and not c.asserts]
    assert not missing, (f"these cells' outputs are not compared (tag {TAG!r}) but they assert "
                         f"nothing; add an assert of what the text says about them: {missing}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_the_text_quotes_no_number_only_one_machine_printed(path):
    quoted = [f"{number} (printed by {c.name})" for number, c in quoted_machine_numbers(path)]
    assert not quoted, ("the text quotes numbers from outputs that vary between machines; say "
                        "'about', or quote the asserted bound: " + "; ".join(quoted))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_id)
def test_no_cell_is_skipped(path):
    """A skipped cell would hide a broken one: every cell runs under nbval."""
    assert not [c.name for c in cells(path) if c.skipped]


def test_the_sanitizer_hides_only_memory_addresses():
    """One mechanism for hardware-dependent output (the tag): the sanitizer must not quietly
    make timings or device names compare equal."""
    cfg = (ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    sections = re.findall(r"^\[(.+)\]$", cfg, re.M)
    assert sections == ["memory addresses"]


@pytest.mark.parametrize("source, found", [
    ("print(err)", False),
    ("# assert err < 1e-12\nprint(err)", False),
    ("assert err < 1e-12, err\nprint(err)", True),
    ("%time x = 1\nassert x == 1", True),
    ("print(check_im2col_speed(f))", True),
    ("torch.testing.assert_close(a, b)", True),
])
def test_assertions_are_found_in_code_not_comments(source, found):
    assert bool(assertions(source)) is found


def _notebook(tmp_path, text, source, output, tagged=True):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    code = new_code_cell(source, metadata={"tags": [TAG]} if tagged else {},
                         outputs=[new_output("stream", name="stdout", text=output)])
    path = tmp_path / "chapter.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell(text), code]), path)
    return path


def test_a_quoted_machine_number_is_found(tmp_path):
    path = _notebook(tmp_path, "The network reaches 99.12 % after 35 s.",
                     "acc = train()\nprint(f'{acc:.2%} after {t:.0f} s')\nassert acc >= 0.99",
                     "99.12% after 35 s\n")
    assert sorted(n for n, _ in quoted_machine_numbers(path)) == ["35", "99.12"]


def test_an_asserted_bound_or_an_exact_output_may_be_quoted(tmp_path):
    path = _notebook(tmp_path, "The network reaches more than 0.99 (printed: about 0.9912).",
                     "print(f'{acc:.4f}')\nassert acc > 0.99", "0.9912\n")
    assert [n for n, _ in quoted_machine_numbers(path)] == ["0.9912"]
    path = _notebook(tmp_path, "The mean is 0.1307.", "print(0.1307)", "0.1307\n", tagged=False)
    assert quoted_machine_numbers(path) == []
