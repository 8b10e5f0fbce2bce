"""`--leg … | --portfolio FILE` on backtest and session: several strategies and symbols, one
account.

A single leg without parameters or weight of its own is the ordinary run of that strategy and
symbol, journaled as always; two or more legs (or a leg with a portfolio file's parameters)
run as a `PortfolioRun` and write the portfolio report.
"""

from __future__ import annotations

import argparse
import json
import tomllib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from peak_trade.cli.arguments import path_arg
from peak_trade.cli.restart import Supervision, remaining_duration, remaining_steps
from peak_trade.cli.run_end import report_target
from peak_trade.cli.session_output import progress_callback
from peak_trade.core.clock import Clock, ManualClock, SystemClock
from peak_trade.core.errors import ConfigError
from peak_trade.core.legs import Leg, legs_from_tables, parse_leg, with_weights
from peak_trade.core.money import trimmed
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Timeframe
from peak_trade.data.ports import IteratorFeed
from peak_trade.journal.store import Journal
from peak_trade.portfolio.stats import PerformanceStats
from peak_trade.report.portfolio import PortfolioLog, portfolio_summary, write_portfolio_report
from peak_trade.report.writer import check_report_folder
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.portfolio_run import PortfolioRun
from peak_trade.session.stop_signals import on_stop_signals

__all__ = [
    "add_leg_arguments",
    "as_first_leg",
    "legs_of",
    "portfolio_legs",
    "print_portfolio",
    "resume_portfolio",
    "run_portfolio",
    "single_leg",
]


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
        else replace(leg, data_path=str(path.parent / leg.data_path))
        for leg in legs
    ]


def legs_of(args: argparse.Namespace, symbol_given: bool) -> list[Leg] | None:
    """Return the legs the flags give (weights set), or None for a run of one strategy."""
    if not args.leg and args.portfolio is None:
        return None
    if args.leg and args.portfolio is not None:
        raise ConfigError("give the legs with --leg or with --portfolio, not both")
    if symbol_given:
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


def portfolio_legs(args: argparse.Namespace, symbol_given: bool) -> list[Leg] | None:
    """Return the legs of a portfolio run the flags ask for, the flags set to its first leg;
    None for a run of one strategy (one leg without parameters or weight of its own: the
    flags are set to it)."""
    legs = legs_of(args, symbol_given)
    if legs is None or single_leg(args, legs):
        return None
    as_first_leg(args, legs)
    return legs


def as_first_leg(args: argparse.Namespace, legs: list[Leg]) -> None:
    """Set the flags of the run's config to its first leg (each leg's config is the run's
    with the leg's strategy, symbol, timeframe and file)."""
    first = legs[0]
    args.strategy, args.symbol = first.strategy, first.symbol
    args.timeframe = first.timeframe or args.timeframe
    args.data_path = first.data_path or args.data_path


def single_leg(args: argparse.Namespace, legs: list[Leg]) -> bool:
    """Return True when `legs` is one leg the ordinary backtest runs, and set the flags to
    it: a portfolio of one leg is that strategy on that symbol."""
    if len(legs) != 1 or legs[0].params or (legs[0].weight or 1) != 1:
        return False
    as_first_leg(args, legs)
    return True


