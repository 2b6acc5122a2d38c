# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# MovieLens 100k: EMBREC_DATA_DIR if set, else ../shared/data when present, else the cache/download.
export EMBREC_DATA_DIR ?= $(if $(wildcard ../shared/data/ml-100k/u.data),$(abspath ../shared/data),)

.PHONY: demo test lint bench install clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/embrec demo

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

bench: install
	$(BIN)/python benchmarks/foundation.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
