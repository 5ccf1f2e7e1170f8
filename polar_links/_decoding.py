"""Decoding response bodies into models: one fast strict pass, and a tolerant pass
driven by the models' types when the strict one fails.

Policy (the models never hold a value their types do not allow):

* a price, benefit or discount of a kind this version does not know becomes its
  ``Unknown*`` type, which keeps the object the server sent in ``data``;
* a known variant whose *required* field is missing or of the wrong type becomes its
  ``Unknown*`` type too (its raw object kept); a bad or missing *optional* field only
  takes its default (``None``, ``[]``, ``{}``) and the variant keeps its class;
* a checkout link whose required field is missing or bad (anywhere outside a variant:
  the link's own fields, a product, a media...) is left out of the page and reported as
  a :class:`SkippedItem` with its raw bytes, and logged as a warning;
* nothing is dropped because of how many repairs it needed.

How: a page is first decoded strictly in one msgspec call (the clean, fast path). If
that fails, the page is decoded once more into "shells": subclasses of the models,
generated from their types, that hold each price, benefit and discount as raw JSON. The
variants of the whole page are then decoded by kind in a few batched calls (a kind the
models lack decodes to a placeholder, then to ``Unknown*`` with its raw object), put in
place, and each shell becomes its model (same fields, same slots: no copy). A link that
does not fit even its shell (a bad field outside the variants) is converted on its own
by a walk over the models' field types (:func:`msgspec.structs.fields`), which knows
which fields are required. msgspec's error messages are never parsed; they only appear
in reasons meant for people.

Drift seen before is cheaper still: the kinds met so far, with the keys their objects
had, are captured by structs built for them, and a page whose drift is all of that
kind decodes in one call into such shells (an object with a key not seen yet fails it,
and the page takes the path above, which learns the key: no key is ever lost).

Bodies of ``OFF_LOOP_BYTES`` or more are decoded in a worker thread, item by item
(:func:`decode_list_async`), so that a huge page does not stall the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import operator
import threading
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import msgspec

from ._models import UNKNOWN_TAG, CheckoutLink, ListResponse, Pagination

__all__ = [
    "OFF_LOOP_BYTES",
    "SkippedItem",
    "decode_link",
    "decode_link_async",
    "decode_list",
    "decode_list_async",
]

logger = logging.getLogger("polar_links")

#: Bodies at least this large (bytes) are decoded in a worker thread, one item at a
#: time, so the event loop keeps running (a 100-link page is about 0.3 MiB).
OFF_LOOP_BYTES = 1024 * 1024


class SkippedItem(msgspec.Struct, frozen=True, kw_only=True):
    """An item of a page that could not be decoded without breaking its types (for
    example a missing ``id`` or ``created_at``): its raw JSON bytes and the reason,
    which names the field."""

    raw: bytes
    reason: str


# ---------------------------------------------------------------- hostile bodies


@contextmanager
def _hostile_body_errors() -> Iterator[None]:
    """Turn the errors a hostile body raises from inside msgspec into ``DecodeError``
    (which callers map to ``InvalidResponseError``)."""
    try:
        yield
    except RecursionError:
        raise msgspec.DecodeError("JSON nested too deeply to decode") from None
    except UnicodeDecodeError as exc:
        raise msgspec.DecodeError(
            f"not valid UTF-8 (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
        ) from None


# ---------------------------------------------------------------- the models' shapes


class _Invalid(Exception):
    """A value that does not fit its type: the message is the reason a skipped link
    gives, and names where (see ``_bad`` and ``_missing``)."""


def _bad(path: str, reason: str) -> _Invalid:
    """The value at ``path`` (``products[0].name``; ``$`` for the whole) does not fit."""
    return _Invalid(f"`{path or '$'}`: {reason}")


def _missing(path: str) -> _Invalid:
    return _Invalid(f"missing required field `{path}`")


Convert = Callable[[Any, str], Any]


#: Unknown kinds each union remembers (so that later batches decode in one call);
#: past this many, a batch with a kind not seen yet is decoded variant by variant.
_MAX_SEEN_KINDS = 64


class _Unseen(msgspec.Struct, kw_only=True, gc=False):
    """Base of the placeholders that stand, in a batch, for a kind the models lack."""


#: Keys remembered per unknown kind; an object with more is never captured.
_MAX_CAPTURED_KEYS = 256


class _Captured(msgspec.Struct, kw_only=True, gc=False):
    """Base of structs that capture, key by key, an object of a kind the models lack."""


class _Variants:
    """One union of tagged structs (a price, a benefit, a discount): its tag field,
    the classes by tag, its ``Unknown*`` class, and decoders for batches."""

    def __init__(self, union: Any) -> None:
        members = [t for t in typing.get_args(union) if t is not type(None)]
        (self.tag_field,) = {str(t.__struct_config__.tag_field) for t in members}
        self.unknown: type[msgspec.Struct] = next(
            t for t in members if t.__struct_config__.tag == UNKNOWN_TAG
        )
        self.known = {
            t.__struct_config__.tag: t for t in members if t.__struct_config__.tag != UNKNOWN_TAG
        }
        known_union = _union(self.known.values())
        tags = msgspec.defstruct(f"_{self.tag_field}", [(self.tag_field, str | None, None)])
        self.tags_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_list_of(tags))
        self.one_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(known_union)
        self.plans: dict[Any, Convert] = {}
        self._seen: dict[str, type] = {}
        self._keys: dict[str, list[str]] = {}
        #: The known variants and the captured kinds (a new union at each change).
        self.captured_union: Any = known_union
        self._lock = threading.Lock()
        self.batch_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_list_of(known_union))
        self.unknowns_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
            _list_of(self.unknown)
        )
        self._wrap_open = msgspec.json.encode({self.tag_field: UNKNOWN_TAG})[:-1] + b',"data":'

    def learn(self, tags: list[str | None]) -> bool:
        """Remember the unknown kinds among ``tags`` (up to ``_MAX_SEEN_KINDS``); True if
        the batch decoder now knows more kinds (it is rebuilt only then)."""
        with self._lock:
            new = {t for t in tags if t is not None and t not in self.known} - set(self._seen)
            room = _MAX_SEEN_KINDS - len(self._seen)
            if not new or room <= 0:
                return False
            for tag in sorted(new)[:room]:
                self._seen[tag] = msgspec.defstruct(
                    _Unseen.__name__, [], bases=(_Unseen,), tag_field=self.tag_field, tag=tag
                )
            union = _union([*self.known.values(), *self._seen.values()])
            self.batch_decoder = msgspec.json.Decoder(_list_of(union))
            return True

    def is_known(self, tag: Any) -> bool:
        return isinstance(tag, str) and tag in self.known

    def wrap(self, data: dict[str, Any]) -> Any:
        return self.unknown(data=data)

    def learn_objects(self, objects: Iterable[Any]) -> None:
        """Remember the keys (in order) of objects of the kinds ``learn`` took in (so at
        most ``_MAX_SEEN_KINDS`` kinds), so that a later page with the same kinds and
        keys decodes in one call (see ``_Captured``). ``captured_union`` is rebuilt only
        when a key is new."""
        with self._lock:
            changed = False
            for data in objects:
                keys = self._keys.setdefault(data[self.tag_field], [])
                new = [k for k in data if k not in keys]
                if new and len(keys) + len(new) <= _MAX_CAPTURED_KEYS:
                    keys += new
                    changed = True
            if not changed:
                return
            captures = []
            for tag, keys in self._keys.items():
                # Attribute names of our own, renamed to the keys: any key string works.
                names = {f"k{i}": key for i, key in enumerate(keys) if key != self.tag_field}
                cls = msgspec.defstruct(
                    _Captured.__name__,
                    [(name, Any, msgspec.UNSET) for name in names],
                    bases=(_Captured,),
                    tag_field=self.tag_field,
                    tag=tag,
                    rename=names,
                    forbid_unknown_fields=True,
                )
                captures.append(cls)
            self.captured_union = _union([*self.known.values(), *captures])

    def wrap_raws(self, raws: list[msgspec.Raw]) -> bytes:
        """A JSON array of ``Unknown*`` objects holding ``raws`` (for ``unknowns_decoder``)."""
        return b"[" + self._wrap_open + (b"}," + self._wrap_open).join(raws) + b"}]"

    def convert(self, value: Any, path: str) -> Any:
        """A variant from builtins: its class, or ``Unknown*`` when its kind is not
        known or a required field does not fit."""
        if not isinstance(value, dict):
            raise _bad(path, f"expected an object, got {type(value).__name__}")
        tag = value.get(self.tag_field)
        if not self.is_known(tag):
            return self.wrap(value)
        try:
            return self.plans[tag](value, path)
        except _Invalid:
            return self.wrap(value)


def _union(members: Iterable[Any]) -> Any:
    """The union of ``members`` (``A | B | ...``), built at run time."""
    return functools.reduce(operator.or_, members)


def _list_of(tp: Any) -> Any:
    """``list[tp]`` for a type built at run time."""
    return list[tp]


def _is_variants(tp: Any) -> bool:
    """True if ``tp`` is a union of tagged structs (optional or not): a price, a
    benefit, a discount."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return False
    return all(
        isinstance(t, type)
        and issubclass(t, msgspec.Struct)
        and t.__struct_config__.tag_field is not None
        for t in typing.get_args(tp)
        if t is not type(None)
    )


