"""Let aioresponses build its mocked responses on aiohttp 3.14 and later.

aiohttp 3.14 made ``stream_writer`` a required keyword argument of ``ClientResponse()``.
aioresponses (0.7.9, its newest release) builds every mocked response without it, so each
mocked request fails with ``TypeError: ClientResponse.__init__() missing 1 required
keyword-only argument: 'stream_writer'``. A mocked response was never sent over a
connection, so a writer that reports 0 bytes written is all the constructor needs.
docs/testing.md shows users the same few lines.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import aioresponses.core
from aiohttp import ClientResponse


class _MockedResponse(ClientResponse):
    """A ``ClientResponse`` that supplies the ``stream_writer`` aioresponses leaves out."""

    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


def install() -> bool:
    """Make aioresponses build its responses with :class:`_MockedResponse` when this
    aiohttp needs it; return whether it does (``False`` before aiohttp 3.14)."""
    if "stream_writer" not in inspect.signature(ClientResponse.__init__).parameters:
        return False
    aioresponses.core.ClientResponse = _MockedResponse  # type: ignore[misc]
    return True
