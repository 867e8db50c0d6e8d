"""Loading and checking the service's settings, with one clear message per problem.

Pure but for reading the environment and the settings file in :func:`load_settings`: the checks
look at a :class:`~sallakit.settings.Settings` only, so ``sallakit serve``, ``sallakit worker``
and ``sallakit doctor`` share them and the tests need no process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError

from sallakit._exceptions import ConfigurationError
from sallakit.settings import Settings

__all__ = [
    "MIN_ADMIN_PASSWORD",
    "MIN_ADMIN_TOKEN",
    "MIN_SESSION_SECRET",
    "Problem",
    "Purpose",
    "engine_options",
    "load_settings",
    "require_valid",
    "settings_problems",
]

Purpose = Literal["serve", "worker"]

MIN_ADMIN_PASSWORD = 12
MIN_ADMIN_TOKEN = 24
MIN_SESSION_SECRET = 32
_MIN_STATE_SECRET = 16


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the settings: which variable, what is wrong, how to fix it."""

    setting: str
    message: str
    fix: str
    severity: Literal["error", "warning"] = "error"

    def line(self) -> str:
        """``SALLAKIT_X: what is wrong (fix: ...)`` on one line."""
        return f"{self.setting}: {self.message} (fix: {self.fix})"


def _env(name: str) -> str:
    return f"SALLAKIT_{name.upper()}"