_variant_kinds: dict[Any, _Variants] = {}


def _plan(tp: Any) -> Convert:
    """A converter from builtins to ``tp`` that follows the models' types: a missing or
    bad optional field takes its default, a bad required one makes the value invalid
    (``_Invalid``), a variant that does not fit becomes ``Unknown*``. Any other type
    (``datetime | None`` included) is a leaf, converted by msgspec in one call: the
    models have no optional struct or list outside the variants."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return _struct_plan(tp)
    if _is_variants(tp):
        # A null where a variant may be null is refused like any non-object: the field
        # is optional, so it takes its default (None) all the same.
        return _variants(tp).convert
    if typing.get_origin(tp) is list:
        (item_type,) = typing.get_args(tp)
        item = _plan(item_type)

        def convert_list(value: Any, path: str) -> list[Any]:
            if not isinstance(value, list):
                raise _bad(path, f"expected an array, got {type(value).__name__}")
            return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]

        return convert_list
    return _leaf_plan(tp)


def _leaf_plan(tp: Any) -> Convert:
    def convert_leaf(value: Any, path: str) -> Any:
        try:
            return msgspec.convert(value, tp)
        except msgspec.ValidationError as exc:
            raise _bad(path, str(exc)) from None

    return convert_leaf


def _struct_plan(cls: type[msgspec.Struct]) -> Convert:
    fields = [
        (field.encode_name, field.name, field.required, _plan(field.type))
        for field in msgspec.structs.fields(cls)
    ]

    def convert_struct(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise _bad(path, f"expected an object, got {type(value).__name__}")
        kwargs = {}
        for key, name, required, convert in fields:
            where = f"{path}.{key}" if path else key
            if key not in value:
                if required:
                    raise _missing(where)
                continue
            try:
                kwargs[name] = convert(value[key], where)
            except _Invalid:
                if required:
                    raise
        return cls(**kwargs)

    return convert_struct


def _variants(union: Any) -> _Variants:
    key = _union(t for t in typing.get_args(union) if t is not type(None))
    kind = _variant_kinds.get(key)
    if kind is None:
        kind = _variant_kinds[key] = _Variants(union)
        for tag, cls in kind.known.items():
            kind.plans[tag] = _struct_plan(cls)
    return kind


# ---------------------------------------------------------------- shells

# A shell mirrors a model whose fields (or their items) hold variants: each variant is
# kept as raw JSON, everything else is decoded as in the model.
_RAW_NULL = msgspec.Raw(b"null")


class _ShellInfo(typing.NamedTuple):
    """The model a shell class stands for, and where the shell holds variants: lists of
    them, single ones (optional), and lists of nested shells."""

    model: type
    variant_lists: tuple[tuple[str, _Variants], ...]
    variant_ones: tuple[tuple[str, _Variants], ...]
    shell_lists: tuple[str, ...]


_shell_info: dict[type, _ShellInfo] = {}


def _shell_of(tp: Any, captured: bool = False) -> Any:
    """The shell type of ``tp``: ``tp`` itself when nothing under it is a variant.
    Variants are raw JSON in a shell, or (``captured``) the known variants and the
    captured kinds (``_Variants.captured_union``)."""
    if _is_variants(tp):
        if not captured:
            return msgspec.Raw
        kind = _variants(tp)
        return (
            kind.captured_union | None if type(None) in typing.get_args(tp) else kind.captured_union
        )
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        shell = _shell_of(item, captured)
        return tp if shell is item else _list_of(shell)
    if not (isinstance(tp, type) and issubclass(tp, msgspec.Struct)):
        return tp
    specs: list[Any] = []
    info = _ShellInfo(tp, (), (), ())
    for field in msgspec.structs.fields(tp):
        shell = _shell_of(field.type, captured)
        if shell is field.type:
            continue
        single_variant = _is_variants(field.type)
        if single_variant:
            info = info._replace(
                variant_ones=(*info.variant_ones, (field.name, _variants(field.type)))
            )
        elif typing.get_origin(field.type) is list and _is_variants(typing.get_args(field.type)[0]):
            kind = _variants(typing.get_args(field.type)[0])
            info = info._replace(variant_lists=(*info.variant_lists, (field.name, kind)))
        elif typing.get_origin(shell) is list:
            info = info._replace(shell_lists=(*info.shell_lists, field.name))
        else:  # pragma: no cover
            raise TypeError(f"{field.name}: a lone struct holding variants")  # pragma: no mutate
        if field.required:
            specs.append((field.name, shell))
        elif single_variant:  # optional (the discount): absent is null
            specs.append((field.name, shell, field.default if captured else _RAW_NULL))
        else:  # pragma: no cover
            raise TypeError(f"{field.name}: an optional field holding more")  # pragma: no mutate
    if not specs:
        return tp
    # A subclass that only retypes the fields holding variants: same fields, same slots
    # (and the model's config, gc=False included), so that once its variants are decoded
    # an instance can become the model itself.
    cls = msgspec.defstruct(f"_{tp.__name__}Shell", specs, bases=(tp,))
    _shell_info[cls] = info
    return cls


class _RawList(msgspec.Struct):
    items: list[msgspec.Raw]
    pagination: Pagination


_list_decoder = msgspec.json.Decoder(ListResponse)
_raw_list_decoder = msgspec.json.Decoder(_RawList)
_link_decoder = msgspec.json.Decoder(CheckoutLink)
_any_decoder = msgspec.json.Decoder()


class _Tolerant(typing.NamedTuple):
    """What the tolerant pass decodes with: built from the models the first time a body
    does not fit them (a clean body never needs it)."""

    shell_list_decoder: msgspec.json.Decoder[Any]
    link_shell_decoder: msgspec.json.Decoder[Any]
    link_plan: Convert


_tolerant_lock = threading.Lock()
_tolerant_state: list[_Tolerant] = []


def _tolerant() -> _Tolerant:
    """The tolerant pass's decoders and plan, built once (in any thread)."""
    if _tolerant_state:
        return _tolerant_state[0]
    with _tolerant_lock:
        if not _tolerant_state:
            link_shell = _shell_of(CheckoutLink)
            page = msgspec.defstruct(
                f"_{link_shell.__name__}Page",
                [("items", _list_of(link_shell)), ("pagination", Pagination)],
            )
            _tolerant_state.append(
                _Tolerant(
                    msgspec.json.Decoder(page),
                    msgspec.json.Decoder(link_shell),
                    _plan(CheckoutLink),
                )
            )
        return _tolerant_state[0]


