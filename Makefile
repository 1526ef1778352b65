# Airspace developer commands. Every target installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROTOSET := build/airspace.protoset

NODE_AGENT := agents/node/node_modules/.installed
BUF := tools/buf/node_modules/.bin/buf
BUF_STAMP := tools/buf/node_modules/.installed

.PHONY: setup node-agent proto proto-check protoset buf-lint buf-breaking lint format test test-fast up demo bench clean

setup: $(STAMP) $(NODE_AGENT)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

node-agent: $(NODE_AGENT)

# The Node.js sample agent's packages, when npm is there (the mesh runs without it otherwise).
$(NODE_AGENT): agents/node/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix agents/node --no-audit --no-fund --silent && touch $@; \
	else echo "npm not found: the Node.js sample agent is left out"; fi

proto: setup
	$(PY) tools/gen_protos.py
	$(PY) tools/gen_reasons_doc.py

proto-check: setup
	@tmp=$$(mktemp -d) && $(PY) tools/gen_protos.py --out $$tmp && \
	diff -r --exclude='*.proto' --exclude='buf.yaml' --exclude='__pycache__' protos $$tmp && rm -rf $$tmp && \
	$(PY) tools/gen_reasons_doc.py --check && \
	echo "generated code is current"

protoset: setup
	mkdir -p build
	$(PY) tools/gen_protos.py --protoset $(PROTOSET)
	@echo "wrote $(PROTOSET)"

# buf from its npm package, which ships the binary.
$(BUF_STAMP): tools/buf/package-lock.json
	npm ci --prefix tools/buf --no-audit --no-fund --silent && touch $@

# buf reads the descriptor set that protoc compiles: the imports come with the Python packages.
buf-lint: protoset $(BUF_STAMP)
	$(BUF) lint '$(PROTOSET)#format=binpb' --config protos/buf.yaml --path airspace
	@echo "buf lint: clean"

buf-breaking: protoset $(BUF_STAMP)
	tools/buf/breaking.sh $(BUF) $(PY) $(PROTOSET)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: setup
	$(PY) -m pytest -q

# The unit tier: pure logic, no servers or subprocesses; seconds.
test-fast: setup
	$(PY) -m pytest -q -m unit

up: setup
	$(VENV)/bin/airspace up

demo: setup
	$(VENV)/bin/airspace demo

bench: setup
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) -m bench

clean:
	rm -rf $(VENV) build .airspace
