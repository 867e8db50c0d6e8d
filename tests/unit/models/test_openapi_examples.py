"""Every 2xx example body in Salla's per-endpoint OpenAPI documents parses.

The documents live next to the repository (``../shared/salla-openapi``); CI has
them. Their examples are hand-written by Salla and drift in type from page to
page, which makes them a good corpus for the drift the models must absorb.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sallakit.models import (
    Brand,
    Category,
    Customer,
    Order,
    OrderHistory,
    OrderItem,
    OrderStatus,
    OrderSummary,
    Product,
    ProductOption,
    ProductOptionValue,
    ProductQuantity,
    ProductQuantityChange,
    ProductTag,
    ProductVariant,
    SallaObject,
    SallaResponse,
    Shipment,
    StoreInfo,
    UserInfo,
    Webhook,
    WebhookEvent,
)

yaml = pytest.importorskip("yaml")

SPEC_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "salla-openapi"

# Operations whose ``data`` is a status message or job handle, not a resource.
_MESSAGE = SallaObject | str

MODEL_BY_FILE: dict[str, Any] = {
    "products/bulk-product-actions.yaml": _MESSAGE,
    "products/change-product-status.yaml": _MESSAGE,
    "products/create-product.yaml": Product,
    "products/delete-product-by-sku.yaml": _MESSAGE,
    "products/delete-product.yaml": _MESSAGE,
    "products/import-products.yaml": _MESSAGE,
    "products/list-products.yaml": Product,
    "products/product-details-by-sku.yaml": Product,
    "products/product-details.yaml": Product,
    "products/update-bulk-product-prices.yaml": _MESSAGE,
    "products/update-product-by-sku.yaml": Product,
    "products/update-product-price-by-sku.yaml": Product,
    "products/update-product.yaml": Product,
    "orders/create-drafted-order.yaml": Order,
    "orders/create-order.yaml": Order,
    "orders/duplicate-order.yaml": Order,
    "orders/list-orders.yaml": OrderSummary,
    "orders/order-actions.yaml": _MESSAGE,
    "orders/order-details.yaml": Order,
    "orders/relocate-order-stock.yaml": _MESSAGE,
    "orders/update-order.yaml": Order,
    "order-items/create-order-item.yaml": OrderItem,
    "order-items/delete-order-item.yaml": _MESSAGE,
    "order-items/list-order-items.yaml": OrderItem,
    "order-items/update-order-item.yaml": OrderItem,
    "order-histories/create-order-history.yaml": OrderHistory,
    "order-histories/list-order-histories.yaml": OrderHistory,
    "customers/ban-customer.yaml": _MESSAGE,
    "customers/create-customer.yaml": Customer,
    "customers/customer-details.yaml": Customer,
    "customers/delete-customer.yaml": _MESSAGE,
    "customers/import-customers.yaml": _MESSAGE,
    "customers/list-customers.yaml": Customer,
    "customers/un-ban-customer.yaml": _MESSAGE,
    "customers/update-customer.yaml": Customer,
    "categories/categories-search.yaml": Category,
    "categories/category-children.yaml": Category,
    "categories/category-details.yaml": Category,
    "categories/create-category.yaml": Category,
    "categories/delete-category.yaml": _MESSAGE,
    "categories/list-categories.yaml": Category,
    "categories/list-category-products.yaml": Product,
    "categories/update-category.yaml": Category,
    "brands/brand-details.yaml": Brand,
    "brands/create-brand.yaml": Brand,
    "brands/delete-brand.yaml": _MESSAGE,
    "brands/list-brands.yaml": Brand,
    "brands/update-brand.yaml": Brand,
    "shipments/cancel-shipment.yaml": Shipment,
    "shipments/create-shipment.yaml": Shipment,
    "shipments/list-shipments.yaml": Shipment,
    "shipments/return-shipment.yaml": Shipment,
    "shipments/shipment-details.yaml": Shipment,
    "shipments/shipment-tracking.yaml": Shipment,
    "shipments/update-shipment-details.yaml": Shipment,
    "product-variants/list-product-variants.yaml": ProductVariant,
    "product-variants/product-variant-details.yaml": ProductVariant,
    "product-variants/update-product-variant-quantity.yaml": ProductVariant,
    "product-variants/update-product-variant.yaml": ProductVariant,
    "product-options/create-product-option.yaml": ProductOption,
    "product-options/delete-product-option.yaml": _MESSAGE,
    "product-options/product-option-details.yaml": ProductOption,
    "product-options/update-product-option.yaml": ProductOption,
    "product-option-values/create-product-option-value.yaml": ProductOption,
    "product-option-values/delete-product-option-value.yaml": _MESSAGE,
    "product-option-values/product-option-value-details.yaml": ProductOptionValue,
    "product-option-values/update-product-option-value.yaml": ProductOptionValue,
    "product-quantity/list-product-quantities.yaml": ProductQuantity,
    "product-quantity/list-quantity-audit.yaml": ProductQuantityChange,
    "product-quantity/list-quantity-change-reasons.yaml": SallaObject,
    "product-quantity/update-bulk-quantities.yaml": _MESSAGE,
    "product-tags/create-product-tag.yaml": ProductTag,
    "product-tags/list-product-tags.yaml": ProductTag,
    "order-status/create-custom-order-status.yaml": OrderStatus,
    "order-status/list-order-statuses.yaml": OrderStatus,
    "order-status/order-status-details.yaml": OrderStatus,
    "order-status/sort-orders-statuses.yaml": _MESSAGE,
    "order-status/update-bulk-orders-statuses.yaml": _MESSAGE,
    "order-status/update-custom-order-status.yaml": OrderStatus,
    "order-status/update-order-status.yaml": _MESSAGE,
    "merchant/store-information.yaml": StoreInfo,
    "merchant/user-information-details.yaml": UserInfo,
    "webhooks/deactivate-webhook.yaml": _MESSAGE,
    "webhooks/list-active-webhooks.yaml": Webhook,
    "webhooks/list-events.yaml": WebhookEvent,
    "webhooks/register-webhook.yaml": Webhook,
    "webhooks/update-webhook.yaml": Webhook,
}

GROUPS = sorted({name.split("/")[0] for name in MODEL_BY_FILE})


def _success_examples(path: Path) -> list[tuple[str, Any]]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    found: list[tuple[str, Any]] = []
    for operations in document["paths"].values():
        for method, operation in operations.items():
            for code, response in (operation.get("responses") or {}).items():
                # Apidog names extra success examples "x-200:<title>".
                if not str(code).removeprefix("x-").startswith("2"):
                    continue
                for media in (response.get("content") or {}).values():
                    if "example" in media:
                        found.append((f"{method} {code}", media["example"]))
                    for name, example in (media.get("examples") or {}).items():
                        value = example.get("value") if isinstance(example, dict) else example
                        found.append((f"{method} {code} {name}", value))
    return found


def _cases() -> list[Any]:
    if not SPEC_DIR.is_dir():
        return []
    cases = []
    for relative, model in MODEL_BY_FILE.items():
        for label, body in _success_examples(SPEC_DIR / relative):
            if isinstance(body, dict) and "data" in body:
                cases.append(pytest.param(model, body, id=f"{relative}:{label}"))
    return cases


pytestmark = pytest.mark.skipif(
    not SPEC_DIR.is_dir(),
    reason="Salla OpenAPI documents not found at ../shared/salla-openapi (CI provides them)",
)


def test_every_relevant_document_is_mapped() -> None:
    present = {
        f"{group}/{path.name}" for group in GROUPS for path in (SPEC_DIR / group).glob("*.yaml")
    }
    assert present == set(MODEL_BY_FILE)


@pytest.mark.parametrize(("model", "body"), _cases())
def test_example_parses(model: Any, body: dict[str, Any]) -> None:
    data = body["data"]
    if model is UserInfo:
        parsed_user = UserInfo.model_validate(body)
        assert parsed_user.merchant.id == data["merchant"]["id"]
        return
    envelope = SallaResponse[list[model]] if isinstance(data, list) else SallaResponse[model]  # type: ignore[valid-type]
    parsed = envelope.model_validate(body)
    items = parsed.data if isinstance(parsed.data, list) else [parsed.data]
    assert len(items) == (len(data) if isinstance(data, list) else 1)
    if model is not _MESSAGE:
        assert all(isinstance(item, model) for item in items)
