"""Building the list endpoint's query string exactly as the Polar server reads it.

Several ids and several sorting criteria are sent as the same key repeated, in the
order given; an argument left as ``None`` sends no key at all.
"""

from __future__ import annotations

from ._exceptions import InvalidArgumentTypeError, InvalidArgumentValueError
from ._validation import _show, check_int, check_uuid_list

__all__ = ["MAX_LIMIT", "SORTING_VALUES", "ListQuery", "check_sorting", "list_query"]

#: The server's largest page size; larger limits are silently clamped to it.
MAX_LIMIT = 100

_SORT_FIELDS = ("created_at", "label", "success_url", "allow_discount_codes")
#: The eight sorting criteria the list endpoint accepts (``-`` means descending).
SORTING_VALUES: tuple[str, ...] = tuple(p + f for f in _SORT_FIELDS for p in ("", "-"))

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


def list_query(
    *,
    organization_id: object = None,
    product_id: object = None,
    sorting: object = None,
) -> ListQuery:
    """Validate the list filters and return them as ordered query pairs (without page/limit)."""
    query: ListQuery = []
    if organization_id is not None:
        query += [
            ("organization_id", v) for v in check_uuid_list("organization_id", organization_id)
        ]
    if product_id is not None:
        query += [("product_id", v) for v in check_uuid_list("product_id", product_id)]
    if sorting is not None:
        query += [("sorting", v) for v in check_sorting(sorting)]
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
