"""Webhook authenticity checks for Salla's two security strategies (pure: no I/O).

* ``signature``: ``X-Salla-Signature`` is the hex HMAC-SHA256 of the *raw* request body keyed
  with the app's webhook secret. Never re-serialise the JSON before checking: any difference in
  spacing or key order changes the digest.
* ``token``: ``Authorization`` carries the secret itself, verbatim (no ``Bearer`` prefix).

Both compare in constant time. Several secrets may be given while one is being rotated (the
Partner Portal's new secret and the old one): a delivery verified by any of them is accepted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from sallakit._exceptions import ConfigurationError, SignatureVerificationError

__all__ = ["Strategy", "compute_signature", "verify_request"]

Strategy = Literal["auto", "signature", "token"]

SIGNATURE_HEADER = "x-salla-signature"
STRATEGY_HEADER = "x-salla-security-strategy"

Secret = str | bytes


def compute_signature(raw_body: bytes, secret: str | bytes) -> str:
    """The ``X-Salla-Signature`` value Salla sends for ``raw_body``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, raw_body, hashlib.sha256).hexdigest()


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    """Header names lowered; a value that is not text is refused, naming the header."""
    if not isinstance(headers, Mapping):
        raise ConfigurationError(
            f"headers must be a mapping of header names to values, got a {type(headers).__name__}"
        )
    lowered: dict[str, str] = {}
    items: Iterable[tuple[object, object]] = headers.items()
    for name, value in items:
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            # ASGI gives raw header values; HTTP header values are latin-1 on the wire.
            value = value.decode("latin-1")
        if not isinstance(name, str):
            raise ConfigurationError(
                f"header names must be str (or bytes), got {type(name).__name__} {name!r}"
            )
        if not isinstance(value, str):
            raise ConfigurationError(
                f"headers[{name!r}] must be a str (or bytes) as received, got "
                f"{type(value).__name__}"
            )
        lowered[name.lower()] = value
    return lowered


def _check_body(raw_body: object) -> bytes:
    if isinstance(raw_body, bytes):
        return raw_body
    if isinstance(raw_body, bytearray | memoryview):
        return bytes(raw_body)
    if isinstance(raw_body, str):
        raise ConfigurationError(
            "raw_body must be the request body as bytes, exactly as received, not a str: the "
            "signature covers Salla's bytes, and a decoded and re-encoded body may differ"
        )
    raise ConfigurationError(
        f"raw_body must be the request body as bytes, got a {type(raw_body).__name__}"
    )


def _keys(secret: Secret | Sequence[Secret]) -> list[bytes]:
    if isinstance(secret, str | bytes):
        secrets: list[object] = [secret]
    elif isinstance(secret, Sequence):
        secrets = list(secret)
    else:
        raise ConfigurationError(
            f"secret must be a str or bytes (or a sequence of them), got a {type(secret).__name__}"
        )
    keys: list[bytes] = []
    for one in secrets:
        if isinstance(one, str):
            keys.append(one.encode("utf-8"))
        elif isinstance(one, bytes):
            keys.append(one)
        else:
            raise ConfigurationError(
                f"every webhook secret must be a str or bytes, got a {type(one).__name__}"
            )
    if not keys or not all(keys):
        raise ConfigurationError("the webhook secret is empty")
    return keys


def verify_request(
    raw_body: bytes,
    headers: Mapping[str, str],
    secret: Secret | Sequence[Secret],
    *,
    strategy: Strategy = "auto",
) -> Literal["signature", "token"]:
    """Check that a delivery comes from Salla.

    Args:
        raw_body: the request body exactly as received.
        headers: the request headers (any case).
        secret: the app's webhook secret from the Partner Portal, or several (the current one
            first) while rotating it.
        strategy: ``signature`` or ``token`` to accept only that strategy; ``auto`` follows
            ``X-Salla-Security-Strategy`` (safe: both strategies require the secret).

    Returns:
        The strategy that verified the request.

    Raises:
        SignatureVerificationError: missing or wrong signature / token; the message says what
            this receiver expected.
        ConfigurationError: no secret, or an empty one; ``raw_body`` is not bytes (a ``str``
            is refused: the signature covers the bytes received); a header value that is not
            a str or bytes (``None``).
    """
    raw_body = _check_body(raw_body)
    keys = _keys(secret)
    lowered = _lower(headers)
    chosen = strategy
    if strategy == "auto":
        declared = lowered.get(STRATEGY_HEADER, "").strip().lower()
        if declared in ("signature", "token"):
            chosen = declared  # type: ignore[assignment]
        elif SIGNATURE_HEADER in lowered:
            chosen = "signature"
        elif "authorization" in lowered:
            chosen = "token"
        else:
            raise SignatureVerificationError(
                "expected an X-Salla-Signature header (signature strategy) or an Authorization "
                "header (token strategy); the request has neither"
            )
    if chosen == "signature":
        given = lowered.get(SIGNATURE_HEADER, "").strip().lower()
        if not given:
            raise SignatureVerificationError(
                "expected an X-Salla-Signature header: this receiver uses the signature "
                "strategy (HMAC-SHA256 of the raw body with the webhook secret)"
            )
        given_bytes = given.encode("ascii", "replace")
        # Every key is tried (no early exit), so timing does not tell which one matched.
        ok = False
        for key in keys:
            expected = compute_signature(raw_body, key).encode("ascii")
            ok |= hmac.compare_digest(given_bytes, expected)
        if not ok:
            raise SignatureVerificationError(
                "the X-Salla-Signature does not match the body for the configured webhook secret(s)"
            )
        return "signature"
    given_token = lowered.get("authorization", "")
    if not given_token:
        raise SignatureVerificationError(
            "expected an Authorization header carrying the webhook secret: this receiver uses "
            "the token strategy"
        )
    token = given_token.encode("utf-8", "replace")
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(token, key)
    if not ok:
        raise SignatureVerificationError(
            "the Authorization token does not match the configured webhook secret(s)"
        )
    return "token"
