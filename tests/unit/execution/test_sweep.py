"""Sweep grids: parsing, validation before any work, ranking."""

from __future__ import annotations

import pytest

from peak_trade.backtest.sweep import build_tasks, inert_parameters, parse_grid, rank
from peak_trade.core.errors import ConfigError
from peak_trade.core.peak_config import PeakConfig

SESSION = {
    "data_source": "synthetic",
    "synthetic_bars": 500,
    "warmup_candles": None,
    "strategy_key": "ma_crossover",
    "run_id": "sweep",
}


def test_grid_values_become_numbers_and_flags() -> None:
    grid = parse_grid(
        ["fast_window=10,20", "bb_std=1.5,2", "use_trend_filter=true,false", "price_col=close,open"]
    )
    assert grid == {
        "fast_window": [10, 20],
        "bb_std": [1.5, 2],
        "use_trend_filter": [True, False],
        "price_col": ["close", "open"],
    }


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["fast_window"], "--grid expects NAME=V1,V2,..., was 'fast_window'"),
        (["fast_window="], "--grid expects NAME=V1,V2"),
        (["a=1", "a=2"], "--grid names 'a' twice"),
        (["fast_window=10,20,10"], "--grid fast_window lists 10 twice \\(as '10' and '10'\\)"),
        (["bb_std=2,2.0"], "--grid bb_std lists 2 twice \\(as '2' and '2.0'\\); each value"),
        ([], "a sweep needs at least one --grid"),
    ],
)
def test_bad_grids_are_refused(items: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_grid(items)


def test_every_point_becomes_a_task_with_enough_warmup() -> None:
    grid = parse_grid(["fast_window=10,20,30", "slow_window=50,100,200"])
    tasks = build_tasks("ma_crossover", grid, PeakConfig.default(), SESSION)
    assert len(tasks) == 9
    assert tasks[0].params == {"fast_window": 10, "slow_window": 50}
    assert tasks[-1].params == {"fast_window": 30, "slow_window": 200}
    assert {task.session["warmup_candles"] for task in tasks} == {201}
    assert tasks[4].config["strategy"]["ma_crossover"]["fast_window"] == 20


def test_unknown_parameter_fails_before_any_work_with_a_hint() -> None:
    grid = parse_grid(["fast_windw=10"])
    with pytest.raises(
        ConfigError,
        match=r"strategy\.ma_crossover\.fast_windw: unknown key; "
        r"did you mean 'fast_window'\?",
    ):
        build_tasks("ma_crossover", grid, PeakConfig.default(), SESSION)


def test_an_invalid_combination_fails_the_whole_grid() -> None:
    grid = parse_grid(["fast_window=10,60", "slow_window=50"])
    with pytest.raises(
        ConfigError, match="fast_window must be < slow_window, was fast_window=60, slow_window=50"
    ):
        build_tasks("ma_crossover", grid, PeakConfig.default(), SESSION)


def test_explicit_warmup_too_short_for_the_grid_is_refused() -> None:
    grid = parse_grid(["slow_window=100,300"])
    with pytest.raises(ConfigError, match="warmup_candles 200 is fewer than the 301 bars"):
        build_tasks("ma_crossover", grid, PeakConfig.default(), SESSION | {"warmup_candles": 200})


def test_unknown_strategy_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown strategy 'nope'"):
        build_tasks("nope", parse_grid(["a=1"]), PeakConfig.default(), SESSION)


def test_rank_puts_the_best_first_and_undefined_last() -> None:
    rows: list[dict[str, float | None]] = [
        {"sharpe": 1.0},
        {"sharpe": None},
        {"sharpe": 3.0},
        {"sharpe": -2.0},
    ]
    assert [row["sharpe"] for row in rank(rows, "sharpe")] == [3.0, 1.0, -2.0, None]


def test_a_parameter_that_changed_no_result_is_named_inert() -> None:
    # atr_lookback changes nothing anywhere; lookback changes the trades; window changes them
    # for one lookback only, which is enough to count
    rows = [
        {"index": i, "lookback": lb, "atr_lookback": atr, "window": w, "trades": trades}
        for i, (lb, atr, w, trades) in enumerate(
            [
                (10, 7, 1, 5),
                (10, 14, 1, 5),
                (20, 7, 1, 3),
                (20, 14, 1, 3),
                (10, 7, 2, 5),
                (10, 14, 2, 5),
                (20, 7, 2, 4),
                (20, 14, 2, 4),
            ]
        )
    ]

    assert inert_parameters(rows, ["lookback", "atr_lookback", "window"]) == ["atr_lookback"]
    assert inert_parameters(rows[:1], ["lookback"]) == []  # one value proves nothing
