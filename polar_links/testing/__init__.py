"""A faithful local stand-in for the Polar checkout-links API, for tests and benchmarks.

>>> async with PolarTestServer(links=1_000, seed=7) as server:
...     server.faults.fail_next(2, 503)
...     async with Polar(server.token, base_url=server.base_url) as polar:
...         ...

The server never imports the SDK: it is an independent implementation of the API's
behaviour (see ``FACTS.md``), so the SDK can be tested against it. With pytest, the
``polar_server`` fixture (from the ``polar_links`` plugin) runs one in a thread.

Names load lazily, so importing the pytest plugin does not import the server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import DEFAULT_TOKEN, KNOWN_VERSIONS, RecordedRequest, create_app
    from ._budget import RequestBudget
    from ._data import CHECKOUT_URL_BASE, Catalogue, build_catalogue, generate_links
    from ._drift import drift_links
    from ._faults import Faults
    from ._server import PolarTestServer, serve_forever
    from ._store import NULL_ORDERING, LinkStore

__all__ = [
    "CHECKOUT_URL_BASE",
    "DEFAULT_TOKEN",
    "KNOWN_VERSIONS",
    "NULL_ORDERING",
    "Catalogue",
    "Faults",
    "LinkStore",
    "PolarTestServer",
    "RecordedRequest",
    "RequestBudget",
    "build_catalogue",
    "create_app",
    "drift_links",
    "generate_links",
    "serve_forever",
]

_HOMES = {
    "CHECKOUT_URL_BASE": "._data",
    "DEFAULT_TOKEN": "._app",
    "KNOWN_VERSIONS": "._app",
    "NULL_ORDERING": "._store",
    "Catalogue": "._data",
    "Faults": "._faults",
    "LinkStore": "._store",
    "PolarTestServer": "._server",
    "RecordedRequest": "._app",
    "RequestBudget": "._budget",
    "build_catalogue": "._data",
    "create_app": "._app",
    "drift_links": "._drift",
    "generate_links": "._data",
    "serve_forever": "._server",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the public names."""
    return sorted(__all__)
