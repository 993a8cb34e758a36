# The two commands the README opens with, and the lock they install from.
#
# uv installs exactly what uv.lock pins (`--frozen`: a stale lock is an error, never a silent
# re-resolve), so a clean clone gets what was tested. uv itself is pinned and bootstrapped into
# .tools/ with the python3 on PATH; no interpreter is ever downloaded.
PY ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
LATEST := .venv-latest
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: demo test test-latest lock lint check clean

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q --disable-pip-version-check 'uv==$(UV_VERSION)'

# The main job needs only the runtime dependencies; --inexact keeps a test setup intact.
demo: $(UV)
	$(UV) sync -q --frozen --no-dev --inexact --python $(PY)
	$(BIN)/thrifty demo

# Runtime plus the dev group (pytest, ruff, mypy, psycopg, claude-agent-sdk), exactly as locked.
test: $(UV)
	$(UV) sync -q --frozen --python $(PY)
	$(MAKE) --no-print-directory check BIN=$(BIN)

lint:
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

check: lint
	./scripts/ensure-postgres.sh
	./scripts/ensure-packages.sh /usr/bin/chromium:chromium zsh:zsh fish:fish
	$(BIN)/pytest -q

# The suite against the newest releases of every dependency, in its own environment, so drift
# is seen on purpose rather than in CI. It leaves uv.lock alone.
test-latest: $(UV)
	$(UV) venv -q --allow-existing --python $(PY) $(LATEST)
	VIRTUAL_ENV=$(LATEST) $(UV) pip install -q --upgrade --reinstall-package thrifty -e . --group dev
	$(MAKE) --no-print-directory check BIN=$(LATEST)/bin

# Refresh the lock to the newest releases the ranges in pyproject.toml allow; then `make test`.
lock: $(UV)
	$(UV) lock --upgrade

clean:
	rm -rf $(VENV) $(LATEST) $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
