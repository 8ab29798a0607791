# Frontdesk — `make run` and `make test` do all the set-up on a fresh machine with Python 3.11.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Parallel test processes (pytest-xdist); CI machines have 2 cores.
TEST_WORKERS ?= auto

.PHONY: install run test test-sqlite test-postgres lint format lock messages bench bench-chat bench-time clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/frontdesk migrate --no-input -v 0
	$(BIN)/frontdesk demo --if-empty
	$(BIN)/frontdesk serve --host $(HOST) --port $(PORT)

test: install lint test-sqlite test-postgres

test-sqlite: install
	env -u DATABASE_URL $(BIN)/pytest -n $(TEST_WORKERS) -q

# Runs the same suite on PostgreSQL when FRONTDESK_TEST_POSTGRES_URL (or DATABASE_URL) is set.
test-postgres: install
	@url="$${FRONTDESK_TEST_POSTGRES_URL:-$${DATABASE_URL:-}}"; \
	if [ -n "$$url" ]; then \
	  echo "== the suite on PostgreSQL ($$url)"; \
	  DATABASE_URL="$$url" $(BIN)/pytest -n $(TEST_WORKERS) -q; \
	else echo "== PostgreSQL run skipped: set FRONTDESK_TEST_POSTGRES_URL to run it"; fi

lint: install
	$(BIN)/ruff check frontdesk tests
	$(BIN)/ruff format --check frontdesk tests
	$(BIN)/mypy frontdesk

format: install
	$(BIN)/ruff check --fix frontdesk tests
	$(BIN)/ruff format frontdesk tests

# Benchmarks (bench/README.md, results in docs/performance.md). `make bench` runs them all side by
# side with the peer (django-helpdesk, installed into bench/.peer-venv) and prints one table; it
# takes about an hour at 1M conversations. `make bench ARGS=--quick` is a check in a few minutes;
# `make bench-chat ARGS=--quick` runs one of them alone.
bench: install
	$(BIN)/python bench/run.py $(ARGS)

bench-chat: install
	$(BIN)/python bench/chat_load.py $(ARGS)

bench-time: install
	$(BIN)/python bench/business_time.py $(ARGS)

# Re-pin every dependency after changing pyproject.toml.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade "pip>=24" && .lock-venv/bin/pip install --quiet ".[dev]"
	.lock-venv/bin/pip freeze --exclude-editable | grep -v '^frontdesk' > constraints.txt
	rm -rf .lock-venv

# Update the catalogue after changing strings, translate the new entries (no fuzzy or empty ones:
# tests/test_i18n.py checks), then compile. The compiled .mo files are committed (like Django does), so
# installing needs no gettext tools; this target does. JavaScript has no catalogue of its own: its
# strings are rendered by templates (desk/inbox/_js_strings.html, data-* attributes).
messages: install
	cd frontdesk && ../$(BIN)/frontdesk makemessages -l pl --no-obsolete --ignore='static/vendor/*'
	cd frontdesk && ../$(BIN)/frontdesk compilemessages

clean:
	rm -rf $(VENV) var
