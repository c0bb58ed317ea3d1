"""``--portable-notebooks`` and warm kernels (conftest.py, tests/warm_kernels.py).

A probe notebook in a scratch repository, run by pytest as ``make test`` runs the chapters:
it must run twice, once under this CPU's kernels and once under the portable ones (what
PyTorch itself reports, not just the variable), each time in the notebook's folder, in a
kernel forked from a server that had imported torch already (the test's servers import
only torch, to stay cheap).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent

PROBE = """\
# NBVAL_IGNORE_OUTPUT
import os, sys
warm = "torch" in sys.modules
import torch
name = f"{torch.backends.cpu.get_cpu_capability()}-{'warm' if warm else 'cold'}-{os.getcwd() == os.environ['PROBE_CWD']}"
open(os.path.join(os.environ["PROBE_OUT"], name), "w").close()
print(name)
"""


def run_probe(tmp_path, venv_env):
    repo = tmp_path / "repo"
    (repo / "book").mkdir(parents=True)
    out = tmp_path / "out"
    out.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, repo / "book" / "probe.ipynb")
    (repo / "conftest.py").write_text((ROOT / "conftest.py").read_text().replace(
        'ROOT = Path(__file__).resolve().parent\nsys.path.insert(0, str(ROOT / "tests"))',
        f'ROOT = Path(__file__).resolve().parent\nsys.path.insert(0, {str(ROOT / "tests")!r})'))
    env = dict(venv_env, PROBE_OUT=str(out), PROBE_CWD=str(repo / "book"),
               CNNCOURSE_WARM_NOTEBOOK_KERNELS="1", CNNCOURSE_WARM_PRELOAD="torch")
    for key in ("ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA", "MKL_CBWR", "PYTEST_ADDOPTS"):
        env.pop(key, None)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "/dev/null",
                          "--rootdir", str(repo), "--nbval", "--nbval-current-env",
                          "--portable-notebooks", "book"],
                         cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "2 passed" in run.stdout, run.stdout[-3000:]
    return sorted(p.name for p in out.iterdir())


def test_each_notebook_runs_natively_and_under_the_portable_kernels_in_warm_kernels(tmp_path, venv_env):
    found = run_probe(tmp_path, venv_env)
    assert len(found) == 2 and "DEFAULT-warm-True" in found, found
    native = next(name for name in found if name != "DEFAULT-warm-True")
    # this CPU's own kernels (AVX2, AVX512): else the portable run would prove nothing here
    assert native.endswith("-warm-True") and native.split("-")[0] != "DEFAULT", found
