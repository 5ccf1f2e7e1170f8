"""In-memory checkout-link store: look-up by id, filter, sort, paginate, mutate.

Ordering rule (the same as PostgreSQL's defaults, which the live API sorts with):

* criteria apply in the order given; ``-field`` sorts that field descending;
* ``null`` sorts **last** when ascending and **first** when descending
  (``NULLS LAST`` / ``NULLS FIRST``), see :data:`NULL_ORDERING`;
* strings compare by code point (``C`` collation); ``false`` < ``true``;
* ``created_at`` compares as an instant.

Rows that tie on every criterion come back the way PostgreSQL returns them for an
``ORDER BY`` without a unique last key (the real server's query), unless the store was
made with ``stable_ties=True``:

* while the matching rows are more than twice ``offset + limit``, PostgreSQL keeps the
  top ``offset + limit`` rows in a bounded heap, and the order of tied rows depends on
  that bound: here it is drawn from a hash of (row, ``offset + limit``), so the same
  request always gets the same page, but consecutive pages can overlap and leave gaps
  inside a run of tied rows, with nothing changed in between;
* otherwise (a full sort) tied rows come in one fixed, arbitrary order (a hash of the
  row alone), the same for every such request.

With ``stable_ties=True``, ties break by ``id`` ascending: the order is total and the
same for every page, which is what :meth:`LinkStore.expected_order` spells out.

Several ``product_id`` values join one row per (link, matching product), without
DISTINCT, as the real server does: the total counts rows, the page window is taken over
rows, and only then is the page made unique (a link keeps its first row), so a page can
be short and a link can come on two pages.

All public methods take a lock, so tests may call them from another thread while the
server serves requests.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from ._data import Catalogue, link_url

__all__ = ["NULL_ORDERING", "LinkStore", "parse_timestamp"]

Json = dict[str, Any]

#: How ``null`` labels and success URLs sort (PostgreSQL's default).
NULL_ORDERING = "ascending: NULLS LAST; descending: NULLS FIRST"

_encode = msgspec.json.Encoder().encode
_ORDER_CACHE_SIZE = 64
_PRODUCTS_KEY = b'"products":['


def parse_timestamp(value: str) -> datetime:
    """Return the aware UTC datetime of an API timestamp string (``...Z`` or ``+00:00``)."""
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _timestamp(moment: datetime) -> str:
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def _split(criterion: str) -> tuple[str, bool]:
    return (criterion[1:], True) if criterion.startswith("-") else (criterion, False)


@dataclass(frozen=True)
class _Rows:
    """The matching rows of one (filters, sorting), sorted with ties by id.

    ``ids[i]`` is the link of row ``i`` (repeated for join rows), ``tags[i]`` names the
    row among its ties, and rows ``group[i][0]`` to ``group[i][1] - 1`` tie with row ``i``
    on every criterion (``None`` when row ``i`` ties with no other row).
    """

    ids: list[str]
    tags: list[str]
    group: list[tuple[int, int] | None]


def _tie_rank(tag: str, bound: int) -> bytes:
    return hashlib.blake2b(f"{tag}@{bound}".encode(), digest_size=8).digest()


class LinkStore:
    """Checkout links held in memory, with the list endpoint's filtering and ordering.

    ``links`` are shallow-copied (their ``metadata`` too); nested product and discount
    dicts stay shared with ``catalogue``. ``catalogue`` (default: collected from the
    links) decides which product, price and discount ids a create or update may name.
    ``stable_ties`` (also an attribute, settable at any time): ``False`` (the default)
    orders rows that tie on every sorting criterion the way the real server does, so
    the tie order depends on the page's offset and limit; ``True`` breaks ties by id.
    """

    def __init__(
        self,
        links: Iterable[Mapping[str, Any]],
        catalogue: Catalogue | None = None,
        *,
        stable_ties: bool = False,
    ):
        copies = [self._copy(link) for link in links]
        self.catalogue: Catalogue = (
            catalogue if catalogue is not None else Catalogue.from_links(copies)
        )
        self.stable_ties = stable_ties
        self._lock = threading.RLock()
        self._links: dict[str, Json] = {}
        self._created: dict[str, datetime] = {}
        self._prefix: dict[str, bytes] = {}
        self._fragments: dict[int, tuple[Json, bytes]] = {}
        self._orders: dict[tuple[Any, ...], _Rows] = {}
        for link in copies:
            self._insert(link)

    # ------------------------------------------------------------ reading

    def __len__(self) -> int:
        """Return how many links the store holds."""
        return len(self._links)

    def all_links(self) -> list[Json]:
        """Return a copy of every link, in insertion order (nested dicts are shared)."""
        with self._lock:
            return [self._copy(link) for link in self._links.values()]

    def get(self, link_id: str) -> Json | None:
        """Return a copy of the link with this id, or ``None``."""
        with self._lock:
            link = self._links.get(link_id)
            return None if link is None else self._copy(link)

    def encoded(self, link_id: str) -> bytes | None:
        """Return the link's JSON bytes exactly as the API would send them, or ``None``."""
        with self._lock:
            if link_id not in self._links:
                return None
            return b"".join(self._parts(link_id, []))

    def page(
        self,
        *,
        organization_ids: frozenset[str] = frozenset(),
        product_ids: frozenset[str] = frozenset(),
        sorting: Sequence[str] = ("created_at",),
        page: int = 1,
        limit: int = 10,
    ) -> tuple[bytes, int]:
        """Return one page as a JSON array (bytes) and the total count (rows) of the filter.

        ``page`` counts from 1; ``limit`` is used as given (the caller clamps it). With
        several ``product_ids`` the count is of (link, matching product) rows and the page
        holds each link once (see the module's docstring). Sorted orders are cached per
        (filters, sorting) until the next mutation.
        """
        with self._lock:
            rows = self._order(organization_ids, product_ids, tuple(sorting))
            start = (page - 1) * limit
            parts: list[bytes] = [b"["]
            for link_id in dict.fromkeys(self._window(rows, start, start + limit)):
                self._parts(link_id, parts)
                parts.append(b",")
            if len(parts) > 1:
                parts.pop()
            parts.append(b"]")
            return b"".join(parts), len(rows.ids)

    def _window(self, rows: _Rows, start: int, stop: int) -> list[str]:
        """The link ids of rows ``start`` to ``stop - 1``, ties ordered as documented."""
        if self.stable_ties:
            return rows.ids[start:stop]
        # PostgreSQL sorts with a bounded heap of ``stop`` rows while the input holds more
        # than twice that many, and quicksorts everything otherwise (tuplesort.c).
        bound = stop if len(rows.ids) > 2 * stop else 0
        out: list[str] = []
        position = start
        stop = min(stop, len(rows.ids))
        while position < stop:
            group = rows.group[position]
            if group is None:
                out.append(rows.ids[position])
                position += 1
                continue
            first, end = group
            ranked = sorted(range(first, end), key=lambda i: _tie_rank(rows.tags[i], bound))
            until = min(stop, end)
            out.extend(rows.ids[i] for i in ranked[position - first : until - first])
            position = until
        return out

    def expected_order(
        self,
        sorting: Sequence[str] = ("created_at",),
        organization_id: str | Iterable[str] | None = None,
        product_id: str | Iterable[str] | None = None,
    ) -> list[str]:
        """Return the ids the list endpoint should yield, in order, for these parameters.

        Computed independently from the serving code (one ``sorted()`` with a comparison
        function that spells out :data:`NULL_ORDERING` and the ``id`` tie-break), so tests
        can check the server and the client against it. Each matching link comes once.
        This is the server's order with ``stable_ties=True``; without it, links that tie
        on every criterion may come in another order (append ``"created_at"`` to the
        criteria, unique unless ties were forced, to get an order both modes share).
        """
        orgs = {organization_id} if isinstance(organization_id, str) else set(organization_id or ())
        prods = {product_id} if isinstance(product_id, str) else set(product_id or ())
        criteria = [_split(c) for c in sorting]

        def value(link: Json, name: str) -> Any:
            raw = link[name]
            return parse_timestamp(raw) if name == "created_at" else raw

        def compare(a: Json, b: Json) -> int:
            for name, descending in criteria:
                va, vb = value(a, name), value(b, name)
                if va == vb:
                    continue
                if va is None or vb is None:  # nulls last ascending, first descending
                    a_after = va is None
                    return (-1 if a_after else 1) if descending else (1 if a_after else -1)
                result = -1 if va < vb else 1
                return -result if descending else result
            return -1 if a["id"] < b["id"] else 1 if a["id"] > b["id"] else 0

        with self._lock:
            chosen = [
                link
                for link in self._links.values()
                if (not orgs or link["organization_id"] in orgs)
                and (not prods or any(p["id"] in prods for p in link["products"]))
            ]
        return [link["id"] for link in sorted(chosen, key=functools.cmp_to_key(compare))]

    # ------------------------------------------------------------ writing

    def add(self, link: Mapping[str, Any] | None = None, /, **fields: Any) -> Json:
        """Store a link and return a copy of it.

        With ``link`` given, it is stored as is (it must be a complete link dict). Without
        it, a new link is built like a create request would (first catalogue product, new
        id, ``created_at`` now); ``fields`` then override any key (``products`` must be a
        list of product dicts, e.g. from ``store.catalogue.products``).
        """
        if link is None:
            product = next(iter(self.catalogue.products.values()))
            base = new_link([product], fields.pop("created_at", None))
        else:
            base = self._copy(link)
        base.update(fields)
        with self._lock:
            self._insert(base)
            return self._copy(base)

    def create(self, fields: Mapping[str, Any]) -> Json:
        """Create a link from validated create fields (``products`` required) and return it."""
        fields = dict(fields)
        link = new_link(fields.pop("products"), None)
        link.update(fields)
        with self._lock:
            self._insert(link)
            return self._copy(link)

    def update(
        self, link_id: str, changes: Mapping[str, Any], *, touch: bool = True
    ) -> Json | None:
        """Apply ``changes`` to a link, set ``modified_at`` to now (unless ``touch`` is
        false) and return a copy of it.

        Returns ``None`` when no link has this id.
        """
        with self._lock:
            link = self._links.get(link_id)
            if link is None:
                return None
            link.update(changes)
            if touch:
                link["modified_at"] = _timestamp(datetime.now(timezone.utc))
            if "created_at" in changes:
                self._created[link_id] = parse_timestamp(link["created_at"])
            self._prefix.pop(link_id, None)
            self._orders.clear()
            return self._copy(link)

    def delete(self, link_id: str) -> bool:
        """Remove a link; return whether it existed."""
        with self._lock:
            if self._links.pop(link_id, None) is None:
                return False
            self._created.pop(link_id, None)
            self._prefix.pop(link_id, None)
            self._orders.clear()
            return True

    def create_newest(self, count: int) -> list[str]:
        """Create ``count`` links newer than every existing one; return their ids.

        They belong to the organization of the newest existing link and reuse its products
        (or the catalogue's first product when the store is empty).
        """
        with self._lock:
            newest = max(self._links.values(), key=lambda ln: self._created[ln["id"]], default=None)
            if newest is not None and newest["products"]:
                products = list(newest["products"])
            else:
                products = [next(iter(self.catalogue.products.values()))]
            moment = datetime.now(timezone.utc)
            if self._created:
                moment = max(moment, max(self._created.values()) + timedelta(milliseconds=1))
            created: list[str] = []
            for i in range(count):
                link = new_link(products, _timestamp(moment + timedelta(milliseconds=i)))
                link["label"] = "Created while paginating"
                self._insert(link)
                created.append(link["id"])
            return created

    def delete_oldest(self, count: int) -> list[str]:
        """Delete the first ``count`` links of the default order (``created_at``, then id)."""
        with self._lock:
            doomed = self._order(frozenset(), frozenset(), ("created_at",)).ids[:count]
            for link_id in doomed:
                self.delete(link_id)
            return doomed

    # ------------------------------------------------------------ internals

    @staticmethod
    def _copy(link: Mapping[str, Any]) -> Json:
        copy = dict(link)
        if isinstance(copy.get("metadata"), dict):
            copy["metadata"] = dict(copy["metadata"])
        if isinstance(copy.get("products"), list):
            copy["products"] = list(copy["products"])
        return copy

    def _insert(self, link: Json) -> None:
        link_id = link["id"]
        self._links[link_id] = link
        self._created[link_id] = parse_timestamp(link["created_at"])
        self._prefix.pop(link_id, None)
        self._orders.clear()

    def _parts(self, link_id: str, out: list[bytes]) -> list[bytes]:
        """Append the link's JSON pieces to ``out``: its own fields, then its products."""
        link = self._links[link_id]
        prefix = self._prefix.get(link_id)
        if prefix is None:
            own = _encode(
                {k: v for k, v in link.items() if k != "products"}
                | _deprecated_fields(link["products"])
            )
            prefix = own[:-1] + (b"," if len(own) > 2 else b"") + _PRODUCTS_KEY
            self._prefix[link_id] = prefix
        out.append(prefix)
        first = True
        for product in link["products"]:
            if not first:
                out.append(b",")
            first = False
            cached = self._fragments.get(id(product))
            if cached is None or cached[0] is not product:
                cached = (product, _encode(product))
                self._fragments[id(product)] = cached
            out.append(cached[1])
        out.append(b"]}")
        return out

    def _order(
        self, orgs: frozenset[str], prods: frozenset[str], sorting: tuple[str, ...]
    ) -> _Rows:
        key = (orgs, prods, sorting)
        cached = self._orders.get(key)
        if cached is not None:
            return cached
        links = self._links
        # One row per (link, matching product) when filtering by product: the real
        # server joins the link-product table without DISTINCT.
        rows: list[tuple[str, str]] = []
        for link_id, link in links.items():
            if orgs and link["organization_id"] not in orgs:
                continue
            if prods:
                rows += [(link_id, p["id"]) for p in link["products"] if p["id"] in prods]
            else:
                rows.append((link_id, ""))
        rows.sort()
        # Stable multi-pass sort: least significant criterion first. A key of
        # (is_null, value) puts nulls last; reverse=True turns that into nulls first.
        keys: list[Callable[[str], Any]] = []
        for criterion in reversed(sorting):
            name, descending = _split(criterion)
            key_of = (
                self._created.__getitem__ if name == "created_at" else _nullable_key(links, name)
            )
            keys.append(key_of)
            rows.sort(key=_by_link(key_of), reverse=descending)
        full = [tuple(k(link_id) for k in keys) for link_id, _ in rows]
        group: list[tuple[int, int] | None] = [None] * len(rows)
        first = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or full[i] != full[first]:
                if i - first > 1:
                    group[first:i] = [(first, i)] * (i - first)
                first = i
        result = _Rows([r[0] for r in rows], [f"{r[0]}/{r[1]}" for r in rows], group)
        if len(self._orders) >= _ORDER_CACHE_SIZE:
            self._orders.clear()
        self._orders[key] = result
        return result


