"""Compiled order rules in integer steps: the fill price with slippage and the entry size.

Each rule works on integers, exactly: prices in ticks (10^-T), quantities in lots (10^-L),
money in steps of 10^-c, and rates as an integer with its decimal places. The shadow venue and
sizing call them for one order (`ShadowOrderExecutor`, `plan_orders`) and a compiled backtest
calls the very same kernels, so each rule has one implementation.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from peak_trade.core.compiled import compiled
from peak_trade.core.money import decimal_places, steps
from peak_trade.core.wide import (
    Wide,
    add,
    compare,
    divide_floor,
    floor_ten_to,
    is_negative,
    multiply,
    negate,
    times_ten_to,
    widen,
)

__all__ = [
    "FILLS",
    "MAX_RATE_PLACES",
    "NO_FUNDS",
    "NO_POSITION",
    "entry_lots",
    "fee_of",
    "rate_steps",
    "refusal",
    "slipped_ticks",
]

# Rates (slippage as a fraction of the price, the fee rate) may have this many decimal places:
# 10^places plus the rate then fits in an int64.
MAX_RATE_PLACES = 18

_INT64_MAX = np.uint64(2**63 - 1)
_POWERS = np.array([10**k for k in range(MAX_RATE_PLACES + 1)], dtype=np.int64)


def rate_steps(name: str, rate: Decimal, scale_places: int = 0) -> tuple[int, int]:
    """Return `rate` x 10^-scale_places as (integer, decimal places), as the kernels take it:
    slippage in basis points is `rate_steps("slippage_bps", bps, 4)`."""
    places = decimal_places(rate) + scale_places
    if places > MAX_RATE_PLACES:
        raise ValueError(
            f"{name} has too many decimal places ({rate}); at most "
            f"{MAX_RATE_PLACES - scale_places} are supported"
        )
    return steps(rate, places - scale_places), places


@compiled
def _scaled_quotient(a: Wide, places: int, divisor: int) -> Wide:
    """Return floor(a x 10^places / divisor) for a divisor above zero and places of either
    sign, without a product larger than the result (long division in steps of 10^18)."""
    if places <= 0:
        return divide_floor(floor_ten_to(a, -places), divisor)[0]
    quotient, rest = divide_floor(a, divisor)
    while places > 0:
        step = min(places, 18)
        digits, rest = divide_floor(multiply(widen(rest), _POWERS[step]), divisor)
        quotient = add(times_ten_to(quotient, step), digits)
        places -= step
    return quotient


@compiled
def _to_int64(a: Wide) -> int:
    if a[0] != 0 or a[1] > _INT64_MAX:
        raise OverflowError("a quantity or price does not fit in 64 bits")
    return int(np.int64(a[1]))


@compiled
def slipped_ticks(buy: bool, market: int, slippage: int, places: int) -> int:
    """Return the fill price in ticks of a market order at `market` ticks, moved against the
    trader by slippage x 10^-places of the price: a buy's rounded up, a sell's rounded down."""
    scale = _POWERS[places]
    factor = scale + slippage if buy else scale - slippage
    moved = multiply(widen(market), factor)
    if buy:  # ceil(x / 10^places) = -floor(-x / 10^places)
        return _to_int64(negate(floor_ten_to(negate(moved), places)))
    return _to_int64(floor_ten_to(moved, places))


@compiled
def entry_lots(
    buy: bool,
    fraction: int,
    fraction_places: int,
    equity: Wide,
    cash: Wide,
    money_places: int,
    price: int,
    price_places: int,
    lot_places: int,
    slippage: int,
    slippage_places: int,
    fee: int,
    fee_places: int,
) -> int:
    """Return the lots of an entry: fraction x equity / price rounded down to the lot, and for a
    buy no more than the cash pays for at the price with slippage and fee.

    Money (equity, cash) is in steps of 10^-money_places, the price in ticks of
    10^-price_places; fraction, slippage (of the price) and fee rate are integers with their
    decimal places. The equity must be above zero.
    """
    # lots = floor(fraction x equity x 10^(T + L) / (price x 10^(p + c)))
    places = price_places + lot_places - fraction_places - money_places
    lots = _scaled_quotient(multiply(equity, fraction), places, price)
    if buy:
        # affordable = floor(cash x 10^(T + L + s + f - c) / (price x (10^s + slip) x (10^f + fee)))
        funds = widen(0) if is_negative(cash) else cash
        places = price_places + lot_places + slippage_places + fee_places - money_places
        affordable = _scaled_quotient(funds, places, price)
        affordable = divide_floor(affordable, _POWERS[slippage_places] + slippage)[0]
        affordable = divide_floor(affordable, _POWERS[fee_places] + fee)[0]
        if compare(affordable, lots) < 0:
            return _to_int64(affordable)
    return _to_int64(lots)


# what the venue makes of a fill (`refusal`)
FILLS, NO_FUNDS, NO_POSITION = 0, 1, 2


@compiled
def fee_of(lots: int, tick: int, fee: int, places: int) -> Wide:
    """Return the fee of a fill, |lots| x tick x fee rate, in money steps `places` finer than
    a lot times a tick times a step of the rate."""
    return times_ten_to(multiply(multiply(widen(abs(lots)), tick), fee), places)


@compiled
def refusal(lots: int, cost: Wide, fee: Wide, cash: Wide, position: int, allow_short: bool) -> int:
    """Return what the venue makes of a fill of signed `lots` that costs `cost` (signed) and
    `fee`, given the free cash and the position (in the same lots): FILLS, NO_FUNDS (a buy that
    costs more than the cash) or NO_POSITION (a sale beyond the position, shorting off)."""
    if lots > 0 and compare(add(cost, fee), cash) > 0:
        return NO_FUNDS
    if lots < 0 and not allow_short and -lots > position:
        return NO_POSITION
    return FILLS
