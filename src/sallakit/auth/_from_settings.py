"""Building the token vault from :class:`~sallakit.settings.Settings`, as the CLI does.

Kept out of the vault facade: it is configuration at the edge, and it only reads settings.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sallakit.settings import Settings

__all__ = ["vault_options", "warn_if_cannot_refresh"]

logger = logging.getLogger("sallakit.auth._vault")


def vault_options(settings: Settings | None) -> tuple[str, list[str], dict[str, Any], str]:
    """``(database URL, token keys, constructor options, API base URL)`` from settings (None:
    read from the environment now).

    Reads ``SALLAKIT_DATABASE_URL``, ``SALLAKIT_TOKEN_KEYS`` and
    ``SALLAKIT_REFRESH_MARGIN_SECONDS``; when ``SALLAKIT_CLIENT_ID`` and
    ``SALLAKIT_CLIENT_SECRET`` are set, both OAuth clients (``SALLAKIT_ACCOUNTS_URL``), so that
    tokens can be refreshed.
    """
    from sallakit.auth._oauth import AsyncOAuthClient, OAuthClient
    from sallakit.settings import Settings

    settings = Settings() if settings is None else settings
    options: dict[str, Any] = {"refresh_margin": settings.refresh_margin_seconds}
    if settings.client_id and settings.client_secret is not None:
        secret = settings.client_secret.get_secret_value()
        options["oauth"] = OAuthClient(
            settings.client_id, secret, accounts_url=settings.accounts_url
        )
        options["async_oauth"] = AsyncOAuthClient(
            settings.client_id, secret, accounts_url=settings.accounts_url
        )
    return settings.database_url, settings.token_key_list(), options, settings.api_base_url


def warn_if_cannot_refresh(store_id: int, oauth: object) -> None:
    """Say, when a client is built, that its vault has no OAuth client to refresh with.

    Without one everything works until the first refresh, days later; better to read it now.
    """
    if oauth is None:
        logger.warning(
            "the vault has no OAuth client: the tokens of store %s cannot be refreshed and "
            "calls will fail once its access token expires (pass oauth=/async_oauth=, or set "
            "SALLAKIT_CLIENT_ID and SALLAKIT_CLIENT_SECRET for TokenVault.from_settings)",
            store_id,
            extra={"action": "vault_cannot_refresh", "store_id": store_id},
        )
