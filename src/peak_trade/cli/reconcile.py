"""`peak-trade reconcile RUN_ID`: replay a session's bars as a backtest and compare bar by bar."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from peak_trade.backtest.portfolio_reconcile import reconcile_portfolio
from peak_trade.backtest.reconcile import reconcile
from peak_trade.cli.arguments import (
    DEFAULT_JOURNALS,
    add_log_level,
    add_strategy_path,
    journaled_run,
    path_arg,
)
from peak_trade.core.errors import ConfigError
from peak_trade.core.home import in_home
from peak_trade.core.peak_config import config_if_any, load_config
from peak_trade.journal.schema import LEGS_KEY
from peak_trade.journal.store import Journal
from peak_trade.user.strategy_files import use_strategies

__all__ = ["DESCRIPTION", "add_reconcile_arguments", "run_reconcile"]

# where runs are journaled when no --journal is given: sessions', then backtests'
_SESSIONS, *_OTHER_JOURNALS = DEFAULT_JOURNALS

DESCRIPTION = (
    "Replay the bars a shadow or testnet session journaled through a backtest and "
    "report, bar by bar, any difference in target, orders, fills or ledger, with the "
    "first divergent bar and why."
)


def add_reconcile_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the reconcile flags."""
    parser.add_argument(
        "run_id", metavar="RUN_ID", type=journaled_run, help="the session to reconcile"
    )
    parser.add_argument(
        "--journal",
        type=path_arg,
        default=in_home(_SESSIONS),
        help="journal file (default: journal/peak_trade.sqlite in the home folder)",
    )
    parser.add_argument(
        "--config",
        type=path_arg,
        help="config file to reconcile against (default: the session's own settings)",
    )
    parser.add_argument(
        "--data-path",
        type=path_arg,
        help=(
            "where a backtest's data file is now, if it moved (it must be the same file: "
            "its SHA-256 is checked)"
        ),
    )
    add_strategy_path(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    add_log_level(parser, "WARNING")


def _journal_with(run_id: str, given: Path) -> Path | None:
    """Return the other default journal that holds `run_id`, when `given` does not."""
    with Journal(given, read_only=True) as journal:
        if run_id in journal.run_ids():
            return None
    for other in map(in_home, _OTHER_JOURNALS):
        if other != given and other.is_file():
            with Journal(other, read_only=True) as journal:
                if run_id in journal.run_ids():
                    return other
    return None


def run_reconcile(args: argparse.Namespace) -> int:
    """Reconcile and print the report; exit 0 whether or not the run diverged."""
    cfg = load_config(args.config) if args.config else None
    use_strategies(cfg or config_if_any(), args.strategy_path)  # the home's strategy paths
    elsewhere = _journal_with(args.run_id, args.journal)
    if elsewhere is not None:
        raise ConfigError(
            f"no run {args.run_id!r} in the journal {args.journal}, but {elsewhere} has it "
            f"(`peak-trade backtest` journals there); add --journal {elsewhere}"
        )
    with Journal(args.journal, read_only=True) as journal:
        if LEGS_KEY in journal.run_started(args.run_id).payload["config"]:
            report = reconcile_portfolio(journal, args.run_id, cfg)
        else:
            report = reconcile(journal, args.run_id, cfg, data_path=args.data_path)
    if args.json:
        print(json.dumps(report.to_dict()))
        return 0
    if report.settings_changed:
        print(
            f"note: the config is not the one the run had ({report.settings_changed}); "
            "differences may come from that. Without --config, the run's own settings are used."
        )
    for after, changes in report.limits_changed:
        where = f"after the bar of {after}" if after else "before its first bar"
        taken = "so does the backtest" if args.config is None else "--config replaces them here"
        print(
            f"note: the run was resumed {where} and checked orders against edited limits "
            f"from there ({changes}); {taken}"
        )
    if report.first is None:
        print(
            f"{report.run_id}: {report.bars:,} bars replayed, no difference: the run did "
            "exactly what its backtest does."
        )
        return 0
    first = report.first
    print(
        f"{report.run_id}: {report.bars:,} bars replayed, {report.bars_with_differences:,} "
        "with differences."
    )
    print(
        f"first divergent bar: {first.bar_time}: {first.item} differs: session "
        f"{first.session}, backtest {first.backtest}; why: {first.why}"
    )
    for difference in report.differences[1:20]:
        print(
            f"  {difference.bar_time}  {difference.item}: session {difference.session}, "
            f"backtest {difference.backtest} ({difference.why})"
        )
    return 0
