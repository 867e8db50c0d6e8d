"""Connecting stores and keeping their tokens: OAuth (Custom and Easy mode), the encrypted
token vault, its token store seam and the refresh coordinator."""

from __future__ import annotations

from sallakit.auth._claims import sign_claim, verify_claim
from sallakit.auth._coordinator import AsyncStoreTokenProvider, StoreTokenProvider
from sallakit.auth._crypto import BodyCipher, TokenCipher, generate_key
from sallakit.auth._custom import CustomMode
from sallakit.auth._easy import EasyMode, easy_mode_app
from sallakit.auth._identity import LeaseOwners, Owner, ProcessIdentity
from sallakit.auth._lifecycle import LifecycleEvent, LifecycleKind, RefreshOutcome
from sallakit.auth._loopback import run_loopback_connect
from sallakit.auth._maintenance import DueRefresh, RefreshReport
from sallakit.auth._oauth import AsyncOAuthClient, OAuthClient, build_authorize_url
from sallakit.auth._refresh import RefreshPolicy, StoreStatus
from sallakit.auth._sqlstore import SqlTokenStore
from sallakit.auth._state import sign_state, verify_state
from sallakit.auth._store import (
    HistoryRecord,
    JournalRecord,
    LeaseFields,
    StoreRow,
    TokenStore,
    TokenStoreTransaction,
)
from sallakit.auth._tokens import TokenSet, UserInfo, parse_expiry
from sallakit.auth._vault import InterruptedRefresh, StoredStore, TokenVault

__all__ = [
    "AsyncOAuthClient",
    "AsyncStoreTokenProvider",
    "BodyCipher",
    "CustomMode",
    "DueRefresh",
    "EasyMode",
    "HistoryRecord",
    "InterruptedRefresh",
    "JournalRecord",
    "LeaseFields",
    "LeaseOwners",
    "LifecycleEvent",
    "LifecycleKind",
    "OAuthClient",
    "Owner",
    "ProcessIdentity",
    "RefreshOutcome",
    "RefreshPolicy",
    "RefreshReport",
    "SqlTokenStore",
    "StoreRow",
    "StoreStatus",
    "StoreTokenProvider",
    "StoredStore",
    "TokenCipher",
    "TokenSet",
    "TokenStore",
    "TokenStoreTransaction",
    "TokenVault",
    "UserInfo",
    "build_authorize_url",
    "easy_mode_app",
    "generate_key",
    "parse_expiry",
    "run_loopback_connect",
    "sign_claim",
    "sign_state",
    "verify_claim",
    "verify_state",
]
