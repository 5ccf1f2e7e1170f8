"""Decoding response bodies into models: one fast strict pass, and a tolerant
per-item fallback so that one odd item never stops a stream.

The fast path decodes a whole page with a decoder built once. Only when that fails
(an unknown price/benefit/discount kind, a field of an unexpected type, a missing
required field) is the page decoded item by item; a failing item is repaired by
replacing the offending variant with its ``Unknown*`` fallback or by dropping the
offending field (which then takes its default, ``None``). An item that cannot be
repaired (no usable ``id``) is skipped and reported as a :class:`SkippedItem`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec

from ._models import (
    UNKNOWN_TAG,
    VARIANT_TAG_FIELDS,
    CheckoutLink,
    ListResponse,
    Pagination,
)

__all__ = ["SkippedItem", "decode_link", "decode_list"]

logger = logging.getLogger("polar_links")

_MAX_REPAIRS = 64
_PATH_RE = re.compile(r" - at `\$(.*)`$")
_STEP_RE = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


class SkippedItem(msgspec.Struct, frozen=True, kw_only=True):
    """An item of a page that could not be decoded even tolerantly (for example,
    it has no ``id``): its raw JSON bytes and the reason."""

    raw: bytes
    reason: str


class _RawList(msgspec.Struct):
    items: list[msgspec.Raw]
    pagination: Pagination


_list_decoder = msgspec.json.Decoder(ListResponse)
_raw_list_decoder = msgspec.json.Decoder(_RawList)
_link_decoder = msgspec.json.Decoder(CheckoutLink)
_any_decoder = msgspec.json.Decoder()


def decode_list(body: bytes) -> tuple[list[CheckoutLink], Pagination, list[SkippedItem]]:
    """Decode a list response body into its items, its pagination and the skipped items.

    Raises ``msgspec.DecodeError``/``ValidationError`` only when the body itself is not
    a list response (not JSON, or no usable ``pagination``).
    """
    try:
        page = _list_decoder.decode(body)
    except msgspec.ValidationError:
        pass
    else:
        return page.items, page.pagination, []
    raw = _raw_list_decoder.decode(body)
    items: list[CheckoutLink] = []
    skipped: list[SkippedItem] = []
    for item in raw.items:
        try:
            items.append(_link_decoder.decode(item))
        except msgspec.ValidationError as exc:
            result = _decode_tolerantly(bytes(item), exc)
            if isinstance(result, SkippedItem):
                logger.warning("skipped an undecodable checkout link: %s", result.reason)
                skipped.append(result)
            else:
                items.append(result)
    return items, raw.pagination, skipped


def decode_link(body: bytes) -> CheckoutLink:
    """Decode one checkout link body (get/create/update responses), tolerantly.

    Raises ``msgspec.DecodeError``/``ValidationError`` when the body is not JSON or
    is not a checkout link at all (no usable ``id``).
    """
    try:
        return _link_decoder.decode(body)
    except msgspec.ValidationError as exc:
        result = _decode_tolerantly(body, exc)
        if isinstance(result, SkippedItem):
            raise msgspec.ValidationError(result.reason) from None
        return result


def _decode_tolerantly(
    raw: bytes, first_error: msgspec.ValidationError
) -> CheckoutLink | SkippedItem:
    try:
        doc = _any_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        return SkippedItem(raw=raw, reason=str(exc))
    error: msgspec.ValidationError = first_error
    for _ in range(_MAX_REPAIRS):
        path = _error_path(str(error))
        if path is None or not _repair(doc, path):
            return SkippedItem(raw=raw, reason=str(error))
        try:
            link = msgspec.convert(doc, CheckoutLink)
        except msgspec.ValidationError as exc:
            error = exc
            continue
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("decoded checkout link %s tolerantly (%s)", link.id, first_error)
        return link
    return SkippedItem(raw=raw, reason=f"gave up after {_MAX_REPAIRS} repairs: {error}")


def _error_path(message: str) -> list[str | int] | None:
    match = _PATH_RE.search(message)
    if match is None:
        return None
    return [name if index == "" else int(index) for name, index in _STEP_RE.findall(match[1])]


def _repair(doc: Any, path: list[str | int]) -> bool:
    """Make the value at ``path`` decodable: wrap a variant object as Unknown, drop
    anything else. Returns False when nothing can be done (the error is at the root)."""
    # An error on a variant's tag, or inside a variant, is a problem of the variant:
    # wrap the whole variant object so its data is kept.
    for depth in range(len(path) - 1, -1, -1):
        step = path[depth]
        container_key = step if isinstance(step, str) else path[depth - 1] if depth else None
        if container_key in VARIANT_TAG_FIELDS and (
            isinstance(step, int) or container_key == "discount"
        ):
            parent = _walk(doc, path[:depth])
            value = parent[step] if parent is not None else None
            tag = VARIANT_TAG_FIELDS[str(container_key)]
            if isinstance(value, dict) and value.get(tag) != UNKNOWN_TAG:
                parent[step] = {tag: UNKNOWN_TAG, "data": value}
                return True
    if not path:
        return False
    parent = _walk(doc, path[:-1])
    if isinstance(parent, dict) and path[-1] in parent:
        del parent[path[-1]]
        return True
    if isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent):
        # A whole element goes (a product or media without a usable id): say so, since
        # unlike a dropped field it leaves no None behind to notice.
        logger.warning(
            "checkout link %s: left out %s, which could not be read",
            doc.get("id") if isinstance(doc, dict) else None,
            "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)[1:],
        )
        del parent[path[-1]]
        return True
    return False


def _walk(doc: Any, path: list[str | int]) -> Any:
    node = doc
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node
