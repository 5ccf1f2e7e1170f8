"""The ``polar-links`` command-line interface (``python -m polar_links``)."""

from ._app import main

__all__ = ["main"]
