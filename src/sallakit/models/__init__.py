"""Typed models of Salla API objects that tolerate Salla's type drift.

Salla's responses are hand-shaped by PHP and drift between endpoints and over
time. These models absorb that drift so callers see one shape:

- Amounts as JSON numbers or strings (``100``, ``"15.00"``, ``"35"``) become
  :class:`~decimal.Decimal`, converted through ``str()`` so no binary float
  artefacts appear. Prices are :class:`Money`, also from a bare number; the
  nested tax form is :class:`Tax`.
- Quantities and ids as ``50`` or ``"50"`` become ``int``; ``""`` is ``None``.
- Booleans as ``true``/``false``, ``0``/``1`` or ``"true"``/``"false"``.
- ``{}``, ``[]``, ``""`` or ``null`` for an absent object or value
  (``sale_end: {}``, ``parent: {}``) become ``None``; ``{}`` or ``null`` for a
  list becomes ``[]``, one object where a list is due a one-item list
  (order ``tags`` in create/update answers); ``[]`` for a map (``translations``, ``links``,
  ``headers``) becomes an empty map.
- Dates as PHP ``DateTime`` objects, naive strings (read as Asia/Riyadh), ISO
  8601, JavaScript ``Date.toString()`` strings, date-only strings and epoch
  numbers all become timezone-aware :class:`~datetime.datetime` values.
- Phone numbers, SKUs and postal codes sent as JSON numbers become text
  (``Customer.mobile``; see :class:`Customer` for why).
- Misspelt keys are mapped: category ``update_at`` and shipment history
  ``create_at`` are readable as ``updated_at``/``created_at``.
- Webhook ``headers`` as a map (responses) or ``[{key, value}]`` (requests).
- Unknown fields are kept: read them from ``model.model_extra`` or as attributes.

Localized strings (Arabic names and labels) are passed through untouched.
"""

from __future__ import annotations

from sallakit.models._base import (
    Money,
    Pagination,
    PaginationLinks,
    SallaModel,
    SallaObject,
    SallaResponse,
    SeoMetadata,
    Tax,
    Urls,
)
from sallakit.models._catalog import Brand, Category, CategoryShowIn
from sallakit.models._customers import Customer, CustomerStats
from sallakit.models._orders import (
    ExchangeRate,
    Order,
    OrderAmounts,
    OrderCustomer,
    OrderDiscount,
    OrderHistory,
    OrderItem,
    OrderItemAmounts,
    OrderItemOption,
    OrderItemOptionValue,
    OrderReceiver,
    OrderStatus,
    OrderSummary,
    OrderSummaryItem,
    OrderTag,
    UserRef,
)
from sallakit.models._products import (
    BrandRef,
    CategoryRef,
    Product,
    ProductImage,
    ProductOption,
    ProductOptionValue,
    ProductPromotion,
    ProductQuantity,
    ProductQuantityChange,
    ProductRating,
    ProductSku,
    ProductTag,
    ProductVariant,
    ScopedPrice,
)
from sallakit.models._shipments import (
    GeoCoordinates,
    Shipment,
    ShipmentAddress,
    ShipmentHistory,
    ShipmentLabel,
    ShipmentPackage,
    ShipmentStatus,
    Weight,
)
from sallakit.models._store import Merchant, StoreInfo, StoreLicenses, UserContext, UserInfo
from sallakit.models._types import (
    SALLA_TIMEZONE,
    Boolish,
    Decimalish,
    DictOf,
    EmptyAsNone,
    Intish,
    ListOf,
    Maybe,
    SallaDateTime,
    SallaId,
    Text,
    Translations,
    parse_salla_datetime,
)
from sallakit.models._webhooks import Webhook, WebhookEvent, WebhookSecurity

__all__ = [
    "Boolish",
    "Brand",
    "BrandRef",
    "Category",
    "CategoryRef",
    "CategoryShowIn",
    "Customer",
    "CustomerStats",
    "Decimalish",
    "DictOf",
    "EmptyAsNone",
    "ExchangeRate",
    "GeoCoordinates",
    "Intish",
    "ListOf",
    "Maybe",
    "Merchant",
    "Money",
    "Order",
    "OrderAmounts",
    "OrderCustomer",
    "OrderDiscount",
    "OrderHistory",
    "OrderItem",
    "OrderItemAmounts",
    "OrderItemOption",
    "OrderItemOptionValue",
    "OrderReceiver",
    "OrderStatus",
    "OrderSummary",
    "OrderSummaryItem",
    "OrderTag",
    "Pagination",
    "PaginationLinks",
    "Product",
    "ProductImage",
    "ProductOption",
    "ProductOptionValue",
    "ProductPromotion",
    "ProductQuantity",
    "ProductQuantityChange",
    "ProductRating",
    "ProductSku",
    "ProductTag",
    "ProductVariant",
    "SALLA_TIMEZONE",
    "SallaDateTime",
    "SallaId",
    "SallaModel",
    "SallaObject",
    "SallaResponse",
    "ScopedPrice",
    "SeoMetadata",
    "Shipment",
    "ShipmentAddress",
    "ShipmentHistory",
    "ShipmentLabel",
    "ShipmentPackage",
    "ShipmentStatus",
    "StoreInfo",
    "StoreLicenses",
    "Tax",
    "Text",
    "Translations",
    "Urls",
    "UserContext",
    "UserInfo",
    "UserRef",
    "Webhook",
    "WebhookEvent",
    "WebhookSecurity",
    "Weight",
    "parse_salla_datetime",
]
