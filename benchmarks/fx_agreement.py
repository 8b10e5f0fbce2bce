"""Do instrument rules that match the data give backtesting.py's result? EUR/USD-like prices.

EUR/USD 1m candles (prices about 1.1 in steps of 0.00001) are backtested three ways, with the
same rules: SMA(20/50) crossover, long only, 10 % of equity per entry, 0.1 % fee, no slippage,
fills at the next bar's open.

- Peak Trade with EUR/USD's own rules (price step 0.00001, from `[instruments."EUR/USD"]`);
- backtesting.py (FractionalBacktest, commission 0.1 % a side);
- Peak Trade with BTC/EUR's rules (price step 0.1): what replaying the file as BTC/EUR did
  before such a file was refused. Run here through the engine directly, past that check.

It prints each final equity and its difference from backtesting.py's. Needs the `bench` extra
(backtesting.py): `make bench` installs it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FAST, SLOW, FRACTION, FEE, CASH = 20, 50, 0.1, 0.001, 10_000.0  # replay_speed's, no slippage
RULES = {"EUR/USD": {"price_decimals": 5, "lot_decimals": 8}}


def _bars(count: int, seed: int) -> list[Any]:
    from peak_trade.data.synthetic import SyntheticMarket

    return list(SyntheticMarket(seed=seed, bars=count, start_price=1.1, price_decimals=5))


def _peak_trade(path: Path, symbol: str) -> float:
    from peak_trade.backtest.runner import BacktestRunner
    from peak_trade.core.clock import ManualClock
    from peak_trade.core.peak_config import PeakConfig
    from peak_trade.session.config import LiveSessionConfig

    cfg = PeakConfig.from_mapping({"instruments": RULES, "live_risk": {"enabled": False}})
    session = LiveSessionConfig(
        data_source="replay",
        data_path=str(path),
        symbol="EUR/USD",
        warmup_candles=SLOW + 1,
        position_fraction=FRACTION,
        fee_rate=FEE,
        slippage_bps=0.0,
        start_balance=CASH,
        run_id="fx",
        strategy_key="ma_crossover",
        enable_risk_limits=False,
    )
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    runner = BacktestRunner.from_config(session, cfg, clock=clock)
    if symbol != "EUR/USD":  # the old behaviour: another instrument's rules on these prices
        from dataclasses import replace

        from peak_trade.data.instruments import offline_instrument

        steps = offline_instrument(symbol)
        runner.engine.use_instrument(replace(steps, symbol="EUR/USD", base="EUR", quote="USD"))
    runner.configure_backtest()
    runner.warmup()
    runner.run_forever(sleep_between=False)
    return float(runner.engine.ledger.equity)


def _backtesting_py(bars: list[Any]) -> float:
    import pandas as pd
    from backtesting.lib import FractionalBacktest
    from replay_speed import sma_cross  # the same rule as the speed workload's

    rows = [(b.time, b.open, b.high, b.low, b.close, b.volume) for b in bars]
    frame = pd.DataFrame(rows, columns=["time", "Open", "High", "Low", "Close", "Volume"])
    frame = frame.set_index(pd.DatetimeIndex(frame.pop("time")))
    stats = FractionalBacktest(
        frame, sma_cross(), cash=CASH, commission=FEE, finalize_trades=True
    ).run()
    return float(stats["Equity Final [$]"])


def main() -> int:
    """Run the three backtests and print their final equity side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    import tempfile

    from peak_trade.data.candle_files import write_replay

    bars = _bars(args.bars, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        path = write_replay(Path(folder) / "eurusd.csv", bars)
        theirs = _backtesting_py(bars)
        rows = [
            ("Peak Trade, EUR/USD rules (0.00001)", _peak_trade(path, "EUR/USD")),
            ("backtesting.py", theirs),
            ("Peak Trade, BTC/EUR rules (0.1)", _peak_trade(path, "BTC/EUR")),
        ]
    print(f"{args.bars:,} EUR/USD-like 1m bars, SMA {FAST}/{SLOW}, fee {FEE:.1%}, no slippage")
    for name, equity in rows:
        change = (equity / theirs - 1) * 100
        print(f"{name:<38}{equity:>14,.4f}{change:>+10.3f} % vs backtesting.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
