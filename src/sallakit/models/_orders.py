"""Orders (summary and details), their amounts, statuses, items and history."""

from __future__ import annotations

from pydantic import Field

from sallakit.models._base import Money, SallaModel, SallaObject, Tax, Urls
from sallakit.models._customers import Customer
from sallakit.models._products import Product
from sallakit.models._shipments import Shipment
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

__all__ = [
    "ExchangeRate",
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
    "UserRef",
]


class OrderStatus(SallaModel):
    """An order status; ``name`` is localized (Arabic by default), use ``slug``/``id``.

    Merchant-defined statuses carry the status they customize in ``original``
    and ``parent``; ``customized`` is the merchant's label for a built-in one.
    Salla sends ``parent: {}`` when there is none, read as ``None``.
    """

    id: Maybe[Intish] = None
    name: Text = None
    slug: Text = None
    type: Text = None
    message: Text = None
    customized: Maybe[OrderStatus] = None
    original: Maybe[OrderStatus] = None
    parent: Maybe[OrderStatus] = None


class ExchangeRate(SallaModel):
    """Conversion between the store currency and the order currency."""

    base_currency: Text = None
    exchange_currency: Text = None
    rate: Maybe[Decimalish] = None


class OrderDiscount(SallaModel):
    """A discount line; amounts are strings on the wire (``"15.00"``)."""

    title: Text = None
    type: Text = None
    code: Text = None
    discount: Maybe[Decimalish] = None
    currency: Text = None
    discounted_shipping: Maybe[Decimalish] = None
    has_marketing: Maybe[Boolish] = Field(default=None, alias="hasMarketing")


class OrderAmounts(SallaModel):
    """The money breakdown of an order (details only)."""

    sub_total: Maybe[Money] = None
    shipping_cost: Maybe[Money] = None
    cash_on_delivery: Maybe[Money] = None
    tax: Maybe[Tax] = None
    discounts: ListOf[OrderDiscount] = Field(default_factory=list)
    total: Maybe[Money] = None


class OrderCustomer(Customer):
    """The customer embedded in an order (same shape as :class:`Customer`)."""


class OrderReceiver(SallaModel):
    """Who receives the order."""

    name: Text = None
    email: Text = None
    phone: Text = None


class OrderTag(SallaModel):
    """A merchant tag on an order."""

    id: Maybe[Intish] = None
    name: Text = None


class OrderItemAmounts(SallaModel):
    """The money breakdown of an order item."""

    price_without_tax: Maybe[Money] = None
    total_discount: Maybe[Money] = None
    tax: Maybe[Tax] = None
    total: Maybe[Money] = None


class OrderItemOptionValue(SallaModel):
    """The chosen value of an item option."""

    id: Maybe[Intish] = None
    name: Text = None
    price: Maybe[Money] = None


class OrderItemOption(SallaModel):
    """An option chosen for an order item.

    ``value`` is an object for choice options, a list for multi-choice ones and
    plain text for free-text options.
    """

    id: Maybe[Intish] = None
    product_option_id: Maybe[Intish] = None
    name: Text = None
    type: Text = None
    value: Maybe[OrderItemOptionValue | list[OrderItemOptionValue] | str] = None


class OrderItem(SallaModel):
    """A line item of an order (``GET /orders/items`` and order details)."""

    id: SallaId
    name: Text = None
    sku: Text = None
    mpn: Text = None
    gtin: Text = None
    quantity: Maybe[Intish] = None
    currency: Text = None
    weight: Maybe[Decimalish] = None
    weight_type: Text = None
    weight_label: Text = None
    amounts: Maybe[OrderItemAmounts] = None
    notes: Text = None
    product_type: Text = None
    product_thumbnail: Text = None
    product: Maybe[Product] = None
    options: ListOf[OrderItemOption] = Field(default_factory=list)
    images: ListOf[SallaObject] = Field(default_factory=list)
    codes: ListOf[SallaObject] = Field(default_factory=list)
    files: ListOf[SallaObject] = Field(default_factory=list)
    reservations: ListOf[SallaObject] = Field(default_factory=list)


class OrderSummaryItem(SallaModel):
    """An item as listed in :class:`OrderSummary` (name, quantity, thumbnail)."""

    name: Text = None
    quantity: Maybe[Intish] = None
    thumbnail: Text = None


class _OrderBase(SallaModel):
    """Fields shared by the order list item and order details."""

    id: SallaId
    reference_id: Maybe[Intish] = None
    date: Maybe[SallaDateTime] = None
    status: Maybe[OrderStatus] = None
    payment_method: Text = None
    exchange_rate: Maybe[ExchangeRate] = None
    can_cancel: Maybe[Boolish] = None
    can_reorder: Maybe[Boolish] = None
    is_pending_payment: Maybe[Boolish] = None
    pending_payment_ends_at: Maybe[Intish] = None
    features: Maybe[SallaObject] = None


class OrderSummary(_OrderBase):
    """An order as returned by ``GET /orders``.

    The list item has no customer, no amounts breakdown and no ``updated_at``;
    fetch :class:`Order` for those.
    """

    total: Maybe[Money] = None
    items: ListOf[OrderSummaryItem] = Field(default_factory=list)


class Order(_OrderBase):
    """An order's details (``GET /orders/{id}`` and order webhooks)."""

    checkout_id: Maybe[Intish] = None
    urls: Maybe[Urls] = None
    updated_at: Maybe[SallaDateTime] = None
    source: Text = None
    source_device: Text = None
    source_details: Maybe[SallaObject] = None
    is_price_quote: Maybe[Boolish] = None
    draft: Maybe[Boolish] = None
    read: Maybe[Boolish] = None
    currency: Text = None
    amounts: Maybe[OrderAmounts] = None
    total: Maybe[Money] = None
    show_weight: Maybe[Boolish] = None
    total_weight: Text = None
    receiver: Maybe[OrderReceiver] = None
    customer: Maybe[OrderCustomer] = None
    bank: Maybe[SallaObject] = None
    shipping: Maybe[SallaObject] = None
    shipments: ListOf[Shipment] = Field(default_factory=list)
    items: ListOf[OrderItem] = Field(default_factory=list)
    tags: ListOf[OrderTag] = Field(default_factory=list)
    actions: Maybe[SallaObject] = None
    receipt_image: Text = None


class UserRef(SallaModel):
    """A person referenced by id and name (e.g. who changed an order status)."""

    id: Maybe[Intish] = None
    name: Text = None


class OrderHistory(SallaModel):
    """An entry in an order's status history.

    ``status`` is the localized status name as text; ``customized`` carries the
    structured status with its ``slug``, ``original`` and ``parent``.
    """

    id: SallaId
    status: Text = None
    customized: Maybe[OrderStatus] = None
    note: Text = None
    type: Text = None
    created_at: Maybe[SallaDateTime] = None
    created_by: Maybe[UserRef] = None
