"""Response value objects shared by the async and the sync client."""

from __future__ import annotations

from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sallakit.api._core._pagination import PageInfo, parse_page_info

__all__ = ["APIResponse", "AsyncItemList", "ItemList", "Page"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class APIResponse:
    """A successful response of an endpoint without a typed model.

    Attributes:
        data: The envelope's ``data`` (object, list, or None for an empty body).
        pagination: The normalized ``pagination`` object, when the endpoint sent one.
        raw: The whole decoded body.
        status_code: The HTTP status.
        headers: The response headers.
        method: The request's method.
        url: The request's URL (never carries the token).
    """

    data: Any
    pagination: PageInfo | None
    raw: Any
    status_code: int
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    method: str = ""
    url: str = ""

    @classmethod
    def from_body(
        cls,
        body: Any,
        *,
        status_code: int,
        headers: Mapping[str, str],
        method: str = "",
        url: str = "",
    ) -> APIResponse:
        """Unwrap Salla's envelope (``{"status", "success", "data", "pagination"}``).

        A body without the envelope is kept whole as ``data``.
        """
        if isinstance(body, Mapping) and ("data" in body or "success" in body):
            data = body.get("data")
            pagination = parse_page_info(body.get("pagination"))
        else:
            # Some endpoints (and the accounts server) answer without the envelope.
            data, pagination = body, None
        return cls(
            data=data,
            pagination=pagination,
            raw=body,
            status_code=status_code,
            headers=headers,
            method=method,
            url=url,
        )


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a paginated list.

    Attributes:
        items: The page's items, parsed into the endpoint's model when it has one.
        pagination: The page's normalized ``pagination`` object.
        response: The underlying response (raw body, headers).
    """

    items: Sequence[T]
    pagination: PageInfo | None
    response: APIResponse

    @property
    def data(self) -> Sequence[T]:
        """Alias of :attr:`items`, the envelope's name for them."""
        return self.items

    @property
    def raw(self) -> Any:
        """The page's whole decoded body."""
        return self.response.raw

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class ItemList(list[T]):
    """The items of a list endpoint that is not paginated: a plain ``list``.

    The async client returns an ``AsyncItemList`` instead, which can be awaited for this list or
    iterated with ``async for``.
    """


class AsyncItemList(Generic[T]):
    """The items of a list endpoint that is not paginated, from the async client.

    ``await`` it for an :class:`ItemList`, or ``async for item in ...`` it like a paginated
    endpoint's ``AsyncPaginator``. Nothing is requested until then, and each ``await`` or
    iteration requests again.

    Args:
        fetch: Requests the list.
    """

    def __init__(self, fetch: Callable[[], Awaitable[ItemList[T]]]) -> None:
        self._fetch = fetch

    def __await__(self) -> Generator[Any, None, ItemList[T]]:
        return self._fetch().__await__()

    async def _items(self) -> AsyncIterator[T]:
        for item in await self._fetch():
            yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()
