"""Building the list endpoint's query string exactly as the Polar server reads it.

Several ids and several sorting criteria are sent as the same key repeated, in the
order given; an argument left as ``None`` sends no key at all. A sorting without
``created_at`` gets ``created_at`` appended (see :func:`total_order`).
"""

from __future__ import annotations

from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError
from ._validation import _show, check_int, check_uuid_list

__all__ = [
    "MAX_LIMIT",
    "SORTING_VALUES",
    "TIE_BREAKER",
    "ListQuery",
    "check_sorting",
    "list_query",
    "total_order",
]

#: The server's largest page size; larger limits are silently clamped to it.
MAX_LIMIT = 100

_SORT_FIELDS = ("created_at", "label", "success_url", "allow_discount_codes")
#: The eight sorting criteria the list endpoint accepts (``-`` means descending).
SORTING_VALUES: tuple[str, ...] = tuple(p + f for f in _SORT_FIELDS for p in ("", "-"))

#: The criterion appended to a sorting that lacks ``created_at`` in either direction.
TIE_BREAKER = "created_at"

#: The filter/sorting part of a list query: (key, value) pairs in the order sent.
ListQuery = list[tuple[str, str]]


def check_sorting(sorting: object) -> list[str]:
    """Return the sorting criteria as a list, or raise naming the bad criterion."""
    if isinstance(sorting, str | bytes):
        raise InvalidArgumentTypeError(
            f"sorting must be a list of criteria such as [{sorting!r}], not a bare string "
            f"{sorting!r}"
        )
    if not isinstance(sorting, list | tuple):
        # Criteria apply in order, so an unordered set or a one-shot iterator won't do.
        raise InvalidArgumentTypeError(
            f"sorting must be a list of criteria such as ['-created_at'], got {_show(sorting)}"
        )
    if not sorting:
        raise InvalidArgumentValueError(
            "sorting is an empty list; pass at least one criterion, or None for the "
            "server's default order (created_at)"
        )
    criteria = list(sorting)
    for i, criterion in enumerate(criteria):
        if criterion not in SORTING_VALUES:
            raise InvalidArgumentValueError(
                f"sorting[{i}] is {criterion!r}, which is not a sorting criterion; "
                f"allowed: {', '.join(SORTING_VALUES)}"
            )
    return criteria


def total_order(criteria: list[str]) -> list[str]:
    """Return ``criteria`` with ``created_at`` appended unless it is already there.

    The server sorts with ``ORDER BY <criteria>`` and no unique last key, so links that
    tie on every criterion come back in an order that changes with the page's offset and
    limit: offset pages then overlap and leave gaps. ``created_at`` (microseconds) is
    unique in practice, so as the last key it makes the order total without changing the
    order the caller asked for (it only orders links equal on every given criterion).
    The server accepts no ``id`` criterion, which would be the exact tie-breaker.
    """
    if any(c.lstrip("-") == TIE_BREAKER for c in criteria):
        return criteria
    return [*criteria, TIE_BREAKER]


def list_query(
    *,
    organization_id: object = None,
    product_id: object = None,
    sorting: object = None,
) -> ListQuery:
    """Validate the list filters and return them as ordered query pairs (without page/limit).

    A ``sorting`` without ``created_at`` is sent with ``created_at`` last
    (:func:`total_order`); ``None`` sends no sorting (the server's default is
    ``created_at``).
    """
    query: ListQuery = []
    if organization_id is not None:
        query += [
            ("organization_id", v) for v in check_uuid_list("organization_id", organization_id)
        ]
    if product_id is not None:
        query += [("product_id", v) for v in check_uuid_list("product_id", product_id)]
    if sorting is not None:
        query += [("sorting", v) for v in total_order(check_sorting(sorting))]
    return query


def check_page_args(page: object, limit: object) -> tuple[int, int]:
    """Return ``(page, limit)`` if page >= 1 and 1 <= limit <= 100, or raise."""
    return (
        check_int("page", page, minimum=1),
        check_int("limit", limit, minimum=1, maximum=MAX_LIMIT),
    )


def page_query(base: ListQuery, page: int, limit: int) -> ListQuery:
    """Return the full query for one page: the filters, then ``page`` and ``limit``."""
    return [*base, ("page", str(page)), ("limit", str(limit))]
