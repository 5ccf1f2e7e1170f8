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
    """A value that does not fit its type, at ``path`` (``products[0].name``)."""

    def __init__(self, path: str, reason: str, *, missing: bool = False) -> None:
        where = f"`{path or '$'}`"
        super().__init__(f"missing required field {where}" if missing else f"{where}: {reason}")
        self.path = path


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
        self.tag_field = str(members[0].__struct_config__.tag_field)
        self.unknown: type[msgspec.Struct] = next(
            t for t in members if t.__struct_config__.tag == UNKNOWN_TAG
        )
        self.known = {
            t.__struct_config__.tag: t for t in members if t.__struct_config__.tag != UNKNOWN_TAG
        }
        known_union = _union(self.known.values())
        tags = msgspec.defstruct("_Tag", [(self.tag_field, str | None, None)])
        self.tags_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_list_of(tags))
        self.one_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(known_union)
        self.plans: dict[Any, Convert] = {}
        self._seen: dict[str, type] = {}
        self._keys: dict[str, list[str]] = {}
        #: The known variants and the captured kinds; ``version`` counts its changes.
        self.captured_union: Any = known_union
        self.version = 0
        self._lock = threading.Lock()
        self.batch_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_list_of(known_union))
        self.unknowns_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
            _list_of(self.unknown)
        )
        self._wrap_open = msgspec.json.encode({self.tag_field: UNKNOWN_TAG})[:-1] + b',"data":'

    def learn(self, tags: list[str | None]) -> bool:
        """Remember the unknown kinds among ``tags`` (up to ``_MAX_SEEN_KINDS``); True if
        the batch decoder now knows more kinds."""
        with self._lock:
            new = {t for t in tags if t is not None and t not in self.known} - set(self._seen)
            room = _MAX_SEEN_KINDS - len(self._seen)
            if not new or room <= 0:
                return False
            for tag in sorted(new)[:room]:
                self._seen[tag] = msgspec.defstruct(
                    "_UnseenKind", [], bases=(_Unseen,), tag_field=self.tag_field, tag=tag
                )
            union = _union([*self.known.values(), *self._seen.values()])
            self.batch_decoder = msgspec.json.Decoder(_list_of(union))
            return True

    def is_known(self, tag: Any) -> bool:
        return isinstance(tag, str) and tag in self.known

    def wrap(self, data: dict[str, Any]) -> Any:
        return self.unknown(data=data)

    def learn_objects(self, objects: Iterable[Any]) -> None:
        """Remember the keys (in order) of unknown-kind objects, so that a later page
        with the same kinds and keys decodes in one call (see ``_Captured``)."""
        with self._lock:
            changed = False
            for data in objects:
                tag = data.get(self.tag_field)
                if not isinstance(tag, str) or tag in self.known:
                    continue
                keys = self._keys.get(tag)
                if keys is None:
                    if len(self._keys) >= _MAX_SEEN_KINDS:
                        continue
                    keys = self._keys[tag] = []
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
                    "_CapturedKind",
                    [(name, Any, msgspec.UNSET) for name in names],
                    bases=(_Captured,),
                    tag_field=self.tag_field,
                    tag=tag,
                    rename=names,
                    forbid_unknown_fields=True,
                    kw_only=True,
                )
                order = [
                    (key, None) if key == self.tag_field else (key, f"k{i}")
                    for i, key in enumerate(keys)
                ]
                cls.__order__ = tuple(order)  # type: ignore[attr-defined]
                captures.append(cls)
            self.captured_union = _union([*self.known.values(), *captures])
            self.version += 1

    def wrap_raws(self, raws: list[msgspec.Raw]) -> bytes:
        """A JSON array of ``Unknown*`` objects holding ``raws`` (for ``unknowns_decoder``)."""
        return b"[" + self._wrap_open + (b"}," + self._wrap_open).join(raws) + b"}]"

    def convert(self, value: Any, path: str) -> Any:
        """A variant from builtins: its class, or ``Unknown*`` when its kind is not
        known or a required field does not fit."""
        if not isinstance(value, dict):
            raise _Invalid(path, f"expected an object, got {type(value).__name__}")
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


def _is_variant_union(tp: Any) -> bool:
    args = [t for t in typing.get_args(tp) if t is not type(None)]
    return bool(args) and all(
        isinstance(t, type)
        and issubclass(t, msgspec.Struct)
        and t.__struct_config__.tag_field is not None
        for t in args
    )


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


_variant_kinds: dict[Any, _Variants] = {}


