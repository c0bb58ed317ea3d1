"""How fast is a2's reference conv2d_im2col compared with F.conv2d?

    python tools/benchmark_im2col.py [--rounds 5]

Takes ``conv2d_im2col`` from the solution notebook solutions/a2_conv_as_matmul/ (its code
cells up to that function are run, not the tests) and times it with the same measurement
as the graded speed test (:func:`cnncourse.checks.matmul.measure_speed`: the benchmark case
(8, 16, 32, 32)×(32, 16, 3, 3), float32, interleaved runs on one CPU thread,
median of 7). Prints the ratio of each round and the median ratio over the rounds. The
course asks the reference solution to be within 2.5× of F.conv2d (students: 10×, graded
at 25×). ``--device cuda`` times on a GPU instead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "a2_conv_as_matmul" / "a2_conv_as_matmul.ipynb"


def load_solution(name: str = "conv2d_im2col"):
    """The solution's function: run the notebook's set-up and solution cells until it exists."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace: dict = {}
    for cell in nb.cells:
        info = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not (info.get("solution") or info.get("grade_id") == "setup"):
            continue
        exec(compile(cell.source, f"<{NOTEBOOK.name}:{cell.metadata['nbgrader']['grade_id']}>",
                     "exec"), namespace)
        if name in namespace:
            return namespace[name]
    raise LookupError(f"{name} is not defined in {NOTEBOOK}")


def main(argv: list[str]) -> int:
    from cnncourse.checks.matmul import SPEED_CASE, measure_speed

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    fn = load_solution()
    ratios = []
    for r in range(args.rounds):
        t_student, t_ref = measure_speed(fn, seed=r, device=args.device)
        ratios.append(t_student / t_ref)
        print(f"round {r + 1}: conv2d_im2col {1000 * t_student:.2f} ms, F.conv2d "
              f"{1000 * t_ref:.2f} ms, ratio {ratios[-1]:.2f}x", flush=True)
    x_shape, w_shape, padding = SPEED_CASE
    print(f"median ratio over {args.rounds} rounds on {x_shape} x {w_shape} (padding {padding}), "
          f"{args.device}: {statistics.median(ratios):.2f}x (reference target: 2.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
