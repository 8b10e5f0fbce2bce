"""Decimal helpers: floats become Decimals exactly once, and rounding always has a direction."""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

__all__ = ["ZERO", "round_down", "round_half_even", "round_up", "to_decimal"]

ZERO = Decimal(0)


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


def round_down(value: Decimal, step: Decimal) -> Decimal:
    """Round toward minus infinity to a multiple of `step` (quantities: never more than asked)."""
    return value.quantize(step, rounding=ROUND_FLOOR)


def round_up(value: Decimal, step: Decimal) -> Decimal:
    """Round toward plus infinity to a multiple of `step`."""
    return value.quantize(step, rounding=ROUND_CEILING)


def round_half_even(value: Decimal, step: Decimal) -> Decimal:
    """Round to the nearest multiple of `step`, ties to even."""
    return value.quantize(step, rounding=ROUND_HALF_EVEN)
