# Two commands do everything on a fresh machine: `make test` and `make experiment NAME=...`.
# Each creates .venv and installs what it needs on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
EXP_STAMP := $(VENV)/.installed-experiments
SRC    := $(wildcard jaxrnn tests experiments benchmarks docs conftest.py)

.PHONY: help install test lint typecheck format docs experiment bench bench-quick clean

help:
	@echo "make test                          run the test suite (creates .venv on first use)"
	@echo "make experiment NAME=<name> ARGS=  run an experiment (no NAME: list them;"
	@echo "                                   ARGS=--help: its keys; ARGS=--preset=quick: < 2 min)"
	@echo "make bench                         benchmarks against Flax, Equinox, Haiku, PyTorch,"
	@echo "                                   RecurrentGemma, mlstm_kernels"
	@echo "make lint                          ruff"
	@echo "make typecheck                     mypy on jaxrnn/"
	@echo "make docs                          the documentation site, into docs/_build/html"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# `make experiment` needs only the experiments' dependencies (no test stack)
$(EXP_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[experiments]'
	@touch $@

install: $(STAMP)

# XLA's CPU compiler crashes a test process now and then (a segmentation fault inside
# backend_compile, at a different test each run, with or without PyTorch installed; see
# docs/testing.md). pytest-rerunfailures reschedules a test whose worker crashed, at most
# twice; --only-rerun with a pattern no error message contains keeps ordinary failures from
# being rerun. Rescheduling needs a per-test scheduler (worksteal), not loadfile.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist worksteal --reruns 2 --only-rerun '^rerun crashes only$$' $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check $(SRC)
	$(PY) -m ruff format --check jaxrnn

typecheck: $(STAMP)
	$(PY) -m mypy jaxrnn

# Offline; warnings are errors. The pages' examples run in `make test` (tests/test_docs.py).
docs: $(STAMP)
	$(PY) -m sphinx -b html -W --keep-going -q docs docs/_build/html

format: $(STAMP)
	$(PY) -m ruff check --fix $(SRC)
	$(PY) -m ruff format jaxrnn

experiment: $(EXP_STAMP)
	$(PY) -m experiments $(NAME) $(ARGS)

# The peers' table (LSTM, GRU, RNN), then each family against its reference implementation.
BENCH_FAMILIES := benchmarks.rglru benchmarks.xlstm

bench: $(STAMP)
	$(PY) -m benchmarks $(ARGS)
	@for m in $(BENCH_FAMILIES); do $(PY) -m $$m || exit 1; done

bench-quick: $(STAMP)
	$(PY) -m benchmarks --quick $(ARGS)
	@for m in $(BENCH_FAMILIES); do $(PY) -m $$m --quick --out $${TMPDIR:-/tmp} || exit 1; done

clean:
	rm -rf $(VENV) build dist docs/_build *.egg-info
