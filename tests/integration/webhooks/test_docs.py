"""The webhook examples of README.md and docs/receiving-webhooks.md run as written.

Deliveries come from the emulator (real ``order.created`` and product payloads, signed the way
Salla signs them) into the app ``sallakit serve`` runs, in-process.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import httpx2
import pytest
import sqlalchemy as sa

from sallakit.auth import generate_key
from sallakit.emulator import Emulator
from sallakit.server import create_app
from sallakit.settings import Settings
from sallakit.webhooks import Event, Handlers

ROOT = Path(__file__).resolve().parents[3]
SECRET = "docs-webhook-secret"

pytestmark = pytest.mark.anyio


def blocks(path: Path, heading: str) -> list[str]:
    text = path.read_text("utf-8")
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def run_block(code: str, **namespace: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {"__name__": "docs_example", **namespace}
    exec(compile(code, "example", "exec"), scope)
    return scope


async def deliver_from_emulator(handlers: Handlers, tmp_path: Path) -> Any:
    """An order and a product change through the emulator into the served app."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'docs.db'}",
        webhook_secret=SECRET,
        token_keys=generate_key(),
    )
    app = create_app(settings, handlers=handlers)
    emulator = Emulator(
        products=5,
        orders=0,
        customers=2,
        webhook_secret=SECRET,
        webhook_transport=httpx2.ASGITransport(app=app),
    )
    store = emulator.stores[0].id
    token = emulator.issue_tokens(store)["access_token"]
    async with httpx2.AsyncClient(
        transport=emulator.async_transport(), base_url="https://api.salla.dev/admin/v2"
    ) as api:
        for event in ("order.created", "product.price.updated"):
            subscribed = await api.post(
                "/webhooks/subscribe",
                json={"event": event, "url": "https://app.example/webhooks/salla"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert subscribed.status_code in (200, 201), subscribed.text
    order = emulator.place_order(store)
    product_id = min(emulator.store(store).data.products)
    emulator.update_product(store, product_id, {"price": 99})
    receiver = app.state.receiver
    made = await emulator.deliver_due()
    assert [r.status for r in made] == [200] * len(made) and len(made) >= 2
    # The worker, driven here rather than in the background, so the test knows when it is done.
    await receiver.worker.drain()
    return store, order, product_id, receiver


async def test_readme_webhook_example(tmp_path: Path, capsys: Any) -> None:
    (code,) = blocks(ROOT / "README.md", "Receive webhooks")
    handlers = run_block(code)["handlers"]
    store, order, product_id, receiver = await deliver_from_emulator(handlers, tmp_path)
    lines = capsys.readouterr().out.splitlines()  # deliveries are handled concurrently
    assert any(line.startswith(f"{store} {order['id']} ") for line in lines)
    assert f"product.price.updated {product_id}" in lines
    assert receiver.inbox.counts()["done"] >= 2


async def test_docs_handlers_module_and_exactly_once_block(tmp_path: Path, capsys: Any) -> None:
    guide = ROOT / "docs" / "receiving-webhooks.md"
    (module,) = blocks(guide, "Run it: `sallakit serve`")
    handlers = run_block(module)["handlers"]
    store, order, _, _ = await deliver_from_emulator(handlers, tmp_path)
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"{store} {order['id']} ") for line in lines)
    # The exactly-once example writes through the worker's session.
    exactly_once = next(b for b in blocks(guide, "Handlers") if "event.connection" in b)
    fresh = Handlers()
    run_block(exactly_once, handlers=fresh, sa=sa, Event=Event)
    db = tmp_path / "once" / "docs.db"
    db.parent.mkdir()
    sqlite3.connect(db).execute("CREATE TABLE orders_seen (store_id INTEGER, order_id INTEGER)")
    store, order, _, _ = await deliver_from_emulator(fresh, db.parent)
    rows = sqlite3.connect(db).execute("SELECT store_id, order_id FROM orders_seen").fetchall()
    assert rows == [(store, order["id"])]


async def test_docs_mount_and_testing_examples(tmp_path: Path, monkeypatch: Any) -> None:
    guide = ROOT / "docs" / "receiving-webhooks.md"
    monkeypatch.chdir(tmp_path)
    (mount,) = blocks(guide, "Mount it in your own app")
    app = run_block(mount, WEBHOOK_SECRET=SECRET)["app"]
    assert any(getattr(r, "path", None) == "/webhooks/salla" for r in app.router.routes)
    (testing,) = blocks(guide, "Test your handlers")
    seen: list[str] = []
    handlers = Handlers()
    handlers.on("order.created")(lambda event: seen.append(event.name))
    scope = run_block(testing, handlers=handlers)
    await scope["test_new_order_is_handled"]()
    assert seen == ["order.created"]
