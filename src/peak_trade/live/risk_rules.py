"""Pre-trade risk rules: each one pure, `(trade, limits, exposure) -> Denial | None`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from peak_trade.core.compiled import compiled, python_of
from peak_trade.core.config_schema import LiveRiskSection
from peak_trade.core.money import ZERO, Amount, to_decimal

__all__ = [
    "RULES",
    "Denial",
    "Exposure",
    "ProposedTrade",
    "RiskLimitsConfig",
    "Rule",
    "is_reducing",
    "reduces",
]


@dataclass(frozen=True, slots=True)
class ProposedTrade:
    """An order as risk sees it: signed quantity and the price it is valued at (None: unknown)."""

    symbol: str
    quantity: Decimal
    price: Decimal | None
    client_id: str = ""


@dataclass(frozen=True, slots=True)
class Denial:
    """A rule that refused a trade, and a reason a person can act on."""

    rule: str
    reason: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RiskLimitsConfig:
    """`[live_risk]` as Decimals; None means the limit is not checked."""

    enabled: bool = True
    base_currency: str = "EUR"
    max_order_notional: Decimal | None = None
    max_symbol_exposure_notional: Decimal | None = None
    max_total_exposure_notional: Decimal | None = None
    max_open_positions: int | None = None
    max_daily_loss_abs: Decimal | None = None
    max_daily_loss_pct: Decimal | None = None
    max_drawdown_pct: Decimal | None = None
    block_on_violation: bool = True
    kill_switch_file: str | None = None

    @classmethod
    def from_section(cls, section: LiveRiskSection) -> RiskLimitsConfig:
        """Convert the validated config section."""

        def dec(value: float | None) -> Decimal | None:
            return None if value is None else to_decimal(value)

        return cls(
            enabled=section.enabled,
            base_currency=section.base_currency,
            max_order_notional=dec(section.max_order_notional),
            max_symbol_exposure_notional=dec(section.max_symbol_exposure_notional),
            max_total_exposure_notional=dec(section.max_total_exposure_notional),
            max_open_positions=section.max_open_positions,
            max_daily_loss_abs=dec(section.max_daily_loss_abs),
            max_daily_loss_pct=dec(section.max_daily_loss_pct),
            max_drawdown_pct=dec(section.max_drawdown_pct),
            block_on_violation=section.block_on_violation,
            kill_switch_file=section.kill_switch_file,
        )


@dataclass(frozen=True, slots=True)
class Exposure:
    """The account as it would stand after the trade: positions, prices and today's PnL."""

    positions_after: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]
    start_balance: Decimal
    day_pnl: Decimal

    def notional(self, symbol: str) -> Decimal:
        """Return |position after| x price for one symbol."""
        return abs(self.positions_after.get(symbol, ZERO)) * self.prices.get(symbol, ZERO)


@compiled
def reduces(held: Amount, change: Amount) -> bool:
    """Return True if `change` only shrinks a position of `held` and does not cross zero (the
    one rule: the compiled loop applies it to lots, `is_reducing` to Decimal amounts)."""
    after = held + change
    return held != 0 and abs(after) < abs(held) and (after == 0 or (after > 0) == (held > 0))


_reduces = python_of(reduces)  # the same rule as written, for Decimal amounts


def is_reducing(position: Decimal, quantity: Decimal) -> bool:
    """Return True if the trade only shrinks the position and does not cross zero."""
    return _reduces(position, quantity)


def _money(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def _order_notional(t: ProposedTrade, lim: RiskLimitsConfig, ex: Exposure) -> Denial | None:
    if lim.max_order_notional is None or t.price is None:
        return None
    notional = abs(t.quantity) * t.price
    if notional > lim.max_order_notional:
        c = lim.base_currency
        return Denial(
            "max_order_notional",
            f"order value {_money(notional, c)} exceeds the "
            f"limit {_money(lim.max_order_notional, c)}",
        )
    return None


def _symbol_exposure(t: ProposedTrade, lim: RiskLimitsConfig, ex: Exposure) -> Denial | None:
    if lim.max_symbol_exposure_notional is None:
        return None
    after = ex.notional(t.symbol)
    if after > lim.max_symbol_exposure_notional:
        c = lim.base_currency
        return Denial(
            "max_symbol_exposure_notional",
            f"{t.symbol} position after the order "
            f"{_money(after, c)} exceeds the limit "
            f"{_money(lim.max_symbol_exposure_notional, c)}",
        )
    return None


def _total_exposure(t: ProposedTrade, lim: RiskLimitsConfig, ex: Exposure) -> Denial | None:
    if lim.max_total_exposure_notional is None:
        return None
    total = sum((ex.notional(symbol) for symbol in ex.positions_after), ZERO)
    if total > lim.max_total_exposure_notional:
        c = lim.base_currency
        return Denial(
            "max_total_exposure_notional",
            f"all positions after the order "
            f"{_money(total, c)} exceed the limit "
            f"{_money(lim.max_total_exposure_notional, c)}",
        )
    return None


def _open_positions(t: ProposedTrade, lim: RiskLimitsConfig, ex: Exposure) -> Denial | None:
    if lim.max_open_positions is None:
        return None
    held = sum(1 for quantity in ex.positions_after.values() if quantity != 0)
    if held > lim.max_open_positions:
        return Denial(
            "max_open_positions",
            f"{held} symbols would be held, the limit is {lim.max_open_positions}",
        )
    return None


def _daily_loss(t: ProposedTrade, lim: RiskLimitsConfig, ex: Exposure) -> Denial | None:
    c = lim.base_currency
    if lim.max_daily_loss_abs is not None and ex.day_pnl <= -lim.max_daily_loss_abs:
        return Denial(
            "max_daily_loss_abs",
            f"today's PnL {_money(ex.day_pnl, c)} reached the "
            f"loss limit {_money(lim.max_daily_loss_abs, c)}",
        )
    if lim.max_daily_loss_pct is not None:
        limit = ex.start_balance * lim.max_daily_loss_pct / 100
        if ex.day_pnl <= -limit:
            return Denial(
                "max_daily_loss_pct",
                f"today's PnL {_money(ex.day_pnl, c)} reached "
                f"{lim.max_daily_loss_pct}% of the start balance ({_money(limit, c)})",
            )
    return None


Rule = Callable[[ProposedTrade, RiskLimitsConfig, Exposure], Denial | None]

# The exposure rules by name, in the order they are reported. Orders that only reduce a
# position skip them: closing risk must never be blocked by a limit on taking risk. A path that
# checks orders its own way (the compiled backtest loop) names the rules it applies, and hands
# an engine whose limits hold any other rule back to the path that applies them all.
RULES: Mapping[str, Rule] = {
    "max_order_notional": _order_notional,
    "max_symbol_exposure_notional": _symbol_exposure,
    "max_total_exposure_notional": _total_exposure,
    "max_open_positions": _open_positions,
    "max_daily_loss": _daily_loss,
}
