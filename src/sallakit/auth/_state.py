"""Signed, expiring OAuth ``state`` values (pure: no I/O).

A state is ``hex(nonce[16] || expires_at[8, big-endian]) || hex(HMAC-SHA256(secret, ...)[:16])``:
80 lowercase hex characters. Hex, because Salla is reported to strip hyphens from ``state`` and
base64url may contain ``-``. Single use is enforced by the caller, which records the nonce in the
database (see :class:`sallakit.auth.CustomMode`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sallakit._exceptions import ConfigurationError, InvalidStateError

__all__ = ["DEFAULT_STATE_TTL", "VerifiedState", "sign_state", "verify_state"]

DEFAULT_STATE_TTL = 600.0

_NONCE_BYTES = 16
_MAC_BYTES = 16
_STATE_LENGTH = 2 * (_NONCE_BYTES + 8 + _MAC_BYTES)


@dataclass(frozen=True, slots=True)
class VerifiedState:
    """A state whose signature and expiry were checked; ``nonce`` is what makes it single-use."""

    nonce: str
    expires_at: int


def _key(secret: str | bytes) -> bytes:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    if len(key) < 16:
        raise ConfigurationError("the state secret must be at least 16 bytes long")
    return key


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, b"sallakit-oauth-state:" + payload, hashlib.sha256).digest()[:_MAC_BYTES]


def sign_state(
    secret: str | bytes,
    *,
    now: float,
    ttl: float = DEFAULT_STATE_TTL,
    nonce: bytes | None = None,
) -> str:
    """A new state valid for ``ttl`` seconds from ``now``."""
    raw_nonce = nonce if nonce is not None else secrets.token_bytes(_NONCE_BYTES)
    if len(raw_nonce) != _NONCE_BYTES:
        raise ValueError(f"nonce must be {_NONCE_BYTES} bytes")
    payload = raw_nonce + int(now + ttl).to_bytes(8, "big")
    return (payload + _mac(_key(secret), payload)).hex()


def verify_state(secret: str | bytes, state: str | None, *, now: float) -> VerifiedState:
    """Check a state's form, signature and expiry.

    Raises:
        InvalidStateError: missing, malformed, forged or expired.
    """
    if not state:
        raise InvalidStateError("the callback has no state")
    if len(state) != _STATE_LENGTH:
        raise InvalidStateError("the state is malformed")
    try:
        raw = bytes.fromhex(state)
    except ValueError as exc:
        raise InvalidStateError("the state is malformed") from exc
    payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(_key(secret), payload)):
        raise InvalidStateError("the state signature is wrong (forged, or another secret)")
    expires_at = int.from_bytes(payload[_NONCE_BYTES:], "big")
    if now > expires_at:
        raise InvalidStateError("the state has expired; start the connection again")
    return VerifiedState(nonce=payload[:_NONCE_BYTES].hex(), expires_at=expires_at)