def _start_over() -> None:  # pragma: no mutate block (test support, not decoding)
    """Forget what the tolerant pass built and learned (shells, plans, the kinds and keys
    met so far), as in a fresh process. Each test starts from here, so no test depends on
    what an earlier one decoded."""
    with _tolerant_lock, _captured_lock:
        _tolerant_state.clear()
        _variant_kinds.clear()
        _shell_info.clear()
        _captured_state[:] = [(), None, 0]


#: What a variant that is not even a JSON object decodes to, until its link is dropped.
_NOT_AN_OBJECT: Any = object()


class _Batch:
    """The raw variants of one kind in a batch of shells: the lists that hold them,
    and the (shell, attribute) pairs that hold single ones."""

    __slots__ = ("lists", "ones")

    def __init__(self) -> None:
        self.lists: list[list[Any]] = []
        self.ones: list[tuple[Any, str]] = []


def _collect(shell: Any, batches: dict[_Variants, _Batch], seen: list[Any]) -> None:
    """Gather the raw variants under ``shell`` into ``batches``, and ``shell`` and the
    shells under it into ``seen``."""
    info = _shell_info[type(shell)]
    seen.append(shell)
    for name, kind in info.variant_lists:
        batches[kind].lists.append(getattr(shell, name))
    for name, kind in info.variant_ones:
        raw = getattr(shell, name)
        if raw is _RAW_NULL or bytes(raw) == b"null":
            setattr(shell, name, None)
        else:
            batches[kind].ones.append((shell, name))
    for name in info.shell_lists:
        for item in getattr(shell, name):
            _collect(item, batches, seen)


