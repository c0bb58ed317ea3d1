#!/usr/bin/env bash
# The system packages that `make book` and `make test` need, installed when missing.
#
#   tools/prerequisites.sh book   # Python 3.10+ with venv, Node.js and npm
#   tools/prerequisites.sh test   # the same, plus Chromium (browser tests), bubblewrap
#                                 # (the autograder's sandbox) and PostgreSQL's server (the
#                                 # gradebook test)
#   tools/prerequisites.sh pdf    # the book's, plus XeLaTeX, latexmk, the LaTeX packages
#                                 # Sphinx's LaTeX needs, DejaVu fonts and poppler's pdfinfo
#                                 # (`make pdf`; about 350 MB installed, no texlive-fonts-extra)
#   tools/prerequisites.sh test pdf   # several at once
#
# As root (a fresh VM, a container, CI) the missing Debian/Ubuntu packages are installed
# with apt-get. As another user nothing is installed: the script stops at once with one
# message naming what is missing and the command that installs it.
set -euo pipefail
targets=" ${*:-test} "
PYTHON=${PYTHON:-python3}

missing=()      # Debian package names
need() { missing+=("$@"); }
lean=()         # the same, installed without their recommendations (TeX would pull in GBs)
need_lean() { lean+=("$@"); }

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
if [[ $targets == *" test "* ]]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || [ -n "${CHROMIUM:-}" ] || need chromium
  command -v bwrap >/dev/null 2>&1 || need bubblewrap
  # PostgreSQL's server, for the gradebook test (Debian keeps its programs out of PATH)
  command -v initdb >/dev/null 2>&1 \
    || compgen -G "${POSTGRESQL_LIB:-/usr/lib/postgresql}/*/bin/initdb" >/dev/null || need postgresql
fi
if [[ $targets == *" pdf "* ]]; then
  command -v xelatex >/dev/null 2>&1 || need_lean texlive-xetex
  command -v latexmk >/dev/null 2>&1 || need_lean latexmk
  kpsewhich fncychap.sty >/dev/null 2>&1 || need_lean texlive-latex-extra
  kpsewhich pzdr.tfm >/dev/null 2>&1 || need_lean texlive-fonts-recommended  # Sphinx's dingbats
  [ -n "$(fc-list 'DejaVu Serif' 2>/dev/null)" ] || need_lean fonts-dejavu-core
  command -v pdfinfo >/dev/null 2>&1 || need_lean poppler-utils
fi

all=("${missing[@]}" "${lean[@]}")
[ ${#all[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "prerequisites: installing ${all[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  [ ${#missing[@]} -eq 0 ] || apt-get install -y -qq "${missing[@]}" >/dev/null
  [ ${#lean[@]} -eq 0 ] || apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null
  exit 0
fi

{
  echo "prerequisites: missing system packages: ${all[*]}"
  if command -v apt-get >/dev/null 2>&1; then
    echo "install them with:  sudo apt-get install -y ${all[*]}"
  else
    echo "install them with your system's package manager (these are Debian's names), then run make again"
  fi
} >&2
exit 1
