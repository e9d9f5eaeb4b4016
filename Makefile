PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000

.PHONY: install run test lint schema bench bench-alerts loadtest worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# A fresh machine: virtualenv, dependencies, database, demo data, server (DEBUG on, embedded defaults).
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py runserver $(HOST)

# The whole suite; on PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set. Then the web player's
# JavaScript unit tests, with node's built-in test runner (no npm package needed).
test: install
	node --test static/player/test/
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

schema: install
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file schema.yml

# Players' hot paths against the database's own limit, in one run (needs DATABASE_URL for PostgreSQL; the
# heartbeat flush's also REDIS_URL).
bench: install
	$(BIN)/python bench/device_protocol.py $(BENCH_ARGS)
	$(BIN)/python bench/stats.py $(STATS_BENCH_ARGS)
	$(BIN)/python bench/management_lists.py $(BENCH_LIST_ARGS)
	$(BIN)/python bench/flush.py $(FLUSH_BENCH_ARGS)

# N paired players against gunicorn + Celery on PostgreSQL and Redis (needs DATABASE_URL and REDIS_URL);
# a few minutes. LOADTEST_ARGS="--screens 60000 --interval 60 --duration 180" for the full fleet.
LOADTEST_PORT ?= 8501
loadtest: install
	LOADTEST_PORT=$(LOADTEST_PORT) $(BIN)/python bench/fleet.py $(LOADTEST_ARGS)

# One alert evaluation pass (10,000 players, 20 rules) against the raw SQL of its conditions (PostgreSQL).
bench-alerts: install
	$(BIN)/python bench/alerts.py $(BENCH_ARGS)

worker: install
	$(BIN)/celery -A signage worker --loglevel=info

beat: install
	$(BIN)/celery -A signage beat --loglevel=info

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
