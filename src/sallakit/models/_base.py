"""Base model, money, pagination, the response envelope and small shared shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import ExtraValues

from sallakit.models._types import (
    Boolish,
    Decimalish,
    Intish,
    Maybe,
    Text,
    _is_blank,
    _to_int,
)

__all__ = [
    "Money",
    "Pagination",
    "PaginationLinks",
    "SallaModel",
    "SallaObject",
    "SallaResponse",
    "SeoMetadata",
    "Tax",
    "Urls",
]

T = TypeVar("T")


class SallaModel(BaseModel):
    """Base for every Salla model.

    Unknown fields are kept (``model.model_extra`` and attribute access), so a
    field Salla adds tomorrow is not lost on a round trip through the store
    mirror. Fields may be populated by their Python name or by Salla's alias.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class _Coercing(SallaModel):
    """A model with another, drifted shape of input (a bare number, a bare URL, a bare id).

    Subclasses define ``_coerce(value)``, which turns that shape into the object form. As a field
    (``Maybe[X]``, ``ListOf[X]``) it runs only when the object form does not validate, so that
    well-formed answers never call Python (a ``model_validator`` would run for every object);
    ``X.model_validate(value)`` applies it first.
    """

    @staticmethod
    def _coerce(data: Any) -> Any:
        return data

    @classmethod
    def model_validate(
        cls,
        obj: Any,
        *,
        strict: bool | None = None,
        extra: ExtraValues | None = None,
        from_attributes: bool | None = None,
        context: Any | None = None,
        by_alias: bool | None = None,
        by_name: bool | None = None,
    ) -> Self:
        return super().model_validate(
            cls._coerce(obj),
            strict=strict,
            extra=extra,
            from_attributes=from_attributes,
            context=context,
            by_alias=by_alias,
            by_name=by_name,
        )


def _id_or_text(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    try:
        return _to_int(value)
    except ValueError:
        # Some nested ids are external references such as "SAIF2485".
        return str(value)


class SallaObject(SallaModel):
    """Any Salla object without a dedicated model; every key is kept as an extra.

    Attributes:
        id: The object's id when it has one: an int when numeric, else the text.
    """

    id: int | str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _coerce_id(cls, value: Any) -> Any:
        return _id_or_text(value)


class Money(_Coercing):
    """An amount of money.

    Accepts ``{"amount": 100, "currency": "SAR"}``, ``{"amount": "15.00"}`` and a
    bare number or numeric string (then ``currency`` is ``None``).

    Attributes:
        amount: The amount, always a :class:`~decimal.Decimal`.
        currency: ISO currency code, e.g. ``"SAR"``, when Salla sends one.
    """

    # ``amount`` is required, so {} and [] fail here on their own: Maybe[Money] may try the
    # value as a Money first (see sallakit.models._types.Maybe).
    _refuses_blanks: ClassVar[bool] = True

    amount: Decimalish
    currency: Text = None

    @staticmethod
    def _coerce(data: Any) -> Any:
        if isinstance(data, (int, float, str, Decimal)) and not isinstance(data, bool):
            return {"amount": data}
        return data


class Tax(SallaModel):
    """A tax line: ``{"percent": "15.00", "amount": {"amount": 39.46, "currency": "SAR"}}``.

    A flat money shape (``{"amount": 0, "currency": "SAR"}``) or a bare number is
    read as the tax amount with no percent.

    Attributes:
        percent: The tax rate in percent.
        amount: The tax amount.
    """

    percent: Maybe[Decimalish] = None
    amount: Maybe[Money] = None

    @model_validator(mode="before")
    @classmethod
    def _accept_flat_money(cls, data: Any) -> Any:
        if isinstance(data, (int, float, str, Decimal)) and not isinstance(data, bool):
            return {"amount": data}
        if isinstance(data, dict) and "currency" in data and "percent" not in data:
            rest = {k: v for k, v in data.items() if k not in ("amount", "currency")}
            amount = data.get("amount")
            if _is_blank(amount):
                return {**rest, "amount": None}
            return {**rest, "amount": {"amount": amount, "currency": data["currency"]}}
        return data


class PaginationLinks(SallaModel):
    """Links to neighbouring pages; both absent on a single page."""

    next: Text = None
    previous: Text = None


class Pagination(SallaModel):
    """Salla's page-number pagination block (camelCase on the wire).

    Attributes:
        count: Items on this page.
        total: Items across all pages.
        per_page: Page size (``perPage``).
        current_page: 1-based page number (``currentPage``).
        total_pages: Number of pages (``totalPages``).
        links: ``next``/``previous`` URLs; ``{}``, ``[]`` and ``null`` read as no links.
    """

    count: Maybe[Intish] = None
    total: Maybe[Intish] = None
    per_page: Maybe[Intish] = Field(default=None, alias="perPage")
    current_page: Maybe[Intish] = Field(default=None, alias="currentPage")
    total_pages: Maybe[Intish] = Field(default=None, alias="totalPages")
    links: PaginationLinks = Field(default_factory=PaginationLinks)

    @field_validator("links", mode="before")
    @classmethod
    def _blank_links(cls, value: Any) -> Any:
        # PHP renders an empty map as []; a list never carries named links
        # (one documented example even holds the placeholder ["string"]).
        return {} if _is_blank(value) or isinstance(value, list) else value

    @property
    def has_next(self) -> bool:
        """Whether another page follows this one."""
        if self.current_page is not None and self.total_pages is not None:
            return self.current_page < self.total_pages
        return bool(self.links.next)


class SallaResponse(SallaModel, Generic[T]):
    """The ``{"status", "success", "data", "pagination"}`` envelope.

    Use ``SallaResponse[Product]`` for a single object and
    ``SallaResponse[list[Product]]`` for a list page.
    """

    status: Maybe[Intish] = None
    success: Maybe[Boolish] = None
    data: T
    pagination: Maybe[Pagination] = None


class Urls(SallaModel):
    """Storefront and dashboard links of an object."""

    customer: Text = None
    admin: Text = None


class SeoMetadata(SallaModel):
    """SEO ``metadata`` of products, categories and brands."""

    title: Text = None
    description: Text = None
    url: Text = None
