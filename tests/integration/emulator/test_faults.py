"""Injected faults: each kind, targeting, and determinism by seed."""

from __future__ import annotations

import json

import httpx2
import pytest

pytestmark = pytest.mark.anyio


async def test_error_fault_answers_5xx_then_stops(emulator, api):
    emulator.inject_fault("error", status=503, remaining=2)
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        codes = [(await client.get("/store/info")).status_code for _ in range(3)]
    assert codes == [503, 503, 200]


async def test_rate_limit_storm(emulator, api):
    emulator.inject_fault("rate_limit", retry_after=7, remaining=3, endpoint="products.")
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        other = await client.get("/store/info")
        storm = [await client.get("/products") for _ in range(4)]
    assert other.status_code == 200
    assert [r.status_code for r in storm] == [429, 429, 429, 200]
    assert storm[0].headers["retry-after"] == "7"
    assert storm[0].json()["error"]["code"] == "too_many_requests"


async def test_connection_reset_raises_from_the_transport(emulator, api):
    emulator.inject_fault("reset", remaining=1)
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        with pytest.raises(httpx2.ReadError):
            await client.get("/store/info")
        assert (await client.get("/store/info")).status_code == 200
    assert [e["status"] for e in emulator.request_log] == [None, 200]


async def test_malformed_body(emulator, api):
    emulator.inject_fault("malformed", remaining=1)
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        answer = await client.get("/products")
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)


async def test_page_drift_inserts_items_between_pages(emulator, api):
    emulator.inject_fault("page_drift", count=2, endpoint="products.list")
    tokens = emulator.issue_tokens()
    async with api(tokens["access_token"]) as client:
        page1 = (await client.get("/products", params={"per_page": 10})).json()
        page2 = (await client.get("/products", params={"per_page": 10, "page": 2})).json()
    assert page2["pagination"]["total"] == page1["pagination"]["total"] + 2
    ids1 = {p["id"] for p in page1["data"]}
    # New items at the front shift older ones onto the next page: a naive pager sees repeats.
    assert ids1 & {p["id"] for p in page2["data"]}


async def test_faults_target_one_store(make_emulator, api):
    em = make_emulator(stores=2)
    em.inject_fault("error", store_id=em.stores[1].id)
    async with api(em.issue_tokens(em.stores[0].id)["access_token"], em) as client:
        assert (await client.get("/store/info")).status_code == 200
    async with api(em.issue_tokens(em.stores[1].id)["access_token"], em) as client:
        assert (await client.get("/store/info")).status_code == 500


async def test_faults_are_deterministic_by_seed(make_emulator, api):
    runs = []
    for _ in range(2):
        em = make_emulator(seed=7)
        em.inject_fault("error", rate=0.5)
        async with api(em.issue_tokens()["access_token"], em) as client:
            runs.append([(await client.get("/store/info")).status_code for _ in range(20)])
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 500}


def test_unknown_fault_kind_is_refused(emulator):
    with pytest.raises(ValueError, match="unknown fault kind"):
        emulator.inject_fault("gremlins")
