"""Every registered strategy keeps the contract: held target in {-1, 0, +1}, one code path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peak_trade.core.errors import StrategyError
from peak_trade.core.peak_config import PeakConfig, load_config
from peak_trade.data.synthetic import SyntheticMarket
from peak_trade.strategies.registry import create_strategy_from_config, get_available_strategy_keys
from peak_trade.testing.builders import ohlc_frame, random_walk_ohlc

KEYS = get_available_strategy_keys()
CONFIG = PeakConfig.default()
SHIPPED = load_config(Path(__file__).parents[3] / "config" / "config.toml")


@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    length=st.integers(1, 600),
    volatility=st.sampled_from([0.0005, 0.003, 0.02]),
)
def test_generate_signals_equals_bar_by_bar_targets(
    key: str, seed: int, length: int, volatility: float
) -> None:
    # Arrange
    columns = random_walk_ohlc(length, seed=seed, volatility=volatility)
    frame = ohlc_frame(columns)
    strategy = create_strategy_from_config(key, CONFIG)
    # Act
    research = strategy.generate_signals(frame).to_numpy()
    streamed = [
        strategy.update(
            *(float(columns[name][i]) for name in ("open", "high", "low", "close", "volume"))
        )
        for i in range(length)
    ]
    # Assert
    np.testing.assert_array_equal(research, np.array(streamed))
    assert set(np.unique(research)) <= {-1, 0, 1}


@pytest.mark.parametrize("key", KEYS)
def test_strategy_with_shipped_config_trades_and_waits_for_required_bars(key: str) -> None:
    strategy = create_strategy_from_config(key, SHIPPED)
    bars = list(SyntheticMarket(seed=3, bars=30_000))
    targets = [strategy.on_bar(bar) for bar in bars]
    first_active = next(i for i, target in enumerate(targets) if target != 0)
    assert first_active >= strategy.required_bars - 1
    assert len(set(targets)) >= 2, "every strategy must trade on the synthetic market"


@pytest.mark.parametrize("key", KEYS)
def test_generate_signals_leaves_the_instance_untouched(key: str) -> None:
    strategy = create_strategy_from_config(key, CONFIG)
    frame = ohlc_frame(random_walk_ohlc(500, seed=1, volatility=0.01))
    first = strategy.generate_signals(frame)
    second = strategy.generate_signals(frame)
    assert first.equals(second)
    assert strategy.target == 0


def test_generate_signals_without_close_column_names_what_it_found() -> None:
    strategy = create_strategy_from_config("ma_crossover", CONFIG)
    frame = ohlc_frame({"price": np.ones(10)})
    with pytest.raises(StrategyError, match=r"needs a 'close' column, found \['price'\]"):
        strategy.generate_signals(frame)


def test_generate_signals_rejects_a_nan_close_with_its_row() -> None:
    strategy = create_strategy_from_config("ma_crossover", CONFIG)
    frame = ohlc_frame({"close": np.array([1.0, 2.0, np.nan, 3.0])})
    with pytest.raises(StrategyError, match="close at row 2 is nan"):
        strategy.generate_signals(frame)


def test_generate_signals_keeps_the_frame_index() -> None:
    strategy = create_strategy_from_config("macd", CONFIG)
    frame = ohlc_frame(random_walk_ohlc(100, seed=2))
    assert strategy.generate_signals(frame).index.equals(frame.index)
