# Everything a newcomer needs: `make demo` and `make test` build their own .venv first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test check bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[service,dev]'
	touch $(STAMP)

demo: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/demo

test: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/test

check: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH scripts/check

# Reference implementations (clkhash, anonlink) live in their own venv: they pin old
# dependencies that must not leak into the project's.
bench: $(STAMP)
	test -x .bench-venv/bin/python || $(PYTHON) -m venv .bench-venv
	.bench-venv/bin/python -m pip install --quiet -e '.[bench]'
	.bench-venv/bin/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .bench-venv .pytest_cache .mypy_cache .ruff_cache demo-output
