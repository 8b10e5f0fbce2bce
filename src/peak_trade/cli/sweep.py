"""`peak-trade sweep`: backtest every point of a parameter grid, rank them, plot two at a time."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from peak_trade.backtest.sweep import (
    build_portfolio_tasks,
    build_tasks,
    inert_parameters,
    parse_grid,
    rank,
    ranking_metric,
    run_sweep,
)
from peak_trade.cli.arguments import (
    add_log_level,
    add_strategy_path,
    fraction,
    path_arg,
    positive_float,
    positive_int,
)
from peak_trade.cli.data_flags import add_history_arguments, market_of, synthetic_source
from peak_trade.cli.portfolio import add_leg_arguments, as_first_leg, legs_of
from peak_trade.core.home import in_home
from peak_trade.core.peak_config import load_config
from peak_trade.report.plots import draw_heatmap
from peak_trade.report.writer import check_report_folder, staged_files
from peak_trade.user.strategy_files import use_strategies

__all__ = ["DESCRIPTION", "add_sweep_arguments", "run_sweep_command"]

DESCRIPTION = (
    "Backtest every combination of strategy parameters on the session engine, in "
    "parallel (local processes or a Ray cluster), and rank them."
)
METRICS = ("sharpe", "sortino", "total_return_pct", "cagr_pct", "profit_factor", "win_rate_pct")
SWEEP_FILES = ("results.csv", "heatmap.png")
COLUMNS = (
    "total_return_pct",
    "sharpe",
    "sortino",
    "max_drawdown_pct",
    "trades",
    "win_rate_pct",
    "profit_factor",
    "final_equity",
    "trading_state",  # active, reducing or halted at the end; off without risk limits
    "left_active_at",  # when (and why) it first left ACTIVE: its trading stopped short there
)


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sweep flags."""
    a = parser.add_argument
    a("--strategy", "-s", default="ma_crossover", help="strategy key (default: ma_crossover)")
    add_strategy_path(parser)
    add_leg_arguments(parser)
    a(
        "--grid",
        action="append",
        required=True,
        metavar="NAME=V1,V2,...",
        help="parameter values to try (repeatable); with legs, NAME is LEG.PARAMETER, LEG a "
        "leg's strategy or STRATEGY:SYMBOL",
    )
    add_history_arguments(parser)
    a("--warmup-candles", type=positive_int, help="default: what the grid's slowest strategy needs")
    a(
        "--position-fraction",
        type=fraction,
        default=0.1,
        help="share of equity per entry (default: 0.1)",
    )
    a("--start-balance", type=positive_float, default=10_000.0, help="default: 10000")
    a("--no-risk-limits", action="store_true", help="do not apply [live_risk] to any point")
    a("--workers", type=positive_int, help="local processes (default: one per core)")
    a(
        "--ray",
        metavar="ADDRESS",
        help="run on a Ray cluster: local (starts one here), auto (the running one) or HOST:PORT",
    )
    a(
        "--metric",
        choices=METRICS,
        help="rank by (default: sharpe; total_return_pct when the data spans under 30 days, "
        "too short for annualised figures)",
    )
    a(
        "--report-dir",
        type=path_arg,
        help="default: reports/sweeps/<strategy>_<UTC time> in the home folder",
    )
    a("--json", action="store_true", help="print the ranked results as JSON")
    add_log_level(parser, "WARNING")