def _has_bad(shell: Any) -> bool:
    """True if a variant of ``shell`` (at any depth) was not a JSON object."""
    info = _shell_info[type(shell)]
    return (
        any(_NOT_AN_OBJECT in getattr(shell, name) for name, _ in info.variant_lists)
        or any(getattr(shell, name) is _NOT_AN_OBJECT for name, _ in info.variant_ones)
        or any(_has_bad(item) for name in info.shell_lists for item in getattr(shell, name))
    )


def _resolve(variants: _Variants, batch: _Batch) -> None:
    """Decode the raw variants of ``batch`` in a few calls and put them in place (one
    that is not even a JSON object becomes ``_NOT_AN_OBJECT``)."""
    raws = [raw for values in batch.lists for raw in values]
    raws += [getattr(shell, name) for shell, name in batch.ones]
    joined = _join(raws)
    results: list[Any] | None = None
    try:
        results = variants.batch_decoder.decode(joined)
    except msgspec.ValidationError:
        # A kind not seen yet (learn it and retry), or a variant that does not fit.
        try:
            tags = [getattr(t, variants.tag_field) for t in variants.tags_decoder.decode(joined)]
        except msgspec.ValidationError:
            tags = []  # a tag that is not a string: no kind to learn
        if variants.learn(tags):
            with suppress(msgspec.ValidationError):
                results = variants.batch_decoder.decode(joined)
    if results is None:
        results = [_one_variant(variants, raw) for raw in raws]
    unknown_at = [i for i, value in enumerate(results) if isinstance(value, _Unseen)]
    if unknown_at:
        wrapped = variants.unknowns_decoder.decode(
            variants.wrap_raws([raws[i] for i in unknown_at])
        )
        for n, i in enumerate(unknown_at):
            results[i] = wrapped[n]
        variants.learn_objects(value.data for value in wrapped)
    at = 0
    for values in batch.lists:
        count = len(values)
        values[:] = results[at : at + count]
        at += count
    for shell, name in batch.ones:
        setattr(shell, name, results[at])
        at += 1


