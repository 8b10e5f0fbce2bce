"""`peak-trade backtest`: the session engine over history, as fast as it goes.

The same LiveSessionRunner, pipeline, risk limits, ledger and journal as a shadow session, on a
ManualClock that follows the bars, with no waiting. What was tested is exactly what runs.
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime

from peak_trade.backtest.runner import BacktestRunner
from peak_trade.cli.arguments import (
    add_log_level,
    add_strategy_path,
    fraction,
    non_negative_int,
    path_arg,
    positive_float,
    run_name,
)
from peak_trade.cli.data_flags import add_history_arguments, market_of, synthetic_source
from peak_trade.cli.portfolio import add_leg_arguments, portfolio_legs, run_portfolio
from peak_trade.cli.run_end import report_target, run_to_the_end, show_summary
from peak_trade.cli.session_output import progress_callback
from peak_trade.core.clock import ManualClock
from peak_trade.core.errors import ConfigError
from peak_trade.core.home import in_home
from peak_trade.core.peak_config import PeakConfig, load_config
from peak_trade.core.types import Timeframe
from peak_trade.data.ports import IteratorFeed
from peak_trade.journal.store import Journal
from peak_trade.report.writer import check_report_folder
from peak_trade.session.config import LiveSessionConfig
from peak_trade.user.strategy_files import use_strategies

__all__ = ["add_backtest_arguments", "run_backtest"]

DESCRIPTION = (
    "Backtest a strategy on the session engine: the same runner, pipeline, risk limits, ledger "
    "and journal as a shadow session, over a CSV/Parquet file or synthetic bars, without waiting."
)


def add_backtest_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the backtest flags."""
    a = parser.add_argument
    a("--strategy", "-s", default="ma_crossover", help="strategy key (default: ma_crossover)")
    add_strategy_path(parser)
    add_leg_arguments(parser)
    add_history_arguments(parser)
    a("--warmup-candles", type=non_negative_int, default=200, help="default: 200")
    a("--position-fraction", type=fraction, default=0.1, help="default: 0.1")
    a("--start-balance", type=positive_float, default=10_000.0, help="default: 10000")
    a("--fee-rate", type=float, help="default: [shadow] fee_rate")
    a("--slippage-bps", type=float, help="default: [shadow] slippage_bps")
    a("--fill-price", choices=["next_open", "close"], help="default: [shadow] fill_price")
    a("--no-risk-limits", action="store_true", help="do not apply [live_risk]")
    a(
        "--journal",
        type=path_arg,
        default=in_home("journal/backtest.sqlite"),
        help=(
            "journal file (default: journal/backtest.sqlite in the home folder); it names "
            "the data instead of copying quiet bars, so keep a --data-path file to reconcile "
            "the run later"
        ),
    )
    a("--run-id", type=run_name, help="name of the run (default: generated)")
    a(
        "--report-dir",
        type=path_arg,
        help="report folder (default: reports/<run_id> in the home folder)",
    )
    a("--json", action="store_true", help="print the summary as one JSON object")
    add_log_level(parser, "WARNING")


def backtest_config(
    args: argparse.Namespace, config_path: str
) -> tuple[LiveSessionConfig, PeakConfig]:
    """Return the session config of a backtest and the loaded PeakConfig."""
    seed, bars = synthetic_source(args)
    market_of(args, args.data_path)
    cfg = load_config(args.config)
    use_strategies(cfg, args.strategy_path)
    shadow = cfg.shadow
    fill_price = args.fill_price or shadow.fill_price
    if fill_price == "book":
        raise ConfigError("a backtest has no order book; use fill_price 'next_open' or 'close'")
    session = LiveSessionConfig(
        mode="shadow",
        strategy_key=args.strategy,
        symbol=args.symbol,
        timeframe=args.timeframe,
        config_path=str(cfg.path or config_path),
        warmup_candles=args.warmup_candles,
        position_fraction=args.position_fraction,
        start_balance=args.start_balance,
        fee_rate=shadow.fee_rate if args.fee_rate is None else args.fee_rate,
        slippage_bps=shadow.slippage_bps if args.slippage_bps is None else args.slippage_bps,
        fill_price=fill_price,
        allow_short=shadow.allow_short,
        enable_risk_limits=not args.no_risk_limits,
        # named by the wall clock: the backtest's own clock follows the bars from 1970 on
        run_id=args.run_id or _run_id(args.strategy),
        data_source="synthetic" if args.synthetic else "replay",
        data_path=args.data_path,
        timerange=args.timerange,
        seed=seed,
        synthetic_bars=bars,
        journal_path=str(args.journal),
    )
    return session, cfg


def _run_id(strategy: str) -> str:
    return f"backtest_{strategy}_{datetime.now(UTC):%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:8]}"


def run_backtest(args: argparse.Namespace) -> int:
    """Run a backtest with parsed arguments; return the exit code."""
    legs = portfolio_legs(args, args.symbol is not None)
    if legs is not None:
        args.run_id = args.run_id or _run_id("portfolio")
        session, cfg = backtest_config(args, str(args.config or ""))
        return run_portfolio(args, session, cfg, legs, backtest=True)
    session, cfg = backtest_config(args, str(args.config or ""))
    timeframe = Timeframe(session.timeframe)
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    journal = Journal(args.journal, clock=clock)
    runner = BacktestRunner.from_config(session, cfg, clock=clock, journal=journal)
    check_report_folder(report_target(args, runner.run_id))
    runner.configure_backtest()
    with runner.stop_on_signals():  # a signal after the run must not kill the report half-way
        runner.warmup()
        if runner.metrics.last_bar_time is not None:
            clock.set(runner.metrics.last_bar_time + timeframe.delta)
        feed = runner.feed
        total = feed.remaining if isinstance(feed, IteratorFeed) else None

        def run() -> None:
            with progress_callback(total) as draw:
                runner.bar_clock = clock  # "now": the close of the bar just done
                runner.on_progress = draw
                runner.run_forever(sleep_between=False)

        summary = run_to_the_end(runner, journal, args, cfg, run)
    show_summary(summary, as_json=args.json)
    return 0
