# One-file task runner. `make dashboards` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TRACKER ?= sample_data/pa_tracker.xlsx

.PHONY: setup dashboards test lint benchmark sample clean

$(BIN)/patoolkit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/patoolkit

setup: $(BIN)/patoolkit

# Until the Voila dashboards land (issue 4) this prints the sample tracker's check
# report and worklist, then opens JupyterLab on notebooks/ (127.0.0.1 only).
dashboards: setup
	$(BIN)/patoolkit check $(TRACKER) || true
	$(BIN)/patoolkit worklist $(TRACKER) | head -40
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser notebooks/

lint: setup
	$(BIN)/ruff check patoolkit tests benchmarks conftest.py
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
