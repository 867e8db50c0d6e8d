"""htmx for the dashboard, served from an installed package, never copied into sallakit.

``sallakit[server]`` depends on ``django-js-lib-htmx``: a dependency-free (0BSD) wheel that ships
htmx's own ``htmx.min.js`` as package data (its Django app config is never imported, so Django
is not needed). The dashboard serves that file at :data:`HTMX_PATH` to logged-in users, so a
fresh install has htmx with no network access at run time and no third-party code in this
repository. ``SALLAKIT_HTMX_URL`` points the pages at another copy, or ``off`` turns htmx off;
every page works without it either way (plain forms and links).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata, resources

__all__ = ["HTMX_DISTRIBUTION", "HTMX_PATH", "Htmx", "load_htmx", "script_url"]

#: The PyPI distribution that carries htmx, and where the file sits inside its package.
HTMX_DISTRIBUTION = "django-js-lib-htmx"
_HTMX_PACKAGE = "js_lib_htmx"
_HTMX_FILE = ("static", "htmx", "htmx.min.js")

#: Where the dashboard serves the installed copy (behind the login, like every dashboard URL).
HTMX_PATH = "/dashboard/assets/htmx.min.js"


@dataclass(frozen=True, slots=True)
class Htmx:
    """The installed htmx: its file's bytes and the distribution's version (for cache busting)."""

    script: bytes
    version: str


def load_htmx() -> Htmx | None:
    """The installed copy of htmx, or None when its distribution is not installed."""
    try:
        package = resources.files(_HTMX_PACKAGE)
        version = metadata.version(HTMX_DISTRIBUTION)
    except (ModuleNotFoundError, metadata.PackageNotFoundError):
        return None
    target = package.joinpath(*_HTMX_FILE)
    if not target.is_file():
        return None
    return Htmx(target.read_bytes(), version)


def script_url(configured: str | None, installed: Htmx | None) -> str | None:
    """Where the pages load htmx from: the configured URL (``off``: nowhere), else the served
    installed copy, else nowhere (pure)."""
    if configured:
        return None if configured.strip().lower() == "off" else configured
    if installed is None:
        return None
    return f"{HTMX_PATH}?v={installed.version}"
