# Two commands for a newcomer: `make run` (console chat on sample data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Exact versions with hashes of the project's dependencies and test tools (Python 3.11, Linux);
# `make lock` refreshes it from pyproject.toml.
LOCK := requirements.lock
RUNTIME_LOCK := requirements-runtime.lock

.PHONY: install run test lint lock locales clean

install: $(INSTALLED)

# Reinstall only when the dependencies or the lock change. Everything comes from the lock, checked
# against its hashes; the project itself is then installed without build isolation, so its build
# backend is the locked setuptools too.
$(INSTALLED): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --requirement $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation --editable .
	@# A dependency declared in pyproject.toml but missing from the lock shows up here.
	$(BIN)/pip check
	touch $(INSTALLED)

run: install
	$(BIN)/helpdesk seed
	$(BIN)/helpdesk chat

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check bot tests
	$(BIN)/ruff format --check bot tests
	$(BIN)/mypy

# After changing the dependencies in pyproject.toml: resolve them from PyPI (not this machine's pip
# configuration) for Python 3.11 on Linux, with the hashes of every file. Versions already locked
# stay unless pyproject.toml excludes them; `make lock UPGRADE=--upgrade` moves all to the newest allowed.
UPGRADE ?=
lock: install
	$(BIN)/uv pip compile pyproject.toml --extra test --group install --generate-hashes $(UPGRADE) \
		--python-version 3.11 --python-platform linux --no-config --index-url https://pypi.org/simple \
		--custom-compile-command "make lock" --output-file $(LOCK)
	@# The Docker image's lock: the run-time dependencies only, at exactly the versions above.
	grep -E '^[A-Za-z0-9_.-]+(\[[^]]*\])?==' $(LOCK) | cut -d' ' -f1 > $(VENV)/lock-pins.txt
	$(BIN)/uv pip compile pyproject.toml --group install --generate-hashes --constraint $(VENV)/lock-pins.txt \
		--python-version 3.11 --python-platform linux --no-config --index-url https://pypi.org/simple \
		--custom-compile-command "make lock" --output-file $(RUNTIME_LOCK)
	$(MAKE) install

# After changing the bot's strings in code: refresh the catalogs, then translate the new entries in locales/hi.
locales: install
	$(BIN)/pybabel extract --no-default-keywords -k t:2 -k n:2,3 -c NOTE: --no-wrap --sort-output \
		--project igot-helpdesk -o locales/messages.pot bot/
	$(BIN)/pybabel update --no-wrap --no-fuzzy-matching --ignore-obsolete -i locales/messages.pot -d locales

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache helpdesk.db helpdesk.db-*
