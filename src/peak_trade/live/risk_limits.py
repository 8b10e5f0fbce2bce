"""LiveRiskLimits: pre-trade checks on post-trade exposure, and the trading state.

The state is ACTIVE, REDUCING (only orders that shrink a position pass) or HALTED (nothing
passes). It only escalates during a session: a drawdown beyond `max_drawdown_pct` trips
REDUCING, an existing kill-switch file trips HALTED (read on every bar and every order check),
and an operator can set any state. Each change is a `TradingStateChanged` event. A trade whose
price is unknown is denied (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

from peak_trade.core.compiled import python_of
from peak_trade.core.money import ZERO
from peak_trade.live.risk_rules import (
    RULES,
    Denial,
    Exposure,
    ProposedTrade,
    RiskLimitsConfig,
    Rule,
    drawdown_trips,
    is_reducing,
    state_refuses,
)
from peak_trade.portfolio.account import AccountSnapshot

__all__ = [
    "REDUCING_DENIAL",
    "REDUCING_REFUSAL",
    "SEVERITY",
    "STALE_FEED_REASON",
    "LiveRiskLimits",
    "RiskCheckResult",
    "TradingState",
    "TradingStateChanged",
]


class TradingState(StrEnum):
    """How much trading the risk layer permits."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


_HALTED_RULE, _REDUCING_RULE = "trading_halted", "trading_reducing"
# How the state changes that order checks make begin (see LiveRiskLimits.rederives).
_KILL_SWITCH_REASON, _DRAWDOWN_REASON = "kill switch file ", "drawdown "
# how a stale feed's REDUCING begins its reason, and how lifting it does
STALE_FEED_REASON: Final = "no new candle for "
_FRESH_FEED_REASON: Final = "candles arrive again"
_STATE_RULES = frozenset({_HALTED_RULE, _REDUCING_RULE})
# why a REDUCING state refuses an order that would not shrink a position
REDUCING_DENIAL: Final = Denial(
    _REDUCING_RULE, "trading is reducing-only; this order would not shrink a position"
)
# how strict each state is: the order of escalation, and the `state_refuses` kernel's input
SEVERITY: Final = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}
_state_refuses = python_of(state_refuses)


@dataclass(frozen=True, slots=True)
class TradingStateChanged:
    """The trading state moved, and why."""

    ts: datetime
    previous: TradingState
    state: TradingState
    reason: str


@dataclass(frozen=True, slots=True)
class RiskCheckResult:
    """The verdict on a batch of trades: denials block, warnings were let through."""

    allowed: bool
    state: TradingState
    denials: tuple[Denial, ...] = ()
    warnings: tuple[Denial, ...] = ()
    # the trades checked, the notional of the last one valued, and the account before them
    checked: tuple[int, Decimal, AccountSnapshot] | None = None

    @property
    def metrics(self) -> dict[str, str]:
        """Return the figures the verdict was reached on, as text (formatted when asked)."""
        if self.checked is None:
            return {"state": self.state.value}
        trades, notional, account = self.checked
        return {
            "trades": str(trades),
            "order_notional": f"{notional:.2f}",
            "day_pnl": f"{account.day_pnl:.2f}",
            "drawdown_pct": f"{account.drawdown_pct:.4f}",
            "state": self.state.value,
        }

    @property
    def reasons(self) -> list[str]:
        """Return each denial as "rule: reason"."""
        return [str(denial) for denial in self.denials]

    @property
    def refused_by_state(self) -> bool:
        """Return True when only the trading state (halted, reducing-only) refused the batch:
        the same batch is refused again until the state changes."""
        return bool(self.denials) and all(d.rule in _STATE_RULES for d in self.denials)


# the verdict on an order a REDUCING state refuses (nothing else is checked for it)
REDUCING_REFUSAL: Final = RiskCheckResult(False, TradingState.REDUCING, (REDUCING_DENIAL,))


