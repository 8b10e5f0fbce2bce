"""No code path can send a Kraken order without validate=true: the signer refuses first."""

from __future__ import annotations

import base64
import inspect
from pathlib import Path
from typing import Any

import pytest

from peak_trade.core.errors import InvariantError, VenueUnavailableError
from peak_trade.kraken.client import KrakenClient, _GuardedKraken
from peak_trade.kraken.nonce import NonceStore

SECRET = base64.b64encode(b"guard-test-secret").decode()


def _exchange(tmp_path: Path) -> Any:
    client = KrakenClient(
        "http://127.0.0.1:9",
        1.0,
        api_key="key",
        api_secret=SECRET,
        nonce_store=NonceStore(tmp_path / "nonce"),
    )
    return client._exchange  # the guarded ccxt object itself


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("AddOrder", {"pair": "XXBTZEUR", "type": "buy", "ordertype": "market", "volume": "1"}),
        ("AddOrder", {"pair": "XXBTZEUR", "validate": "false"}),
        ("AddOrder", {"pair": "XXBTZEUR", "validate": False}),
        # only the documented `validate=true` is validate-only; the emulator places the rest
        ("AddOrder", {"pair": "XXBTZEUR", "validate": True}),
        ("AddOrder", {"pair": "XXBTZEUR", "validate": "TRUE"}),
        ("AddOrder", {"pair": "XXBTZEUR", "validate": "True"}),
        ("AddOrder", {"pair": "XXBTZEUR", "validate": " true"}),
        ("AddOrderBatch", {"validate": "true"}),
        ("CancelOrder", {"txid": "X"}),
        ("Balance", {}),
        ("Withdraw", {"asset": "XBT"}),
    ],
)
def test_the_signer_refuses_every_private_call_but_validate_only_add_order(
    tmp_path: Path, path: str, params: dict[str, Any]
) -> None:
    with pytest.raises(InvariantError, match=f"refused to sign private {path} without validate"):
        _exchange(tmp_path).sign(path, ["private"], "POST", params)


def test_the_signer_signs_a_validate_only_add_order(tmp_path: Path) -> None:
    signed = _exchange(tmp_path).sign(
        "AddOrder", ["private"], "POST", {"pair": "XXBTZEUR", "validate": "true"}
    )
    assert "validate=true" in signed["body"]
    assert signed["headers"]["API-Key"] == "key"


def test_ccxt_order_methods_cannot_reach_the_network_either(tmp_path: Path) -> None:
    exchange = _exchange(tmp_path)
    exchange.markets = {"BTC/EUR": {"id": "XXBTZEUR", "symbol": "BTC/EUR"}}
    with pytest.raises(InvariantError):
        exchange.privatePostAddOrder(
            {"pair": "XXBTZEUR", "type": "buy", "ordertype": "market", "volume": "0.01"}
        )
    with pytest.raises(InvariantError):
        exchange.privatePostCancelAll({})


def test_the_client_offers_no_other_private_method() -> None:
    public = {
        name
        for name, _ in inspect.getmembers(KrakenClient, inspect.isfunction)
        if not name.startswith("_")
    }
    assert public == {"server_time", "asset_pairs", "ohlc", "trades", "depth", "validate_order"}
    assert issubclass(_GuardedKraken, object)


def test_repr_and_errors_hide_the_credentials(tmp_path: Path) -> None:
    client = KrakenClient(
        "http://127.0.0.1:9",
        0.5,
        api_key="the-key",
        api_secret=SECRET,
        nonce_store=NonceStore(tmp_path / "n"),
    )
    assert repr(client) == "KrakenClient(base_url='http://127.0.0.1:9', keys=set)"
    with pytest.raises(VenueUnavailableError) as caught:
        client.validate_order(
            pair_id="XXBTZEUR",
            side="buy",
            order_type="market",
            volume="0.01",
            price=None,
            userref=1,
        )
    assert "the-key" not in str(caught.value)
    assert SECRET not in str(caught.value)
