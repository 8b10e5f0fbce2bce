"""Booking a fill into a position and its cost basis, decided once for the ledger and the loop.

`book` is a kernel over integer money: the compiled backtest loop runs it on its 128-bit steps
(lots of 10^-L, ticks of 10^-T, money in steps `places` finer than a lot times a tick), and
`Ledger` runs the same function on its Decimal amounts scaled to Python ints
(`core.wide.on_python_ints`). A partial close is not booked here: its removed basis is rounded
to the ledger's quantum, in Decimal (`Ledger`), and the loop hands such a fill back.

`book_decimal` gives the kernel's results back as the Decimals the ledger's arithmetic has
always produced, down to their exponents (the journal holds their text): a sum keeps the finer
exponent of its terms, a product the sum of theirs.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from peak_trade.core.compiled import compiled
from peak_trade.core.money import ZERO, at_exponent, exponent_of, steps
from peak_trade.core.wide import Wide, add, multiply, on_python_ints, subtract, times_ten_to, widen

__all__ = ["ADDED", "CLOSED", "FLIPPED", "PARTIAL", "book", "book_decimal", "value"]

# how `book` booked a fill
ADDED: Final = 0  # opened or added to a position: no PnL realized
CLOSED: Final = 1  # closed the whole position
FLIPPED: Final = 2  # closed it and opened the other side with the rest
PARTIAL: Final = -1  # closed part of it: not booked here (the ledger rounds its basis)


@compiled
def value(lots: int, tick: int, places: int) -> Wide:
    """Return lots x tick x 10^places, signed: a quantity's cost at a price in money steps
    `places` finer than a lot times a tick."""
    return times_ten_to(multiply(widen(lots), tick), places)


@compiled
def book(held: int, basis: Wide, lots: int, tick: int, places: int) -> tuple[int, int, Wide, Wide]:
    """Book a fill of signed `lots` at `tick` into a position of `held` lots with cost basis
    `basis`; return how (ADDED, CLOSED, FLIPPED, or PARTIAL: nothing booked), and the position,
    cost basis and realized PnL after it."""
    if held == 0 or (held > 0) == (lots > 0):
        return ADDED, held + lots, add(basis, value(lots, tick, places)), widen(0)
    if abs(lots) < abs(held):
        return PARTIAL, held, basis, widen(0)
    realized = subtract(value(held, tick, places), basis)
    opening = held + lots  # what is left after closing opens the other side
    how = CLOSED if opening == 0 else FLIPPED
    return how, opening, value(opening, tick, places), realized


_book = on_python_ints(book)


def book_decimal(
    held: Decimal, basis: Decimal, quantity: Decimal, price: Decimal
) -> tuple[int, Decimal, Decimal, Decimal]:
    """Return `book` of Decimal amounts: how, and the position, basis and realized PnL after
    it, each with the exponent the ledger's Decimal arithmetic gives it."""
    e_held, e_quantity, e_price, e_basis = map(exponent_of, (held, quantity, price, basis))
    lot_scale, price_scale = -min(e_held, e_quantity, 0), -min(e_price, 0)
    scale = max(-e_basis, lot_scale + price_scale, 0)
    how, position, new_basis, realized = _book(
        steps(held, lot_scale),
        steps(basis, scale),
        steps(quantity, lot_scale),
        steps(price, price_scale),
        scale - lot_scale - price_scale,
    )
    if how == PARTIAL:
        return how, held, basis, ZERO
    if how == ADDED:
        basisexponent_of, realized_amount = min(e_basis, e_quantity + e_price), ZERO
    else:
        closed = e_quantity if how == CLOSED else e_held  # what the close took off: one of them
        basisexponent_of = (
            e_basis if how == CLOSED else min(e_basis, min(e_quantity, e_held) + e_price)
        )
        realized_amount = at_exponent(realized, scale, min(closed + e_price, e_basis))
    quantity_after = at_exponent(position, lot_scale, min(e_held, e_quantity))
    return how, quantity_after, at_exponent(new_basis, scale, basisexponent_of), realized_amount