def _by_link(key_of: Callable[[str], Any]) -> Callable[[tuple[str, str]], Any]:
    """Sort key of a (link id, product id) row: the link's key."""

    def key(row: tuple[str, str]) -> Any:
        return key_of(row[0])

    return key


def _deprecated_fields(products: Sequence[Json]) -> Json:
    """The fields the real server still sends beside ``products`` (the schema hides them):
    the first product, its first price, and their ids (``null`` without products)."""
    product = products[0] if products else None
    prices = product.get("prices") if product is not None else None
    price = prices[0] if prices else None
    return {
        "product_id": product["id"] if product is not None else None,
        "product_price_id": price["id"] if price is not None else None,
        "product": product,
        "product_price": price,
    }


def _nullable_key(links: Mapping[str, Json], name: str) -> Callable[[str], tuple[bool, Any]]:
    """Sort key for a nullable field: ``(is_null, value)``, so nulls sort last ascending."""

    def key(link_id: str) -> tuple[bool, Any]:
        value = links[link_id][name]
        return (value is None, value)

    return key


def new_link(products: list[Json], created_at: str | None) -> Json:
    """Return a fresh link for ``products`` with API defaults: new uuid4 id, new client
    secret and url, ``created_at`` now (unless given), no discount, empty metadata."""
    secret = "polar_cl_" + secrets.token_hex(24)
    return {
        "id": str(uuid.uuid4()),
        "created_at": created_at or _timestamp(datetime.now(timezone.utc)),
        "modified_at": None,
        "trial_interval": None,
        "trial_interval_count": None,
        "metadata": {},
        "payment_processor": "stripe",
        "client_secret": secret,
        "success_url": None,
        "return_url": None,
        "label": None,
        "allow_discount_codes": True,
        "require_billing_address": False,
        "discount_id": None,
        "seats": None,
        "units": None,
        "organization_id": products[0]["organization_id"] if products else "",
        "products": products,
        "discount": None,
        "url": link_url(secret),
    }
