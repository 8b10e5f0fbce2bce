"""TradingEngine.run_columns: many bars at once, with the same result as stepping bar by bar."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from peak_trade.core.bar_columns import BarColumns
from peak_trade.core.errors import StrategyError
from peak_trade.core.money import price_ticks
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.types import Bar
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.outcomes import BarOutcome, QuietRun, TradedBars
from peak_trade.live.risk_limits import TradingState
from peak_trade.portfolio import marks
from peak_trade.session.config import LiveSessionConfig
from peak_trade.session.wiring import build_engine, engine_settings
from peak_trade.strategies.base import Strategy, Targets
from peak_trade.testing.builders import bars_from_closes, random_walk_ohlc
from peak_trade.testing.fakes import ScriptedParams, ScriptedStrategy

SCRIPT = (0,) * 5 + (1,) * 20 + (0,) * 15 + (-1,) * 10 + (1,) * 30 + (0,) * 3
BARS = bars_from_closes(random_walk_ohlc(len(SCRIPT), seed=3)["close"].tolist())


class FailingStrategy(ScriptedStrategy):
    """Follows the script but raises on the bar with index `fail_at`."""

    fail_at = 30

    def update(self, open_: float, high: float, low: float, close: float, volume: float) -> int:
        if self._calls == self.fail_at:
            raise ZeroDivisionError("boom")
        return super().update(open_, high, low, close, volume)


def _engine(strategy: Strategy[ScriptedParams] | None = None, **config: object) -> TradingEngine:
    session = LiveSessionConfig(data_source="synthetic", **config)  # type: ignore[arg-type]
    strategy = strategy or ScriptedStrategy(ScriptedParams(targets=SCRIPT))
    return build_engine(strategy, engine_settings(session), PeakConfig.default())


def _ledger_state(engine: TradingEngine) -> list[str]:
    ledger = engine.ledger
    figures = (
        ledger.cash,
        ledger.equity,
        ledger.position(engine.symbol),
        ledger.fees_paid,
        ledger.realized_pnl,
        ledger.peak_equity,
        ledger.max_drawdown,
        ledger.max_drawdown_pct,
        ledger.day_pnl(),
        ledger.bars_marked,
        ledger.bars_in_market,
    )
    return [str(value) for value in figures]


def _by_columns(engine: TradingEngine, bars: list[Bar], size: int) -> list[QuietRun | BarOutcome]:
    items: list[QuietRun | BarOutcome] = []
    for start in range(0, len(bars), size):
        for item in engine.run_columns(BarColumns.from_bars(bars[start : start + size])):
            assert not isinstance(item, TradedBars)  # whole batches only when asked for
            items.append(item)
    return items


@pytest.mark.parametrize("reducing", [False, True])
@pytest.mark.parametrize("size", [1, 4, 7, len(BARS)])
def test_run_columns_matches_step_by_step_in_fills_ledger_and_order_ids(
    size: int, reducing: bool
) -> None:
    stepped, batched = _engine(allow_short=True), _engine(allow_short=True)
    if reducing:  # entries refused by the trading state, exits let through
        for engine in (stepped, batched):
            risk = engine.pipeline.risk_limits
            assert risk is not None
            risk.set_trading_state(TradingState.REDUCING, "operator", BARS[0].time)
    outcomes = [o for o in (stepped.step(bar) for bar in BARS) if o is not None]

    items = _by_columns(batched, BARS, size)

    busy = [item for item in items if isinstance(item, BarOutcome)]
    assert [(o.bar, o.target, o.fills, o.decision) for o in busy] == [
        (o.bar, o.target, o.fills, o.decision) for o in outcomes
    ]
    assert sum(len(item) for item in items if isinstance(item, QuietRun)) == len(BARS) - len(busy)
    assert _ledger_state(batched) == _ledger_state(stepped)
    assert batched.bars_seen == stepped.bars_seen == len(BARS)


def test_run_columns_reports_each_quiet_run_with_its_target_and_float_marks() -> None:
    engine = _engine()
    items = list(engine.run_columns(BarColumns.from_bars(BARS)))

    runs = [item for item in items if isinstance(item, QuietRun)]
    # bars 0-4 flat; the long entry (5) and its fill (6) are busy, then 7-24 are quiet and long
    assert (runs[0].start, runs[0].stop, runs[0].target) == (0, 5, 0)
    assert (runs[1].start, runs[1].stop, runs[1].target) == (7, 25, 1)
    assert runs[1].marks.equity[-1] == pytest.approx(float(_equity_after(BARS[:25])), rel=1e-15)


def _step_all(engine: TradingEngine, bars: list[Bar]) -> None:
    for bar in bars:
        engine.step(bar)


def _equity_after(bars: list[Bar]) -> Decimal:
    engine = _engine()
    _step_all(engine, bars)
    return engine.ledger.equity


def test_run_columns_fails_on_the_bar_the_strategy_failed_on_after_trading_the_earlier_ones() -> (
    None
):
    stepped = _engine(FailingStrategy(ScriptedParams(targets=SCRIPT)))
    batched = _engine(FailingStrategy(ScriptedParams(targets=SCRIPT)))
    with pytest.raises(StrategyError) as by_step:
        _step_all(stepped, BARS)

    with pytest.raises(StrategyError) as by_columns:
        list(batched.run_columns(BarColumns.from_bars(BARS)))

    assert str(by_columns.value) == str(by_step.value)
    assert "failed on the bar of " + BARS[30].time.isoformat() in str(by_columns.value)
    assert "ZeroDivisionError: boom" in str(by_columns.value)
    assert _ledger_state(batched) == _ledger_state(stepped)
    assert batched.ledger.bars_marked == 31  # the failing bar was marked, as step does


def test_run_columns_refuses_a_target_outside_minus_one_to_one_on_its_bar() -> None:
    script = (0,) * 8 + (2,)
    engine = _engine(ScriptedStrategy(ScriptedParams(targets=script)))

    with pytest.raises(
        StrategyError, match=r"returned target 2 on the bar of .*expected -1, 0 or 1"
    ):
        list(engine.run_columns(BarColumns.from_bars(BARS[:12])))
    assert engine.ledger.bars_marked == 9


class ArrayScriptedStrategy(ScriptedStrategy):
    """Hands its script over as an int64 array, as a compiled rule does."""

    def update_columns(self, columns: BarColumns) -> tuple[Targets, Exception | None]:
        targets, error = super().update_columns(columns)
        return np.asarray(targets, dtype=np.int64), error


def test_run_columns_refuses_a_bad_target_from_a_compiled_rule_on_its_bar() -> None:
    script = (0,) * 5 + (1,) * 3 + (-3,)
    engine = _engine(ArrayScriptedStrategy(ScriptedParams(targets=script)))

    with pytest.raises(
        StrategyError, match=r"returned target -3 on the bar of .*expected -1, 0 or 1"
    ):
        list(engine.run_columns(BarColumns.from_bars(BARS[:12])))
    assert engine.ledger.bars_marked == 9
    assert engine.ledger.position(engine.symbol) > 0  # the long before it was traded


def _check_marks_again(engine: TradingEngine, run: QuietRun) -> None:
    """The run's marks follow from the ledger's cash and position during it, its closes and
    the peak before it, by the rule a journal reader uses."""
    instrument = engine.rules.instrument
    closes = run.columns.close[run.start : run.stop]
    ticks = price_ticks(closes, instrument.price_decimals)
    ledger = engine.ledger
    equity, drawdown = marks.run_marks(
        ledger.cash, ledger.position(engine.symbol), instrument.price_step, run.peak, ticks
    )
    assert equity.tolist() == run.marks.equity.tolist()
    assert drawdown.tolist() == run.marks.drawdown.tolist()


# Long through a rise, with dips, so quiet runs set new peaks and fall back from them.
RISING_SCRIPT = (0,) * 5 + (1,) * 60 + (0,) * 10 + (1,) * 25
RISING = bars_from_closes(
    [50_000 + 40.0 * i - 300.0 * (i % 9 == 0) + 0.37 * (i % 4) for i in range(len(RISING_SCRIPT))]
)


def test_every_quiet_run_carries_the_peak_before_it_that_gives_its_marks_again() -> None:
    # Arrange / Act: the script over columns, and bar by bar (each quiet bar a run of one)
    scripted = ScriptedParams(targets=RISING_SCRIPT)
    engine = _engine(ScriptedStrategy(scripted), position_fraction=1.0)
    stepped = _engine(ScriptedStrategy(scripted), position_fraction=1.0)
    runs = 0
    for item in engine.run_columns(BarColumns.from_bars(RISING)):
        if isinstance(item, QuietRun):
            _check_marks_again(engine, item)
            runs += 1
    rows = 0
    for bar in RISING:
        peak = stepped.ledger.peak_equity
        if stepped.step(bar) is None:
            row = stepped.quiet_row(BarColumns.from_bars([bar]), 0)
            assert row.peak == peak
            _check_marks_again(stepped, row)
            rows += 1

    # Assert: long and flat stretches were checked, and the run set new peaks
    assert runs >= 4
    assert rows >= 70
    assert engine.ledger.peak_equity > Decimal(10_200)
