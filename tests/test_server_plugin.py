"""The ``polar_server`` pytest fixture, exercised through pytester with sync (urllib) code."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

INNER_TESTS = """
import json
import urllib.error
import urllib.request

import pytest


def fetch(server, path="/v1/checkout-links/", token=None):
    request = urllib.request.Request(
        server.base_url + path,
        headers={"Authorization": f"Bearer {token or server.token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_default_server_has_250_links(polar_server):
    status, body = fetch(polar_server)
    assert status == 200
    assert body["pagination"] == {"total_count": 250, "max_page": 25}
    assert polar_server.token == "polar_oat_local_test_token"
    assert [r.path for r in polar_server.requests] == ["/v1/checkout-links/"]


@pytest.mark.polar_server(links=7, seed=3, token="polar_oat_marker")
def test_marker_configures_the_server(polar_server):
    status, body = fetch(polar_server, token="polar_oat_marker")
    assert body["pagination"]["total_count"] == 7
    assert len(polar_server.store) == 7


def test_knobs_set_from_the_test_thread_apply(polar_server):
    polar_server.faults.fail_next(1, 503)
    with pytest.raises(urllib.error.HTTPError) as caught:
        fetch(polar_server)
    assert caught.value.code == 503
    caught.value.close()
    added = polar_server.store.add(label="from the test thread")
    status, body = fetch(polar_server, "/v1/checkout-links/" + added["id"])
    assert body["label"] == "from the test thread"


def test_each_test_gets_a_fresh_server(polar_server):
    assert polar_server.requests == []
    assert polar_server.faults.pending == 0
"""


INNER_INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


@pytest.fixture(autouse=True)
def inner_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(INNER_INI)


def test_polar_server_fixture_serves_sync_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_polar_server_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*@pytest.mark.polar_server(*"])


def test_plugin_import_does_not_load_the_server() -> None:
    code = (
        "import sys, polar_links.testing.pytest_plugin as p; "
        "assert 'polar_links.testing._server' not in sys.modules; "
        "assert 'polar_links.testing._app' not in sys.modules; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr
