"""Typed sections of `config/config.toml`: frozen, unknown keys forbidden."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from peak_trade.core.strategy_params import StrategySections

__all__ = [
    "AlertsSection",
    "ConfigRoot",
    "EnvironmentSection",
    "ExchangeSection",
    "InstrumentRules",
    "KrakenSection",
    "LiveRiskSection",
    "Section",
    "ShadowSection",
    "StrategiesSection",
]

# Money limits stay within what the ledger keeps exact (28 digits, 12 of them decimals).
MAX_MONEY = 1e15
Money = Annotated[float, Field(gt=0, le=MAX_MONEY)]
Percent = Annotated[float, Field(gt=0, le=100)]
Seconds = Annotated[float, Field(gt=0, le=3600)]


def _named(text: str) -> str:
    if not text.strip():
        raise ValueError(f"expected a name, found {text!r} (leave the key out for its default)")
    return text


# A name, path or address: text that is not empty or blank (Path("") would be the folder).
Name = Annotated[str, AfterValidator(_named)]


_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _exchange_url(text: str) -> str:
    """An https:// address; plain http only on this machine (the loopback emulator): the
    API key and signed requests must not cross a network unencrypted."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an https:// URL such as https://api.kraken.com, found {text!r}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise ValueError(
            f"expected https:// for {parts.hostname}, found {text!r}: plain http is only for an "
            "exchange emulator on this machine (127.0.0.1 or localhost)"
        )
    return text


ExchangeUrl = Annotated[str, AfterValidator(_exchange_url)]


class Section(BaseModel):
    """Base of every config section."""

    # inf and nan are refused wherever a number is read: a limit or a wait must be finite
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class EnvironmentSection(Section):
    """`[environment]`: which kind of environment this config describes. Live is never allowed."""

    mode: Literal["paper", "testnet"] = "paper"
    enable_live_trading: Literal[False] = False
    require_confirm_token: bool = True
    testnet_dry_run: Literal[True] = True
    log_all_orders: bool = True


class LiveRiskSection(Section):
    """`[live_risk]`: pre-trade limits applied to every order; an absent limit is not checked."""

    enabled: bool = True
    base_currency: Name = "EUR"
    max_order_notional: Money | None = None
    max_symbol_exposure_notional: Money | None = None
    max_total_exposure_notional: Money | None = None
    max_open_positions: Annotated[int, Field(gt=0, le=1_000_000)] | None = None
    max_daily_loss_abs: Money | None = None
    max_daily_loss_pct: Percent | None = None
    max_drawdown_pct: Percent | None = None
    block_on_violation: bool = True
    kill_switch_file: Name | None = None
    # Kept so configs written for the original load; the daily PnL always comes from the
    # session's own ledger, never from an experiments registry.
    use_experiments_for_daily_pnl: bool = False


class ShadowSection(Section):
    """`[shadow]`: how simulated fills are priced."""

    fee_rate: Annotated[float, Field(ge=0, lt=0.1)] = 0.001
    slippage_bps: Annotated[float, Field(ge=0, le=1000)] = 5.0
    fill_price: Literal["next_open", "close", "book"] = "next_open"
    allow_short: bool = False


class KrakenSection(Section):
    """`[exchange.kraken]`: Kraken REST access; keys are read from the named variables only."""

    base_url: ExchangeUrl = "https://api.kraken.com"
    api_key_env_var: Name = "KRAKEN_TESTNET_API_KEY"
    api_secret_env_var: Name = "KRAKEN_TESTNET_API_SECRET"  # noqa: S105 (a variable name, not a secret)
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0
    max_retries: Annotated[int, Field(ge=0, le=20)] = 3
    rate_limit_ms: Annotated[int, Field(ge=0, le=60_000)] = 1000
    backoff_seconds: Seconds = 1.0
    close_delay_seconds: Annotated[float, Field(ge=0, le=60)] = 2.0
    stale_after_seconds: Annotated[float, Field(gt=0, le=7 * 86_400)] | None = 180.0
    nonce_file: Name = "journal/kraken.nonce"


class ExchangeSection(Section):
    """`[exchange]`: one sub-table per exchange."""

    kraken: KrakenSection = KrakenSection()


class StrategiesSection(Section):
    """`[strategies]`: where user strategy files are (relative to the config file's folder)."""

    paths: list[Annotated[str, Field(min_length=1)]] = []


class AlertsSection(Section):
    """`[alerts]`: where a session's warnings, start and stop are sent. Addresses and tokens
    are secrets: the config names the environment variables that hold them, never the values."""

    webhook_url_env_var: Name | None = None  # a Slack- or Discord-compatible incoming webhook
    telegram_token_env_var: Name | None = None
    telegram_chat_id_env_var: Name | None = None
    telegram_api_url: ExchangeUrl = "https://api.telegram.org"
    min_interval_seconds: Annotated[float, Field(ge=0, le=86_400)] = 60.0  # per kind of alert
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0


class InstrumentRules(Section):
    """`[instruments."BASE/QUOTE"]`: an instrument's rules where no exchange or file gives
    them: its price and lot steps as decimals, its minimum order size and cost."""

    price_decimals: Annotated[int, Field(ge=0, le=18)]
    lot_decimals: Annotated[int, Field(ge=0, le=18)]
    min_order_size: Annotated[float, Field(ge=0, le=MAX_MONEY)] = 0.0
    min_order_cost: Annotated[float, Field(ge=0, le=MAX_MONEY)] = 0.0


class ConfigRoot(Section):
    """The whole config file."""

    environment: EnvironmentSection = EnvironmentSection()
    live_risk: LiveRiskSection = LiveRiskSection()
    shadow: ShadowSection = ShadowSection()
    exchange: ExchangeSection = ExchangeSection()
    strategies: StrategiesSection = StrategiesSection()
    strategy: StrategySections = StrategySections()
    instruments: dict[str, InstrumentRules] = {}
    alerts: AlertsSection = AlertsSection()
