"""The one place that picks concrete classes: venue, guard, limits and engine for a mode, and
the strategy, feed and engine a session config asks for (`assemble`).

The Kraken modules (and ccxt behind them, about 60 MiB and a quarter second) and the replay
reader (pandas) are imported where a session asks for them, so a backtest on synthetic bars
loads neither.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peak_trade.compiled.trader import BatchTrader
from peak_trade.core.clock import Clock, SystemClock
from peak_trade.core.config_schema import LiveRiskSection
from peak_trade.core.decimal_text import DIGITS
from peak_trade.core.errors import ConfigError, LiveModeNotAllowedError
from peak_trade.core.files import unwritable
from peak_trade.core.home import in_home
from peak_trade.core.modes import TradingEnvironment
from peak_trade.core.money import decimal_places, to_decimal
from peak_trade.core.peak_config import PeakConfig
from peak_trade.core.timerange import parse_timerange
from peak_trade.core.types import Instrument, Timeframe, parse_symbol
from peak_trade.data.instruments import SNAPSHOT_TAKEN, snapshot_instrument
from peak_trade.data.ports import CandleFeed
from peak_trade.data.synthetic import synthetic_feed
from peak_trade.engine.bar_engine import TradingEngine
from peak_trade.engine.pipeline import ExecutionPipeline
from peak_trade.live.risk_limits import LiveRiskLimits
from peak_trade.live.risk_rules import RiskLimitsConfig
from peak_trade.live.safety import SafetyGuard
from peak_trade.orders.kernels import rate_steps
from peak_trade.orders.ports import Venue
from peak_trade.orders.shadow import FillPrice, OrderBook, ShadowOrderExecutor
from peak_trade.orders.sizing import SizingRules
from peak_trade.portfolio.ledger import Ledger
from peak_trade.session.config import LiveSessionConfig
from peak_trade.strategies.base import Strategy
from peak_trade.strategies.registry import create_strategy_from_config

if TYPE_CHECKING:
    from peak_trade.kraken.market import KrakenMarket
    from peak_trade.kraken.parsing import Level

__all__ = [
    "EngineSettings",
    "assemble",
    "build_engine",
    "build_feed",
    "check_bars",
    "check_warmup",
    "engine_settings",
    "instrument_of",
    "journaled_limits",
    "kraken_market",
    "limits_from",
]


WIDE_DIGITS = 38  # the digits a 128-bit integer holds in full (core.wide)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """What the engine needs beyond the config file."""

    mode: TradingEnvironment
    instrument: Instrument
    start_balance: Decimal
    position_fraction: Decimal
    fee_rate: Decimal
    slippage_bps: Decimal
    fill_price: FillPrice = "next_open"
    allow_short: bool = False
    enable_risk_limits: bool = True

    def __post_init__(self) -> None:
        """Refuse a balance and rates whose money would need more digits than are kept exact:
        a fee has the lot's, the price's and the fee rate's decimals, on a balance that may
        grow a hundredfold; Decimal keeps 28 digits, and sizing multiplies that by the
        position fraction within 38."""
        instrument = self.instrument
        fee_places = decimal_places(self.fee_rate)
        places = instrument.lot_decimals + instrument.price_decimals + fee_places
        whole = len(str(int(self.start_balance * 100)))
        fraction = len(str(rate_steps("position_fraction", self.position_fraction)[0]))
        digits = whole + places
        if digits > DIGITS:
            problem = f"more than the {DIGITS} the ledger keeps exact"
        elif digits + fraction > WIDE_DIGITS:
            problem = f"and sizing needs {fraction} more for the fraction: over {WIDE_DIGITS}"
        else:
            return
        raise ConfigError(
            f"start_balance {self.start_balance} with fee_rate {self.fee_rate} ({fee_places} "
            f"decimals) and position_fraction {self.position_fraction} needs amounts of "
            f"{digits} digits ({places} decimals: {instrument.symbol} lots have "
            f"{instrument.lot_decimals} and prices {instrument.price_decimals}), {problem}; "
            "use a fee_rate with fewer decimals, a position_fraction with fewer digits or a "
            "smaller start_balance"
        )


def build_engine(
    strategy: Strategy[Any],
    settings: EngineSettings,
    cfg: PeakConfig,
    market: KrakenMarket | None = None,
    *,
    account: tuple[Ledger, LiveRiskLimits | None] | None = None,
) -> TradingEngine:
    """Assemble ledger, venue, SafetyGuard, LiveRiskLimits, pipeline and engine for a mode;
    a portfolio's leg trades from the `account` (ledger and limits) its legs share, bar by
    bar (the compiled loop trades one symbol alone)."""
    if settings.mode is TradingEnvironment.LIVE:
        raise LiveModeNotAllowedError(
            "mode 'live' is not allowed; Peak Trade never sends real orders"
        )
    shared = account is not None
    if account is None:
        risk = _risk_limits(cfg, settings.instrument) if settings.enable_risk_limits else None
        account = (Ledger(settings.start_balance, currency=settings.instrument.quote), risk)
    ledger, risk = account
    book = None
    if settings.fill_price == "book":
        if market is None:
            raise ConfigError(
                "fill_price 'book' prices fills from Kraken's order book; it needs --data kraken"
            )
        book = _order_book(market)
    shadow = ShadowOrderExecutor(
        settings.instrument,
        ledger,
        settings.fee_rate,
        settings.slippage_bps,
        settings.fill_price,
        settings.allow_short,
        order_book=book,
    )
    venue: Venue = shadow
    if settings.mode is TradingEnvironment.TESTNET:
        if market is None:
            raise ConfigError("testnet mode needs a Kraken market to validate orders with")
        from peak_trade.orders.kraken_testnet import KrakenTestnetVenue

        venue = KrakenTestnetVenue(market, shadow)
    guard = SafetyGuard(settings.mode)
    pipeline = ExecutionPipeline(venue, settings.mode, guard, risk)
    rules = SizingRules(
        settings.instrument,
        settings.position_fraction,
        settings.allow_short,
        settings.fee_rate,
        settings.slippage_bps,
    )
    loops = None if shared else BatchTrader.for_engine
    return TradingEngine(strategy, pipeline, ledger, rules, batch_loops=loops)


def check_bars(config: LiveSessionConfig) -> None:
    """Refuse a count of synthetic bars that the warmup would take all of."""
    bars, warmup = config.synthetic_bars, config.warmup_candles
    if config.data_source == "synthetic" and bars is not None and bars <= warmup:
        raise ConfigError(
            f"{bars} synthetic bars leave none to trade after the warmup of {warmup} (the bars "
            f"include the warmup); use --bars {warmup + 1} or more"
        )


def check_warmup(config: LiveSessionConfig, strategy: Strategy[Any]) -> None:
    """Refuse a warmup too short for the strategy, or one that takes every synthetic bar."""
    check_bars(config)
    if config.warmup_candles < strategy.required_bars:
        raise ConfigError(
            f"warmup_candles {config.warmup_candles} is fewer than the {strategy.required_bars} "
            f"bars {config.strategy_key} needs before it can act; use --warmup-candles "
            f"{strategy.required_bars} or more"
        )


def instrument_of(config: LiveSessionConfig, cfg: PeakConfig | None = None) -> Instrument:
    """Return the instrument rules a run without an exchange trades by: those its candle file
    carries (written by `peak-trade download`), else `[instruments."BASE/QUOTE"]` in the
    config (the user's word over the snapshot's), else Kraken's AssetPairs snapshot shipped
    with the package; a ConfigError naming these ways when there are none, never a guess."""
    symbol = "/".join(parse_symbol(config.symbol))
    if config.data_source == "replay" and config.data_path is not None:
        from peak_trade.data.candle_files import read_meta  # pandas: only for a file

        meta = read_meta(Path(config.data_path))
        rules = meta.instrument() if meta is not None else None
        if rules is not None and rules.symbol == symbol:
            return rules
    given = (cfg or PeakConfig.default()).instruments.get(symbol)
    if given is not None:
        base, quote = parse_symbol(symbol)
        return Instrument(
            symbol,
            base,
            quote,
            given.price_decimals,
            given.lot_decimals,
            to_decimal(given.min_order_size),
            to_decimal(given.min_order_cost),
        )
    offline = snapshot_instrument(symbol)
    if offline is None and config.data_source == "kraken":
        # Kraken's AssetPairs replace these at the warmup, before any order (`use_instrument`)
        base, quote = parse_symbol(symbol)
        return Instrument(symbol, base, quote, 8, 8, Decimal(0), Decimal(0))
    if offline is None:
        raise ConfigError(
            f"no instrument rules for {symbol} (its price and lot steps, minimum order size "
            f"and cost): Kraken's AssetPairs snapshot ({SNAPSHOT_TAKEN}) does not list it; give "
            f'them in [instruments."{symbol}"] in the config, replay a file `peak-trade '
            "download` wrote (it carries them), or trade it with --data kraken"
        )
    return offline


_FILL_PRICES: dict[str, FillPrice] = {"next_open": "next_open", "close": "close", "book": "book"}


def engine_settings(config: LiveSessionConfig, cfg: PeakConfig | None = None) -> EngineSettings:
    """Return the engine settings a session config asks for."""
    return EngineSettings(
        mode=TradingEnvironment(config.mode),
        instrument=instrument_of(config, cfg),
        start_balance=to_decimal(config.start_balance),
        position_fraction=to_decimal(config.position_fraction),
        fee_rate=to_decimal(config.fee_rate),
        slippage_bps=to_decimal(config.slippage_bps),
        fill_price=_FILL_PRICES[config.fill_price],
        allow_short=config.allow_short,
        enable_risk_limits=config.enable_risk_limits,
    )


def assemble(
    config: LiveSessionConfig, cfg: PeakConfig, clock: Clock
) -> tuple[TradingEngine, CandleFeed]:
    """Build the strategy, feed and engine a session config asks for (no network yet)."""
    strategy = create_strategy_from_config(config.strategy_key, cfg)
    check_warmup(config, strategy)
    market = None
    if config.data_source == "kraken" or config.mode == "testnet":
        market = kraken_market(cfg, config.symbol, with_keys=config.mode == "testnet")
    settings = engine_settings(config, cfg)
    feed = build_feed(
        config.data_source,
        config.symbol,
        Timeframe(config.timeframe),
        seed=config.seed,
        data_path=config.data_path,
        bars=config.synthetic_bars,
        market=market,
        cfg=cfg,
        clock=clock,
        timerange=config.timerange,
        price_decimals=settings.instrument.price_decimals,
    )
    return build_engine(strategy, settings, cfg, market), feed


def _order_book(market: KrakenMarket) -> OrderBook:
    from peak_trade.kraken.parsing import parse_depth

    def read() -> tuple[list[Level], list[Level]]:
        return parse_depth(market.client.depth(market.pair_id, 100))

    return read


def kraken_market(cfg: PeakConfig, symbol: str, *, with_keys: bool) -> KrakenMarket:
    """Return the Kraken pair of a session; with keys (from the environment) for testnet."""
    from peak_trade.kraken.client import KrakenClient
    from peak_trade.kraken.market import KrakenMarket
    from peak_trade.kraken.nonce import NonceStore

    section = cfg.exchange.kraken
    key = secret = None
    store = None
    if with_keys:
        key = os.environ.get(section.api_key_env_var, "").strip()
        secret = os.environ.get(section.api_secret_env_var, "").strip()
        if not key or not secret:
            raise ConfigError(
                f"testnet mode needs the Kraken API key in ${section.api_key_env_var} and its "
                f"secret in ${section.api_secret_env_var} (environment variables, or a .env "
                "file in the working directory)"
            )
        try:
            base64.b64decode(secret, validate=True)
        except binascii.Error:  # said without the secret: it must never reach a message
            raise ConfigError(
                f"${section.api_secret_env_var} is not base64 text, as Kraken's API secrets are; "
                "copy it again from Kraken (the whole secret, without quotes or spaces)"
            ) from None
        store = NonceStore(_checked_nonce_file(in_home(section.nonce_file)))
    client = KrakenClient(
        section.base_url, section.timeout_seconds, api_key=key, api_secret=secret, nonce_store=store
    )
    return KrakenMarket(client, symbol)


def _checked_nonce_file(path: Path) -> Path:
    """Return `path` if the nonce can be kept there; a ConfigError now, not at the first order."""
    try:
        if path.exists():
            blocked = None if path.is_file() and os.access(path, os.W_OK) else path
        else:
            blocked = unwritable(path.parent)
    except OSError as error:  # a name too long for the file system, a loop of links
        raise ConfigError(f"cannot keep nonces in {path}: {error.strerror or error}") from None
    if blocked is not None:
        raise ConfigError(
            f"cannot keep nonces in {path} ([exchange.kraken] nonce_file): {blocked} is not "
            "a writable file or folder"
        )
    return path


def _risk_limits(cfg: PeakConfig, instrument: Instrument) -> LiveRiskLimits:
    config, kill_switch = limits_from(cfg.live_risk)
    if config.enabled and config.base_currency.upper() != instrument.quote:
        raise ConfigError(
            f"live_risk.base_currency is {config.base_currency!r}, but {instrument.symbol} is "
            f"priced in {instrument.quote}: the limits would compare {instrument.quote} amounts "
            f"as if they were {config.base_currency} (nothing converts them); set "
            f"base_currency = {instrument.quote!r} in {cfg.path or 'the config'}"
        )
    return LiveRiskLimits(config, kill_switch=kill_switch)


def limits_from(
    section: LiveRiskSection,
) -> tuple[RiskLimitsConfig, Callable[[], bool] | None]:
    """Return the limits of a `[live_risk]` section and its kill switch (None without a file)."""
    config = RiskLimitsConfig.from_section(section)
    kill_switch = in_home(config.kill_switch_file).exists if config.kill_switch_file else None
    return config, kill_switch


def journaled_limits(
    live_risk: Mapping[str, Any], *, kill_switch: bool = True
) -> tuple[RiskLimitsConfig, Callable[[], bool] | None]:
    """Return the limits of a `[live_risk]` section as a `risk_limits` event journals it,
    without its kill switch if `kill_switch` is False."""
    values = dict(live_risk) if kill_switch else {**live_risk, "kill_switch_file": None}
    return limits_from(LiveRiskSection.model_validate(values))


def build_feed(
    source: str,
    symbol: str,
    timeframe: Timeframe,
    *,
    seed: int = 7,
    data_path: str | None = None,
    bars: int | None = None,
    market: KrakenMarket | None = None,
    cfg: PeakConfig | None = None,
    clock: Clock | None = None,
    timerange: str | None = None,
    price_decimals: int | None = None,
) -> CandleFeed:
    """Return the candle feed of a session: synthetic, replay (the part of the file in
    `timerange`, if given) or Kraken."""
    if source == "synthetic":
        decimals = 1 if price_decimals is None else price_decimals  # BTC/EUR's 0.1
        return synthetic_feed(symbol, timeframe, seed=seed, bars=bars, price_decimals=decimals)
    if source == "replay":
        if not data_path:
            raise ConfigError("--data replay needs --data-path FILE (a CSV or Parquet file)")
        from peak_trade.data.replay import replay_feed

        span = None if timerange is None else parse_timerange(timerange)
        return replay_feed(data_path, symbol, timeframe, span, price_decimals)
    if source == "kraken":
        from peak_trade.data.kraken_live import KrakenLiveCandleSource

        settings = (cfg or PeakConfig.default()).exchange.kraken
        return KrakenLiveCandleSource(
            market or kraken_market(cfg or PeakConfig.default(), symbol, with_keys=False),
            timeframe,
            clock or SystemClock(),
            max_retries=settings.max_retries,
            backoff_seconds=settings.backoff_seconds,
            close_delay_seconds=settings.close_delay_seconds,
            history_path=data_path,
        )
    raise ConfigError(f"unknown data source {source!r}: expected synthetic, replay or kraken")
