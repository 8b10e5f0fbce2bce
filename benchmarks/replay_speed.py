"""Replay speed of Peak Trade's full pipeline next to backtesting.py, vectorbt and Nautilus.

Every framework gets the same seeded synthetic bars and the same rules: SMA(20/50) crossover,
long only, 10 % of equity per entry, 0.1 % fee, 5 bps adverse slippage, fills at the next bar's
open. Each workload runs in its own process so that its peak RSS is its own.

    .venv/bin/python benchmarks/replay_speed.py --bars 100000 [--json]

Peak Trade's figures include generating the bars (they are streamed, never held in memory);
the other frameworks get a ready DataFrame. backtesting.py and vectorbt come from the `bench`
extra (`pip install -e '.[bench]'`); NautilusTrader, which needs pandas < 3, from its own venv
`.venv-nautilus` (see benchmarks/nautilus_workload.py). `make bench` installs all of them. A
missing one is reported, not faked. `--json` adds `ratios`: our bars/s (journal on) divided by
each workload's. `--repeat N` runs each workload N times, each in a fresh process, and keeps
its fastest run: all workloads alike, still side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

WORKLOADS = (
    "peak_trade_journal",
    "peak_trade_no_journal",
    "peak_trade_4_legs",
    "backtesting_py",
    "vectorbt",
    "nautilus_trader",
)
HERE = Path(__file__).resolve().parent
NAUTILUS_PYTHON = HERE.parent / ".venv-nautilus" / "bin" / "python"
FAST, SLOW, FRACTION, FEE, SLIPPAGE, CASH = 20, 50, 0.1, 0.001, 0.0005, 10_000.0


def _frame(bars: int, seed: int) -> Any:
    import pandas as pd

    from peak_trade.data.synthetic import SyntheticMarket

    rows = [
        (b.time, b.open, b.high, b.low, b.close, b.volume)
        for b in SyntheticMarket(seed=seed, bars=bars)
    ]
    frame = pd.DataFrame(rows, columns=["time", "Open", "High", "Low", "Close", "Volume"])
    return frame.set_index(pd.DatetimeIndex(frame.pop("time")))


def _peak_trade(bars: int, seed: int, journal: bool) -> dict[str, Any]:
    # Load the compiled kernels outside the timing, as vectorbt's are (a one-off per process).
    _peak_trade_run(2_000, seed + 1, journal)
    return _peak_trade_run(bars, seed, journal)


def _peak_trade_run(bars: int, seed: int, journal: bool) -> dict[str, Any]:
    from datetime import UTC, datetime

    from peak_trade.backtest.runner import BacktestRunner
    from peak_trade.core.clock import ManualClock
    from peak_trade.core.peak_config import PeakConfig
    from peak_trade.journal.store import Journal
    from peak_trade.session.config import LiveSessionConfig

    # Limits far above what this workload reaches: every rule is evaluated, none blocks.
    cfg = PeakConfig.from_mapping(
        {
            "live_risk": {
                "max_order_notional": 1e12,
                "max_symbol_exposure_notional": 1e12,
                "max_total_exposure_notional": 1e12,
                "max_open_positions": 10,
                "max_daily_loss_abs": 1e12,
                "max_drawdown_pct": 100.0,
            }
        }
    )
    session = LiveSessionConfig(
        data_source="synthetic",
        seed=seed,
        synthetic_bars=bars,
        warmup_candles=SLOW + 1,
        position_fraction=FRACTION,
        fee_rate=FEE,
        slippage_bps=SLIPPAGE * 10_000,
        start_balance=CASH,
        run_id="bench",
        strategy_key="ma_crossover",
    )
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as folder:
        store = Journal(Path(folder) / "bench.sqlite", clock=clock) if journal else None
        runner = BacktestRunner.from_config(session, cfg, clock=clock, journal=store)
        runner.configure_backtest()
        started = time.perf_counter()
        runner.warmup()
        runner.run_forever(sleep_between=False)
        seconds = time.perf_counter() - started
        if store is not None:
            store.close()
    ledger = runner.engine.ledger
    # Entries, a position still open at the end included (backtesting.py's finalize_trades
    # closes it and counts it).
    entries = (ledger.trades + 1) // 2
    return {"seconds": seconds, "trades": entries, "final_equity": float(ledger.equity)}


PORTFOLIO = ("BTC/EUR", "ETH/EUR", "SOL/EUR", "LTC/EUR")


def _peak_trade_legs(bars: int, seed: int) -> dict[str, Any]:
    """The same rule on four legs of one account (a synthetic market per symbol), journaled,
    with the same limits; `bars` per leg. Its bars/s counts leg-bars."""
    from datetime import UTC, datetime

    from peak_trade.core.clock import ManualClock
    from peak_trade.core.legs import Leg, with_weights
    from peak_trade.core.peak_config import PeakConfig
    from peak_trade.journal.store import Journal
    from peak_trade.session.config import LiveSessionConfig
    from peak_trade.session.portfolio_run import PortfolioRun

    cfg = PeakConfig.from_mapping({"live_risk": {"max_open_positions": 10}})
    legs = with_weights([Leg("ma_crossover", symbol) for symbol in PORTFOLIO])
    session = LiveSessionConfig(
        data_source="synthetic",
        seed=seed,
        synthetic_bars=bars,
        warmup_candles=SLOW + 1,
        position_fraction=FRACTION * len(legs),  # each leg's weight x this: FRACTION
        fee_rate=FEE,
        slippage_bps=SLIPPAGE * 10_000,
        start_balance=CASH,
        run_id="bench",
    )
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(Path(folder) / "bench.sqlite", clock=clock)
        run = PortfolioRun.start(session, cfg, legs, clock=clock, journal=journal, backtest=True)
        run.bar_clock = clock
        started = time.perf_counter()
        run.warmup()
        run.run()
        seconds = time.perf_counter() - started
        journal.close()
    ledger = run.engine.ledger
    return {
        "seconds": seconds,
        "trades": (ledger.trades + 1) // 2,
        "final_equity": float(ledger.equity),
        "leg_bars": bars * len(legs),
    }


def sma_cross() -> Any:
    """Return the workload's rule as a backtesting.py Strategy: SMA(FAST/SLOW) crossover, long
    only, FRACTION of equity per entry (also `fx_agreement`'s)."""
    from backtesting import Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(SMA, self.data.Close, FAST)
            self.slow = self.I(SMA, self.data.Close, SLOW)

        def next(self) -> None:
            if crossover(self.fast, self.slow):
                self.buy(size=FRACTION)
            elif crossover(self.slow, self.fast):
                self.position.close()

    return SmaCross


def _backtesting_py(bars: int, seed: int) -> dict[str, Any]:
    from backtesting.lib import FractionalBacktest

    frame = _frame(bars, seed)
    SmaCross = sma_cross()  # noqa: N806 (a class)

    started = time.perf_counter()
    # backtesting.py applies `spread` once per trade (on entry); our slippage hits both sides,
    # so it is charged here as a per-side commission on top of the fee.
    stats = FractionalBacktest(
        frame, SmaCross, cash=CASH, commission=FEE + SLIPPAGE, finalize_trades=True
    ).run()
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "trades": int(stats["# Trades"]),
        "final_equity": float(stats["Equity Final [$]"]),
    }


