"""Benchmark: seeding an emulated store of 100,000 products and 50,000 orders.

Prints the seconds it takes (target: at most 60 s) next to a baseline measured in the same run:
building the same number of plain dicts with the same number of fields, the floor any
record-per-entity seeding pays. ``--quick`` seeds a tenth and extrapolates linearly; ``--json``
prints one machine-readable object.

    python bench/emulator_seed.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

from sallakit.emulator._merchant import StoreData, make_profile

PRODUCTS = 100_000
ORDERS = 50_000
CUSTOMERS = 20_000
TARGET_SECONDS = 60.0


def _seed(scale: float) -> float:
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    profile = make_profile(1_305_146_709, plan="pro", seed=1, now=now)
    start = time.perf_counter()
    store = StoreData.create(
        profile,
        seed=1,
        products=int(PRODUCTS * scale),
        orders=int(ORDERS * scale),
        customers=int(CUSTOMERS * scale),
        now=now,
    )
    elapsed = time.perf_counter() - start
    assert store.counts()["products"] == int(PRODUCTS * scale)
    return elapsed


def _baseline(scale: float) -> float:
    """Plain dicts, one per product/order/customer, with about as many fields as a record."""
    start = time.perf_counter()
    rows = []
    for i in range(int((PRODUCTS + ORDERS + CUSTOMERS) * scale)):
        rows.append({f"f{k}": i + k for k in range(16)})
    elapsed = time.perf_counter() - start
    assert rows
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seed a tenth and extrapolate")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    seconds = _seed(scale) / scale
    baseline = _baseline(scale) / scale
    ratio = seconds / baseline if baseline else float("inf")
    figures = {
        "seed_seconds": {
            "value": round(seconds, 3),
            "unit": "s",
            "target": f"<= {TARGET_SECONDS:g}",
            "met": seconds <= TARGET_SECONDS,
        },
        "seed_vs_plain_dicts": {
            "value": round(ratio, 2),
            "unit": "x",
            "target": "informational",
            "met": True,
        },
    }
    if args.json:
        print(json.dumps({"bench": "emulator_seed", "figures": figures}))
        return
    label = " (extrapolated from a tenth)" if args.quick else ""
    print(f"seed {PRODUCTS:,} products + {ORDERS:,} orders{label}: {seconds:.2f} s")
    print(f"target: <= {TARGET_SECONDS:g} s -> {'met' if seconds <= TARGET_SECONDS else 'MISSED'}")
    print(f"baseline (same number of plain 16-field dicts): {baseline:.2f} s; ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
