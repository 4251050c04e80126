# Two commands a new user needs: `make run` (set up, ingest corpus/, serve the web chat) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Nothing may reach for a model hub at run time: there is none on this network.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install system-deps run ingest chat test test-fast eval bench load clean

# Debian packages the tests use: a Japanese font (a test builds a real Japanese PDF; screenshots
# show Japanese), PostgreSQL 15 (the conversation store is tested on a real server), and chromium
# with an emoji font for the browser tests (Playwright drives /usr/bin/chromium; it downloads none).
SYSTEM_PACKAGES := fonts-ipafont-gothic postgresql chromium fonts-noto-color-emoji

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

system-deps:
	@if command -v dpkg >/dev/null 2>&1 && ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null) \
	      || echo "warning: could not install $(SYSTEM_PACKAGES); the PDF, PostgreSQL and browser tests will be skipped"; \
	  else \
	    echo "note: sudo apt-get install $(SYSTEM_PACKAGES) to run the PDF, PostgreSQL and browser tests"; \
	  fi; \
	fi

ingest: install
	$(BIN)/smebot ingest

run: ingest
	$(BIN)/smebot serve

chat: ingest
	$(BIN)/smebot chat

test: install system-deps
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not slow"

eval: install
	$(BIN)/smebot eval --output evals/reports/latest.md

bench: install
	$(BIN)/python -m evals.bench

load: ingest
	$(BIN)/python -m evals.load

clean:
	rm -rf data .pytest_cache
