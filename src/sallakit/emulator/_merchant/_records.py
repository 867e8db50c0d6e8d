"""Compact in-memory records of a store's core resources.

Seeding a store of 100,000 products must take seconds, so each record is a small slotted
dataclass of scalars (amounts in halalas, times as epoch seconds); the Salla-shaped JSON is built
from it only when a request reads it (``_render``). Records are plain data so that a whole
``StoreData`` pickles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BrandRec",
    "CategoryRec",
    "CustomerRec",
    "CustomStatusRec",
    "HistoryRec",
    "OptionRec",
    "OptionValueRec",
    "OrderItemRec",
    "OrderRec",
    "ProductRec",
    "ShipmentRec",
    "VariantRec",
    "derive_id",
]


def derive_id(parent: int, salt: int) -> int:
    """A stable Salla-sized id for a sub-entity (option, value, variant, image) of ``parent``.

    Sub-entities are not stored at seed time; their ids are computed from the parent's id so
    that reads agree without a table. Multiplicative hashing keeps them spread over the range.
    """
    return 100_000_000 + (parent * 2_654_435_761 + salt * 40_503 + 977) % 1_900_000_000


@dataclass(slots=True)
class OptionValueRec:
    id: int
    name_ar: str
    name_en: str
    price: int = 0
    """Extra price in halalas."""
    display_value: str = ""
    is_default: bool = False


@dataclass(slots=True)
class OptionRec:
    id: int
    name_ar: str
    name_en: str
    values: list[OptionValueRec]
    type: str = "radio"
    display_type: str = "text"
    required: bool = True
    visibility: str = "always"
    sort: int = 0


@dataclass(slots=True)
class VariantRec:
    """One SKU of a product with options: one value of every option.

    Variants are never removed from ``ProductRec.variants``, only marked ``deleted``, so that
    the index stored in order items and in ``variant_qty`` stays meaningful.
    """

    id: int
    value_ids: list[int]
    sku: str
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    """Per-variant overrides set through the API (prices in halalas, barcode, mpn, ...)."""


@dataclass(slots=True)
class ProductRec:
    id: int
    name_ar: str
    name_en: str
    sku: str
    price: int
    """Pre-tax price in halalas."""
    cost: int
    quantity: int
    status: str
    """``sale``, ``out`` or ``hidden`` (deleted products are removed)."""
    category_ids: list[int]
    brand_id: int
    created: int
    updated: int
    sale_price: int = 0
    unlimited: bool = False
    notify_quantity: int = 5
    weight: int = 500
    """Grams."""
    option_kind: int = -1
    """Index into ``OPTION_KINDS``; -1 for a product without variants."""
    variant_qty: list[int] | None = None
    """Stock per variant (one per option value) when the product has variants."""
    sold: int = 0
    views: int = 0
    product_type: str = "product"
    description_ar: str = ""
    description_en: str = ""
    images: int = 1
    """How many images the product has (their ids and URLs derive from the product id)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Fields set through the API that the seeded shape has no column for."""
    options: list[OptionRec] | None = None
    """Explicit options once written through the API; None derives them from ``option_kind``."""
    variants: list[VariantRec] | None = None
    """Explicit variants, parallel to ``variant_qty``; None derives them from ``option_kind``."""


@dataclass(slots=True)
class CategoryRec:
    id: int
    name_ar: str
    name_en: str
    parent_id: int = 0
    sort_order: int = 0
    status: str = "active"
    updated: int = 0
    image: str = ""


@dataclass(slots=True)
class BrandRec:
    id: int
    name_ar: str
    name_en: str
    description_ar: str = ""
    description_en: str = ""
    updated: int = 0


@dataclass(slots=True)
class CustomerRec:
    id: int
    first_name: str
    last_name: str
    gender: str
    city: int
    """Index into ``CITIES``."""
    mobile: int
    mobile_code: str
    email: str
    created: int
    updated: int
    groups: list[int] = field(default_factory=list)
    blocked: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class OrderItemRec:
    id: int
    product_id: int
    name_ar: str
    name_en: str
    sku: str
    quantity: int
    unit_price: int
    """Pre-tax unit price in halalas, frozen when the order was placed."""
    variant: int = -1
    """Index of the chosen option value, -1 without variants."""


@dataclass(slots=True)
class HistoryRec:
    id: int
    status_id: int
    created: int
    note: str = ""
    custom_id: int = 0
    """The merchant's custom status the order moved to, 0 for an original one."""


@dataclass(slots=True)
class OrderRec:
    id: int
    reference_id: int
    customer_id: int
    created: int
    updated: int
    status_id: int
    payment_method: str
    items: list[OrderItemRec]
    shipping: int
    """Shipping cost in halalas."""
    city: int
    histories: list[HistoryRec] | None = None
    """None until the first write: the seeded history derives from ``created``/``status_id``."""
    source: str = "store"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class CustomStatusRec:
    """A merchant-defined order status: a renamed child of one of Salla's original ones."""

    id: int
    name_ar: str
    name_en: str
    original_id: int
    """The documented status it stands for (its slug is the one clients key on)."""
    parent_id: int
    """The status it is nested under (an original id, or another custom status id)."""
    sort: int
    message: str = ""
    icon: str = "sicon-time"
    is_active: bool = True
    created: int = 0


@dataclass(slots=True)
class ShipmentRec:
    id: int
    order_id: int
    courier: int
    """Index into ``COURIERS``."""
    status: str
    tracking_number: str
    created: int
    type: str = "shipment"
    payment_method: str = "pre_paid"
    extra: dict[str, Any] = field(default_factory=dict)
