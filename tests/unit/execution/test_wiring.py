"""Engine settings: money that the ledger and the sizing kernel can keep exact, or a clear
refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from peak_trade.core.errors import ConfigError
from peak_trade.core.modes import TradingEnvironment
from peak_trade.data.instruments import offline_instrument
from peak_trade.session.wiring import EngineSettings


def _settings(balance: str, fee: str, fraction: str = "0.1") -> EngineSettings:
    return EngineSettings(
        mode=TradingEnvironment.SHADOW,
        instrument=offline_instrument("BTC/EUR"),  # lots of 8 decimals, prices of 1
        start_balance=Decimal(balance),
        position_fraction=Decimal(fraction),
        fee_rate=Decimal(fee),
        slippage_bps=Decimal(5),
    )


def test_the_largest_balance_with_a_four_decimal_fee_fills_the_28_digits_exactly() -> None:
    settings = _settings("1e12", "0.0026")  # 15 whole digits (x100) + 8 + 1 + 4 decimals

    assert settings.fee_rate == Decimal("0.0026")


@pytest.mark.parametrize(
    ("balance", "fee", "fraction", "message"),
    [
        ("1e12", "0.00026", "0.1", r"needs amounts of 29 digits \(14 decimals.*more than the 28"),
        ("10000", "0.001000000000000001", "0.1", r"of 34 digits \(27 decimals"),
        (
            "1e12",
            "0.0026",
            "0.123456789012345678",
            r"28 digits .*sizing needs 18 more for the fraction: over 38",
        ),
    ],
)
def test_money_past_the_exact_digits_is_refused_with_what_to_change(
    balance: str, fee: str, fraction: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        _settings(balance, fee, fraction)

    assert "use a fee_rate with fewer decimals" in str(refused.value)
