"""Reading a list page straight from its bytes into models, in one pass.

Decoding a page of 60 products into dicts and then validating each dict builds every object
twice, and the garbage collector pays for the first copy too. pydantic validates JSON bytes
directly into the models; the page's envelope (``data``, ``pagination``) comes out of the same
pass. Whatever does not read as a well-formed page of such items (an error envelope, ``data``
as ``{}``, an item that does not fit) is left to the general path, which decodes the body and
reports each problem as it always has.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from sallakit.api._core._pagination import PageInfo, parse_page_info

__all__ = ["read_typed_page"]

M = TypeVar("M", bound=BaseModel)


class _Envelope(BaseModel, Generic[M]):
    model_config = ConfigDict(extra="ignore")

    data: list[M]
    pagination: Any = None


@cache
def _reader(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(_Envelope[model])  # type: ignore[valid-type]


def read_typed_page(model: type[M], content: bytes) -> tuple[list[M], PageInfo | None] | None:
    """The items of a list page as ``model`` and its pagination, or None.

    Args:
        model: The item model.
        content: The response body.

    Returns:
        ``(items, pagination)``, or None when the body is not a well-formed page of such items
        (the caller then decodes it the general way, with its errors and retries).
    """
    try:
        envelope = _reader(model).validate_json(content)
    except ValidationError:
        return None
    return envelope.data, parse_page_info(envelope.pagination)
