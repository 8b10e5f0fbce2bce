"""SafetyGuard: may this order leave the process to this venue?

| environment | simulate (shadow fill) | validate (exchange validate-only) | place (real order) |
|-------------|------------------------|-----------------------------------|--------------------|
| shadow      | allowed                | refused                           | refused            |
| testnet     | allowed                | allowed                           | refused            |
| live        | refused                | refused                           | refused            |

Every decision becomes an audit entry, kept in a bounded in-memory tail and handed to the
journal through `sink`.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from peak_trade.core.errors import InvariantError
from peak_trade.core.modes import TradingEnvironment, VenueAction

__all__ = ["SafetyAuditEntry", "SafetyDecision", "SafetyGuard"]

_ALLOWED: Final[dict[TradingEnvironment, frozenset[VenueAction]]] = {
    TradingEnvironment.SHADOW: frozenset({VenueAction.SIMULATE}),
    TradingEnvironment.TESTNET: frozenset({VenueAction.SIMULATE, VenueAction.VALIDATE}),
    TradingEnvironment.LIVE: frozenset(),
}


@dataclass(frozen=True, slots=True)
class SafetyDecision:
    """Whether an action may happen, and why."""

    allowed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class SafetyAuditEntry:
    """One decision of the guard, for the audit trail."""

    ts: datetime
    action: str
    environment: str
    allowed: bool
    reason: str
    detail: str = ""


class SafetyGuard:
    """Decides which venue actions an environment permits; live permits none."""

    def __init__(
        self,
        environment: TradingEnvironment,
        audit_capacity: int = 1000,
        sink: Callable[[SafetyAuditEntry], None] | None = None,
    ) -> None:
        if audit_capacity < 1:
            raise ValueError(f"audit_capacity must be >= 1, was {audit_capacity}")
        self.environment = environment
        self._audit: deque[SafetyAuditEntry] = deque(maxlen=audit_capacity)
        # approvals recorded in bulk, their entries not made yet: action, count, their orders
        self._deferred: list[tuple[VenueAction, int, Orders]] = []
        self._sinks: list[Callable[[SafetyAuditEntry], None]] = [sink] if sink else []

    def check(self, action: VenueAction, ts: datetime, detail: str = "") -> SafetyDecision:
        """Decide whether `action` may happen now, and record the decision."""
        decision = _decide(self.environment, action)
        entry = SafetyAuditEntry(
            ts, action.value, self.environment.value, decision.allowed, decision.reason, detail
        )
        self._settle()
        self._audit.append(entry)
        for sink in self._sinks:
            sink(entry)
        return decision

    def approval(self, action: VenueAction, ts: datetime, detail: str = "") -> SafetyAuditEntry:
        """Return the decision that `action` may happen, unrecorded, for a caller that trades
        only where `permits` said yes (the compiled backtest loop)."""
        decision = self._approvable(action)
        return SafetyAuditEntry(
            ts, action.value, self.environment.value, decision.allowed, decision.reason, detail
        )

    def approve(self, action: VenueAction, ts: datetime, detail: str = "") -> SafetyAuditEntry:
        """Record the decision that `action` may happen (`approval`), for a caller that
        journals it itself."""
        entry = self.approval(action, ts, detail)
        self._settle()
        self._audit.append(entry)
        return entry

    def approve_many(self, action: VenueAction, count: int, orders: Orders) -> None:
        """Record that `action` may happen for `count` orders, for a caller that journals
        them itself; `orders(k)` returns the time and detail of the last k of them. Their
        entries are made when the audit is next read or written, and only as many as it keeps
        then: a backtest approves thousands of orders a second, and keeps the last 1000."""
        self._approvable(action)
        if count <= 0:
            return
        self._deferred.append((action, count, orders))
        newer = 0
        for at in range(len(self._deferred) - 1, 0, -1):  # forget what newer ones push out
            newer += self._deferred[at][1]
            if newer >= self.audit_capacity:
                del self._deferred[:at]
                break

    def _approvable(self, action: VenueAction) -> SafetyDecision:
        """Return the decision allowing `action`; an InvariantError where it is refused."""
        decision = _decide(self.environment, action)
        if not decision.allowed:
            raise InvariantError(f"{action.value} was approved where it is refused")
        return decision

    def _settle(self) -> None:
        """Make the entries of the approvals recorded in bulk, as many as the audit keeps."""
        if not self._deferred:
            return
        wanted, parts = self.audit_capacity, []
        for action, count, orders in reversed(self._deferred):
            if wanted <= 0:
                break
            parts.append((action, orders(min(count, wanted))))
            wanted -= count
        self._deferred.clear()
        for action, entries in reversed(parts):
            self._audit.extend(self.approval(action, ts, detail) for ts, detail in entries)

    @property
    def audit_capacity(self) -> int:
        """Return how many decisions the audit keeps (the most recent)."""
        return self._audit.maxlen or 0

    def permits(self, action: VenueAction) -> bool:
        """Return whether `action` is allowed here, without recording a decision."""
        return _decide(self.environment, action).allowed

    def subscribe(self, sink: Callable[[SafetyAuditEntry], None]) -> None:
        """Also hand every future decision to `sink` (the journal)."""
        self._sinks.append(sink)

    def audit_tail(self) -> list[SafetyAuditEntry]:
        """Return the most recent decisions, oldest first."""
        self._settle()
        return list(self._audit)


Orders = Callable[[int], Sequence[tuple[datetime, str]]]  # the last k orders' times and details


@functools.cache  # a pure function of two enums, asked once per order
def _decide(env: TradingEnvironment, action: VenueAction) -> SafetyDecision:
    if env is TradingEnvironment.LIVE:
        return SafetyDecision(False, "live trading is blocked: Peak Trade never sends real orders")
    if action in _ALLOWED[env]:
        return SafetyDecision(True, f"{action.value} is permitted in {env.value} mode")
    if action is VenueAction.PLACE:
        return SafetyDecision(False, f"real orders are refused in {env.value} mode")
    return SafetyDecision(
        False, f"{action.value} would reach an exchange, which {env.value} mode never does"
    )
