"""``list_cap`` (``--list-cap``): lists stop returning rows past N, ``total`` stays true."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from sallakit._exceptions import ConfigurationError
from sallakit.cli._emulator import _build
from sallakit.emulator import Emulator
from sallakit.emulator._state import EmulatorSettings

pytestmark = pytest.mark.anyio


async def _pages(client: Any, path: str, per_page: int) -> list[dict[str, Any]]:
    bodies = []
    page = 1
    while True:
        response = await client.get(path, params={"page": page, "per_page": per_page})
        assert response.status_code == 200, response.text
        bodies.append(response.json())
        if page >= bodies[-1]["pagination"]["totalPages"]:
            return bodies
        page += 1


@pytest.mark.parametrize("path", ["/products", "/orders", "/customers"])
async def test_rows_stop_at_the_cap_while_total_keeps_the_true_count(make_emulator, api, path):
    em = make_emulator(products=70, orders=70, customers=70, list_cap=50)
    async with api(em.issue_tokens()["access_token"], em) as client:
        bodies = await _pages(client, path, 20)
    assert [len(b["data"]) for b in bodies] == [20, 20, 10, 0]
    assert [b["pagination"]["count"] for b in bodies] == [20, 20, 10, 0]
    assert {b["pagination"]["total"] for b in bodies} == {70}
    assert {b["pagination"]["totalPages"] for b in bodies} == {4}
    # The rows that do come are the list's first 50, in order, without repeats.
    ids = [row["id"] for b in bodies for row in b["data"]]
    assert len(set(ids)) == 50


async def test_a_cap_inside_a_page_cuts_that_page(make_emulator, api):
    em = make_emulator(products=30, list_cap=7)
    async with api(em.issue_tokens()["access_token"], em) as client:
        first = (await client.get("/products", params={"per_page": 5})).json()
        second = (await client.get("/products", params={"per_page": 5, "page": 2})).json()
        beyond = (await client.get("/products", params={"per_page": 5, "page": 6})).json()
    assert len(first["data"]) == 5
    assert len(second["data"]) == 2 and second["pagination"]["count"] == 2
    assert beyond["data"] == [] and beyond["pagination"]["total"] == 30


async def test_no_cap_by_default(make_emulator, api):
    em = make_emulator(products=70)
    assert em.settings.list_cap == 0
    async with api(em.issue_tokens()["access_token"], em) as client:
        bodies = await _pages(client, "/products", 60)
    assert sum(len(b["data"]) for b in bodies) == 70


async def test_generic_and_webhook_lists_are_capped_too(make_emulator, api):
    em = make_emulator(list_cap=2)
    async with api(em.issue_tokens()["access_token"], em) as client:
        for n in range(4):
            event = ["order.created", "order.updated", "customer.created", "brand.created"][n]
            response = await client.post(
                "/webhooks/subscribe", json={"event": event, "url": f"https://h.example/{n}"}
            )
            assert response.status_code in (200, 201), response.text
        hooks = (await client.get("/webhooks")).json()
    assert len(hooks["data"]) == 2 and hooks["pagination"]["total"] == 4


def test_the_cap_is_validated_and_survives_a_snapshot(tmp_path):
    with pytest.raises(ConfigurationError):
        Emulator(products=1, orders=0, customers=0, list_cap=-1)
    em = Emulator(products=1, orders=0, customers=0, list_cap=10_000)
    em.save(tmp_path / "s.snap")
    assert Emulator.load(tmp_path / "s.snap").settings.list_cap == 10_000
    assert em.describe()["settings"]["list_cap"] == 10_000


def test_settings_pickled_before_the_cap_existed_load_with_it_off():
    # Older snapshots pickled the slots as (None, {name: value}) without ``list_cap``.
    old = EmulatorSettings.__new__(EmulatorSettings)
    old.__setstate__((None, {"quirks": True}))
    assert old.quirks is True and old.list_cap == 0
    assert pickle.loads(pickle.dumps(EmulatorSettings(list_cap=3))).list_cap == 3


def test_the_cli_flag_sets_the_cap_and_applies_over_a_state_file(tmp_path):
    options: dict[str, Any] = {
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
    }
    em = _build(None, list_cap=100, **options)
    assert em.settings.list_cap == 100
    state = tmp_path / "state.snap"
    em.save(state)
    again = _build(state, explicit={"list_cap"}, list_cap=5, **options)
    assert again.settings.list_cap == 5
