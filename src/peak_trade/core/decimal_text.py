"""Decimal text of scaled integers, written by compiled code exactly as `str(Decimal)` writes it.

An amount the compiled backtest loop counts in steps of 10^-places is the Decimal with that
coefficient and exponent -places; the journal holds its text. `write_decimal` writes it into a
byte buffer the way Python's `Decimal.__str__` does: plain notation (`12.50`, `0.00012`) while
the adjusted exponent is at least -6, scientific below it (`5E-7`, `0E-8`). Amounts are wide
integers (`core.wide`); their digits come from long division by 10^9 in 32-bit limbs, some
hundred times faster than `wide.divide_floor`'s bit by bit. Decimal keeps 28 significant
digits: a coefficient with more would be rounded there, so it is refused (-1) rather than
written.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from peak_trade.core.compiled import compiled
from peak_trade.core.wide import Wide, is_negative, negate

__all__ = ["DIGITS", "floor_scaled", "scratch_space", "write_decimal"]

Bytes = npt.NDArray[np.uint8]

DIGITS = 28  # Decimal's default precision: the most significant digits an amount may have
_LIMB = np.uint64(0xFFFF_FFFF)
_THIRTY_TWO = np.uint64(32)
_ZERO = np.uint64(0)
_BILLION = 1_000_000_000
_POWERS = np.array([10**k for k in range(10)], dtype=np.uint64)
_ZERO_CHAR, _POINT, _MINUS, _E = ord("0"), ord("."), ord("-"), ord("E")


@compiled
def _divide_small(value: Wide, divisor: int) -> tuple[Wide, np.int64]:
    """Return an unsigned 128-bit value divided by `divisor` (below 2^32) and the remainder,
    by long division in 32-bit limbs (each partial dividend fits in 64 bits)."""
    d = np.uint64(divisor)
    hi, lo = value
    part = hi >> _THIRTY_TWO
    q3, rest = part // d, part % d
    part = (rest << _THIRTY_TWO) | (hi & _LIMB)
    q2, rest = part // d, part % d
    part = (rest << _THIRTY_TWO) | (lo >> _THIRTY_TWO)
    q1, rest = part // d, part % d
    part = (rest << _THIRTY_TWO) | (lo & _LIMB)
    q0, rest = part // d, part % d
    return ((q3 << _THIRTY_TWO) | q2, (q1 << _THIRTY_TWO) | q0), np.int64(rest)


@compiled
def floor_scaled(value: Wide, places: int) -> Wide:
    """Return floor(value / 10^places) for places >= 0 (Python's // for either sign)."""
    if places == 0:
        return value
    negative = is_negative(value)
    magnitude = negate(value) if negative else value
    inexact = False
    while places > 0:
        step = min(places, 9)
        magnitude, rest = _divide_small(magnitude, int(_POWERS[step]))
        inexact = inexact or rest != 0
        places -= step
    if not negative:
        return magnitude
    if inexact:  # floor of a negative quotient: one further from zero
        low = magnitude[1] + np.uint64(1)
        magnitude = (magnitude[0] + np.uint64(low == _ZERO), low)
    return negate(magnitude)


@compiled
def _digits(magnitude: Wide, scratch: Bytes) -> int:
    """Write the decimal digits of an unsigned 128-bit value (as characters) at the end of
    `scratch` (64 bytes); return where they start."""
    at = len(scratch)
    while True:
        magnitude, chunk = _divide_small(magnitude, _BILLION)
        last = magnitude[0] == _ZERO and magnitude[1] == _ZERO
        for _ in range(9):  # right to left; the most significant chunk without leading zeros
            at -= 1
            scratch[at] = _ZERO_CHAR + chunk % 10
            chunk //= 10
            if last and chunk == 0:
                break
        if last:
            return at


@compiled
def _copy(out: Bytes, at: int, digits: Bytes, start: int, stop: int) -> int:
    for k in range(start, stop):
        out[at] = digits[k]
        at += 1
    return at


@compiled
def _scientific(out: Bytes, at: int, digits: Bytes, n: int, adjusted: int) -> int:
    """Write d[.ddd]E-x, for an adjusted exponent below zero."""
    at = _copy(out, at, digits, 0, 1)
    if n > 1:
        out[at] = _POINT
        at = _copy(out, at + 1, digits, 1, n)
    out[at], out[at + 1] = _E, _MINUS
    exponent, width = -adjusted, 1
    while exponent >= 10**width:
        width += 1
    for p in range(width - 1, -1, -1):
        out[at + 2 + width - 1 - p] = _ZERO_CHAR + (exponent // 10**p) % 10
    return at + 2 + width


@compiled
def write_decimal(out: Bytes, at: int, value: Wide, places: int, scratch: Bytes) -> int:
    """Write the text of the Decimal with coefficient `value` and exponent -places (>= 0) at
    `out[at]`; return where the text ends, or -1 for a coefficient of more than 28 digits
    (and for `at` -1: a failed write before it, so that writes can be chained). `scratch` is
    room for the digits: 64 bytes (`scratch_space`)."""
    if at < 0:
        return -1
    negative = is_negative(value)
    start = _digits(negate(value) if negative else value, scratch)
    n = len(scratch) - start
    if n > DIGITS:
        return -1
    digits = scratch[start:]
    if negative:
        out[at] = _MINUS
        at += 1
    adjusted = n - 1 - places
    if adjusted < -6:
        return _scientific(out, at, digits, n, adjusted)
    whole = n - places
    if places == 0:
        return _copy(out, at, digits, 0, n)
    if whole <= 0:  # 0.000ddd
        out[at], out[at + 1] = _ZERO_CHAR, _POINT
        at += 2
        for _ in range(-whole):
            out[at] = _ZERO_CHAR
            at += 1
        return _copy(out, at, digits, 0, n)
    at = _copy(out, at, digits, 0, whole)
    out[at] = _POINT
    return _copy(out, at + 1, digits, whole, n)


def scratch_space() -> Bytes:
    """Return room for `write_decimal`'s digits."""
    return np.empty(64, dtype=np.uint8)
