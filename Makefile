# Two commands a new user needs: `make run` (set up, ingest corpus/, chat) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Nothing may reach for a model hub at run time: there is none on this network.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: install run ingest chat test test-fast eval bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.installed

ingest: install
	$(BIN)/smebot ingest

run: ingest
	$(BIN)/smebot chat

test: install
	$(BIN)/pytest -q

test-fast: install
	$(BIN)/pytest -q -m "not slow"

eval: install
	$(BIN)/smebot eval

clean:
	rm -rf data .pytest_cache