def load_settings(env_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from ``SALLAKIT_*`` variables and a ``.env``-style file.

    Args:
        env_file: the settings file (``KEY=value`` lines); default ``.env`` when it exists.
        overrides: values that win over the environment (command-line flags).

    Raises:
        ConfigurationError: a value of the wrong type or outside its range, one line per problem,
            or a settings file that does not exist.
    """
    if env_file is not None and not Path(env_file).is_file():
        raise ConfigurationError(f"settings file {env_file} does not exist")
    try:
        if env_file is None:
            return Settings(**overrides)
        return Settings(_env_file=str(env_file), **overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            # The input value may be a secret: name the variable and the rule, never the value.
            lines.append(f"{_env(field)}: {error['msg']}")
        raise ConfigurationError("invalid settings:\n" + "\n".join(lines)) from None


def engine_options(settings: Settings) -> dict[str, Any]:
    """The connection-pool keywords of :func:`sallakit.db.create_engine` from the settings
    (ignored by SQLite)."""
    return {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
        "pool_timeout": settings.database_pool_timeout,
        "pool_recycle": settings.database_pool_recycle,
    }


def _url_problem(name: str, value: str | None, *, required: bool = False) -> Problem | None:
    if value is None or value == "":
        if required:
            return Problem(_env(name), "is not set", f"set {_env(name)} to an http(s) URL")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return Problem(
            _env(name),
            f"{value!r} is not an http(s) URL",
            f"set {_env(name)} to a URL such as https://example.com",
        )
    return None


def _secret(value: Any) -> str:
    return "" if value is None else str(value.get_secret_value())


def _database_problems(settings: Settings) -> list[Problem]:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        return [
            Problem(
                "SALLAKIT_DATABASE_URL",
                "is not a database URL",
                "use sqlite:///path/to/sallakit.db or postgresql://user@host/db",
            )
        ]
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        return [
            Problem(
                "SALLAKIT_DATABASE_URL",
                f"the {backend!r} database is not supported",
                "use SQLite (sqlite:///file.db) or PostgreSQL (postgresql://user@host/db)",
            )
        ]
    if backend == "sqlite" and url.database in (None, "", ":memory:"):
        return [
            Problem(
                "SALLAKIT_DATABASE_URL",
                "an in-memory SQLite database is private to one connection: workers, the web "
                "process and restarts would each see an empty database",
                "point it at a file: sqlite:///sallakit.db",
            )
        ]
    return []


def _key_problems(settings: Settings) -> list[Problem]:
    from cryptography.fernet import Fernet

    keys = settings.token_key_list()
    if not keys:
        return [
            Problem(
                "SALLAKIT_TOKEN_KEYS",
                "no token encryption key is set",
                "run `sallakit keys generate` and set SALLAKIT_TOKEN_KEYS to its output",
            )
        ]
    problems = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            problems.append(
                Problem(
                    "SALLAKIT_TOKEN_KEYS",
                    f"key #{position} is not a Fernet key (32 url-safe base64 bytes)",
                    "replace it with the output of `sallakit keys generate`",
                )
            )
    return problems


def _login_problems(settings: Settings) -> list[Problem]:
    password = _secret(settings.admin_password)
    token = _secret(settings.admin_token)
    problems = []
    if not password and not token:
        problems.append(
            Problem(
                "SALLAKIT_ADMIN_PASSWORD",
                "no dashboard login is configured (neither an admin password nor a token)",
                f"set SALLAKIT_ADMIN_PASSWORD ({MIN_ADMIN_PASSWORD}+ characters) or "
                f"SALLAKIT_ADMIN_TOKEN ({MIN_ADMIN_TOKEN}+ characters)",
            )
        )
    if password and len(password) < MIN_ADMIN_PASSWORD:
        problems.append(
            Problem(
                "SALLAKIT_ADMIN_PASSWORD",
                f"is shorter than {MIN_ADMIN_PASSWORD} characters",
                "choose a longer password",
            )
        )
    if token and len(token) < MIN_ADMIN_TOKEN:
        problems.append(
            Problem(
                "SALLAKIT_ADMIN_TOKEN",
                f"is shorter than {MIN_ADMIN_TOKEN} characters",
                'generate one: python -c "import secrets; print(secrets.token_urlsafe(32))"',
            )
        )
    secret = _secret(settings.session_secret)
    if len(secret) < MIN_SESSION_SECRET:
        problems.append(
            Problem(
                "SALLAKIT_SESSION_SECRET",
                "is not set" if not secret else f"is shorter than {MIN_SESSION_SECRET} characters",
                'set it to a random string, the same in every web process: python -c "import '
                'secrets; print(secrets.token_urlsafe(32))"',
            )
        )
    return problems


def _oauth_problems(settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    custom = any(
        (settings.redirect_uri, settings.state_secret, settings.client_id, settings.client_secret)
    )
    if not custom:
        return problems
    if not settings.client_id:
        problems.append(
            Problem("SALLAKIT_CLIENT_ID", "is not set", "copy the app's client id (Partner Portal)")
        )
    if not _secret(settings.client_secret):
        problems.append(
            Problem(
                "SALLAKIT_CLIENT_SECRET",
                "is not set",
                "copy the app's client secret (Partner Portal)",
            )
        )
    if settings.redirect_uri or settings.state_secret:
        # Custom mode: the OAuth callback needs both.
        found = _url_problem("redirect_uri", settings.redirect_uri, required=True)
        if found:
            problems.append(found)
        state = _secret(settings.state_secret)
        if len(state.encode()) < _MIN_STATE_SECRET:
            problems.append(
                Problem(
                    "SALLAKIT_STATE_SECRET",
                    "is not set (Custom mode signs the OAuth state with it)"
                    if not state
                    else f"is shorter than {_MIN_STATE_SECRET} bytes",
                    "set it to a random string of 32+ characters",
                )
            )
    return problems


def settings_problems(settings: Settings, *, purpose: Purpose = "serve") -> list[Problem]:
    """Everything wrong with ``settings`` for ``purpose``, errors first (no I/O).

    ``serve`` needs the dashboard login and the webhook secret on top of what ``worker`` needs
    (a database, token keys, consistent OAuth settings).
    """
    problems = [*_database_problems(settings), *_key_problems(settings)]
    if purpose == "serve":
        if not _secret(settings.webhook_secret):
            problems.append(
                Problem(
                    "SALLAKIT_WEBHOOK_SECRET",
                    "is not set: webhooks could not be verified",
                    "copy the app's webhook secret (Partner Portal, Webhooks)",
                )
            )
        problems.extend(_login_problems(settings))
    problems.extend(_oauth_problems(settings))
    if not settings.client_id and not settings.client_secret:
        problems.append(
            Problem(
                "SALLAKIT_CLIENT_ID",
                "no app credentials: tokens arrive (Easy mode) but cannot be refreshed",
                "set SALLAKIT_CLIENT_ID and SALLAKIT_CLIENT_SECRET (Partner Portal)",
                severity="warning",
            )
        )
    for name in ("accounts_url", "api_base_url", "public_url"):
        found = _url_problem(name, getattr(settings, name))
        if found:
            problems.append(found)
    if settings.htmx_url and not (
        settings.htmx_url.strip().lower() == "off"
        or settings.htmx_url.startswith("/")
        or _url_problem("htmx_url", settings.htmx_url) is None
    ):
        problems.append(
            Problem(
                "SALLAKIT_HTMX_URL",
                "is not a URL, an absolute path or `off`",
                "unset it (the dashboard serves its own copy)",
            )
        )
    public = urlsplit(settings.public_url or "")
    if public.scheme == "http" and public.hostname not in ("127.0.0.1", "localhost", "::1"):
        problems.append(
            Problem(
                "SALLAKIT_PUBLIC_URL",
                "is plain http on a public host: session cookies and webhook secrets would "
                "travel unencrypted",
                "serve the service behind a TLS reverse proxy and use its https:// URL",
                severity="warning",
            )
        )
    return sorted(problems, key=lambda p: p.severity != "error")


def require_valid(settings: Settings, *, purpose: Purpose = "serve") -> Sequence[Problem]:
    """Raise on any error-level problem; returns the warnings.

    Raises:
        ConfigurationError: one line per problem, each naming the variable and the fix.
    """
    problems = settings_problems(settings, purpose=purpose)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigurationError(
            f"the settings have {len(errors)} problem(s):\n"
            + "\n".join(f"- {p.line()}" for p in errors)
        )
    return [p for p in problems if p.severity == "warning"]
