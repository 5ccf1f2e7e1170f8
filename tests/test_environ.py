"""POLAR_ACCESS_TOKEN, POLAR_BASE_URL and POLAR_ENVIRONMENT: an explicit argument wins,
then the environment variable, then the default; a bad value names the variable."""

from __future__ import annotations

import re

import pytest
from aioresponses import aioresponses

from polar_links import InvalidArgumentError, Polar, SyncPolar
from polar_links.testing import PolarTestServer

from . import factories as f
from .conftest import BASE, LIST_URL, TOKEN, sent

SANDBOX = "https://sandbox-api.polar.sh"
PRODUCTION = "https://api.polar.sh"
OTHER = "http://127.0.0.1:8123"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("POLAR_ACCESS_TOKEN", raising=False)
    return monkeypatch


# ------------------------------------------------------------------ POLAR_ACCESS_TOKEN


async def test_an_explicit_token_beats_polar_access_token(
    env: pytest.MonkeyPatch, api: aioresponses
) -> None:
    env.setenv("POLAR_ACCESS_TOKEN", "polar_oat_from_env")
    api.get(LIST_URL, payload=f.list_body([], total_count=0, max_page=0))
    async with Polar("polar_oat_explicit", base_url=BASE) as polar:
        await polar.checkout_links.list().first_page()
    [(_, call)] = sent(api)
    assert call["headers"]["Authorization"] == "Bearer polar_oat_explicit"


def test_polar_access_token_is_used_without_an_argument(
    polar_server: PolarTestServer, env: pytest.MonkeyPatch
) -> None:
    env.setenv("POLAR_ACCESS_TOKEN", polar_server.token)
    with SyncPolar(base_url=polar_server.base_url) as polar:
        assert polar.checkout_links.list(limit=1).first_page().total_count == 250


