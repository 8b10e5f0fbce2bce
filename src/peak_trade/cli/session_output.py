"""What the session command shows: the summary table, the dry-run plan, the progress bar."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from peak_trade.core.money import trimmed
from peak_trade.core.peak_config import PeakConfig, config_if_any
from peak_trade.core.types import Bar
from peak_trade.portfolio.stats import ANNUALISED_DAYS
from peak_trade.session.runner import LiveSessionRunner
from peak_trade.strategies.registry import list_strategy_specs
from peak_trade.user.strategy_files import use_strategies

__all__ = ["print_dry_run", "print_summary", "progress_callback", "strategy_lines"]


def _money(text: str | None, currency: str) -> str:
    return "-" if text is None else f"{Decimal(text):,.2f} {currency}"


def strategy_lines(
    config: Path | None, strategy_paths: Sequence[Path] | None, indent: str = ""
) -> list[str]:
    """Return one aligned line per strategy: key, tier and description, with the user
    strategies of `strategy_paths` and of the config's [strategies] paths loaded. The config
    is `config`, else $PEAK_TRADE_CONFIG_PATH or the home folder's where there is one: a list
    works anywhere."""
    use_strategies(config_if_any(config), strategy_paths)
    specs = list_strategy_specs()
    width = max(len(spec.key) for spec in specs)
    return [
        f"{indent}{spec.key:<{width}}  {spec.tier:<6}  {spec.description}"
        + (f" ({spec.source})" if spec.source else "")
        for spec in specs
    ]


def print_summary(summary: dict[str, Any]) -> None:
    """Print the run's summary as a table on stdout, then its hints."""
    m, ledger, config = summary["metrics"], summary["ledger"], summary["config"]
    cur = ledger["currency"]
    kind = "Backtest" if summary.get("kind") == "backtest" else "Session"
    table = Table(title=f"{kind} {summary['run_id']}", show_header=False)
    table.add_column("item")
    table.add_column("value", justify="right")
    rows = [
        ("mode / strategy", f"{config['mode']} / {config['strategy_key']}"),
        (
            "symbol / timeframe / data",
            f"{config['symbol']} / {config['timeframe']} / {config['data_source']}",
        ),
        ("bars processed (steps)", f"{m['steps']:,}"),
        ("target changes", f"{m['target_changes']:,}"),
        ("orders generated", f"{m['total_orders_generated']:,}"),
        ("orders executed (filled)", f"{m['orders_executed']:,}"),
        *(
            [("validated by Kraken (testnet)", f"{m.get('orders_validated', 0):,}")]
            if config["mode"] == "testnet"
            else []
        ),
        (
            "blocked by risk / safety / environment",
            f"{m['orders_blocked_risk']:,} / {m['orders_blocked_safety']:,} / "
            f"{m['orders_blocked_environment']:,}",
        ),
        ("rejected by / failed at the venue", f"{m['orders_rejected']:,} / {m['orders_error']:,}"),
        ("entries skipped by sizing", f"{m['orders_skipped']:,}"),
        ("fill rate", f"{m['fill_rate']:.1%}"),
        # normalized: a flat position reads 0 whether or not the run ever traded
        (
            "position",
            f"{Decimal(ledger['position']).normalize():f} {config['symbol'].split('/')[0]}",
        ),
        ("equity", _money(ledger["equity"], cur)),
        (
            "realized / unrealized PnL",
            f"{_money(ledger['realized_pnl'], cur)} / {_money(ledger['unrealized_pnl'], cur)}",
        ),
        ("fees", _money(ledger["fees"], cur)),
        ("return", f"{Decimal(ledger['return_pct']):.2f} %"),
        (
            "max drawdown",
            f"{_money(ledger['max_drawdown'], cur)} ({Decimal(ledger['max_drawdown_pct']):.2f} %)",
        ),
        ("trading state", summary["trading_state"]),
        ("stopped because", str(summary["stop_reason"])),
        ("report", summary.get("report_dir") or "not written (see the error above)"),
    ]
    rows.extend(_stats_rows(summary.get("stats")))
    for item, value in rows:
        table.add_row(Text(item), Text(value))  # Text: brackets in a value are not markup
    console = Console(file=sys.stdout, width=110)
    console.print(table)
    for hint in summary["hints"]:
        console.print(f"hint: {hint}", markup=False)


