"""Response value objects shared by the async and the sync client."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sallakit.api._core._pagination import PageInfo, parse_page_info

__all__ = ["APIResponse", "Page"]

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
    """

    data: Any
    pagination: PageInfo | None
    raw: Any
    status_code: int
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_body(cls, body: Any, *, status_code: int, headers: Mapping[str, str]) -> APIResponse:
        if isinstance(body, Mapping) and ("data" in body or "success" in body):
            data = body.get("data")
            pagination = parse_page_info(body.get("pagination"))
        else:
            # Some endpoints (and the accounts server) answer without the envelope.
            data, pagination = body, None
        return cls(
            data=data, pagination=pagination, raw=body, status_code=status_code, headers=headers
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
        return self.response.raw

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)
