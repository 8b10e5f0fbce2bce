"""What the dashboard shows, read from journals read-only: runs, one run's series and events.

Every request opens the journals anew (read-only, so a session writing them is never held up)
and reads what it needs. A run's bar series is decimated to at most `points` points, each the
lowest and highest close and equity and the deepest drawdown of the bars it stands for, and
kept until the run's journal grows, so a page polling a long backtest does not read it again.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from peak_trade.core.errors import DataError
from peak_trade.journal.bars import BAR_KINDS, bar_blocks, referenced_bars
from peak_trade.journal.runs import RunStatus, run_status
from peak_trade.journal.schema import LEGS_KEY, leg_run_id
from peak_trade.journal.store import Journal, JournalEvent
from peak_trade.report.plots import drawdown_percent, envelope
from peak_trade.session.controls import control_path

__all__ = ["JournalSet", "RunNotFoundError"]

MAX_PAGE = 1_000  # events a page holds at most


class RunNotFoundError(LookupError):
    """No journal holds the run asked for."""


@dataclass(frozen=True, slots=True)
class _Series:
    seq: int  # the journal's last event of the run when read
    points: int
    data: dict[str, list[Any]]


class JournalSet:
    """The journals a dashboard watches."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        self._series: dict[str, _Series] = {}

    @contextmanager
    def _open(self, path: Path) -> Iterator[Journal]:
        with Journal(path, read_only=True) as journal:
            yield journal

    def runs(self) -> list[RunStatus]:
        """Return every run of every journal (those that exist), oldest first per journal."""
        now = datetime.now(UTC)
        found: list[RunStatus] = []
        for path in self.paths:
            if not path.is_file():
                continue
            with self._open(path) as journal:
                found.extend(run_status(journal, run_id, now) for run_id in journal.run_ids())
        return found

    def measured(self) -> list[tuple[RunStatus, dict[str, Any]]]:
        """Return every run with its counts for the metrics (`counts`)."""
        now = datetime.now(UTC)
        found: list[tuple[RunStatus, dict[str, Any]]] = []
        for path in self.paths:
            if not path.is_file():
                continue
            with self._open(path) as journal:
                for run_id in journal.run_ids():
                    found.append((run_status(journal, run_id, now), counts(journal, run_id)))
        return found

    @contextmanager
    def run(self, run_id: str) -> Iterator[Journal]:
        """Yield the journal that holds `run_id`, open; RunNotFoundError if none does."""
        for path in self.paths:
            if not path.is_file():
                continue
            with self._open(path) as journal:
                if run_id in journal.run_ids():
                    yield journal
                    return
        raise RunNotFoundError(run_id)

    def detail(self, run_id: str) -> dict[str, Any]:
        """Return a run's status, its config and settings, its summary once it stopped and its
        trading-state history."""
        with self.run(run_id) as journal:
            status = run_status(journal, run_id, datetime.now(UTC))
            started = journal.run_started(run_id).payload
            stopped = journal.last(run_id, "run_stopped")
            states = [
                {"time": e.ts_event, **e.payload} for e in journal.events(run_id, "trading_state")
            ]
        return {
            "status": status.to_dict(),
            "config": started["config"],
            "settings": started.get("settings"),
            "summary": None if stopped is None else stopped.payload["summary"],
            "trading_states": states,
        }

    def series(self, run_id: str, points: int) -> dict[str, list[Any]]:
        """Return the run's bars as at most `points` + 1 points: time (Unix seconds), the low
        and high close and equity, and the deepest drawdown in percent, of each stretch."""
        with self.run(run_id) as journal:
            run_id = traders(journal, run_id)[0]  # a portfolio's account, with its first leg
            last = journal.last(run_id, *BAR_KINDS)
            seq = -1 if last is None else last.seq
            kept = self._series.get(run_id)
            if kept is not None and kept.seq == seq and kept.points == points:
                return kept.data
            try:
                source = referenced_bars(journal.events(run_id, "data_reference"))
            except DataError:  # the data a backtest referred to is gone or changed
                source = None
            seconds: list[np.ndarray] = []
            close: list[np.ndarray] = []
            equity: list[np.ndarray] = []
            drawdown: list[np.ndarray] = []
            try:
                for block in bar_blocks(journal.events(run_id, *BAR_KINDS), source):
                    seconds.append(block.epoch_seconds().astype(np.int64))
                    close.append(np.asarray(block.close))
                    equity.append(np.asarray(block.equity))
                    drawdown.append(np.asarray(block.drawdown))
            except DataError:  # quiet bars of data no longer there: the series stops short
                pass
        data = _decimated(seconds, close, equity, drawdown, points)
        self._series[run_id] = _Series(seq, points, data)
        return data

    def control_file(self, run_id: str) -> tuple[str, Path]:
        """Return the run's state and the file its operator commands go to."""
        with self.run(run_id) as journal:
            state = run_status(journal, run_id, datetime.now(UTC)).state
            return state, control_path(journal.path, journal.lock_path(run_id).name)

    def events(self, run_id: str, kind: str, offset: int, limit: int) -> dict[str, Any]:
        """Return a page of the run's events of `kind`, oldest first, and how many there are
        (a portfolio's from all its legs, each with its leg's symbol)."""
        limit = max(1, min(limit, MAX_PAGE))
        with self.run(run_id) as journal:
            runs = traders(journal, run_id)
            legs = journal.run_started(run_id).payload["config"].get(LEGS_KEY) or []
            total = sum(journal.count(trader, kind) for trader in runs)
            symbols = [leg["symbol"] for leg in legs] or [None]
            streams = [
                _labelled(journal.events(trader, kind), symbol)
                for trader, symbol in zip(runs, symbols, strict=True)
            ]
            merged = heapq.merge(*streams, key=lambda item: item[0].seq)
            page: list[dict[str, Any]] = []
            for event, symbol in itertools.islice(merged, offset, offset + limit):
                row = {"seq": event.seq, "time": event.ts_event, **event.payload}
                page.append(row if symbol is None else row | {"symbol": symbol})
        return {"kind": kind, "offset": offset, "total": total, "events": page}


