"""Booking a fill: one kernel, compiled for the loop and on Python ints for the ledger.

The ledger's Decimal amounts must come out as Decimal arithmetic writes them, exponent and
all (the journal keeps their text); the reference below is that arithmetic, written out.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core.wide import from_wide, on_python_ints, to_wide
from peak_trade.portfolio.booking import ADDED, CLOSED, FLIPPED, PARTIAL, book, book_decimal


def _amounts(places: tuple[int, int], bound: int = 10**9) -> st.SearchStrategy[Decimal]:
    """Amounts of up to `bound` steps of 10^-p, for p in `places` (the ledger's domain: money
    up to 10^15 with at most 12 decimals, 27 digits, within the 28 Decimal keeps exactly;
    beyond it Decimal rounds where the kernel stays exact)."""
    return st.builds(
        lambda n, p: Decimal(n).scaleb(-p),
        st.integers(-bound, bound),
        st.integers(*places),
    )


QUANTITIES = _amounts((-1, 8), 10**5)
PRICES = _amounts((-2, 4), 10**7).map(abs).filter(lambda p: p > 0)


def _reference(
    held: Decimal, basis: Decimal, quantity: Decimal, price: Decimal
) -> tuple[Decimal, Decimal, Decimal]:
    """The ledger's booking in Decimal, for a fill that adds, closes or flips."""
    if held == 0 or (held > 0) == (quantity > 0):
        return held + quantity, basis + quantity * price, Decimal(0)
    closing = min(abs(quantity), abs(held))
    closed_part = closing if held > 0 else -closing
    realized = closed_part * price - basis
    basis -= basis
    held -= closed_part
    opening = quantity + closed_part
    if opening:
        held += opening
        basis += opening * price
    return held, basis, realized


@given(
    QUANTITIES,
    _amounts((-1, 12)),
    QUANTITIES.filter(lambda q: q != 0),
    PRICES,
)
def test_booking_decimals_gives_decimal_arithmetics_amounts_and_exponents(
    held: Decimal, basis: Decimal, quantity: Decimal, price: Decimal
) -> None:
    how, position, new_basis, realized = book_decimal(held, basis, quantity, price)
    if how == PARTIAL:
        assert held * quantity < 0
        assert abs(quantity) < abs(held)
        assert (position, new_basis, realized) == (held, basis, Decimal(0))
        return
    expected = _reference(held, basis, quantity, price)
    assert (str(position), str(new_basis), str(realized)) == tuple(str(x) for x in expected)
    after = held + quantity
    assert how == (ADDED if held == 0 or held * quantity > 0 else CLOSED if after == 0 else FLIPPED)


@given(
    _amounts((0, 8), 10**5).filter(bool),
    _amounts((-1, 12)),
    st.integers(0, 4),
    st.sampled_from([Decimal(-1), Decimal(-2), Decimal("-3.0")]),
    PRICES,
)
def test_a_close_written_with_other_decimals_keeps_decimal_arithmetics_exponents(
    held: Decimal, basis: Decimal, extra_places: int, times: Decimal, price: Decimal
) -> None:
    # the same amount as the position, or twice or thrice it, with more trailing zeros
    exponent = int(held.as_tuple().exponent)
    quantity = (held * times).quantize(Decimal(1).scaleb(exponent - extra_places))
    _, position, new_basis, realized = book_decimal(held, basis, quantity, price)
    expected = _reference(held, basis, quantity, price)
    assert (str(position), str(new_basis), str(realized)) == tuple(str(x) for x in expected)


@given(
    st.integers(-(10**12), 10**12),
    st.integers(-(10**20), 10**20),
    st.integers(-(10**12), 10**12).filter(bool),
    st.integers(1, 10**9),
    st.integers(0, 6),
)
def test_booking_is_the_same_compiled_and_on_python_ints(
    held: int, basis: int, lots: int, tick: int, places: int
) -> None:
    on_ints = on_python_ints(book)(held, basis, lots, tick, places)
    how, position, new_basis, realized = book(held, to_wide(basis), lots, tick, places)
    assert (how, position, from_wide(new_basis), from_wide(realized)) == on_ints
