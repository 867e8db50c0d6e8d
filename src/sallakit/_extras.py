"""Optional parts and the extras that install them: one clear error when one is missing.

``pip install sallakit`` brings the client, the models, the token vault and webhook
verification. The rest comes with extras (``pyproject.toml``); a part checks its extra when it is
imported, so a missing dependency is reported as the install command to run rather than as a
``ModuleNotFoundError`` from deep inside a third-party package.
"""

from __future__ import annotations

import importlib.util

from sallakit._exceptions import MissingExtraError

__all__ = ["EXTRAS", "missing_module", "require_extra"]

#: extra -> the top-level modules it provides (those its parts import).
EXTRAS: dict[str, tuple[str, ...]] = {
    "cli": ("typer", "rich"),
    "emulator": ("starlette", "uvicorn", "jinja2", "multipart"),
    "server": (
        "fastapi",
        "starlette",
        "uvicorn",
        "jinja2",
        "multipart",
        "prometheus_client",
        "js_lib_htmx",
    ),
    "mirror": ("dbos",),
    "postgres": ("psycopg",),
    "parquet": ("pyarrow",),
}


def missing_module(extra: str) -> str | None:
    """The first module of ``extra`` that cannot be imported, or None when all can."""
    for name in EXTRAS[extra]:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return name
    return None


def require_extra(extra: str, part: str) -> None:
    """Check that ``extra`` is installed before ``part`` imports it.

    Raises:
        MissingExtraError: naming the part, the missing module and the install command.
    """
    missing = missing_module(extra)
    if missing is not None:
        raise MissingExtraError(
            f"{part} needs the '{extra}' extra (module {missing!r} is not installed): "
            f"pip install 'sallakit[{extra}]'",
            extra=extra,
            module=missing,
        )
