"""Decimal helpers: floats become Decimals exactly once, and rounding always has a direction."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt

from peak_trade.core.errors import InvariantError

__all__ = [
    "ZERO",
    "Amount",
    "decimal_places",
    "plain",
    "price_ticks",
    "round_down",
    "round_half_even",
    "round_up",
    "steps",
    "tick_price",
    "to_decimal",
    "trimmed",
]

ZERO = Decimal(0)
# An amount a rule takes as it stands: in lots or steps (int) in compiled code, in Decimal
# elsewhere; a rule written for either serves both (`core.compiled.python_of`).
Amount = TypeVar("Amount", int, Decimal)
# A scaled float this close to a half step may round differently than its decimal text does;
# the product's own error is about 1e-10 at most for prices a double can hold to the cent.
_NEAR_TIE: Final = 1e-6
_EXACT_LIMIT: Final = 2.0**52


def to_decimal(value: float | int | str | Decimal) -> Decimal:
    """Convert a finite number to Decimal through its shortest text form (0.1 stays 0.1)."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, was {value}")
        result = Decimal(repr(value))
    else:
        result = Decimal(value)
    if not result.is_finite():
        raise ValueError(f"expected a finite number, was {value}")
    return result


def plain(value: Decimal) -> str:
    """Return a Decimal as text in plain notation: "0.00000000", not "0E-8"; "10000000000000000",
    not "1E+16" (the same digits and exponent otherwise)."""
    return f"{value:f}"


def trimmed(value: Decimal) -> str:
    """Return a Decimal in plain notation without trailing zeros: "0.00000000" and "0E-8" are
    "0", "0.02074000" is "0.02074" (for reading, not for the journal)."""
    text = plain(value)
    return (text.rstrip("0").rstrip(".") or "0") if "." in text else text


def decimal_places(value: Decimal) -> int:
    """Return how many decimal places `value` is written with (0 for whole numbers)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"expected a finite number, was {value}")
    return max(0, -exponent)


def steps(value: Decimal, places: int) -> int:
    """Return `value` x 10^places as an int: `value` counted in steps of 10^-places.

    `value` must have at most `places` decimals (a price on its tick, a quantity on its lot).
    """
    scaled = value.scaleb(places)
    whole = int(scaled)
    if whole != scaled:
        raise ValueError(f"{value} has more than {places} decimal places")
    return whole


def exponent_of(value: Decimal) -> int:
    """Return the exponent `value` is written with (-2 for 1.25, 0 for 7, 2 for 7E+2)."""
    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"expected a finite number, was {value}")
    return exponent


def at_exponent(scaled: int, scale: int, exponent: int) -> Decimal:
    """Return `scaled` x 10^-scale written with `exponent`: the one Decimal's arithmetic gives
    the same amount, so it has no digit finer than that (a kernel's integer result given back
    as the Decimal the ledger's arithmetic would have written)."""
    shift = scale + exponent
    if shift <= 0:
        return Decimal(f"{scaled * 10**-shift}E{exponent}")
    coefficient, rest = divmod(scaled, 10**shift)
    if rest:
        raise InvariantError(f"{scaled}E-{scale} has digits below 1E{exponent}")
    return Decimal(f"{coefficient}E{exponent}")


def common_steps(*values: Decimal) -> tuple[int, ...]:
    """Return `values` as ints counted in one step: 10^-(the most decimal places among them)."""
    places = max(decimal_places(v) for v in values)
    return tuple(steps(v, places) for v in values)


def round_down(value: Decimal, step: Decimal) -> Decimal:
    """Round toward minus infinity to a multiple of `step` (quantities: never more than asked)."""
    return value.quantize(step, rounding=ROUND_FLOOR)


def round_up(value: Decimal, step: Decimal) -> Decimal:
    """Round toward plus infinity to a multiple of `step`."""
    return value.quantize(step, rounding=ROUND_CEILING)


def round_half_even(value: Decimal, step: Decimal) -> Decimal:
    """Round to the nearest multiple of `step`, ties to even."""
    return value.quantize(step, rounding=ROUND_HALF_EVEN)


def price_ticks(values: npt.NDArray[np.float64], decimals: int) -> npt.NDArray[np.int64]:
    """Return `round_half_even(to_decimal(v), 1E-decimals)` of each value, in steps of 1E-decimals.

    Vectorised where the scaled float is clearly away from a half step; the other values (and
    any too large for a double to hold exactly) go through the Decimal rule itself.
    """
    scaled = values * 10.0**decimals
    ticks = np.rint(scaled)
    with np.errstate(invalid="ignore"):
        doubtful = (np.abs(scaled - np.floor(scaled) - 0.5) < _NEAR_TIE) | ~(
            np.abs(scaled) < _EXACT_LIMIT
        )
    if doubtful.any():
        step = Decimal(1).scaleb(-decimals)
        for i in np.flatnonzero(doubtful):
            exact = round_half_even(to_decimal(float(values[i])), step).scaleb(decimals)
            if abs(exact) >= _EXACT_LIMIT:
                raise ValueError(f"{values[i]!r} has too many digits for {decimals} decimals")
            ticks[i] = float(exact)
    return ticks.astype(np.int64)


def tick_price(tick: int | np.integer, step: Decimal) -> Decimal:
    """Return the price `tick` steps of `step` make: one of `price_ticks` back as the Decimal
    the rule gives (the same value and exponent as rounding the float again)."""
    return Decimal(int(tick)) * step
