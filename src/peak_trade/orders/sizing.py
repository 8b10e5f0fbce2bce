"""Turn a target position into orders: compare it with the actual position, size, round.

Entering sizes `position_fraction x equity / price`, rounded down to the lot size and capped by
the cash a buy can pay for after fee and slippage; exiting closes the whole position. Below the
exchange's minimum order size or cost there is no order, and the decision says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from peak_trade.core.compiled import compiled, python_of
from peak_trade.core.money import ZERO, Amount, decimal_places, plain, steps
from peak_trade.core.types import Instrument
from peak_trade.core.wide import to_wide
from peak_trade.orders.base import OrderRequest, OrderSide
from peak_trade.orders.kernels import entry_lots, rate_steps

__all__ = [
    "SizingDecision",
    "SizingRules",
    "plan_orders",
    "position_state",
    "state_of",
    "wanted_position",
    "wanted_state",
]


@dataclass(frozen=True, slots=True)
class SizingRules:
    """How targets become quantities."""

    instrument: Instrument
    position_fraction: Decimal
    allow_short: bool = False
    fee_rate: Decimal = ZERO
    slippage_bps: Decimal = ZERO
    # the position fraction, slippage (of the price) and fee rate as the sizing kernel takes
    # them: each an integer and its decimal places
    rates: tuple[int, int, int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not ZERO < self.position_fraction <= 1:
            raise ValueError(f"position_fraction must be in (0, 1], was {self.position_fraction}")
        rates = (  # refuses a rate with more decimals than the kernels take
            *rate_steps("position_fraction", self.position_fraction),
            *rate_steps("slippage_bps", self.slippage_bps, 4),
            *rate_steps("fee_rate", self.fee_rate),
        )
        object.__setattr__(self, "rates", rates)


@dataclass(frozen=True, slots=True)
class SizingDecision:
    """The orders that move the position toward the target, or why there are none."""

    target: int
    orders: tuple[OrderRequest, ...] = ()
    reason: str | None = None
    code: str | None = None  # a stable name for the reason, for counting


@compiled
def state_of(quantity: Amount) -> int:
    """Return -1, 0 or +1 for a short, flat or long position (lots or an amount)."""
    return (quantity > 0) - (quantity < 0)


@compiled
def wanted_position(target: int, allow_short: bool) -> int:
    """Return the position state a target asks for: a short target is flat unless shorts are
    on (the one rule: the compiled loop calls it, `wanted_state` applies it)."""
    return target if target >= 0 or allow_short else 0


# the same rules as written, for Decimal amounts and one order at a time
_state_of, _wanted_position = python_of(state_of), python_of(wanted_position)


def position_state(quantity: Decimal) -> int:
    """Return -1, 0 or +1 for a short, flat or long position."""
    return _state_of(quantity)


def wanted_state(target: int, rules: SizingRules) -> int:
    """Return the position state a target asks for: a short target is flat unless shorts are on."""
    return _wanted_position(target, rules.allow_short)


def plan_orders(
    *,
    target: int,
    position: Decimal,
    equity: Decimal,
    cash: Decimal,
    price: Decimal,
    rules: SizingRules,
    next_client_id: Callable[[], str],
    ts: datetime,
) -> SizingDecision:
    """Return the orders that bring `position` to the state of `target` at `price`."""
    wanted = wanted_state(target, rules)
    held = position_state(position)
    if held == wanted:
        return SizingDecision(wanted)
    symbol = rules.instrument.symbol
    orders: list[OrderRequest] = []
    if held != 0:
        closing = abs(position)
        if closing < rules.instrument.min_order_size:
            return SizingDecision(
                wanted,
                reason=(
                    f"position {plain(closing)} {rules.instrument.base} is below the minimum order "
                    f"size {plain(rules.instrument.min_order_size)} and cannot be closed"
                ),
                code="dust_position",
            )
        worth = closing * price
        if worth < rules.instrument.min_order_cost:  # the exchange would refuse the order
            quote = rules.instrument.quote
            return SizingDecision(
                wanted,
                reason=(
                    f"position {plain(closing)} {rules.instrument.base} is worth {plain(worth)} "
                    f"{quote}, below the minimum order cost "
                    f"{plain(rules.instrument.min_order_cost)} {quote}, and cannot be closed"
                ),
                code="dust_position",
            )
        side = OrderSide.SELL if held > 0 else OrderSide.BUY
        kind = "exit" if wanted == 0 else "close"
        orders.append(
            OrderRequest(
                next_client_id(),
                symbol,
                side,
                closing,
                reason=f"{kind}_{'long' if held > 0 else 'short'}",
                ts_event=ts,
            )
        )
        cash += position * price  # proceeds of closing a long, cost of covering a short
    if wanted != 0:
        quantity, problem = _entry_quantity(wanted, equity, cash, price, rules)
        if problem is not None:
            code, reason = problem
            return SizingDecision(wanted, tuple(orders), reason=reason, code=code)
        side = OrderSide.BUY if wanted > 0 else OrderSide.SELL
        orders.append(
            OrderRequest(
                next_client_id(),
                symbol,
                side,
                quantity,
                reason=f"entry_{'long' if wanted > 0 else 'short'}",
                ts_event=ts,
            )
        )
    return SizingDecision(wanted, tuple(orders))


def _entry_quantity(
    wanted: int, equity: Decimal, cash: Decimal, price: Decimal, rules: SizingRules
) -> tuple[Decimal, tuple[str, str] | None]:
    """Return the entry quantity, or a (code, reason) pair saying why there is none."""
    instrument = rules.instrument
    if equity <= 0:
        return ZERO, (
            "no_equity",
            f"equity is {plain(equity)} {instrument.quote}; nothing to size an entry with",
        )
    quantity = _entry_size(wanted > 0, equity, cash, price, rules)
    if quantity < instrument.min_order_size:
        return quantity, (
            "min_order_size",
            (
                f"order size {plain(quantity)} {instrument.base} is below the minimum order size "
                f"{plain(instrument.min_order_size)} {instrument.base}"
            ),
        )
    cost = quantity * price
    if cost < instrument.min_order_cost:
        return quantity, (
            "min_order_cost",
            (
                f"order value {plain(cost)} {instrument.quote} is below the minimum order cost "
                f"{plain(instrument.min_order_cost)} {instrument.quote}"
            ),
        )
    return quantity, None


def _entry_size(
    buy: bool, equity: Decimal, cash: Decimal, price: Decimal, rules: SizingRules
) -> Decimal:
    """Return position_fraction x equity / price rounded down to the lot, capped for a buy by
    the cash it can pay for after slippage and fee (the `entry_lots` kernel)."""
    fraction, fraction_places, slippage, slippage_places, fee, fee_places = rules.rates
    money_places = max(decimal_places(equity), decimal_places(cash))
    price_places = decimal_places(price)
    lot_places = rules.instrument.lot_decimals
    lots = entry_lots(
        buy,
        fraction,
        fraction_places,
        to_wide(steps(equity, money_places)),
        to_wide(steps(cash, money_places)),
        money_places,
        steps(price, price_places),
        price_places,
        lot_places,
        slippage,
        slippage_places,
        fee,
        fee_places,
    )
    return Decimal(lots).scaleb(-lot_places)
