# Two commands from a clean clone: `make demo` and `make test`. Both build .venv when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed

.PHONY: demo review test lint format bench clean chromium postgresql

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Chairside needs Python 3.11 or newer (PYTHON=$(PYTHON))")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	# the project itself, editable and without touching the lock: gives .venv/bin/chairside
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m chairside demo

# The committed sample on the Review and Course pages, without the simulator or the recorder.
REVIEW_RUN := data/run/sample-review
review: $(STAMP)
	mkdir -p $(REVIEW_RUN)
	printf demo | $(PY) -m chairside user add "Demo Nurse" --password-stdin --users $(REVIEW_RUN)/users.toml
	$(PY) -m chairside dashboard --db $(REVIEW_RUN)/sample.db --start-from data/samples/clinic-sample.db --users $(REVIEW_RUN)/users.toml

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

test: lint chromium postgresql
	$(PY) -m pytest -q

# The browser test drives Debian's Chromium; install it where we may (root with apt-get).
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Chromium is missing and cannot be installed here: the browser test will skip"; fi; }

# The store tests start a throw-away PostgreSQL server from Debian's binaries (initdb, pg_ctl).
postgresql:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	  else echo "PostgreSQL is missing and cannot be installed here: its store tests will skip"; fi; }

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP) postgresql
	$(PY) -m bench.latency
	$(PY) -m bench.ingest
	$(PY) -m bench.engine
	$(PY) -m bench.dashboard
	$(PY) -m bench.review
	$(PY) -m bench.replay
	$(PY) -m bench.backup
	$(PY) -m bench.rems
	$(PY) -m bench.growth
	$(PY) -m bench.notify
	$(PY) -m bench.pg_ingest
	$(PY) -m bench.central

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
