# Two commands on a fresh machine: `make run` (server with demo data and the scheduler) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wsgi

.PHONY: run test lint bench system-deps venv clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	scripts/install-system-deps.sh

run: venv system-deps
	scripts/run.sh

# The whole suite; TEST_DATABASE_URL=postgresql://... runs it on PostgreSQL.
test: venv
	scripts/install-system-deps.sh --with-browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

bench: venv system-deps
	$(BIN)/python -m bench.all

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output
