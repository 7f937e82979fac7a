# stepspec developer commands. `make mock` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8080
SEED   ?= 0
DIST   ?= dist

.PHONY: install mock test lint typecheck pytest dist bench screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

mock: $(STAMP)  ## serve the three APIs on 127.0.0.1:$(PORT)
	$(BIN)/stepspec mock --host 127.0.0.1 --port $(PORT) --seed $(SEED)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck pytest  ## ruff + mypy --strict + pytest

dist: $(STAMP)  ## sdist + wheel into $(DIST)/ (stepspec is on no package index: pip install the wheel)
	rm -rf $(DIST)
	$(BIN)/python -m build --outdir $(DIST) .

bench: $(STAMP)  ## needs wrk (apt-get install wrk)
	$(BIN)/python -m benchmarks

screenshots: $(STAMP)  ## needs chromium (apt-get install chromium)
	$(BIN)/python -m mock_server.viewer.screenshot docs/run-viewer.png

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
