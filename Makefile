# Two commands on a fresh machine: `make run` (the main job) and `make test` (the whole suite).
# Each creates .venv and installs what it needs, Debian packages included.
# The venv is made from Debian's CPython when it is 3.11 or newer: Debian builds it with
# profile-guided and link-time optimisation, the interpreter linked into the program, and audits
# run 10-15% faster on it than on a build without them (pyenv's default; bench/audit.py, README).
# Any other python3 otherwise; PYTHON=... chooses.
DEBIAN_PYTHON := $(shell /usr/bin/python3 -c 'import sys; print(sys.version_info >= (3, 11))' 2>/dev/null)
PYTHON ?= $(if $(filter True,$(DEBIAN_PYTHON)),/usr/bin/python3,python3)
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
	@perl -MSisimai -e1 2>/dev/null || ./tools/ensure-debian-packages sisimai-missing=libsisimai-perl
	$(BIN)/pip install -q -e '.[test,bench]'
	@touch $@

## The main job: the test inbox (SMTP on 127.0.0.1:2525, web on http://127.0.0.1:8025/), with
## Debian's spamd on 127.0.0.1:7830 beside it (installed when missing) scoring the content.
run: $(STAMP)
	@./tools/ensure-debian-packages spamd=spamd spamassassin=spamassassin || echo "spamd could not be installed: running without it" >&2
	BIN=$(BIN) ./tools/run-inbox

## The whole test suite (from Debian: spamd, which the content-engine tests start on loopback;
## chromium and swaks, which the inbox tests drive; PostgreSQL and Dovecot, which the storage and
## report-ingestion tests start; Postfix, whose private instance relays to the inbox; BIND, the
## primary the fix tests send dynamic updates to; OpenDKIM, which signs with a key of dkim keygen).
test: $(STAMP)
	@./tools/ensure-debian-packages spamd=spamd spamc=spamc spamassassin=spamassassin chromium=chromium swaks=swaks \
		pg_ctlcluster=postgresql dovecot=dovecot-imapd named=bind9 opendkim=opendkim
	@# Postfix for the relay test, installed unconfigured: only the test's private instance runs
	@[ -x /usr/sbin/postfix ] || { echo "postfix postfix/main_mailer_type select No configuration" \
		| $$([ "$$(id -u)" -ne 0 ] && echo sudo) debconf-set-selections 2>/dev/null; ./tools/ensure-debian-packages postfix=postfix; }
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy src/maildoctor
	$(BIN)/python -m pytest -q

## The benchmarks (not part of `make test`): each prints a table.
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/audit.py --peer checkdmarc
	$(BIN)/python bench/spf.py --peer pyspf
	$(BIN)/python bench/dnsbl.py
	$(BIN)/python bench/message.py --peer spamassassin
	$(BIN)/python bench/inbox.py
	$(BIN)/python bench/reports.py --peer parsedmarc
	$(BIN)/python bench/bounces.py --peer sisimai
	$(BIN)/python bench/scan.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
