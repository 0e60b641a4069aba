# Everything a newcomer needs: `make demo` and `make test` build their own .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check bench venv clean browser screenshots

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[service,dev]'
	touch $(STAMP)

demo: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/demo

test: $(STAMP) browser
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/test

check: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/check

# Debian's Chromium for the browser tests (tests/web) and `make screenshots`; Playwright
# drives it and never downloads a browser. Where it cannot be installed (no apt-get, not
# root, no network) nothing fails: the browser tests are skipped and say why.
CHROMIUM ?= /usr/bin/chromium

browser:
	@test -x $(CHROMIUM) || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	    >/dev/null 2>&1 || echo "Chromium could not be installed: the browser tests will be skipped"; }

# A PNG of every web page, signed in as each role, into docs/screenshots/ (a seeded hub).
screenshots: $(STAMP) browser
	$(BIN)/python -m tests.web.screenshots

# Reference implementations (clkhash, anonlink) live in their own venv: clkhash 0.18 pins
# cryptography<41, which must not meet fieldlink's own dependencies.
BENCH_VENV := .bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): benchmarks/requirements-reference.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements-reference.txt
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps anonlink-client==0.1.9
	touch $(BENCH_STAMP)

bench: $(STAMP) $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.encode_bench

clean:
	rm -rf $(VENV) .bench-venv .pytest_cache .mypy_cache .ruff_cache demo-output
