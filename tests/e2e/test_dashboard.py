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


def dead_letter_back(page: Any) -> None:
    """Reload the dead letters until app.installed is there (dead again after a replay)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page.goto(page.url.split("?")[0])
        if "app.installed" in page.locator("main").inner_text():
            return
        time.sleep(0.3)
    pytest.fail("app.installed never became a dead letter")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-javascript"])
def test_an_operator_journey(stack: Stack, browser: Any, shot: Any, javascript: bool) -> None:
    """The same journey with htmx (the copy the dashboard serves from the installed package:
    every action goes through it) and with JavaScript off (plain forms and links)."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    base = stack.service_url
    suffix = "" if javascript else "-nojs"
    # Requests made by htmx carry HX-Request; those of a plain page load or form post do not.
    by_htmx: list[str] = []
    page.on(
        "request",
        lambda r: by_htmx.append(f"{r.method} {r.url}") if r.headers.get("hx-request") else None,
    )

    page.goto(f"{base}/dashboard/stores/{stack.store_id}")
    assert page.url.startswith(f"{base}/login?next=")
    shot(page, "login" + suffix)
    page.fill("#secret", "wrong password")
    page.click("#login")
    assert page.locator("[role=alert]").is_visible()
    page.fill("#secret", ADMIN_PASSWORD)
    page.click("#login")
    page.wait_for_url(f"{base}/dashboard/stores/{stack.store_id}")
    if javascript:
        page.wait_for_function("() => window.htmx !== undefined")
        assert page.evaluate("() => htmx.version").startswith("2.")

    page.goto(f"{base}/dashboard/")
    row = page.locator("#stores tbody tr").first
    assert f"#{stack.store_id}" in row.inner_text()
    assert row.locator(".badge").first.inner_text() == "active"
    shot(page, "stores" + suffix)

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
    shot(page, "store" + suffix)

    page.goto(f"{base}/dashboard/webhooks")
    assert page.locator(".delivery-link").count() >= 2  # app.installed, app.store.authorize
    shot(page, "webhooks" + suffix)
    page.select_option("#filters select[name=status]", "done")
    page.fill("#filters input[name=event]", "app.store.authorize")
    page.click("#filters button[type=submit]")
    page.wait_for_url(re.compile(r".*event=app\.store\.authorize.*"))
    assert page.locator(".delivery-link").count() == 1
    page.locator(".delivery-link").first.click()
    page.wait_for_url(re.compile(r".*/dashboard/webhooks/\d+$"))
    shot(page, "delivery" + suffix)
    page.click("#replay")
    page.wait_for_url(re.compile(r".*notice=replayed.*"))
    assert "Replayed: 1" in page.locator("[role=status]").inner_text()

    page.goto(f"{base}/dashboard/dead-letters")
    dead_letter_back(page)
    shot(page, "dead-letters" + suffix)
    # Bulk replay: the selected one, then all; the handler still fails, so it comes back dead.
    page.check("#dead-form input[name=ids]")
    page.click("#replay-selected")
    page.wait_for_url(re.compile(r".*/dashboard/dead-letters\?notice=replayed.*"))
    assert "Replayed: 1" in page.locator("[role=status]").inner_text()
    dead_letter_back(page)
    page.click("#replay-all")
    page.wait_for_url(re.compile(r".*/dashboard/dead-letters\?notice=replayed.*"))
    assert "Replayed: 1" in page.locator("[role=status]").inner_text()
    dead_letter_back(page)

    page.click("a[href='/dashboard/lang/ar']")
    page.wait_for_url(f"{base}/dashboard/dead-letters")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.goto(f"{base}/dashboard/stores/{stack.store_id}")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.locator("html").get_attribute("lang") == "ar"
    shot(page, "store-ar" + suffix)
    page.click("a[href='/dashboard/lang/en']")
    page.wait_for_url(f"{base}/dashboard/stores/{stack.store_id}")
    assert page.locator("html").get_attribute("dir") == "ltr"

    page.click("#logout")
    page.wait_for_url(f"{base}/login")
    page.goto(f"{base}/dashboard/")
    assert page.url.startswith(f"{base}/login")

    actions = [r.split("?")[0] for r in by_htmx]
    if javascript:
        # The enhanced path really ran: links, the filter form and both actions went via htmx.
        assert f"POST {base}/dashboard/stores/{stack.store_id}/sync" in actions
        assert any(re.fullmatch(rf"POST {base}/dashboard/webhooks/\d+/replay", a) for a in actions)
        assert f"GET {base}/dashboard/webhooks" in actions
        assert f"GET {base}/dashboard/stores/{stack.store_id}" in actions
        assert actions.count(f"POST {base}/dashboard/dead-letters/replay") == 2
    else:
        assert actions == []
    context.close()


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
