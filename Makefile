# Two commands for a newcomer: `make run` (console chat on sample data) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run test locales clean

install: $(INSTALLED)

# Reinstall only when the project's dependencies change.
$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable ".[test]"
	touch $(INSTALLED)

run: install
	$(BIN)/helpdesk seed
	$(BIN)/helpdesk chat

test: install
	$(BIN)/pytest

# After changing the bot's strings in code: refresh the catalogs, then translate the new entries in locales/hi.
locales: install
	$(BIN)/pybabel extract --no-default-keywords -k t:2 -k n:2,3 -c NOTE: --no-wrap --sort-output \
		--project igot-helpdesk -o locales/messages.pot bot/
	$(BIN)/pybabel update --no-wrap --no-fuzzy-matching --ignore-obsolete -i locales/messages.pot -d locales

clean:
	rm -rf $(VENV) .pytest_cache helpdesk.db helpdesk.db-*
