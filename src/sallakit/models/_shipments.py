"""Shipments and their addresses, packages and history."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from sallakit.models._base import Money, SallaModel, SallaObject
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
    "GeoCoordinates",
    "Shipment",
    "ShipmentAddress",
    "ShipmentHistory",
    "ShipmentLabel",
    "ShipmentPackage",
    "ShipmentStatus",
    "Weight",
]


class GeoCoordinates(SallaModel):
    """Latitude/longitude; Salla sends numbers or numeric strings."""

    lat: Maybe[Decimalish] = None
    lng: Maybe[Decimalish] = None


class Weight(SallaModel):
    """A weight with its unit (``units`` in some payloads, ``unit`` in others)."""

    value: Maybe[Decimalish] = None
    units: Text = Field(default=None, validation_alias=AliasChoices("units", "unit"))


class ShipmentAddress(SallaModel):
    """``ship_from`` / ``ship_to`` of a shipment (a branch or a customer address)."""

    type: Text = None
    name: Text = None
    email: Text = None
    phone: Text = None
    branch_id: Maybe[Intish] = None
    country: Text = None
    country_code: Text = None
    city: Text = None
    block: Text = None
    address_line: Text = None
    street_number: Text = None
    postal_code: Text = None
    short_address: Text = None
    building_number: Text = None
    additional_number: Text = None
    latitude: Maybe[Decimalish] = None
    longitude: Maybe[Decimalish] = None
    geo_coordinates: Maybe[GeoCoordinates] = None


class ShipmentPackage(SallaModel):
    """One order item (or part of it) inside a shipment."""

    item_id: Maybe[Intish] = None
    external_id: Text = None
    name: Text = None
    sku: Text = None
    price: Maybe[Money] = None
    quantity: Maybe[Intish] = None
    weight: Maybe[Weight] = None


class ShipmentLabel(SallaModel):
    """The printable shipping label."""

    format: Text = None
    url: Text = None


class ShipmentHistory(SallaModel):
    """A tracking event; Salla spells the timestamp ``create_at``."""

    status: Text = None
    note: Text = None
    created_at: Maybe[SallaDateTime] = Field(
        default=None, validation_alias=AliasChoices("created_at", "create_at")
    )


class ShipmentStatus(SallaModel):
    """A shipment status sent as an object (``{id, name, slug}``)."""

    id: Maybe[Intish] = None
    name: Text = None
    slug: Text = None


class Shipment(SallaModel):
    """A shipment or return shipment of an order.

    ``status`` is usually a slug string (``"delivering"``); a few payloads send
    ``{id, name, slug}``. :attr:`status_slug` reads either.
    """

    id: SallaId
    order_id: Maybe[Intish] = None
    order_reference_id: Maybe[Intish] = None
    reference: Maybe[SallaObject] = None
    type: Text = None
    status: Maybe[ShipmentStatus | str] = None
    courier_id: Maybe[Intish] = None
    courier_name: Text = None
    courier_logo: Text = None
    courier: Maybe[SallaObject] = None
    external_company_name: Text = None
    shipping_number: Text = None
    tracking_number: Text = None
    tracking_link: Text = None
    trackable: Maybe[Boolish] = None
    pickup_id: Text = None
    label: Maybe[ShipmentLabel] = None
    payment_method: Text = None
    source: Text = None
    billing_account: Text = None
    description: Text = None
    remarks: Text = None
    is_international: Maybe[Boolish] = None
    total: Maybe[Money] = None
    cash_on_delivery: Maybe[Money] = None
    total_weight: Maybe[Weight] = None
    shipping_route: Maybe[SallaObject] = None
    service_types: ListOf[str] = Field(default_factory=list)
    packages: ListOf[ShipmentPackage] = Field(default_factory=list)
    ship_from: Maybe[ShipmentAddress] = None
    ship_to: Maybe[ShipmentAddress] = None
    meta: Maybe[SallaObject] = None
    history: ListOf[ShipmentHistory] = Field(default_factory=list)
    created_at: Maybe[SallaDateTime] = None
    updated_at: Maybe[SallaDateTime] = None

    @property
    def status_slug(self) -> str | None:
        """The status slug whichever shape ``status`` arrived in."""
        if isinstance(self.status, ShipmentStatus):
            return self.status.slug
        return self.status
