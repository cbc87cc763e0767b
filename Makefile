# Partnership CRM — the two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
CRM_TEST_DATABASE_URL ?= $(PG_TEST_URL)
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-test translations migrate demo lint typecheck \
        test-sqlite test-postgres chromium postgres bench clean

## make run: set up .venv, migrate, load the demo data on first start, and serve on :5000
## with the scheduler running beside the web server (both stop together on Ctrl-C).
run: install translations migrate
	@$(FLASK) crm demo --if-empty
	@echo ""
	@echo "  Partnership CRM is starting on http://$(HOST):$(PORT)"
	@echo "  Demo logins (password: demo):"
	@echo "    admin@demo.test     administrator"
	@echo "    manager@demo.test   manager"
	@echo "    officer@demo.test   placement officer"
	@echo "    officer2@demo.test  placement officer"
	@echo "  E-mails are kept in the development mailbox: http://$(HOST):$(PORT)/outbox/"
	@echo ""
	@CRM_BASE_URL=$${CRM_BASE_URL:-http://$(HOST):$(PORT)}; export CRM_BASE_URL; \
	$(FLASK) crm scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(FLASK) run --host $(HOST) --port $(PORT)

## make test: set up, install test dependencies and Chromium, lint, then the whole suite on
## SQLite and on PostgreSQL.
test: install-test translations chromium lint typecheck test-sqlite test-postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

translations: install
	@$(BIN)/pybabel compile --statistics -d translations >/dev/null

migrate: install
	@$(FLASK) db upgrade

lint: install-test
	$(BIN)/ruff check crm tests bench
	$(BIN)/ruff format --check crm

typecheck: install-test
	$(BIN)/mypy

test-sqlite: install-test translations
	CRM_TEST_DATABASE_URL= $(BIN)/pytest

test-postgres: install-test translations postgres
	CRM_TEST_DATABASE_URL=$(CRM_TEST_DATABASE_URL) $(BIN)/pytest

## Debian's chromium for the browser tests (Playwright cannot download browsers here) and
## qpdf, which checks the structure of the generated PDFs.
chromium:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v qpdf >/dev/null || missing="$$missing qpdf"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get install -y -q $$missing || (apt-get update -q && apt-get install -y -q $$missing)) >/dev/null; \
	  else echo "missing:$$missing — run 'sudo apt-get install$$missing'"; exit 1; fi; \
	fi

## Start the local PostgreSQL if it is down (only for the default local test database).
postgres:
	@if [ "$(CRM_TEST_DATABASE_URL)" = "$(PG_TEST_URL)" ] && command -v pg_isready >/dev/null \
	   && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

bench: install-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance
