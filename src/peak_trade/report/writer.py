"""The session report: summary.json, trades.csv, equity.csv and equity.png in one folder.

Files are written into a temporary folder inside the target and moved into place at the end,
so a report is either complete or absent, never half-written; the folder's other files (a
journal kept beside the report, the user's own) are never touched.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from peak_trade.core.errors import ConfigError, InvariantError, SessionRuntimeError
from peak_trade.core.files import unwritable
from peak_trade.core.money import plain
from peak_trade.core.types import Timeframe
from peak_trade.journal.bars import BarBlock
from peak_trade.journal.store import JournalEvent
from peak_trade.portfolio.stats import PerformanceStats, RoundTrips

Floats = npt.NDArray[np.float64]
_PLOT_POINTS = 2_000  # a 10-inch figure at 100 dpi is 1,000 pixels wide

__all__ = [
    "REPORT_FILES",
    "check_report_folder",
    "envelope",
    "equity_rows",
    "pyplot",
    "staged_files",
    "write_report",
    "write_session_record",
]

REPORT_FILES = ("summary.json", "trades.csv", "equity.csv", "equity.png")


def check_report_folder(target: Path) -> None:
    """Raise ConfigError unless a report can be written into `target` (checked before a run,
    so that a run is not wasted on a report that cannot be written)."""
    try:
        if target.exists() and not target.is_dir():
            raise ConfigError(f"report folder {target} is a file; expected a folder")
        folder = unwritable(target)
    except OSError as error:  # a name too long for the file system, a loop of links
        raise ConfigError(
            f"cannot write the report into {target}: {error.strerror or error}"
        ) from None
    if folder is not None:
        raise ConfigError(f"cannot write the report into {target}: {folder} is not writable")


@contextmanager
def staged_files(target: Path, names: Iterable[str]) -> Iterator[Path]:
    """Yield a temporary folder inside `target` to write the files `names` into.

    On success each written file replaces its namesake in `target`, and a name not written
    is removed there (no stale file of an earlier report stays beside the new one); nothing
    else in `target` is touched. On failure `target` is left as it was.
    """
    check_report_folder(target)
    made = not target.exists()  # a folder this report makes is removed again if it fails
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging.", dir=target))
    done = False
    try:
        yield staging
        owned = set(names)
        stray = sorted(p.name for p in staging.iterdir() if p.name not in owned)
        if stray:
            raise InvariantError(f"report files not declared: {', '.join(stray)}")
        for name in owned:
            if (staging / name).exists():
                (staging / name).replace(target / name)
            else:
                (target / name).unlink(missing_ok=True)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if made and not done:
            shutil.rmtree(target, ignore_errors=True)


def write_report(
    target: Path,
    summary: dict[str, Any],
    fills: Iterable[JournalEvent],
    bars: Iterable[BarBlock],
) -> Path:
    """Write the four report files for one run into `target` and return it.

    `bars` are the run's traded bars, as `journal_bars.bar_blocks` reads them from the journal.

    The performance statistics are computed on the way and added to `summary["stats"]`.
    """
    stats = PerformanceStats(
        start_equity=float(summary["ledger"]["start_balance"]),
        bars_per_year=Timeframe(summary["config"]["timeframe"]).bars_per_year(),
    )
    try:
        with staged_files(target, REPORT_FILES) as staging:
            _write_trades(staging / "trades.csv", fills, stats)
            span, equity, drawdown = _write_equity(staging / "equity.csv", bars, stats)
            summary["stats"] = stats.result()
            text = json.dumps(summary, indent=2, default=str) + "\n"
            (staging / "summary.json").write_text(text)
            _plot(staging / "equity.png", span, equity, drawdown, summary)
    except OSError as error:  # a folder that cannot be made, a full disk: the journal holds the run
        raise SessionRuntimeError(
            f"cannot write the report into {target}: {error.strerror or error}"
        ) from None
    return target


def pyplot() -> ModuleType:
    """Return matplotlib.pyplot drawing to files only (loaded on first use: commands that
    draw nothing never pay for it)."""
    import matplotlib

    matplotlib.use("Agg")  # never open a window
    import matplotlib.pyplot as plt

    return plt


def _write_trades(path: Path, fills: Iterable[JournalEvent], stats: PerformanceStats) -> None:
    trips = RoundTrips()
    columns = ("time", "client_id", "side", "quantity", "price", "fee", "market_price")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for event in fills:
            p = event.payload
            amounts = (_plain_text(p[name]) for name in columns[3:])
            writer.writerow((event.ts_event, p["client_id"], p["side"], *amounts))
            sign = 1.0 if p["side"] == "buy" else -1.0
            done = trips.add_fill(sign * float(p["quantity"]), float(p["price"]), float(p["fee"]))
            if done is not None:
                stats.add_round_trip(done)


def _plain_text(value: str | None) -> str | None:
    """Return journaled decimal text in plain notation ("0E-10" is "0.0000000000")."""
    return None if value is None else plain(Decimal(value))


def _write_equity(
    path: Path, bars: Iterable[BarBlock], stats: PerformanceStats
) -> tuple[tuple[str, str], array[float], array[float]]:
    """Write equity.csv; return the first and last bar times, the equity and the drawdowns
    (as the journal has them: the amount below the peak, >= 0)."""
    first, last = "", ""
    equity: array[float] = array("d")
    drawdown: array[float] = array("d")
    with path.open("w", newline="") as handle:
        handle.write(_EQUITY_HEADER)
        for block in bars:
            handle.write(equity_rows(block))
            stats.add_bars(block.equity, float(block.position) != 0)
            first, last = first or block.times[0], block.times[-1]
            equity.extend(block.equity)
            drawdown.extend(block.drawdown)
    return (first, last), equity, drawdown


_EQUITY_HEADER = "time,close,target,position,cash,equity,drawdown\r\n"


def equity_rows(block: BarBlock) -> str:
    """Return a block's rows of equity.csv, as csv.writer writes them.

    Equity and drawdown are floats, as a run of quiet bars journals them, so every row looks
    alike; cash and position stay exact decimal text, in plain notation ("0.00000000", not the
    journal's "0E-8"). No field can hold a comma, quote or line break (ISO times, numbers,
    decimal text), so none is quoted; floats are their repr, as csv.writer writes them, and
    rows end in CR LF, its default. While flat, a block's equity and drawdown stand still:
    their text is then made once.
    """
    same = f",{block.target},{_plain_text(block.position)},{_plain_text(block.cash)},"
    equity, drawdown = block.equity, block.drawdown
    n = len(equity)
    if n and _standing(equity) and _standing(drawdown):
        end = f"{same}{equity[0]!r},{drawdown[0]!r}\r\n"
        return "".join(
            f"{t},{close!r}{end}" for t, close in zip(block.times, block.close, strict=True)
        )
    return "".join(
        f"{t},{close!r}{same}{value!r},{down!r}\r\n"
        for t, close, value, down in zip(block.times, block.close, equity, drawdown, strict=True)
    )


def _standing(values: list[float]) -> bool:
    """Return True when every value is the first, the sign of a zero included: their text is
    then the same (0.0 == -0.0, but not their repr)."""
    first = values[0]
    if values.count(first) != len(values):
        return False
    return first != 0 or len({math.copysign(1.0, value) for value in values}) == 1


def envelope(
    equity: Floats, drawdown: Floats, points: int = _PLOT_POINTS
) -> tuple[Floats, Floats, Floats, Floats]:
    """Return at most `points` + 1 x positions with the lowest and highest equity and the
    deepest drawdown of the bars each stands for: a plot that loses no peak or trough, at any
    length. Each point holds from its x to the next one's (draw it with step="post"); a last
    point at the last bar repeats the last stretch's values, so the plot reaches the end."""
    n = len(equity)
    size = max(1, -(-n // points))  # bars per point, rounded up
    if size == 1:
        return np.arange(n, dtype=np.float64), equity, equity, drawdown
    starts = np.arange(0, n, size)
    parts = (
        np.minimum.reduceat(equity, starts),
        np.maximum.reduceat(equity, starts),
        np.minimum.reduceat(drawdown, starts),
    )
    if starts[-1] == n - 1:
        return (starts.astype(np.float64), *parts)
    low, high, deepest = (np.append(part, part[-1]) for part in parts)
    return np.append(starts, n - 1).astype(np.float64), low, high, deepest


def _plot(
    path: Path,
    span: tuple[str, str],
    equity: array[float],
    drawdown: array[float],
    summary: dict[str, Any],
) -> None:
    plt = pyplot()
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    below = np.negative(np.frombuffer(drawdown))  # drawn downward from 0
    steps, low, high, deepest = envelope(np.frombuffer(equity), below)
    if low is high:  # one point a bar
        top.plot(steps, low, color="tab:blue", linewidth=1.0)
    else:  # each point spans several bars: draw their range
        top.fill_between(
            steps, low, high, step="post", color="tab:blue", edgecolor="tab:blue", linewidth=0.8
        )
    top.set_ylabel(f"equity ({summary['ledger']['currency']})")
    config = summary["config"]
    kind = "backtest" if summary.get("kind") == "backtest" else config["mode"]
    top.set_title(
        f"{summary['run_id']}: {config['strategy_key']} on {config['symbol']} "
        f"{config['timeframe']} ({kind})"
    )
    top.grid(alpha=0.3)
    bottom.fill_between(
        steps, deepest, 0, step=None if low is high else "post", color="tab:red", alpha=0.4
    )
    bottom.set_ylabel("drawdown")
    bottom.grid(alpha=0.3)
    if equity:
        bottom.set_xlabel(f"bars from {span[0]} to {span[1]}")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_session_record(folder: Path, summary: dict[str, Any], extra: dict[str, Any]) -> Path:
    """Write the run's record into the session registry folder (one JSON file per run)."""
    config, metrics, ledger = summary["config"], summary["metrics"], summary["ledger"]
    record = {
        "session_id": summary["run_id"],
        "run_id": summary["run_id"],
        "run_type": f"live_session_{config['mode']}",
        "mode": config["mode"],
        "symbol": config["symbol"],
        "status": summary.get("status", "completed"),
        "stop_reason": summary["stop_reason"],
        "config": config,
        "metrics": {
            "realized_pnl": ledger["realized_pnl"],
            "unrealized_pnl": ledger["unrealized_pnl"],
            "max_drawdown": ledger["max_drawdown"],
            "num_orders": metrics["orders_executed"],
            "num_trades": metrics["total_orders_generated"],
            "steps": metrics["steps"],
            "fill_rate": metrics["fill_rate"],
        },
    } | extra
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{summary['run_id']}.json"
    staging = path.with_suffix(".json.tmp")
    staging.write_text(json.dumps(record, indent=2, default=str) + "\n")
    staging.replace(path)
    return path
