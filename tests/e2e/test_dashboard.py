"""The dashboard in headless Chromium against real ``sallakit serve`` and emulator processes.

The journey of an operator: log in, see the store the emulator installed in Easy mode, run a
sync and watch its audit pass, open a webhook delivery and replay it, switch to Arabic, log out.
Every page is saved as a screenshot under ``tests/e2e/screenshots/``.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx2
import pytest

from ._stack import ADMIN_PASSWORD, Stack

pytestmark = pytest.mark.e2e

DASHBOARD_PAGES = [
    "/dashboard/",
    "/dashboard/stores/{store}",
    "/dashboard/webhooks",
    "/dashboard/webhooks/1",
    "/dashboard/dead-letters",
]


def test_an_operator_journey(stack: Stack, browser: Any, shot: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    base = stack.service_url

    page.goto(f"{base}/dashboard/stores/{stack.store_id}")
    assert page.url.startswith(f"{base}/login?next=")
    shot(page, "login")
    page.fill("#secret", "wrong password")
    page.click("#login")
    assert page.locator("[role=alert]").is_visible()
    page.fill("#secret", ADMIN_PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/dashboard/stores/{stack.store_id}")

    page.goto(f"{base}/dashboard/")
    row = page.locator("#stores tbody tr").first
    assert f"#{stack.store_id}" in row.inner_text()
    assert row.locator(".badge").first.inner_text() == "active"
    shot(page, "stores")

    row.locator("a").first.click()
    page.wait_for_url(f"{base}/dashboard/stores/{stack.store_id}")
    page.click("#sync-now")
    page.wait_for_url(re.compile(r".*notice=sync.*"))
    assert "Sync requested" in page.locator("[role=status]").inner_text()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page.goto(f"{base}/dashboard/stores/{stack.store_id}")
        table = page.locator("#sync-status")
        if table.count() and "passed" in table.inner_text():
            break
        time.sleep(0.5)
    else:
        pytest.fail("the sync never showed a passed audit on the store page")
    assert page.locator("svg.chart").count() == 2
    shot(page, "store")

    page.goto(f"{base}/dashboard/webhooks")
    assert page.locator(".delivery-link").count() >= 2  # app.installed, app.store.authorize
    shot(page, "webhooks")
    page.locator(".delivery-link").last.click()
    page.wait_for_url(re.compile(r".*/dashboard/webhooks/\d+$"))
    shot(page, "delivery")
    page.click("#replay")
    page.wait_for_url(re.compile(r".*notice=replayed.*"))
    assert "Replayed: 1" in page.locator("[role=status]").inner_text()

    page.goto(f"{base}/dashboard/dead-letters")
    shot(page, "dead-letters")

    page.goto(f"{base}/dashboard/lang/ar")
    page.goto(f"{base}/dashboard/stores/{stack.store_id}")
    assert page.locator("html").get_attribute("dir") == "rtl"
    shot(page, "store-ar")
    page.goto(f"{base}/dashboard/lang/en")

    page.click("#logout")
    page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/dashboard/")
    assert page.url.startswith(f"{base}/login")
    page.close()


@pytest.mark.parametrize("path", DASHBOARD_PAGES)
def test_anonymous_requests_are_refused(stack: Stack, path: str) -> None:
    url = stack.service_url + path.format(store=stack.store_id)
    as_browser = httpx2.get(url, headers={"accept": "text/html"}, follow_redirects=False)
    assert as_browser.status_code == 303
    assert as_browser.headers["location"].startswith("/login")
    assert httpx2.get(url).status_code == 401


def test_anonymous_visitors_reach_only_login_health_and_webhooks(stack: Stack) -> None:
    base = stack.service_url
    assert httpx2.get(f"{base}/login").status_code == 200
    assert httpx2.get(f"{base}/healthz").status_code == 200
    assert httpx2.get(f"{base}/readyz").status_code in (200, 503)
    unsigned = httpx2.post(f"{base}/webhooks/salla", content=b"{}")
    assert unsigned.status_code in (400, 401)
    assert httpx2.get(f"{base}/metrics").status_code == 401
    assert httpx2.get(f"{base}/api/stores").status_code == 401
