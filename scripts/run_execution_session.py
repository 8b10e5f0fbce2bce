#!/usr/bin/env python3
"""Run a Peak Trade Strategy-to-Execution Session; the same flags as `peak-trade session`.

Started with an interpreter that lacks the dependencies (e.g. the system `python3`), it runs
itself again with the project's `.venv` interpreter, or says how to create it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ensure_dependencies() -> None:
    if all(importlib.util.find_spec(name) for name in ("pydantic", "rich", "pandas")):
        return
    venv = ROOT / ".venv"
    venv_python = venv / "bin" / "python"
    # A venv's python links to the base interpreter, so compare prefixes, not executables.
    if venv_python.exists() and Path(sys.prefix).resolve() != venv.resolve():
        os.execv(str(venv_python), [str(venv_python), __file__, *sys.argv[1:]])  # noqa: S606
    print(
        "error: Peak Trade's dependencies are not installed for this Python "
        f"({sys.executable}). Run `make venv` in {ROOT}, then use "
        "`.venv/bin/peak-trade session` or `.venv/bin/python scripts/run_execution_session.py`.",
        file=sys.stderr,
    )
    sys.exit(1)


if __name__ == "__main__":
    _ensure_dependencies()
    # Let the script run from a checkout whose package is not installed into this interpreter.
    sys.path.insert(0, str(ROOT / "src"))
    from peak_trade.cli.session import main

    sys.exit(main())
