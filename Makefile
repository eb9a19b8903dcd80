# Two commands do everything on a fresh machine with Python 3.11/3.12 and make:
#   make demo   - set up, start a development consortium and run the stories
#   make test   - set up, lint, type-check and run every test
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test setup bytecode lint typecheck unit sim integration browser bench docs examples clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# Every node, CLI and test process starts from compiled bytecode, even in a shell that sets
# PYTHONDONTWRITEBYTECODE (Python then reads __pycache__ but never writes it, and each node
# start would compile the project again: ~0.5 s of every start). Only changed files recompile.
bytecode: setup
	@$(BIN)/python -m compileall -q -j 0 ledger consensus contracts network node wallet explorer tests docs

demo: bytecode
	$(BIN)/tally demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy ledger consensus contracts network node wallet explorer

test: bytecode lint typecheck
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 tests

unit: bytecode
	$(BIN)/python -m pytest -q tests/unit

sim: bytecode
	$(BIN)/python -m pytest -q tests/sim

integration: bytecode
	$(BIN)/python -m pytest -q tests/integration

browser: bytecode
	$(BIN)/python -m pytest -q tests/browser

bench: bytecode
	$(BIN)/tally bench

docs: setup
	$(BIN)/python docs/gen_sdk.py

# Every tutorial's examples, run as written (about 2 minutes; CI runs it after make test)
examples: bytecode
	$(BIN)/python docs/check_examples.py docs/tutorials/*.md

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache demo-data
