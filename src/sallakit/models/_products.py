"""Products, their options, SKUs (variants), images, and catalog references."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sallakit.models._base import Money, SallaModel, SallaObject, SeoMetadata, Urls, _Coercing
from sallakit.models._types import (
    Boolish,
    Decimalish,
    Intish,
    ListOf,
    Maybe,
    SallaDateTime,
    SallaId,
    Text,
    Translations,
)

__all__ = [
    "BrandRef",
    "CategoryRef",
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
    "ScopedPrice",
]


class ProductImage(_Coercing):
    """An image (or video) of a product."""

    id: Maybe[Intish] = None
    url: Text = None
    main: Maybe[Boolish] = None
    three_d_image_url: Text = None
    alt: Text = None
    video_url: Text = None
    type: Text = None
    sort: Maybe[Intish] = None

    @staticmethod
    def _coerce(data: Any) -> Any:
        # Category product lists send "image" as a bare URL string.
        return {"url": data} if isinstance(data, str) else data


class ProductOptionValue(SallaModel):
    """One selectable value of a product option (e.g. "Red")."""

    id: Maybe[Intish] = None
    name: Text = None
    price: Maybe[Money] = None
    option_id: Maybe[Intish] = None
    is_default: Maybe[Boolish] = None
    is_out_of_stock: Maybe[Boolish] = None
    image_url: Text = None
    display_value: Text = None
    translations: Translations = Field(default_factory=dict)


class ProductOption(SallaModel):
    """A product option (e.g. "Color") with its values."""

    id: Maybe[Intish] = None
    name: Text = None
    description: Text = None
    type: Text = None
    required: Maybe[Boolish] = None
    display_type: Text = None
    visibility: Text = None
    sort: Maybe[Intish] = None
    from_date_time: Maybe[SallaDateTime] = None
    to_date_time: Maybe[SallaDateTime] = None
    translations: Translations = Field(default_factory=dict)
    values: ListOf[ProductOptionValue] = Field(default_factory=list)


class ProductSku(SallaModel):
    """A SKU, i.e. a variant: one combination of option values with its own stock."""

    id: Maybe[Intish] = None
    sku: Text = None
    barcode: Text = None
    mpn: Text = None
    gtin: Text = None
    price: Maybe[Money] = None
    regular_price: Maybe[Money] = None
    cost_price: Maybe[Money] = None
    sale_price: Maybe[Money] = None
    has_special_price: Maybe[Boolish] = None
    stock_quantity: Maybe[Intish] = None
    unlimited_quantity: Maybe[Boolish] = None
    notify_low: Maybe[Intish] = None
    related_options: ListOf[Intish] = Field(default_factory=list)
    related_option_values: ListOf[Intish] = Field(default_factory=list)
    weight: Maybe[Decimalish] = None
    weight_type: Text = None
    weight_label: Text = None
    is_default: Maybe[Boolish] = None


#: Salla's API calls variants "skus"; both names refer to the same model.
ProductVariant = ProductSku


class _Ref(_Coercing):
    """An object embedded by reference: ``{id, name, url}`` or just its id."""

    id: Maybe[Intish] = None
    name: Text = None
    url: Text = None

    @staticmethod
    def _coerce(data: Any) -> Any:
        # Some product payloads list tags/categories as bare ids: "tags": [1366932222].
        if isinstance(data, (int, str)) and not isinstance(data, bool):
            return {"id": data}
        return data


class CategoryRef(_Ref):
    """A category as embedded in a product (``id`` may be missing or a string)."""


class BrandRef(_Ref):
    """A brand as embedded in a product."""


class ProductTag(_Ref):
    """A tag as embedded in a product."""


class ProductQuantity(SallaModel):
    """Stock of a product or of one of its variants (``GET /products/quantities``).

    A product with variants is listed once per variant: ``sku_id`` and ``variant`` (the option
    values' names) tell which. ``price`` arrives as a bare number or a string.
    """

    id: Maybe[Intish] = None
    name: Text = None
    image: Text = None
    sku_id: Maybe[Intish] = None
    sku: Text = None
    variant: Text = None
    quantity: Maybe[Intish] = None
    sold_quantity: Maybe[Intish] = None
    unlimited_quantity: Maybe[Boolish] = None
    price: Maybe[Money] = None


class ProductQuantityChange(SallaModel):
    """One entry of the stock audit (``GET /products/quantities/audit``)."""

    id: Maybe[Intish] = None
    name: Text = None
    image: Text = None
    sku: Text = None
    variant: Text = None
    old_quantity: Maybe[Intish] = None
    new_quantity: Maybe[Intish] = None
    unlimited_quantity: Maybe[Boolish] = None
    reason: Text = None
    user: Maybe[SallaObject] = None
    created_at: Maybe[SallaDateTime] = None


class ProductPromotion(SallaModel):
    """Promotion banner text of a product."""

    title: Text = None
    sub_title: Text = None


class ProductRating(SallaModel):
    """Aggregate customer rating of a product."""

    total: Maybe[Intish] = None
    count: Maybe[Intish] = None
    rate: Maybe[Decimalish] = None


class ScopedPrice(SallaModel):
    """A per-market price (multi-country stores); amounts are bare numbers here."""

    scope_id: Maybe[Intish] = None
    price: Maybe[Decimalish] = None
    cost_price: Maybe[Decimalish] = None
    sale_price: Maybe[Decimalish] = None
    sale_start: Maybe[SallaDateTime] = None
    sale_end: Maybe[SallaDateTime] = None
    currency: Text = None


class Product(SallaModel):
    """A product, from the list, details, create/update and product webhooks.

    ``quantity`` arrives as ``"50"`` in lists and ``0`` in details; both are
    ints here. ``cost_price`` arrives as ``"35"`` and is a :class:`Money` with
    no currency, like every other price field.
    """

    id: SallaId
    name: Text = None
    description: Text = None
    type: Text = None
    status: Text = None
    sku: Text = None
    mpn: Text = None
    gtin: Text = None
    short_link_code: Text = None
    url: Text = None
    urls: Maybe[Urls] = None
    thumbnail: Text = None
    main_image: Text = None
    image: Maybe[ProductImage] = None
    images: ListOf[ProductImage] = Field(default_factory=list)
    promotion: Maybe[ProductPromotion] = None
    price: Maybe[Money] = None
    taxed_price: Maybe[Money] = None
    pre_tax_price: Maybe[Money] = None
    tax: Maybe[Money] = None
    sale_price: Maybe[Money] = None
    regular_price: Maybe[Money] = None
    starting_price: Maybe[Money] = None
    cost_price: Maybe[Money] = None
    currency: Text = None
    has_special_price: Maybe[Boolish] = None
    sale_start: Maybe[SallaDateTime] = None
    sale_end: Maybe[SallaDateTime] = None
    scoped_prices: ListOf[ScopedPrice] = Field(default_factory=list)
    quantity: Maybe[Intish] = None
    unlimited_quantity: Maybe[Boolish] = None
    notify_quantity: Maybe[Intish] = None
    sold_quantity: Maybe[Intish] = None
    max_items_per_user: Maybe[Intish] = None
    maximum_quantity_per_order: Maybe[Intish] = None
    hide_quantity: Maybe[Boolish] = None
    managed_by_branches: Maybe[Boolish] = None
    customized_sku_quantity: Maybe[Boolish] = None
    is_available: Maybe[Boolish] = None
    is_taxable: Maybe[Boolish] = None
    with_tax: Maybe[Boolish] = None
    require_shipping: Maybe[Boolish] = None
    show_in_app: Maybe[Boolish] = None
    allow_attachments: Maybe[Boolish] = None
    enable_upload_image: Maybe[Boolish] = None
    has_options: Maybe[Boolish] = None
    is_pinned: Maybe[Boolish] = None
    pinned_date: Maybe[SallaDateTime] = None
    views: Maybe[Intish] = None
    sort: Maybe[Intish] = None
    weight: Maybe[Decimalish] = None
    weight_type: Text = None
    calories: Maybe[Decimalish] = None
    rating: Maybe[ProductRating] = None
    metadata: Maybe[SeoMetadata] = None
    channels: ListOf[str] = Field(default_factory=list)
    brand: Maybe[BrandRef] = None
    category: Maybe[CategoryRef] = None
    categories: ListOf[CategoryRef] = Field(default_factory=list)
    tags: ListOf[ProductTag] = Field(default_factory=list)
    options: ListOf[ProductOption] = Field(default_factory=list)
    skus: ListOf[ProductSku] = Field(default_factory=list)
    branches: ListOf[SallaObject] = Field(default_factory=list)
    translations: Translations = Field(default_factory=dict)
    created_at: Maybe[SallaDateTime] = None
    updated_at: Maybe[SallaDateTime] = None

    @property
    def variants(self) -> list[ProductSku]:
        """The product's SKUs under their storefront name."""
        return self.skus
