"""`peak-trade`: the console command. Exit codes: 0 done, 1 runtime failure, 2 usage or config."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator, Sequence

from peak_trade.cli import backtest as backtest_cli
from peak_trade.cli import control as control_cli
from peak_trade.cli import dashboard as dashboard_cli
from peak_trade.cli import download as download_cli
from peak_trade.cli import init as init_cli
from peak_trade.cli import reconcile as reconcile_cli
from peak_trade.cli import session as session_cli
from peak_trade.cli import status as status_cli
from peak_trade.cli import sweep as sweep_cli
from peak_trade.cli.arguments import (
    SYNTHETIC_SEED,
    PeakArgumentParser,
    add_log_level,
    add_strategy_path,
    path_arg,
    positive_int,
    run_guarded,
    seed,
    setup_logging,
)
from peak_trade.cli.data_flags import TIMERANGE_HELP, market_of, refuse_stray_data_flags
from peak_trade.cli.session_output import strategy_lines
from peak_trade.cli.survey import print_survey, survey_strategies
from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import ConfigError
from peak_trade.core.peak_config import PeakConfig, load_config
from peak_trade.core.timerange import parse_timerange
from peak_trade.core.types import TIMEFRAMES, Timeframe, parse_symbol
from peak_trade.core.version import __version__
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.strategies.registry import get_available_strategy_keys
from peak_trade.user.strategy_files import use_strategies

__all__ = ["build_parser", "main"]

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
_LOG = logging.getLogger("peak_trade")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `peak-trade`."""
    parser = PeakArgumentParser(
        prog="peak-trade",
        description="Peak Trade: take a strategy from backtest to safe shadow and testnet runs.",
    )
    parser.add_argument("--version", action="version", version=f"peak-trade {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = commands.add_parser(
        "init",
        help="make a folder to work in (config, strategies)",
        description=init_cli.DESCRIPTION,
    )
    init_cli.add_init_arguments(init)
    listing = commands.add_parser("strategies", help="list the registered strategies")
    add_strategy_path(listing)
    listing.add_argument(
        "--config",
        type=path_arg,
        default=None,
        help="config file whose [strategies] paths to load (default: $PEAK_TRADE_CONFIG_PATH or "
        "the home folder's, if there is one)",
    )
    session = commands.add_parser(
        "session",
        help="run a Strategy-to-Execution Session (shadow or testnet)",
        description=session_cli.DESCRIPTION,
        epilog=session_cli.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    session_cli.add_session_arguments(session)
    backtest = commands.add_parser(
        "backtest",
        help="backtest a strategy on the session engine",
        description=backtest_cli.DESCRIPTION,
    )
    backtest_cli.add_backtest_arguments(backtest)
    sweep = commands.add_parser(
        "sweep",
        help="backtest a parameter grid in parallel and rank it",
        description=sweep_cli.DESCRIPTION,
    )
    sweep_cli.add_sweep_arguments(sweep)
    download = commands.add_parser(
        "download",
        help="download an exchange's candles into a file to replay",
        description=download_cli.DESCRIPTION,
    )
    download_cli.add_download_arguments(download)
    add_log_level(download, "WARNING")
    status = commands.add_parser(
        "status",
        help="show the runs in the journals and their state",
        description=status_cli.DESCRIPTION,
    )
    status_cli.add_status_arguments(status)
    control = commands.add_parser(
        "control",
        help="halt, reduce, activate or stop a running session",
        description=control_cli.DESCRIPTION,
    )
    control_cli.add_control_arguments(control)
    dashboard = commands.add_parser(
        "dashboard",
        help="serve a web page, an API and metrics of the runs",
        description=dashboard_cli.DESCRIPTION,
    )
    dashboard_cli.add_dashboard_arguments(dashboard)
    reconcile = commands.add_parser(
        "reconcile",
        help="compare a session with its backtest",
        description=reconcile_cli.DESCRIPTION,
    )
    reconcile_cli.add_reconcile_arguments(reconcile)
    survey = commands.add_parser(
        "survey",
        help="run every strategy over one feed and count its targets",
        description="Run strategies over the same closed bars and print, for each, how often its "
        "target changed and how long it was in the market.",
    )
    survey.add_argument(
        "--strategy",
        "-s",
        action="append",
        metavar="KEY",
        help="strategy key (repeatable; default: all)",
    )
    add_strategy_path(survey)
    _add_data_arguments(survey)
    survey.add_argument("--json", action="store_true", help="print one JSON object")
    survey.add_argument(
        "--no-risk-limits",
        action="store_true",
        help="taken as backtest and sweep take it; a survey counts targets and trades nothing, "
        "so no limit ever applies to it",
    )
    add_log_level(survey, "WARNING")
    for command in commands.choices.values():
        if isinstance(command, PeakArgumentParser):
            command.commands = commands.choices
    return parser


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--symbol", help="BASE/QUOTE (default: the file's own, else BTC/EUR)")
    parser.add_argument(
        "--timeframe",
        "-t",
        choices=list(TIMEFRAMES),
        help="candle length (default: the file's own, else 1m)",
    )
    parser.add_argument(
        "--config",
        type=path_arg,
        default=None,
        help="config file (default: $PEAK_TRADE_CONFIG_PATH, else the home folder's)",
    )
    parser.add_argument(
        "--data",
        choices=["synthetic", "replay"],
        default="synthetic",
        help="candle source (default: synthetic)",
    )
    parser.add_argument("--data-path", type=path_arg, help="CSV or Parquet file for --data replay")
    parser.add_argument("--timerange", metavar="START:END", help=TIMERANGE_HELP)
    parser.add_argument(
        "--bars", type=positive_int, default=20_000, help="bars to use (default: 20000)"
    )
    parser.add_argument("--seed", type=seed, help="with --data synthetic (default: 7)")


def _chunks(args: argparse.Namespace) -> Iterator[BarColumns]:
    """Return the surveyed bars as column chunks: the first --bars of the file or market."""
    refuse_stray_data_flags(
        args.data, args.data_path, seed_given=args.seed is not None, verb="survey", noun="survey"
    )
    timeframe = Timeframe(args.timeframe)
    if args.data == "replay":
        if args.data_path is None:
            raise ConfigError("--data replay needs --data-path FILE (a CSV or Parquet candle file)")
        from peak_trade.data.replay import load_replay  # pandas: only when a file is read

        span = None if args.timerange is None else parse_timerange(args.timerange)
        data = load_replay(args.data_path, timeframe).within(span)
        return iter([data.columns().slice(0, min(args.bars, len(data)))])
    if args.timerange is not None:
        raise ConfigError("--timerange picks candles of a file; it needs --data replay")
    if args.seed is None:
        args.seed = SYNTHETIC_SEED  # the survey's title names it
    return SyntheticMarket(seed=args.seed, timeframe=timeframe, bars=args.bars).chunks()


def _run_survey(args: argparse.Namespace, cfg: PeakConfig) -> int:
    market_of(args, args.data_path if args.data == "replay" else None)
    parse_symbol(args.symbol)
    keys = list(dict.fromkeys(args.strategy or ())) or get_available_strategy_keys()  # once each
    rows = survey_strategies(keys, _chunks(args), cfg)
    print_survey(rows, args, as_json=args.json)
    return EXIT_OK


def _with_strategies(args: argparse.Namespace) -> PeakConfig:
    """Return the loaded config, with the user strategies it and the flags name loaded."""
    cfg = load_config(args.config)
    use_strategies(cfg, args.strategy_path)
    return cfg


def _run_strategies(args: argparse.Namespace) -> int:
    lines = strategy_lines(args.config, args.strategy_path, indent="  ")
    print("Available strategies:", *lines, f"{len(lines)} strategies", sep="\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run `peak-trade` with `argv` and return the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "session":
        return session_cli.dispatch(args)
    setup_logging(getattr(args, "log_level", "WARNING"), getattr(args, "log_format", "text"))
    return run_guarded(lambda: _dispatch(args), prefix="peak-trade: ")


def _dispatch(args: argparse.Namespace) -> int:
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "strategies": _run_strategies,
        "backtest": backtest_cli.run_backtest,
        "sweep": sweep_cli.run_sweep_command,
        "reconcile": reconcile_cli.run_reconcile,
        "download": download_cli.run_download,
        "init": init_cli.run_init,
        "status": status_cli.run_status_command,
        "dashboard": dashboard_cli.run_dashboard,
        "control": control_cli.run_control,
        "survey": lambda parsed: _run_survey(parsed, _with_strategies(parsed)),
    }
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
