"""Kraken's REST authentication: API-Sign for a private request (pure)."""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["kraken_signature"]


def kraken_signature(path: str, nonce: str, body: str, secret: str) -> str:
    """Return base64(HMAC-SHA512(base64decode(secret), path + SHA256(nonce + body)))."""
    digest = hashlib.sha256((nonce + body).encode()).digest()
    mac = hmac.new(base64.b64decode(secret), path.encode() + digest, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()
