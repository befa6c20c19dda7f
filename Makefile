# One command runs the service, one runs the tests; both build the virtual environment first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
POSTGRES_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_test
SQLITE_TEST_URL ?= sqlite+aiosqlite:///inbound_test.db
PYTEST_ARGS ?= -n 2

.PHONY: run demo test test-postgres test-sqlite lint format openapi lock clean bench bench-reports \
	bench-leads bench-webhooks bench-crm bench-tracking bench-nbc bench-survey-report bench-journey

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install --quiet -c constraints.txt -e '.[test]'
	touch $@

## run: install, migrate the database (SQLite ./inbound.db unless INBOUND_DATABASE_URL says otherwise) and serve on :8000
run: $(VENV)/.installed
	$(BIN)/inbound db upgrade
	$(BIN)/inbound serve

## demo: install, fill ./demo.db afresh with a synthetic year (printing a reports key for /dashboard) and serve it on :8000
demo: $(VENV)/.installed
	rm -f demo.db demo.db-wal demo.db-shm
	INBOUND_DATABASE_URL=sqlite+aiosqlite:///./demo.db $(BIN)/inbound demo
	INBOUND_DATABASE_URL=sqlite+aiosqlite:///./demo.db $(BIN)/inbound serve

## test: install with the test extras and run the whole suite on PostgreSQL, then on SQLite
test: test-postgres test-sqlite

test-postgres: $(VENV)/.installed-test
	INBOUND_TEST_DATABASE_URL='$(POSTGRES_TEST_URL)' $(BIN)/pytest $(PYTEST_ARGS)

test-sqlite: $(VENV)/.installed-test
	INBOUND_TEST_DATABASE_URL='$(SQLITE_TEST_URL)' $(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: lead captures per second and latency on PostgreSQL, against pgbench (BENCH_ARGS adds options)
bench: $(VENV)/.installed-test
	$(BIN)/python bench/capture.py $(BENCH_ARGS)

## bench-reports: report latency over 1,000,000 contacts, against hand-written SQL (BENCH_ARGS adds options)
bench-reports: $(VENV)/.installed-test
	$(BIN)/python bench/reports.py $(BENCH_ARGS)

## bench-survey-report: the survey report over 2,000,000 answers, against its own counting SQL (BENCH_ARGS adds options)
bench-survey-report: $(VENV)/.installed-test
	$(BIN)/python bench/survey_report.py $(BENCH_ARGS)

## bench-journey: the journey report over 1,000,000 contacts and 2,000,000 answers, against hand-written SQL
bench-journey: $(VENV)/.installed-test
	$(BIN)/python bench/journey.py $(BENCH_ARGS)

## bench-leads: listing 500 qualified leads of 1,000,000 contacts, against hand-written SQL
bench-leads: $(VENV)/.installed-test
	$(BIN)/python bench/leads.py $(BENCH_ARGS)

## bench-webhooks: webhook deliveries per second to a local receiver, against the bare sender
bench-webhooks: $(VENV)/.installed-test
	$(BIN)/python bench/webhooks.py $(BENCH_ARGS)

## bench-nbc: next-best-content latency at 200 requests/s over 1M events and 10k contacts (BENCH_ARGS adds options)
bench-nbc: $(VENV)/.installed-test
	$(BIN)/python bench/nbc.py $(BENCH_ARGS)

## bench-crm: contacts synced to the HubSpot emulator per second, against the ceiling its limits allow
bench-crm: $(VENV)/.installed-test
	$(BIN)/python bench/crm.py $(BENCH_ARGS)

## bench-tracking: events per second through /api/v1/batch, against COPY of the same rows; then kill -9 and SIGTERM durability checks
bench-tracking: $(VENV)/.installed-test
	$(BIN)/python bench/tracking.py $(BENCH_ARGS)

## openapi: regenerate the committed API contract from the code
openapi: $(VENV)/.installed
	$(BIN)/inbound openapi --output openapi/openapi.json
	$(BIN)/inbound openapi --output openapi/openapi.yaml

## lock: re-pin every installed version after changing dependencies in pyproject.toml
lock:
	rm -rf $(VENV).lock
	$(PYTHON) -m venv $(VENV).lock
	$(VENV).lock/bin/python -m pip install --quiet --upgrade pip
	$(VENV).lock/bin/python -m pip install --quiet -e '.[test]'
	$(VENV).lock/bin/python -m pip freeze --exclude-editable | grep -v '^inbound' > constraints.txt
	rm -rf $(VENV).lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
