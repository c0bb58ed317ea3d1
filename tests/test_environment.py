"""The environment `make setup` builds: consistent, and without imports that only cost time."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_pip_check_is_clean():
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_slow_optional_imports_are_not_installed():
    """The Makefile removes them after the install (see SLOW_IMPORTS there)."""
    names = re.search(r"^SLOW_IMPORTS := (.+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    for name in names.split():
        assert util.find_spec(name.replace("-", "_")) is None, f"{name} is installed"



def test_uv_gets_pips_indexes_constraints_and_certificate():
    """tools/install_python_env.py hands pip's configuration on to uv, which does not read it."""
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from install_python_env import parse_pip_config, uv_arguments
    finally:
        sys.path.remove(str(ROOT / "tools"))
    listed = "\n".join([
        ":env:.cert='/env/ca.crt'",
        ":env:.find-links='/opt/wheels'",
        "global.cert='/etc/ssl/certs/ca-certificates.crt'",
        "global.constraint='/etc/xdg/pip/constraints.txt'",
        "global.extra-index-url='file:///opt/pypi/simple file:///opt/pypi-more/simple'",
        "global.index-url='https://mirror.example/simple'",
        "user.timeout='5'",
    ])
    args, env = uv_arguments(parse_pip_config(listed))
    assert env == {"SSL_CERT_FILE": "/env/ca.crt"}  # the environment wins over pip.conf
    assert args == ["--index-strategy", "unsafe-best-match",
                    "--default-index", "https://mirror.example/simple",
                    "--index", "file:///opt/pypi/simple", "--index", "file:///opt/pypi-more/simple",
                    "--find-links", "/opt/wheels", "--constraint", "/etc/xdg/pip/constraints.txt"]
    assert uv_arguments(parse_pip_config("")) == (["--index-strategy", "unsafe-best-match"], {})
