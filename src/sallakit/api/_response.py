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
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

import pydantic_core

from sallakit.api._core._pagination import PageInfo, parse_page_info

__all__ = ["APIResponse", "AsyncItemList", "ItemList", "Page"]

T = TypeVar("T")


_UNDECODED: Any = object()


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

    __slots__ = (
        "_content",
        "_data",
        "_raw",
        "headers",
        "method",
        "pagination",
        "status_code",
        "url",
    )

    def __init__(
        self,
        data: Any,
        pagination: PageInfo | None,
        raw: Any,
        status_code: int,
        headers: Mapping[str, str] | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        self._data = data
        self._raw = raw
        self._content: bytes | None = None
        self.pagination = pagination
        self.status_code = status_code
        self.headers: Mapping[str, str] = {} if headers is None else headers
        self.method = method
        self.url = url

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

    @classmethod
    def undecoded(
        cls,
        content: bytes,
        *,
        pagination: PageInfo | None,
        status_code: int,
        headers: Mapping[str, str],
        method: str = "",
        url: str = "",
    ) -> Self:
        """A response whose body was read straight into models: ``data``/``raw`` decode on use.

        A typed page is validated from the bytes in one pass; decoding the same bytes into
        dicts nobody reads would double the work (and the garbage collector's).
        """
        response = cls(
            _UNDECODED, pagination, _UNDECODED, status_code, headers, method=method, url=url
        )
        response._content = content
        return response

    def _decode(self) -> None:
        content = self._content or b""
        body = pydantic_core.from_json(content) if content.strip() else None
        if isinstance(body, Mapping) and ("data" in body or "success" in body):
            self._data = body.get("data")
        else:
            self._data = body
        self._raw = body
        self._content = None

    @property
    def data(self) -> Any:
        """The envelope's ``data`` (object, list, or None for an empty body)."""
        if self._data is _UNDECODED:
            self._decode()
        return self._data

    @property
    def raw(self) -> Any:
        """The whole decoded body."""
        if self._raw is _UNDECODED:
            self._decode()
        return self._raw

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, APIResponse):
            return NotImplemented
        return (self.data, self.pagination, self.raw, self.status_code, self.method, self.url) == (
            other.data,
            other.pagination,
            other.raw,
            other.status_code,
            other.method,
            other.url,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"APIResponse(data={self.data!r}, pagination={self.pagination!r}, "
            f"status_code={self.status_code!r}, method={self.method!r}, url={self.url!r})"
        )


class TypedPageResponse(APIResponse):
    """A list page read straight into models; ``items`` are they (``data`` decodes on use)."""

    __slots__ = ("items",)

    items: list[Any]


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
