"""``python -m polar_links.testing``: the same as ``polar-links serve`` (run the test
server in the foreground until Ctrl-C), for environments without the console script."""

from __future__ import annotations

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
