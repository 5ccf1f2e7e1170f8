"""``python -m polar_links``: run the ``polar-links`` command-line interface."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
