# DAP: the commands the README opens with. Each target sets up .venv when needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export FLASK_APP := dap

.PHONY: install run test test-pg lint content-check bench bench-pg bench-gunicorn bench-jobs bench-insights bench-api page-weight load soak faults scheduler clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Set up, migrate, load demo data into an empty database, serve http://127.0.0.1:5000
run: install
	$(BIN)/flask --app dap db upgrade
	$(BIN)/flask --app dap demo
	DAP_SCHEDULER=$${DAP_SCHEDULER:-inprocess} $(BIN)/flask --app dap run --debug --host 127.0.0.1 --port 5000

#: test processes (pytest-xdist); each gets its own throwaway database
TEST_WORKERS ?= 2

#: more pytest arguments, e.g. PYTEST_ARGS="-m 'not browser'"
PYTEST_ARGS ?=

## The whole suite (SQLite; set DAP_TEST_DATABASE_URL for PostgreSQL)
test: install
	$(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) $(PYTEST_ARGS)

## The whole suite against the local PostgreSQL server
test-pg: install
	DAP_TEST_DATABASE_URL=$${DAP_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres} $(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

## Validate every file under content/ (front matter, areas, slugs, internal links)
content-check: install
	$(BIN)/flask --app dap content check

bench: install
	$(BIN)/python bench/run.py

#: PostgreSQL server on which the benches create (and drop) a throwaway database
BENCH_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

## The in-process bench on a throwaway PostgreSQL database
bench-pg: install
	$(BIN)/python bench/run.py --database postgresql --pg-url $(BENCH_PG_URL)

## Heartbeat vs /healthz over HTTP: gunicorn, 4 workers, loopback; SQLite then PostgreSQL
bench-gunicorn: install
	$(BIN)/python bench/run.py --server gunicorn --database sqlite
	$(BIN)/python bench/run.py --server gunicorn --database postgresql --pg-url $(BENCH_PG_URL)

## The JSON API's main requests against /healthz, with little and much data; SQLite then PostgreSQL
bench-api: install
	$(BIN)/python bench/api_bench.py --database sqlite
	$(BIN)/python bench/api_bench.py --database postgresql --pg-url $(BENCH_PG_URL)

## One pass of the scheduled scans for 500 and 50,000 participants: wall time and statements
bench-jobs: install
	$(BIN)/python bench/jobs_bench.py --database sqlite
	$(BIN)/python bench/jobs_bench.py --database postgresql --pg-url $(BENCH_PG_URL)

## The insights pages for a cohort with a year of activity: 25, 250 and 1,000 participants
bench-insights: install
	$(BIN)/python bench/insights_bench.py --database sqlite
	$(BIN)/python bench/insights_bench.py --database postgresql --pg-url $(BENCH_PG_URL)

## Bytes each role's pages send (raw, gzip, brotli), first and later visits; exit 1 over 100 KB
page-weight: install
	$(BIN)/python bench/page_weight.py

#: the load test's simulated people and how long it runs (locust's --run-time)
USERS ?= 500
PATRONS ?= 50
FACILITATORS ?= 10
DURATION ?= 5m

## Load test: gunicorn (4 workers) on a throwaway PostgreSQL database under simulated
## participants, patrons and facilitators; then checks check-ins and platform time
load: install
	$(BIN)/python bench/load/run.py --participants $(USERS) --patrons $(PATRONS) \
		--facilitators $(FACILITATORS) --duration $(DURATION) --pg-url $(BENCH_PG_URL)

#: the soak's moderate load, held for half an hour
SOAK_USERS ?= 100
SOAK_DURATION ?= 30m

## Soak: the load test at moderate load for 30 minutes; fails when a worker's memory grows
soak: install
	$(BIN)/python bench/load/run.py --participants $(SOAK_USERS) --patrons 10 \
		--facilitators 3 --duration $(SOAK_DURATION) --pg-url $(BENCH_PG_URL) --soak

#: which fault scenarios to run (default: all; see bench/faults/run.py)
FAULTS ?=

## Fault scenarios with a verdict each (a machine of one's own: some need root, one
## makes and drops a private PostgreSQL cluster, one mounts a tmpfs)
faults: install
	$(BIN)/python bench/faults/run.py $(FAULTS) --pg-url $(BENCH_PG_URL)

## The job scheduler as its own process (production layout)
scheduler: install
	$(BIN)/flask --app dap scheduler

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
