"""The ``polar-links`` command-line interface (``python -m polar_links``).

Its parts: ``_main`` (entry point), ``_parser`` (subcommands and options), ``_types``
(option value types), ``_commands`` (one handler per subcommand), ``_listing`` (the walk
behind ``list`` and ``demo``), ``_output`` (writers and progress bar), ``_runtime``
(event loop, signals, error lines, exit codes) and ``_redact`` (token redaction and the
``-v`` log).
"""

from ._main import main

__all__ = ["main"]
