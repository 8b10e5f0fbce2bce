"""Run the `peak-trade` command in a child process, as a user would, for end-to-end tests."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["journaled", "run_peak", "spawn_peak", "wait_for_bars"]


def run_peak(
    *args: str, cwd: Path, timeout: float = 300, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `peak-trade ARGS` in `cwd` with this interpreter, with `env` added to the
    environment; return its exit code and output."""
    return subprocess.run(  # noqa: S603 (this interpreter, the package's own entry point)
        [sys.executable, "-m", "peak_trade.cli.main", *args],
        cwd=cwd,
        env=None if env is None else os.environ | dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def spawn_peak(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    unset: Sequence[str] = (),
    quiet: bool = False,
) -> subprocess.Popen[str]:
    """Start `peak-trade ARGS` in `cwd` as a child process, with `env` added to the environment
    and the variables `unset` names taken out; its output piped as text (dropped if `quiet`).
    For a test that acts on a command while it runs: a session, a dashboard, a download."""
    environ = {k: v for k, v in os.environ.items() if k not in unset} | dict(env or {})
    output = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(  # noqa: S603 (this interpreter, the package's own entry point)
        [sys.executable, "-m", "peak_trade.cli.main", *args],
        cwd=cwd,
        env=environ,
        stdout=output,
        stderr=output,
        text=True,
    )


def wait_for_bars(journal: Path, run_id: str, count: int, timeout: float = 60) -> None:
    """Wait until run `run_id` has journaled `count` bars (single or quiet runs' events);
    an AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while journaled(journal, run_id, "bar", "bars") < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} journaled no {count} bars in {timeout:g} s")
        time.sleep(0.05)


def journaled(path: Path, run_id: str, *kinds: str) -> int:
    """Return how many events of `kinds` run `run_id` has in the journal at `path` so far (0
    before the journal exists): for a test that waits on a run in another process."""
    if not path.exists():
        return 0
    marks = ", ".join("?" * len(kinds))
    try:
        with sqlite3.connect(path) as db:
            row = db.execute(
                f"SELECT COUNT(*) FROM events WHERE run_id = ? AND kind IN ({marks})",  # noqa: S608
                (run_id, *kinds),
            ).fetchone()
    except sqlite3.OperationalError:  # not written yet
        return 0
    return int(row[0])
