# Two commands on a fresh machine: `make run` (the main job) and `make test` (the whole suite).
# Each creates .venv and installs what it needs, Debian packages included.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench clean

$(BIN)/python:
	@./tools/ensure-debian-packages python3=python3
	@$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || ./tools/ensure-debian-packages python3-venv-missing=python3-venv
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

$(VENV)/.installed-bench: $(STAMP)
	@./tools/ensure-debian-packages nsd=nsd spamd=spamd spamc=spamc spamassassin=spamassassin
	$(BIN)/pip install -q -e '.[test,bench]'
	@touch $@

## The main job: for now the offline audit of the shipped example zone.
run: $(STAMP)
	$(BIN)/maildoctor zone examples/afspraakmanager.be.zone --fail-on never

## The whole test suite (spamd from Debian: the content-engine tests start it on loopback).
test: $(STAMP)
	@./tools/ensure-debian-packages spamd=spamd spamc=spamc spamassassin=spamassassin
	$(BIN)/python -m pytest -q

## The benchmarks (not part of `make test`): each prints a table.
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/audit.py --peer checkdmarc
	$(BIN)/python bench/spf.py --peer pyspf
	$(BIN)/python bench/dnsbl.py
	$(BIN)/python bench/message.py --peer spamassassin

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
