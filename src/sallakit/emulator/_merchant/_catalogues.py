"""Store metadata chosen from Salla's catalogues: languages, currencies, DNS records, settings,
product tags.

These resources are not free-form records: a store activates languages and currencies that
Salla knows (by ISO code), and its settings are a fixed set of slugs per entity. Each lives in
the store's generic data under its own key (so snapshots carry it), seeded on first use with
what a new Salla store shows (Arabic and English, the riyal, the documented default settings),
and every write shows in the lists and details after it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sallakit.emulator._context import ApiRequest, ApiResponse, RequestContext

from ._common import ack, list_response
from ._shapes import not_found, parse_int, require_fields, validation_error
from ._tables import ORDER_STATUSES

__all__ = ["CATALOGUE_HANDLERS"]

# -- languages ---------------------------------------------------------------------------------

# ISO code -> (name in the language itself, right to left, flag country), as Salla lists them.
LANGUAGES: Mapping[str, tuple[str, bool, str]] = {
    "ar": ("العربية", True, "sa"),
    "en": ("English", False, "gb"),
    "fr": ("français", False, "fr"),
    "de": ("Deutsch", False, "de"),
    "es": ("español", False, "es"),
    "it": ("italiano", False, "it"),
    "tr": ("Türkçe", False, "tr"),
    "ur": ("اردو", True, "pk"),
    "fa": ("فارسی", True, "ir"),
    "hi": ("हिन्दी", False, "in"),
    "id": ("Bahasa Indonesia", False, "id"),
    "ms": ("Bahasa Melayu", False, "my"),
    "ru": ("русский", False, "ru"),
    "zh": ("中文", False, "cn"),
    "fi": ("suomen kieli", False, "fi"),
    "el": ("Ελληνικά", False, "gr"),
    "bn": ("বাংলা", False, "bd"),
    "pt": ("português", False, "pt"),
}
_LANGUAGE_IDS = {code: n + 1 for n, code in enumerate(LANGUAGES)}


def _languages(store: Any) -> dict[str, dict[str, Any]]:
    held: dict[str, dict[str, Any]] | None = store.generic.get("catalogue:languages")
    if held is None:
        held = {
            "ar": {"status": "enabled", "sort_order": 0},
            "en": {"status": "enabled", "sort_order": 1},
        }
        store.generic["catalogue:languages"] = held
    return held


def _language_json(code: str, state: Mapping[str, Any]) -> dict[str, Any]:
    name, rtl, country = LANGUAGES[code]
    return {
        "id": _LANGUAGE_IDS[code],
        "name": name,
        "status": state["status"],
        "rtl": rtl,
        "flag": f"https://assets.salla.sa/images/flags/{code}.svg",
        "iso_code": code,
        "country_code": country,
        "sort_order": state["sort_order"],
    }


def languages_list(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    held = _languages(store)
    rows = sorted(held.items(), key=lambda kv: (kv[1]["sort_order"], _LANGUAGE_IDS[kv[0]]))
    return ApiResponse(data=[_language_json(code, state) for code, state in rows])


def _sort_order(ctx: RequestContext, raw: Any, name: str) -> int:
    value = parse_int(raw)
    if value is None or not 0 <= value <= 10_000:
        raise validation_error(ctx, invalid=[name])
    return value


def languages_create(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    """``{"locales": [{"iso_code", "sort_order"}]}``: the languages added, as Salla answers."""
    body = require_fields(ctx, request.body, ("locales",))
    locales = body["locales"]
    if not isinstance(locales, list):
        raise validation_error(ctx, invalid=["locales"])
    added: dict[str, dict[str, Any]] = {}
    for n, locale in enumerate(locales):
        code = str(locale.get("iso_code") or "").lower() if isinstance(locale, dict) else ""
        if code not in LANGUAGES:
            raise validation_error(ctx, invalid=[f"locales.{n}.iso_code"])
        order = locale.get("sort_order", len(_languages(store)) + n)
        added[code] = {"status": "enabled", "sort_order": _sort_order(ctx, order, "sort_order")}
    _languages(store).update(added)
    store.serial += 1
    return ApiResponse(
        data=[_language_json(code, state) for code, state in added.items()],
        status=request.endpoint.success_status,
    )


def languages_update(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    """``PUT /languages/{locale}``: ``status`` (boolean) and ``sort_order`` of a store language."""
    held = _languages(store)
    code = request.path_params.get("locale", "").lower()
    if code not in held:
        raise not_found(ctx)
    body = request.body if isinstance(request.body, dict) else {}
    state = dict(held[code])
    if "status" in body:
        status = body["status"]
        if status not in (True, False, "enabled", "disabled"):
            raise validation_error(ctx, invalid=["status"])
        state["status"] = "enabled" if status in (True, "enabled") else "disabled"
    if "sort_order" in body:
        state["sort_order"] = _sort_order(ctx, body["sort_order"], "sort_order")
    held[code] = state
    store.serial += 1
    return ApiResponse(data=[_language_json(code, state)], status=request.endpoint.success_status)


# -- currencies --------------------------------------------------------------------------------

# Code -> (Arabic name, symbol, English name, country code, Arabic and English country name).
CURRENCIES: Mapping[str, tuple[str, str, str, str, str, str]] = {
    "SAR": ("ريال سعودي", "ر.س", "Riyals", "SA", "السعودية", "Saudi Arabia"),
    "AED": ("درهم اماراتي", "د.إ", "Dirham", "AE", "الامارات", "United Arab Emirates"),
    "KWD": ("دينار كويتي", "د.ك", "Dinar", "KW", "الكويت", "Kuwait"),
    "QAR": ("ريال قطري", "ر.ق", "Rials", "QA", "قطر", "Qatar"),
    "BHD": ("دينار بحريني", "د.ب", "Dinar", "BH", "البحرين", "Bahrain"),
    "OMR": ("ريال عماني", "ر.ع", "Rial", "OM", "عمان", "Oman"),
    "EGP": ("جنيه مصري", "ج.م", "Pound", "EG", "مصر", "Egypt"),
    "JOD": ("دينار أردني", "د.أ", "Dinar", "JO", "الأردن", "Jordan"),
    "USD": ("دولار أمريكي", "$", "Dollar", "US", "الولايات المتحدة", "United States"),
    "EUR": ("يورو", "€", "Euro", "DE", "ألمانيا", "Germany"),
    "GBP": ("جنيه إسترليني", "£", "Pound", "GB", "المملكة المتحدة", "United Kingdom"),
}
_CURRENCY_IDS = {code: 566146469 + 7919 * n for n, code in enumerate(CURRENCIES)}


def _currencies(store: Any) -> dict[str, bool]:
    held: dict[str, bool] | None = store.generic.get("catalogue:currencies")
    if held is None:
        held = {"SAR": True}
        store.generic["catalogue:currencies"] = held
    return held


def _currency_json(code: str, enabled: bool) -> dict[str, Any]:
    name, symbol, *_ = CURRENCIES[code]
    return {
        "name": name,
        "code": code,
        "symbol": symbol,
        "status": "enabled" if enabled else "disabled",
    }


def currencies_list(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    return ApiResponse(data=[_currency_json(c, on) for c, on in _currencies(store).items()])


def currencies_activate(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    """``{"currencies": [{"code", "status"}]}``: activates or deactivates; the store's list."""
    body = require_fields(ctx, request.body, ("currencies",))
    wanted = body["currencies"]
    if not isinstance(wanted, list):
        raise validation_error(ctx, invalid=["currencies"])
    changes: dict[str, bool] = {}
    for n, item in enumerate(wanted):
        code = str(item.get("code") or "").upper() if isinstance(item, dict) else ""
        if code not in CURRENCIES:
            raise validation_error(ctx, invalid=[f"currencies.{n}.code"])
        status = item.get("status", True)
        if status not in (True, False, 0, 1):
            raise validation_error(ctx, invalid=[f"currencies.{n}.status"])
        changes[code] = bool(status)
    _currencies(store).update(changes)
    store.serial += 1
    return currencies_list(request, ctx, store)