def _one_variant(variants: _Variants, raw: msgspec.Raw) -> Any:
    try:
        return variants.one_decoder.decode(raw)
    except msgspec.ValidationError:
        pass
    try:
        return variants.convert(_any_decoder.decode(raw), "")
    except _Invalid:
        return _NOT_AN_OBJECT


def _join(raws: list[msgspec.Raw]) -> bytes:
    return b"[" + b",".join(raws) + b"]"


def _from_shells(shells: list[Any]) -> tuple[list[CheckoutLink | None], set[int]]:
    """Links from shells (``None`` where the link could not be made: its index is in
    the returned set, and it must be decoded on its own)."""
    batches = {kind: _Batch() for kind in _variant_kinds.values()}
    seen: list[list[Any]] = []
    for shell in shells:
        seen.append([])
        _collect(shell, batches, seen[-1])
    for kind, batch in batches.items():
        _resolve(kind, batch)
    bad = {i for i, shell in enumerate(shells) if _has_bad(shell)}
    for i, objects in enumerate(seen):
        if i not in bad:
            # Every field now holds what the model's type allows: the shell becomes
            # the model (same slots; see _shell_of), with no copy.
            for obj in objects:
                obj.__class__ = _shell_info[type(obj)].model
    return [None if i in bad else shell for i, shell in enumerate(shells)], bad


