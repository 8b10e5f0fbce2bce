"""The benchmark workload in NautilusTrader, run by `replay_speed.py` in its own interpreter.

NautilusTrader needs pandas < 3, which Peak Trade's pinned pandas excludes, so it lives in a
virtual environment of its own (`make bench` makes `.venv-nautilus`). This script imports
nothing of Peak Trade: it reads the bars from an .npz file and prints one JSON line.

    .venv-nautilus/bin/python benchmarks/nautilus_workload.py BARS.npz

Rules as in the other workloads: SMA(20/50) crossover, long only, 10 % of equity per entry,
fee 0.1 % plus 5 bps slippage charged as a 0.15 % taker fee (Nautilus slips by whole ticks,
not basis points). Nautilus fills a market order sent on a bar at that bar's close; the
synthetic bars open at the previous close, so this is the next-open fill of the others.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.indicators import SimpleMovingAverage
from nautilus_trader.model.currencies import BTC, EUR
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, Symbol, TraderId, Venue
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.persistence.wranglers import BarDataWrangler
from nautilus_trader.trading.strategy import Strategy

FAST, SLOW, FRACTION, COST, CASH = 20, 50, 0.1, Decimal("0.0015"), 10_000
VENUE = Venue("SIM")


class SmaCrossConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg]
    instrument_id: InstrumentId
    bar_type: BarType


class SmaCross(Strategy):  # type: ignore[misc]
    def __init__(self, config: SmaCrossConfig) -> None:
        super().__init__(config)
        self.fast = SimpleMovingAverage(FAST)
        self.slow = SimpleMovingAverage(SLOW)
        self.previous = math.nan
        self.entries = 0

    def on_start(self) -> None:
        self.register_indicator_for_bars(self.config.bar_type, self.fast)
        self.register_indicator_for_bars(self.config.bar_type, self.slow)
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        if not self.slow.initialized:
            return
        diff = self.fast.value - self.slow.value
        previous, self.previous = self.previous, diff
        if math.isnan(previous):
            return
        flat = self.portfolio.is_flat(self.config.instrument_id)
        if diff > 0 >= previous and flat:
            cash = float(self.portfolio.account(VENUE).balance_total(EUR))
            size = math.floor(FRACTION * cash / bar.close.as_double() * 1e8) / 1e8
            order = self.order_factory.market(
                self.config.instrument_id, OrderSide.BUY, Quantity.from_str(f"{size:.8f}")
            )
            self.submit_order(order)
        elif diff < 0 <= previous and not flat:
            self.close_all_positions(self.config.instrument_id)

    def on_order_filled(self, event: OrderFilled) -> None:
        if event.order_side == OrderSide.BUY:
            self.entries += 1


def _instrument() -> CurrencyPair:
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol("BTC/EUR"), VENUE),
        raw_symbol=Symbol("BTC/EUR"),
        base_currency=BTC,
        quote_currency=EUR,
        price_precision=1,
        size_precision=8,
        price_increment=Price.from_str("0.1"),
        size_increment=Quantity.from_str("0.00000001"),
        lot_size=None,
        max_quantity=None,
        min_quantity=None,
        max_notional=None,
        min_notional=None,
        max_price=None,
        min_price=None,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=COST,
        taker_fee=COST,
        ts_event=0,
        ts_init=0,
    )


def run(path: str) -> dict[str, Any]:
    data = np.load(path)
    frame = pd.DataFrame(
        {name: data[name] for name in ("open", "high", "low", "close", "volume")},
        index=pd.to_datetime(data["time_s"], unit="s", utc=True),
    )
    frame.index.name = "timestamp"
    instrument = _instrument()
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    bars = BarDataWrangler(bar_type, instrument).process(frame)
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("BENCH-001"), logging=LoggingConfig(log_level="ERROR")
        )
    )
    engine.add_venue(
        VENUE,
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=None,
        starting_balances=[Money(CASH, EUR), Money(0, BTC)],
    )
    engine.add_instrument(instrument)
    engine.add_data(bars)
    strategy = SmaCross(SmaCrossConfig(instrument_id=instrument.id, bar_type=bar_type))
    engine.add_strategy(strategy)
    started = time.perf_counter()
    engine.run()
    seconds = time.perf_counter() - started
    account = engine.portfolio.account(VENUE)
    btc = account.balance_total(BTC)
    held = float(btc) if btc is not None else 0.0
    equity = float(account.balance_total(EUR)) + held * float(frame["close"].iloc[-1])
    engine.dispose()
    return {"seconds": seconds, "trades": strategy.entries, "final_equity": equity}


if __name__ == "__main__":
    result = run(sys.argv[1])
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
