"""The inbox cipher of the server: sealed webhook bodies under the token vault's keys.

``app.store.authorize`` bodies carry OAuth tokens, so the inbox stores them sealed with the same
Fernet keys (``SALLAKIT_TOKEN_KEYS``, newest first) that encrypt the vault: one key list to
rotate, and a body sealed under an older key still opens.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from sallakit._exceptions import ConfigurationError, WebhookError

__all__ = ["FernetBodyCipher"]

# Bound into every sealed body, so a vault ciphertext cannot pass for an inbox body.
_CONTEXT = b"sallakit:webhook-body:v1:"


class FernetBodyCipher:
    """A :class:`~sallakit.webhooks.BodyCipher` over Fernet keys (newest first)."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ConfigurationError("no token key configured to seal webhook bodies")
        try:
            fernets = [Fernet(key) for key in keys]
        except (ValueError, TypeError) as exc:
            raise ConfigurationError("a token key is not a valid Fernet key") from exc
        self._newest = fernets[0]
        self._all = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "FernetBodyCipher(...)"

    def seal(self, plaintext: bytes) -> bytes:
        return self._newest.encrypt(_CONTEXT + plaintext)

    def open(self, sealed: bytes) -> bytes:
        try:
            plaintext = self._all.decrypt(sealed)
        except InvalidToken as exc:
            raise WebhookError("no configured token key opens this sealed webhook body") from exc
        if not plaintext.startswith(_CONTEXT):
            raise WebhookError("this sealed value is not a webhook body")
        return plaintext[len(_CONTEXT) :]
