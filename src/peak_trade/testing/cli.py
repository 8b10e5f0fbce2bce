"""Run the `peak-trade` command in a child process, as a user would, for end-to-end tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["run_peak"]


def run_peak(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run `peak-trade ARGS` in `cwd` with this interpreter; return its exit code and output."""
    return subprocess.run(  # noqa: S603 (this interpreter, the package's own entry point)
        [sys.executable, "-m", "peak_trade.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
