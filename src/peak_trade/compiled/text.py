"""The texts of a compiled batch's amounts, written at once in compiled code.

The journal holds each amount of a traded bar as its Decimal text (`str(Decimal)`), and a
backtest journals thousands of traded bars a second. `render` writes every amount of a batch's
events and quiet runs into one byte buffer, separated by `|`, as the Decimals `batch_view`
would build from the same slots would print: wide amounts in money steps floored to the places
Decimal arithmetic gives them, lots and ticks at the instrument's places. One decode and one
split then give all of them (`texts`). An amount of more than 28 digits (which Decimal would
round) stops it: `texts` returns None, and the caller takes the Decimals' way.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from peak_trade.compiled.layout import (
    E_CASH,
    E_CASH_PLACES,
    E_EQUITY,
    E_EQUITY_PLACES,
    E_FEE,
    E_FILL_LOTS,
    E_FILL_TICK,
    E_MARKET_TICK,
    E_ORDER_LOTS,
    E_PEAK,
    E_PEAK_PLACES,
    E_POSITION,
    get,
)
from peak_trade.core.compiled import compiled
from peak_trade.core.decimal_text import floor_scaled, write_decimal
from peak_trade.core.wide import Wide, subtract, times_ten_to, widen

__all__ = ["TEXT_FIELDS", "texts"]

Ints = npt.NDArray[np.int64]
Bytes = npt.NDArray[np.uint8]

# the texts of each event, in this order; those of an order or fill are empty without one
TEXT_FIELDS: Final = (
    "cash",
    "equity",
    "drawdown",  # peak - equity, as Decimal subtracts them
    "position",
    "order_quantity",
    "fill_quantity",
    "fill_price",
    "market_price",
    "fee",
)
(
    T_CASH,
    T_EQUITY,
    T_DRAWDOWN,
    T_POSITION,
    T_ORDER_QUANTITY,
    T_FILL_QUANTITY,
    T_FILL_PRICE,
    T_MARKET_PRICE,
    T_FEE,
) = range(len(TEXT_FIELDS))
_WIDTH = 48  # room for one amount's text and its separator (28 digits, sign, point, zeros)
_SEPARATOR = ord("|")


@compiled
def _in_places(value: Wide, money_places: int, places: int) -> tuple[Wide, int]:
    """Return an amount in money steps as a coefficient at `places` (floored; never more
    places than the steps have) and those places."""
    if places >= money_places:
        return value, money_places
    return floor_scaled(value, money_places - places), places


@compiled
def _amount(out: Bytes, at: int, value: Wide, money_places: int, places: int, digits: Bytes) -> int:
    coefficient, places = _in_places(value, money_places, places)
    return write_decimal(out, at, coefficient, places, digits)


@compiled
def _separate(out: Bytes, at: int) -> int:
    if at >= 0:
        out[at] = _SEPARATOR
        return at + 1
    return at


@compiled
def _event(out: Bytes, at: int, event: Ints, money_places: int, places: Ints, digits: Bytes) -> int:
    """Write one event's texts (TEXT_FIELDS) from `at`; return where they end, or -1."""
    lot, tick, fee = places[0], places[1], places[2]
    at = _separate(
        out, _amount(out, at, get(event, E_CASH), money_places, event[E_CASH_PLACES], digits)
    )
    equity, equity_places = _in_places(get(event, E_EQUITY), money_places, event[E_EQUITY_PLACES])
    peak, peak_places = _in_places(get(event, E_PEAK), money_places, event[E_PEAK_PLACES])
    if write_decimal(digits[64:], 0, peak, peak_places, digits[:64]) < 0:  # Decimal would round
        return -1
    at = _separate(out, write_decimal(out, at, equity, equity_places, digits))
    common = max(equity_places, peak_places)
    drawdown = subtract(
        times_ten_to(peak, common - peak_places), times_ten_to(equity, common - equity_places)
    )
    at = _separate(out, write_decimal(out, at, drawdown, common, digits))
    at = _separate(out, write_decimal(out, at, widen(event[E_POSITION]), lot, digits))
    if event[E_ORDER_LOTS] != 0:
        at = write_decimal(out, at, widen(abs(event[E_ORDER_LOTS])), lot, digits)
    at = _separate(out, at)
    if event[E_FILL_LOTS] == 0:
        for _ in range(4):
            at = _separate(out, at)
        return at
    at = _separate(out, write_decimal(out, at, widen(abs(event[E_FILL_LOTS])), lot, digits))
    at = _separate(out, write_decimal(out, at, widen(event[E_FILL_TICK]), tick, digits))
    at = _separate(out, write_decimal(out, at, widen(event[E_MARKET_TICK]), tick, digits))
    return _separate(out, _amount(out, at, get(event, E_FEE), money_places, fee, digits))


@compiled
def render(events: Ints, quiet: Ints, money_places: int, places: Ints, out: Bytes) -> int:
    """Write the texts of `events` (TEXT_FIELDS each) and then each quiet run's peak before
    it; return the bytes written, or -1 if an amount has more than 28 digits. `places` are
    the lots', ticks' and fees' decimal places."""
    digits = np.empty(128, dtype=np.uint8)  # room for digits (and the peak's text, unkept)
    at = 0
    for i in range(len(events)):
        at = _event(out, at, events[i], money_places, places, digits)
    for k in range(len(quiet)):
        at = _separate(out, _amount(out, at, get(quiet[k], 2), money_places, quiet[k, 4], digits))
    return at


def texts(
    events: Ints, quiet: Ints, money_places: int, lot: int, tick: int, fee: int
) -> list[str] | None:
    """Return the texts `render` writes: TEXT_FIELDS for each event, then each quiet run's
    peak before it; None if an amount has more digits than Decimal keeps."""
    out = np.empty((len(events) * len(TEXT_FIELDS) + len(quiet)) * _WIDTH, dtype=np.uint8)
    size = render(events, quiet, money_places, np.array([lot, tick, fee], dtype=np.int64), out)
    if size < 0:
        return None
    return out[:size].tobytes().decode("ascii").split("|")
