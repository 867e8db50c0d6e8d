"""A webhook handler the e2e service loads (``SALLAKIT_WEBHOOK_HANDLERS``) that always fails on
``app.installed``: with one attempt allowed, that delivery is a dead letter to replay in bulk."""

from __future__ import annotations

from sallakit.webhooks import Event, Handlers

handlers = Handlers()


@handlers.on("app.installed", name="e2e.always_fails")
def always_fails(event: Event) -> None:
    raise RuntimeError("this handler always fails (e2e dead letter)")
