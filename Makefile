# Paralab: `make run` starts the service, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run test test-kernels lint bench bench-quick bench-live clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3 setuptools==84.2.1 wheel==0.48.0

# Re-install when the pins or the Cython sources change.
$(STAMP): $(BIN)/python requirements.txt pyproject.toml setup.py $(wildcard kernels/native/*.pyx) $(wildcard package*.json)
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@if [ -f package.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m webapp.launch

test: install
	bash scripts/test.sh

lint: install
	$(BIN)/ruff check kernels webapp tasks tests
	$(BIN)/mypy

bench: install
	$(BIN)/python -m kernels.bench

bench-quick: install
	$(BIN)/python -m kernels.bench --quick

clean:
	rm -rf $(VENV) build *.egg-info node_modules staticfiles kernels/native/*.c kernels/native/*.so

bench-live: install
	$(BIN)/python -m webapp.bench_live

bench-history: install
	$(BIN)/python -m webapp.bench_history
