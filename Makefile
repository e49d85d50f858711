# One-file task runner. `make dashboards` and `make test` are the README's two commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TRACKER ?=

.PHONY: setup dashboards test test-nightly lint benchmark bench-hostile sample clean

$(BIN)/patoolkit: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,notebooks]'
	touch $(BIN)/patoolkit

setup: $(BIN)/patoolkit

# The dashboards (Voila, http://127.0.0.1:8866) on a scratch copy of the bundled sample
# tracker; TRACKER=path/to/clinic.xlsx serves a real one.
dashboards: setup
	$(BIN)/patoolkit serve $(TRACKER)

lint: setup
	$(BIN)/ruff check patoolkit tests benchmarks scripts conftest.py
	$(BIN)/mypy

# The generated-workbook invariants (tests/property/test_every_command.py, marker
# `generated`, about 11 minutes of one core) run beside the rest of the suite, one core
# each; their report is printed when both are done, and either failing fails the target.
# (About 12 minutes: 525 generated workbooks; the rest of the suite takes about 9.)
test: lint
	@$(BIN)/python -m pytest -m generated -p no:cacheprovider > .generated-tests.log 2>&1 & \
	generated=$$!; \
	$(BIN)/python -m pytest -m "not generated"; rest=$$?; \
	wait $$generated; invariants=$$?; \
	echo "--- generated-workbook invariants (pytest -m generated) ---"; \
	cat .generated-tests.log; rm -f .generated-tests.log; \
	test $$rest -eq 0 && test $$invariants -eq 0

# The same invariants over 20 times as many generated workbooks (about 3 hours): nightly.
test-nightly: setup
	PATOOLKIT_EXAMPLES_SCALE=20 $(BIN)/python -m pytest -m generated

benchmark: setup
	$(BIN)/python benchmarks/run.py

# The large hostile files of issue 18 (a million-request tracker, a 50 MB CSV, ...), each
# command's time and peak memory (about 15 minutes); the numbers go in benchmarks/README.md.
bench-hostile: setup
	$(BIN)/python benchmarks/bench_hostile.py

# Regenerate the bundled synthetic sample data (deterministic: same bytes every time).
sample: setup
	rm -f sample_data/pa_tracker.xlsx sample_data/claims.xlsx
	$(BIN)/patoolkit sample sample_data/pa_tracker.xlsx --rows 300 --seed 7 --claims sample_data/claims.xlsx

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
