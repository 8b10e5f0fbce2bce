"""Reconcile's differences name amounts as a person reads them, not in Decimal's notation."""

from __future__ import annotations

from peak_trade.backtest.reconcile import compare_bar
from peak_trade.core.peak_config import PeakConfig
from peak_trade.engine.outcomes import BarOutcome
from peak_trade.orders.sizing import SizingDecision
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.wiring import build_engine, engine_settings
from peak_trade.testing.builders import make_bar
from peak_trade.testing.fakes import ScriptedParams, ScriptedStrategy


def test_a_ledger_difference_shows_a_flat_position_in_plain_notation() -> None:
    # Arrange: the session journaled a flat position after a round trip as Decimal's "0E-8"
    # and 1 EUR more cash than the backtest's ledger (10000.0) holds
    session = LiveSessionConfig(data_source="synthetic")
    engine = build_engine(
        ScriptedStrategy(ScriptedParams(targets=(0,))),
        engine_settings(session),
        PeakConfig.default(),
    )
    bar = make_bar(close=100.0)
    row = {"t": bar.time.isoformat(), "target": 0, "cash": "10001.00000000", "position": "0E-8"}
    outcome = BarOutcome(bar, 0, 0, SizingDecision(0), None, engine.account())

    # Act
    found = compare_bar(row, [], outcome, engine, session, 0)

    # Assert
    assert [(d.item, d.session, d.backtest, d.why) for d in found] == [
        (
            "cash, position",
            "('10001.00000000', '0.00000000')",
            "('10000.0', '0')",
            "the ledgers disagree",
        )
    ]