def _labelled(
    events: Iterator[JournalEvent], symbol: str | None
) -> Iterator[tuple[JournalEvent, str | None]]:
    return ((event, symbol) for event in events)


def traders(journal: Journal, run_id: str) -> list[str]:
    """Return the runs that hold a run's bars, orders and fills: a portfolio's legs' runs,
    else the run itself."""
    legs = journal.run_started(run_id).payload["config"].get(LEGS_KEY) or []
    return [leg_run_id(run_id, i) for i in range(len(legs))] or [run_id]


def counts(journal: Journal, run_id: str) -> dict[str, Any]:
    """Return a run's orders by status, denials by rule, fills, fees, feed problems by kind,
    and its cash and drawdown at its last bar (when that bar says); a portfolio's over all
    its legs."""
    kinds = {
        "sent": "order",
        "filled": "fill",
        "validated": "order_validated",
        "denied": "order_denied",
        "skipped": "order_skipped",
    }
    runs = traders(journal, run_id)
    rules: dict[str, int] = {}
    for trader in runs:
        for reason, n in journal.tally(trader, "order_denied", "$.reasons[0]").items():
            rules[_rule(reason)] = rules.get(_rule(reason), 0) + n
    lasts = [e for trader in runs if (e := journal.last(trader, *BAR_KINDS)) is not None]
    last = max(lasts, key=lambda event: event.seq, default=None)
    payload = {} if last is None else last.payload
    feed: dict[str, int] = {}
    for kind, n in journal.tally(run_id, "feed_event", "$.kind").items():
        feed[kind] = feed.get(kind, 0) + n
    return {
        "orders": {
            status: sum(journal.count(trader, kind) for trader in runs)
            for status, kind in kinds.items()
        },
        "denials": rules,
        "fees": sum(journal.total_amount(trader, "fill", "fee") for trader in runs),
        "feed": feed,
        "cash": float(payload["cash"]) if "cash" in payload else None,
        "drawdown": float(payload["drawdown"]) if "drawdown" in payload else None,
    }


def _rule(reason: str) -> str:
    """Return the rule a denial names: "risk:max_order_notional", "safety", "venue"."""
    source, _, rest = reason.partition(":")
    rule = rest.strip().partition(":")[0].strip()
    return f"risk:{rule}" if source.strip() == "risk" and rule else source.strip()


def _decimated(
    seconds: list[np.ndarray],
    close: list[np.ndarray],
    equity: list[np.ndarray],
    drawdown: list[np.ndarray],
    points: int,
) -> dict[str, list[Any]]:
    if not seconds:
        return {
            "time": [],
            "close_low": [],
            "close_high": [],
            "equity_low": [],
            "equity_high": [],
            "drawdown_pct": [],
        }
    t, c, e, d = (np.concatenate(parts) for parts in (seconds, close, equity, drawdown))
    steps, lows, highs = envelope([c, e, drawdown_percent(e, d)], points)
    at = steps.astype(np.int64)
    return {
        "time": t[at].tolist(),
        "close_low": lows[0].tolist(),
        "close_high": highs[0].tolist(),
        "equity_low": lows[1].tolist(),
        "equity_high": highs[1].tolist(),
        "drawdown_pct": lows[2].tolist(),
    }
