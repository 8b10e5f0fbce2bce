"""The session report: summary.json, trades.csv, round_trips.csv, equity.csv and equity.png in
one folder.

Files are written into a temporary folder inside the target and moved into place at the end,
so a report is either complete or absent, never half-written; the folder's other files (a
journal kept beside the report, the user's own) are never touched.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from peak_trade.core.errors import ConfigError, InvariantError, SessionRuntimeError
from peak_trade.core.files import unwritable
from peak_trade.core.types import Timeframe
from peak_trade.journal.bars import BarBlock
from peak_trade.journal.store import JournalEvent
from peak_trade.portfolio.stats import PerformanceStats
from peak_trade.report.plots import RunPicture, draw_run
from peak_trade.report.trades import REPORT_KINDS, TradeLog, plain_text

__all__ = [
    "REPORT_FILES",
    "REPORT_KINDS",
    "check_report_folder",
    "equity_rows",
    "staged_files",
    "write_report",
    "write_session_record",
]

REPORT_FILES = ("summary.json", "trades.csv", "round_trips.csv", "equity.csv", "equity.png")


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
    events: Iterable[JournalEvent],
    bars: Iterable[BarBlock],
) -> Path:
    """Write the report files for one run into `target` and return it.

    `events` are the run's `REPORT_KINDS` events (its orders, fills and trading-state changes)
    and `bars` its traded bars, as `journal_bars.bar_blocks` reads them from the journal.

    The performance statistics are computed on the way and added to `summary["stats"]`, and
    whether a position was still open at the end to `summary["open_at_end"]`.
    """
    stats = PerformanceStats(
        start_equity=float(summary["ledger"]["start_balance"]),
        bars_per_year=Timeframe(summary["config"]["timeframe"]).bars_per_year(),
    )
    log = TradeLog(stats)
    try:
        with staged_files(target, REPORT_FILES) as staging:
            log.write_fills(staging / "trades.csv", events)
            columns = _write_equity(staging / "equity.csv", bars, stats)
            summary["open_at_end"] = log.write_trips(staging / "round_trips.csv", columns.last)
            summary["stats"] = stats.result()
            text = json.dumps(summary, indent=2, default=str) + "\n"
            (staging / "summary.json").write_text(text)
            picture = RunPicture(
                np.frombuffer(columns.seconds, dtype=np.int64),
                np.frombuffer(columns.close),
                np.frombuffer(columns.equity),
                np.frombuffer(columns.drawdown),
                float(summary["ledger"]["start_balance"]),
                log.fills,
                log.states,
            )
            draw_run(
                staging / "equity.png", picture, _title(summary), summary["ledger"]["currency"]
            )
    except OSError as error:  # a folder that cannot be made, a full disk: the journal holds the run
        raise SessionRuntimeError(
            f"cannot write the report into {target}: {error.strerror or error}"
        ) from None
    return target


def _title(summary: dict[str, Any]) -> str:
    config = summary["config"]
    kind = "backtest" if summary.get("kind") == "backtest" else config["mode"]
    return (
        f"{summary['run_id']}: {config['strategy_key']} on {config['symbol']} "
        f"{config['timeframe']} ({kind})"
    )


@dataclass
class _Columns:
    """The traded bars' columns the plot needs, and the last bar's time and close."""

    seconds: array[int] = field(default_factory=lambda: array("q"))
    close: array[float] = field(default_factory=lambda: array("d"))
    equity: array[float] = field(default_factory=lambda: array("d"))
    drawdown: array[float] = field(default_factory=lambda: array("d"))
    last: tuple[str, float] | None = None


def _write_equity(path: Path, bars: Iterable[BarBlock], stats: PerformanceStats) -> _Columns:
    """Write equity.csv; return the columns of the bars written."""
    columns = _Columns()
    with path.open("w", newline="") as handle:
        handle.write(_EQUITY_HEADER)
        for block in bars:
            handle.write(equity_rows(block))
            stats.add_bars(block.equity, float(block.position) != 0)
            columns.seconds.frombytes(block.epoch_seconds().astype(np.int64).tobytes())
            columns.close.extend(block.close)
            columns.equity.extend(block.equity)
            columns.drawdown.extend(block.drawdown)
            columns.last = (block.times[-1], block.close[-1])
    return columns


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
    same = f",{block.target},{plain_text(block.position)},{plain_text(block.cash)},"
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
