# Two commands: `make demo` (install, then the example studio through the local Mailchimp sandbox)
# and `make test` (install, then the whole test suite). Only Python 3.11, pip and make are needed.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install demo test bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml plugins/mailchimp/pyproject.toml examples/csv_export/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[test]" -e plugins/mailchimp -e examples/csv_export
	touch $@

demo: install
	$(BIN)/opus1-int mailchimp demo examples/studio/accounts.jsonl

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache
