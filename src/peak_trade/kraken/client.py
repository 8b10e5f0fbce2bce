"""The Kraken REST client: ccxt's HTTP, signing and parsing, with two guards of our own.

1. Every private request passes ccxt's `sign()`, and ours refuses anything but an AddOrder
   with validate=true before a byte leaves. No code path can place an order.
2. ccxt's errors are mapped once, here, to Peak Trade's error tree; messages carry Kraken's
   error text and the endpoint, never a key, a secret or a signature.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import ccxt

from peak_trade.core.errors import (
    InvariantError,
    VenueError,
    VenueUnavailableError,
)
from peak_trade.kraken.nonce import NonceStore
from peak_trade.kraken.parsing import error_class

__all__ = ["USER_AGENT", "KrakenClient"]

USER_AGENT = "PeakTrade/0.1 (shadow-testnet-runner)"


class _GuardedKraken(ccxt.kraken):  # type: ignore[misc]
    """ccxt's Kraken that signs only validate-only AddOrder requests, with our nonce."""

    nonce_source: Callable[[], int] | None = None

    def sign(
        self,
        path: str,
        api: Any = "public",
        method: str = "GET",
        params: dict[str, Any] | None = None,
        headers: Any = None,
        body: Any = None,
    ) -> Any:
        params = params or {}
        section = api[0] if isinstance(api, list) else api
        # exactly Kraken's documented `validate=true`, as text: any other spelling might be
        # read by the exchange as no validate at all, which places the order
        if section == "private" and not (path == "AddOrder" and params.get("validate") == "true"):
            raise InvariantError(
                f"refused to sign private {path} without validate=true: "
                "Peak Trade never places real orders"
            )
        return super().sign(path, api, method, params)

    def nonce(self) -> int:
        if self.nonce_source is None:
            raise InvariantError("no nonce source configured for private calls")
        return self.nonce_source()


class KrakenClient:
    """Public market data and validate-only orders against Kraken (or a loopback emulator)."""

    def __init__(
        self,
        base_url: str,
        timeout_seconds: float = 10.0,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        nonce_store: NonceStore | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._exchange = _GuardedKraken(
            {
                "apiKey": api_key or "",
                "secret": api_secret or "",
                "timeout": int(timeout_seconds * 1000),
                "enableRateLimit": False,
                "headers": {"User-Agent": USER_AGENT},
            }
        )
        self._exchange.urls["api"] = {"public": self.base_url, "private": self.base_url}
        self._exchange.nonce_source = nonce_store.next if nonce_store is not None else None
        self._has_keys = bool(api_key and api_secret)

    def __repr__(self) -> str:
        return (
            f"KrakenClient(base_url={self.base_url!r}, keys={'set' if self._has_keys else 'none'})"
        )

    def server_time(self) -> int:
        """Return Kraken's clock in Unix seconds."""
        return int(self._call("Time", self._exchange.publicGetTime, {})["unixtime"])

    def asset_pairs(self) -> Mapping[str, Mapping[str, Any]]:
        """Return every tradable pair with its precision and minimums."""
        result: Mapping[str, Mapping[str, Any]] = self._call(
            "AssetPairs", self._exchange.publicGetAssetPairs, {}
        )
        return result

    def ohlc(self, pair_id: str, interval: int, since: int | None = None) -> Mapping[str, Any]:
        """Return the OHLC result: rows by pair id, and `last`."""
        params: dict[str, Any] = {"pair": pair_id, "interval": interval}
        if since is not None:
            params["since"] = since
        result: Mapping[str, Any] = self._call("OHLC", self._exchange.publicGetOHLC, params)
        return result

    def trades(self, pair_id: str, since: int) -> Mapping[str, Any]:
        """Return up to 1,000 public trades after `since` (Unix seconds, or the nanosecond
        `last` of an earlier answer): rows by pair id, and `last`."""
        params = {"pair": pair_id, "since": since}
        result: Mapping[str, Any] = self._call("Trades", self._exchange.publicGetTrades, params)
        return result

    def depth(self, pair_id: str, count: int = 100) -> Mapping[str, Any]:
        """Return the order book: asks and bids, best first."""
        result = self._call(
            "Depth", self._exchange.publicGetDepth, {"pair": pair_id, "count": count}
        )
        book: Mapping[str, Any] = result.get(pair_id, {})
        return book

    def validate_order(
        self,
        *,
        pair_id: str,
        side: str,
        order_type: str,
        volume: str,
        price: str | None,
        userref: int,
    ) -> Mapping[str, Any]:
        """Ask Kraken to validate an order (AddOrder with validate=true); it is never placed."""
        if not self._has_keys:
            raise InvariantError("validate_order needs API keys; testnet wiring checks them")
        params: dict[str, Any] = {
            "pair": pair_id,
            "type": side,
            "ordertype": order_type,
            "volume": volume,
            "userref": userref,
            "validate": "true",
        }
        if price is not None:
            params["price"] = price
        result: Mapping[str, Any] = self._call(
            "AddOrder", self._exchange.privatePostAddOrder, params
        )
        return result

    def _call(
        self, endpoint: str, method: Callable[[dict[str, Any]], Any], params: dict[str, Any]
    ) -> Any:
        try:
            response = method(params)
        except InvariantError:
            raise
        except ccxt.BaseError as error:
            raise _mapped(endpoint, error) from None
        except (ValueError, TypeError) as error:
            raise VenueUnavailableError(
                f"Kraken {endpoint}: unreadable answer ({type(error).__name__})"
            ) from None
        if not isinstance(response, dict) or "result" not in response:
            raise VenueUnavailableError(f"Kraken {endpoint}: answer has no result")
        return response["result"]


def _mapped(endpoint: str, error: Exception) -> VenueError:
    """Map a ccxt error to ours by Kraken's error text; keep only that text in the message."""
    kraken_errors = _kraken_errors(str(error))
    if kraken_errors:
        text = kraken_errors[0]
        return error_class(text)(f"Kraken {endpoint}: {text}")
    if isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection):
        return error_class("EAPI:Rate limit exceeded")(f"Kraken {endpoint}: rate limited")
    if isinstance(error, ccxt.NetworkError | ccxt.ExchangeNotAvailable):
        return VenueUnavailableError(
            f"Kraken {endpoint}: {type(error).__name__}: {_first_line(str(error))}"
        )
    return VenueUnavailableError(f"Kraken {endpoint}: {type(error).__name__}")


def _kraken_errors(message: str) -> list[str]:
    """Find the `error` list of a Kraken JSON body inside a ccxt error message."""
    start = message.find("{")
    if start < 0:
        return []
    try:
        body = json.loads(message[start:])
    except ValueError:
        return []
    errors = body.get("error") if isinstance(body, dict) else None
    return [str(e) for e in errors] if isinstance(errors, list) else []


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:200]
