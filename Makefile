# The two commands a user needs: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit venv clean bench

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Peak Trade needs Python 3.11, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev,cluster]'
	@touch $@

venv: $(STAMP)

# A shadow session of ma_crossover on 5,000 synthetic BTC/EUR 1m bars, as fast as it can run.
demo: $(STAMP)
	$(BIN)/peak-trade session --data synthetic --steps 5000 --no-sleep --log-level WARNING \
		--journal journal/demo.sqlite

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

# Side-by-side speed of the full pipeline, backtesting.py, vectorbt and NautilusTrader (installs
# the bench extra, and NautilusTrader in a venv of its own: it needs pandas < 3).
NAUTILUS := .venv-nautilus
bench: $(STAMP) $(NAUTILUS)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/replay_speed.py --bars 100000
	$(BIN)/python benchmarks/fx_agreement.py --bars 50000

$(NAUTILUS)/.installed: benchmarks/nautilus-requirements.txt
	$(PYTHON) -m venv $(NAUTILUS)
	$(NAUTILUS)/bin/python -m pip install --quiet -r benchmarks/nautilus-requirements.txt
	@touch $@

clean:
	rm -rf $(VENV) $(NAUTILUS) build src/*.egg-info .mypy_cache .ruff_cache
