"""Pagination parsing and loop detection (pure)."""

from __future__ import annotations

from sallakit.api._core._pagination import PageInfo, PageWalker, parse_page_info


def test_parse_camel_and_snake_case_and_both_empty_link_shapes() -> None:
    camel = parse_page_info(
        {"count": 2, "total": "9", "perPage": 2, "currentPage": 1, "totalPages": 5, "links": []}
    )
    snake = parse_page_info({"per_page": 2, "current_page": 1, "total_pages": 5, "links": {}})
    assert camel == PageInfo(count=2, total=9, per_page=2, current_page=1, total_pages=5)
    assert snake is not None and snake.total_pages == 5 and dict(snake.links) == {}
    linked = parse_page_info({"links": {"next": "https://x?page=2"}})
    assert linked is not None and linked.next_url == "https://x?page=2"
    assert parse_page_info(None) is None
    assert parse_page_info([]) is None


def info(page: int, total_pages: int) -> PageInfo:
    return PageInfo(current_page=page, total_pages=total_pages)


def test_walks_to_the_last_page() -> None:
    walker = PageWalker()
    assert walker.advance(info(1, 3), [1]) == 2
    assert walker.advance(info(2, 3), [2]) == 3
    assert walker.advance(info(3, 3), [3]) is None
    assert walker.warning is None


def test_repeated_page_stops_with_warning() -> None:
    walker = PageWalker()
    assert walker.advance(info(1, 3), [{"id": 1}]) == 2
    assert walker.advance(info(2, 3), [{"id": 1}]) is None
    assert walker.warning is not None and "repeats" in walker.warning


def test_backwards_page_stops_with_warning() -> None:
    walker = PageWalker()
    walker.advance(info(1, 3), [1])
    assert walker.advance(info(1, 3), [2]) is None
    assert walker.warning is not None


def test_beyond_total_pages_stops_with_warning() -> None:
    walker = PageWalker(start_page=4)
    assert walker.advance(info(4, 3), [1]) is None
    assert walker.warning is not None and "beyond" in walker.warning


def test_empty_page_and_missing_pagination_stop_quietly() -> None:
    walker = PageWalker()
    assert walker.advance(info(1, 3), []) is None
    assert walker.warning is None
    walker = PageWalker()
    assert walker.advance(None, [1]) is None
    assert walker.warning is None


def test_without_total_pages_follows_next_link() -> None:
    walker = PageWalker()
    assert walker.advance(PageInfo(current_page=1, links={"next": "u"}), [1]) == 2
    assert walker.advance(PageInfo(current_page=2, links={}), [2]) is None
