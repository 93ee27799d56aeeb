# rai-pipeline: `make demo` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint format ui bench validate clean help browser postgresql java bytecode

help:
	@echo "make demo   - install (first time), run the whole pipeline on the bundled demo"
	@echo "make test   - install (first time), run the whole test suite"
	@echo "make lint   - ruff, the package's import rules, mypy"
	@echo "make ui     - Dagster UI on http://127.0.0.1:3000"
	@echo "make bench  - rai evaluate-file vs Aequitas and fairlearn as whole processes, floors, start-up, 10^8 rows, PostgreSQL and Spark (~15 min)"
	@echo "make validate - coverage and verdict error rates by simulation, into docs/statistics.md (~10 min)"
	@echo "make bytecode - compile the package and its document templates (the install runs it)"
	@echo "make clean  - remove .rai (state) and build leftovers; keeps .venv"

$(STAMP): pyproject.toml constraints.txt rai_pipeline/core/loops.c
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing rai-pipeline and its pinned dependencies into $(VENV) (first time: a few minutes)"
	$(BIN)/python -m pip install --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@$(MAKE) --no-print-directory bytecode
	@touch $(STAMP)

# An editable install leaves the package's own modules uncompiled (pip compiles those of a
# regular install): compile them, so that a command reads bytecode from its first start even
# where PYTHONDONTWRITEBYTECODE is set; and the document templates (Jinja), which every
# process that writes a pack would otherwise compile (0.22 s measured on 2 cores, 0.004 s
# read compiled)
bytecode:
	@$(BIN)/python -m compileall -q rai_pipeline
	@$(BIN)/python -c "from rai_pipeline.core.evidence.render import compile_templates; compile_templates()"

demo: $(STAMP)
	$(BIN)/rai demo

browser:
	@scripts/ensure_chromium.sh

# Debian's PostgreSQL binaries and a Java runtime: the scale-out tests start a throwaway
# PostgreSQL server and a local Spark session
postgresql:
	@scripts/ensure_postgresql.sh

java:
	@scripts/ensure_java.sh

# one pytest-xdist worker per core; a test module runs whole on one worker (tests/conftest.py)
TEST_WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

test: $(STAMP) browser postgresql java
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/check_imports.py
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

ui: $(STAMP)
	$(BIN)/rai ui

# Not part of `make test`: whole processes at 10^6, 10^7 and 10^8 rows; writes docs/benchmarks.md.
bench: $(STAMP) bytecode
	$(BIN)/python bench/run_bench.py

# Not part of `make test` (which runs the same studies with fewer data sets): measures coverage
# and verdict error rates by simulation and writes the tables into docs/statistics.md.
validate: $(STAMP)
	$(BIN)/python -m rai_pipeline.validation --replicates 2000 --write docs/statistics.md

clean:
	rm -rf .rai dbt_project/target dbt_project/logs logs .pytest_cache .ruff_cache .mypy_cache
