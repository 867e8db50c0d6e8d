"""Signed, expiring, single-use claim tokens for pending installs (pure: no I/O).

A store installed through Easy mode belongs to no account of the app yet. The app sends the
merchant a claim link; the merchant opens it while signed in to the app, and the app calls
:meth:`TokenVault.redeem_claim` with the token and the account. A claim token is
``hex(nonce[16] || store_id[8] || expires_at[8]) || hex(HMAC-SHA256[:16])``, keyed with a purpose
prefix of its own so that it can never pass as an OAuth state (nor the reverse).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

from sallakit._exceptions import ConfigurationError, InvalidStateError
from sallakit.auth._store import MAX_STORE_ID

__all__ = ["DEFAULT_CLAIM_TTL", "VerifiedClaim", "claim_url", "sign_claim", "verify_claim"]

#: A claim link is valid for three days by default.
DEFAULT_CLAIM_TTL = 3 * 86_400.0

_NONCE = 16
_MAC = 16
_LENGTH = 2 * (_NONCE + 8 + 8 + _MAC)


@dataclass(frozen=True, slots=True)
class VerifiedClaim:
    """A claim token whose signature and expiry were checked."""

    store_id: int
    nonce: str
    expires_at: int


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if len(key) < 16:
        raise ConfigurationError("the claim secret must be at least 16 bytes long")
    return key


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, b"sallakit-claim:" + payload, hashlib.sha256).digest()[:_MAC]


def sign_claim(
    secret: str | bytes, store_id: int, *, now: float, ttl: float = DEFAULT_CLAIM_TTL
) -> str:
    """A claim token for ``store_id`` valid for ``ttl`` seconds from ``now``."""
    if not 0 < store_id <= MAX_STORE_ID:
        raise ConfigurationError(f"store id {store_id} is out of range")
    if not ttl > 0:
        raise ConfigurationError("the claim ttl must be positive")
    payload = (
        secrets.token_bytes(_NONCE)
        + store_id.to_bytes(8, "big")
        + int(now + ttl).to_bytes(8, "big")
    )
    return (payload + _mac(_key(secret), payload)).hex()


def verify_claim(secret: str | bytes, token: str | None, *, now: float) -> VerifiedClaim:
    """Check a claim token's form, signature and expiry (single use is the vault's job).

    Raises:
        InvalidStateError: missing, malformed, forged or expired.
    """
    if not token or len(token) != _LENGTH:
        raise InvalidStateError("the claim link is malformed")
    try:
        raw = bytes.fromhex(token)
    except ValueError as exc:
        raise InvalidStateError("the claim link is malformed") from exc
    payload, mac = raw[:-_MAC], raw[-_MAC:]
    if not hmac.compare_digest(mac, _mac(_key(secret), payload)):
        raise InvalidStateError("the claim link's signature is wrong (forged, or another secret)")
    expires_at = int.from_bytes(payload[_NONCE + 8 :], "big")
    if now > expires_at:
        raise InvalidStateError("the claim link has expired; ask for a new one")
    return VerifiedClaim(
        store_id=int.from_bytes(payload[_NONCE : _NONCE + 8], "big"),
        nonce="claim:" + payload[:_NONCE].hex(),
        expires_at=expires_at,
    )


def claim_url(base_url: str, token: str, *, parameter: str = "claim") -> str:
    """``base_url`` with the claim token added to its query."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"the claim base URL {base_url!r} is not an http(s) URL")
    query = (parts.query + "&" if parts.query else "") + urlencode({parameter: token})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
