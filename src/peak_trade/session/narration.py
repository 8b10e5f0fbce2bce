"""A session that talks: one short INFO line for each thing that happens on a bar.

A target change, an order sent, an order denied (with the rule that denied it), an order
Kraken validated, a fill (with the position and equity after it) and an entry sizing could not
make. Lines fit an 80 to 100 column terminal after the log's own time and level. What repeats
bar after bar (an entry the limits keep refusing) is told its first three times, then at its
10th, 100th, ... time with the count; the summary counts them all. Venue refusals and
trading-state changes are warned of by `session.watch`.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from peak_trade.core.money import plain, trimmed
from peak_trade.engine.outcomes import BarOutcome
from peak_trade.engine.pipeline import ExecutionStatus
from peak_trade.orders.base import OrderStatus

__all__ = ["Narrator", "Throttle"]

_LOG = logging.getLogger("peak_trade.run")
_TARGETS = {1: "long", 0: "flat", -1: "short"}
_DENIED = frozenset(
    {
        ExecutionStatus.BLOCKED_BY_RISK,
        ExecutionStatus.BLOCKED_BY_SAFETY,
        ExecutionStatus.BLOCKED_BY_ENVIRONMENT,
    }
)
_AMOUNTS = re.compile(r"[0-9][0-9.,]*")


class Throttle:
    """Counts what happened by kind (its text, amounts aside) and says when to tell it: the
    first three times, then at the 10th, 100th, 1000th, ..."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def count(self, text: str) -> int | None:
        """Count `text`; return how often its kind was seen, or None when not to tell it."""
        kind = _AMOUNTS.sub("#", text)
        seen = self._seen[kind] = self._seen.get(kind, 0) + 1
        return seen if seen <= 3 or _is_power_of_ten(seen) else None


class Narrator:
    """Tells the operator what happened on each traded bar of one run."""

    def __init__(self, base: str, quote: str, prefix: str = "") -> None:
        """`prefix` begins each line: a portfolio's leg says which it is."""
        self.base, self.quote, self.prefix = base, quote, prefix
        self._throttle = Throttle()

    def bar(self, outcome: BarOutcome) -> None:
        """Tell one bar's events (nothing below INFO)."""
        if not _LOG.isEnabledFor(logging.INFO):
            return
        bar = outcome.bar
        if outcome.target_changed:
            self._info(
                "%s close %s: target %s -> %s",
                bar.time.strftime("%Y-%m-%d %H:%M"),
                plain(Decimal(repr(bar.close))),
                _TARGETS[outcome.previous_target],
                _TARGETS[outcome.target],
            )
        result, decision = outcome.result, outcome.decision
        if decision.orders and result is not None:
            orders = ", ".join(
                self._order(o.client_id, o.side, o.quantity) for o in decision.orders
            )
            if result.status is ExecutionStatus.SUCCESS:
                self._info("order %s (%s)", orders, decision.orders[0].reason)
            elif result.status in _DENIED:
                self._once(f"denied {orders}: {'; '.join(result.reasons)}")
        elif decision.reason:
            self._once(f"no order: {decision.reason}")
        for venue in outcome.venue_results:
            if venue.status is OrderStatus.VALIDATED:
                self._info("validated %s by Kraken: %s", venue.request.client_id, venue.detail)
        account = outcome.account
        for fill in outcome.fills:
            self._info(
                "fill #%s at %s, fee %s; holds %s %s, equity %s %s",
                fill.client_id.rpartition("-")[2],
                plain(fill.price),
                f"{fill.fee:,.2f}",
                trimmed(account.position),
                self.base,
                f"{account.equity:,.2f}",
                self.quote,
            )

    def _info(self, text: str, *args: object) -> None:
        _LOG.info(self.prefix + text, *args)

    def _order(self, client_id: str, side: object, quantity: Decimal) -> str:
        """Name an order by its number in the run (the client id's last part, as in the
        journal and trades.csv), its side and quantity."""
        return f"#{client_id.rpartition('-')[2]} {side} {trimmed(quantity)} {self.base}"

    def _once(self, text: str) -> None:
        seen = self._throttle.count(text)
        if seen is not None:
            self._info("%s%s", text, f" ({seen:,} times so far)" if seen > 3 else "")


def _is_power_of_ten(count: int) -> bool:
    while count % 10 == 0:
        count //= 10
    return count == 1