def _plan(tp: Any) -> Convert:
    """A converter from builtins to ``tp`` that follows the models' types: a missing or
    bad optional field takes its default, a bad required one makes the value invalid
    (``_Invalid``), a variant that does not fit becomes ``Unknown*``."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return _struct_plan(tp)
    if _is_union(tp) and _is_variant_union(tp):
        kind = _variants(tp)
        if type(None) in typing.get_args(tp):
            return lambda v, path: None if v is None else kind.convert(v, path)
        return kind.convert
    if _is_union(tp) and type(None) in typing.get_args(tp):
        rest = [t for t in typing.get_args(tp) if t is not type(None)]
        if len(rest) == 1:
            inner = _plan(rest[0])
            return lambda v, path: None if v is None else inner(v, path)
    if typing.get_origin(tp) is list:
        (item_type,) = typing.get_args(tp)
        item = _plan(item_type)

        def convert_list(value: Any, path: str) -> list[Any]:
            if not isinstance(value, list):
                raise _Invalid(path, f"expected an array, got {type(value).__name__}")
            return [item(v, f"{path}[{i}]") for i, v in enumerate(value)]

        return convert_list
    return _leaf_plan(tp)


def _leaf_plan(tp: Any) -> Convert:
    def convert_leaf(value: Any, path: str) -> Any:
        try:
            return msgspec.convert(value, tp)
        except msgspec.ValidationError as exc:
            raise _Invalid(path, str(exc)) from None

    return convert_leaf


def _struct_plan(cls: type[msgspec.Struct]) -> Convert:
    fields = [
        (field.encode_name, field.name, field.required, _plan(field.type))
        for field in msgspec.structs.fields(cls)
    ]

    def convert_struct(value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise _Invalid(path, f"expected an object, got {type(value).__name__}")
        try:
            return msgspec.convert(value, cls)  # the common case, in one C call
        except msgspec.ValidationError:
            pass
        kwargs = {}
        for key, name, required, convert in fields:
            where = f"{path}.{key}" if path else key
            if key not in value:
                if required:
                    raise _Invalid(where, "missing required field", missing=True)
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
    them, single ones (optional), and nested shells (in lists or single)."""

    model: type
    variant_lists: tuple[tuple[str, _Variants], ...]
    variant_ones: tuple[tuple[str, _Variants], ...]
    shell_lists: tuple[str, ...]
    shell_ones: tuple[str, ...]


_shell_info: dict[type, _ShellInfo] = {}


def _shell_of(tp: Any, captured: bool = False) -> Any:
    """The shell type of ``tp``: ``tp`` itself when nothing under it is a variant.
    Variants are raw JSON in a shell, or (``captured``) the known variants and the
    captured kinds (``_Variants.captured_union``)."""
    if _is_union(tp) and _is_variant_union(tp):
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
    info = _ShellInfo(tp, (), (), (), ())
    for field in msgspec.structs.fields(tp):
        shell = _shell_of(field.type, captured)
        if shell is field.type:
            continue
        default = field.default
        if _is_union(field.type) and _is_variant_union(field.type):
            info = info._replace(
                variant_ones=(*info.variant_ones, (field.name, _variants(field.type)))
            )
            default = default if captured else _RAW_NULL
        elif typing.get_origin(field.type) is list and _is_variant_union(
            typing.get_args(field.type)[0]
        ):
            kind = _variants(typing.get_args(field.type)[0])
            info = info._replace(variant_lists=(*info.variant_lists, (field.name, kind)))
        elif typing.get_origin(shell) is list:
            info = info._replace(shell_lists=(*info.shell_lists, field.name))
        else:
            info = info._replace(shell_ones=(*info.shell_ones, field.name))
        if field.required:
            specs.append((field.name, shell))
        elif field.default_factory is not msgspec.NODEFAULT:
            specs.append((field.name, shell, msgspec.field(default_factory=field.default_factory)))
        else:
            specs.append((field.name, shell, default))
    if not specs:
        return tp
    # A subclass that only retypes the fields holding variants: same fields, same slots,
    # so that once its variants are decoded an instance can become the model itself.
    name = f"_{tp.__name__}{'Captured' if captured else 'Shell'}"
    cls = msgspec.defstruct(name, specs, bases=(tp,), kw_only=True, gc=False)
    if cls.__struct_fields__ != tp.__struct_fields__ or cls.__basicsize__ != tp.__basicsize__:
        raise TypeError(f"the shell of {tp.__name__} does not have its layout")  # pragma: no cover
    _shell_info[cls] = info
    return cls


_LinkShell = _shell_of(CheckoutLink)


class _ShellList(msgspec.Struct):
    items: list[_LinkShell]  # type: ignore[valid-type]
    pagination: Pagination


class _RawList(msgspec.Struct):
    items: list[msgspec.Raw]
    pagination: Pagination


_list_decoder = msgspec.json.Decoder(ListResponse)
_shell_list_decoder = msgspec.json.Decoder(_ShellList)
_raw_list_decoder = msgspec.json.Decoder(_RawList)
_link_decoder = msgspec.json.Decoder(CheckoutLink)
_link_shell_decoder = msgspec.json.Decoder(_LinkShell)
_any_decoder = msgspec.json.Decoder()
_link_plan = _plan(CheckoutLink)
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
    for name in info.shell_ones:
        _collect(getattr(shell, name), batches, seen)


