"""Store information and the OAuth user-info payload."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from sallakit.models._base import SallaModel, SallaObject
from sallakit.models._types import (
    Boolish,
    DictOf,
    Intish,
    Maybe,
    SallaDateTime,
    SallaId,
    Text,
)

__all__ = ["Merchant", "StoreInfo", "StoreLicenses", "UserContext", "UserInfo"]


class StoreLicenses(SallaModel):
    """Legal registration numbers of a store."""

    tax_number: Text = None
    commercial_number: Text = None
    freelance_number: Text = None


class StoreInfo(SallaModel):
    """``GET /store/info``: the store the access token belongs to."""

    id: SallaId
    name: Text = None
    username: Text = None
    entity: Text = None
    email: Text = None
    mobile: Text = None
    phone: Text = None
    avatar: Text = None
    plan: Text = None
    type: Text = None
    status: Text = None
    verified: Maybe[Boolish] = None
    currency: Text = None
    domain: Text = None
    description: Text = None
    about: Text = None
    store_location: Text = None
    licenses: Maybe[StoreLicenses] = None
    social: DictOf[Text] = Field(default_factory=dict)
    default_branch: Maybe[SallaObject] = None
    owner: Maybe[SallaObject] = None
    created_at: Maybe[SallaDateTime] = None


class Merchant(SallaModel):
    """The store (merchant) in the user-info payload.

    Also built from the legacy ``store`` object, which adds the owner fields.
    """

    id: SallaId
    username: Text = None
    name: Text = None
    avatar: Text = None
    store_location: Text = None
    plan: Text = None
    status: Text = None
    domain: Text = None
    tax_number: Text = None
    commercial_number: Text = None
    owner_id: Maybe[Intish] = None
    owner_name: Text = None
    created_at: Maybe[SallaDateTime] = None


class UserContext(SallaModel):
    """The token context of the user-info payload (app, granted scopes, expiry)."""

    app: Text = None
    scope: Text = None
    exp: Maybe[SallaDateTime] = None

    @property
    def scopes(self) -> frozenset[str]:
        """The granted scopes as a set (Salla separates them with spaces)."""
        return frozenset((self.scope or "").replace(",", " ").split())


class UserInfo(SallaModel):
    """``GET /oauth2/user/info``: who authorized the app, and for which store.

    Accepts the documented envelope (``{"status", "success", "data": {...}}``)
    as well as a bare ``data`` object, and builds :attr:`merchant` from the
    legacy ``store`` object when ``merchant`` is absent.
    """

    id: Maybe[Intish] = None
    name: Text = None
    email: Text = None
    mobile: Text = None
    role: Text = None
    created_at: Maybe[SallaDateTime] = None
    merchant: Merchant
    context: Maybe[UserContext] = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        inner = data.get("data")
        if isinstance(inner, dict) and "merchant" not in data and "store" not in data:
            data = inner
        if not data.get("merchant") and isinstance(data.get("store"), dict):
            data = {**data, "merchant": data["store"]}
        return data

    @property
    def store_id(self) -> int:
        """The merchant (store) id, as the official PHP client's ``getStoreId()``."""
        return self.merchant.id