def _valid_price(price: Decimal | None) -> Decimal | None:
    return price if price is not None and price.is_finite() and price > 0 else None


class LiveRiskLimits:
    """Checks trades against `[live_risk]` and keeps the trading state."""

    def __init__(
        self,
        config: RiskLimitsConfig,
        kill_switch: Callable[[], bool] | None = None,
        rules: Mapping[str, Rule] = RULES,
    ) -> None:
        self.config = config
        self.rules = rules  # the exposure rules every order that adds risk is checked by
        self.state = TradingState.ACTIVE
        self.events: list[TradingStateChanged] = []
        self._kill_switch = kill_switch
        self._replaying = False
        self._journaled_halt: TradingStateChanged | None = None

    def adopt(self, config: RiskLimitsConfig, kill_switch: Callable[[], bool] | None) -> None:
        """Check against other limits from now on (a run resumed under an edited
        `[live_risk]`); the trading state stays as it is."""
        self.config, self._kill_switch = config, kill_switch

    def trip(self, state: TradingState, reason: str, ts: datetime) -> None:
        """Raise the state to `state` if it is stricter than the current one."""
        self._escalate(state, reason, ts)

    def feed_stale(self, late: float, limit: float, ts: datetime) -> None:
        """Go reduce-only: no candle came for `late` seconds past its close, over `limit`."""
        reason = f"{STALE_FEED_REASON}{late:.0f} s past its close (stale_after_seconds {limit:g})"
        self._escalate(TradingState.REDUCING, reason, ts)

    def feed_fresh(self, ts: datetime) -> None:
        """Lift the REDUCING a stale feed set, now that candles come again; only while that
        change is the one in force (a later, stricter one stays)."""
        last = self.events[-1] if self.events else None
        if last is None or last.state is not self.state:  # no change, or not the one in force
            return
        if last.reason.startswith(STALE_FEED_REASON):
            self._change(last.previous, f"{_FRESH_FEED_REASON} ({last.reason})", ts)

    def left_active(self) -> str | None:
        """Return when and why trading first left ACTIVE ("TIME (reason)"), or None if it never
        did: from there new exposure was refused, so the run's figures stop showing its rules."""
        left = next((e for e in self.events if e.previous is TradingState.ACTIVE), None)
        return None if left is None else f"{left.ts.isoformat()} ({left.reason})"

    def set_trading_state(self, state: TradingState, reason: str, ts: datetime) -> None:
        """Set the state as an operator; this may also lower it."""
        self._change(state, f"operator: {reason}", ts)

    def restore(self, change: TradingStateChanged) -> None:
        """Make a journaled change again, as it was (replaying a run): any direction."""
        self._change(change.state, change.reason, change.ts)

    @staticmethod
    def rederives(change: TradingStateChanged) -> bool:
        """Return True for a change that order checks make by themselves when a run is replayed
        (drawdown, kill switch), False for one that must be restored (operator, stale feed)."""
        return change.reason.startswith((_KILL_SWITCH_REASON, _DRAWDOWN_REASON))

    @contextmanager
    def replaying(self, journal: Sequence[TradingStateChanged]) -> Iterator[None]:
        """Within: the kill switch reads as when the run was journaled, not as the file is now.

        It trips at the bar the journal says it tripped, with the same reason; a switch that
        never tripped in the run stays off, even if the file exists now (it is read again on
        the first check after the replay).
        """
        halts = (c for c in journal if c.reason.startswith(_KILL_SWITCH_REASON))
        self._replaying, self._journaled_halt = True, next(halts, None)
        try:
            yield
        finally:
            self._replaying, self._journaled_halt = False, None

    @property
    def is_replaying(self) -> bool:
        """Return True inside `replaying` (the kill switch reads as journaled)."""
        return self._replaying

    def check_orders(
        self, trades: Sequence[ProposedTrade], account: AccountSnapshot, ts: datetime
    ) -> RiskCheckResult:
        """Return whether the trades may go out, given the account before them."""
        self._update_state(account, ts)
        positions = dict(account.positions)
        prices = dict(account.prices)
        blocking: list[Denial] = []
        violations: list[Denial] = []
        last_notional = ZERO
        for trade in trades:
            held = positions.get(trade.symbol, ZERO)
            price = _valid_price(trade.price)
            gate = self._state_denial(trade, held, price)
            if gate is not None:
                blocking.append(gate)
            elif (
                price is not None and self.config.enabled and not is_reducing(held, trade.quantity)
            ):
                prices[trade.symbol] = price
                exposure = Exposure(
                    {**positions, trade.symbol: held + trade.quantity},
                    prices,
                    account.start_balance,
                    account.day_pnl,
                )
                violations.extend(
                    d for rule in self.rules.values() if (d := rule(trade, self.config, exposure))
                )
                last_notional = abs(trade.quantity) * price
            positions[trade.symbol] = held + trade.quantity
        if self.config.block_on_violation:
            blocking.extend(violations)
            violations = []
        checked = (len(trades), last_notional, account)
        return RiskCheckResult(
            not blocking, self.state, tuple(blocking), tuple(violations), checked
        )

    def _state_denial(
        self, trade: ProposedTrade, held: Decimal, price: Decimal | None
    ) -> Denial | None:
        refused = _state_refuses(SEVERITY[self.state], is_reducing(held, trade.quantity))
        if refused and self.state is TradingState.HALTED:
            return Denial(_HALTED_RULE, "trading is halted; no order may go out")
        if price is None:
            return Denial(
                "price_unknown",
                f"no valid price for {trade.symbol}; refusing to size risk blind (fail closed)",
            )
        return REDUCING_DENIAL if refused else None

    @contextmanager
    def kill_switch_read_once(self, ts: datetime) -> Iterator[None]:
        """Within: the kill switch reads as it did at `ts`, the first bar of a batch the
        engine trades at once (a backtest's poll). The compiled loop cannot read it bar by
        bar, so no path does within a batch: both trade the batch alike. A session's batch is
        one bar, so it reads the switch at every bar as before."""
        switch = self._kill_switch
        if switch is not None:  # read once: the batch's first bar sees what the rest will
            on = switch()
            self._kill_switch = lambda: on
        try:
            self.watch(ts)
            yield
        finally:
            self._kill_switch = switch

    def watch(self, ts: datetime) -> None:
        """Read the kill switch at the bar of `ts`, whether or not an order is checked there:
        a switch that appears while nothing trades halts the run at once, and says so."""
        if self.state is not TradingState.HALTED:
            self._read_kill_switch(ts)

    def _read_kill_switch(self, ts: datetime) -> None:
        if self._replaying:
            halt = self._journaled_halt
            if halt is not None and ts >= halt.ts:
                self._escalate(TradingState.HALTED, halt.reason, ts)
        elif self._kill_switch is not None and self._kill_switch():
            reason = f"{_KILL_SWITCH_REASON}{self.config.kill_switch_file} exists"
            self._escalate(TradingState.HALTED, reason, ts)

    def _update_state(self, account: AccountSnapshot, ts: datetime) -> None:
        self._read_kill_switch(ts)
        if not self.config.enabled:
            return
        limit = self.config.max_drawdown_pct
        if limit is not None and drawdown_trips(account.peak_equity, account.equity, limit):
            self._escalate(
                TradingState.REDUCING,
                f"{_DRAWDOWN_REASON}{account.drawdown_pct:.2f}% exceeds max_drawdown_pct {limit}%",
                ts,
            )

    def _escalate(self, state: TradingState, reason: str, ts: datetime) -> None:
        if SEVERITY[state] > SEVERITY[self.state]:
            self._change(state, reason, ts)

    def _change(self, state: TradingState, reason: str, ts: datetime) -> None:
        if state is not self.state:
            self.events.append(TradingStateChanged(ts, self.state, state, reason))
            self.state = state
