# zkoracle: everything installs itself. `make run` and `make test` are the quick start.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ROUNDS ?= 3

.PHONY: install run test bench clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

run: install
	$(BIN)/zkoracle run --rounds $(ROUNDS) --with-consumer

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python -m bench.suite
	$(BIN)/python -m bench.slicing

clean:
	rm -rf $(VENV) node_modules .zkoracle
