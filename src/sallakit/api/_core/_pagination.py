"""Pagination bookkeeping: parse Salla's ``pagination`` object and decide the next page.

Salla paginates by page number (``page``, ``per_page`` <= 60) and describes the page in camelCase
(``currentPage``, ``totalPages``); ``links`` is ``{}`` or ``[]`` when empty. The walker refuses to
loop: a server that answers the same page again, goes backwards, or claims pages beyond
``totalPages`` ends the iteration with a warning instead of a request storm.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sallakit._exceptions import ConfigurationError

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_PER_PAGE",
    "PageInfo",
    "PageWalker",
    "ShiftTracker",
    "check_per_page",
    "item_id",
    "parse_page_info",
]

MAX_PER_PAGE = 60
"""Salla's documented maximum ``per_page``."""
DEFAULT_PER_PAGE = MAX_PER_PAGE


def check_per_page(per_page: int | None) -> None:
    """Refuse a ``per_page`` Salla does not accept.

    Salla documents 60 as the maximum and does not say whether it clamps or rejects more, so a
    larger value is an error here rather than a silent change of page size.

    Raises:
        ConfigurationError: ``per_page`` is below 1 or above :data:`MAX_PER_PAGE`.
    """
    if per_page is not None and not 1 <= per_page <= MAX_PER_PAGE:
        raise ConfigurationError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")


def item_id(item: Any) -> Any:
    """The ``id`` of a list item (a model or a decoded object), or None when it has none."""
    value = item.get("id") if isinstance(item, Mapping) else getattr(item, "id", None)
    if value is None or isinstance(value, bool):
        return None
    try:
        hash(value)
    except TypeError:
        return None
    return value


def _int(raw: Mapping[str, Any], *names: str) -> int | None:
    for name in names:
        value = raw.get(name)
        if value is None or isinstance(value, bool):
            continue
        try:
            return int(value)
        except (TypeError, ValueError):
            continue
    return None


@dataclass(frozen=True, slots=True)
class PageInfo:
    """One page's ``pagination`` object, normalized (snake_case, links always a dict)."""

    count: int | None = None
    total: int | None = None
    per_page: int | None = None
    current_page: int | None = None
    total_pages: int | None = None
    links: Mapping[str, str] = field(default_factory=dict)

    @property
    def next_url(self) -> str | None:
        """The ``links.next`` URL Salla sent, or None on the last page."""
        return self.links.get("next")


def parse_page_info(raw: Any) -> PageInfo | None:
    """Normalize a ``pagination`` value; None when absent or not an object."""
    if not isinstance(raw, Mapping):
        return None
    links_raw = raw.get("links")
    links = (
        {str(k): str(v) for k, v in links_raw.items() if isinstance(v, str)}
        if isinstance(links_raw, Mapping)
        else {}  # [] (a PHP empty array) or missing
    )
    return PageInfo(
        count=_int(raw, "count"),
        total=_int(raw, "total"),
        per_page=_int(raw, "perPage", "per_page"),
        current_page=_int(raw, "currentPage", "current_page"),
        total_pages=_int(raw, "totalPages", "total_pages"),
        links=links,
    )


def fingerprint(items: Sequence[Any]) -> str:
    """A stable digest of a page's items, to notice a page served twice.

    Items with ids are identified by their ids (cheap, and what "the same page" means); a page
    of id-less items falls back to a digest of its whole content.
    """
    ids = [item_id(item) for item in items]
    if all(i is not None for i in ids):
        blob = "\x1f".join(map(str, ids))
    else:
        blob = json.dumps(items, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


class PageWalker:
    """Decides which page to fetch next, and when to stop.

    Usage: request ``walker.page``; feed the answer to :meth:`advance`; stop when it returns
    None. ``stop_reason`` says why; ``warning`` is set when the stop was a defence against a
    misbehaving server rather than the normal end. ``keep_last`` says whether the items of the
    page that caused a warning stop are still new and should be used (a page past a
    ``totalPages`` that shrank while we walked: its items are real, only the walk ends there).
    """

    def __init__(self, start_page: int = 1) -> None:
        self.page: int | None = start_page
        self.stop_reason: str = ""
        self.warning: str | None = None
        self.keep_last = False
        self._seen: set[str] = set()

    def _stop(self, reason: str, *, warn: bool = False) -> None:
        self.page = None
        self.stop_reason = reason
        if warn:
            self.warning = reason

    def advance(self, info: PageInfo | None, items: Sequence[Any]) -> int | None:
        """Record the page just received and return the next page number (None to stop)."""
        requested = self.page
        if requested is None:
            return None
        if not items:
            self._stop("empty page")
            return None
        digest = fingerprint(items)
        if digest in self._seen:
            self._stop(f"page {requested} repeats an earlier page; stopping", warn=True)
            return None
        self._seen.add(digest)
        if info is None:
            self._stop("no pagination object")
            return None
        if info.current_page is not None and info.current_page < requested:
            self._stop(
                f"asked for page {requested}, got page {info.current_page}; stopping", warn=True
            )
            return None
        if info.total_pages is not None and requested > max(info.total_pages, 1):
            # Records were deleted while we walked: the items here are not repeats (checked
            # above), so they are kept; going further would only chase a moving target.
            self.keep_last = True
            self._stop(
                f"page {requested} is beyond totalPages={info.total_pages}; stopping", warn=True
            )
            return None
        current = info.current_page if info.current_page is not None else requested
        if info.total_pages is not None:
            if current >= info.total_pages:
                self._stop("last page")
                return None
        elif not info.next_url:
            self._stop("last page (no next link)")
            return None
        self.page = current + 1
        return self.page


class ShiftTracker:
    """Notices rows deleted during a walk: ``total`` dropped between two pages.

    With offset pages, a row deleted before the page being read moves every later row one place
    up, so one row crosses onto a page already read and is never seen. ``deleted`` is the largest
    drop of ``total`` seen during the walk (0 when the list did not shrink).
    """

    def __init__(self) -> None:
        self.first_total: int | None = None
        self.lowest_total: int | None = None

    def observe(self, info: PageInfo | None) -> None:
        """Record the ``total`` of one page."""
        if info is None or info.total is None:
            return
        if self.first_total is None:
            self.first_total = info.total
        if self.lowest_total is None or info.total < self.lowest_total:
            self.lowest_total = info.total

    @property
    def deleted(self) -> int:
        """How far ``total`` dropped during the walk."""
        if self.first_total is None or self.lowest_total is None:
            return 0
        return max(0, self.first_total - self.lowest_total)
