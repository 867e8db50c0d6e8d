"""``sallakit doctor``: a deployment's settings and state, one finding per line with its fix.

The checks need only the core (settings, database, vault), so the doctor runs wherever sallakit
is installed. :func:`store_findings` and :func:`scope_findings` are pure; :func:`diagnose` does
the reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import sqlalchemy as sa

from sallakit._exceptions import SallaError, TokenDecryptionError
from sallakit.auth import InterruptedRefresh, StoredStore, StoreStatus
from sallakit.settings import Settings

__all__ = [
    "FEATURE_SCOPES",
    "Finding",
    "diagnose",
    "scope_findings",
    "store_findings",
]

Level = Literal["ok", "warn", "fail"]

#: What each feature of the service calls, and so the scopes a store must grant for it.
FEATURE_SCOPES: Mapping[str, tuple[str, ...]] = {
    "token refresh": ("offline_access",),
    "mirror": (
        "products.read",
        "categories.read",
        "brands.read",
        "customers.read",
        "orders.read",
        "shipping.read",
    ),
    "webhook subscriptions": ("webhooks.read_write",),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the doctor's report."""

    level: Level
    check: str
    message: str
    fix: str | None = None

    def line(self) -> str:
        """``FAIL  check: message -> fix``."""
        fix = f" -> {self.fix}" if self.fix else ""
        return f"{self.level.upper():<4}  {self.check}: {self.message}{fix}"

    def as_dict(self) -> dict[str, str | None]:
        """A JSON-friendly view."""
        return asdict(self)


def _granted(scopes: Iterable[str], wanted: str) -> bool:
    have = set(scopes)
    if wanted in have:
        return True
    # A read_write scope includes the read scope of the same resource.
    resource, _, access = wanted.rpartition(".")
    return access == "read" and f"{resource}.read_write" in have


def scope_findings(
    store: StoredStore, features: Mapping[str, Sequence[str]] = FEATURE_SCOPES
) -> list[Finding]:
    """Scopes the store's grant lacks for each feature (one finding per feature)."""
    label = f"store {store.store_id} scopes"
    if not store.scopes:
        return [
            Finding(
                "warn",
                label,
                "the grant's scopes are unknown (the token answer listed none)",
                "check the app's scopes in the Partner Portal",
            )
        ]
    out = []
    for feature, wanted in features.items():
        missing = [s for s in wanted if not _granted(store.scopes, s)]
        if missing:
            out.append(
                Finding(
                    "fail" if feature == "token refresh" else "warn",
                    label,
                    f"{feature} needs {', '.join(missing)}, not granted",
                    "add the scopes to the app in the Partner Portal; the merchant then "
                    "updates the app (Easy mode) or reconnects (`sallakit connect`)",
                )
            )
    return out


def store_findings(
    store: StoredStore, interrupted: InterruptedRefresh | None, *, now: float
) -> list[Finding]:
    """What an operator must do about a store's tokens (pure)."""
    label = f"store {store.store_id}"
    if interrupted is not None or store.status == StoreStatus.REFRESH_INTERRUPTED:
        message = interrupted.message if interrupted else (store.status_detail or "")
        return [
            Finding(
                "fail",
                label,
                "a token refresh was interrupted; the refresh token may be consumed",
                message or f"sallakit stores refresh {store.store_id}",
            )
        ]
    if store.status == StoreStatus.REINSTALL_REQUIRED:
        return [
            Finding(
                "fail",
                label,
                "the grant is revoked (invalid_grant)",
                "the merchant must reinstall the app; its app.store.authorize (Easy mode) or "
                "a new `sallakit connect` (Custom mode) reactivates the store",
            )
        ]
    if store.status == StoreStatus.UNINSTALLED:
        return [Finding("ok", label, "uninstalled by the merchant (tokens erased)")]
    if store.status == StoreStatus.PENDING or not store.has_tokens:
        return [
            Finding(
                "warn",
                label,
                "installed but no tokens yet",
                "check that Salla reaches <public_url>/webhooks/salla (app.store.authorize)",
            )
        ]
    if store.expires_at is not None and store.expires_at <= now:
        return [
            Finding(
                "warn",
                label,
                "the access token expired",
                f"sallakit stores refresh {store.store_id} (the next API call also refreshes)",
            )
        ]
    return [Finding("ok", label, f"active ({store.name or 'unnamed'})")]


