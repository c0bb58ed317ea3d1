#!/usr/bin/env bash
# The system packages that `make book` and `make test` need, installed when missing.
#
#   tools/prerequisites.sh book   # Python 3.10+ with venv, Node.js and npm
#   tools/prerequisites.sh test   # the same, plus Chromium (browser tests) and bubblewrap
#                                 # (the autograder's sandbox)
#
# As root (a fresh VM, a container, CI) the missing Debian/Ubuntu packages are installed
# with apt-get. As another user nothing is installed: the script stops at once with one
# message naming what is missing and the command that installs it.
set -euo pipefail
target=${1:-test}
PYTHON=${PYTHON:-python3}

missing=()      # Debian package names
need() { missing+=("$@"); }

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  need python3 python3-venv
elif ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  echo "prerequisites: $PYTHON is $("$PYTHON" --version 2>&1); the course needs Python >= 3.10" \
       "(set PYTHON=python3.11, say)." >&2
  exit 1
elif ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  need python3-venv
fi
command -v node >/dev/null 2>&1 || need nodejs
command -v npm >/dev/null 2>&1 || need npm
if [ "$target" = test ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || [ -n "${CHROMIUM:-}" ] || need chromium
  command -v bwrap >/dev/null 2>&1 || need bubblewrap
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "prerequisites: installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi

{
  echo "prerequisites: missing system packages: ${missing[*]}"
  if command -v apt-get >/dev/null 2>&1; then
    echo "install them with:  sudo apt-get install -y ${missing[*]}"
  else
    echo "install them with your system's package manager (these are Debian's names), then run make again"
  fi
} >&2
exit 1
