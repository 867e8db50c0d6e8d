"""A small harness that calls the merchant handlers directly (no HTTP)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sallakit._registry import load_registry
from sallakit.emulator._context import (
    ApiRequest,
    ApiResponse,
    EmulatorHTTPError,
    RequestContext,
)
from sallakit.emulator._merchant import StoreData, dispatch, make_profile

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@dataclass
class Harness:
    """Builds ``ApiRequest``/``RequestContext`` for one store and records emitted events."""

    store: StoreData
    now: datetime = NOW
    language: str = "ar"
    quirks: bool = False
    links_as_list: bool = False
    events: list[tuple[str, Any]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(2_000_000_001))

    def ctx(self, **overrides: Any) -> RequestContext:
        values: dict[str, Any] = {
            "language": self.language,
            "quirks": self.quirks,
            "links_as_list": self.links_as_list,
        }
        values.update(overrides)
        return RequestContext(
            store=self.store.profile,
            data=self.store,
            scopes=frozenset(),
            language=values["language"],
            quirks=values["quirks"],
            links_as_list=values["links_as_list"],
            now=lambda: self.now,
            emit=lambda name, data: self.events.append((name, data)),
            next_id=lambda: next(self._ids),
        )

    def tick(self, seconds: int = 60) -> None:
        self.now += timedelta(seconds=seconds)

    def call(
        self,
        client_method: str,
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        body: Any = None,
        **ctx_overrides: Any,
    ) -> ApiResponse:
        endpoint = load_registry()[client_method]
        q: dict[str, list[str]] = {}
        for k, v in (query or {}).items():
            q[k] = [str(x) for x in v] if isinstance(v, list) else [str(v)]
        request = ApiRequest(
            endpoint=endpoint,
            path_params={k: str(v) for k, v in (path or {}).items()},
            query=q,
            body=body,
            headers={},
        )
        return dispatch(request, self.ctx(**ctx_overrides))

    def error(self, client_method: str, *args: Any, **kwargs: Any) -> EmulatorHTTPError:
        with pytest.raises(EmulatorHTTPError) as info:
            self.call(client_method, *args, **kwargs)
        return info.value

    def event_names(self) -> list[str]:
        return [name for name, _ in self.events]


def make_store(
    seed: int = 7, *, products: int = 60, orders: int = 40, customers: int = 25
) -> StoreData:
    profile = make_profile(1_305_146_709, plan="pro", seed=seed, now=NOW)
    return StoreData.create(
        profile, seed=seed, products=products, orders=orders, customers=customers, now=NOW
    )


@pytest.fixture
def store() -> StoreData:
    return make_store()


@pytest.fixture
def h(store: StoreData) -> Harness:
    return Harness(store)


@pytest.fixture
def build() -> Any:
    """``build(seed, products=..., orders=..., customers=...)`` -> a seeded ``StoreData``."""
    return make_store


@pytest.fixture
def harness() -> Any:
    """``harness(store)`` -> a ``Harness`` over that store."""
    return Harness
