"""Settings read from the environment (prefix ``SALLAKIT_``) and an optional ``.env`` file.

Only the edges (the CLI and the server) build a :class:`Settings`; library classes take explicit
arguments, so that nothing in sallakit reads the environment behind the caller's back.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_ACCOUNTS_URL", "DEFAULT_API_BASE_URL", "Settings"]

DEFAULT_ACCOUNTS_URL = "https://accounts.salla.sa"
DEFAULT_API_BASE_URL = "https://api.salla.dev/admin/v2"


class Settings(BaseSettings):
    """sallakit configuration; every field has the environment twin ``SALLAKIT_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="SALLAKIT_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default="sqlite:///sallakit.db",
        description="SQLAlchemy-style URL: sqlite:///file.db or postgresql://user@host/db.",
    )
    token_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys encrypting tokens at rest, newest first.",
    )
    client_id: str | None = None
    client_secret: SecretStr | None = None
    redirect_uri: str | None = None
    state_secret: SecretStr | None = Field(
        default=None, description="HMAC key signing the OAuth state (Custom mode)."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="The app's webhook secret (Partner Portal)."
    )
    webhook_previous_secret: SecretStr | None = Field(
        default=None,
        description="While rotating the webhook secret: the old one, still accepted.",
    )
    webhook_strategy: Literal["auto", "signature", "token"] = Field(
        default="auto",
        description="Webhook security strategy accepted: signature, token, or auto (either).",
    )
    webhook_max_body_size: int = Field(
        default=1024 * 1024, ge=1, description="Webhook bodies above this many bytes get 413."
    )
    webhook_handlers: str | None = Field(
        default=None,
        description="Comma-separated module:attribute of webhook Handlers (or functions "
        "taking the receiver) that `sallakit serve` loads.",
    )
    webhook_lease_seconds: float = Field(
        default=60.0, gt=0, description="How long a worker owns a claimed webhook delivery."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, description="Attempts before a webhook delivery is dead-lettered."
    )
    accounts_url: str = DEFAULT_ACCOUNTS_URL
    api_base_url: str = DEFAULT_API_BASE_URL
    refresh_margin_seconds: int = Field(
        default=86_400, ge=0, description="Refresh this long before the access token expires."
    )
    uninstall_retention: Literal["keep", "purge"] = Field(
        default="keep",
        description="On app.uninstalled: keep the store's metadata (tokens are always erased) "
        "or purge every row of the store.",
    )
    # -- the service (``sallakit serve``): dashboard login, sessions, public address
    admin_password: SecretStr | None = Field(
        default=None, description="Password of the dashboard's admin login (12+ characters)."
    )
    admin_token: SecretStr | None = Field(
        default=None,
        description="Token accepted by the login form and as `Authorization: Bearer` on the "
        "service's JSON endpoints and /metrics (24+ characters).",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Key signing and encrypting dashboard sessions (32+ characters); the same "
        "in every web process.",
    )
    session_max_age_seconds: int = Field(
        default=43_200, ge=60, description="A dashboard session ends this long after login."
    )
    public_url: str | None = Field(
        default=None,
        description="Where Salla and browsers reach the service (https://... in production); "
        "webhook subscriptions point at <public_url>/webhooks/salla.",
    )
    host: str = Field(default="127.0.0.1", description="Interface `sallakit serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `sallakit serve` uses.")
    worker: Literal["in-process", "external"] = Field(
        default="in-process",
        description="Run the workflow worker inside `sallakit serve` (in-process) or only in "
        "`sallakit worker` processes (external).",
    )
    # -- production: PostgreSQL pools, worker processes, the shared rate-limit governor
    database_pool_size: int = Field(
        default=5,
        ge=1,
        le=200,
        description="PostgreSQL: connections each pool of a process keeps open (the vault's, "
        "the inbox's and DBOS's each have one).",
    )
    database_max_overflow: int = Field(
        default=10,
        ge=0,
        le=500,
        description="PostgreSQL: connections a pool may open beyond its size under load.",
    )
    database_pool_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="PostgreSQL: seconds to wait for a free pooled connection before failing.",
    )
    database_pool_recycle: int = Field(
        default=1800,
        ge=-1,
        description="PostgreSQL: seconds after which a pooled connection is replaced (-1: "
        "never); keep it below any proxy's idle timeout (PgBouncer, cloud load balancers).",
    )
    worker_id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="Stable id of this `sallakit worker` (DBOS executor id): a restarted worker "
        "with the same id resumes the workflows it left in flight (e.g. the StatefulSet pod "
        "name). Default: `local`.",
    )
    app_version: str | None = Field(
        default=None,
        max_length=128,
        description="DBOS application version of the workflows this process runs; default: a "
        "hash of the workflow code. Processes recover only workflows of their own version.",
    )
    workflow_schema: str = Field(
        default="dbos",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema of DBOS's workflow tables (queues, checkpoints).",
    )
    shutdown_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="On SIGTERM a worker stops starting steps and waits this long for the "
        "steps in flight to finish and be checkpointed.",
    )
    governor: Literal["process", "database"] = Field(
        default="process",
        description="Where a store's rate-limit budget and in-flight cap live: in each "
        "process (one process per store) or in the database, shared by every process.",
    )
    governor_lease_seconds: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="With SALLAKIT_GOVERNOR=database: a request slot held by a process that "
        "died is given back after this long (longer than any request's timeout).",
    )
    htmx_url: str | None = Field(
        default=None,
        description="Where the dashboard loads htmx from (partial page updates); default: the "
        "copy installed with sallakit[server], served by the dashboard; `off`: no htmx (every "
        "action is then a plain form post and page load, as without JavaScript).",
    )

    def webhook_secrets(self) -> list[str]:
        """The accepted webhook secrets, current first (two while rotating)."""
        return [
            s.get_secret_value()
            for s in (self.webhook_secret, self.webhook_previous_secret)
            if s is not None and s.get_secret_value()
        ]

    def token_key_list(self) -> list[str]:
        """The configured token keys, newest first, without blanks."""
        if self.token_keys is None:
            return []
        raw = self.token_keys.get_secret_value()
        return [k.strip() for k in raw.split(",") if k.strip()]