def _number(value: float | None, unit: str = "", places: int = 2) -> str:
    return "-" if value is None else f"{value:,.{places}f}{unit}"


def _stats_rows(stats: dict[str, Any] | None) -> list[tuple[str, str]]:
    if not stats:
        return []
    return [
        ("CAGR / Sharpe / Sortino", _annualised(stats)),
        ("drawdown duration", f"{stats['max_drawdown_bars']:,} bars"),
        (
            "round trips / win rate",
            f"{stats['trades']:,} / {_number(stats['win_rate_pct'], ' %', 1)}",
        ),
        (
            "profit factor / average trade",
            f"{_number(stats['profit_factor'])} / {_number(stats['average_trade'])}",
        ),
        ("exposure", _number(stats["exposure_pct"], " %", 1)),
    ]


def _annualised(stats: dict[str, Any]) -> str:
    if stats["span_days"] < ANNUALISED_DAYS:
        return f"n/a (run too short: {stats['span_days']:.1f} of {ANNUALISED_DAYS} days)"
    return (
        f"{_number(stats['cagr_pct'], ' %')} / "
        f"{_number(stats['sharpe'])} / {_number(stats['sortino'])}"
    )


def status_line(runner: LiveSessionRunner) -> str:
    """Return a running session's state in one line: its last bar, equity, position and
    trading state, and when its next poll is due."""
    m, config = runner.metrics, runner.config
    base, quote = config.symbol.split("/")
    risk = runner.pipeline.risk_limits
    state = "no limits" if risk is None else risk.state.value
    at = "-" if m.last_bar_time is None else m.last_bar_time.strftime("%Y-%m-%d %H:%M")
    due = datetime.now(UTC) + timedelta(seconds=config.poll_interval_seconds)
    position = trimmed(m.current_position)
    return (
        f"{runner.run_id}: bar {at} | equity {m.equity:,.2f} {quote} | {position} {base} | "
        f"{state} | next poll by {due:%H:%M:%S}"
    )


def print_dry_run(runner: LiveSessionRunner, cfg: PeakConfig) -> None:
    """Describe what a run would do; nothing is traded and nothing is fetched."""
    c = runner.config
    risk = runner.pipeline.risk_limits
    lines = [
        f"dry run: {c.mode} session {runner.run_id}",
        f"strategy:  {c.strategy_key} {runner.strategy.params.model_dump()} "
        f"(needs {runner.strategy.required_bars} bars, warmup_candles {c.warmup_candles})",
        f"market:    {c.symbol} {c.timeframe} from {c.data_source}"
        + (f" ({c.data_path})" if c.data_path else ""),
        f"venue:     {type(runner.pipeline.venue).__name__}, fee {c.fee_rate}, slippage "
        f"{c.slippage_bps} bps, fill at {c.fill_price}",
        f"sizing:    {c.position_fraction:.0%} of equity, start balance {c.start_balance:,.2f}",
        "risk:      "
        + (
            "off (--no-risk-limits)"
            if risk is None
            else f"[live_risk] from {cfg.path or 'built-in defaults'}"
        ),
        "nothing was traded.",
    ]
    print("\n".join(lines))


@contextmanager
def progress_callback(
    total: int | None,
    start: int = 0,
    stream: TextIO | None = None,
    describe: Callable[[], str] | None = None,
) -> Iterator[Callable[[int, Bar], None] | None]:
    """Yield a step callback that draws a progress bar on `stream` (stderr), if that is a
    terminal. The callback gets the run's step count, which a run of quiet bars advances by
    many at once; `start` is the count before this run (the bars a resumed run replayed).
    A run with no known end (`total` None) gets a status line instead, `describe()`'s text
    after each step, rather than a bar that could never fill."""
    out = sys.stderr if stream is None else stream
    if not out.isatty() or (total is None and describe is None):
        yield None
        return
    if total is None and describe is not None:
        line = Progress(TextColumn("{task.description}"), console=Console(file=out), transient=True)
        task = line.add_task("waiting for the first bar", total=None)
        with line:
            yield lambda step, bar: line.update(task, description=describe())
        return
    progress = Progress(
        TextColumn("bars"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(file=out),
        transient=True,
    )
    task = progress.add_task("session", total=total)

    def show(step: int, bar: Bar) -> None:
        progress.update(task, completed=step - start)

    with progress:
        yield show