#: Builds of the captured page decoder at most (each learns kinds or keys).
_MAX_CAPTURED_BUILDS = 32
_captured_lock = threading.Lock()
_captured_state: list[Any] = [(), None, 0]  # unions, decoder, builds


def _captured_decoder() -> msgspec.json.Decoder[Any] | None:
    """A decoder of a whole page in which the kinds learned so far (with their keys)
    are captured, or ``None`` before the tolerant pass first ran (or after too many
    builds: then the last one built)."""
    unions = tuple(kind.captured_union for kind in _variant_kinds.values())
    state = _captured_state
    with _captured_lock:
        if state[0] != unions and state[2] < _MAX_CAPTURED_BUILDS:
            link = _shell_of(CheckoutLink, captured=True)
            page = msgspec.defstruct(
                f"_{link.__name__}Page", [("items", _list_of(link)), ("pagination", Pagination)]
            )
            state[:] = [unions, msgspec.json.Decoder(page), state[2] + 1]
        return state[1]  # type: ignore[no-any-return]


def _uncapture(shell: Any, found: list[tuple[Any, Any, _Variants, Any]]) -> None:
    """Gather the captured objects under ``shell`` into ``found`` (holder, index or
    attribute, kind, object), and turn each shell into its model."""
    info = _shell_info[type(shell)]
    for name, kind in info.variant_lists:
        values = getattr(shell, name)
        for i, value in enumerate(values):
            if isinstance(value, _Captured):
                found.append((values, i, kind, value))
    for name, kind in info.variant_ones:
        value = getattr(shell, name)
        if isinstance(value, _Captured):
            found.append((shell, name, kind, value))
    for name in info.shell_lists:
        for item in getattr(shell, name):
            _uncapture(item, found)
    shell.__class__ = info.model


def _uncapture_all(links: list[Any]) -> None:
    """Make models of captured shells, with ``Unknown*`` for every captured object
    (its data as sent; ``to_builtins`` drops the keys it did not have)."""
    found: list[tuple[Any, Any, _Variants, Any]] = []
    for link in links:
        _uncapture(link, found)
    datas = msgspec.to_builtins([value for _, _, _, value in found])
    for n, (holder, key, kind, _) in enumerate(found):
        data = datas[n]
        if isinstance(key, str):
            setattr(holder, key, kind.unknown(data=data))
        else:
            holder[key] = kind.unknown(data=data)


def _one_tolerantly(raw: bytes) -> CheckoutLink | SkippedItem:
    """One link that does not fit the strict decoder: via its shell, else by a walk
    over the models' types; a ``SkippedItem`` when a required field does not fit."""
    try:
        links, _ = _from_shells([_tolerant().link_shell_decoder.decode(raw)])
    except msgspec.ValidationError:
        links = [None]
    if links[0] is not None:
        return links[0]
    return _walk(raw)


def _walk(raw: bytes) -> CheckoutLink | SkippedItem:
    """One link (valid JSON) by a walk over the models' types, field by field: the last
    resort, which knows which fields are required and names the one that does not fit."""
    try:
        link: CheckoutLink = _tolerant().link_plan(_any_decoder.decode(raw), "")
    except _Invalid as exc:
        return SkippedItem(raw=raw, reason=str(exc))
    return link


def _skipped(item: SkippedItem) -> SkippedItem:
    doc = _any_decoder.decode(item.raw)  # valid JSON: an item of a decoded page
    link_id = doc.get("id") if isinstance(doc, dict) else None
    logger.warning(
        "skipped an undecodable checkout link %s: %s",
        link_id if isinstance(link_id, str) else "(no id)",
        item.reason,
    )
    return item