def currencies_available(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    return ApiResponse(
        data=[
            {
                "id": _CURRENCY_IDS[code],
                "country_name_en": country_en,
                "country_name_ar": country_ar,
                "country_code": country,
                "currency_code": code,
                "currency_name_en": name_en,
                "currency_name_ar": name_ar,
            }
            for code, (name_ar, _, name_en, country, country_ar, country_en) in CURRENCIES.items()
        ]
    )


# -- DNS records -------------------------------------------------------------------------------

DNS_TYPES = ("A", "AAAA", "CNAME", "MX", "SPF", "TXT")


def _dns(store: Any) -> dict[str, dict[str, Any]]:
    held: dict[str, dict[str, Any]] | None = store.generic.get("catalogue:dns")
    if held is None:
        # A new store's domain: the records Salla's own example lists.
        held = {
            str(r["id"]): r
            for r in (
                {"id": 1773697839, "type": "A", "name": "@", "content": "192.0.2.10"},
                {"id": 998677032, "type": "CNAME", "name": "www", "content": "store.salla.sa"},
            )
        }
        store.generic["catalogue:dns"] = held
    return held


def dns_list(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    return ApiResponse(data=list(_dns(store).values()))


def dns_create(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    """``{type, name, value, priority}``; the record shows its value as ``content``."""
    body = require_fields(ctx, request.body, ("type", "name", "value"))
    kind = str(body["type"]).upper()
    if kind not in DNS_TYPES:
        raise validation_error(ctx, invalid=["type"])
    record: dict[str, Any] = {
        "id": ctx.next_id(),
        "type": kind,
        "name": str(body["name"]),
        "content": str(body["value"]),
    }
    if body.get("priority") is not None:
        priority = parse_int(body["priority"])
        if priority is None or not 0 <= priority <= 65_535:
            raise validation_error(ctx, invalid=["priority"])
        record["priority"] = priority
    _dns(store)[str(record["id"])] = record
    store.serial += 1
    return ApiResponse(data=dict(record), status=request.endpoint.success_status)


def dns_delete(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    held = _dns(store)
    if held.pop(request.path_params.get("dns_id", ""), None) is None:
        raise not_found(ctx)
    store.serial += 1
    return ack(request, ctx, deleted=True)


# -- settings ----------------------------------------------------------------------------------

# Every setting Salla's settings list examples show, per entity: slug -> (type, default value).
# A "form" setting has a value of its own shape, read through its details (``_FORMS``).
SETTINGS: Mapping[str, Mapping[str, tuple[str, Any]]] = {
    "orders": {
        "orders.receive_orders": ("form", None),
        "orders.receiving_times": ("form", None),
        "orders.order_notes": ("form", None),
        "orders.cancel_order": ("form", None),
        "orders.auto_complete": ("form", None),
        "orders.disable_bank_transfer_payment_period": ("boolean", False),
        "orders.shipping_indicator": ("boolean", True),
        "orders.price_quote": ("boolean", False),
        "orders.reorder": ("boolean", True),
        "orders.minimum_amount": ("string", "0.00"),
        "orders.attache_note_notify_status": ("boolean", True),
        "orders.status_notifications": ("dropdown", ["email"]),
        "orders.digital_products_notify": ("dropdown", ["email", "sms"]),
    },
    "products": {
        "products.duplicate_product_in_cart": ("boolean", True),
        "products.purchase_count": ("form", None),
        "products.quantity_sort": ("boolean", True),
        "products.recommendations": ("form", None),
        "products.show_special_offers": ("boolean", True),
        "products.show_weight": ("boolean", True),
        "products.show_sku": ("boolean", False),
        "products.product_price_included_tax": ("boolean", True),
        "products.default_weight": ("object", {"unit": "kg", "weight": 0.5}),
        "products.product_notify_availability": ("form", None),
        "products.product_inventory": ("form", None),
        "products.brand_options": ("form", None),
    },
    "reports": {"reports.order_statuses": ("form", None)},
    "feedbacks": {
        "feedbacks.publish_testimonials": ("boolean", True),
        "feedbacks.publish_ratings": ("boolean", True),
        "feedbacks.allow_attach_images": ("boolean", False),
        "feedbacks.products_feedback_enabled": ("boolean", True),
    },
    # Entities whose settings Salla's examples do not show answer the documented empty list.
    "customers": {},
    "blogs": {},
    "mahally": {},
    "shipping": {},
    "store": {},
}
_SETTING_TYPES = {slug: kind for group in SETTINGS.values() for slug, (kind, _) in group.items()}


def _receive_orders(value: Any) -> dict[str, Any]:
    message = "نعتذر عميلنا العزيز، وصلنا للحد الأعلى لطلبات اليوم، يمكنك الطلب بعد {time}."
    return {
        "receive_orders": value if isinstance(value, bool) else True,
        "limit": {"enable": False, "count": 50, "message": {"ar": message, "en": message}},
    }


def _receiving_times(value: Any) -> dict[str, Any]:
    days = ("saturday", "sunday", "monday", "tuesday", "wednesday", "thursday", "friday")
    return {d: {"enabled": True, "from": "00:00", "to": "23:55"} for d in days}


def _order_statuses(value: Any) -> dict[str, Any]:
    chosen = value if isinstance(value, list) else None
    return {
        "order_statuses": [
            {
                "id": s.id,
                "name": s.name_ar,
                "selected": chosen is None or str(s.id) in map(str, chosen),
            }
            for s in ORDER_STATUSES
        ]
    }


# The details of the form settings Salla documents (the page's examples), from the stored value.
_FORMS: Mapping[str, Callable[[Any], Any]] = {
    "orders.receive_orders": _receive_orders,
    "orders.receiving_times": _receiving_times,
    "reports.order_statuses": _order_statuses,
    "products.purchase_count": lambda v: {
        "enabled": v if isinstance(v, bool) else True,
        "condition": {"enabled": False, "categories": []},
    },
    "products.recommendations": lambda v: {
        "enabled": v if isinstance(v, bool) else True,
        "types": v if v in ("random", "category", "brand", "tag") else "category",
    },
    "products.product_inventory": lambda v: {
        "show_out_products": False,
        "manual_quantity": True,
        "display_product_quantity": v if v in ("show", "hide", "less_than_five") else "show",
    },
}


def _settings(store: Any) -> dict[str, Any]:
    held: dict[str, Any] | None = store.generic.get("catalogue:settings")
    if held is None:
        held = {slug: value for group in SETTINGS.values() for slug, (_, value) in group.items()}
        store.generic["catalogue:settings"] = held
    return held


def settings_list(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    entity = request.q("entity")
    if not entity:
        raise validation_error(ctx, missing=["entity"])
    if entity not in SETTINGS:
        raise validation_error(ctx, invalid=["entity"])
    held = _settings(store)
    rows = [
        {"slug": slug, "type": kind, "value": None if kind == "form" else held[slug]}
        for slug, (kind, _) in SETTINGS[entity].items()
    ]
    # Each value in its own type, as the page's examples show (its schema says text).
    return ApiResponse(data={"status": 200, "success": True, "data": rows}, raw=True)


def _slug(ctx: RequestContext, request: ApiRequest, store: Any) -> str:
    slug = request.path_params.get("slug", "")
    if slug not in _SETTING_TYPES:
        raise not_found(ctx)
    _settings(store)
    return slug


def settings_retrieve(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    """A setting's details: a documented form's shape, else the setting's list row."""
    slug = _slug(ctx, request, store)
    value = _settings(store)[slug]
    form = _FORMS.get(slug)
    data = (
        form(value)
        if form is not None
        else {"slug": slug, "type": _SETTING_TYPES[slug], "value": value}
    )
    # The page documents one shape per setting (an anyOf no single schema describes), so the
    # answer is sent as built, not conformed to the registry's merged reading of it.
    return ApiResponse(data={"status": 200, "success": True, "data": data}, raw=True)


def _valid_value(kind: str, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "dropdown":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "string":
        return isinstance(value, str)
    # A form takes any of the request schema's kinds (boolean, text, list of texts).
    return isinstance(value, bool | str) or (
        isinstance(value, list) and all(isinstance(v, str | int) for v in value)
    )


def settings_update(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    """``{"value": ...}`` of the setting's type; shown by the list and details after."""
    slug = _slug(ctx, request, store)
    body = request.body if isinstance(request.body, dict) else {}
    if "value" not in body:
        raise validation_error(ctx, missing=["value"])
    if not _valid_value(_SETTING_TYPES[slug], body["value"]):
        raise validation_error(ctx, invalid=["value"])
    _settings(store)[slug] = body["value"]
    store.serial += 1
    lang = "en" if ctx.language == "en" else "ar"
    message = {"en": "The record has been updated successfully", "ar": "تم تحديث السجل بنجاح"}
    status = request.endpoint.success_status
    return ApiResponse(data={"message": message[lang], "code": status}, status=status)


# -- product tags ------------------------------------------------------------------------------

# A store's product tags as a merchant names them (ids are Salla-sized and stable across runs).
_SEEDED_PRODUCT_TAGS = (
    (1481099481, "جديد"),
    (1481139984, "الأكثر مبيعاً"),
    (1481180487, "Best Seller"),
)
_TAG_NAME_LIMIT = 255


def _product_tags(store: Any) -> dict[str, dict[str, Any]]:
    held: dict[str, dict[str, Any]] | None = store.generic.get("catalogue:product_tags")
    if held is None:
        held = {str(tid): {"id": tid, "name": name} for tid, name in _SEEDED_PRODUCT_TAGS}
        store.generic["catalogue:product_tags"] = held
    return held


def product_tags_list(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    return list_response(request, ctx, list(_product_tags(store).values()), dict)


def product_tags_create(request: ApiRequest, ctx: RequestContext, store: Any) -> ApiResponse:
    """``POST /products/tags?tag_name=...`` (the document puts the name in the query; a JSON
    body's ``tag_name`` is taken too): the tag named as sent, listed afterwards. A name the
    store already has answers that tag rather than a second one with the same name."""
    body = request.body if isinstance(request.body, dict) else {}
    raw = request.q("tag_name")
    if raw is None:
        raw = body.get("tag_name")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise validation_error(ctx, missing=["tag_name"])
    if not isinstance(raw, str) or len(raw) > _TAG_NAME_LIMIT:
        raise validation_error(ctx, invalid=["tag_name"])
    name = raw.strip()
    held = _product_tags(store)
    for tag in held.values():
        if tag["name"] == name:
            return ApiResponse(data=dict(tag), status=request.endpoint.success_status)
    tag = {"id": ctx.next_id(), "name": name}
    held[str(tag["id"])] = tag
    store.serial += 1
    return ApiResponse(data=dict(tag), status=request.endpoint.success_status)


CATALOGUE_HANDLERS: Mapping[str, Callable[[ApiRequest, RequestContext, Any], ApiResponse]] = {
    "languages.list": languages_list,
    "languages.create": languages_create,
    "languages.update": languages_update,
    "currencies.list": currencies_list,
    "currencies.activate": currencies_activate,
    "currencies.list_available": currencies_available,
    "dns_records.list": dns_list,
    "dns_records.create": dns_create,
    "dns_records.delete": dns_delete,
    "products.tags.list": product_tags_list,
    "products.tags.create": product_tags_create,
    "settings.list": settings_list,
    "settings.retrieve": settings_retrieve,
    "settings.update": settings_update,
}
