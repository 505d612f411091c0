# Edge of Care platform — the two commands a newcomer needs: `make up` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/$(VENV)/bin/uv)
STAMP := $(VENV)/.installed
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)

.PHONY: install up test test-fast lint asyncapi bench clean

NODE_STAMP := dashboard/node_modules/.installed
BYTECODE_STAMP := $(VENV)/.bytecode

install: $(STAMP) $(BYTECODE_STAMP) $(NODE_STAMP)
	@$(VENV)/bin/python -m compileall -q -j 0 shared/src runner/src dashboard/src services/*/src >/dev/null

# Every module compiled to bytecode ahead (the venv once, the project's sources at each install: only what
# changed): where PYTHONDONTWRITEBYTECODE is set, as in this machine's shells, Python never writes a .pyc,
# so each process compiled every module it imported from source again — 40 % of `eoc up`'s start-up.
$(BYTECODE_STAMP): $(STAMP)
	@$(VENV)/bin/python -m compileall -q -j 0 $(VENV)/lib >/dev/null || true
	@touch $(BYTECODE_STAMP)

# The dashboard's assets (GOV.UK Frontend) and axe-core for its browser tests, exactly as the lock says.
$(NODE_STAMP): dashboard/package.json dashboard/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the dashboard's assets (Debian: apt-get install npm)"; exit 1; }
	@cd dashboard && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

$(STAMP): uv.lock pyproject.toml shared/pyproject.toml runner/pyproject.toml dashboard/pyproject.toml services/*/pyproject.toml
	@if [ ! -x "$(UV)" ]; then $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install --quiet "uv>=0.5"; fi
	@"$(UV)" sync --frozen --all-packages --group dev
	@touch $(STAMP)

up: install
	$(VENV)/bin/eoc up --port $${PORT:-8000} --data-dir $${DATA_DIR:-./var}

test: install lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Static checks, run before the tests: import boundaries, ruff (lint and import order), mypy.
lint: install
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy shared/src runner/src services/referral-svc/src services/eligibility-svc/src services/outcomes-svc/src services/finance-svc/src dashboard/src
	$(VENV)/bin/mypy bench

test-fast: install
	$(VENV)/bin/pytest -m "not e2e" $(PYTEST_ARGS)

asyncapi: install
	$(VENV)/bin/python -m eoc_shared.events.asyncapi > docs/asyncapi.json

bench: install
	$(VENV)/bin/python bench/__main__.py

clean:
	rm -rf $(VENV) var
