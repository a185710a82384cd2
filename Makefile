# roomchat: `make run` serves the app, `make test` runs the whole suite. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench bench-quick bench-2proc

# Debian's stock Python needs python3-venv for `-m venv`; install it when missing.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); apt-get update && apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

# uvicorn with uvloop + httptools + websockets measured fastest (bench/README.md); per-message
# deflate is off because it costs a zlib context per connection and CPU on every small frame.
# `make run SERVER=daphne` serves the same application with daphne.
SERVER ?= uvicorn
UVICORN_FLAGS := --loop uvloop --http httptools --ws websockets --ws-per-message-deflate false

run: $(VENV)/.run-deps
	$(BIN)/python manage.py migrate --noinput
ifeq ($(SERVER),daphne)
	$(BIN)/daphne -b $(HOST) -p $(PORT) chatsite.asgi:application
else
	$(BIN)/uvicorn chatsite.asgi:application --host $(HOST) --port $(PORT) $(UVICORN_FLAGS)
endif

test: $(VENV)/.dev-deps
	$(BIN)/python -m pytest

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks (bench/README.md): the standard set with the floor, a smoke-sized run, and two
# processes over PostgreSQL + Redis (both must listen on 127.0.0.1). On a shared machine
# `make bench BENCH_FLAGS=--priority=-10` keeps other work from starving the measurement.
BENCH_FLAGS ?=
bench: $(VENV)/.dev-deps
	$(BIN)/python bench/run.py --servers floor,uvicorn,daphne --update-readme $(BENCH_FLAGS)

bench-quick: $(VENV)/.dev-deps
	$(BIN)/python bench/run.py --quick --servers floor,uvicorn,daphne $(BENCH_FLAGS)

bench-2proc: $(VENV)/.dev-deps
	$(BIN)/python bench/run.py --scenarios heavy --servers floor,uvicorn --processes 2 $(BENCH_FLAGS)
