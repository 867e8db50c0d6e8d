"""Connecting stores and keeping their tokens: OAuth (Custom and Easy mode), the encrypted
token vault and the refresh coordinator."""

from __future__ import annotations

from sallakit.auth._coordinator import AsyncStoreTokenProvider, StoreTokenProvider
from sallakit.auth._crypto import TokenCipher, generate_key
from sallakit.auth._custom import CustomMode
from sallakit.auth._easy import EasyMode, easy_mode_app
from sallakit.auth._oauth import AsyncOAuthClient, OAuthClient, build_authorize_url
from sallakit.auth._refresh import StoreStatus
from sallakit.auth._state import sign_state, verify_state
from sallakit.auth._tokens import TokenSet, UserInfo, parse_expiry
from sallakit.auth._vault import InterruptedRefresh, StoredStore, TokenVault

__all__ = [
    "AsyncOAuthClient",
    "AsyncStoreTokenProvider",
    "CustomMode",
    "EasyMode",
    "InterruptedRefresh",
    "OAuthClient",
    "StoreStatus",
    "StoreTokenProvider",
    "StoredStore",
    "TokenCipher",
    "TokenSet",
    "TokenVault",
    "UserInfo",
    "build_authorize_url",
    "easy_mode_app",
    "generate_key",
    "parse_expiry",
    "sign_state",
    "verify_state",
]
