# Two commands a fresh machine with only Python can run: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
CORE_VENV ?= .venv-core
PY := $(VENV)/bin/python
PIP_FLAGS ?= --disable-pip-version-check -q

.PHONY: test test-full test-core lint demo bench clean matrix

$(PY): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	$(PY) -m pip install $(PIP_FLAGS) -e ".[all,test,dev]"
	touch $(PY)

$(CORE_VENV)/bin/python: pyproject.toml
	$(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	# Core only: no celery, sentry-sdk or OTLP exporter (the test profile checks it).
	$(CORE_VENV)/bin/python -m pip install $(PIP_FLAGS) -e ".[test]"
	touch $(CORE_VENV)/bin/python

## test: lint, type-check, the full suite, then the suite again without any extra
test: lint test-full test-core

lint: $(PY)
	$(VENV)/bin/ruff check django_tracekit tests benchmarks example_project tools
	$(VENV)/bin/mypy

test-full: $(PY)
	TRACEKIT_TEST_PROFILE=full $(PY) -m pytest

test-core: $(CORE_VENV)/bin/python
	TRACEKIT_TEST_PROFILE=core $(CORE_VENV)/bin/python -m pytest

## matrix: the core suite on the oldest and newest supported Python/Django (CI runs it)
matrix:
	bash .ci/matrix

## demo: the example project, on SQLite, with traffic; DEMO_SECONDS=N to stop after N s
demo: $(PY)
	$(PY) example_project/demo.py

## bench: every benchmarks/bench_*.py, ratios against the peers, in one run
bench: $(PY)
	$(PY) -m pip install $(PIP_FLAGS) -e ".[bench]"
	# Logfire pins its own OpenTelemetry: its contender runs from a venv of its own.
	test -x .venv-logfire/bin/python || ($(PYTHON) -m venv .venv-logfire && \
		.venv-logfire/bin/python -m pip install $(PIP_FLAGS) logfire)
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) $(CORE_VENV) .venv-py* .venv-logfire .venv-semgrep .pytest_cache .mypy_cache .ruff_cache artifacts
