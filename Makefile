# Two commands do all the set-up on a fresh clone (see README.md):
#   make book   -- build the HTML book into _build/html
#   make test   -- run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cnncourse-installed
JOBS ?= 2
export PATH := $(abspath $(BIN)):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: setup assets book test execute exercises student lab clean

# (Re)install when a dependency file changes; the venv itself is reused.
$(STAMP): requirements.txt pyproject.toml package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt -e .
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

setup: $(STAMP)

assets: setup
	$(BIN)/python tools/vendor_assets.py

book: assets
	rm -rf _build/html
	$(BIN)/jupyter-book build . --all -W -n --keep-going

# One thread per worker: the notebooks' kernels and nbgrader's run beside each other, and
# oversubscribed cores make small-tensor PyTorch code many times slower.
test: book
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n $(JOBS) --dist loadfile

# Re-run every chapter and solution notebook in place (on CUDA when present).
execute: setup
	$(BIN)/python tools/execute_chapters.py

# Regenerate the released student notebooks (exercises/) from solutions/.
exercises: setup
	$(BIN)/python tools/release.py

# The students' distribution: the wheel, exercises/ and the book in
# dist/cnn-course-student-<version>.zip; nothing of solutions/ (see tools/student_dist.py).
student: book
	$(BIN)/python tools/student_dist.py

lab: setup
	$(BIN)/jupyter lab $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

clean:
	rm -rf _build build data/cache
