"""The session command: `scripts/run_execution_session.py` and `peak-trade session`."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from dotenv import load_dotenv

from peak_trade.backtest.runner import BacktestRunner
from peak_trade.cli.arguments import (
    TIMEFRAME_HELP,
    PeakArgumentParser,
    Setting,
    SettingSwitch,
    add_log_level,
    add_strategy_path,
    file_text,
    fraction,
    journaled_run,
    non_negative_int,
    path_arg,
    positive_float,
    positive_int,
    run_guarded,
    run_name,
    seed,
    settings_given,
    setup_logging,
)
from peak_trade.cli.data_flags import TIMERANGE_HELP, market_of, refuse_stray_data_flags
from peak_trade.cli.portfolio import (
    add_leg_arguments,
    portfolio_legs,
    resume_portfolio,
    run_portfolio,
)
from peak_trade.cli.restart import (
    Supervision,
    refuse_settings,
    remaining_duration,
    remaining_steps,
    resume_or_start,
    say_if_finished,
)
from peak_trade.cli.run_end import report_target, run_to_the_end, show_summary
from peak_trade.cli.session_output import (
    print_dry_run,
    progress_callback,
    status_line,
    strategy_lines,
)
from peak_trade.core.errors import ConfigError, FeedError
from peak_trade.core.home import in_home
from peak_trade.core.peak_config import PeakConfig, load_config
from peak_trade.core.types import TIMEFRAMES
from peak_trade.journal.schema import LEGS_KEY
from peak_trade.journal.store import Journal
from peak_trade.report.writer import check_report_folder
from peak_trade.session.alerts import Alerts
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.runner import LiveSessionRunner
from peak_trade.strategies.registry import list_strategy_specs
from peak_trade.user.strategy_files import use_strategies

__all__ = ["add_session_arguments", "build_parser", "main", "run_session"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
DESCRIPTION = (
    "Run a Peak Trade Strategy-to-Execution Session (Phase 80): a registered strategy trades "
    "closed candles through the safety layers in shadow or testnet mode. No real order is "
    "ever sent; live mode does not exist."
)
EPILOG = """examples:
  %(prog)s --data synthetic --steps 3000 --no-sleep      offline shadow run on synthetic bars
  %(prog)s --strategy rsi_reversion --symbol ETH/EUR -t 5m --data replay --data-path eth.csv
  %(prog)s --strategy ma_crossover --dry-run             build everything, trade nothing
  %(prog)s --portfolio legs.toml --data synthetic --steps 3000 --no-sleep   several legs
  %(prog)s --resume RUN_ID                               continue a run after a crash
  %(prog)s --list-strategies
exit codes: 0 done (also after Ctrl+C or SIGTERM), 1 runtime failure, 2 usage or config error"""
_LOG = logging.getLogger("peak_trade.session")


def add_session_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the session flags (the original's, plus data, costs, journal and report)."""
    a = parser.add_argument
    # what a run trades with: a resumed run keeps its own, so --resume refuses these
    setting = partial(parser.add_argument, action=Setting)
    setting(
        "--mode",
        choices=["shadow", "testnet"],
        default="shadow",
        help="shadow: simulated fills; testnet: exchange-validated orders (default: shadow)",
    )
    setting("--strategy", "-s", default="ma_crossover", help="strategy key (default: ma_crossover)")
    add_strategy_path(parser)  # a resumed run loads its strategy's file too
    add_leg_arguments(parser)
    setting("--symbol", default="BTC/EUR", help="BASE/QUOTE (default: BTC/EUR)")
    setting(
        "--timeframe",
        "-t",
        default="1m",
        choices=list(TIMEFRAMES),
        help=TIMEFRAME_HELP,
    )
    a(
        "--config",
        type=path_arg,
        help="config file (default: $PEAK_TRADE_CONFIG_PATH, else the home folder's)",
    )
    a("--duration", type=positive_float, help="run for this many minutes")
    a("--steps", type=positive_int, help="run until this many closed bars were processed")
    setting(
        "--warmup-candles", type=non_negative_int, default=200, help="history bars (default: 200)"
    )
    setting(
        "--position-fraction",
        type=fraction,
        default=0.1,
        help="share of equity per entry, in (0, 1] (default: 0.1)",
    )
    setting(
        "--poll-interval",
        type=positive_float,
        default=60.0,
        help="seconds between feed polls (default: 60)",
    )
    setting("--start-balance", type=positive_float, default=10_000.0, help="default: 10000")
    setting(
        "--max-consecutive-errors",
        type=positive_int,
        default=5,
        help="end the run (exit 1) after this many failed steps in a row (default: 5)",
    )
    a(
        "--env-name",
        default="shadow_local",
        help="label stored with the run (default: shadow_local)",
    )
    a("--no-risk-limits", action=SettingSwitch, help="do not apply [live_risk]")
    a(
        "--dry-run",
        action=SettingSwitch,
        help="build strategy, feed, venue and limits offline, then stop",
    )
    a("--list-strategies", action="store_true", help="list the strategies and exit")
    a("--no-registry", action="store_true", help="do not write the session record")
    a("--tags", nargs="*", default=[], help="labels stored with the run")
    a("--notes", help="a note stored with the run")
    add_log_level(parser, "INFO")
    setting(
        "--data",
        choices=["synthetic", "replay", "kraken"],
        default="kraken",
        help="candle source (default: kraken)",
    )
    a(
        "--data-path",
        type=file_text,
        help="CSV or Parquet candles for --data replay (with --resume: where the run's file "
        "is now, if it moved)",
    )
    setting("--timerange", metavar="START:END", help=TIMERANGE_HELP)
    setting("--seed", type=seed, default=7, help="seed of --data synthetic (default: 7)")
    setting(
        "--fee-rate", type=float, help="fee per fill as a fraction (default: [shadow] fee_rate)"
    )
    setting("--slippage-bps", type=float, help="adverse slippage (default: [shadow] slippage_bps)")
    setting(
        "--fill-price", choices=["next_open", "close", "book"], help="default: [shadow] fill_price"
    )
    a(
        "--journal",
        type=path_arg,
        default=in_home("journal/peak_trade.sqlite"),
        help="journal file (default: journal/peak_trade.sqlite in the home folder)",
    )
    a(
        "--resume",
        metavar="RUN_ID",
        type=journaled_run,
        help="rebuild RUN_ID from the journal and continue it with its own settings",
    )
    a(
        "--resume-or-start",
        action="store_true",
        help="with --run-id: resume the run if the journal has it, else start it (for a "
        "supervisor's restarts; docs/operations.md)",
    )
    setting("--run-id", type=run_name, help="name of the run (default: generated)")
    a(
        "--report-dir",
        type=path_arg,
        help="report folder (default: reports/<run_id> in the home folder)",
    )
    a("--json", action="store_true", help="print the summary as one JSON object")
    a("--no-sleep", action="store_true", help="do not wait between bars (replays, tests)")


