"""PortfolioEngine: legs from one account, worked in the documented order, the ledger exact."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from peak_trade.core.money import ZERO
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.portfolio import PortfolioEngine
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.orders.base import OrderFill
from peak_trade.portfolio.ledger import Ledger
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.wiring import build_engine, engine_settings, limits_from
from peak_trade.testing.builders import bars_from_closes, random_walk_ohlc
from peak_trade.testing.fakes import ScriptedParams, ScriptedStrategy

START_PRICES = {"BTC/EUR": 50_000.0, "ETH/EUR": 3_000.0, "SOL/EUR": 150.0}


def _closes(symbol: str, n: int, seed: int) -> list[Bar]:
    walk = random_walk_ohlc(n, seed=seed, start_price=START_PRICES[symbol], volatility=0.004)
    return bars_from_closes([round(float(c), 1) for c in walk["close"]])


def _legs(
    scripts: dict[str, tuple[int, ...]], live_risk: dict[str, Any] | None = None, **config: Any
) -> list[TradingEngine]:
    """Build one leg per symbol, sharing a ledger and (with `live_risk`) limits."""
    cfg = PeakConfig.from_mapping({"live_risk": live_risk or {}})
    fraction = config.pop("position_fraction", 0.3)
    sessions = {
        symbol: LiveSessionConfig(
            data_source="synthetic", symbol=symbol, position_fraction=fraction, **config
        )
        for symbol in scripts
    }
    first = engine_settings(next(iter(sessions.values())), cfg)
    ledger = Ledger(first.start_balance, first.instrument.quote)
    risk = LiveRiskLimits(*limits_from(cfg.live_risk))
    return [
        build_engine(
            ScriptedStrategy(ScriptedParams(targets=script)),
            engine_settings(sessions[symbol], cfg),
            cfg,
            account=(ledger, risk),
        )
        for symbol, script in scripts.items()
    ]


def _run(engine: PortfolioEngine, bars: list[list[Bar]]) -> list[tuple[int, OrderFill]]:
    fills: list[tuple[int, OrderFill]] = []
    for row in zip(*bars, strict=True):
        for item in engine.step(dict(enumerate(row))):
            fills.extend((item.leg, fill) for fill in item.outcome.fills)
    return fills


def test_a_one_leg_portfolio_trades_exactly_as_its_engine_alone() -> None:
    script = (0,) * 5 + (1,) * 20 + (0,) * 15 + (1,) * 30
    bars = _closes("BTC/EUR", len(script), seed=3)
    alone = _legs({"BTC/EUR": script})[0]
    alone_fills = [f for bar in bars for f in alone.on_bar(bar).fills]
    portfolio = PortfolioEngine(_legs({"BTC/EUR": script}))

    fills = [fill for _, fill in _run(portfolio, [bars])]

    assert fills == alone_fills
    assert len(fills) == 3
    for name in ("cash", "fees_paid", "realized_pnl", "peak_equity", "max_drawdown", "equity"):
        assert getattr(portfolio.ledger, name) == getattr(alone.ledger, name)


def test_with_one_open_position_allowed_an_entry_waits_for_the_other_legs_exit() -> None:
    # BTC long on bars 1-9, flat from 10; ETH wants long from bar 4 on
    legs = _legs(
        {"BTC/EUR": (0,) + (1,) * 9 + (0,) * 10, "ETH/EUR": (0,) * 4 + (1,) * 16},
        live_risk={"max_open_positions": 1},
    )
    portfolio = PortfolioEngine(legs)
    bars = [_closes("BTC/EUR", 20, seed=1), _closes("ETH/EUR", 20, seed=2)]
    denied: list[tuple[int, int, str]] = []
    held_at_once = []
    fills: list[tuple[int, OrderFill]] = []
    for t, row in enumerate(zip(*bars, strict=True)):
        for item in portfolio.step(dict(enumerate(row))):
            fills.extend((item.leg, fill) for fill in item.outcome.fills)
            result = item.outcome.result
            if result is not None and result.rejected:
                denied.extend((t, item.leg, reason) for reason in result.reasons)
        held_at_once.append(len(portfolio.ledger.positions))

    # ETH's entry is refused on bars 4-9 by the limit; on bar 10 BTC's exit goes first and
    # ETH's entry, checked against the account after that exit, goes too
    assert [(t, leg) for t, leg, _ in denied] == [(t, 1) for t in range(4, 10)]
    assert all("max_open_positions: 2 symbols would be held" in r for _, _, r in denied)
    assert [(leg, fill.side.value, fill.ts_event) for leg, fill in fills] == [
        (0, "buy", bars[0][2].time),
        (0, "sell", bars[0][11].time),
        (1, "buy", bars[1][11].time),
    ]
    assert max(held_at_once) == 1


def test_entries_of_one_bar_share_the_cash_left_and_never_overdraw() -> None:
    # three legs enter on the same bar, each asking for 60 % of the equity
    legs = _legs(
        dict.fromkeys(("BTC/EUR", "ETH/EUR", "SOL/EUR"), (0, 1, 1, 1)), position_fraction=0.6
    )
    portfolio = PortfolioEngine(legs)
    bars = [_closes(s, 4, seed=i) for i, s in enumerate(("BTC/EUR", "ETH/EUR", "SOL/EUR"))]

    fills = _run(portfolio, bars)

    assert [leg for leg, _ in fills] == [0, 1]  # the third leg's entry found no cash left
    assert portfolio.ledger.cash >= 0
    spent = sum((f.quantity * f.price + f.fee for _, f in fills), ZERO)
    assert spent <= portfolio.ledger.start_balance


scripts = st.lists(st.sampled_from((0, 1, 1, -1)), min_size=30, max_size=30).map(tuple)


@settings(max_examples=40, deadline=None)
@given(
    symbols=st.sets(st.sampled_from(sorted(START_PRICES)), min_size=2, max_size=3).map(sorted),
    targets=st.lists(scripts, min_size=3, max_size=3),
    seed=st.integers(0, 1_000),
    shorts=st.booleans(),
    fill_price=st.sampled_from(("next_open", "close")),
)
def test_the_account_identity_holds_exactly_at_every_bar_for_any_legs(
    symbols: list[str], targets: list[tuple[int, ...]], seed: int, shorts: bool, fill_price: str
) -> None:
    legs = _legs(
        dict(zip(symbols, targets, strict=False)), allow_short=shorts, fill_price=fill_price
    )
    portfolio = PortfolioEngine(legs)
    ledger = portfolio.ledger
    bars = [_closes(symbol, 30, seed + i) for i, symbol in enumerate(symbols)]
    flows = dict.fromkeys(symbols, ZERO)
    for row in zip(*bars, strict=True):
        for item in portfolio.step(dict(enumerate(row))):
            for fill in item.outcome.fills:
                flows[fill.symbol] -= fill.signed_quantity * fill.price + fill.fee
        held = sum(
            (ledger.position(s) * (ledger.last_price(s) or ZERO) for s in symbols), Decimal(0)
        )
        assert ledger.cash + held == (
            ledger.start_balance + ledger.realized_pnl + ledger.unrealized_pnl - ledger.fees_paid
        )
    # each leg's contribution (its fills' cash and its position at the last price) adds up
    # to the account's net PnL, exactly
    contributions = sum(
        (flows[s] + ledger.position(s) * (ledger.last_price(s) or ZERO) for s in symbols), ZERO
    )
    assert contributions == ledger.net_pnl
