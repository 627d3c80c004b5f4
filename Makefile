# Complaint Radar. `make demo` runs the whole product; `make test` runs the test suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint format bento clean postgresql chromium java wrk

# The environment: pinned by constraints.txt, rebuilt when the pins or pyproject change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/radar demo

# Debian's PostgreSQL for the outcome store's tests (they start a server of their own and
# skip, saying why, where it could not be installed: not root, or no apt).
postgresql:
	@command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } ; } || \
	echo "PostgreSQL could not be installed: the tests that need a server will be skipped"

# Debian's Chromium and ChromeDriver for the outreach page's browser test (skipped, saying
# why, where they could not be installed). No browser is ever downloaded at run time.
chromium:
	@{ command -v chromium && command -v chromedriver; } >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } ; } || \
	echo "Chromium could not be installed: the browser test will be skipped"

# Debian's Java runtime for the Spark engine and its tests (skipped, saying why, where it
# could not be installed; slim images lack the man folder its post-install links into).
# PySpark itself is a pinned Python dependency.
java:
	@command -v java >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { mkdir -p /usr/share/man/man1 && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; } ; } || \
	echo "Java could not be installed: the Spark engine's tests will be skipped"

# Debian's wrk, the load generator of the service benchmarks (benchmarks/http_tail.py,
# soak.py, serve_latency.py); not needed by the product or its tests.
wrk:
	@command -v wrk >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } ; } || \
	echo "wrk could not be installed: the service benchmarks fall back to Python clients or stop"

test: $(STAMP) postgresql chromium java
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bento: $(STAMP)
	BENTOML_HOME=$(CURDIR)/workspace/bentoml $(BIN)/bentoml build

clean:
	rm -rf workspace .pytest_cache .ruff_cache
