"""`peak-trade download`: an exchange's candle history into a replay file, resumably."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from peak_trade.cli.arguments import TIMEFRAME_HELP, path_arg
from peak_trade.core.errors import ConfigError, did_you_mean
from peak_trade.core.peak_config import load_config
from peak_trade.core.types import TIMEFRAMES, Timeframe, parse_symbol
from peak_trade.session.stop_signals import on_stop_signals

if TYPE_CHECKING:
    from peak_trade.data.download import History

__all__ = ["DESCRIPTION", "add_download_arguments", "run_download"]

DESCRIPTION = (
    "Download an exchange's candles into a CSV or Parquet file that backtests, sweeps and "
    "sessions replay, with the exchange, symbol, timeframe and instrument rules written "
    "beside them. Kraken's OHLC holds only its latest 720 candles; older ones are built from "
    "its public trade history. An interrupted download goes on where it stopped when run again."
)
_FORMATS = (".csv", ".parquet")


def add_download_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the download flags."""
    a = parser.add_argument
    a("--exchange", default="kraken", help="a ccxt exchange id (default: kraken)")
    a("--symbol", default="BTC/EUR", help="BASE/QUOTE (default: BTC/EUR)")
    a("--timeframe", "-t", default="1m", choices=list(TIMEFRAMES), help=TIMEFRAME_HELP)
    a("--since", required=True, type=_moment, help="first candle: 2024-01-01 or an ISO time (UTC)")
    a("--until", type=_moment, help="end, excluded (default: the last closed candle)")
    a("--out", required=True, type=path_arg, help="FILE.csv or FILE.parquet")
    a(
        "--pace",
        type=_pace,
        default=1.0,
        help="seconds between requests (default: 1; Kraken allows about one public call a second)",
    )
    a(
        "--config",
        type=path_arg,
        help="config whose [kraken] base_url and timeout to use (default: "
        "$PEAK_TRADE_CONFIG_PATH, else the home folder's)",
    )


def _moment(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date or an ISO time such as 2024-01-01 or 2024-01-01T12:00, was {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _pace(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 60:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 60, was {text!r}")
    return value


def run_download(args: argparse.Namespace) -> int:
    """Download, showing progress on a terminal; print what the file holds."""
    from peak_trade.data.downloading import describe_span, download

    timeframe = Timeframe(args.timeframe)
    symbol = "/".join(parse_symbol(args.symbol))
    out: Path = args.out
    if out.suffix.lower() not in _FORMATS:
        raise ConfigError(f"--out must end in .csv or .parquet, was {out}")
    until = args.until if args.until is not None else 2**62
    if args.since >= until:
        raise ConfigError("--since must be before --until")
    step = timeframe.seconds
    span = (args.since // step * step, until)
    history = _history(args, symbol, timeframe)
    stop = threading.Event()
    history.pacer.sleep = stop.wait  # a signal ends a wait at once
    with on_stop_signals(lambda _sig: stop.set()), _progress() as progress:
        result = download(history, timeframe, out, span, progress=progress, stopped=stop.is_set)
    if result.stopped:
        print(
            f"stopped after {result.fetched:,} new candles; they are kept in {out}.part, and "
            "the same command goes on from there",
            file=sys.stderr,
        )
        return 1
    print(
        f"{out}: {result.rows:,} candles of {symbol} {timeframe.name} from {history.exchange}, "
        f"{describe_span(result)} ({result.fetched:,} new)"
    )
    return 0


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None] | None]:
    """Yield what shows a download's progress: a bar of the time span done, on a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    with Progress(
        TextColumn("download"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    ) as bar:
        task = bar.add_task("download", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _history(args: argparse.Namespace, symbol: str, timeframe: Timeframe) -> History:
    from peak_trade.data.download import CcxtHistory, KrakenHistory

    if args.exchange == "kraken":
        from peak_trade.kraken.client import KrakenClient

        section = load_config(args.config).exchange.kraken
        client = KrakenClient(section.base_url, section.timeout_seconds)
        return KrakenHistory(client, symbol, timeframe, args.pace)
    import ccxt

    if args.exchange not in ccxt.exchanges:
        raise ConfigError(
            f"--exchange {args.exchange!r} is not an exchange ccxt knows"
            + did_you_mean(args.exchange, ccxt.exchanges)
        )
    exchange = getattr(ccxt, args.exchange)({"enableRateLimit": False, "timeout": 10_000})
    return CcxtHistory(exchange, symbol, timeframe, args.pace)
