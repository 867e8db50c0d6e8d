"""Outgoing webhooks: subscriptions, the ``webhooks.*`` endpoints, envelopes, signing, delivery.

Salla keeps one webhook per event per store, delivers ``{event, merchant, created_at, data}`` to
the subscribed URL, authenticates it with the app's webhook secret (an HMAC-SHA256 signature of
the raw body, or the secret itself as a token), expects a 200 or 201 within 30 seconds, and
otherwise retries three more times about five minutes apart. There is no event id, so duplicates
are the receiver's problem; the emulator can inject them on purpose.

Everything here is pure except :func:`send`, the single network call, which the emulator's
delivery loop awaits with an httpx2 client whose transport the user may replace.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import socket
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2

from sallakit.emulator import _rules
from sallakit.emulator._context import ApiRequest, ApiResponse, EmulatorHTTPError

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_RETRY_INTERVAL",
    "DEFAULT_TIMEOUT",
    "DEPRECATED_EVENTS",
    "STORE_EVENTS",
    "UNMODELED_EVENTS",
    "Delivery",
    "DeliveryRecord",
    "Subscription",
    "WebhookBook",
    "app_time",
    "envelope",
    "security_headers",
    "send",
    "sign",
    "store_time",
]

DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
DEFAULT_RETRY_INTERVAL = 300.0
RIYADH = timezone(timedelta(hours=3), "AST")

INVALID_URL_MESSAGE = "لابد أن يكون الرابط صالح وفعّال (لا يحتوي على localhost أو test.)"
REMOVED_MESSAGE = "The Object has been removed successfully"

# (event, Arabic label). Ids are derived from the event name so that they are stable.
STORE_EVENTS: tuple[tuple[str, str], ...] = (
    ("order.created", "تم إنشاء طلب"),
    ("order.updated", "تم تحديث طلب"),
    ("order.status.updated", "تم تحديث حالة طلب"),
    ("order.cancelled", "تم إلغاء طلب"),
    ("order.refunded", "تم استرجاع مبلغ طلب"),
    ("order.deleted", "تم حذف طلب"),
    ("order.products.updated", "تم تحديث منتجات طلب"),
    ("order.payment.updated", "تم تحديث طريقة دفع طلب"),
    ("order.coupon.updated", "تم تحديث كوبون طلب"),
    ("order.total.price.updated", "تم تحديث إجمالي طلب"),
    ("order.shipment.creating", "جاري إنشاء شحنة طلب"),
    ("order.shipment.created", "تم إنشاء شحنة طلب"),
    ("order.shipment.cancelled", "تم إلغاء شحنة طلب"),
    ("order.shipment.return.creating", "جاري إنشاء شحنة إرجاع"),
    ("order.shipment.return.created", "تم إنشاء شحنة إرجاع"),
    ("order.shipment.return.cancelled", "تم إلغاء شحنة إرجاع"),
    ("order.shipping.address.updated", "تم تحديث عنوان شحن طلب"),
    ("product.created", "تم إنشاء منتج"),
    ("product.deleted", "تم حذف منتج"),
    ("product.quantity.low", "كمية المنتج منخفضة"),
    ("product.price.updated", "تم تحديث سعر منتج"),
    ("product.status.updated", "تم تحديث حالة منتج"),
    ("product.image.updated", "تم تحديث صورة منتج"),
    ("product.category.updated", "تم تحديث تصنيف منتج"),
    ("product.brand.updated", "تم تحديث ماركة منتج"),
    ("product.tags.updated", "تم تحديث وسوم منتج"),
    ("product.channels.changed", "تم تغيير قنوات منتج"),
    ("shipping.zone.created", "تم إنشاء منطقة شحن"),
    ("shipping.zone.updated", "تم تحديث منطقة شحن"),
    ("shipping.company.created", "تم إنشاء شركة شحن"),
    ("shipping.company.updated", "تم تحديث شركة شحن"),
    ("shipping.company.deleted", "تم حذف شركة شحن"),
    ("shipment.creating", "جاري إنشاء شحنة"),
    ("shipment.created", "تم إنشاء شحنة"),
    ("shipment.cancelled", "تم إلغاء شحنة"),
    ("shipment.updated", "تم تحديث شحنة"),
    ("customer.created", "تم إنشاء عميل"),
    ("customer.updated", "تم تحديث عميل"),
    ("customer.login", "تسجيل دخول عميل"),
    ("customer.otp.request", "طلب رمز تحقق لعميل"),
    ("category.created", "تم إنشاء تصنيف"),
    ("category.updated", "تم تحديث تصنيف"),
    ("brand.created", "تم إنشاء ماركة"),
    ("brand.updated", "تم تحديث ماركة"),
    ("brand.deleted", "تم حذف ماركة"),
    ("store.branch.created", "تم إنشاء فرع"),
    ("store.branch.updated", "تم تحديث فرع"),
    ("store.branch.setDefault", "تم تعيين الفرع الافتراضي"),
    ("store.branch.activated", "تم تفعيل فرع"),
    ("store.branch.deleted", "تم حذف فرع"),
    ("storetax.created", "تم إنشاء ضريبة"),
    ("abandoned.cart", "سلة متروكة"),
    ("abandoned.cart.status.changed", "تغيرت حالة سلة متروكة"),
    ("abandoned.cart.purchased", "تم شراء سلة متروكة"),
    ("coupon.applied", "تم تطبيق كوبون"),
    ("invoice.created", "تم إنشاء فاتورة"),
    ("specialoffer.created", "تم إنشاء عرض خاص"),
    ("specialoffer.updated", "تم تحديث عرض خاص"),
    ("review.added", "تمت إضافة تقييم"),
)
_KNOWN_EVENTS = {event for event, _ in STORE_EVENTS}

DEPRECATED_EVENTS: Mapping[str, str] = {
    # Struck through in Salla's event list and its changelog (2.10.61, Dec 2025): neither is
    # offered by ``GET /webhooks/events``, and subscribing is refused rather than accepted and
    # then never sent.
    "product.updated": (
        "product.updated is deprecated: subscribe to product.price.updated, "
        "product.status.updated, product.image.updated, product.category.updated, "
        "product.brand.updated or product.tags.updated"
    ),
    "product.available": (
        "product.available is deprecated: subscribe to product.status.updated (status sale)"
    ),
}

UNMODELED_EVENTS: Mapping[str, str] = {
    # Offered events whose cause the emulator does not model (shopper-side actions, state it
    # does not keep). ``POST /_emulator/stores/{id}/events`` sends them with any payload.
    "customer.login": "a shopper signs in on the storefront",
    "customer.otp.request": "a shopper's e-mail and SMS one-time codes both failed",
    "abandoned.cart": "a shopper leaves a cart",
    "abandoned.cart.status.changed": "a shopper's abandoned cart changes state",
    "abandoned.cart.purchased": "a shopper buys an abandoned cart",
    "coupon.applied": "a shopper applies a coupon at checkout",
    "review.added": "a shopper reviews a product",
    "product.tags.updated": "product tags are not kept per product",
    "product.channels.changed": "product sales channels are not kept",
    "order.coupon.updated": "order coupons are not kept",
    "order.shipping.address.updated": "order shipping addresses are not editable",
}
"""Offered events the emulator sends only on request (control API), with why."""


def event_id(event: str) -> int:
    """A stable Salla-sized id for an event name."""
    return int.from_bytes(hashlib.sha256(event.encode()).digest()[:4], "big") % 2_000_000_000 + 1


# ------------------------------------------------------------------------------- envelopes


def store_time(moment: datetime) -> str:
    """``created_at`` of store events: JavaScript ``Date.toString()`` style, Riyadh time."""
    local = moment.astimezone(RIYADH)
    return local.strftime("%a %b %d %Y %H:%M:%S GMT+0300")


def app_time(moment: datetime) -> str:
    """``created_at`` of app events: ``YYYY-MM-DD HH:MM:SS``, Riyadh time."""
    return moment.astimezone(RIYADH).strftime("%Y-%m-%d %H:%M:%S")


def envelope(event: str, merchant: int, created_at: str, data: Any) -> bytes:
    """The raw body of a delivery (the bytes that are signed)."""
    doc = {"event": event, "merchant": merchant, "created_at": created_at, "data": data}
    return json.dumps(doc, ensure_ascii=False, default=str).encode()


def sign(body: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of the raw body keyed with the webhook secret (``X-Salla-Signature``)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def security_headers(strategy: str, secret: str, body: bytes) -> dict[str, str]:
    """The authentication headers of one delivery for a security strategy."""
    strategy = (strategy or "signature").lower()
    if strategy == "signature":
        return {"X-Salla-Security-Strategy": "Signature", "X-Salla-Signature": sign(body, secret)}
    if strategy == "token":
        # Sent verbatim: no "Bearer" prefix and no hashing, as Salla does.
        return {"X-Salla-Security-Strategy": "Token", "Authorization": secret}
    return {}


# --------------------------------------------------------------------------- subscriptions


@dataclass(slots=True)
class Subscription:
    """A registered webhook of one store."""

    id: int
    store_id: int
    client_id: str
    name: str
    event: str
    url: str
    version: int = 2
    rule: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    security_strategy: str | None = None
    secret: str | None = None
    type: str = "manual"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "event": self.event,
            "type": self.type,
            "url": self.url,
            "version": self.version,
            # The documents type the rule as text (no rule: empty, not null).
            "rule": self.rule or "",
            "headers": dict(self.headers),
        }


def _validation(field_name: str, message: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(
        422, "alert.invalid_fields", code="error", fields={field_name: [message]}
    )


def _ipv4_loose(host: str) -> ipaddress.IPv4Address | None:
    # The forms a URL parser or resolver accepts for IPv4 besides dotted quads: short forms
    # (127.1), one big integer (2130706433), hex and octal parts (0x7f.0.0.1, 0177.0.0.1).
    if not host or not all(c in "0123456789abcdefx." for c in host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _normalised_host(host: str) -> str:
    return host.lower().strip("[]").rstrip(".")


def _is_local_host(host: str) -> bool:
    host = _normalised_host(host)
    if "localhost" in host or host.startswith("test.") or ".test." in f".{host}.":
        return True
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        address = _ipv4_loose(host)
    if address is None:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_unspecified
        or address.is_private
        or address.is_link_local
        or address.is_reserved
    )


def _url_problem(url: Any, *, strict: bool) -> str | None:
    if not isinstance(url, str) or not url:
        return "The url field is required."
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return INVALID_URL_MESSAGE
    if parts.scheme not in ("http", "https") or not hostname:
        return INVALID_URL_MESSAGE
    if strict:
        text = url.lower()
        if "localhost" in text or "test." in text or _is_local_host(hostname):
            return INVALID_URL_MESSAGE
    return None


def check_url(url: Any, *, strict: bool) -> str:
    """Validate a webhook URL (with ``strict``, refuse local ones as Salla does).

    Strict mode refuses any URL whose text contains ``localhost`` or ``test.`` (Salla's message
    says exactly that) and any host that is a loopback, private, link-local or unspecified
    address in any spelling (trailing dot, ``127.1``, ``2130706433``, ``0x7f.1``, ``[::1]``,
    ``[::ffff:127.0.0.1]``).

    Raises:
        EmulatorHTTPError: 422 with Salla's message.
    """
    problem = _url_problem(url, strict=strict)
    if problem is not None:
        raise _validation("url", problem)
    assert isinstance(url, str)
    return url


_HEADERS_MESSAGE = "The headers must be a list of {key, value} strings."


def _parse_headers(raw: Any) -> dict[str, str] | str:
    # The request sends [{"key":..., "value":...}]; the response shows an object map (also
    # accepted here). Returns the map, or the validation message.
    if raw is None:
        return {}
    out: dict[str, str] = {}
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            if not isinstance(key, str) or not key or not isinstance(value, str):
                return _HEADERS_MESSAGE
            out[key] = value
        return out
    if isinstance(raw, list):
        for item in raw:
            if not isinstance(item, Mapping):
                return _HEADERS_MESSAGE
            key, value = item.get("key"), item.get("value", "")
            if not isinstance(key, str) or not key or not isinstance(value, str):
                return _HEADERS_MESSAGE
            out[key] = value
        return out
    return _HEADERS_MESSAGE


def _rule_problem(rule: Any) -> str | None:
    if rule in (None, ""):
        return None
    if not isinstance(rule, str):
        return "The rule must be a string."
    try:
        _rules.parse(rule)
    except _rules.RuleSyntaxError as exc:
        return f"The rule is invalid: {exc}"
    return None


def _check_rule(rule: Any) -> str | None:
    problem = _rule_problem(rule)
    if problem is not None:
        raise _validation("rule", problem)
    return None if rule in (None, "") else str(rule)


def _int_param(raw: str | None, name: str) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise _validation(name, f"The {name} must be an integer.") from None


SECURITY_STRATEGIES = ("signature", "token", "none")


def _version(raw: Any) -> int | None:
    # Laravel's ``in:1,2`` compares as strings, so "2" passes as well as 2; nothing else does.
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int) and raw in (1, 2):
        return raw
    if isinstance(raw, str) and raw.strip() in ("1", "2"):
        return int(raw.strip())
    return None


@dataclass(slots=True)
class _Changes:
    """A validated subscribe/update body: only the fields it carries."""

    values: dict[str, Any]

    def has(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str) -> Any:
        return self.values.get(name)


def validate_body(body: Any, *, strict_urls: bool, require: bool) -> _Changes:
    """Validate every field of a subscribe (``require``) or update body before applying any.

    Raises:
        EmulatorHTTPError: 422 with Salla's envelope, one message list per offending field.
    """
    fields: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def bad(name: str, message: str) -> None:
        fields.setdefault(name, []).append(message)

    if not isinstance(body, Mapping):
        if require or body is not None:
            bad("event", "The event field is required.")
            if require:
                bad("url", "The url field is required.")
            raise EmulatorHTTPError(422, "alert.invalid_fields", code="error", fields=fields)
        body = {}
    if "event" in body or require:
        event = body.get("event")
        if not isinstance(event, str) or not event:
            bad("event", "The event field is required.")
        elif event in DEPRECATED_EVENTS:
            bad("event", DEPRECATED_EVENTS[event])
        elif event not in _KNOWN_EVENTS:
            bad("event", "The selected event is invalid.")
        else:
            values["event"] = event
    if "url" in body or require:
        problem = _url_problem(body.get("url"), strict=strict_urls)
        if problem is not None:
            bad("url", problem)
        else:
            values["url"] = body["url"]
    if body.get("name") is not None:
        if not isinstance(body["name"], str):
            bad("name", "The name must be a string.")
        else:
            values["name"] = body["name"]
    if body.get("version") is not None:
        version = _version(body["version"])
        if version is None:
            bad("version", "The selected version is invalid (1 or 2).")
        else:
            values["version"] = version
    if "rule" in body:
        problem = _rule_problem(body["rule"])
        if problem is not None:
            bad("rule", problem)
        else:
            values["rule"] = body["rule"] or None
    if "headers" in body:
        headers = _parse_headers(body["headers"])
        if isinstance(headers, str):
            bad("headers", headers)
        else:
            values["headers"] = headers
    if body.get("security_strategy") is not None:
        strategy = body["security_strategy"]
        if not isinstance(strategy, str) or strategy.lower() not in SECURITY_STRATEGIES:
            bad("security_strategy", "The selected security strategy is invalid.")
        else:
            values["security_strategy"] = strategy.lower()
    if body.get("secret") is not None:
        if not isinstance(body["secret"], str):
            bad("secret", "The secret must be a string.")
        else:
            values["secret"] = body["secret"]
    if fields:
        raise EmulatorHTTPError(422, "alert.invalid_fields", code="error", fields=fields)
    return _Changes(values)


def _not_found() -> EmulatorHTTPError:
    return EmulatorHTTPError(
        404, "The content you are trying to access is no longer available", code=404
    )


@dataclass
class WebhookBook:
    """Every app's subscriptions on every store: one webhook per event per (store, app).

    ``subscriptions`` is keyed by store id; each subscription carries the ``client_id`` of the
    app that registered it, and every operation of the API sees only the calling app's ones.
    Unsubscribed webhooks are kept in ``removed`` so that subscribing the same (app, URL, event)
    again restores the old webhook id, as Salla documents.
    """

    subscriptions: dict[int, list[Subscription]] = field(default_factory=dict)
    removed: dict[int, list[Subscription]] = field(default_factory=dict)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Snapshots written before ``removed`` existed.
        state.setdefault("removed", {})
        self.__dict__.update(state)

    def for_store(self, store_id: int) -> list[Subscription]:
        return self.subscriptions.setdefault(store_id, [])

    def for_app(self, store_id: int, client_id: str) -> list[Subscription]:
        """The webhooks one app registered on one store."""
        return [s for s in self.for_store(store_id) if s.client_id == client_id]

    def matching(self, store_id: int, event: str, data: Any) -> list[Subscription]:
        """The subscriptions an event goes to: same event, and the rule (if any) holds."""
        out = []
        for sub in self.for_store(store_id):
            if sub.event != event:
                continue
            try:
                ok = _rules.matches(sub.rule, data)
            except _rules.RuleSyntaxError:
                ok = False
            if ok:
                out.append(sub)
        return out

    def _retire(self, store_id: int, subs: list[Subscription]) -> None:
        if not subs:
            return
        gone = {id(s) for s in subs}
        self.subscriptions[store_id] = [s for s in self.for_store(store_id) if id(s) not in gone]
        self.removed.setdefault(store_id, []).extend(subs)

    def subscribe(
        self,
        store_id: int,
        client_id: str,
        body: Any,
        *,
        strict_urls: bool,
        next_id: Callable[[], int],
    ) -> Subscription:
        """Register (or update) the app's webhook for an event on a store.

        The body is validated as a whole before anything changes. An app keeps one webhook per
        event; subscribing a URL for an event it was unsubscribed from restores the old webhook
        (same id).

        Raises:
            EmulatorHTTPError: 422 on invalid fields (nothing is changed).
        """
        changes = validate_body(body, strict_urls=strict_urls, require=True)
        event, url = changes.get("event"), changes.get("url")
        subs = self.for_store(store_id)
        existing = next((s for s in subs if s.client_id == client_id and s.event == event), None)
        if existing is None:
            graveyard = self.removed.setdefault(store_id, [])
            existing = next(
                (
                    s
                    for s in reversed(graveyard)
                    if s.client_id == client_id and s.event == event and s.url == url
                ),
                None,
            )
            if existing is not None:
                graveyard.remove(existing)
            else:
                existing = Subscription(
                    id=next_id(),
                    store_id=store_id,
                    client_id=client_id,
                    name="",
                    event=event,
                    url=url,
                )
            subs.append(existing)
        existing.url = url
        existing.name = changes.get("name") or existing.name or event
        existing.version = changes.get("version") or 2
        existing.rule = changes.get("rule")
        existing.headers = changes.get("headers") or {}
        if changes.has("security_strategy"):
            existing.security_strategy = changes.get("security_strategy")
        if changes.has("secret"):
            existing.secret = changes.get("secret")
        return existing

    def update(
        self,
        store_id: int,
        webhook_id: int,
        body: Any,
        *,
        strict_urls: bool,
        client_id: str | None = None,
    ) -> Subscription:
        """Change fields of one of the app's webhooks (``PUT /webhooks/{id}``).

        Raises:
            EmulatorHTTPError: 404 for another app's or an unknown webhook, 422 on invalid
                fields (nothing is changed).
        """
        sub = next(
            (
                s
                for s in self.for_store(store_id)
                if s.id == webhook_id and (client_id is None or s.client_id == client_id)
            ),
            None,
        )
        if sub is None:
            raise _not_found()
        changes = validate_body(body, strict_urls=strict_urls, require=False)
        if changes.has("event") and changes.get("event") != sub.event:
            clash = [
                s
                for s in self.for_store(store_id)
                if s.client_id == sub.client_id and s.event == changes.get("event") and s is not sub
            ]
            self._retire(store_id, clash)
        for name, value in changes.values.items():
            setattr(sub, name, {} if name == "headers" and value is None else value)
        return sub

    def unsubscribe(
        self,
        store_id: int,
        *,
        webhook_id: str | None,
        url: str | None,
        client_id: str | None = None,
    ) -> int:
        """Remove one of the app's webhooks by id, or all of them for a URL; return how many."""
        subs = [
            s for s in self.for_store(store_id) if client_id is None or s.client_id == client_id
        ]
        if webhook_id is not None:
            wid = _int_param(webhook_id, "id")
            gone = [s for s in subs if s.id == wid]
        elif url:
            gone = [s for s in subs if s.url == url]
        else:
            raise _validation("id", "The id field is required when url is not present.")
        if not gone:
            raise _not_found()
        self._retire(store_id, gone)
        return len(gone)

    def remove_app(self, store_id: int, client_id: str) -> int:
        """Drop (keep restorable) every webhook of an app on a store: the app was uninstalled."""
        gone = self.for_app(store_id, client_id)
        self._retire(store_id, gone)
        return len(gone)

    # --------------------------------------------------------------------- the API handler

    def handle(
        self,
        request: ApiRequest,
        *,
        store_id: int,
        client_id: str,
        strict_urls: bool,
        links_as_list: bool,
        next_id: Callable[[], int],
    ) -> ApiResponse | None:
        """Answer a ``webhooks.*`` endpoint, or None when the endpoint is not one of them."""
        method, path = request.endpoint.method, request.endpoint.path
        if method == "POST" and path == "/webhooks/subscribe":
            sub = self.subscribe(
                store_id, client_id, request.body, strict_urls=strict_urls, next_id=next_id
            )
            return ApiResponse(sub.as_json(), status=request.endpoint.success_status)
        if method == "GET" and path == "/webhooks/events":
            return ApiResponse(
                [{"id": event_id(e), "label": label, "event": e} for e, label in STORE_EVENTS]
            )
        if method == "GET" and path == "/webhooks":
            return _paginate(
                [s.as_json() for s in self.for_app(store_id, client_id)], request, links_as_list
            )
        if method == "PUT" and path.startswith("/webhooks/{"):
            raw_id = next(iter(request.path_params.values()), None)
            sub = self.update(
                store_id,
                _int_param(raw_id, "id"),
                request.body,
                strict_urls=strict_urls,
                client_id=client_id,
            )
            # Update Webhook answers the security settings too; the secret is never shown.
            security = {"strategy": sub.security_strategy or "", "secret": None}
            return ApiResponse({**sub.as_json(), "security": security})
        if method == "DELETE" and path == "/webhooks/unsubscribe":
            self.unsubscribe(
                store_id, webhook_id=request.q("id"), url=request.q("url"), client_id=client_id
            )
            return ApiResponse({"message": REMOVED_MESSAGE, "code": 202}, status=202)
        return None


