# Entry points: `make run` (serve the demo), `make check` (the fast loop while editing) and
# `make test` (lint + the whole suite: before pushing, and what CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
export REGISTRY_DATABASE ?= var/registry.db

# Exact versions with hashes, for Python 3.11 on Linux; `make lock` writes both from pyproject.toml.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
UV_VERSION ?= 0.13.9
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform linux --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)

.PHONY: run check test test-dates lint format lock bench stress fuzz clean faketime chromium clamav

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Dependencies from the lock, then the project itself (editable) without its dependencies.
$(VENV)/.runtime: $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: $(DEV_LOCK) $(VENV)/.runtime
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	touch $@

# The webhook worker runs beside the server, in the background, and stops with it.
run: $(VENV)/.runtime
	$(BIN)/registry init --demo
	$(BIN)/registry worker & WORKER=$$!; trap 'kill $$WORKER 2>/dev/null' EXIT INT TERM; \
	$(BIN)/registry serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The fast loop: lint and every test but those that start servers, drive a browser, fuzz, or
# build the wheel, spread over the cores by pytest-xdist (each worker builds its own template
# database; `make check JOBS=0` runs them in one process).
FAST := not server and not browser and not fuzz and not packaging
JOBS ?= auto
check: lint
	$(BIN)/pytest -n $(JOBS) -m "$(FAST)"

# The fast tests again on other days (tests/helpers.py's TODAY, read from REGISTRY_TEST_TODAY):
# a year ahead of the default and the last day of a month, so that no test depends on the day
# the suite runs. `make test-dates TEST_DATES="2026-12-31"` picks the days.
TEST_DATES ?= 2027-11-24 2027-01-31
test-dates: $(VENV)/.dev
	@for day in $(TEST_DATES); do \
		echo "== the fast tests on $$day"; \
		REGISTRY_TEST_TODAY=$$day $(BIN)/pytest -q -n $(JOBS) -m "$(FAST)" || exit 1; \
	done

# A real server's clock crosses midnight under libfaketime (Debian's faketime).
faketime:
	@ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq faketime; }

# The browser tests drive Debian's chromium through Playwright (executable_path): Playwright's
# own browser download fetches from its CDN, which a build machine need not reach.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

# Uploads are scanned by ClamAV's daemon: tests/documents start Debian's clamd with signatures
# of their own (sigtool), never freshclam's.
clamav:
	@{ test -x /usr/sbin/clamd && test -x /usr/bin/sigtool; } || \
		{ apt-get update -qq && apt-get install -y -qq clamav clamav-daemon; }

# The fast tests on every core, then the rest (servers, browser, fuzz, wheel) one at a time:
# they measure timings and hold many connections, so they run alone.
test: lint faketime chromium clamav
	$(BIN)/pytest -n $(JOBS) -m "$(FAST)"
	$(BIN)/pytest -m "not ($(FAST))"
	$(MAKE) --no-print-directory test-dates

format: $(VENV)/.dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-resolve both locks after a change to pyproject.toml's dependencies, keeping the pins that
# still fit; `make lock UPGRADE=1` moves every pin to the newest release allowed.
# The runtime lock is constrained by the dev lock, so the two never pin a package differently.
lock: | $(BIN)/python
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(UV_COMPILE) --extra dev pyproject.toml -o $(DEV_LOCK)
	$(UV_COMPILE) -c $(DEV_LOCK) pyproject.toml -o $(LOCK)

bench: $(VENV)/.dev
	$(BIN)/python bench/run.py

# The load and SIGKILL tests at full scale (`make test` runs them small); -rA prints their figures.
stress: $(VENV)/.dev
	REGISTRY_STRESS_WRITERS=8 REGISTRY_STRESS_WRITES=200 REGISTRY_STRESS_READERS=4 \
	REGISTRY_STRESS_WORKERS=4 REGISTRY_STRESS_KILLS=20 $(BIN)/pytest -rA tests/server/test_stress.py

# The schemathesis tests with many more cases and longer stateful runs (`make test` runs them small).
fuzz: $(VENV)/.dev
	REGISTRY_FUZZ_EXAMPLES=500 REGISTRY_FUZZ_SCENARIOS=200 REGISTRY_FUZZ_STEPS=20 \
	$(BIN)/pytest -rA tests/project/test_fuzz.py

clean:
	rm -rf $(VENV) var build dist .pytest_cache .ruff_cache .hypothesis .schemathesis
