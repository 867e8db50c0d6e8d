"""Benchmark: how fast the emulator answers a 60-item list page.

Walks the products and orders lists of an emulated store in pages of 60 through the ASGI app
(``Emulator.async_transport()`` with ``httpx2``, the way clients and the mirror sync reach it) and
reports the median milliseconds per page over several rounds, plus one order's details. The
baseline is measured in the same run: ``json.dumps`` of the same rendered page payload, the floor
any JSON API pays for a page; the ratio page / baseline shows what rendering, conforming and the
HTTP shell add on top. ``--quick`` uses a smaller store and fewer rounds (well under a minute);
``--json`` prints one machine-readable object.

    python bench/emulator_throughput.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import anyio
import httpx2

from sallakit.emulator import Emulator

PER_PAGE = 60
# A page may cost at most this many times ``json.dumps`` of the same page, measured in the same
# run: a ratio holds on a slow or busy machine where a fixed millisecond budget would not. (A
# products page cost ~25x its dumps before the compiled conformer plans, ~4x after.)
TARGET_RATIO = 8.0
SCOPES = ["products.read", "orders.read", "customers.read"]


async def _walk(client: httpx2.AsyncClient, path: str, payloads: list[Any]) -> tuple[int, float]:
    """Every page of ``path``; the pages' bodies appended to ``payloads``; (pages, seconds)."""
    pages = 0
    page = 1
    start = time.perf_counter()
    while True:
        response = await client.get(path, params={"page": page, "per_page": PER_PAGE})
        response.raise_for_status()
        body = response.json()
        payloads.append(body)
        pages += 1
        if page >= body["pagination"]["totalPages"]:
            return pages, time.perf_counter() - start
        page += 1


async def _details(client: httpx2.AsyncClient, order_ids: list[int]) -> float:
    start = time.perf_counter()
    for order_id in order_ids:
        response = await client.get(f"/orders/{order_id}")
        response.raise_for_status()
    return (time.perf_counter() - start) / len(order_ids)


def _dumps_per_page(payloads: list[Any]) -> float:
    start = time.perf_counter()
    for body in payloads:
        json.dumps(body, ensure_ascii=False)
    return (time.perf_counter() - start) / len(payloads)


async def _measure(size: int, rounds: int) -> dict[str, float]:
    emulator = Emulator(products=size, orders=size, customers=size // 4, plan="1000000")
    token = emulator.issue_tokens(emulator.stores[0].id, scopes=SCOPES)["access_token"]
    samples: dict[str, list[float]] = {
        "products": [],
        "orders": [],
        "products_dumps": [],
        "orders_dumps": [],
        "order_details": [],
    }
    async with httpx2.AsyncClient(
        transport=emulator.async_transport(),
        base_url="https://api.salla.dev/admin/v2",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "ar"},
    ) as client:
        order_ids: list[int] = []
        for _ in range(rounds):
            for resource in ("products", "orders"):
                payloads: list[Any] = []
                pages, seconds = await _walk(client, f"/{resource}", payloads)
                samples[resource].append(seconds / pages)
                samples[f"{resource}_dumps"].append(_dumps_per_page(payloads))
                if resource == "orders" and not order_ids:
                    order_ids = [o["id"] for body in payloads[:2] for o in body["data"]][:20]
            samples["order_details"].append(await _details(client, order_ids))
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller store, fewer rounds")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    size, rounds = (600, 3) if args.quick else (3_000, 7)
    ms = anyio.run(_measure, size, rounds)
    figures: dict[str, dict[str, Any]] = {}
    for resource in ("products", "orders"):
        page = ms[resource]
        floor = ms[f"{resource}_dumps"]
        figures[f"{resource}_page_ms"] = {
            "value": round(page, 3),
            "unit": "ms",
            "target": "informational",
            "met": True,
        }
        figures[f"{resource}_json_dumps_ms"] = {
            "value": round(floor, 3),
            "unit": "ms",
            "target": "baseline",
            "met": True,
        }
        ratio = page / floor if floor else float("inf")
        figures[f"{resource}_page_vs_dumps"] = {
            "value": round(ratio, 2),
            "unit": "x",
            "target": f"<= {TARGET_RATIO:g}",
            "met": ratio <= TARGET_RATIO,
        }
    figures["order_details_ms"] = {
        "value": round(ms["order_details"], 3),
        "unit": "ms",
        "target": "informational",
        "met": True,
    }
    if args.json:
        print(json.dumps({"bench": "emulator_throughput", "figures": figures}))
        return
    print(f"{size} products and orders in pages of {PER_PAGE}, median of {rounds} rounds")
    for resource in ("products", "orders"):
        page_ms = figures[f"{resource}_page_ms"]["value"]
        floor = figures[f"{resource}_json_dumps_ms"]["value"]
        entry = figures[f"{resource}_page_vs_dumps"]
        verdict = "met" if entry["met"] else "MISSED"
        print(
            f"  {resource:<8} page: {page_ms:.2f} ms; json.dumps of the page {floor:.2f} ms; "
            f"ratio {entry['value']:.1f}x (target <= {TARGET_RATIO:g}: {verdict})"
        )
    print(f"  order details : {ms['order_details']:.2f} ms")


if __name__ == "__main__":
    main()
