"""pytest plugin (entry point ``polar_links``): the ``polar_server`` fixture.

The fixture is synchronous: it runs a :class:`~polar_links.testing.PolarTestServer` in a
background thread with its own event loop, so sync tests, pytest-asyncio tests and anyio
tests can all use it. Configure it per test with the marker::

    @pytest.mark.polar_server(links=1_000, seed=3, token="polar_oat_other")
    def test_something(polar_server):
        ...

The marker accepts the keyword arguments of ``PolarTestServer`` (``links``, ``seed``,
``token``, ``read_only_token``, ``organizations``, ``data``, ``stable_ties``,
``created_at_ties``). By default the server orders sort ties like the real one
(differently for each page offset and limit); ``stable_ties=True`` breaks them by id.
Importing this module is cheap: the server (and aiohttp) load only when the fixture is
used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._server import PolarTestServer

#: Links the fixture's server holds unless the marker says otherwise.
DEFAULT_LINKS = 250


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``polar_server`` marker."""
    config.addinivalue_line(
        "markers",
        "polar_server(links=250, seed=0, token=..., read_only_token=None, organizations=3, "
        "data=None, stable_ties=False, created_at_ties=0.0): configure the polar_server "
        "fixture's test server",
    )


@pytest.fixture
def polar_server(request: pytest.FixtureRequest) -> Iterator[PolarTestServer]:
    """Yield a running test server (``.base_url``, ``.token``, ``.faults``, ``.requests``,
    ``.store``), served from a background thread and stopped after the test."""
    from ._server import PolarTestServer

    marker = request.node.get_closest_marker("polar_server")
    options = dict(marker.kwargs) if marker is not None else {}
    options.setdefault("links", DEFAULT_LINKS)
    server = PolarTestServer(**options)
    with server.run_in_thread():
        yield server
