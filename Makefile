# ScaleHooks: `make run` starts the service, `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# The settings file `make run` writes and every command reads (scalehooks/settings.py reads
# ENV_FILE too; the test suite reads none).
ENV_FILE ?= .env
LOOPBACK := 127.0.0.0/8,::1/128
PG_URL ?= postgres://postgres@127.0.0.1:5432/scalehooks
REDIS_TEST_URL ?= redis://127.0.0.1:6379/0

.PHONY: run dev test test-fast test-slow test-postgres test-postgres-fast test-postgres-slow faults-ci lint install chromium pgbouncer

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

# Debian's PgBouncer, which the PostgreSQL stages put in front of the test database in transaction
# mode (tests/callbacks_app/test_pgbouncer.py); installed the same way.
pgbouncer:
	@test -x /usr/sbin/pgbouncer || { $(SUDO) apt-get update && $(SUDO) apt-get install -y pgbouncer; }

# $(call with_cluster,WEB COMMAND): a django-q2 cluster and the web process side
# by side; when either ends, or on Ctrl-C or TERM, both are stopped.
with_cluster = @trap 'trap - INT TERM EXIT; kill $$(jobs -p) 2>/dev/null; wait' INT TERM EXIT; \
	$(PY) manage.py qcluster & \
	$(1) & \
	wait -n

# The web command of `make run` (tests/test_deploy.py runs it too).
WEB := HOST=$(HOST) PORT=$(PORT) $(PY) -m gunicorn -c deploy/gunicorn.conf.py

# With DEBUG off Django needs a secret key of its own: unless SECRET_KEY is set,
# the first `make run` writes a random one to .env, which every manage.py
# command (and gunicorn) reads.
define ensure_secret_key
@if [ -z "$$SECRET_KEY" ] && ! grep -qsE '^(export )?SECRET_KEY=' $(ENV_FILE); then \
	key=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))'); \
	$(PY) deploy/dotenv_set.py $(ENV_FILE) SECRET_KEY=$$key; \
	echo "Wrote a new random SECRET_KEY to $(ENV_FILE)."; \
fi
endef

# What `make run` and `make dev` chose, written to $(ENV_FILE): every `./manage` command run from
# another shell then links to this server and accepts the same loopback targets.
define write_choices
@$(PY) deploy/dotenv_set.py $(ENV_FILE) HOST=$(HOST) PORT=$(PORT) \
	PUBLIC_BASE_URL=$$PUBLIC_BASE_URL CALLBACK_ALLOWED_NETWORKS=$$CALLBACK_ALLOWED_NETWORKS
@echo "Wrote HOST, PORT, PUBLIC_BASE_URL and CALLBACK_ALLOWED_NETWORKS to $(ENV_FILE) for ./manage commands."
endef

# The database brought up to date, quietly (an error still shows): a first run applies some
# eighty migrations, which nobody needs to read.
define migrate
@$(PY) manage.py migrate --noinput --verbosity 0
@echo "Database migrated."
endef

# The service as a small install runs it for real: gunicorn (deploy/gunicorn.conf.py,
# WEB_CONCURRENCY workers) with WhiteNoise serving the static files, and a
# django-q2 cluster, on SQLite and the ORM broker by default, DEBUG off.
# Loopback callback targets are allowed so that a receiver on this machine can
# be used for trying it out. Ctrl-C stops both.
run: export ENV_FILE := $(ENV_FILE)
run: export CALLBACK_ALLOWED_NETWORKS ?= $(LOOPBACK)
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(ensure_secret_key)
	$(write_choices)
	$(migrate)
	@$(PY) manage.py collectstatic --noinput --verbosity 0
	@$(PY) manage.py demo_account
	@echo "Loopback callback targets are allowed for local testing (CALLBACK_ALLOWED_NETWORKS=$$CALLBACK_ALLOWED_NETWORKS)."
	$(call with_cluster,$(WEB))

# Development: Django's auto-reloading server (DEBUG on) and a django-q2 cluster
# (restart `make dev` to reload the cluster's code). Ctrl-C stops both.
dev: export ENV_FILE := $(ENV_FILE)
dev: export CALLBACK_ALLOWED_NETWORKS ?= $(LOOPBACK)
dev: export DEBUG ?= 1
dev: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
dev: $(VENV)/.installed
	$(write_choices)
	$(migrate)
	@$(PY) manage.py demo_account
	@echo "Loopback callback targets are allowed for local testing (CALLBACK_ALLOWED_NETWORKS=$$CALLBACK_ALLOWED_NETWORKS)."
	$(call with_cluster,$(PY) manage.py runserver $(HOST):$(PORT))

# Lint, import order and formatting (ruff, configured in pyproject.toml).
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The suite runs on PYTEST_WORKERS processes (pytest-xdist; 0: in pytest's own process). Each
# worker has its own test database (pytest-django), Redis database (REDIS_URL's number plus the
# worker's, tests/settings.py), ports and media directory.
PYTEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist worksteal)
# The tests that start processes (clusters, chromium, gunicorn) or generate requests by the
# thousand (schemathesis): pytest.ini's markers. The rest is the fast part.
SLOW := cluster or browser or service or schema
ON_POSTGRES := DATABASE_URL=$(PG_URL) REDIS_URL=$(REDIS_TEST_URL)

# Lint, then the whole suite on the default stack (SQLite, ORM broker).
test: $(VENV)/.installed-test chromium lint
	$(PYTEST) $(PYTEST_ARGS)

# The same in two halves (CI runs each as a stage of its own): lint and the fast part, then
# the slow part.
test-fast: $(VENV)/.installed-test lint
	$(PYTEST) -m "not ($(SLOW))" $(PYTEST_ARGS)

test-slow: $(VENV)/.installed-test chromium
	$(PYTEST) -m "$(SLOW)" $(PYTEST_ARGS)

# The whole suite again on PostgreSQL and Redis (started by .ci/services if down), and its halves.
test-postgres: $(VENV)/.installed-test chromium pgbouncer
	bash .ci/services
	$(ON_POSTGRES) $(PYTEST) $(PYTEST_ARGS)

test-postgres-fast: $(VENV)/.installed-test
	bash .ci/services
	$(ON_POSTGRES) $(PYTEST) -m "not ($(SLOW))" $(PYTEST_ARGS)

test-postgres-slow: $(VENV)/.installed-test chromium pgbouncer
	bash .ci/services
	$(ON_POSTGRES) $(PYTEST) -m "$(SLOW)" $(PYTEST_ARGS)

# The fault harness's short schedule (bench/faults.py, docs/reliability.md): its own PostgreSQL and
# Redis, the service as hosts in network namespaces, every fault once on both brokers, the
# invariants checked; under 3 minutes. Needs root and `ip netns`: without them it fails, loudly.
faults-ci: $(VENV)/.installed-test
	@if [ "$$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then \
		echo "faults-ci: network namespaces cannot be made here (root and ip netns are needed); refusing to skip" >&2; \
		exit 2; \
	fi
	$(PY) bench/faults.py --profile ci
