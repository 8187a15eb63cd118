# `make run`  - set up and run the app on the embedded defaults (SQLite, file cache)
# `make test` - set up and run every test against real PostgreSQL and memcached:
#               the app's (tests/, PYTEST_ARGS), then the backend's alone
#               (memcachier_cache/tests/, BACKEND_PYTEST_ARGS) on Django 6.1
#               and on 5.2 LTS
# `make test-backend` - only the backend's tests, with only a memcached server
#               (PYTEST_ARGS), on Django 6.1 and 5.2 LTS; `make test-backend-lts`
#               on 5.2 LTS alone
# `make bench` / `make faults` - the benchmarks and fault runs in bench/

# The Python of .python-version (a minor version, as Heroku reads it) when
# this machine has it: pyenv's, or one on the PATH. Else python3, said loudly.
PYTHON_VERSION := $(shell cat .python-version)
PYENV_PYTHON := $(shell pyenv root 2>/dev/null)/versions/$(shell pyenv versions --bare 2>/dev/null | grep -E '^$(PYTHON_VERSION)(\.[0-9]+)?$$' | sort -V | tail -n 1)/bin/python$(PYTHON_VERSION)
PYTHON ?= $(firstword $(wildcard $(PYENV_PYTHON)) $(shell command -v python$(PYTHON_VERSION)) python3)
# One virtualenv per Django line, both made from PYTHON: the app's, Django
# 6.1 (requirements-dev.txt), and 5.2 LTS with only what the backend's own
# tests need (requirements-lts.txt).
VENV := .venv
PY := $(VENV)/bin/python
LTS_VENV := .venv-lts
LTS_PY := $(LTS_VENV)/bin/python
# The benchmark's peers (bench/peers/) have a virtualenv of their own.
PEERS_VENV := .venv-peers
# The tests and the benchmark need a key; production sets its own.
TEST_ENV := SECRET_KEY=test-only-key-not-secret-0123456789abcdefghijklmnopqrstuvwxyz
# $(call backend_tests,PY): the backend's own tests (memcachier_cache/tests/)
# in PY's virtualenv, run alone: memcached and their own settings, no
# PostgreSQL, no app. Arguments for pytest follow.
backend_tests = $(TEST_ENV) $(1) -m harness.services run --memcached-only -- \
	$(1) -m pytest memcachier_cache/tests --ds=memcachier_cache.tests.settings
BACKEND_TESTS := $(call backend_tests,$(PY))
BACKEND_TESTS_LTS := $(call backend_tests,$(LTS_PY))

.PHONY: run serve test test-backend test-backend-lts bench faults clean python-version

# $(call make_venv,REQUIREMENTS): the recipe of a virtualenv's .installed
# ($@, in the virtualenv). One of another Python (from before a
# .python-version change) is made again from scratch.
define make_venv
@$(@D)/bin/python -c 'import sys; sys.exit(sys.version.startswith("$(PYTHON_VERSION)."))' 2>/dev/null && rm -rf $(@D) || true
$(PYTHON) -m venv $(@D)
$(@D)/bin/python -m pip install --quiet --upgrade pip
$(@D)/bin/python -m pip install --quiet -r $(1)
touch $@
endef

$(VENV)/.installed: requirements.txt requirements-dev.txt .python-version
	$(call make_venv,requirements-dev.txt)

$(LTS_VENV)/.installed: requirements-lts.txt .python-version
	$(call make_venv,requirements-lts.txt)

# The benchmark's peers: the guide's Flask app and a plain cache_page site
# (bench/peers/), kept apart so that their packages never meet the app's.
# pylibmc, the guide's memcached client, builds from source: its Debian
# packages first (`packages --peers`, which `make test` never asks for).
$(PEERS_VENV)/.installed: bench/peers/requirements.txt .python-version | $(VENV)/.installed
	$(PY) -m harness.services packages --peers
	$(call make_venv,bench/peers/requirements.txt)

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

test: python-version $(LTS_VENV)/.installed
	$(PY) -m harness.services packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(TEST_ENV) DATABASE_URL=sqlite:///:memory: $(PY) manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) -m harness.services run -- $(PY) -m pytest $(PYTEST_ARGS)
	$(BACKEND_TESTS) $(BACKEND_PYTEST_ARGS)
	$(BACKEND_TESTS_LTS) $(BACKEND_PYTEST_ARGS)

test-backend: python-version $(LTS_VENV)/.installed
	$(PY) -m harness.services packages --memcached-only
	$(BACKEND_TESTS) $(PYTEST_ARGS)
	$(BACKEND_TESTS_LTS) $(PYTEST_ARGS)

test-backend-lts: $(LTS_VENV)/.installed
	$(LTS_PY) -m harness.services packages --memcached-only
	$(BACKEND_TESTS_LTS) $(PYTEST_ARGS)

bench: python-version $(PEERS_VENV)/.installed
	$(PY) -m harness.services packages
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) -m bench.run $(BENCH_ARGS)

faults: python-version
	$(PY) -m harness.services packages
	$(TEST_ENV) $(PY) manage.py collectstatic --noinput -v0
	$(TEST_ENV) $(PY) -m bench.faults $(FAULT_ARGS)

clean:
	rm -rf $(VENV) $(LTS_VENV) $(PEERS_VENV) .cache db.sqlite3
	find staticfiles -mindepth 1 ! -name .gitkeep -delete
