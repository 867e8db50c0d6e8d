"""Categories and brands."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, Field

from sallakit.models._base import SallaModel, SeoMetadata, Urls
from sallakit.models._types import (
    Boolish,
    Intish,
    ListOf,
    Maybe,
    SallaDateTime,
    SallaId,
    Text,
    Translations,
)

__all__ = ["Brand", "Category", "CategoryShowIn"]


class CategoryShowIn(SallaModel):
    """Channels a category is shown in."""

    app: Maybe[Boolish] = None
    salla_points: Maybe[Boolish] = None


class Category(SallaModel):
    """A product category; children arrive as ``items`` or ``sub_categories``.

    Salla names the modification time ``update_at`` (sic); it is read into
    ``updated_at`` and still readable as ``update_at``.
    """

    id: SallaId
    name: Text = None
    image: Text = None
    urls: Maybe[Urls] = None
    parent_id: Maybe[Intish] = None
    sort_order: Maybe[Intish] = None
    status: Text = None
    show_in: Maybe[CategoryShowIn] = None
    has_hidden_products: Maybe[Boolish] = None
    metadata: Maybe[SeoMetadata] = None
    translations: Translations = Field(default_factory=dict)
    items: ListOf[Category] = Field(default_factory=list)
    sub_categories: ListOf[Category] = Field(default_factory=list)
    updated_at: Maybe[SallaDateTime] = Field(
        default=None, validation_alias=AliasChoices("updated_at", "update_at")
    )

    @property
    def update_at(self) -> datetime | None:
        """Salla's spelling of :attr:`updated_at`."""
        return self.updated_at


class Brand(SallaModel):
    """A product brand."""

    id: SallaId
    name: Text = None
    description: Text = None
    banner: Text = None
    logo: Text = None
    ar_char: Text = None
    en_char: Text = None
    metadata: Maybe[SeoMetadata] = None
    translations: Translations = Field(default_factory=dict)
