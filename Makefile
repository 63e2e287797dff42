# ScaleHooks: `make run` starts the service, `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
PG_URL ?= postgres://postgres@127.0.0.1:5432/scalehooks
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test test-postgres install chromium

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

install: $(VENV)/.installed

# The browser tests drive Debian's chromium through Playwright (never
# `playwright install`, whose download fails on closed networks). Installed
# here when missing, so a fresh machine runs the whole suite.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@test -x /usr/bin/chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

# Web server and django-q2 cluster together, on SQLite and the ORM broker by
# default. Loopback callback targets are allowed so that a receiver on this
# machine can be used for trying it out. Ctrl-C stops both.
run: export CALLBACK_ALLOWED_NETWORKS ?= 127.0.0.0/8,::1/128
run: export DEBUG ?= 1
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_account --url http://$(HOST):$(PORT)
	@echo "Loopback callback targets are allowed for local testing (CALLBACK_ALLOWED_NETWORKS=$$CALLBACK_ALLOWED_NETWORKS)."
	@trap 'trap - INT TERM EXIT; kill $$(jobs -p) 2>/dev/null; wait' INT TERM EXIT; \
	$(PY) manage.py qcluster & \
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload & \
	wait -n

# The whole suite on the default stack (SQLite, ORM broker).
test: $(VENV)/.installed-test chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# The whole suite again on PostgreSQL and Redis (started by .ci/services if down).
test-postgres: $(VENV)/.installed-test chromium
	bash .ci/services
	DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL) $(PY) -m pytest $(PYTEST_ARGS)
