"""Customers."""

from __future__ import annotations

from pydantic import Field

from sallakit.models._base import SallaModel, Urls
from sallakit.models._types import (
    Boolish,
    Decimalish,
    Intish,
    ListOf,
    Maybe,
    SallaDateTime,
    SallaId,
    Text,
)

__all__ = ["Customer", "CustomerStats"]


class CustomerStats(SallaModel):
    """Order statistics of a customer (details endpoint)."""

    orders_count: Maybe[Intish] = None
    orders_amount: Maybe[Decimalish] = None


class Customer(SallaModel):
    """A store customer.

    ``mobile`` is kept as text although Salla sends a JSON integer
    (``501724227``) next to a separate ``mobile_code`` (``"+966"`` or ``"967"``):
    phone numbers are identifiers, not quantities, and text does not lose any
    further digits. Salla has already dropped the local leading zero;
    :attr:`international_mobile` joins code and number into E.164 form.
    """

    id: SallaId
    first_name: Text = None
    last_name: Text = None
    full_name: Text = None
    mobile: Text = None
    mobile_code: Text = None
    email: Text = None
    urls: Maybe[Urls] = None
    avatar: Text = None
    gender: Text = None
    birthday: Maybe[SallaDateTime] = None
    city: Text = None
    country: Text = None
    country_code: Text = None
    currency: Text = None
    lang: Text = None
    location: Text = None
    groups: ListOf[Intish] = Field(default_factory=list)
    is_blocked: Maybe[Boolish] = None
    block_reason: Text = None
    is_inactive: Maybe[Boolish] = None
    is_notifications_enabled: Maybe[Boolish] = None
    stats: Maybe[CustomerStats] = None
    orders_average: Maybe[Decimalish] = None
    total_points: Maybe[Decimalish] = None
    wallet_balance: Maybe[Decimalish] = None
    latest_purchase: Maybe[SallaDateTime] = None
    created_at: Maybe[SallaDateTime] = None
    updated_at: Maybe[SallaDateTime] = None

    @property
    def international_mobile(self) -> str | None:
        """``mobile_code`` + ``mobile`` as ``+<code><number>``, or ``None`` without a number."""
        if not self.mobile:
            return None
        number = self.mobile.strip()
        if number.startswith("+"):
            return number
        code = (self.mobile_code or "").strip().lstrip("+")
        if not code:
            return number
        if number.startswith(code) and len(number) > 10:
            return f"+{number}"  # the number already carries its country code
        return f"+{code}{number.lstrip('0')}"
