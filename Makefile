# Two commands do all the set-up on a fresh clone (see README.md):
#   make book   -- build the HTML book into _build/html
#   make test   -- run the whole test suite
#   make pdf    -- the whole book as one PDF, _build/latex/cnn-course.pdf (make test-pdf: and check it)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.cnncourse-installed
# pytest workers: one per core and one more. A worker often waits (sandboxed kernels at their
# limits, warm-kernel servers starting, pages loading, nbgrader starting): with 2 workers on
# 2 cores 9 % of the CPU sat idle (vmstat) and the run took 476 s; with 3, 0.4 % and 451 s.
JOBS ?= $(shell echo $$(( $$(nproc) + 1 )))
export PATH := $(abspath $(BIN)):$(PATH)
export PYTHONHASHSEED := 0

.PHONY: prerequisites setup assets book pdf test test-pdf test-portable execute exercises student lab hub clean translations

# System packages (tools/prerequisites.sh): installed with apt-get when missing and run as
# root; otherwise one message naming them. `make test` also needs Chromium and bubblewrap.
# `make pdf` and `make test-pdf` also need XeLaTeX (no texlive-fonts-extra: see _config.yml).
PREREQS := $(if $(filter test test-portable,$(MAKECMDGOALS)),test,book) \
           $(if $(filter pdf test-pdf,$(MAKECMDGOALS)),pdf)
prerequisites:
	@bash tools/prerequisites.sh $(PREREQS)

# Optional packages that only cost time: rfc3987-syntax (jsonschema's "iri" format check,
# pulled in by jupyter-events) builds a parser at import, 2.5 s in every process that
# imports nbformat -- every nbgrader command, nbconvert, jupyter-book, each test worker.
# Nothing here validates IRIs; `pip check` stays clean without it (tests/test_environment.py).
SLOW_IMPORTS := rfc3987-syntax
# (Re)install when a dependency file changes; the venv itself is reused. With uv, pinned,
# which installs and byte-compiles on every core (tools/install_python_env.py; pip where uv
# cannot be had). Byte code is needed: without it the sandbox's read-only venv makes every
# sandboxed kernel compile torch anew (make test took 8 minutes longer).
$(STAMP): requirements.txt pyproject.toml package.json package-lock.json tools/install_python_env.py | prerequisites
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python tools/install_python_env.py --without $(SLOW_IMPORTS)
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

setup: prerequisites $(STAMP)

assets: setup
	$(BIN)/python tools/vendor_assets.py

# Both editions: the English book in _build/html, the Russian one in _build/html/ru from the
# same sources, its text from locale/ru/LC_MESSAGES (tools/translations.py build-ru, which
# also records the book's messages in _build/gettext/messages.json for the tests).
# The two editions build side by side (Sphinx uses one core each; their output folders and
# doctrees are apart): 20 s less than one after the other on 2 cores.
book: assets
	rm -rf _build/html $(BOOK_STAMP)
	$(BIN)/jupyter-book build . --all -W -n --keep-going & english=$$!; \
	  $(BIN)/python tools/translations.py build-ru; russian=$$?; \
	  wait $$english && exit $$russian
	@# the download menu's "Whole book (.pdf)": the PDF of the last `make pdf`, if any
	@if [ -f _build/latex/cnn-course.pdf ]; then cp _build/latex/cnn-course.pdf _build/html/; fi
	touch $(BOOK_STAMP)

# The book of the last `make book`: `make test-pdf` builds it only when there is none (CI
# runs test-pdf right after `make test`, which has just built it: one build, not two).
BOOK_STAMP := _build/.book-built
$(BOOK_STAMP):
	$(MAKE) --no-print-directory book

# The Russian catalogs after the English text changed: Sphinx's gettext builder extracts the
# messages (_build/gettext), sphinx-intl merges them into locale/ru/LC_MESSAGES/*.po (kept
# translations stay, changed ones become fuzzy, gone ones are dropped), and the catalogs
# that need work are listed (untranslated and fuzzy messages, per catalog); the same for the
# assignments' statements (locale/ru/LC_MESSAGES/solutions) and, with babel, for the checks'
# messages (cnncourse/locale, cnncourse/checks/hidden/locale), whose .mo files are compiled.
translations: setup
	$(BIN)/python tools/translations.py update
	$(BIN)/python tools/message_catalog.py update
	$(BIN)/python tools/message_catalog.py compile

# The printable book: _build/latex/cnn-course.pdf (tools/pdf_book.py: Sphinx's LaTeX, then
# XeLaTeX with latexmk, 2 min), also copied into _build/html for its download menu. Not in
# `make test` (it is slow); `make test-pdf` builds the PDF (and the HTML book if there is
# none) and checks them (tests/pdf_book_checks.py, which plain pytest does not collect),
# and CI runs that after `make test` (.ci/run).
pdf: assets
	$(BIN)/python tools/pdf_book.py

test-pdf: $(BOOK_STAMP) pdf
	$(BIN)/python -m pytest tests/pdf_book_checks.py

# One thread per worker: the notebooks' kernels and nbgrader's run beside each other, and
# oversubscribed cores make small-tensor PyTorch code many times slower.
TEST_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
# Everything in one pytest session: the project's tests, strict nbval over book/ and
# solutions/, and every chapter and solution once more as PATH[portable], its kernel under
# PyTorch's, oneDNN's and MKL's portable code paths instead of this CPU's own (AVX2,
# AVX-512) kernels: another machine's round-off, on this one (README, "Output policy";
# conftest.py). One session keeps both workers busy to the end; notebook kernels are warm
# (forked after the imports, tests/warm_kernels.py).
test: book
	$(TEST_ENV) $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --portable-notebooks

# The portable run alone.
test-portable: setup
	$(TEST_ENV) $(BIN)/python -m pytest -n $(JOBS) --dist loadfile --portable-notebooks -k portable book solutions

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

# JupyterLab for one user, with no hub and no exchange: jupyter_config/instructor, first on
# JUPYTER_CONFIG_PATH, turns off nbgrader's Assignments and Courses panels (lab and server
# extensions), which need an exchange and here only show errors; Formgrader, Create
# Assignment and Validate stay. `make lab STUDENT=1`: jupyter_config/student, no nbgrader
# at all, as in the students' distribution (tests/test_single_user_lab.py).
lab: setup
	JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter_config/$(if $(filter-out 0,$(STUDENT)),student,instructor)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" $(BIN)/jupyter lab $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# The course on JupyterHub (README, "The course on JupyterHub"), as root: creates the users
# and the exchange, prints the passwords, runs the hub on 127.0.0.1 until Ctrl-C.
#   make hub INSTRUCTOR=teacher STUDENTS=alice,bob
hub: setup
	$(BIN)/python hub/start.py --instructor $(INSTRUCTOR) --students $(STUDENTS)

clean:
	rm -rf _build build data/cache
