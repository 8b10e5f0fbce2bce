"""The registry: keys, specs, creation from config, errors with hints."""

from __future__ import annotations

import pytest

from peak_trade.core.errors import ConfigError
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.strategy_params import StrategySections
from peak_trade.strategies.ma_crossover import MACrossoverStrategy
from peak_trade.strategies.registry import (
    create_strategy,
    create_strategy_from_config,
    get_available_strategy_keys,
    get_strategy_spec,
    list_strategy_specs,
    register_strategy,
)

EXPECTED_KEYS = {
    "ma_crossover",
    "rsi_reversion",
    "trend_following",
    "breakout",
    "macd",
    "bollinger_bands",
    "mean_reversion",
    "momentum_1h",
}


def test_registry_lists_at_least_the_eight_phase80_keys_sorted() -> None:
    keys = get_available_strategy_keys()
    assert set(keys) >= EXPECTED_KEYS
    assert keys == sorted(keys)


def test_every_spec_has_tier_description_and_config_table() -> None:
    for spec in list_strategy_specs():
        assert spec.tier in ("core", "aux", "legacy")
        assert spec.description
        assert "\n" not in spec.description
        assert spec.config_section == f"strategy.{spec.key}"
        assert spec.key in StrategySections.model_fields


def test_registering_a_key_twice_raises() -> None:
    with pytest.raises(ValueError, match="'ma_crossover' is already registered"):
        register_strategy(MACrossoverStrategy, "core")


def test_unknown_key_raises_config_error_with_hint_and_list() -> None:
    with pytest.raises(ConfigError) as caught:
        get_strategy_spec("ma_crosover")
    message = str(caught.value)
    assert "unknown strategy 'ma_crosover'; did you mean 'ma_crossover'?" in message
    assert "available: bollinger_bands, breakout, ma_crossover" in message


def test_create_from_config_uses_the_strategy_table() -> None:
    cfg = PeakConfig.from_mapping(
        {"strategy": {"ma_crossover": {"fast_window": 7, "slow_window": 30}}}
    )
    strategy = create_strategy_from_config("ma_crossover", cfg)
    assert isinstance(strategy, MACrossoverStrategy)
    assert (strategy.params.fast_window, strategy.params.slow_window) == (7, 30)
    assert strategy.required_bars == 31


def test_create_with_overrides_validates_like_the_config() -> None:
    with pytest.raises(
        ConfigError,
        match=r"strategy.macd.fast_emma: unknown key; did you mean "
        r"'fast_ema'\?",
    ):
        create_strategy("macd", {"fast_emma": 5})
    with pytest.raises(
        ConfigError, match="fast_window must be < slow_window, was fast_window=60, slow_window=50"
    ):
        create_strategy("ma_crossover", {"fast_window": 60})


def test_create_with_overrides_keeps_other_config_values() -> None:
    cfg = PeakConfig.from_mapping({"strategy": {"macd": {"slow_ema": 40}}})
    strategy = create_strategy("macd", {"fast_ema": 5}, cfg=cfg)
    assert (strategy.params.fast_ema, strategy.params.slow_ema, strategy.params.signal_ema) == (
        5,
        40,
        9,
    )
