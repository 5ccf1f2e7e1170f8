"""Run a command with stdout or stderr on a pseudo-terminal, as a person would see it."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import tempfile
import termios
from collections.abc import Mapping, Sequence
from typing import Literal


def run_on_terminal(
    argv: Sequence[str],
    *,
    terminal: Literal["stdout", "stderr"],
    columns: int = 80,
    lines: int = 24,
    env: Mapping[str, str] | None = None,
) -> tuple[int, str, str]:
    """Run ``argv`` with one stream (``terminal``) on a pseudo-terminal of ``columns`` x
    ``lines`` and the other in a file; return (exit code, stdout, stderr), the terminal's
    side with ``\\r\\n`` turned into ``\\n``."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    # A file, not a pipe, for the other stream: nobody reads it until the terminal is drained.
    with tempfile.TemporaryFile() as other:
        streams = {"stdout": other, "stderr": other, terminal: follower}
        proc = subprocess.Popen(argv, stdout=streams["stdout"], stderr=streams["stderr"], env=env)
        os.close(follower)
        shown = bytearray()
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed its end
                break
            if not chunk:
                break
            shown += chunk
        proc.wait(timeout=60)
        os.close(leader)
        other.seek(0)
        written = other.read().decode()
    seen = shown.decode(errors="replace").replace("\r\n", "\n")
    out, err = (seen, written) if terminal == "stdout" else (written, seen)
    return proc.returncode, out, err
