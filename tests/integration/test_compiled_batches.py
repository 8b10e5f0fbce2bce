"""The compiled backtest loop trades exactly as the engine does bar by bar.

Each case runs one backtest twice over the same synthetic bars, once through the compiled loop
and once bar by bar, and compares every journal row (kind, bar time, the time it was written on
the backtest's clock and payload text, so each Decimal to its last digit and exponent), the
summary, and the ledger. The cases reach each
place where the loop hands a bar back to the engine: risk denials, a tripped drawdown limit, a
daily loss limit, skipped entries, flips from long to short, fills at the close.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peak_trade.backtest.runner import BacktestRunner
from peak_trade.core.clock import ManualClock
from peak_trade.core.peak_config import PeakConfig
from peak_trade.journal.store import Journal
from peak_trade.live.risk_rules import RULES, Denial, Exposure, ProposedTrade, RiskLimitsConfig
from peak_trade.session.config import LiveSessionConfig

# the rows whose payload holds the run's own clock times or its summary's timings
_OWN_ROWS = frozenset({"run_started", "run_stopped", "run_plan"})

CASES: dict[str, dict[str, Any]] = {
    "ma_crossover": {},
    "fills at the close": {"session": {"fill_price": "close"}},
    "shorts and flips": {
        "session": {"strategy_key": "rsi_reversion", "allow_short": True},
    },
    "breakout shorts at the close": {
        "session": {"strategy_key": "breakout", "allow_short": True, "fill_price": "close"},
    },
    "orders denied by max_order_notional": {
        "session": {"position_fraction": 0.5},
        "live_risk": {"max_order_notional": 5_000.0},
        "exercises": "order_denied",
    },
    "every entry denied": {
        "session": {"strategy_key": "rsi_reversion"},
        "live_risk": {"max_order_notional": 1.0},
        "exercises": "order_denied",
    },
    "drawdown limit trips reducing": {  # then the loop refuses entries itself
        "session": {"strategy_key": "macd", "position_fraction": 1.0},
        "live_risk": {"max_drawdown_pct": 0.5},
        "exercises": "trading_state",
        "compiled_share": 0.9,
    },
    "reducing with shorts and fills at the close": {
        "session": {
            "strategy_key": "rsi_reversion",
            "allow_short": True,
            "fill_price": "close",
            "position_fraction": 1.0,
        },
        "live_risk": {"max_drawdown_pct": 0.5},
        "exercises": "order_denied",
        "compiled_share": 0.8,
    },
    "daily loss limits": {
        "session": {"strategy_key": "momentum_1h", "position_fraction": 0.8},
        "live_risk": {"max_daily_loss_abs": 20.0, "max_daily_loss_pct": 0.1},
        "exercises": "order_denied",
    },
    "exposure limits": {
        "session": {"strategy_key": "momentum_1h", "position_fraction": 0.5},
        "live_risk": {"max_symbol_exposure_notional": 5_000.0},
        "exercises": "order_denied",
    },
    "entries below the minimum cost": {
        "session": {"strategy_key": "trend_following", "start_balance": 23.0},
        "exercises": "order_skipped",
    },
    "no fee, no slippage": {"session": {"fee_rate": 0.0, "slippage_bps": 0.0}},
    "odd rates and balance": {
        "session": {
            "fee_rate": 0.0026,
            "slippage_bps": 2.75,
            "start_balance": 12_345.678,
            "position_fraction": 0.37,
        },
    },
    "venue rejections, risk limits off": {
        "session": {"enable_risk_limits": False, "position_fraction": 1.0},
        "exercises": "order_rejected",
    },
}


def _backtest(
    tmp_path: Path, case: dict[str, Any], compiled: bool, follow: bool = False, clocked: bool = True
) -> dict[str, Any]:
    """Run `case` as a backtest; `case` may also hold "kill_at" (minutes after the first
    traded bar's close when the kill switch appears) and "per_poll" (bars per poll)."""
    config = PeakConfig.from_mapping({"live_risk": case.get("live_risk", {})})
    settings: dict[str, Any] = {
        "data_source": "synthetic",
        "seed": 11,
        "synthetic_bars": 6_000,
        "warmup_candles": 60,
        "run_id": "parity",
    } | case.get("session", {})
    session = LiveSessionConfig(**settings)
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    path = tmp_path / ("compiled.sqlite" if compiled else "stepped.sqlite")
    journal = Journal(path, clock=clock)
    runner = BacktestRunner.from_config(session, config, clock=clock, journal=journal)
    runner.engine.compiled_batches = compiled
    if clocked:  # events stamped with the close of the bar before them, else all at the start
        runner.bar_clock = clock
    if follow:  # a caller that follows every bar gets the loop's bars one by one, not in blocks
        runner.on_step_callback = lambda steps, bar: None
    runner.configure_backtest(case.get("per_poll", 4_096))
    runner.warmup()
    if "kill_at" in case:  # the kill switch appears then (read at each poll's first bar)
        risk = runner.engine.pipeline.risk_limits
        assert risk is not None
        start = runner.metrics.last_bar_time
        assert start is not None
        moment = start + timedelta(minutes=int(case["kill_at"]))
        risk.adopt(risk.config, lambda: clock.now() > moment)
    runner.run_forever(sleep_between=False)
    summary = runner.get_summary()
    journal.close()
    with sqlite3.connect(path) as db:
        rows = [
            row
            for row in db.execute(
                "SELECT kind, ts_event, ts_init, payload FROM events ORDER BY seq"
            )
            if row[0] not in _OWN_ROWS
        ]
    ledger = runner.engine.ledger
    figures = {
        "cash": str(ledger.cash),
        "position": str(ledger.position(runner.engine.symbol)),
        "fees": str(ledger.fees_paid),
        "realized": str(ledger.realized_pnl),
        "unrealized": str(ledger.unrealized_pnl),
        "equity": str(ledger.equity),
        "peak": str(ledger.peak_equity),
        "max_drawdown": str(ledger.max_drawdown),
        "max_drawdown_pct": str(ledger.max_drawdown_pct),
        "by_day": {str(day): str(pnl) for day, pnl in ledger.realized_by_day.items()},
        "bars": (ledger.bars_marked, ledger.bars_in_market, ledger.trades),
        "day_pnl": str(ledger.day_pnl()),
    }
    summary.pop("elapsed_seconds", None)
    audit = [
        (entry.ts, entry.action, entry.allowed, entry.reason, entry.detail)
        for entry in runner.engine.pipeline.safety_guard.audit_tail()
    ]
    return {
        "rows": rows,
        "summary": summary,
        "ledger": figures,
        "audit": audit,
        "compiled_bars": runner.engine.compiled_bars,
        "bars": runner.engine.bars_seen,
    }


@pytest.mark.parametrize("follow", [False, True], ids=["blocks", "bar items"])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_compiled_loop_journals_and_books_exactly_as_bar_by_bar(
    tmp_path: Path, case: dict[str, Any], follow: bool
) -> None:
    # Act
    stepped = _backtest(tmp_path, case, compiled=False, follow=follow)
    compiled = _backtest(tmp_path, case, compiled=True, follow=follow)

    # Assert: the case traded (and met what it is for), and both ways agree to the last digit
    assert stepped["ledger"]["bars"][2] > 0 or "exercises" in case, "the case must trade"
    assert stepped["compiled_bars"] == 0
    assert compiled["compiled_bars"] > 0
    assert compiled["compiled_bars"] >= case.get("compiled_share", 0) * stepped["bars"]
    if "exercises" in case:
        assert any(row[0] == case["exercises"] for row in stepped["rows"])
    assert compiled["ledger"] == stepped["ledger"]
    assert compiled["summary"] == stepped["summary"]
    assert compiled["audit"] == stepped["audit"]
    assert len(compiled["rows"]) == len(stepped["rows"])
    for ours, theirs in zip(compiled["rows"], stepped["rows"], strict=True):
        assert ours == theirs


@pytest.mark.parametrize("name", ["ma_crossover", "drawdown limit trips reducing"])
def test_without_a_bar_clock_the_loop_journals_as_bar_by_bar(tmp_path: Path, name: str) -> None:
    # a backtest driven without the runner's bar clock (as the benchmark drives it) stamps
    # every row with the journal clock's time: the loop's bulk rows must too
    case = CASES[name]

    stepped = _backtest(tmp_path, case, compiled=False, clocked=False)
    compiled = _backtest(tmp_path, case, compiled=True, clocked=False)

    assert compiled["compiled_bars"] >= 0.9 * stepped["bars"]
    assert compiled["rows"] == stepped["rows"]
    assert {row[2] for row in compiled["rows"]} == {"1970-01-01T00:00:00+00:00"}
    assert (compiled["ledger"], compiled["summary"]) == (stepped["ledger"], stepped["summary"])


CEILING = Decimal("43500")  # the synthetic market of seed 11 trades around it (40,000 to 50,000)


def _no_buying_above_the_ceiling(
    trade: ProposedTrade, limits: RiskLimitsConfig, exposure: Exposure
) -> Denial | None:
    """A risk rule the compiled loop does not know: no buy valued above CEILING."""
    del limits, exposure
    if trade.quantity > 0 and trade.price is not None and trade.price > CEILING:
        return Denial("no_buying_above_the_ceiling", f"{trade.price} is above {CEILING}")
    return None


def test_a_risk_rule_the_loop_does_not_know_is_enforced_on_every_bar(tmp_path: Path) -> None:
    # Arrange: a backtest whose limits hold one rule more than the loop applies
    session = LiveSessionConfig(
        data_source="synthetic", seed=11, synthetic_bars=6_000, warmup_candles=60, run_id="new"
    )
    clock = ManualClock(datetime(1970, 1, 1, tzinfo=UTC))
    journal = Journal(tmp_path / "j.sqlite", clock=clock)
    runner = BacktestRunner.from_config(session, PeakConfig.default(), journal=journal)
    risk = runner.engine.pipeline.risk_limits
    assert risk is not None
    risk.rules = {**RULES, "no_buying_above_the_ceiling": _no_buying_above_the_ceiling}
    runner.configure_backtest()
    runner.warmup()

    # Act
    runner.run_forever(sleep_between=False)

    # Assert: the loop traded no bar, and the rule denied every buy above the ceiling
    assert runner.engine.compiled_bars == 0
    denied = [e.payload["reasons"] for e in runner.recorder.events("order_denied")]
    ceiling = [r for reasons in denied for r in reasons if "no_buying_above_the_ceiling: " in r]
    assert len(ceiling) > 10
    buys = [e.payload for e in runner.recorder.events("fill") if e.payload["side"] == "buy"]
    assert buys
    assert all(Decimal(fill["market_price"]) <= CEILING * Decimal("1.01") for fill in buys)
    journal.close()


def test_the_loop_trades_when_the_limits_hold_only_the_rules_it_applies(tmp_path: Path) -> None:
    session = LiveSessionConfig(
        data_source="synthetic", seed=11, synthetic_bars=6_000, warmup_candles=60, run_id="known"
    )
    runner = BacktestRunner.from_config(session, PeakConfig.default())
    runner.configure_backtest()
    runner.warmup()
    runner.run_forever(sleep_between=False)
    assert runner.engine.compiled_bars > 0.9 * runner.engine.bars_seen


# --- differential: generated setups, both ways ---------------------------------------------------

_STRATEGIES = (
    "ma_crossover",
    "rsi_reversion",
    "macd",
    "momentum_1h",
    "breakout",
    "bollinger_bands",
    "mean_reversion",
    "trend_following",
)
_SESSIONS = st.fixed_dictionaries(
    {
        "strategy_key": st.sampled_from(_STRATEGIES),
        "fill_price": st.sampled_from(["next_open", "close"]),
        "allow_short": st.booleans(),
        "position_fraction": st.sampled_from([0.05, 0.37, 0.5, 1.0]),
        "fee_rate": st.sampled_from([0.0, 0.001, 0.0026]),
        "slippage_bps": st.sampled_from([0.0, 2.75, 5.0, 40.0]),
        "start_balance": st.sampled_from([23.0, 1_000.0, 12_345.678]),
        "seed": st.integers(0, 10_000),
        "synthetic_bars": st.integers(400, 2_500),
    }
)
_LIMITS = st.fixed_dictionaries(
    {},
    optional={
        "max_order_notional": st.sampled_from([1.0, 400.0, 5_000.0]),
        "max_symbol_exposure_notional": st.sampled_from([300.0, 5_000.0]),
        "max_total_exposure_notional": st.sampled_from([300.0, 6_000.0]),
        "max_daily_loss_abs": st.sampled_from([5.0, 20.0, 500.0]),
        "max_daily_loss_pct": st.sampled_from([0.1, 1.0, 5.0]),
        "max_drawdown_pct": st.sampled_from([0.3, 1.0, 20.0]),
        "block_on_violation": st.booleans(),
    },
)
_CASES = st.fixed_dictionaries(
    {"session": _SESSIONS, "live_risk": _LIMITS, "per_poll": st.sampled_from([97, 500, 4_096])},
    optional={"kill_at": st.integers(1, 2_500)},
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=_CASES)
def test_generated_setups_trade_the_same_in_the_loop_and_bar_by_bar(
    tmp_path_factory: pytest.TempPathFactory, case: dict[str, Any]
) -> None:
    # Arrange: a fresh folder per example
    folder = tmp_path_factory.mktemp("differential")
    # Act
    stepped = _backtest(folder, case, compiled=False)
    compiled = _backtest(folder, case, compiled=True)
    # Assert: the same journal rows, ledger, summary and guard audit, to the last digit
    assert compiled["ledger"] == stepped["ledger"]
    assert compiled["summary"] == stepped["summary"]
    assert compiled["audit"] == stepped["audit"]
    assert compiled["rows"] == stepped["rows"]
