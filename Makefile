# otlatent: `make reproduce` runs the study, `make test` checks it. Both create the environment when missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PRESET ?= cpu
# Figures of the committed (cpu) preset go to figures/; other presets write under build/<preset>/figures.
FIGURES ?= $(if $(filter cpu,$(PRESET)),figures,build/$(PRESET)/figures)
ARCHIVES ?=
NB ?=
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONUNBUFFERED := 1

.PHONY: setup reproduce dry-run test test-lib test-notebooks test-dry-run book test-book lint format data models-pack models-unpack lab bench clean help

help:
	@echo "make reproduce [PRESET=smoke|cpu|paper] [NB='01 03']  run the notebooks with papermill"
	@echo "make dry-run                                      every notebook at the paper preset's sizes, a few iterations"
	@echo "make test                                         pytest + nbval over every notebook (smoke, then paper-dry)"
	@echo "make book                                         the course site (build/book/html), offline, from the committed outputs"
	@echo "make lint                                         ruff check + ruff format --check (make format fixes)"
	@echo "make data [ARCHIVES=dir]                          download datasets / unpack local archives"
	@echo "make models-pack [PRESET=cpu] [ARCHIVE=file]      the preset's trained models in one checksummed archive"
	@echo "make models-unpack ARCHIVE=file                   install a model pack (notebooks then reload, not train)"
	@echo "make lab                                          JupyterLab on the notebooks"
	@echo "make bench                                        run the benchmark scripts"
	@echo "make clean                                        remove build/ (not data/, not .venv/)"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,lab,book]"
	touch $@

setup: $(VENV)/.installed

reproduce: setup
	OTLATENT_FIGURES="$(abspath $(FIGURES))" $(PY) -m otlatent.notebooks reproduce --preset $(PRESET) $(if $(NB),--only $(NB))

# The paper preset's dry run (otlatent.config.dry_run): its architectures, resolutions and batch sizes, a handful of
# iterations and samples, on every dataset present, into build/paper-dry/ (figures under build/paper-dry/figures).
dry-run:
	$(MAKE) reproduce PRESET=paper-dry

test: test-lib test-notebooks test-dry-run test-book

# Library tests in one worker process per core, one torch thread each (conftest.py pins the threads), so that a
# loaded machine is never oversubscribed.
test-lib: setup
	MPLBACKEND=Agg OTLATENT_FIGURES="$(abspath build/ci/figures)" $(PY) -m pytest -n auto tests --ignore=tests/browser

test-notebooks: setup
	OTLATENT_FIGURES="$(abspath build/ci/figures)" $(PY) -m otlatent.notebooks prepare --preset smoke --out build/ci $(if $(NB),--only $(NB))
	OTLATENT_PROGRESS=0 OTLATENT_FIGURES="$(abspath build/ci/figures)" $(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=900 build/ci

# CI's dry run of the paper preset: every notebook, on its default dataset, executed by nbval as test-notebooks does.
test-dry-run: setup
	OTLATENT_FIGURES="$(abspath build/ci-dry/figures)" $(PY) -m otlatent.notebooks prepare --preset paper-dry --out build/ci-dry $(if $(NB),--only $(NB))
	OTLATENT_PROGRESS=0 OTLATENT_FIGURES="$(abspath build/ci-dry/figures)" $(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=900 build/ci-dry

# The course site: every committed notebook and the README as landing page, built offline (otlatent.book).
book: setup
	$(PY) -m otlatent.book

# The site in a real browser (tests/browser): headless Chromium from Debian's chromium and chromium-driver.
test-book: book
	@{ command -v chromium || command -v chromium-browser || command -v google-chrome; } >/dev/null && { command -v chromedriver || test -x "$$CHROMEWEBDRIVER/chromedriver"; } >/dev/null || { echo "the site's browser test needs headless Chromium: apt-get install chromium chromium-driver (Debian; .ci/run does it), or run 'make book' alone"; exit 2; }
	$(PY) -m pytest -p no:cacheprovider tests/browser

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

data: setup
	$(PY) -m otlatent.fetch $(if $(ARCHIVES),--archives $(ARCHIVES))

models-pack: setup
	$(PY) -m otlatent.packs pack --preset $(PRESET) $(if $(ARCHIVE),--out "$(ARCHIVE)")

models-unpack: setup
	@test -n "$(ARCHIVE)" || { echo "usage: make models-unpack ARCHIVE=<file>"; exit 2; }
	$(PY) -m otlatent.packs unpack "$(ARCHIVE)"

lab: setup
	$(VENV)/bin/jupyter lab notebooks

bench: setup
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build
