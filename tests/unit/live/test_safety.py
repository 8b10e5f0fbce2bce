"""SafetyGuard: what may leave the process, per environment, with an audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from peak_trade.core.errors import InvariantError
from peak_trade.core.modes import TradingEnvironment, VenueAction
from peak_trade.live.safety import SafetyAuditEntry, SafetyGuard
from peak_trade.testing.builders import START

ALLOWED = {
    (TradingEnvironment.SHADOW, VenueAction.SIMULATE),
    (TradingEnvironment.TESTNET, VenueAction.SIMULATE),
    (TradingEnvironment.TESTNET, VenueAction.VALIDATE),
}


@pytest.mark.parametrize("environment", list(TradingEnvironment))
@pytest.mark.parametrize("action", list(VenueAction))
def test_decision_matrix(environment: TradingEnvironment, action: VenueAction) -> None:
    decision = SafetyGuard(environment).check(action, START)
    assert decision.allowed == ((environment, action) in ALLOWED)


def test_refusals_say_why() -> None:
    assert SafetyGuard(TradingEnvironment.SHADOW).check(VenueAction.VALIDATE, START).reason == (
        "validate would reach an exchange, which shadow mode never does"
    )
    assert SafetyGuard(TradingEnvironment.TESTNET).check(VenueAction.PLACE, START).reason == (
        "real orders are refused in testnet mode"
    )
    assert SafetyGuard(TradingEnvironment.LIVE).check(VenueAction.SIMULATE, START).reason == (
        "live trading is blocked: Peak Trade never sends real orders"
    )


def test_every_decision_is_audited_in_a_bounded_tail_and_sent_to_the_sink() -> None:
    seen: list[SafetyAuditEntry] = []
    guard = SafetyGuard(TradingEnvironment.SHADOW, audit_capacity=3, sink=seen.append)
    for i in range(5):
        guard.check(VenueAction.SIMULATE if i % 2 == 0 else VenueAction.PLACE, START, f"o{i}")
    tail = guard.audit_tail()
    assert [entry.detail for entry in tail] == ["o2", "o3", "o4"]
    assert len(seen) == 5
    assert (seen[1].action, seen[1].environment, seen[1].allowed) == ("place", "shadow", False)
    assert seen[0].ts == START


def test_audit_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="audit_capacity must be >= 1, was 0"):
        SafetyGuard(TradingEnvironment.SHADOW, audit_capacity=0)


def test_approvals_in_bulk_keep_the_most_recent_and_refuse_what_is_not_allowed() -> None:
    guard = SafetyGuard(TradingEnvironment.SHADOW, audit_capacity=3)
    asked: list[int] = []

    def orders(first: int, count: int) -> Callable[[int], list[tuple[datetime, str]]]:
        def last(k: int) -> list[tuple[datetime, str]]:
            asked.append(k)
            return [(START, f"o{i}") for i in range(first + count - k, first + count)]

        return last

    guard.approve(VenueAction.SIMULATE, START, "o0")
    guard.approve_many(VenueAction.SIMULATE, 1, orders(1, 1))
    guard.approve_many(VenueAction.SIMULATE, 4, orders(2, 4))  # o2..o5: o1 is pushed out

    assert asked == []  # made when read
    assert [(entry.detail, entry.allowed) for entry in guard.audit_tail()] == [
        ("o3", True), ("o4", True), ("o5", True)
    ]  # fmt: skip
    assert asked == [3]
    guard.approve_many(VenueAction.SIMULATE, 1, orders(6, 1))
    guard.check(VenueAction.SIMULATE, START, "o7")  # after the bulk approval, in order
    assert [entry.detail for entry in guard.audit_tail()] == ["o5", "o6", "o7"]
    with pytest.raises(InvariantError, match="place was approved where it is refused"):
        guard.approve_many(VenueAction.PLACE, 1, orders(8, 1))
    assert guard.audit_capacity == 3
