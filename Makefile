# Two commands: `make demo` (install, then the example studio through the local Mailchimp sandbox)
# and `make test` (install, then the whole test suite). Only Python 3.11, pip and make are needed.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: install demo test bench mutation clean

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

# Mutation testing (docs/testing.md): slow, so not part of `make test` or CI. One line per module to mutate:
# FOLDER:MODULE:TESTS[:FUNCTIONS], the folder mutmut runs in (it copies the code there to mutants/), then the
# module and the tests that must kill its mutants (comma-separated), both relative to that folder, and optionally
# the only functions of the module to mutate (comma-separated, Class.method for a method).
comma := ,
space := $(eval) $(eval)
listed = $(subst $(space),$(comma),$(strip $(addprefix $(1),$(2))))
RULES_TESTS := $(call listed,tests/contacts/,test_rules_table.py test_rules.py test_consent.py test_examples.py \
	test_properties.py test_readers.py test_cli.py)
PLANNER_TESTS := $(call listed,tests/,planner/test_planner_table.py planner/test_planner_properties.py \
	integration/test_email_changes.py integration/test_leavers_and_safety.py integration/test_sync.py)
SENDER_TESTS := $(call listed,tests/hostile/,test_sender_outcomes.py test_retries_and_batches.py)
SENDER_OUTCOMES := $(call listed,,hint_for _subscribe_outcomes _problem_detail Sender._apply_job \
	Sender._chunk_failed Sender.change_emails)
MUTATE := .:opus1_integrations/contacts/rules.py:$(RULES_TESTS)
MUTATE += plugins/mailchimp:opus1_mailchimp/planner.py:$(PLANNER_TESTS)
MUTATE += plugins/mailchimp:opus1_mailchimp/sender.py:$(SENDER_TESTS):$(SENDER_OUTCOMES)
# Hand-made mutants of what mutmut cannot mutate (the SQL of the rules), one script per module.
MUTANT_SCRIPTS := tests/contacts/rules_sql_mutants.py

mutation: export OPUS1_PROPERTY_EXAMPLES = 30
mutation: install
	$(BIN)/python -m pip install --quiet -e ".[test,mutation]"
	@status=0; for target in $(MUTATE); do \
		folder=$${target%%:*}; rest=$${target#*:}; module=$${rest%%:*}; rest=$${rest#*:}; tests=$${rest%%:*}; \
		only=; case $$rest in *:*) only="--only $${rest#*:}";; esac; \
		$(BIN)/python tests/mutation.py $$folder $$module $$tests $$only || status=1; \
	done; \
	for script in $(MUTANT_SCRIPTS); do $(BIN)/python $$script || status=1; done; \
	exit $$status

clean:
	rm -rf $(VENV) build dist .pytest_cache mutants .hypothesis