def diagnose(settings: Settings, *, now: float) -> list[Finding]:
    """Every finding for a deployment: settings, database, keys, webhooks, stores."""
    from sallakit._config import settings_problems

    findings = [
        Finding(
            "fail" if p.severity == "error" else "warn",
            "settings",
            f"{p.setting} {p.message}",
            p.fix,
        )
        for p in settings_problems(settings, purpose="serve")
    ]
    if not any(f.level == "fail" and "WEBHOOK_SECRET" in f.message for f in findings):
        findings.append(Finding("ok", "webhooks", "signature verification on with a secret"))
    if not any(f.level == "fail" and "DATABASE_URL" in f.message for f in findings):
        findings.extend(_database_findings(settings, now=now))
    return findings


def _database_findings(settings: Settings, *, now: float) -> list[Finding]:
    from sallakit.auth import SqlTokenStore, TokenVault
    from sallakit.db import create_engine, pending_revisions

    url = sa.engine.make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # Connecting would create an empty file: report instead of touching anything.
        return [
            Finding(
                "fail",
                "database",
                f"no SQLite file at {url.database}",
                "fix SALLAKIT_DATABASE_URL, or start `sallakit serve` once to create it",
            )
        ]
    try:
        engine = create_engine(settings.database_url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except (SallaError, sa.exc.SQLAlchemyError, ValueError) as exc:
        orig = getattr(exc, "orig", None)
        return [
            Finding(
                "fail",
                "database",
                f"unreachable ({type(orig or exc).__name__})",
                "check SALLAKIT_DATABASE_URL and that the database server is up",
            )
        ]
    findings = [Finding("ok", "database", "reachable")]
    try:
        pending = pending_revisions(engine)
    except sa.exc.SQLAlchemyError as exc:
        pending = [f"unknown ({type(exc).__name__})"]
    if pending:
        findings.append(
            Finding(
                "fail",
                "migrations",
                f"not applied: {', '.join(pending)}",
                "start `sallakit serve` or `sallakit worker` once (they migrate on start)",
            )
        )
    else:
        findings.append(Finding("ok", "migrations", "up to date"))
    keys = settings.token_key_list()
    if not keys:
        engine.dispose()
        return findings
    try:
        vault = TokenVault(SqlTokenStore(engine), keys, create_tables=False)
        stores = vault.list_stores()
        interrupted = {i.store_id: i for i in vault.find_interrupted()}
    except (SallaError, sa.exc.SQLAlchemyError) as exc:
        engine.dispose()
        return [
            *findings,
            Finding(
                "fail",
                "token vault",
                f"cannot read the stores ({type(exc).__name__})",
                "start `sallakit serve` once to create the tables",
            ),
        ]
    if not stores:
        findings.append(
            Finding("warn", "stores", "no store connected yet", "install the app on a store")
        )
    undecryptable = []
    for store in stores:
        if store.has_tokens:
            try:
                vault.tokens(store.store_id)
            except TokenDecryptionError:
                undecryptable.append(store.store_id)
                findings.append(
                    Finding(
                        "fail",
                        f"store {store.store_id}",
                        "its tokens do not open with the configured keys",
                        "add the key that encrypted them to SALLAKIT_TOKEN_KEYS (after the "
                        "newest), then `sallakit keys rotate`",
                    )
                )
                continue
        findings.extend(store_findings(store, interrupted.get(store.store_id), now=now))
        if store.has_tokens:
            findings.extend(scope_findings(store))
    if stores and not undecryptable:
        findings.append(Finding("ok", "token keys", f"open the tokens of all {len(stores)} stores"))
    engine.dispose()
    return findings
