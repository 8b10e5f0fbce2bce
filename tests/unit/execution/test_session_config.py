"""LiveSessionConfig: the document's ten validation cases, in English, plus the new checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from peak_trade.core.errors import ConfigError, LiveModeNotAllowedError
from peak_trade.session.config import LiveSessionConfig, run_id_from


def test_config_valid_shadow_mode() -> None:
    config = LiveSessionConfig(
        mode="shadow", strategy_key="ma_crossover", symbol="BTC/EUR", timeframe="1m"
    )
    assert (config.mode, config.strategy_key, config.symbol, config.timeframe) == (
        "shadow",
        "ma_crossover",
        "BTC/EUR",
        "1m",
    )


def test_config_valid_testnet_mode() -> None:
    config = LiveSessionConfig(
        mode="testnet", strategy_key="rsi_reversion", symbol="ETH/EUR", timeframe="5m"
    )
    assert (config.mode, config.symbol, config.timeframe) == ("testnet", "ETH/EUR", "5m")


def test_config_live_mode_blocked() -> None:
    with pytest.raises(LiveModeNotAllowedError, match="mode 'live' is not allowed"):
        LiveSessionConfig(mode="live")


def test_config_invalid_mode_rejected() -> None:
    with pytest.raises(ValueError, match="invalid mode 'invalid_mode'"):
        LiveSessionConfig(mode="invalid_mode")


def test_config_invalid_symbol_rejected() -> None:
    with pytest.raises(ValueError, match="invalid symbol 'INVALID': expected BASE/QUOTE"):
        LiveSessionConfig(symbol="INVALID")


def test_a_symbol_is_kept_as_base_slash_quote_in_upper_case() -> None:
    # the run id, the journal and the exchange's pair all read it so: btc/eur is BTC/EUR
    assert LiveSessionConfig(symbol="btc/eur ").symbol == "BTC/EUR"


def test_config_empty_strategy_rejected() -> None:
    with pytest.raises(ValueError, match="strategy_key must not be empty"):
        LiveSessionConfig(strategy_key="")


def test_config_invalid_position_fraction_rejected() -> None:
    with pytest.raises(ValueError, match=r"position_fraction must be in \(0, 1\], was 1.5"):
        LiveSessionConfig(position_fraction=1.5)


def test_config_generate_run_id() -> None:
    moment = datetime(2025, 12, 8, 14, 30, 5, tzinfo=UTC)
    run_id = LiveSessionConfig().generate_run_id(moment)
    assert run_id.startswith("shadow_ma_crossover_20251208_143005_")
    assert len(run_id) == len("shadow_ma_crossover_20251208_143005_") + 8
    assert LiveSessionConfig().generate_run_id(moment) != run_id


def test_config_custom_run_id() -> None:
    assert LiveSessionConfig(run_id="my_custom_run_id").generate_run_id() == "my_custom_run_id"


def test_config_to_dict() -> None:
    data = LiveSessionConfig().to_dict()
    assert {
        "mode": "shadow",
        "strategy_key": "ma_crossover",
        "symbol": "BTC/EUR",
        "timeframe": "1m",
        "warmup_candles": 200,
        "position_fraction": 0.1,
        "poll_interval_seconds": 60.0,
        "fee_rate": 0.001,
        "slippage_bps": 5.0,
        "start_balance": 10_000.0,
        "enable_risk_limits": True,
        "enable_logging": True,
        "run_id": None,
        "config_path": "config/config.toml",
    }.items() <= data.items()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timeframe": "2m"}, "invalid timeframe '2m': expected one of 1m, 5m"),
        ({"fee_rate": 0.1}, r"fee_rate must be in \[0, 0.1\), was 0.1"),
        ({"fee_rate": -0.001}, r"fee_rate must be in \[0, 0.1\), was -0.001"),
        ({"slippage_bps": 1001.0}, r"slippage_bps must be in \[0, 1000\], was 1001.0"),
        ({"warmup_candles": -1}, r"warmup_candles must be in \[0, 100,000\] \(every warmup"),
        ({"warmup_candles": 100_001}, r"warmup_candles must be in \[0, 100,000\].*was 100001"),
        ({"poll_interval_seconds": 0.0}, "poll_interval_seconds must be > 0, was 0.0"),
        ({"start_balance": 0.0}, r"start_balance must be > 0 and at most 1e12 \(.*\), was 0.0$"),
        ({"start_balance": 1e300}, r"start_balance must be > 0 and at most 1e12 .*, was 1e\+300"),
        ({"data_source": "binance"}, "invalid data_source 'binance'"),
        ({"data_source": "replay"}, "data_source 'replay' needs data_path"),
        ({"seed": -1}, "seed must be a whole number from 0 to 9223372036854775807, was -1"),
        ({"seed": 2**63}, "seed must be a whole number from 0 to 9223372036854775807, was 9"),
        ({"fill_price": "mid"}, "invalid fill_price 'mid'"),
        (
            {"fill_price": "book", "data_source": "synthetic"},
            "fill_price 'book' prices fills "
            "from Kraken's order book; it needs data_source 'kraken'",
        ),
        ({"max_consecutive_errors": 0}, r"max_consecutive_errors must be in \[1, 1,000,000,0"),
        ({"max_consecutive_errors": 10**13}, r"max_consecutive_errors must be in \[1, 1,000,"),
        ({"run_id": "../escape"}, "run_id may hold letters, digits"),
        ({"position_fraction": float("nan")}, r"position_fraction must be in \(0, 1\]"),
        (
            {"slippage_bps": 5.000000000000001},
            r"slippage_bps has too many decimal places \(5.000000000000001\); at most 14",
        ),
        ({"fee_rate": 1e-19}, r"fee_rate has too many decimal places \(1E-19\); at most 18"),
        (
            {"position_fraction": 1e-19},
            r"position_fraction has too many decimal places \(1E-19\); at most 18",
        ),
    ],
)
def test_config_rejects_bad_values_with_what_was_expected(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        LiveSessionConfig(**changes)  # type: ignore[arg-type]


def test_config_live_check_comes_first() -> None:
    with pytest.raises(LiveModeNotAllowedError):
        LiveSessionConfig(mode="live", symbol="INVALID", position_fraction=5.0)


def test_any_text_becomes_a_run_id_the_config_accepts() -> None:
    run_id = run_id_from("sweep_price_col-high_bb_std-0.5 x/y")

    assert run_id == "sweep_price_col-high_bb_std-0.5-x-y"
    assert LiveSessionConfig(run_id=run_id).run_id == run_id


def test_a_text_too_long_for_a_run_id_is_cut_and_keeps_a_digest_of_the_whole() -> None:
    first, second = run_id_from("sweep_" + "a" * 200 + "1"), run_id_from("sweep_" + "a" * 200 + "2")
    assert len(first) == len(second) == 128
    assert first.startswith("sweep_aaa")
    assert first != second
    assert LiveSessionConfig(run_id=first).run_id == first
    assert run_id_from("sweep_fast window=10") == "sweep_fast-window-10"
