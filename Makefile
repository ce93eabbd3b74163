# Every set-up step lives here, so a fresh machine needs only `make demo` or `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: install demo test lint typecheck unit bench clean

# setup.py and the C source too: an edited .c rebuilds the PDQ index's extension
$(STAMP): pyproject.toml setup.py accord/signals/_pdq_index.c
	bash scripts/ensure-system-packages.sh
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

## demo: a fresh node on SQLite with a synthetic world, served on http://127.0.0.1:8000
demo: install
	$(BIN)/accord demo

## test: lint, types, import contracts and the whole suite on SQLite and PostgreSQL, one worker per core
test: install lint typecheck
	bash scripts/ensure-postgres.sh
	$(BIN)/pytest -n auto

lint: install
	$(BIN)/ruff check accord tests bench
	$(BIN)/ruff format --check accord tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy accord

bench: install
	bash scripts/ensure-postgres.sh
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) bench/intake.py

clean:
	rm -rf $(VENV) accord-demo accord-data .pytest_cache .mypy_cache .ruff_cache build accord/signals/_pdq_index*.so