def print_portfolio(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print a portfolio run's account and its legs as tables."""
    console = console or Console()
    ledger = summary["ledger"]
    cur = ledger["currency"]
    title = f"Portfolio {summary.get('kind', 'backtest')} {summary['run_id']}"
    account = Table(title=title, show_header=False)
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
        left = f"trading left ACTIVE at {summary['left_active_at']}"
        console.print(left, highlight=False, markup=False)
    console.print(f"report: {summary.get('report_dir')}", highlight=False, markup=False)


def run_portfolio(
    args: argparse.Namespace,
    config: LiveSessionConfig,
    cfg: PeakConfig,
    legs: list[Leg],
    *,
    backtest: bool,
) -> int:
    """Start a portfolio run of `legs`, trade it to its end and write its report."""
    clock = _clock(backtest)
    if config.run_id is None:  # named as a portfolio, not after its first leg's strategy
        stamp = f"{datetime.now(UTC):%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:8]}"
        config = replace(config, run_id=f"{config.mode}_portfolio_{stamp}")
    if getattr(args, "dry_run", False):  # build everything, trade nothing, write nothing
        dry = PortfolioRun.start(config, cfg, legs, clock=clock, journal=None, backtest=False)
        _print_dry_run(dry, cfg)
        return 0
    journal = Journal(args.journal, clock=clock)
    run = PortfolioRun.start(config, cfg, legs, clock=clock, journal=journal, backtest=backtest)
    duration = getattr(args, "duration", None)
    steps = getattr(args, "steps", None)
    return _drive(args, run, journal, cfg, (steps, duration), resumed=False)


def resume_portfolio(args: argparse.Namespace, cfg: PeakConfig, journal: Journal) -> int:
    """Go on with the portfolio run `--resume` names, from where its journal ends."""
    backtest = PortfolioRun.is_backtest(journal, args.resume)
    clock = _clock(backtest)
    run = PortfolioRun.resume(args.resume, journal, cfg, clock=clock, backtest=backtest)
    return _drive(args, run, journal, cfg, (args.steps, args.duration), resumed=True)


def _clock(backtest: bool) -> Clock:
    """Return a run's clock: a backtest's follows its bars from 1970 (set at each bar time's
    close), a session's is the system's."""
    return ManualClock(datetime(1970, 1, 1, tzinfo=UTC)) if backtest else SystemClock()


def _drive(
    args: argparse.Namespace,
    run: PortfolioRun,
    journal: Journal,
    cfg: PeakConfig,
    plan: tuple[int | None, float | None],
    *,
    resumed: bool,
) -> int:
    """Warm the run up (or replay it), trade it to its end, journal and report it; a session
    is supervised (systemd, operator controls, alerts) as a single strategy's is."""
    steps, minutes = plan
    target = report_target(args, run.run_id)
    check_report_folder(target)
    run.sleep_between = not run.backtest and not getattr(args, "no_sleep", False)
    config = run.config
    year = Timeframe(config.timeframe).bars_per_year()
    log = PortfolioLog(run.legs, PerformanceStats(config.start_balance, year))
    run.on_time, run.on_quiet = log.on_time, log.on_quiet
    if isinstance(run.clock, ManualClock):  # "now": the close of the bar time just done
        run.bar_clock = run.clock
    supervision = None if run.backtest else Supervision(run, run.risk, journal, cfg)
    with on_stop_signals(lambda signal: run.shutdown(f"{signal.name} received")):
        steps, minutes = _started(run, steps, minutes, resumed=resumed)
        duration = None if minutes is None else timedelta(minutes=minutes)
        if supervision is not None:
            supervision.ready(f"{run.run_id}: a portfolio of {len(run.legs)} legs")
        try:
            with progress_callback(_length(run, steps)) as draw:
                run.on_poll = draw
                reason = run.run(steps, duration)
        except BaseException as error:
            run.stopped(f"failed: {error}", "failed", {})
            raise
        risk = run.risk
        log.take_states([] if risk is None else risk.events)
        listed = [leg.to_dict() for leg in run.legs]
        summary = portfolio_summary(
            config.to_dict() | {"run_id": run.run_id, "legs": listed}, run.engine.ledger, risk, log
        )
        summary["kind"] = "backtest" if run.backtest else "session"
        summary["stop_reason"] = reason
        run.stopped(reason, "ok", summary)
        journal.close()
        write_portfolio_report(target, summary, log)
    if supervision is not None:
        supervision.stopping(reason, summary["ledger"]["equity"])
    summary["report_dir"] = str(target)
    if args.json:
        print(json.dumps(summary, default=str))
    else:
        print_portfolio(summary)
    return 0


def _print_dry_run(run: PortfolioRun, cfg: PeakConfig) -> None:
    """Describe what a portfolio run would trade; nothing is traded and nothing fetched."""
    c = run.config
    lines = [
        f"dry run: {c.mode} portfolio session {run.run_id}, {c.timeframe} from {c.data_source}"
    ]
    for leg, engine in zip(run.legs, run.engine.legs, strict=True):
        params = engine.strategy.params.model_dump()
        lines.append(
            f"leg:       {leg.name} weight {leg.to_dict()['weight']}, "
            f"{trimmed(engine.rules.position_fraction)} of "
            f"equity per entry, {params} (needs {engine.strategy.required_bars} bars)"
        )
    risk = "off (--no-risk-limits)" if run.risk is None else f"[live_risk] from {cfg.path}"
    lines += [
        f"account:   start balance {c.start_balance:,.2f}, fee {c.fee_rate}, slippage "
        f"{c.slippage_bps} bps, fill at {c.fill_price}",
        f"risk:      {risk}, over the whole account",
        "nothing was traded.",
    ]
    print("\n".join(lines))


def _length(run: PortfolioRun, steps: int | None) -> int | None:
    """Return the bar times a run will trade, where that is known (for a progress bar)."""
    if steps is not None:
        return steps
    ends = [feed.remaining for feed in run.feeds if isinstance(feed, IteratorFeed)]
    known = [end for end in ends if end is not None]
    return run.bar_times + max(known) if known and len(known) == len(run.feeds) else None


def _started(
    run: PortfolioRun, steps: int | None, minutes: float | None, *, resumed: bool
) -> tuple[int | None, float | None]:
    """Warm a new run up and journal its plan, or replay a resumed one; return the bar times
    and minutes left (a resumed run owes what its first plan asked for, as a single one)."""
    if not resumed:
        run.warmup()
        plan = {"steps": steps} if steps else {"duration_minutes": minutes}
        run.recorder.plan(plan | {"sleep_between": run.sleep_between}, run.clock.now())
        return steps, minutes
    run.replay()
    plans = run.recorder.events("run_plan")
    owed = steps or remaining_steps(plans[0].payload if plans else {}, run.bar_times)
    if minutes is None and plans:
        minutes = remaining_duration(plans[0], datetime.now(UTC))
    return owed, minutes
