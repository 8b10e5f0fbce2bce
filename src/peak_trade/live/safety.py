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
        self._sinks: list[Callable[[SafetyAuditEntry], None]] = [sink] if sink else []

    def check(self, action: VenueAction, ts: datetime, detail: str = "") -> SafetyDecision:
        """Decide whether `action` may happen now, and record the decision."""
        decision = _decide(self.environment, action)
        entry = SafetyAuditEntry(
            ts, action.value, self.environment.value, decision.allowed, decision.reason, detail
        )
        self._audit.append(entry)
        for sink in self._sinks:
            sink(entry)
        return decision

    def approval(self, action: VenueAction, ts: datetime, detail: str = "") -> SafetyAuditEntry:
        """Return the decision that `action` may happen, unrecorded, for a caller that trades
        only where `permits` said yes (the compiled backtest loop)."""
        decision = _decide(self.environment, action)
        if not decision.allowed:
            raise InvariantError(f"{action.value} was approved where it is refused")
        return SafetyAuditEntry(
            ts, action.value, self.environment.value, decision.allowed, decision.reason, detail
        )

    def approve(self, action: VenueAction, ts: datetime, detail: str = "") -> SafetyAuditEntry:
        """Record the decision that `action` may happen (`approval`), for a caller that
        journals it itself."""
        entry = self.approval(action, ts, detail)
        self._audit.append(entry)
        return entry

    def approve_many(self, action: VenueAction, orders: Sequence[tuple[datetime, str]]) -> None:
        """Record that `action` may happen for each of `orders` (its time and detail), in
        order; only as many as the audit holds are made at all."""
        for ts, detail in orders[-self.audit_capacity :]:
            self.approve(action, ts, detail)

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
        return list(self._audit)


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
