"""What a journal says about each of its runs, read without writing: state, market, progress
and account, for `peak-trade status` (and anything else that watches runs).

A run is *running* while a live process holds it (`Journal.claim`), *finished* or *failed*
once its last start or resume has a `run_stopped` event (or the resume traded nothing after
the run had stopped: a finished run asked to go on), and *crashed* when neither: nobody holds
it and it never said it stopped (kill -9, a power cut). A crashed run goes on with
`session --resume`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from peak_trade.core.types import Timeframe
from peak_trade.journal.schema import LEGS_KEY, leg_run_id
from peak_trade.journal.store import Journal, JournalEvent

__all__ = ["RunStatus", "run_status"]


_BARS = ("bar", "bars")
_MICROSECOND = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RunStatus:
    """One run as its journal has it; None where the journal does not say."""

    run_id: str
    journal: str
    state: str  # running, finished, failed or crashed
    mode: str
    data: str  # synthetic, replay or kraken
    strategy: str
    symbol: str
    timeframe: str
    bars: int
    equity: str | None
    position: str | None
    trading_state: str
    last_bar: str | None  # the open time of the last traded bar (ISO)
    seconds_since_close: float | None  # for a running run: since its last bar closed
    stop_reason: str | None
    positions: dict[str, str] | None = None  # a portfolio's open positions by symbol

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)


def run_status(journal: Journal, run_id: str, now: datetime) -> RunStatus:
    """Return run `run_id`'s status in `journal` at `now` (a ConfigError if it has none)."""
    started = journal.run_started(run_id)
    config = started.payload["config"]
    stopped = journal.last(run_id, "run_stopped")
    resumed = journal.last(run_id, "run_resumed")
    legs = config.get(LEGS_KEY) or []
    traders = [leg_run_id(run_id, i) for i in range(len(legs))] or [run_id]
    lasts = [event for rid in traders if (event := journal.last(rid, *_BARS)) is not None]
    last = max(lasts, key=lambda event: event.seq, default=None)
    # a resume of a finished run that had nothing left to do traded no bar after it
    idle = resumed is not None and (last is None or last.seq < resumed.seq)
    ended = stopped is not None and (resumed is None or stopped.seq > resumed.seq or idle)
    if journal.held_elsewhere(run_id):
        state = "running"
    elif ended and stopped is not None:
        state = "failed" if stopped.payload["status"] == "failed" else "finished"
    else:
        state = "crashed"
    last_bar = None if last is None else _last_bar_time(last)
    timeframe = Timeframe(str(config["timeframe"]))
    since_close = None
    if state == "running" and last_bar is not None:
        close = datetime.fromisoformat(last_bar) + timeframe.delta
        since_close = max(0.0, (now - close).total_seconds())
    summary = stopped.payload["summary"] if ended and stopped else None
    equity, position = _account(last, summary)
    positions = None
    if legs:  # a portfolio: each leg's position, from the summary or each leg's last bar
        position, positions = None, _positions(run_id, legs, lasts, summary)
    changed = journal.last(run_id, "trading_state")
    return RunStatus(
        run_id=run_id,
        journal=str(journal.path),
        state=state,
        mode=str(config["mode"]),
        data=str(config["data_source"]),
        strategy="+".join(leg["strategy"] for leg in legs) or str(config["strategy_key"]),
        symbol=",".join(leg["symbol"] for leg in legs) or str(config["symbol"]),
        timeframe=timeframe.name,
        bars=sum(journal.count(rid, "bar") + journal.total(rid, "bars", "n") for rid in traders),
        equity=equity,
        position=position,
        trading_state="active" if changed is None else str(changed.payload["to"]),
        last_bar=last_bar,
        seconds_since_close=since_close,
        stop_reason=str(stopped.payload["reason"]) if ended and stopped else None,
        positions=positions,
    )


def _positions(
    run_id: str, legs: list[dict[str, Any]], lasts: list[JournalEvent], summary: Any
) -> dict[str, str]:
    """Return a portfolio's open positions by symbol: a stopped run's from its summary, a
    running one's from each leg's last bar."""
    if summary is not None:
        return dict(summary["ledger"]["positions"])
    by_run = {event.run_id: event.payload for event in lasts}
    rows = [(leg["symbol"], by_run.get(leg_run_id(run_id, i))) for i, leg in enumerate(legs)]
    return {s: str(p["position"]) for s, p in rows if p and Decimal(str(p["position"]))}


def _last_bar_time(event: JournalEvent) -> str:
    p = event.payload
    if event.kind == "bar":
        return str(p["t"])
    if "last_us" in p:  # quiet bars by reference to the data
        return (_EPOCH + int(p["last_us"]) * _MICROSECOND).isoformat()
    return str(event.ts_event)  # quiet bars copied: their event is stamped with the last


def _account(
    last: JournalEvent | None, summary: dict[str, Any] | None
) -> tuple[str | None, str | None]:
    """Return the equity and position: a stopped run's from its summary, a running one's from
    its last bar (the equity only where the bar carries it)."""
    if summary is not None:
        ledger = summary["ledger"]
        return str(ledger["equity"]), str(ledger.get("position"))
    if last is None:
        return None, None
    p = last.payload
    equity = str(Decimal(str(p["equity"]))) if "equity" in p else None
    return equity, str(p["position"])
