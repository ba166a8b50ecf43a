# Set-up in two commands (README, "Quickstart"):
#   make run    a virtual environment in .venv, the pinned install, then the default run (configs/tiny.py)
#   make test   the same environment plus the test extras, then the whole test suite
# Each step runs once: a stamp file in the environment records it, and changing requirements.txt or
# pyproject.toml runs the install again. Variables: VENV (the environment's folder), PYTHON (the interpreter
# that makes it), CONFIG, WORKDIR and ARGS (for `make run`), PYTEST_ARGS (for `make test`), e.g.
#   make run ARGS=--config.trainer.steps=8     make test PYTEST_ARGS="tests/selfplay -x"

VENV ?= .venv
# jax >= 0.7 and numpy >= 2.3 publish wheels for Python 3.11 and later only: the first of these that runs and
# is new enough (a pyenv shim can name a version it does not have).
PYTHON ?= $(firstword $(foreach p,python3.12 python3.11 python3,$(shell $(p) -c 'import sys; sys.version_info >= (3, 11) and print(sys.executable)' 2>/dev/null)) python3)
CONFIG ?= configs/tiny.py
WORKDIR ?= runs/tiny
ARGS ?=
PYTEST_ARGS ?=

BIN := $(VENV)/bin

.PHONY: run test lint

run: $(VENV)/.installed
	$(BIN)/python train.py --config $(CONFIG) --workdir $(WORKDIR) $(ARGS)

# pytest exits 5 when it collected nothing: nothing failed, but nothing was checked either, so say so.
test: $(VENV)/.installed-test
	@rc=0; $(BIN)/python -m pytest -q $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; rc=0; fi; exit $$rc

lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and f"$(PYTHON) is Python {sys.version.split()[0]}; azr-jax needs 3.11 or later (make PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# The tested versions exactly (requirements.txt), then the project itself, editable.
$(VENV)/.installed: $(BIN)/python requirements.txt pyproject.toml
	$(BIN)/pip install -q -r requirements.txt -e .
	touch $@

# torch (the tests' reference implementation), pytest, hypothesis, ruff.
$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@