def _paginate(items: list[Any], request: ApiRequest, links_as_list: bool) -> ApiResponse:
    page = max(1, _int_param(request.q("page", "1"), "page"))
    per_page = min(60, max(1, _int_param(request.q("per_page", "15"), "per_page")))
    total = len(items)
    total_pages = max(1, math.ceil(total / per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links: dict[str, str] = {}
    if page < total_pages:
        links["next"] = f"{request.endpoint.path}?page={page + 1}&per_page={per_page}"
    if page > 1:
        links["previous"] = f"{request.endpoint.path}?page={page - 1}&per_page={per_page}"
    pagination = {
        "count": len(chunk),
        "total": total,
        "perPage": per_page,
        "currentPage": page,
        "totalPages": total_pages,
        "links": links if links or not links_as_list else [],
    }
    return ApiResponse(chunk, pagination=pagination)


# ------------------------------------------------------------------------------- delivery


@dataclass(slots=True)
class Delivery:
    """One webhook delivery and its retry state."""

    id: int
    store_id: int
    event: str
    url: str
    body: bytes
    headers: dict[str, str]
    due_at: float
    attempts: int = 0
    duplicate: bool = False
    done: bool = False
    outcome: str = "pending"
    """``pending``, ``delivered`` or ``failed`` (retries exhausted)."""


@dataclass(slots=True)
class DeliveryRecord:
    """One attempt, as shown in the delivery log."""

    delivery_id: int
    store_id: int
    event: str
    url: str
    attempt: int
    status: int | None
    error: str | None
    time: str
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.status in (200, 201)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def after_attempt(
    delivery: Delivery, status: int | None, now: float, *, retries: int, interval: float
) -> None:
    """Record an attempt's outcome on the delivery: done, or due again ``interval`` later."""
    delivery.attempts += 1
    if status in (200, 201):
        delivery.done, delivery.outcome = True, "delivered"
    elif delivery.attempts > retries:
        delivery.done, delivery.outcome = True, "failed"
    else:
        delivery.due_at = now + interval


async def send(
    client: httpx2.AsyncClient, delivery: Delivery, *, timeout: float = DEFAULT_TIMEOUT
) -> tuple[int | None, str | None]:
    """POST one delivery; return ``(status, None)`` or ``(None, error)`` (never raises)."""
    try:
        # httpx2 enforces ``timeout`` on the network; the overall deadline also bounds user
        # transports (an in-process receiver) that ignore it.
        with anyio.fail_after(timeout):
            response = await client.post(
                delivery.url, content=delivery.body, headers=delivery.headers, timeout=timeout
            )
    except TimeoutError:
        return None, f"timeout: no answer within {timeout:g} s"
    except httpx2.TimeoutException as exc:
        return None, f"timeout: {exc!r}"
    except httpx2.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a user transport (e.g. an in-process app) may raise anything
        return None, f"{type(exc).__name__}: {exc}"
    return response.status_code, None
