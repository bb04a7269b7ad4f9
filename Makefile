# zkoracle: everything installs itself. `make run` and `make test` are the quick start.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
ROUNDS ?= 3

.PHONY: install run test bench clean forge-build forge-test

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

# Foundry (foundry.toml): forge from npm, compiling offline with the solc the node resolves
# (native, or solc-js behind oracle/evm/solc_shim.js). `make test` runs the forge suite too.
FORGE := node_modules/.bin/forge
FORGE_SOLC = $(shell $(BIN)/python -c "from oracle.evm.toolchain import resolve_solc; print(resolve_solc().path)")

forge-build: install
	$(FORGE) build --offline --use $(FORGE_SOLC)

forge-test: install
	$(FORGE) test --offline --use $(FORGE_SOLC)

bench: install
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/python -m bench.suite
	$(BIN)/python -m bench.slicing

clean:
	rm -rf $(VENV) node_modules .zkoracle
