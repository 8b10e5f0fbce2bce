"""Config loading and validation: each error names the key, what was expected, what was found."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from peak_trade.core.errors import ConfigError, LiveModeNotAllowedError
from peak_trade.core.home import HOME_ENV_VAR, in_home
from peak_trade.core.peak_config import CONFIG_PATH_ENV_VAR, PeakConfig, load_config

SHIPPED = Path(__file__).parents[3] / "config" / "config.toml"


def _error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        PeakConfig.from_mapping(data)
    return str(caught.value)


def test_shipped_config_loads_with_its_documented_values() -> None:
    cfg = load_config(SHIPPED)
    assert cfg.environment.mode == "paper"
    assert cfg.live_risk.max_order_notional == 2000.0
    assert cfg.shadow.fee_rate == 0.001
    assert cfg.shadow.fill_price == "next_open"
    assert cfg.strategy.ma_crossover.fast_window == 20
    assert cfg.exchange.kraken.api_key_env_var == "KRAKEN_TESTNET_API_KEY"


def test_get_reads_dotted_keys_with_defaults_filled_in() -> None:
    cfg = PeakConfig.from_mapping({"live_risk": {"max_order_notional": 25.0}})
    assert cfg.get("live_risk.max_order_notional") == 25.0
    assert cfg.get("strategy.macd.slow_ema") == 26
    assert cfg.get("live_risk.max_open_positions", 3) == 3
    assert cfg.get("no.such.key", "fallback") == "fallback"
    assert cfg.get("shadow.fee_rate.deeper", "x") == "x"


def test_misspelt_strategy_parameter_gets_a_hint() -> None:
    message = _error({"strategy": {"ma_crossover": {"fast_period": 10}}})
    assert message == "strategy.ma_crossover.fast_period: unknown key; did you mean 'fast_window'?"


def test_unknown_section_gets_a_hint() -> None:
    assert _error({"shadw": {}}) == "shadw: unknown key; did you mean 'shadow'?"


def test_unknown_strategy_table_gets_a_hint_when_a_strategy_is_built() -> None:
    # a table of another name may belong to a user strategy whose file loads later, so the
    # config loads; building any strategy then refuses the table that names none
    from peak_trade.strategies.registry import create_strategy_from_config

    cfg = PeakConfig.from_mapping({"strategy": {"rsi_reverson": {}}})
    with pytest.raises(ConfigError) as caught:
        create_strategy_from_config("ma_crossover", cfg)
    assert str(caught.value).startswith(
        "[strategy.rsi_reverson] names no strategy; did you mean 'rsi_reversion'?"
    )


def test_unknown_key_without_close_match_lists_the_keys_of_its_table() -> None:
    assert _error({"shadow": {"fee": 0.1}}) == (
        "shadow.fee: unknown key; expected one of fee_rate, slippage_bps, fill_price, allow_short"
    )
    message = _error({"strategy": {"ma_crossover": {"fast": 5}}})
    assert message.startswith(
        "strategy.ma_crossover.fast: unknown key; expected one of fast_window, slow_window"
    )


def test_the_exchange_address_must_be_https_except_on_this_machine() -> None:
    def url(base_url: str) -> str:
        return _error({"exchange": {"kraken": {"base_url": base_url}}})

    assert url("api.kraken.com") == (
        "exchange.kraken.base_url: expected an https:// URL such as https://api.kraken.com, "
        "found 'api.kraken.com'"
    )
    assert url("http://api.kraken.com") == (
        "exchange.kraken.base_url: expected https:// for api.kraken.com, found "
        "'http://api.kraken.com': plain http is only for an exchange emulator on this machine "
        "(127.0.0.1 or localhost)"
    )
    for fine in ("https://api.kraken.com", "http://127.0.0.1:8123", "http://localhost:9000"):
        config = PeakConfig.from_mapping({"exchange": {"kraken": {"base_url": fine}}})
        assert config.exchange.kraken.base_url == fine


def test_wrong_type_names_expected_and_found() -> None:
    message = _error({"strategy": {"ma_crossover": {"fast_window": 2.5}}})
    assert message == "strategy.ma_crossover.fast_window: expected an integer, found 2.5"
    assert _error({"live_risk": {"enabled": "yes"}}) == (
        "live_risk.enabled: expected true or false, found 'yes'"
    )
    assert _error({"strategy": 5}) == "strategy: expected a table, found 5"


def test_out_of_range_value_names_the_bound() -> None:
    assert (
        _error({"shadow": {"fee_rate": 0.5}})
        == "shadow.fee_rate: expected a number < 0.1, found 0.5"
    )
    assert _error({"shadow": {"slippage_bps": -1.0}}) == (
        "shadow.slippage_bps: expected a number >= 0.0, found -1.0"
    )
    assert _error({"live_risk": {"max_order_notional": -1}}) == (
        "live_risk.max_order_notional: expected a number > 0.0, found -1"
    )


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("live_risk", "kill_switch_file"),
        ("live_risk", "base_currency"),
        ("exchange.kraken", "nonce_file"),
        ("exchange.kraken", "api_key_env_var"),
    ],
)
@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_name_is_refused_rather_than_read_as_the_current_folder(
    section: str, key: str, blank: str
) -> None:
    # a blank kill_switch_file meant no kill switch, silently; a blank nonce_file, the folder
    data: dict[str, Any] = {key: blank}
    for part in reversed(section.split(".")):
        data = {part: data}
    assert _error(data) == (
        f"{section}.{key}: expected a name, found {blank!r} (leave the key out for its default)"
    )


def test_choice_lists_the_allowed_values() -> None:
    assert _error({"shadow": {"fill_price": "mid"}}) == (
        "shadow.fill_price: expected one of 'next_open', 'close' or 'book', found 'mid'"
    )


def test_cross_field_rule_names_both_values() -> None:
    assert _error({"strategy": {"ma_crossover": {"fast_window": 60}}}) == (
        "strategy.ma_crossover: fast_window must be < slow_window, "
        "was fast_window=60, slow_window=50"
    )
    assert _error({"strategy": {"trend_following": {"exit_threshold": 30.0}}}) == (
        "strategy.trend_following: exit_threshold must be < adx_threshold, "
        "was exit_threshold=30.0, adx_threshold=25.0"
    )


@pytest.mark.parametrize(
    ("section", "data", "fragment"),
    [
        ("rsi_reversion", {"lower": 80.0}, "lower must be < upper"),
        ("macd", {"fast_ema": 30}, "fast_ema must be < slow_ema"),
        ("mean_reversion", {"entry_threshold": 1.0}, "entry_threshold must be < exit_threshold"),
        ("momentum_1h", {"entry_threshold": -0.05}, "entry_threshold must be > exit_threshold"),
        ("bollinger_bands", {"entry_threshold": 1.5}, "expected a number <= 1.0, found 1.5"),
        ("breakout", {"risk_mode": "both"}, "expected one of 'symmetric', 'long_only' or"),
    ],
)
def test_strategy_parameter_rules(section: str, data: dict[str, Any], fragment: str) -> None:
    message = _error({"strategy": {section: data}})
    assert message.startswith(f"strategy.{section}")
    assert fragment in message


def test_live_environment_is_refused_at_the_config_layer() -> None:
    with pytest.raises(LiveModeNotAllowedError, match=r"environment\.mode: 'live' is not allowed"):
        PeakConfig.from_mapping({"environment": {"mode": "live"}})
    with pytest.raises(LiveModeNotAllowedError, match="enable_live_trading: true is not allowed"):
        PeakConfig.from_mapping({"environment": {"enable_live_trading": True}})
    assert _error({"environment": {"testnet_dry_run": False}}) == (
        "environment.testnet_dry_run: expected one of true, found False"
    )


def test_missing_file_names_the_resolved_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=f"config file not found: {missing} \\(from the given"):
        load_config(missing)


def test_a_folder_given_as_the_config_file_is_named_as_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"config file is a folder: {tmp_path} \\(from the giv"):
        load_config(tmp_path)


def test_environment_variable_picks_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "alt.toml"
    path.write_text("[shadow]\nfee_rate = 0.002\n")
    monkeypatch.setenv(CONFIG_PATH_ENV_VAR, str(path))
    cfg = load_config()
    assert cfg.shadow.fee_rate == 0.002
    assert cfg.path == path


def test_the_default_config_is_the_home_folders_nearest_upwards(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CONFIG_PATH_ENV_VAR, raising=False)
    monkeypatch.delenv(HOME_ENV_VAR, raising=False)
    below = tmp_path / "a" / "b"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)
    with pytest.raises(ConfigError, match=r"no config.toml in .*b \(or a folder above it\)"):
        load_config()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("[shadow]\nslippage_bps = 1.0\n")
    assert load_config().shadow.slippage_bps == 1.0  # a clone of the repository, above
    (tmp_path / "a" / "config.toml").write_text("[shadow]\nslippage_bps = 2.0\n")
    assert load_config().shadow.slippage_bps == 2.0  # a folder init made, nearer
    monkeypatch.setenv(HOME_ENV_VAR, str(tmp_path))
    assert load_config().shadow.slippage_bps == 1.0  # $PEAK_TRADE_HOME first
    assert in_home("journal/x.sqlite") == tmp_path / "journal" / "x.sqlite"
    assert in_home("/abs/x") == Path("/abs/x")


def test_invalid_toml_names_file_and_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[shadow\nfee_rate = 1\n")
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML: .*line 1"):
        load_config(path)


def test_error_in_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[shadow]\nfee_rat = 0.1\n")
    with pytest.raises(
        ConfigError, match=rf"shadow.fee_rat: unknown key; did you mean 'fee_rate'\? in {path}"
    ):
        load_config(path)


def test_config_is_frozen() -> None:
    cfg = PeakConfig.default()
    with pytest.raises(ValueError, match="frozen"):
        cfg.shadow.fee_rate = 0.5  # type: ignore[misc]


def test_non_utf8_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b"[shadow]\n# Geb\xfchr\nfee_rate = 0.001\n")
    with pytest.raises(ConfigError, match=r"latin.toml: not UTF-8 text"):
        load_config(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"live_risk": {"max_order_notional": math.inf}},
            "live_risk.max_order_notional: expected a finite number, found inf",
        ),
        (
            {"live_risk": {"max_daily_loss_abs": math.nan}},
            "live_risk.max_daily_loss_abs: expected a finite number, found nan",
        ),
        (
            {"exchange": {"kraken": {"timeout_seconds": math.inf}}},
            "exchange.kraken.timeout_seconds: expected a finite number, found inf",
        ),
        (
            {"exchange": {"kraken": {"backoff_seconds": math.inf}}},
            "exchange.kraken.backoff_seconds: expected a finite number, found inf",
        ),
        (
            {"live_risk": {"max_open_positions": 2**64}},
            "live_risk.max_open_positions: expected a number <= 1000000, "
            "found 18446744073709551616",
        ),
        (
            {"strategy": {"ma_crossover": {"slow_window": 100_000_000_000}}},
            "strategy.ma_crossover.slow_window: expected a number <= 100000, found 100000000000",
        ),
        (
            {"live_risk": {"max_total_exposure_notional": 1e300}},
            "live_risk.max_total_exposure_notional: expected a number <= 1000000000000000.0, "
            "found 1e+300",
        ),
    ],
)
def test_numbers_that_cannot_be_held_are_refused_when_the_config_loads(
    data: dict[str, Any], message: str
) -> None:
    assert _error(data) == message
