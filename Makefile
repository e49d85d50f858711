# One-file task runner. `make dashboards` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TRACKER ?=

.PHONY: setup dashboards test lint benchmark sample clean

$(BIN)/patoolkit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/patoolkit

setup: $(BIN)/patoolkit

# The dashboards (Voila, http://127.0.0.1:8866) on a scratch copy of the bundled sample
# tracker; TRACKER=path/to/clinic.xlsx serves a real one.
dashboards: setup
	$(BIN)/patoolkit serve $(TRACKER)

lint: setup
	$(BIN)/ruff check patoolkit tests benchmarks scripts conftest.py
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

benchmark: setup
	$(BIN)/python benchmarks/run.py

# Regenerate the bundled synthetic sample data (deterministic: same bytes every time).
sample: setup
	rm -f sample_data/pa_tracker.xlsx sample_data/claims.xlsx
	$(BIN)/patoolkit sample sample_data/pa_tracker.xlsx --rows 300 --seed 7 --claims sample_data/claims.xlsx

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