def _vectorbt(bars: int, seed: int) -> dict[str, Any]:
    import vectorbt as vbt

    frame = _frame(bars, seed)

    def run(data: Any) -> Any:
        close, open_ = data["Close"], data["Open"]
        fast, slow = close.rolling(FAST).mean(), close.rolling(SLOW).mean()
        entries = (fast > slow) & (fast.shift(1) <= slow.shift(1))
        exits = (fast < slow) & (fast.shift(1) >= slow.shift(1))
        # decided on bar t, filled at bar t+1's open
        return vbt.Portfolio.from_signals(
            close,
            entries.shift(1, fill_value=False),
            exits.shift(1, fill_value=False),
            price=open_,
            size=FRACTION,
            size_type="percent",
            fees=FEE,
            slippage=SLIPPAGE,
            init_cash=CASH,
        )

    run(frame.iloc[:500])  # compile numba kernels outside the timing
    started = time.perf_counter()
    portfolio = run(frame)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "trades": int(portfolio.trades.count()),
        "final_equity": float(portfolio.final_value()),
    }


def _nautilus(bars: int, seed: int) -> dict[str, Any]:
    """Run benchmarks/nautilus_workload.py in NautilusTrader's own venv on the same bars."""
    import numpy as np

    if not NAUTILUS_PYTHON.exists():
        raise RuntimeError(f"{NAUTILUS_PYTHON} is missing; `make bench` installs NautilusTrader")
    frame = _frame(bars, seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bars.npz"
        columns = {name.lower(): frame[name].to_numpy() for name in frame.columns}
        np.savez(path, time_s=frame.index.asi8 // 1_000_000_000, **columns)
        done = subprocess.run(  # noqa: S603 (fixed interpreter and script)
            [str(NAUTILUS_PYTHON), str(HERE / "nautilus_workload.py"), str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError((done.stderr.strip().splitlines() or ["failed"])[-1])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _measure(name: str, bars: int, seed: int) -> dict[str, Any]:
    if name == "peak_trade_journal":
        result = _peak_trade(bars, seed, journal=True)
    elif name == "peak_trade_no_journal":
        result = _peak_trade(bars, seed, journal=False)
    elif name == "peak_trade_4_legs":
        result = _peak_trade_legs(bars, seed)
    elif name == "backtesting_py":
        result = _backtesting_py(bars, seed)
    elif name == "vectorbt":
        result = _vectorbt(bars, seed)
    else:
        result = _nautilus(bars, seed)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (
        {"peak_rss_mib": peak_kib / 1024}
        | result
        | {
            "name": name,
            "bars": bars,
            "bars_per_second": result.get("leg_bars", bars) / result["seconds"],
        }
    )


def _in_subprocess(name: str, bars: int, seed: int) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 (this script, fixed arguments)
        [sys.executable, __file__, "--only", name, "--bars", str(bars), "--seed", str(seed)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["failed"])[-1]
        return {"name": name, "error": last}
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _best_of(name: str, bars: int, seed: int, repeat: int) -> dict[str, Any]:
    """Run a workload `repeat` times, each in a fresh process; keep the fastest run."""
    runs = [_in_subprocess(name, bars, seed) for _ in range(repeat)]
    done = [run for run in runs if "error" not in run]
    if not done:
        return runs[-1]
    return min(done, key=lambda run: float(run["seconds"])) | {"runs": repeat}


def _table(results: list[dict[str, Any]]) -> str:
    ours = next(
        (r for r in results if r["name"] == "peak_trade_journal" and "error" not in r), None
    )
    lines = [
        f"{'workload':<24}{'bars/s':>12}{'seconds':>10}{'peak RSS':>11}{'trades':>8}"
        f"{'final equity':>15}{'ours / it':>11}"
    ]
    for r in results:
        if "error" in r:
            lines.append(f"{r['name']:<24}  not run: {r['error']}")
            continue
        ratio = ours["bars_per_second"] / r["bars_per_second"] if ours else float("nan")
        lines.append(
            f"{r['name']:<24}{r['bars_per_second']:>12,.0f}{r['seconds']:>10.2f}"
            f"{r['peak_rss_mib']:>8.0f} MiB{r['trades']:>8}{r['final_equity']:>15,.2f}"
            f"{ratio:>10.2f}x"
        )
    return "\n".join(lines)


def main() -> int:
    """Run every workload in its own process and print the figures side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bars", type=int, default=525_600, help="default: a year of 1m bars")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each workload this many times (each in a fresh process) and keep the fastest; "
        "smooths out a busy machine (default: 1)",
    )
    parser.add_argument("--only", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only:
        print(json.dumps(_measure(args.only, args.bars, args.seed)))
        return 0
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, was {args.repeat}")
    results = [_best_of(name, args.bars, args.seed, args.repeat) for name in WORKLOADS]
    if args.json:
        ours = next((r for r in results if r["name"] == WORKLOADS[0] and "error" not in r), None)
        ratios = {
            r["name"]: ours["bars_per_second"] / r["bars_per_second"]
            for r in results
            if ours is not None and "error" not in r
        }
        print(
            json.dumps(
                {
                    "bars": args.bars,
                    "seed": args.seed,
                    "repeat": args.repeat,
                    "results": results,
                    "ratios": ratios,
                }
            )
        )
    else:
        print(
            f"{args.bars:,} synthetic 1m bars, seed {args.seed}; SMA({FAST}/{SLOW}) long only, "
            f"{FRACTION:.0%} of equity, fee {FEE:.1%}, slippage {SLIPPAGE * 10_000:.0f} bps"
            + (f"; fastest of {args.repeat} runs each" if args.repeat > 1 else "")
        )
        print(_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
