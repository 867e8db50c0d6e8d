"""Encryption of tokens at rest (pure: no I/O).

Tokens are sealed with :class:`cryptography.fernet.MultiFernet` (AES-128-CBC + HMAC-SHA256,
authenticated). Fernet has no associated-data input, so the binding travels *inside* the
authenticated plaintext: ``sallakit:v1:<store id>:<kind>:<token>``. Opening checks the binding,
so a ciphertext copied into another store's row, or from the refresh column into the access
column, fails with :class:`TokenDecryptionError` even though the key is right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from sallakit._exceptions import ConfigurationError, TokenDecryptionError

__all__ = ["BodyCipher", "TokenCipher", "TokenKind", "generate_key"]

TokenKind = Literal["access", "refresh"]

_PREFIX = "sallakit:v1"
#: Bodies are bound to a purpose under another prefix: a sealed body never opens as a token
#: (its plaintext does not start with ``sallakit:v1:``) and a token never opens as a body.
_BODY_PREFIX = "sallakit:body:v1"


def generate_key() -> str:
    """A new random Fernet key (URL-safe base64 text), for ``SALLAKIT_TOKEN_KEYS``."""
    return Fernet.generate_key().decode("ascii")


def _context(store_id: int, kind: TokenKind) -> bytes:
    return f"{_PREFIX}:{int(store_id)}:{kind}:".encode("ascii")


class TokenCipher:
    """Seals and opens tokens with a list of keys, newest first.

    The newest key encrypts; every key decrypts, so keys can be rotated without downtime: put the
    new key first, run :meth:`TokenVault.rotate_keys`, then drop the old key.
    """

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        """Build a cipher.

        Args:
            keys: Fernet keys (32 url-safe base64-encoded bytes), newest first.

        Raises:
            ConfigurationError: no key, or a key that is not a Fernet key.
        """
        if not keys:
            raise ConfigurationError(
                "no token encryption key configured: set SALLAKIT_TOKEN_KEYS "
                "(generate one with `sallakit keys generate`)"
            )
        fernets: list[Fernet] = []
        for position, key in enumerate(keys):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError) as exc:
                # Never echo the key itself: it is a secret even when malformed.
                raise ConfigurationError(
                    f"token key #{position + 1} is not a valid Fernet key"
                ) from exc
        self._newest = fernets[0]
        self._all = MultiFernet(fernets)

    def seal(self, store_id: int, kind: TokenKind, token: str) -> str:
        """Encrypt ``token`` for ``store_id`` and ``kind`` with the newest key."""
        plaintext = _context(store_id, kind) + token.encode("utf-8")
        return self._newest.encrypt(plaintext).decode("ascii")

    def open(self, store_id: int, kind: TokenKind, sealed: str) -> str:
        """Decrypt a token sealed for ``store_id`` and ``kind``.

        Raises:
            TokenDecryptionError: no configured key opens it, or it was sealed for another store
                or token kind.
        """
        try:
            plaintext = self._all.decrypt(sealed.encode("ascii"))
        except (InvalidToken, UnicodeEncodeError) as exc:
            raise TokenDecryptionError(
                f"no configured key decrypts the {kind} token of store {store_id}"
            ) from exc
        context = _context(store_id, kind)
        if not plaintext.startswith(context):
            raise TokenDecryptionError(
                f"the {kind} token stored for store {store_id} was sealed for another store "
                "or token kind"
            )
        return plaintext[len(context) :].decode("utf-8")

    def body_cipher(self, purpose: str) -> BodyCipher:
        """A cipher for opaque bytes (stored webhook bodies that carry tokens), bound to
        ``purpose`` and sharing these keys (and their rotation)."""
        return BodyCipher(self._newest, self._all, purpose)

    def needs_rotation(self, sealed: str) -> bool:
        """Whether ``sealed`` is not encrypted with the newest key."""
        try:
            self._newest.decrypt(sealed.encode("ascii"))
        except InvalidToken:
            return True
        return False

    def rotate(self, store_id: int, kind: TokenKind, sealed: str) -> str:
        """Re-encrypt ``sealed`` under the newest key, checking its binding on the way."""
        return self.seal(store_id, kind, self.open(store_id, kind, sealed))


class BodyCipher:
    """Seals and opens bytes bound to a purpose (``seal(bytes) -> bytes``, ``open(bytes) ->
    bytes``), with the vault's keys: the webhook inbox stores token-carrying bodies with it.

    Opening checks the purpose: a body sealed for one purpose never opens for another, nor as a
    token (and a sealed token never opens as a body).
    """

    def __init__(self, newest: Fernet, every: MultiFernet, purpose: str) -> None:
        if not purpose or ":" in purpose:
            raise ConfigurationError("a body cipher's purpose must be non-empty, without ':'")
        self._newest = newest
        self._all = every
        self._context = f"{_BODY_PREFIX}:{purpose}:".encode()
        self.purpose = purpose

    def __repr__(self) -> str:
        return f"BodyCipher(purpose={self.purpose!r})"

    def seal(self, body: bytes) -> bytes:
        """Encrypt ``body`` with the newest key."""
        return self._newest.encrypt(self._context + bytes(body))

    def open(self, sealed: bytes) -> bytes:
        """Decrypt a body sealed for this purpose.

        Raises:
            TokenDecryptionError: no configured key opens it, or it was sealed for another
                purpose (or is a token).
        """
        try:
            plaintext = self._all.decrypt(bytes(sealed))
        except InvalidToken as exc:
            raise TokenDecryptionError("no configured key decrypts this sealed body") from exc
        if not plaintext.startswith(self._context):
            raise TokenDecryptionError(
                f"this sealed body was not sealed for the purpose {self.purpose!r}"
            )
        return plaintext[len(self._context) :]
