#!/usr/bin/env python3
"""Run a Peak Trade Strategy-to-Execution Session; the same flags as `peak-trade session`."""

from __future__ import annotations

import sys
from pathlib import Path

# Let the script run from a checkout whose package is not installed into this interpreter.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from peak_trade.cli.session import main

if __name__ == "__main__":
    sys.exit(main())
