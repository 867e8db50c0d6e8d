"""``--webhook-retry-interval``: the seconds between attempts of a failed webhook delivery."""

from __future__ import annotations

from typing import Any

from sallakit.cli._emulator import _build

OPTIONS: dict[str, Any] = {
    "stores": 1,
    "plan": "pro",
    "products": 2,
    "orders": 0,
    "customers": 0,
    "seed": 1,
    "client_id": "c",
    "client_secret": "s",
    "webhook_secret": "w",
    "webhook_url": None,
    "redirect_uri": "http://127.0.0.1:8000/cb",
    "easy_mode": False,
    "auto_approve": False,
    "strict_urls": False,
    "quirks": False,
    "list_cap": 0,
}


def test_the_flag_sets_the_interval_and_applies_over_a_state_file(tmp_path):
    em = _build(None, webhook_retry_interval=5.0, **OPTIONS)
    assert em.settings.webhook_retry_interval == 5.0
    state = tmp_path / "state.snap"
    em.save(state)
    kept = _build(state, webhook_retry_interval=300.0, **OPTIONS)
    assert kept.settings.webhook_retry_interval == 5.0  # not given: the snapshot's
    again = _build(
        state, explicit={"webhook_retry_interval"}, webhook_retry_interval=0.5, **OPTIONS
    )
    assert again.settings.webhook_retry_interval == 0.5


def test_a_failed_delivery_is_retried_after_the_interval():
    import anyio
    import httpx2

    em = _build(None, webhook_retry_interval=7.0, **OPTIONS)
    em.create_app(client_id="other", webhook_url="http://app.test/hook", easy_mode=True)
    store_id = em.stores[0].id

    def refuse(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(503)

    em.webhook_transport = httpx2.MockTransport(refuse)
    em.install_app(store_id, client_id="other")
    anyio.run(em.deliver_due)
    # The server's clock is the wall clock: the next attempt is about 7 s away, not 300.
    waits = [d.due_at - em.clock.time() for d in em.pending_deliveries]
    assert waits and all(5.0 < wait <= 7.0 for wait in waits)
