"""htmx for the dashboard comes from the installed ``django-js-lib-htmx`` package, served by the
dashboard itself (behind the login), never from the internet nor from a copy in this repository."""

from __future__ import annotations

import re
from dataclasses import replace
from importlib import metadata

import httpx2
import pytest

from sallakit.server._parts import ServiceParts
from sallakit.server.dashboard._assets import HTMX_PATH, load_htmx, script_url

from .conftest import html, log_in

pytestmark = pytest.mark.anyio


def script_src(page: str) -> str | None:
    match = re.search(r'<script src="([^"]+)"', page)
    return match.group(1) if match else None


async def test_the_installed_htmx_is_served_to_logged_in_users(
    client: httpx2.AsyncClient,
) -> None:
    anonymous = await client.get(HTMX_PATH)
    assert anonymous.status_code == 401
    login = await client.get("/login")
    assert script_src(login.text) is None  # the login page has no script at all

    await log_in(client)
    home = await client.get("/dashboard/")
    src = script_src(home.text)
    assert src == f"{HTMX_PATH}?v={metadata.version('django-js-lib-htmx')}"
    assert 'hx-boost="true"' in home.text
    served = await client.get(src)
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")
    # htmx's own file, as the package installed it (not something of ours).
    assert served.content.startswith(b"var htmx=function()")
    assert b'version:"2.' in served.content or b"version:'2." in served.content


async def test_configured_url_and_off(parts: ServiceParts) -> None:
    from sallakit.server._build import service_app

    for configured, expected in (
        ("https://cdn.example/htmx.js", "https://cdn.example/htmx.js"),
        ("off", None),
    ):
        settings = parts.settings.model_copy(update={"htmx_url": configured})
        app = service_app(replace(parts, settings=settings))
        async with httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://service.test"
        ) as client:
            await log_in(client)
            home = await client.get("/dashboard/", headers=html())
            assert script_src(home.text) == expected
            assert ('hx-boost="true"' in home.text) is (expected is not None)


async def test_without_the_package_the_pages_still_work(parts: ServiceParts) -> None:
    from sallakit.server._build import service_app

    app = service_app(replace(parts, htmx=None))
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=app), base_url="http://service.test"
    ) as client:
        await log_in(client)
        home = await client.get("/dashboard/")
        assert home.status_code == 200 and script_src(home.text) is None
        assert (await client.get(HTMX_PATH)).status_code == 404


def test_script_url_is_pure() -> None:
    installed = load_htmx()
    assert installed is not None
    assert script_url(None, installed) == f"{HTMX_PATH}?v={installed.version}"
    assert script_url("/static/htmx.js", installed) == "/static/htmx.js"
    assert script_url("OFF", installed) is None
    assert script_url(None, None) is None


async def test_errors_are_dashboard_pages_for_browsers_and_json_for_the_api(
    client: httpx2.AsyncClient,
) -> None:
    await log_in(client)
    page = await client.get("/dashboard/webhooks/999", headers=html())
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in page.text and "no delivery 999" in page.text
    assert 'hx-boost="true"' in page.text  # a whole page: htmx swaps it like any other
    api = await client.get("/dashboard/webhooks/999")
    assert api.status_code == 404 and api.json() == {"detail": "no delivery 999"}
    refused = await client.post("/dashboard/dead-letters/replay", headers=html())
    assert refused.status_code == 403 and "CSRF" in refused.text and "<html" in refused.text