def _has_bad(shell: Any) -> bool:
    """True if a variant of ``shell`` (at any depth) was not a JSON object."""
    info = _shell_info[type(shell)]
    return (
        any(_NOT_AN_OBJECT in getattr(shell, name) for name, _ in info.variant_lists)
        or any(getattr(shell, name) is _NOT_AN_OBJECT for name, _ in info.variant_ones)
        or any(_has_bad(item) for name in info.shell_lists for item in getattr(shell, name))
        or any(_has_bad(getattr(shell, name)) for name in info.shell_ones)
    )


def _resolve(variants: _Variants, batch: _Batch) -> bool:
    """Decode the raw variants of ``batch`` in a few calls and put them in place.
    Returns False if one of them was not even a JSON object."""
    raws = [raw for values in batch.lists for raw in values]
    raws += [getattr(shell, name) for shell, name in batch.ones]
    if not raws:
        return True
    joined = _join(raws)
    results: list[Any] | None = None
    try:
        results = variants.batch_decoder.decode(joined)
    except msgspec.ValidationError:
        # A kind not seen yet (learn it and retry), or a variant that does not fit.
        try:
            tags = variants.tags_decoder.decode(joined)
        except msgspec.ValidationError:
            tags = None
        if tags is not None and variants.learn([getattr(t, variants.tag_field) for t in tags]):
            with suppress(msgspec.ValidationError):
                results = variants.batch_decoder.decode(joined)
    one_by_one = results is None
    if results is None:
        results = [_one_variant(variants, raw) for raw in raws]
    unknown_at = [i for i, value in enumerate(results) if isinstance(value, _Unseen)]
    if unknown_at:
        wrapped = variants.unknowns_decoder.decode(
            variants.wrap_raws([raws[i] for i in unknown_at])
        )
        for i, value in zip(unknown_at, wrapped, strict=True):
            results[i] = value
        variants.learn_objects(value.data for value in wrapped)
    at = 0
    for values in batch.lists:
        count = len(values)
        values[:] = results[at : at + count]
        at += count
    for shell, name in batch.ones:
        setattr(shell, name, results[at])
        at += 1
    return not one_by_one or all(value is not _NOT_AN_OBJECT for value in results)


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
    # Every batch is resolved (no short cut): each puts its variants in place.
    fits = [_resolve(kind, batch) for kind, batch in batches.items()]
    bad = set() if all(fits) else {i for i, shell in enumerate(shells) if _has_bad(shell)}
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
_captured_state: list[Any] = [(), None, 0]  # versions, decoder, builds


def _captured_decoder() -> msgspec.json.Decoder[Any] | None:
    """A decoder of a whole page in which the kinds learned so far (with their keys)
    are captured, or ``None`` before any was learned (or after too many builds)."""
    versions = tuple(kind.version for kind in _variant_kinds.values())
    state = _captured_state
    if state[0] == versions:
        return state[1]  # type: ignore[no-any-return]
    with _captured_lock:
        if state[0] != versions and state[2] < _MAX_CAPTURED_BUILDS:
            link = _shell_of(CheckoutLink, captured=True)
            page = msgspec.defstruct(
                "_CapturedList", [("items", _list_of(link)), ("pagination", Pagination)]
            )
            state[:] = [versions, msgspec.json.Decoder(page), state[2] + 1]
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
    for name in info.shell_ones:
        _uncapture(getattr(shell, name), found)
    shell.__class__ = info.model


def _uncapture_all(links: list[Any]) -> None:
    """Make models of captured shells, with ``Unknown*`` for every captured object
    (its data as sent; ``to_builtins`` drops the keys it did not have)."""
    found: list[tuple[Any, Any, _Variants, Any]] = []
    for link in links:
        _uncapture(link, found)
    datas = msgspec.to_builtins([value for _, _, _, value in found])
    for (holder, key, kind, _), data in zip(found, datas, strict=True):
        if isinstance(key, str):
            setattr(holder, key, kind.unknown(data=data))
        else:
            holder[key] = kind.unknown(data=data)


def _one_tolerantly(raw: bytes) -> CheckoutLink | SkippedItem:
    """One link that does not fit the strict decoder: via its shell, else by a walk
    over the models' types; a ``SkippedItem`` when a required field does not fit."""
    try:
        links, _ = _from_shells([_link_shell_decoder.decode(raw)])
    except msgspec.ValidationError:
        links = [None]
    if links[0] is not None:
        return links[0]
    try:
        doc = _any_decoder.decode(raw)
        link: CheckoutLink = _link_plan(doc, "")
    except _Invalid as exc:
        return SkippedItem(raw=raw, reason=str(exc))
    return link


def _skipped(item: SkippedItem) -> SkippedItem:
    link_id = None
    try:
        doc = _any_decoder.decode(item.raw)
        link_id = doc.get("id") if isinstance(doc, dict) else None
    except msgspec.DecodeError:
        pass
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
            shell = _shell_list_decoder.decode(body)
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
