"""What a session writes to its journal, event by event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from peak_trade.core.types import Bar
from peak_trade.execution.engine import BarOutcome
from peak_trade.execution.journal import Journal, JournalEvent
from peak_trade.live.risk_limits import TradingStateChanged
from peak_trade.live.safety import SafetyAuditEntry
from peak_trade.orders.base import OrderFill, OrderStatus
from peak_trade.portfolio.ledger import Ledger

__all__ = ["SessionRecorder", "bar_from_payload", "bar_payload", "fill_payload"]


def bar_payload(bar: Bar) -> dict[str, Any]:
    """Return a bar as journal fields."""
    return {
        "t": bar.time,
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
        "v": bar.volume,
    }


def bar_from_payload(payload: dict[str, Any]) -> Bar:
    """Rebuild a journaled bar exactly."""
    return Bar(
        datetime.fromisoformat(payload["t"]).astimezone(UTC),
        payload["o"],
        payload["h"],
        payload["l"],
        payload["c"],
        payload["v"],
    )


def fill_payload(fill: OrderFill) -> dict[str, Any]:
    """Return a fill as journal fields."""
    return {
        "client_id": fill.client_id,
        "side": fill.side,
        "quantity": fill.quantity,
        "price": fill.price,
        "fee": fill.fee,
        "market_price": fill.market_price,
    }


class SessionRecorder:
    """Turns a session's steps into journal events; does nothing without a journal."""

    def __init__(self, journal: Journal | None, run_id: str) -> None:
        self.journal = journal
        self.run_id = run_id
        self._states_written = 0

    def _add(self, kind: str, ts: datetime | None, payload: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.append(self.run_id, kind, ts, payload)

    def started(self, config: dict[str, Any], ts: datetime) -> None:
        """Record the run's full config."""
        self._add("run_started", ts, {"config": config})
        self.commit()

    def plan(self, plan: dict[str, Any], ts: datetime) -> None:
        """Record what a run method was asked to do (steps, duration or forever)."""
        self._add("run_plan", ts, plan)
        self.commit()

    def warmup(self, bars: Sequence[Bar]) -> None:
        """Record the bars shown to the strategy before trading."""
        last = bars[-1].time if bars else None
        self._add("warmup", last, {"bars": [bar_payload(bar) for bar in bars]})
        self.commit()

    def resumed(self, bars: int, ts: datetime) -> None:
        """Record that the run was rebuilt from its journal."""
        self._add("run_resumed", ts, {"bars_replayed": bars})
        self.commit()

    def outcome(self, outcome: BarOutcome, ledger: Ledger, symbol: str) -> None:
        """Record one bar and everything that happened on it."""
        bar = outcome.bar
        self._add(
            "bar",
            bar.time,
            bar_payload(bar)
            | {
                "target": outcome.target,
                "cash": ledger.cash,
                "position": ledger.position(symbol),
                "equity": ledger.equity,
                "drawdown": ledger.peak_equity - ledger.equity,
            },
        )
        if outcome.target_changed:
            self._add(
                "target_changed", bar.time, {"from": outcome.previous_target, "to": outcome.target}
            )
        decision = outcome.decision
        if decision.reason is not None and not decision.orders:
            self._add("order_skipped", bar.time, {"reason": decision.reason, "code": decision.code})
        for order in decision.orders:
            self._add(
                "order",
                bar.time,
                {
                    "client_id": order.client_id,
                    "side": order.side,
                    "quantity": order.quantity,
                    "reason": order.reason,
                    "type": order.order_type,
                },
            )
        result = outcome.result
        if result is not None and result.rejected and not result.executed:
            self._add(
                "order_denied",
                bar.time,
                {
                    "status": result.status,
                    "reasons": list(result.reasons),
                    "client_ids": [order.client_id for order in decision.orders],
                },
            )
        for venue_result in outcome.venue_results:
            if venue_result.fill is not None:
                self._add("fill", venue_result.fill.ts_event, fill_payload(venue_result.fill))
            elif venue_result.status is not OrderStatus.SUBMITTED:
                self._add(
                    "order_" + venue_result.status.value,
                    bar.time,
                    {
                        "client_id": venue_result.request.client_id,
                        "reason": venue_result.reason,
                        "detail": venue_result.detail,
                    },
                )

    def safety(self, entry: SafetyAuditEntry) -> None:
        """Record one SafetyGuard decision."""
        self._add(
            "safety",
            entry.ts,
            {
                "action": entry.action,
                "environment": entry.environment,
                "allowed": entry.allowed,
                "reason": entry.reason,
                "detail": entry.detail,
            },
        )

    def trading_states(self, events: Sequence[TradingStateChanged]) -> None:
        """Record the trading-state changes not written yet."""
        for event in events[self._states_written :]:
            self._add(
                "trading_state",
                event.ts,
                {"from": event.previous, "to": event.state, "reason": event.reason},
            )
        self._states_written = len(events)

    def feed_event(self, kind: str, detail: str, ts: datetime) -> None:
        """Record a feed retry, backfill, gap or error."""
        self._add("feed_event", ts, {"kind": kind, "detail": detail})

    def step_failed(self, error: BaseException, ts: datetime) -> None:
        """Record a failed step."""
        self._add("step_failed", ts, {"error": f"{type(error).__name__}: {error}"})
        self.commit()

    def stopped(self, reason: str, status: str, summary: dict[str, Any], ts: datetime) -> None:
        """Record the end of a run method."""
        self._add("run_stopped", ts, {"reason": reason, "status": status, "summary": summary})
        self.commit()

    def commit(self) -> None:
        """Write the queued events."""
        if self.journal is not None:
            self.journal.commit()

    def events(self, *kinds: str) -> list[JournalEvent]:
        """Return this run's journaled events of the given kinds."""
        return [] if self.journal is None else list(self.journal.events(self.run_id, *kinds))
