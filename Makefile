# Two entry points: `make run` (serve the demo) and `make test` (lint + whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
export REGISTRY_DATABASE ?= var/registry.db

.PHONY: run test lint format bench stress fuzz clean

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# The webhook worker runs beside the server, in the background, and stops with it.
run: $(VENV)/.runtime
	$(BIN)/registry init --demo
	$(BIN)/registry worker & WORKER=$$!; trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(BIN)/registry serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/pytest

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.dev
	$(BIN)/python bench/run.py

# The load and SIGKILL tests at full scale (`make test` runs them small); -rA prints their figures.
stress: $(VENV)/.dev
	REGISTRY_STRESS_WRITERS=8 REGISTRY_STRESS_WRITES=200 REGISTRY_STRESS_READERS=4 \
	REGISTRY_STRESS_WORKERS=4 REGISTRY_STRESS_KILLS=20 $(BIN)/pytest -rA tests/test_stress.py

# The schemathesis tests with many more cases and longer stateful runs (`make test` runs them small).
fuzz: $(VENV)/.dev
	REGISTRY_FUZZ_EXAMPLES=500 REGISTRY_FUZZ_SCENARIOS=200 REGISTRY_FUZZ_STEPS=20 \
	$(BIN)/pytest -rA tests/test_fuzz.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
