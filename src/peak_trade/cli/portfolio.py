"""`peak-trade backtest --leg … | --portfolio FILE`: several strategies and symbols, one account.

A single leg without parameters of its own is the ordinary backtest of that strategy and
symbol, journaled as always; two or more legs (or a leg with a portfolio file's parameters)
run on the `PortfolioEngine` and write the portfolio report.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from peak_trade.cli.arguments import path_arg
from peak_trade.core.errors import ConfigError
from peak_trade.core.legs import Leg, legs_from_tables, parse_leg, with_weights

__all__ = ["add_leg_arguments", "legs_of", "print_portfolio", "single_leg"]


def add_leg_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --leg and --portfolio."""
    parser.add_argument(
        "--leg",
        action="append",
        metavar="STRATEGY:SYMBOL[:TF]",
        help="a leg of a portfolio, e.g. ma_crossover:BTC/EUR (repeat it; parameters from "
        "[strategy.<key>], equal weights)",
    )
    parser.add_argument(
        "--portfolio",
        type=path_arg,
        metavar="FILE.toml",
        help="a portfolio file: [[leg]] tables with strategy, symbol and optional timeframe, "
        "weight, data_path and params",
    )


def read_portfolio(path: Path) -> list[Leg]:
    """Read a portfolio file's legs; a relative `data_path` is taken from the file's folder."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"portfolio file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read portfolio file {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"portfolio file {path} is not valid TOML: {error}") from None
    legs = legs_from_tables(data, str(path))
    return [
        leg
        if leg.data_path is None or Path(leg.data_path).is_absolute()
        else Leg(
            leg.strategy,
            leg.symbol,
            leg.timeframe,
            leg.weight,
            str(path.parent / leg.data_path),
            leg.params,
        )
        for leg in legs
    ]


def legs_of(args: argparse.Namespace) -> list[Leg] | None:
    """Return the legs the flags give (weights set), or None for a run of one strategy."""
    if not args.leg and args.portfolio is None:
        return None
    if args.leg and args.portfolio is not None:
        raise ConfigError("give the legs with --leg or with --portfolio, not both")
    if args.symbol is not None:
        raise ConfigError("each leg names its symbol; leave out --symbol with --leg/--portfolio")
    legs = [parse_leg(text) for text in args.leg or ()] or read_portfolio(args.portfolio)
    legs = with_weights(legs)
    files = [leg.data_path for leg in legs]
    if len(legs) > 1 and args.data_path is not None:
        raise ConfigError(
            "each leg of a portfolio replays its own file: give data_path in each [[leg]] of a "
            "--portfolio file instead of --data-path"
        )
    if len(legs) > 1 and any(files) and not all(files):
        missing = ", ".join(leg.name for leg in legs if leg.data_path is None)
        raise ConfigError(
            f"a replayed portfolio needs a data_path for every leg; {missing} has none"
        )
    return legs


def single_leg(args: argparse.Namespace, legs: list[Leg]) -> bool:
    """Return True when `legs` is one leg the ordinary backtest runs, and set the flags to
    it: a portfolio of one leg is that strategy on that symbol."""
    if len(legs) != 1 or legs[0].params or (legs[0].weight or 1) != 1:
        return False
    leg = legs[0]
    args.strategy, args.symbol = leg.strategy, leg.symbol
    args.timeframe = leg.timeframe or args.timeframe
    args.data_path = leg.data_path or args.data_path
    return True


def print_portfolio(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print a portfolio run's account and its legs as tables."""
    console = console or Console()
    ledger = summary["ledger"]
    cur = ledger["currency"]
    account = Table(title=f"Portfolio backtest {summary['run_id']}", show_header=False)
    account.add_column("item")
    account.add_column("value", justify="right")
    for item, value in (
        ("bar times", f"{summary['bar_times']:,}"),
        ("start balance", f"{float(ledger['start_balance']):,.2f} {cur}"),
        ("final equity", f"{float(ledger['equity']):,.2f} {cur}"),
        ("net PnL", f"{float(ledger['net_pnl']):,.2f} {cur} ({ledger['return_pct']:.2f}%)"),
        ("fees", f"{float(ledger['fees_paid']):,.2f} {cur}"),
        ("max drawdown", f"{ledger['max_drawdown_pct']:.2f}%"),
        ("trading state", str(summary["trading_state"] or "no risk limits")),
    ):
        account.add_row(item, value)
    console.print(account)
    legs = Table(title="Legs")
    legs.add_column("leg", no_wrap=True)
    for column in ("weight", "bars", "fills", "fees", "PnL", "in market", "denied"):
        legs.add_column(column, justify="right")
    for row in summary["legs"]:
        denied = sum(row["denied"].values())
        legs.add_row(
            row["name"],
            row["weight"],
            f"{row['bars']:,}",
            f"{row['fills']:,}",
            f"{float(row['fees']):,.2f}",
            f"{float(row['pnl']):,.2f}",
            f"{row['time_in_market']:.1%}",
            f"{denied:,}",
        )
    console.print(legs)
    if summary.get("left_active_at"):
        console.print(f"trading left ACTIVE at {summary['left_active_at']}")
    console.print(f"report: {summary.get('report_dir')}")