def run_sweep_command(args: argparse.Namespace) -> int:
    """Validate the grid, run it, write results.csv (and heatmap.png for two parameters)."""
    legs = legs_of(args, args.symbol is not None)
    if legs is not None:
        as_first_leg(args, legs)
    seed, bars = synthetic_source(args)
    market_of(args, args.data_path)
    cfg = load_config(args.config)
    files = use_strategies(cfg, args.strategy_path)
    grid = parse_grid(args.grid)
    shadow = cfg.shadow
    session = {
        "mode": "shadow",
        "strategy_key": args.strategy,
        "symbol": args.symbol,
        "timeframe": args.timeframe,
        "warmup_candles": args.warmup_candles,
        "position_fraction": args.position_fraction,
        "start_balance": args.start_balance,
        "fee_rate": shadow.fee_rate,
        "slippage_bps": shadow.slippage_bps,
        "fill_price": shadow.fill_price if shadow.fill_price != "book" else "next_open",
        "data_source": "synthetic" if args.synthetic else "replay",
        "data_path": args.data_path,
        "timerange": args.timerange,
        "seed": seed,
        "synthetic_bars": bars,
        "run_id": "sweep",
        "enable_risk_limits": not args.no_risk_limits,
    }
    if legs is None:
        tasks, name = build_tasks(args.strategy, grid, cfg, session, files), args.strategy
    else:
        tasks, name = build_portfolio_tasks(legs, grid, cfg, session, files), "portfolio"
    stamp = datetime.now(UTC).strftime("%Y%m%d_%H%M%S")
    target = args.report_dir or in_home("reports/sweeps") / f"{name}_{stamp}"
    check_report_folder(target)
    results = _run(tasks, args)
    metric, note = ranking_metric(results, args.metric)
    ranked = rank(results, metric)
    data = (
        f"synthetic {args.symbol} {args.timeframe} (seed {seed}, {bars:,} bars)"
        if args.synthetic
        else f"{Path(args.data_path).name} ({args.symbol} {args.timeframe})"
    )
    what = args.strategy if legs is None else " + ".join(leg.name for leg in legs)
    _write(target, ranked, list(grid), metric, f"{what} on {data}: {metric}")
    inert = inert_parameters(ranked, list(grid))
    if args.json:
        print(
            json.dumps(
                {
                    "metric": metric,
                    "metric_note": note,
                    "report_dir": str(target),
                    "results": ranked,
                    "inert_parameters": inert,
                }
            )
        )
    else:
        _print(ranked, list(grid), metric, target)
        if note:
            print(f"note: {note}")
        for name in inert:
            print(
                f"note: {name} made no difference: each of its values gave the same results; "
                "the strategy may not use it with these settings (a filter that is off?)"
            )
    return 0


def _run(tasks: list[Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    if not sys.stderr.isatty():
        return run_sweep(tasks, args.workers, args.ray)
    # Drawn when a point finishes, not by a refresh thread: the workers are forked, and a fork
    # taken while that thread held the console's lock would leave a worker's log line waiting
    # for it forever.
    with Progress(
        TextColumn("backtests"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(file=sys.stderr),
        transient=True,
        auto_refresh=False,
    ) as bar:
        task = bar.add_task("sweep", total=len(tasks))
        bar.refresh()
        return run_sweep(
            tasks,
            args.workers,
            args.ray,
            progress=lambda done, total: bar.update(task, completed=done, refresh=True),
        )


def _write(
    target: Path, ranked: list[dict[str, Any]], names: list[str], metric: str, title: str
) -> None:
    with staged_files(target, SWEEP_FILES) as staging:
        with (staging / "results.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("rank", *names, *COLUMNS))
            for position, row in enumerate(ranked, start=1):
                writer.writerow((position, *(row[n] for n in names), *(row[c] for c in COLUMNS)))
        if len(names) == 2:
            _heatmap(staging / "heatmap.png", ranked, names, metric, title)


def _heatmap(
    path: Path, rows: list[dict[str, Any]], names: list[str], metric: str, title: str
) -> None:
    xs = sorted({row[names[0]] for row in rows})
    ys = sorted({row[names[1]] for row in rows})
    cell = {(row[names[0]], row[names[1]]): row[metric] for row in rows}
    values: list[list[float]] = [
        [float("nan") if cell.get((x, y)) is None else float(cell[(x, y)]) for x in xs] for y in ys
    ]
    ticks = ([str(x) for x in xs], [str(y) for y in ys])
    draw_heatmap(path, values, (names[0], names[1]), ticks, metric, title)


def _print(ranked: list[dict[str, Any]], names: list[str], metric: str, target: Path) -> None:
    table = Table(title=f"Sweep ranked by {metric} ({len(ranked)} backtests)")
    for column in ("rank", *names, "return %", "sharpe", "max DD %", "trades", "state"):
        table.add_column(column, justify="right")
    for position, row in enumerate(ranked, start=1):
        sharpe = "n/a" if row["sharpe"] is None else f"{row['sharpe']:.2f}"
        table.add_row(
            str(position),
            *(str(row[n]) for n in names),
            f"{row['total_return_pct']:.2f}",
            sharpe,
            f"{row['max_drawdown_pct']:.2f}",
            str(row["trades"]),
            row["trading_state"],
        )
    console = Console(file=sys.stdout, width=110)
    console.print(table)
    console.print(f"results: {target / 'results.csv'}", markup=False)
