"""The one table of checkout-link fields (``LINK_FIELDS``) and everything derived from
it: the explicit signatures of ``create``/``update`` must agree with it, and the request
bodies and CLI options follow it."""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
import pytest
from msgspec import UNSET, UnsetType

import polar_links._checkout_links as checkout_links_module
from polar_links._checkout_links import CheckoutLinks
from polar_links._link_fields import LINK_FIELDS, LinkField
from polar_links._requests import CheckoutLinkCreate, CheckoutLinkUpdate
from polar_links.cli._parser import build_parser
from polar_links.cli._redact import Secrets

FIELD_NAMES = {f.name for f in LINK_FIELDS}
#: Parameters of create/update that are not link fields: those every call takes (as
#: ``get`` does: the id and the per-call options), and create's payment processor.
NOT_FIELDS = set(inspect.signature(CheckoutLinks.get).parameters) | {"payment_processor"}


def _annotation(parameter: inspect.Parameter) -> Any:
    """The parameter's annotation, evaluated in the module that defines it."""
    return eval(parameter.annotation, vars(checkout_links_module))


def _disagreements(method: Any, fields: list[LinkField], *, update: bool) -> list[str]:
    """What differs between ``method``'s signature and the table's ``fields``."""
    parameters = inspect.signature(method).parameters
    problems = [
        f"{name} is a parameter but not in LINK_FIELDS"
        for name in parameters
        if name not in FIELD_NAMES and name not in NOT_FIELDS
    ]
    for field in fields:
        parameter = parameters.get(field.name)
        if parameter is None:
            problems.append(f"{field.name} is in LINK_FIELDS but not a parameter")
            continue
        if update:
            nullable = field.nullable
            expected = (
                field.value.accepts | UnsetType | None
                if nullable
                else field.value.accepts | UnsetType
            )
            default: Any = UNSET
        else:
            expected, default = field.value.accepts | None, None
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            problems.append(f"{field.name} is not keyword-only")
        if parameter.default is not default:
            problems.append(f"{field.name} defaults to {parameter.default!r}, not {default!r}")
        if _annotation(parameter) != expected:
            problems.append(f"{field.name} is {parameter.annotation}, the table says {expected}")
    return problems


def test_create_signature_agrees_with_the_table() -> None:
    assert _disagreements(CheckoutLinks.create, list(LINK_FIELDS), update=False) == []


def test_update_signature_agrees_with_the_table() -> None:
    updatable = [f for f in LINK_FIELDS if f.updatable]
    assert _disagreements(CheckoutLinks.update, updatable, update=True) == []


def test_the_check_finds_a_signature_that_drifted_from_the_table() -> None:
    async def create(
        self: Any,
        *,
        label: str | None = None,  # the table says nothing else
        seats: str | None = None,  # the table says int
        colour: str | None = None,  # not in the table
    ) -> None:
        """A create whose signature disagrees with the table three ways."""

    fields = [f for f in LINK_FIELDS if f.name in ("label", "seats", "units")]
    problems = _disagreements(create, fields, update=False)
    assert "colour is a parameter but not in LINK_FIELDS" in problems
    assert "units is in LINK_FIELDS but not a parameter" in problems
    assert any(p.startswith("seats is str | None, the table says") for p in problems)
    assert not any(p.startswith("label") for p in problems)


def test_request_bodies_have_the_table_fields_in_order() -> None:
    create = [f.name for f in msgspec.structs.fields(CheckoutLinkCreate)]
    update = [f.name for f in msgspec.structs.fields(CheckoutLinkUpdate)]
    assert create == ["payment_processor", *(f.name for f in LINK_FIELDS)]
    assert update == [f.name for f in LINK_FIELDS if f.updatable]


@pytest.mark.parametrize("field", [f for f in LINK_FIELDS if f.updatable], ids=lambda f: f.name)
def test_update_body_takes_null_exactly_for_fields_cleared_with_null(field: LinkField) -> None:
    if field.nullable:
        body = msgspec.json.encode(CheckoutLinkUpdate(**{field.name: None}))
        assert body == b'{"%s":null}' % field.name.encode()
    else:
        with pytest.raises(msgspec.ValidationError):
            msgspec.json.decode(b'{"%s":null}' % field.name.encode(), type=CheckoutLinkUpdate)


def _options(command: str) -> dict[str, Any]:
    """The options of a ``polar-links`` subcommand, by flag."""
    parser = build_parser(Secrets([]))
    subparsers = next(a for a in parser._actions if a.dest == "command")
    sub = subparsers.choices[command]  # type: ignore[index]
    return {flag: action for action in sub._actions for flag in action.option_strings}


def test_cli_options_come_from_the_table() -> None:
    create, update = _options("create"), _options("update")
    for field in LINK_FIELDS:
        assert create[field.flag].dest == field.name
        assert field.help in create[field.flag].help
        assert (field.flag in update) == field.updatable
    clearable = [f.name for f in LINK_FIELDS if f.cleared]
    assert list(update["--clear"].choices) == clearable
