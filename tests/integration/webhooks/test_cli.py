"""``sallakit webhooks``: list, show, replay, pause and resume on a real inbox; ensure and
events against the emulator server (a real process speaking Salla's webhook endpoints)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sallakit.auth import TokenVault, generate_key
from sallakit.auth._tokens import parse_token_response
from sallakit.cli import app
from sallakit.cli._webhooks import parse_since
from sallakit.server import FernetBodyCipher
from sallakit.webhooks import NewDelivery, SQLInbox

from ..auth.conftest import start_emulator_server
from .conftest import body

runner = CliRunner()


@pytest.fixture
def filled(tmp_path: Path) -> tuple[str, SQLInbox]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    inbox = SQLInbox.from_url(url, cipher=FernetBodyCipher([generate_key()]))
    now = time.time()
    items = [
        NewDelivery(
            7,
            "order.created",
            "a" * 64,
            now - 7200,
            {"user-agent": "Salla"},
            body("order.created", {"id": 1}),
        ),
        NewDelivery(
            7, "product.created", "b" * 64, now - 60, {}, body("product.created", {"id": 2})
        ),
        NewDelivery(8, "order.updated", "c" * 64, now - 30, {}, body("order.updated", {"id": 3})),
        NewDelivery(
            8,
            "app.store.authorize",
            "d" * 64,
            now,
            {},
            body("app.store.authorize", {"access_token": "ory_at_X", "refresh_token": "ory_rt_X"}),
        ),
    ]
    inbox.add(items)
    for delivery in inbox.claim(owner="w", limit=2, lease_seconds=60, now=now):
        inbox.finish(delivery.id, owner="w", status="dead", now=now, error="boom")
    return url, inbox


def test_list_filters_and_json(filled: tuple[str, SQLInbox]) -> None:
    url, _ = filled
    result = runner.invoke(app, ["webhooks", "list", "--database-url", url, "--json"])
    assert result.exit_code == 0, result.output
    assert [d["id"] for d in json.loads(result.output)] == [4, 3, 2, 1]
    result = runner.invoke(
        app, ["webhooks", "list", "--database-url", url, "--json", "--event", "order.*"]
    )
    assert [d["event"] for d in json.loads(result.output)] == ["order.updated", "order.created"]
    result = runner.invoke(
        app, ["webhooks", "list", "--database-url", url, "--json", "--since", "1h", "--store", "7"]
    )
    assert [d["id"] for d in json.loads(result.output)] == [2]
    result = runner.invoke(app, ["webhooks", "list", "--database-url", url, "--status", "dead"])
    assert result.exit_code == 0 and "boom" in result.output and "order.created" in result.output
    bad = runner.invoke(app, ["webhooks", "list", "--database-url", url, "--status", "lost"])
    assert bad.exit_code != 0


def test_show_never_prints_tokens(filled: tuple[str, SQLInbox]) -> None:
    url, _ = filled
    result = runner.invoke(app, ["webhooks", "show", "4", "--database-url", url, "--json"])
    assert result.exit_code == 0, result.output
    assert "ory_at_X" not in result.output and json.loads(result.output)["sealed"] is True
    result = runner.invoke(app, ["webhooks", "show", "1", "--database-url", url])
    assert '"id": 1' in result.output and "user-agent" in result.output
    missing = runner.invoke(app, ["webhooks", "show", "99", "--database-url", url])
    assert missing.exit_code == 1 and "no delivery 99" in missing.output


def test_replay_by_id_and_in_bulk(filled: tuple[str, SQLInbox]) -> None:
    url, inbox = filled
    result = runner.invoke(app, ["webhooks", "replay", "1", "--database-url", url, "--json"])
    assert json.loads(result.output) == {"replayed": [1]}
    assert inbox.get(1).status == "pending"
    result = runner.invoke(
        app,
        ["webhooks", "replay", "--status", "dead", "--event", "product.*", "--database-url", url],
    )
    assert result.exit_code == 0 and "1 deliveries queued again" in result.output
    assert inbox.counts()["dead"] == 0
    neither = runner.invoke(app, ["webhooks", "replay", "--database-url", url])
    assert neither.exit_code != 0
    unknown = runner.invoke(app, ["webhooks", "replay", "77", "--database-url", url])
    assert unknown.exit_code == 1 and "77" in unknown.output


def test_pause_and_resume(filled: tuple[str, SQLInbox]) -> None:
    url, inbox = filled
    assert runner.invoke(app, ["webhooks", "pause", "--database-url", url]).exit_code == 0
    assert inbox.is_paused()
    assert "PAUSED" in runner.invoke(app, ["webhooks", "list", "--database-url", url]).output
    assert runner.invoke(app, ["webhooks", "resume", "--database-url", url]).exit_code == 0
    assert not inbox.is_paused()


def test_parse_since() -> None:
    assert parse_since("2h", now=10_000) == 10_000 - 7200
    assert parse_since("1970-01-01T01:00:00", now=0) == 3600
    with pytest.raises(Exception, match="neither"):
        parse_since("yesterday", now=0)


def test_ensure_is_idempotent_and_events_lists_the_offer(tmp_path: Path) -> None:
    key = generate_key()
    db = f"sqlite:///{tmp_path / 'vault.db'}"
    with start_emulator_server() as server:
        store_id = server.store_id()
        issued = server.control("POST", f"/stores/{store_id}/tokens", {})
        vault = TokenVault.from_url(db, [key])
        vault.save_tokens(store_id, parse_token_response(200, issued, now=time.time()))
        env = {
            "SALLAKIT_DATABASE_URL": db,
            "SALLAKIT_TOKEN_KEYS": key,
            "SALLAKIT_API_BASE_URL": f"{server.url}/admin/v2",
        }
        hook = "https://hooks.example.com/webhooks/salla"
        base = ["webhooks", "ensure", "--store", str(store_id), "--url", hook]
        first = runner.invoke(
            app, [*base, "--events", "order.created,product.created", "--json"], env=env
        )
        assert first.exit_code == 0, first.output
        assert [c["action"] for c in json.loads(first.output)["changes"]] == ["create", "create"]
        again = runner.invoke(
            app, [*base, "--events", "order.created,product.created", "--json"], env=env
        )
        assert [c["action"] for c in json.loads(again.output)["changes"]] == ["keep", "keep"]
        # Another URL and header for one event, one event dropped: a dry run changes nothing.
        moved = [
            "webhooks",
            "ensure",
            "--store",
            str(store_id),
            "--url",
            hook + "2",
            "--events",
            "order.created",
            "--header",
            "X-App=1",
        ]
        dry = runner.invoke(app, [*moved, "--dry-run", "--json"], env=env)
        plan = json.loads(dry.output)["changes"]
        assert [(c["action"], c["event"]) for c in plan] == [
            ("update", "order.created"),
            ("delete", "product.created"),
        ]
        assert "URL differs, headers differ" in plan[0]["reason"]
        real = runner.invoke(app, moved, env=env)
        assert real.exit_code == 0 and "2 changed" in real.output, real.output
        final = runner.invoke(app, [*moved, "--json"], env=env)
        assert [c["action"] for c in json.loads(final.output)["changes"]] == ["keep"]
        offered = runner.invoke(
            app, ["webhooks", "events", "--store", str(store_id), "--json"], env=env
        )
        assert offered.exit_code == 0, offered.output
        events = {e["event"] for e in json.loads(offered.output)}
        assert {"order.created", "customer.updated"} <= events
