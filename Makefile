# Paralab: `make run` starts the service, `make test` runs every test.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: install run test test-slurm test-kernels lint bench bench-quick bench-live clean docker-smoke bench-study

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3 setuptools==84.2.1 wheel==0.48.0

# Re-install when the pins or the Cython sources change.
$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt pyproject.toml setup.py $(wildcard kernels/native/*.pyx kernels/native/*.pxd) $(wildcard package*.json)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@if [ -f package.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m webapp.launch

test: install
	bash scripts/test.sh

# Against a real Slurm (Debian's slurm-wlm and munge, installed if missing; root): scripts/test_slurm.sh.
test-slurm: install
	bash scripts/test_slurm.sh

lint: install
	$(BIN)/ruff check kernels client webapp tasks tests bench
	$(BIN)/mypy

bench: install
	$(BIN)/python -m kernels.bench

bench-quick: install
	$(BIN)/python -m kernels.bench --quick

clean:
	rm -rf $(VENV) build *.egg-info node_modules staticfiles kernels/native/*.c kernels/native/*.so

bench-live: install
	$(BIN)/python -m bench.live

bench-history: install
	$(BIN)/python -m bench.history

# Builds the image and runs the compose stack for real (Docker engine, Compose v2; root): scripts/docker_smoke.sh.
docker-smoke:
	bash scripts/docker_smoke.sh

# The seed preset study for real; LOAD=N runs N competing busy loops beside it (disturbed runs are flagged and re-run).
bench-study: install
	$(BIN)/python -m bench.study --load $(or $(LOAD),0)
