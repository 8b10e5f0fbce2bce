"""Rules written once: the compiled loop runs them on lots, the engine's path on Decimals.

Each is a `@compiled` kernel whose Python function (`core.compiled.python_of`) the Decimal
path calls. These tests run the compiled form on integers and the Python form on the same
amounts as Decimals, and find the same answers.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from peak_trade.core.compiled import python_of
from peak_trade.data.instruments import offline_instrument
from peak_trade.engine.targets import is_quiet
from peak_trade.live.risk_rules import is_reducing, reduces
from peak_trade.orders.sizing import (
    SizingRules,
    position_state,
    state_of,
    wanted_position,
    wanted_state,
)

LOT = Decimal("1E-8")
LOTS = st.integers(-(10**12), 10**12)


@given(LOTS, LOTS)
def test_the_reducing_rule_answers_alike_in_lots_and_in_decimal(held: int, change: int) -> None:
    assert reduces(held, change) == is_reducing(held * LOT, change * LOT)


@given(LOTS)
def test_the_position_state_rule_answers_alike_in_lots_and_in_decimal(lots: int) -> None:
    assert state_of(lots) == position_state(lots * LOT) == (lots > 0) - (lots < 0)


@given(st.sampled_from([-1, 0, 1]), st.booleans())
def test_the_wanted_state_rule_answers_alike_compiled_and_in_python(
    target: int, allow_short: bool
) -> None:
    rules = SizingRules(offline_instrument("BTC/EUR"), Decimal("0.1"), allow_short)
    expected = 0 if target < 0 and not allow_short else target
    assert wanted_position(target, allow_short) == wanted_state(target, rules) == expected


def test_the_python_form_of_a_rule_is_the_function_it_is_compiled_from() -> None:
    assert python_of(reduces)(Decimal("0.5"), Decimal("-0.2")) is True
    assert python_of(reduces)(Decimal("0.5"), Decimal("-0.7")) is False  # crosses zero
    assert python_of(is_reducing) is is_reducing  # a plain function is its own


@given(
    st.booleans(),
    st.sampled_from([-1, 0, 1]),
    st.sampled_from([-1, 0, 1]),
    st.sampled_from([-1, 0, 1]),
    st.sampled_from([-1, 0, 1]),
    st.booleans(),
)
def test_the_quiet_bar_rule_answers_alike_compiled_and_in_python(
    pending: bool, target: int, previous: int, holding: int, wanted: int, held_back: bool
) -> None:
    args = (pending, target, previous, holding, wanted, held_back)
    expected = not pending and target == previous and (holding == wanted or held_back)
    assert is_quiet(*args) == python_of(is_quiet)(*args) == expected