def build_parser(prog: str = "run_execution_session.py") -> argparse.ArgumentParser:
    """Return the parser of the session command."""
    parser = PeakArgumentParser(
        prog=prog,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_session_arguments(parser)
    return parser


def session_config_from(args: argparse.Namespace, cfg: PeakConfig) -> LiveSessionConfig:
    """Combine flags and the config's [shadow] defaults into a LiveSessionConfig."""
    given = settings_given(args)
    seed_given = "--seed" in given  # it has a default, unlike survey's
    refuse_stray_data_flags(
        args.data, args.data_path, seed_given=seed_given, verb="trade", noun="session"
    )
    market_of(args, args.data_path if args.data == "replay" else None, given)
    shadow = cfg.shadow
    fill_price = args.fill_price or shadow.fill_price
    return LiveSessionConfig(
        mode=args.mode,
        strategy_key=args.strategy,
        symbol=args.symbol,
        timeframe=args.timeframe,
        config_path=str(cfg.path or args.config or ""),
        warmup_candles=args.warmup_candles,
        position_fraction=args.position_fraction,
        poll_interval_seconds=args.poll_interval,
        fee_rate=shadow.fee_rate if args.fee_rate is None else args.fee_rate,
        slippage_bps=shadow.slippage_bps if args.slippage_bps is None else args.slippage_bps,
        start_balance=args.start_balance,
        max_consecutive_errors=args.max_consecutive_errors,
        enable_risk_limits=not args.no_risk_limits,
        run_id=args.run_id,
        data_source=args.data,
        data_path=args.data_path,
        timerange=args.timerange,
        seed=args.seed,
        fill_price=fill_price,
        allow_short=shadow.allow_short,
        journal_path=str(args.journal),
    )


def run_session(args: argparse.Namespace) -> int:
    """Run the session command with parsed arguments; return the exit code."""
    if args.list_strategies:
        return _list_strategies(args)
    if args.steps is not None and args.duration is not None:
        raise ConfigError(
            "--steps and --duration both say when to stop, and only one can; give one "
            "(--steps counts closed bars, --duration minutes)"
        )
    cfg = load_config(args.config)
    use_strategies(cfg, args.strategy_path)
    Alerts.from_config(cfg.alerts, "")  # a variable [alerts] names but not set: before any run
    legs = portfolio_legs(args, "--symbol" in settings_given(args))
    if args.resume_or_start:
        listed = None if legs is None else [leg.to_dict() for leg in legs]
        resume_or_start(args, session_config_from(args, cfg), listed)
    if args.resume:
        refuse_settings(args, legs is not None)
        journal = Journal(args.journal)
        if LEGS_KEY in journal.run_started(args.resume).payload["config"]:
            return resume_portfolio(args, cfg, journal)
        runner, steps, duration, sleep = _resumed(args, cfg, journal)
    elif legs is not None:
        return run_portfolio(args, session_config_from(args, cfg), cfg, legs, backtest=False)
    else:
        session_config = session_config_from(args, cfg)
        if args.dry_run:
            print_dry_run(LiveSessionRunner.from_config(session_config, cfg), cfg)
            return EXIT_OK
        journal = Journal(args.journal)
        runner = LiveSessionRunner.from_config(session_config, cfg, journal=journal)
        check_report_folder(report_target(args, runner.run_id))
        steps, duration, sleep = args.steps, args.duration, not args.no_sleep
    # systemd, the operator, the alerts
    supervision = Supervision(runner, runner.pipeline.risk_limits, journal, cfg)
    with runner.stop_on_signals():  # a signal after the run must not kill the report half-way
        if not _warmed_up(runner):
            return EXIT_OK
        supervision.ready(f"{runner.run_id}: {runner.config.mode} on {runner.config.symbol}")
        summary = run_to_the_end(
            runner, journal, args, cfg, lambda: _run(runner, steps, duration, sleep)
        )
    supervision.stopping(str(summary["stop_reason"]), summary["ledger"]["equity"])
    show_summary(summary, as_json=args.json)
    return EXIT_OK


def _resumed(
    args: argparse.Namespace, cfg: PeakConfig, journal: Journal
) -> tuple[LiveSessionRunner, int | None, float | None, bool]:
    """Rebuild the run `--resume` names; return it with the steps or minutes it has left and
    whether it sleeps between bars."""
    refuse_settings(args)
    if args.steps is not None and journal.count(args.resume, "data_reference"):
        raise ConfigError(
            f"run {args.resume} is a backtest, which runs to the end of its data when "
            "resumed; leave --steps out"
        )
    data_path = None if args.data_path is None else Path(args.data_path)
    # a run whose journal refers to its data is a backtest, and goes on as one
    kind = BacktestRunner if journal.count(args.resume, "data_reference") else LiveSessionRunner
    runner = kind.resume(args.resume, journal, cfg, data_path=data_path)
    check_report_folder(report_target(args, runner.run_id))
    plans = runner.recorder.events("run_plan")
    plan = plans[0].payload if plans else {}
    steps = args.steps or remaining_steps(plan, runner.metrics.steps)
    duration = args.duration
    if duration is None and plans:
        duration = remaining_duration(plans[0], datetime.now(UTC))
    sleep = not args.no_sleep and bool(plan.get("sleep_between", True))
    say_if_finished(runner, steps, duration)
    return runner, steps, duration, sleep


def _warmed_up(runner: LiveSessionRunner) -> bool:
    """Warm the run up (done already if resumed); False if a signal stopped the warmup."""
    try:
        runner.warmup()
    except FeedError:
        if runner.stop_reason is None:
            raise
        _LOG.warning(  # the run never started: nothing is written
            "run %s stopped during its warmup (%s); nothing was traded or journaled",
            runner.run_id,
            runner.stop_reason,
        )
        return False
    return True


def _run(runner: LiveSessionRunner, steps: int | None, duration: float | None, sleep: bool) -> None:
    """Run `steps` bars, else `duration` minutes, else until stopped; nothing if none is owed."""
    describe = partial(status_line, runner)  # a run with no known end: the account instead
    with progress_callback(steps, start=runner.metrics.steps, describe=describe) as callback:
        runner.on_step_callback = callback
        runner.keep_results = False  # the journal and the summary hold them
        if steps is not None:
            if steps > 0:
                runner.run_n_steps(steps, sleep_between=sleep)
        elif duration is not None:
            if duration > 0:
                runner.run_for_duration(duration, sleep_between=sleep)
        else:
            runner.run_forever(sleep_between=sleep)


def _list_strategies(args: argparse.Namespace) -> int:
    lines = strategy_lines(args.config, args.strategy_path)
    print("=== Available strategies (Peak Trade registry) ===", *lines, sep="\n")
    print(f"Total: {len(lines)} strategies")
    first = list_strategy_specs()[0].key
    print(
        f"Example: run_execution_session.py --strategy {first} --data synthetic "
        "--steps 500 --no-sleep"
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None, prog: str = "run_execution_session.py") -> int:
    """Parse `argv`, run the session and return the exit code."""
    args = build_parser(prog).parse_args(argv)
    return dispatch(args, prog)


def dispatch(args: argparse.Namespace, prog: str = "peak-trade") -> int:
    """Run with parsed arguments and map errors to exit codes; `prog` prefixes error lines."""
    setup_logging(args.log_level, args.log_format)
    # Secrets may come from a .env file in the working directory; real variables win.
    load_dotenv(in_home(".env"), override=False)
    return run_guarded(lambda: run_session(args), prefix=f"{prog}: ")
