# Rampart: `make run` starts everything in one process; `make test` runs the whole suite.
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
PYPROJECTS := pyproject.toml shared/pyproject.toml connectors/pyproject.toml $(wildcard services/*/pyproject.toml)

# The system tools the tests drive for real (OpenSSH server, nftables, gdb, iproute2, logger, ...),
# one "command package" line each; a connector that drives another tool adds its line there.
TEST_PACKAGES := deploy/test-packages.txt

.PHONY: install test-tools run test lint bench up asyncapi clean

$(UV):
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "make: $(PYTHON) cannot create virtualenvs; install its venv module" \
	       "(Debian/Ubuntu: apt-get install python3-venv), or set PYTHON to a Python 3.11+ that has it" >&2; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check 'uv>=0.5,<1'

# `uv lock` is a no-op while uv.lock matches the pyproject files (no download), so a fresh
# clone's file times never decide whether the lock is rewritten.
$(VENV)/.installed: $(PYPROJECTS) uv.lock | $(UV)
	$(UV) lock --python $(PYTHON)
	$(UV) sync --all-packages --locked --python $(PYTHON)
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/rampart run

# As root: apt-get installs what the list names and this machine lacks; otherwise it says what
# to install (and, with CI=true, stops: CI runs every test).
test-tools:
	@deploy/test-tools.sh $(TEST_PACKAGES)

# The suite waits on processes, brokers and databases far more than it computes: three workers
# (one file each at a time, so a file's fixtures stay together) finish it in about half the time
# on two cores. `make test PYTEST_WORKERS=0` runs it in one process.
PYTEST_WORKERS ?= 3

test: install test-tools
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy src shared/src services/*/src connectors/src

bench: install
	$(VENV)/bin/python -m bench.all

asyncapi: install
	$(VENV)/bin/rampart asyncapi

up:
	docker compose up --build

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
