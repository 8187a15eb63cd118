# `make run`  - set up and run the app on the embedded defaults (SQLite, file cache)
# `make test` - set up and run every test against real PostgreSQL and memcached:
#               the app's (tests/, PYTEST_ARGS), then the backend's alone
#               (memcachier_cache/tests/, BACKEND_PYTEST_ARGS)
# `make test-backend` - only the backend's tests, with only a memcached server
#               (PYTEST_ARGS)
# `make bench` / `make faults` - the benchmarks and fault runs in bench/

# The Python of .python-version (a minor version, as Heroku reads it) when
# this machine has it: pyenv's, or one on the PATH. Else python3, said loudly.
PYTHON_VERSION := $(shell cat .python-version)
PYENV_PYTHON := $(shell pyenv root 2>/dev/null)/versions/$(shell pyenv versions --bare 2>/dev/null | grep -E '^$(PYTHON_VERSION)(\.[0-9]+)?$$' | sort -V | tail -n 1)/bin/python$(PYTHON_VERSION)
PYTHON ?= $(firstword $(wildcard $(PYENV_PYTHON)) $(shell command -v python$(PYTHON_VERSION)) python3)
VENV := .venv
PY := $(VENV)/bin/python
# The tests and the benchmark need a key; production sets its own.
TEST_ENV := SECRET_KEY=test-only-key-not-secret-0123456789abcdefghijklmnopqrstuvwxyz
# The backend's own tests (memcachier_cache/tests/), run alone: memcached and
# their own settings, no PostgreSQL, no app. Arguments for pytest follow.
BACKEND_TESTS := $(TEST_ENV) $(PY) -m harness.services run --memcached-only -- \
	$(PY) -m pytest memcachier_cache/tests --ds=memcachier_cache.tests.settings

.PHONY: run serve test test-backend bench faults clean python-version

# A virtualenv of another Python (from before a .python-version change) is
# made again from scratch.
$(VENV)/.installed: requirements.txt requirements-dev.txt .python-version
	@$(PY) -c 'import sys; sys.exit(sys.version.startswith("$(PYTHON_VERSION)."))' 2>/dev/null && rm -rf $(VENV) || true
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Which Python this run uses, and a warning if it is not .python-version's.
python-version: $(VENV)/.installed
	@$(PY) -c 'import platform, sys; print(f"Python {platform.python_version()} ({sys.executable})")'
	@$(PY) -c 'import sys; sys.exit(not sys.version.startswith("$(PYTHON_VERSION)."))' || \
		echo "WARNING: .python-version asks for $(PYTHON_VERSION); this machine has no such Python"

run: $(VENV)/.installed
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

# The production setup locally: gunicorn, DEBUG off, whitenoise, plain HTTP.
serve: $(VENV)/.installed
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) manage.py migrate --noinput
	$(TEST_ENV) HTTPS_ONLY=0 HOST=127.0.0.1 $(VENV)/bin/gunicorn --config config/gunicorn.py config.wsgi

test: python-version
	$(PY) -m harness.services packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(TEST_ENV) DATABASE_URL=sqlite:///:memory: $(PY) manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) -m harness.services run -- $(PY) -m pytest $(PYTEST_ARGS)
	$(BACKEND_TESTS) $(BACKEND_PYTEST_ARGS)

test-backend: python-version
	$(PY) -m harness.services packages --memcached-only
	$(BACKEND_TESTS) $(PYTEST_ARGS)

bench: python-version
	$(PY) -m harness.services packages
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) -m bench.run $(BENCH_ARGS)

faults: python-version
	$(PY) -m harness.services packages
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) -m bench.faults $(FAULT_ARGS)

clean:
	rm -rf $(VENV) .cache db.sqlite3
	find staticfiles -mindepth 1 ! -name .gitkeep -delete
