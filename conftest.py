"""pytest's configuration for the whole repository (tests/conftest.py has the tests' fixtures).

- ``--portable-notebooks``: every chapter and solution notebook is collected twice, as
  itself and as ``PATH[portable]``, whose kernel runs with :data:`PORTABLE_KERNELS` --
  another CPU's round-off on this machine (README, "Output policy"). ``make test`` runs
  both in one session, so that the two workers stay busy until the end.
- Notebook kernels are warm: forked from one server per pytest worker and environment
  that has imported torch and the other heavy modules once (tests/warm_kernels.py;
  ``CNNCOURSE_WARM_NOTEBOOK_KERNELS=0`` for the cold kernels nbval starts itself).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests"))

import warm_kernels  # noqa: E402

# Another CPU's round-off, on this one: PyTorch's portable (non-vectorised) kernels, oneDNN's
# AVX kernels (no FMA) instead of this CPU's AVX2 or AVX-512 ones, MKL's compatible code path.
# oneDNN is held at AVX, not SSE4.1: its SSE4.1 convolutions made the chapters' training
# cells 1.3-1.6 times slower (06_cnn cell 6: 110 s against 67 s), AVX costs about nothing.
PORTABLE_KERNELS = {"ATEN_CPU_CAPABILITY": "default", "DNNL_MAX_CPU_ISA": "AVX",
                    "MKL_CBWR": "COMPATIBLE"}
NOTEBOOK_FOLDERS = ("book", "solutions")


def pytest_addoption(parser):
    parser.addoption("--portable-notebooks", action="store_true",
                     help="also run every chapter and solution notebook (as PATH[portable]) "
                          "under PyTorch's, oneDNN's and MKL's portable CPU kernels")


def _nbval(config) -> bool:
    return bool(getattr(config.option, "nbval", False))


def pytest_collect_file(file_path, parent):
    config = parent.config
    if not (_nbval(config) and config.option.portable_notebooks and file_path.suffix == ".ipynb"):
        return None
    try:
        rel = file_path.relative_to(ROOT)
    except ValueError:
        return None
    if rel.parts[0] not in NOTEBOOK_FOLDERS:
        return None
    from nbval.plugin import IPyNbFile

    class PortableNotebook(IPyNbFile):
        """The notebook once more, its kernel started under :data:`PORTABLE_KERNELS`."""

        def setup(self):
            saved = {key: os.environ.get(key) for key in PORTABLE_KERNELS}
            os.environ.update(PORTABLE_KERNELS)
            try:
                super().setup()  # starts the kernel, which inherits this environment
            finally:
                for key, value in saved.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

    name = f"{file_path.name}[portable]"
    return PortableNotebook.from_parent(parent, path=file_path, name=name,
                                        nodeid=f"{rel.as_posix()}[portable]")


def pytest_configure(config):
    if not (_nbval(config) and getattr(config.option, "nbval_current_env", False)
            and warm_kernels.enabled()):
        return
    from nbval import kernel

    cold = kernel.NbvalKernelspecManager.get_kernel_spec

    def get_kernel_spec(self, kernel_name):
        spec = cold(self, kernel_name)
        if kernel_name == kernel.CURRENT_ENV_KERNEL_NAME:
            warm_kernels.start_server()
            spec.argv = warm_kernels.kernel_argv()
        return spec

    kernel.NbvalKernelspecManager.get_kernel_spec = get_kernel_spec


def pytest_unconfigure(config):
    warm_kernels.stop_servers()