def _by_items(raws: list[msgspec.Raw]) -> tuple[list[CheckoutLink], list[SkippedItem]]:
    items: list[CheckoutLink] = []
    skipped: list[SkippedItem] = []
    for raw in raws:
        try:
            items.append(_link_decoder.decode(raw))
            continue
        except msgspec.ValidationError:
            pass
        result = _one_tolerantly(bytes(raw))
        if isinstance(result, SkippedItem):
            skipped.append(_skipped(result))
        else:
            items.append(result)
    return items, skipped


# ---------------------------------------------------------------- entry points


def decode_list(body: bytes) -> tuple[list[CheckoutLink], Pagination, list[SkippedItem]]:
    """Decode a list response body into its items, its pagination and the skipped items.

    Raises ``msgspec.DecodeError`` (``ValidationError`` included) only when the body
    itself is not a list response: not JSON, not UTF-8, nested too deeply, or no
    usable ``pagination``.
    """
    try:
        page = _list_decoder.decode(body)
    except (msgspec.ValidationError, RecursionError, UnicodeDecodeError):
        pass  # the tolerant pass below decodes it, or raises the right error
    else:
        return page.items, page.pagination, []
    with _hostile_body_errors():
        captured = _captured_decoder()
        if captured is not None:
            # Drift seen before (same kinds, same keys): the whole page in one call.
            try:
                known = captured.decode(body)
            except msgspec.ValidationError:
                pass
            else:
                _uncapture_all(known.items)
                return known.items, known.pagination, []
        try:
            shell = _tolerant().shell_list_decoder.decode(body)
        except msgspec.ValidationError:
            raw = _raw_list_decoder.decode(body)
            items, skipped = _by_items(raw.items)
            return items, raw.pagination, skipped
        links, bad = _from_shells(shell.items)
        if not bad:
            return links, shell.pagination, []  # type: ignore[return-value]
        raws = _raw_list_decoder.decode(body).items
        out: list[CheckoutLink] = []
        skipped = []
        for i, link in enumerate(links):
            result = _one_tolerantly(bytes(raws[i])) if link is None else link
            if isinstance(result, SkippedItem):
                skipped.append(_skipped(result))
            else:
                out.append(result)
        return out, shell.pagination, skipped


def _decode_list_by_items(body: bytes) -> tuple[list[CheckoutLink], Pagination, list[SkippedItem]]:
    """``decode_list`` in many short steps (one per item) instead of one long call:
    for a worker thread, so that the event loop's thread gets the GIL in between."""
    with _hostile_body_errors():
        raw = _raw_list_decoder.decode(body)
        items, skipped = _by_items(raw.items)
        return items, raw.pagination, skipped


def decode_link(body: bytes) -> CheckoutLink:
    """Decode one checkout link body (get/create/update responses), tolerantly.

    Raises ``msgspec.DecodeError`` when the body is not JSON (or not UTF-8, or nested
    too deeply) and ``msgspec.ValidationError`` when it is not a checkout link whose
    required fields fit their types; the message names the field.
    """
    try:
        return _link_decoder.decode(body)
    except (msgspec.ValidationError, RecursionError, UnicodeDecodeError):
        pass  # the tolerant pass below decodes it, or raises the right error
    with _hostile_body_errors():
        result = _one_tolerantly(body)
    if isinstance(result, SkippedItem):
        raise msgspec.ValidationError(result.reason)
    return result


async def decode_list_async(
    body: bytes,
) -> tuple[list[CheckoutLink], Pagination, list[SkippedItem]]:
    """:func:`decode_list`, in a worker thread and item by item for bodies of
    ``OFF_LOOP_BYTES`` or more."""
    if len(body) < OFF_LOOP_BYTES:
        return decode_list(body)
    return await asyncio.to_thread(_decode_list_by_items, body)


async def decode_link_async(body: bytes) -> CheckoutLink:
    """:func:`decode_link`, in a worker thread for bodies of ``OFF_LOOP_BYTES`` or more."""
    if len(body) < OFF_LOOP_BYTES:
        return decode_link(body)
    return await asyncio.to_thread(decode_link, body)
