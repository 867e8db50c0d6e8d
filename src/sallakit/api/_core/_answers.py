"""Typed answers of write calls, tolerant of an echo that does not fit the model.

A read whose answer does not fit its model fails (``APIResponseError``): nothing happened, the
caller can look and retry. A write is different: Salla has carried it out when it answers 2xx, so
an error raised because the echo of the object drifted in type would invite the caller to send
the write again (a second order, a second shipment). So a write's answer is parsed field by
field when the whole does not fit: the fields that do not fit are left at their defaults, their
raw values kept in ``model_extra``, and their names reported, so that the call still returns the
model. Only an answer without what the model cannot do without (an object with its ``id``) is
an error, and that error says the write was carried out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["parse_write_answer"]

M = TypeVar("M", bound=BaseModel)

# Each round drops the top-level fields named by the errors; nested errors point at their
# top-level field too, so two rounds settle any object (a third guards against surprises).
_ROUNDS = 3


def parse_write_answer(model: type[M], data: Any) -> tuple[M, tuple[str, ...]]:
    """Parse a write's ``data`` into ``model``, keeping what fits.

    Args:
        model: The resource's model (``Product``, ``Shipment``...).
        data: The envelope's ``data`` as decoded.

    Returns:
        The model, and the names of the top-level fields whose values did not fit (empty when
        the whole answer fits). Those fields hold their defaults; their raw values are in
        ``model_extra`` under the same names.

    Raises:
        ValidationError: The answer is not an object, or lacks a field the model requires.
    """
    try:
        return model.model_validate(data), ()
    except ValidationError as error:
        if not isinstance(data, Mapping):
            raise
        last = error
    kept = dict(data)
    dropped: dict[str, Any] = {}
    for _ in range(_ROUNDS):
        unfit = {
            str(problem["loc"][0])
            for problem in last.errors(include_input=False, include_url=False)
            if problem["loc"] and str(problem["loc"][0]) in kept
        }
        if not unfit:
            # A required field is missing (or the error is not about one field): nothing to drop.
            raise last
        for name in unfit:
            dropped[name] = kept.pop(name)
        try:
            parsed = model.model_validate(kept)
        except ValidationError as error:
            last = error
            continue
        extra = parsed.__pydantic_extra__
        if extra is not None:
            # The raw values stay readable: ``model.model_extra["price"]``.
            extra.update(dropped)
        return parsed, tuple(sorted(dropped))
    raise last
