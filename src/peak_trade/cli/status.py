"""`peak-trade status`: the runs in the journals, read-only, safe while sessions write."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from peak_trade.cli.arguments import add_journals, journaled_run, watched_journals
from peak_trade.core.errors import ConfigError
from peak_trade.core.money import trimmed
from peak_trade.journal.runs import RunStatus, run_status
from peak_trade.journal.store import Journal

__all__ = ["DESCRIPTION", "add_status_arguments", "run_status_command"]

DESCRIPTION = (
    "Show every run in the journals (or one): running (held by a live process), finished, "
    "failed, or crashed (nobody holds it and it never stopped: resume it), with its market, "
    "bars, equity, position, trading state and last bar. Reads only; safe while runs write."
)


def add_status_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the status flags."""
    parser.add_argument("run_id", nargs="?", type=journaled_run, metavar="RUN_ID")
    add_journals(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run_status_command(args: argparse.Namespace) -> int:
    """Print the runs; exit 2 when a journal or the run asked for is not there."""
    journals = watched_journals(args.journal)
    missing = [str(path) for path in journals if not path.is_file()]
    if missing:
        raise ConfigError(f"no journal at {', '.join(missing)}")
    now = datetime.now(UTC)
    rows: list[RunStatus] = []
    for path in journals:
        with Journal(path, read_only=True) as journal:
            ids = journal.run_ids() if args.run_id is None else [args.run_id]
            if args.run_id is not None and args.run_id not in journal.run_ids():
                continue
            rows.extend(run_status(journal, run_id, now) for run_id in ids)
    if args.run_id is not None and not rows:
        where = ", ".join(map(str, journals)) or "no journal (none made yet)"
        raise ConfigError(f"no run {args.run_id!r} in {where}")
    if args.json:
        print(json.dumps({"runs": [row.to_dict() for row in rows]}))
    else:
        _print(rows, journals)
    return 0


def _print(rows: list[RunStatus], journals: list[Path]) -> None:
    if not rows:
        where = ", ".join(map(str, journals)) or "the home folder (no journal yet)"
        print(f"no runs in {where}")
        return
    table = Table(title=f"{len(rows)} run(s)")
    columns = ("run", "state", "mode / data", "strategy", "market", "bars", "equity", "position")
    for column in (*columns, "trading", "last bar"):
        right = column in ("bars", "equity", "position")
        table.add_column(column, justify="right" if right else "left", no_wrap=True)
    for row in rows:
        table.add_row(
            Text(row.run_id),
            Text(row.state, style=_STYLES.get(row.state, "")),
            f"{row.mode} / {row.data}",
            Text(row.strategy),
            f"{row.symbol} {row.timeframe}",
            f"{row.bars:,}",
            "-" if row.equity is None else f"{float(row.equity):,.2f}",
            _position(row),
            row.trading_state,
            _last_bar(row),
        )
    wide = None if sys.stdout.isatty() else 250  # a pipe or a file gets whole lines
    Console(file=sys.stdout, width=wide).print(table)


def _position(row: RunStatus) -> str:
    """Return a run's position without trailing zeros, or a portfolio's by symbol."""
    if row.positions is not None:
        held = ", ".join(f"{s} {trimmed(Decimal(q))}" for s, q in row.positions.items())
        return held or "flat"
    return "-" if row.position is None else trimmed(Decimal(row.position))


def _last_bar(row: RunStatus) -> str:
    if row.last_bar is None:
        return "-"
    text = row.last_bar.replace("+00:00", "Z").replace("T", " ")
    if row.seconds_since_close is None:
        return text
    return f"{text} (closed {row.seconds_since_close:,.0f} s ago)"


_STYLES = {"running": "green", "finished": "", "failed": "red", "crashed": "yellow"}
