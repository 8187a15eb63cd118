# `make run`  - set up and run the app on the embedded defaults (SQLite, file cache)
# `make test` - set up and run every test against real PostgreSQL and memcached
# `make bench` / `make faults` - the benchmarks and fault runs in bench/

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The tests and the benchmark need a key; production sets its own.
TEST_ENV := SECRET_KEY=test-only-key-not-secret-0123456789abcdefghijklmnopqrstuvwxyz

.PHONY: run serve test bench faults clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

# The production setup locally: gunicorn, DEBUG off, whitenoise, plain HTTP.
serve: $(VENV)/.installed
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) manage.py migrate --noinput
	$(TEST_ENV) HTTPS_ONLY=0 HOST=127.0.0.1 $(VENV)/bin/gunicorn --config config/gunicorn.py config.wsgi

test: $(VENV)/.installed
	$(PY) -m tests.services packages
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) -m tests.services run -- $(PY) -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(PY) -m tests.services packages
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) -m bench.run $(BENCH_ARGS)

faults: $(VENV)/.installed
	$(PY) -m tests.services packages
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) -m bench.faults $(FAULT_ARGS)

clean:
	rm -rf $(VENV) .cache db.sqlite3
	find staticfiles -mindepth 1 ! -name .gitkeep -delete
