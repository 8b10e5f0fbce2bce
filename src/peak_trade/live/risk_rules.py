"""Pre-trade risk rules: each one pure, `(trade, limits, exposure) -> Denial | None`.

Each limit is decided by one kernel over integer money (`exceeds`, `loss_reached`,
`drawdown_over`, `state_refuses`, `reduces`): the compiled backtest loop runs them on its
128-bit steps, and the rules here run the very same functions on Decimal amounts scaled to
Python ints (`core.wide.on_python_ints`), which is exact at any size. The Decimal amounts in a
denial's reason are for the reader only; they decide nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from peak_trade.core.compiled import compiled, python_of
from peak_trade.core.config_schema import LiveRiskSection
from peak_trade.core.money import (
    ZERO,
    Amount,
    common_steps,
    decimal_places,
    steps,
    to_decimal,
)
from peak_trade.core.wide import (
    Wide,
    compare,
    is_negative,
    multiply,
    negate,
    on_python_ints,
    subtract,
    times_ten_to,
    widen,
)
from peak_trade.portfolio.booking import value

__all__ = [
    "RULES",
    "Denial",
    "Exposure",
    "ProposedTrade",
    "RiskLimitsConfig",
    "Rule",
    "daily_loss_pct_limit",
    "drawdown_over",
    "drawdown_trips",
    "exceeds",
    "is_reducing",
    "loss_reached",
    "notional",
    "reduces",
    "state_refuses",
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

    def holding(self, symbol: str) -> tuple[Decimal, Decimal]:
        """Return the position after the trade in `symbol` and its price."""
        return self.positions_after.get(symbol, ZERO), self.prices.get(symbol, ZERO)

    def notional(self, symbol: str) -> Decimal:
        """Return |position after| x price for one symbol (for reasons: the rules decide
        on `holding`)."""
        quantity, price = self.holding(symbol)
        return abs(quantity) * price


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


@compiled
def state_refuses(severity: int, reducing: bool) -> bool:
    """Return True when a trading state refuses an order: HALTED (severity 2) every one,
    REDUCING (1) one that does not only shrink a position (`reducing` False), ACTIVE (0) none."""
    return severity >= 2 or (severity == 1 and not reducing)


# --- the limits, in integer money ----------------------------------------------------------


@compiled
def notional(lots: int, tick: int, places: int) -> Wide:
    """Return |lots| x tick x 10^places: the value of a quantity of `lots` at a price of
    `tick`, in money steps `places` finer than a lot times a tick."""
    return value(abs(lots), tick, places)


@compiled
def exceeds(amount: Wide, limit: Wide) -> bool:
    """Return True when `amount` is over `limit` (a negative limit: not checked)."""
    return not is_negative(limit) and compare(amount, limit) > 0


@compiled
def loss_reached(day_pnl: Wide, limit: Wide) -> bool:
    """Return True when today's PnL is a loss of `limit` or more (a negative limit: not
    checked)."""
    return not is_negative(limit) and compare(day_pnl, negate(limit)) <= 0


@compiled
def drawdown_over(peak: Wide, equity: Wide, pct: int, pct_places: int) -> bool:
    """Return True when the drawdown from `peak` to `equity` is over pct x 10^-pct_places
    percent of the peak: (peak - equity) x 100 > percent x peak, with no division."""
    if compare(peak, widen(0)) <= 0:
        return False
    drawdown = multiply(times_ten_to(subtract(peak, equity), pct_places), 100)
    return compare(drawdown, multiply(peak, pct)) > 0


_notional, _exceeds = on_python_ints(notional), on_python_ints(exceeds)
_loss_reached, _drawdown_over = on_python_ints(loss_reached), on_python_ints(drawdown_over)


def _value_exceeds(holdings: Iterable[tuple[Decimal, Decimal]], limit: Decimal) -> bool:
    """Return True when the sum of |quantity| x price over `holdings` is over `limit`."""
    pairs = [(q, p, decimal_places(q), decimal_places(p)) for q, p in holdings]
    places = max([decimal_places(limit)] + [a + b for _, _, a, b in pairs])
    total = sum(_notional(steps(q, a), steps(p, b), places - a - b) for q, p, a, b in pairs)
    return bool(_exceeds(total, steps(limit, places)))


def _loss(day_pnl: Decimal, limit: Decimal) -> bool:
    return bool(_loss_reached(*common_steps(day_pnl, limit)))


def drawdown_trips(peak: Decimal, equity: Decimal, limit_pct: Decimal) -> bool:
    """Return True when the drawdown from `peak` to `equity` is over `limit_pct` percent
    (the `drawdown_over` kernel, exact: the percent itself is a quotient Decimal rounds)."""
    pct_places = decimal_places(limit_pct)
    pct = steps(limit_pct, pct_places)
    return bool(_drawdown_over(*common_steps(peak, equity), pct, pct_places))


def daily_loss_pct_limit(start_balance: Decimal, pct: Decimal) -> Decimal:
    """Return the loss `max_daily_loss_pct` allows in a day: pct of the start balance."""
    return start_balance * pct / 100


def _money(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def _order_notional(t: ProposedTrade, lim: RiskLimitsConfig, ex: Exposure) -> Denial | None:
    if lim.max_order_notional is None or t.price is None:
        return None
    if _value_exceeds([(t.quantity, t.price)], lim.max_order_notional):
        c = lim.base_currency
        return Denial(
            "max_order_notional",
            f"order value {_money(abs(t.quantity) * t.price, c)} exceeds the "
            f"limit {_money(lim.max_order_notional, c)}",
        )
    return None


def _symbol_exposure(t: ProposedTrade, lim: RiskLimitsConfig, ex: Exposure) -> Denial | None:
    if lim.max_symbol_exposure_notional is None:
        return None
    if _value_exceeds([ex.holding(t.symbol)], lim.max_symbol_exposure_notional):
        c = lim.base_currency
        return Denial(
            "max_symbol_exposure_notional",
            f"{t.symbol} position after the order "
            f"{_money(ex.notional(t.symbol), c)} exceeds the limit "
            f"{_money(lim.max_symbol_exposure_notional, c)}",
        )
    return None


def _total_exposure(t: ProposedTrade, lim: RiskLimitsConfig, ex: Exposure) -> Denial | None:
    if lim.max_total_exposure_notional is None:
        return None
    holdings = [ex.holding(symbol) for symbol in ex.positions_after]
    if _value_exceeds(holdings, lim.max_total_exposure_notional):
        total = sum((ex.notional(symbol) for symbol in ex.positions_after), ZERO)
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
    if lim.max_daily_loss_abs is not None and _loss(ex.day_pnl, lim.max_daily_loss_abs):
        return Denial(
            "max_daily_loss_abs",
            f"today's PnL {_money(ex.day_pnl, c)} reached the "
            f"loss limit {_money(lim.max_daily_loss_abs, c)}",
        )
    if lim.max_daily_loss_pct is not None:
        limit = daily_loss_pct_limit(ex.start_balance, lim.max_daily_loss_pct)
        if _loss(ex.day_pnl, limit):
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
