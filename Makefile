# The two commands a user needs: `make demo` and `make test`. Both build .venv from nothing.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit venv clean bench browser

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

unit: $(STAMP) browser
	$(BIN)/pytest -q

# The dashboard's page is tested in a real headless browser: Debian's chromium and its driver,
# installed here when they are missing (as root, with apt-get; otherwise it says what to do).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian's chromium and chromium-driver for the browser tests"; \
			(apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 || \
			 (apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null)); \
		else \
			echo "the browser tests need Debian's chromium and chromium-driver:" \
				"sudo apt-get install chromium chromium-driver" >&2; exit 1; \
		fi; \
	fi

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
