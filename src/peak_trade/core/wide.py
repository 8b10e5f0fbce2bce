"""128-bit integers for compiled money arithmetic: exact where int64 would overflow.

Money in compiled kernels is an integer count of a fixed step (10^-12 EUR, say). An account of
10,000 EUR is then 10^16 steps, and a product such as quantity x price x fee rate needs more
than int64's 9.2 x 10^18; numba has no wider integer type. A wide integer here is a pair of
uint64, (hi, lo), holding a two's complement 128-bit value: up to about 1.7 x 10^38, far beyond
the 28 significant digits Decimal keeps. Every operation is exact within that range; a sum or
product beyond it raises OverflowError rather than wrap around.

The operations are plain numba code on uint64 limbs (no compiler runtime is needed). Floor
division by a positive int64 works bit by bit: it is for the few divisions of a trade (sizing,
a partial close), not for every bar.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

from peak_trade.core.compiled import compiled, python_of

__all__ = [
    "WIDE_MAX",
    "Wide",
    "add",
    "compare",
    "divide_floor",
    "floor_ten_to",
    "from_wide",
    "is_negative",
    "multiply",
    "negate",
    "on_python_ints",
    "ratio_above",
    "subtract",
    "times_ten_to",
    "to_wide",
    "widen",
]

Wide = tuple[np.uint64, np.uint64]

WIDE_MAX = 2**127 - 1
_WIDE_MIN = -(2**127)
_MASK64 = 2**64 - 1
_MASK128 = 2**128 - 1
_UINT64 = np.uint64
_SIGN = np.uint64(1 << 63)
_LOW32 = np.uint64(0xFFFF_FFFF)
_THIRTY_TWO = np.uint64(32)
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_ALL = np.uint64(_MASK64)


def to_wide(value: int) -> Wide:
    """Return a Python int as a wide integer (it must be within +-2^127)."""
    if not _WIDE_MIN <= value <= WIDE_MAX:
        raise OverflowError(f"{value} does not fit in 128 bits")
    bits = value & _MASK128
    return _UINT64(bits >> 64), _UINT64(bits & _MASK64)


def from_wide(value: Wide) -> int:
    """Return a wide integer as a Python int."""
    bits = (int(value[0]) << 64) | int(value[1])
    return bits - 2**128 if bits >> 127 else bits


@compiled
def widen(value: int) -> Wide:
    """Return an int64 as a wide integer."""
    lo = np.uint64(value)
    return (_ALL if value < 0 else _ZERO), lo


@compiled
def is_negative(a: Wide) -> bool:
    """Return True when `a` is below zero."""
    return bool((a[0] & _SIGN) != _ZERO)


@compiled
def add(a: Wide, b: Wide) -> Wide:
    """Return a + b."""
    lo = a[1] + b[1]
    carry = _ONE if lo < a[1] else _ZERO
    total = (a[0] + b[0] + carry, lo)
    if is_negative(a) == is_negative(b) and is_negative(total) != is_negative(a):
        raise OverflowError("a sum does not fit in 128 bits")
    return total


@compiled
def subtract(a: Wide, b: Wide) -> Wide:
    """Return a - b."""
    borrow = _ONE if a[1] < b[1] else _ZERO
    difference = (a[0] - b[0] - borrow, a[1] - b[1])
    if is_negative(a) != is_negative(b) and is_negative(difference) != is_negative(a):
        raise OverflowError("a difference does not fit in 128 bits")
    return difference


@compiled
def negate(a: Wide) -> Wide:
    """Return -a."""
    return subtract((_ZERO, _ZERO), a)


@compiled
def compare(a: Wide, b: Wide) -> int:
    """Return -1, 0 or 1 as a is below, equal to or above b."""
    a_hi, b_hi = np.int64(a[0]), np.int64(b[0])
    if a_hi != b_hi:
        return -1 if a_hi < b_hi else 1
    if a[1] != b[1]:
        return -1 if a[1] < b[1] else 1
    return 0


@compiled
def _product64(a: np.uint64, b: np.uint64) -> Wide:
    """Return the full 128-bit product of two unsigned 64-bit numbers."""
    a_lo, a_hi = a & _LOW32, a >> _THIRTY_TWO
    b_lo, b_hi = b & _LOW32, b >> _THIRTY_TWO
    low = a_lo * b_lo
    middle_1 = a_hi * b_lo
    middle_2 = a_lo * b_hi
    high = a_hi * b_hi
    # the 32-bit columns of the sum: each part is below 2^64, so carries are counted apart
    cross = (low >> _THIRTY_TWO) + (middle_1 & _LOW32) + (middle_2 & _LOW32)
    lo = (low & _LOW32) | (cross << _THIRTY_TWO)
    hi = high + (middle_1 >> _THIRTY_TWO) + (middle_2 >> _THIRTY_TWO) + (cross >> _THIRTY_TWO)
    return hi, lo


@compiled
def multiply(a: Wide, b: int) -> Wide:
    """Return a x b for an int64 `b` (exact while the product fits in 128 bits)."""
    negative = is_negative(a) != (b < 0)
    magnitude = negate(a) if is_negative(a) else a
    factor = np.uint64(-b) if b < 0 else np.uint64(b)
    hi, lo = _product64(magnitude[1], factor)
    # the magnitude's high half times the factor, plus the carry, must stay below 2^63
    if magnitude[0] != _ZERO and factor > (_SIGN - _ONE) // magnitude[0]:
        raise OverflowError("a product does not fit in 128 bits")
    high = magnitude[0] * factor
    if high > _SIGN - _ONE - hi:
        raise OverflowError("a product does not fit in 128 bits")
    product = (high + hi, lo)
    return negate(product) if negative else product


@compiled
def divide_floor(a: Wide, divisor: int) -> tuple[Wide, int]:
    """Return floor(a / divisor) and the remainder (0 <= remainder < divisor), for a divisor
    above zero."""
    negative = is_negative(a)
    magnitude = negate(a) if negative else a
    d = np.uint64(divisor)
    q_hi = magnitude[0] // d
    rest = magnitude[0] % d
    q_lo = _ZERO
    lo = magnitude[1]
    for shift in range(63, -1, -1):  # rest < divisor < 2^63, so rest x 2 + 1 fits in 64 bits
        rest = (rest << _ONE) | ((lo >> np.uint64(shift)) & _ONE)
        if rest >= d:
            rest -= d
            q_lo |= _ONE << np.uint64(shift)
    quotient = (q_hi, q_lo)
    if not negative:
        return quotient, int(np.int64(rest))
    quotient = negate(quotient)
    if rest == _ZERO:
        return quotient, 0
    return subtract(quotient, (_ZERO, _ONE)), int(np.int64(d - rest))


_POWERS = np.array([10**k for k in range(19)], dtype=np.int64)


@compiled
def times_ten_to(a: Wide, places: int) -> Wide:
    """Return a x 10^places, for places >= 0."""
    while places > 0:
        step = min(places, 18)
        a = multiply(a, _POWERS[step])
        places -= step
    return a


@compiled
def floor_ten_to(a: Wide, places: int) -> Wide:
    """Return floor(a / 10^places), for places >= 0."""
    while places > 0:
        step = min(places, 18)
        a = divide_floor(a, _POWERS[step])[0]
        places -= step
    return a


@compiled
def _to_float(a: Wide) -> float:
    if is_negative(a):
        return -_to_float(negate(a))
    return float(a[0]) * 18446744073709551616.0 + float(a[1])


@compiled
def ratio_above(a: Wide, b: Wide, c: Wide, d: Wide) -> int:
    """Return 1 if a/b > c/d, 0 if not, for a, c >= 0 and b, d > 0; compiled, -1 where floats
    cannot tell (a product of two wide integers may not fit in 128 bits). On Python ints
    (`on_python_ints`) the answer is exact, by cross-multiplication, and never -1."""
    if compare(a, widen(0)) == 0 or (compare(a, c) == 0 and compare(b, d) == 0):
        return 0
    x = _to_float(a) / _to_float(b)
    y = _to_float(c) / _to_float(d)
    if abs(x - y) <= 1e-12 * max(abs(x), abs(y)):
        return -1
    return 1 if x > y else 0


# --- the same kernels on Python ints ---------------------------------------------------------


def _python_compare(a: int, b: int) -> int:
    return (a > b) - (a < b)


def _python_divide_floor(a: int, divisor: int) -> tuple[int, int]:
    return a // divisor, a % divisor


# each wide operation as Python ints do it: exact, and without a bound
_ON_INTS: dict[Callable[..., Any], Callable[..., Any]] = {
    python_of(widen): int,
    python_of(is_negative): lambda a: a < 0,
    python_of(add): lambda a, b: a + b,
    python_of(subtract): lambda a, b: a - b,
    python_of(negate): lambda a: -a,
    python_of(compare): _python_compare,
    python_of(multiply): lambda a, b: a * b,
    python_of(divide_floor): _python_divide_floor,
    python_of(times_ten_to): lambda a, places: a * 10**places,
    python_of(floor_ten_to): lambda a, places: a // 10**places,
    python_of(ratio_above): lambda a, b, c, d: int(a * d > c * b),
}


def on_python_ints(kernel: Callable[..., Any]) -> Callable[..., Any]:
    """Return `kernel` as a Python function on Python ints: the wide operations it calls are
    Python's own integer arithmetic, and the kernels it calls are theirs on Python ints too.

    A rule written once as a kernel over wide integers serves both paths this way: the compiled
    loop runs it on 128-bit integers, and the engine's path, one order at a time, on Decimal
    amounts scaled to integers (exact at any size, and without loading the compiler). The
    kernel may use plain int arithmetic and the operations of this module, nothing that reads
    a wide integer's halves.
    """
    return _twin(python_of(kernel))


_TWINS: dict[Callable[..., Any], Callable[..., Any]] = {}


def _twin(function: Callable[..., Any]) -> Callable[..., Any]:
    if function in _ON_INTS:
        return _ON_INTS[function]
    if function in _TWINS:  # made already, or being made (a kernel that calls itself)
        return _TWINS[function]
    namespace = dict(function.__globals__)
    twin = types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__
    )
    _TWINS[function] = twin
    for name in _names(function.__code__):
        value = namespace.get(name)
        if not callable(value) or isinstance(value, type):
            continue
        original = python_of(value)
        if original in _ON_INTS:
            namespace[name] = _ON_INTS[original]
        elif original is not value:  # another kernel: called on Python ints as well
            namespace[name] = _twin(original)
    return twin


def _names(code: types.CodeType) -> set[str]:
    """Return the global names `code` and the code nested in it may use."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names(constant)
    return names
