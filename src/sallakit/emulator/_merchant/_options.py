"""Product options, option values and variants (SKUs): derived for seeded products, explicit
once written.

A seeded product with options keeps only ``option_kind`` and ``variant_qty`` (seeding 100,000
products must stay cheap); its options and variants are derived from them on read, with the
same ids every time. The first write to a product's options *materializes* them into
``ProductRec.options`` / ``ProductRec.variants`` (same ids), and from then on they are plain
data. Variants are the cartesian product of the options' values; they are never removed from the
list, only marked deleted, so that indexes held by order items and ``variant_qty`` stay valid.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

from ._records import OptionRec, OptionValueRec, ProductRec, VariantRec, derive_id
from ._tables import OPTION_KINDS

__all__ = [
    "live_indexes",
    "materialize",
    "options_of",
    "rebuild_variants",
    "value_in_stock",
    "variant_sku",
    "variants_of",
]


def variant_sku(product_sku: str, index: int) -> str:
    """The sku of a product's ``index``-th variant: none when the product has none."""
    return f"{product_sku}-{index + 1}" if product_sku else ""


def _seeded(p: ProductRec) -> tuple[list[OptionRec], list[VariantRec]]:
    if p.option_kind < 0:
        return [], []
    name_ar, name_en, display, values = OPTION_KINDS[p.option_kind]
    option_id = derive_id(p.id, 1)
    vals = [
        OptionValueRec(derive_id(p.id, 10 + i), v_ar, v_en, 0, v_en, i == 0)
        for i, (v_ar, v_en) in enumerate(values)
    ]
    option = OptionRec(option_id, name_ar, name_en, vals, display_type=display)
    variants = [
        VariantRec(derive_id(p.id, 50 + i), [vals[i].id], variant_sku(p.sku, i))
        for i in range(min(len(p.variant_qty or ()), len(vals)))
    ]
    return [option], variants


def options_of(p: ProductRec) -> list[OptionRec]:
    """The product's options (derived for a seeded product never written)."""
    return p.options if p.options is not None else _seeded(p)[0]


def variants_of(p: ProductRec) -> list[VariantRec]:
    """Every variant, deleted ones included, parallel to ``variant_qty``."""
    return p.variants if p.variants is not None else _seeded(p)[1]


def live_indexes(p: ProductRec) -> list[int]:
    """Indexes of the product's variants that are not deleted."""
    if p.variants is None:
        return list(range(len(p.variant_qty or ())))
    return [i for i, v in enumerate(p.variants) if not v.deleted]


def materialize(p: ProductRec) -> None:
    """Store the derived options and variants on the record (ids unchanged)."""
    if p.options is None or p.variants is None:
        p.options, p.variants = _seeded(p)
    if p.variant_qty is None:
        p.variant_qty = []


def value_in_stock(p: ProductRec, value_id: int) -> bool:
    """Whether some live variant with this value has stock (always, for unlimited stock)."""
    if p.unlimited:
        return True
    qty = p.variant_qty or []
    variants = variants_of(p)
    return any(
        value_id in variants[i].value_ids and i < len(qty) and qty[i] > 0 for i in live_indexes(p)
    )


def rebuild_variants(
    p: ProductRec,
    new_id: Callable[[], int],
    explicit: Mapping[int, int] | None = None,
) -> None:
    """Make the live variants exactly the combinations of the options' values.

    Variants whose combination still exists are kept; the others are marked deleted. A new
    combination's stock comes from the old variants it replaces: the sum of the variants it
    merges (an option was removed), or the stock of the variant it extends when every added
    value is its option's first value (an option was added); otherwise the smallest
    ``explicit`` quantity given for one of its values (value id -> quantity), else 0. Without
    options left, the product keeps its total stock and has no variants.
    """
    materialize(p)
    assert p.options is not None and p.variants is not None and p.variant_qty is not None
    explicit = explicit or {}
    old = [(i, frozenset(p.variants[i].value_ids), p.variant_qty[i]) for i in live_indexes(p)]
    total_before = sum(q for _, _, q in old)
    value_lists: list[Sequence[int]] = [[v.id for v in o.values] for o in p.options]
    combos = (
        [frozenset(c) for c in itertools.product(*value_lists)]
        if value_lists and all(value_lists)
        else []
    )
    firsts = {o.values[0].id for o in p.options if o.values}
    existing = {key: i for i, key, _ in old}
    keep: set[int] = set()
    for combo in combos:
        if combo in existing:
            keep.add(existing[combo])
            continue
        merged = [q for _, key, q in old if combo < key]
        extended = [q for _, key, q in old if key < combo and (combo - key) <= firsts]
        if merged:
            stock = sum(merged)
        elif extended:
            stock = extended[0]
        else:
            given = [explicit[v] for v in combo if v in explicit]
            stock = min(given) if given else 0
        ordered = [v for values in value_lists for v in values if v in combo]
        p.variants.append(VariantRec(new_id(), ordered, variant_sku(p.sku, len(p.variants))))
        p.variant_qty.append(max(stock, 0))
    for i, _, _ in old:
        if i not in keep:
            p.variants[i].deleted = True
            p.variant_qty[i] = 0
    live = live_indexes(p)
    p.quantity = sum(p.variant_qty[i] for i in live) if live else total_before