@pytest.mark.parametrize("value", [None, ""])
def test_no_token_anywhere_names_the_argument_and_the_variable(
    env: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is not None:
        env.setenv("POLAR_ACCESS_TOKEN", value)  # empty counts as unset
    for client in (Polar, SyncPolar):
        with pytest.raises(InvalidArgumentError) as raised:
            client()
        assert str(raised.value).startswith(
            "no access token: pass access_token=... or set POLAR_ACCESS_TOKEN"
        )


def test_a_token_with_whitespace_in_the_variable_names_the_variable(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("POLAR_ACCESS_TOKEN", "polar_oat_a b")
    with pytest.raises(InvalidArgumentError) as raised:
        Polar()
    assert str(raised.value).startswith(
        "POLAR_ACCESS_TOKEN must be a str without whitespace, control or non-ASCII characters"
    )
    assert "polar_oat_a b" not in str(raised.value)


# ------------------------------------------------- POLAR_BASE_URL and POLAR_ENVIRONMENT


def test_without_arguments_or_variables_the_default_is_production() -> None:
    assert Polar(TOKEN).base_url == PRODUCTION


def test_polar_base_url_is_used_without_an_argument(env: pytest.MonkeyPatch) -> None:
    env.setenv("POLAR_BASE_URL", OTHER)
    assert Polar(TOKEN).base_url == OTHER
    with SyncPolar(TOKEN) as polar:
        assert polar.base_url == OTHER


def test_an_explicit_base_url_beats_polar_base_url(env: pytest.MonkeyPatch) -> None:
    env.setenv("POLAR_BASE_URL", "http://127.0.0.1:1")
    assert Polar(TOKEN, base_url=OTHER).base_url == OTHER


def test_an_explicit_environment_beats_both_variables(env: pytest.MonkeyPatch) -> None:
    env.setenv("POLAR_BASE_URL", OTHER)
    env.setenv("POLAR_ENVIRONMENT", "production")
    assert Polar(TOKEN, environment="sandbox").base_url == SANDBOX
    assert Polar(TOKEN, environment="production").base_url == PRODUCTION


def test_polar_environment_is_used_without_an_argument(env: pytest.MonkeyPatch) -> None:
    env.setenv("POLAR_ENVIRONMENT", "sandbox")
    polar = Polar(TOKEN)
    assert polar.base_url == SANDBOX
    # Everything that follows the environment follows it: the sandbox's rate limit.
    assert polar._transport.throttle.limit is not None
    assert polar._transport.throttle.limit.requests == 100


def test_polar_base_url_beats_polar_environment(env: pytest.MonkeyPatch) -> None:
    env.setenv("POLAR_ENVIRONMENT", "sandbox")
    env.setenv("POLAR_BASE_URL", OTHER)
    assert Polar(TOKEN).base_url == OTHER


def test_empty_variables_count_as_unset(env: pytest.MonkeyPatch) -> None:
    env.setenv("POLAR_ENVIRONMENT", "")
    env.setenv("POLAR_BASE_URL", "")
    assert Polar(TOKEN).base_url == PRODUCTION


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "POLAR_ENVIRONMENT",
            "staging",
            "environment variable POLAR_ENVIRONMENT must be 'production' or 'sandbox' "
            "(or unset for production), got 'staging'",
        ),
        (
            "POLAR_BASE_URL",
            "api.polar.sh",
            "environment variable POLAR_BASE_URL must be an http:// or https:// URL, "
            "got 'api.polar.sh'",
        ),
        (
            "POLAR_BASE_URL",
            "http://api.example.com",
            "environment variable POLAR_BASE_URL 'http://api.example.com' is plain http to a "
            "non-loopback host",
        ),
    ],
)
def test_a_bad_value_names_the_variable_and_what_is_allowed(
    env: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    env.setenv(variable, value)
    for client in (Polar, SyncPolar):
        with pytest.raises(InvalidArgumentError, match="^" + re.escape(message)):
            client(TOKEN)


def test_a_bad_variable_is_ignored_when_an_argument_decides(env: pytest.MonkeyPatch) -> None:
    env.setenv("POLAR_ENVIRONMENT", "staging")
    env.setenv("POLAR_BASE_URL", "nonsense")
    assert Polar(TOKEN, base_url=OTHER).base_url == OTHER
    assert Polar(TOKEN, environment="sandbox").base_url == SANDBOX


def test_polar_base_url_points_an_unchanged_example_at_the_test_server(
    polar_server: PolarTestServer, env: pytest.MonkeyPatch
) -> None:
    env.setenv("POLAR_ACCESS_TOKEN", polar_server.token)
    env.setenv("POLAR_BASE_URL", polar_server.base_url)
    with SyncPolar() as polar:
        assert len(list(polar.checkout_links.list(limit=50))) == 250
    assert polar_server.requests[0].query == [("page", "1"), ("limit", "50")]


# ------------------------------------------------------------------------------ the CLI


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from polar_links.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_reads_polar_base_url(
    polar_server: PolarTestServer, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("POLAR_ACCESS_TOKEN", polar_server.token)
    env.setenv("POLAR_BASE_URL", polar_server.base_url)
    code, out, _ = _cli(capsys, "list", "--max-items", "3")
    assert code == 0
    assert len(out.splitlines()) == 3
    assert len(polar_server.requests) == 1


def test_cli_options_beat_the_variables(
    polar_server: PolarTestServer, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("POLAR_ACCESS_TOKEN", "polar_oat_not_this_one")
    env.setenv("POLAR_BASE_URL", "http://127.0.0.1:1")
    env.setenv("POLAR_ENVIRONMENT", "staging")  # not even looked at
    code, out, _ = _cli(
        capsys,
        "list",
        "--max-items",
        "2",
        "--base-url",
        polar_server.base_url,
        "--token",
        polar_server.token,
    )
    assert code == 0
    assert len(out.splitlines()) == 2


def test_a_bad_variable_is_a_cli_usage_error_naming_it(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("POLAR_ACCESS_TOKEN", TOKEN)
    env.setenv("POLAR_ENVIRONMENT", "prod")
    code, out, err = _cli(capsys, "list")
    assert (code, out) == (2, "")
    assert err == (
        "polar-links: error: environment variable POLAR_ENVIRONMENT must be 'production' or "
        "'sandbox' (or unset for production), got 'prod'\n"
    )
