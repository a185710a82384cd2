# roomchat: `make run` serves the app, `make test` runs the whole suite. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format lint-js format-js browser-deps screenshots bench bench-quick bench-2proc messages messages-compile

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
UVICORN_FLAGS := --loop uvloop --http httptools --ws chatsite.websocket_protocol:CoalescingWebSocketProtocol --ws-per-message-deflate false --lifespan off
# Frames over 1 MiB are refused by uvicorn itself (the app refuses anything over WS_FRAME_MAX_BYTES).
UVICORN_FLAGS += --ws-max-size 1048576
# The app reads X-Forwarded-For itself, from TRUSTED_PROXY_COUNT proxies only; uvicorn would believe
# it from any local process.
UVICORN_FLAGS += --no-proxy-headers

# Static files are collected before serving, so they go out hashed (cached for good) and compressed.
run: export STATIC_MANIFEST ?= 1
run: $(VENV)/.run-deps
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v 0
ifeq ($(SERVER),daphne)
	$(BIN)/daphne -b $(HOST) -p $(PORT) chatsite.asgi:application
else
	$(BIN)/uvicorn chatsite.asgi:application --host $(HOST) --port $(PORT) $(UVICORN_FLAGS)
endif

# The production pass: a database, Redis prefix and key of this checkout's own, so parallel runs
# on one machine do not collide.
CHECKOUT := $(notdir $(CURDIR))
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/roomchat_$(CHECKOUT)
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
TEST_REDIS_PREFIX ?= roomchat-$(CHECKOUT)-$(shell printf %s "$(CURDIR)" | cksum | cut -d" " -f1)

# Twice: SQLite + in-memory layer (the default path), then everything, production tests included,
# on PostgreSQL + Redis (started, or installed, by scripts/ensure-services.sh).
test: lint-js $(VENV)/.dev-deps browser-deps
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python -m pytest -m "not production"
	scripts/ensure-services.sh "$(TEST_DATABASE_URL)" "$(TEST_REDIS_URL)"
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" REDIS_PREFIX="$(TEST_REDIS_PREFIX)" \
		SECRET_KEY=test-only-not-a-secret $(BIN)/python -m pytest

lint: lint-js $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: format-js $(VENV)/.dev-deps
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Biome lints and formats static/ (biome.json); its exact version is pinned in package-lock.json.
# A fresh machine may have no npm: apt installs it.
BIOME := node_modules/.bin/biome
$(BIOME): package.json package-lock.json
	command -v npm >/dev/null || { apt-get update && apt-get install -y npm; }
	npm ci --no-audit --no-fund
	touch $@

lint-js: $(BIOME)
	$(BIOME) ci static

format-js: $(BIOME)
	$(BIOME) check --write static

# Translations (README.md, "Languages"). `make messages` refreshes locale/*/LC_MESSAGES/django.po from
# the marked strings; it needs GNU gettext's xgettext (a developer's tool: apt installs it when
# missing). `make messages-compile` writes the .mo files with the pure-Python polib; both .po and .mo
# are committed, so `make run` and `make test` need neither.
MESSAGES_IGNORE := --ignore=.venv --ignore=node_modules --ignore=tests --ignore=bench --ignore=staticfiles \
	--ignore=media --ignore=docs --ignore="templates/admin/*"
messages: $(VENV)/.dev-deps
	command -v xgettext >/dev/null || { apt-get update && apt-get install -y gettext; }
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py makemessages --all --domain django --no-location \
		--no-obsolete $(MESSAGES_IGNORE)
	$(BIN)/python scripts/compile_messages.py

messages-compile: $(VENV)/.dev-deps
	$(BIN)/python scripts/compile_messages.py

# Debian's Chromium for the browser tests (Playwright's own download does not work here). Locally a
# failed install only warns (the browser tests then skip, loudly); with REQUIRE_BROWSER set (CI) it fails.
browser-deps:
	@scripts/install-chromium.sh || { [ -z "$$REQUIRE_BROWSER" ] && echo "WARNING: Chromium is not installed; the browser tests will be SKIPPED." >&2; }

# PNGs of the home page and a room (light, dark, phone width) into docs/screenshots/.
screenshots: $(VENV)/.dev-deps browser-deps
	$(BIN)/python scripts/screenshots.py


# Benchmarks (bench/README.md): the standard set with the floor, roomchat on SQLite and on
# PostgreSQL + Redis (uvicorn-pg: two processes; both services must listen on 127.0.0.1), a
# smoke-sized run, and the heavy scenario alone on two processes. On a shared machine
# `make bench BENCH_FLAGS=--priority=-10` keeps other work from starving the measurement.
BENCH_FLAGS ?=
bench: $(VENV)/.dev-deps
	$(BIN)/python bench/run.py --servers floor,uvicorn,uvicorn-pg --update-readme $(BENCH_FLAGS)

bench-quick: $(VENV)/.dev-deps
	$(BIN)/python bench/run.py --quick --servers floor,uvicorn,uvicorn-pg,daphne $(BENCH_FLAGS)

bench-2proc: $(VENV)/.dev-deps
	$(BIN)/python bench/run.py --scenarios heavy --servers floor,uvicorn --processes 2 $(BENCH_FLAGS)
