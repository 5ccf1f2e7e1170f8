"""``list --output OUT [--checkpoint FILE]``: a listing into a file, that survives
Ctrl-C when it has a checkpoint file.

The checkpoint file is JSON: the walk's checkpoint string, the output's path and
format, and how many bytes of the output it covers. It is rewritten (atomically: a
temporary file renamed over it) after each page, once that page's rows are flushed and
synced to the output, so it never describes rows that are not on disk. Run the same
command again and the output is first cut back to those bytes (a partial last line
left by an interrupt goes, and so do whole rows written after the last checkpoint),
then the walk continues and appends. A CSV header is written only into an empty
output. When the listing completes, the checkpoint file is removed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ._runtime import UsageError

__all__ = ["ListOutput"]

_VERSION = 1


@dataclass
class ListOutput:
    """The ``--output`` file of a listing, and its ``--checkpoint`` file if any."""

    output: Path
    checkpoint_file: Path | None
    fmt: str
    resume: str | None = None
    stream: TextIO | None = None

    @classmethod
    def open(cls, output: str, checkpoint_file: str | None, fmt: str) -> ListOutput:
        """Open ``output`` for appending after what ``checkpoint_file`` covers (cut back
        to it), or afresh when there is no checkpoint file; raise ``UsageError`` if the
        checkpoint file belongs to another output or format, or the output is shorter."""
        state = cls(
            Path(output).resolve(), None if checkpoint_file is None else Path(checkpoint_file), fmt
        )
        covered = 0
        if state.checkpoint_file is not None and state.checkpoint_file.exists():
            saved = state._read()
            if saved.get("output") != str(state.output):
                raise UsageError(
                    f"{checkpoint_file} is the checkpoint of output {saved.get('output')}, "
                    f"not of {state.output}; give that --output, or delete {checkpoint_file} "
                    "to start over"
                )
            if saved.get("format") != fmt:
                raise UsageError(
                    f"{checkpoint_file} was written for --format {saved.get('format')}, not "
                    f"{fmt}; use the same format, or delete {checkpoint_file} to start over"
                )
            covered = int(saved["bytes"])
            size = state.output.stat().st_size if state.output.exists() else -1
            if size < covered:
                raise UsageError(
                    f"{output} holds {max(size, 0)} bytes but its checkpoint covers {covered}: "
                    f"the output was changed; delete {checkpoint_file} to start over"
                )
            with state.output.open("r+b") as raw:
                raw.truncate(covered)  # rows after the checkpoint, and any partial line
            state.resume = saved["checkpoint"]
            mode = "a"
        else:
            mode = "w"
        try:
            stream = state.output.open(mode, encoding="utf-8", newline="")
        except OSError as exc:
            raise UsageError(f"cannot write --output {output}: {exc.strerror}") from None
        state.stream = stream  # type: ignore[assignment]  # open() in text mode is a TextIO
        return state

    @property
    def header_written(self) -> bool:
        """True when the output already holds rows from an earlier run."""
        assert self.stream is not None
        return self.stream.tell() > 0

    def save(self, checkpoint: str | None) -> None:
        """Sync the output to disk, then record that it is covered up to its end."""
        assert self.stream is not None
        if self.checkpoint_file is None:
            return
        self.stream.flush()
        os.fsync(self.stream.fileno())
        state = {
            "version": _VERSION,
            "checkpoint": checkpoint,
            "output": str(self.output),
            "format": self.fmt,
            "bytes": os.fstat(self.stream.fileno()).st_size,
        }
        temporary = self.checkpoint_file.with_name(self.checkpoint_file.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump(state, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.checkpoint_file)

    def finish(self) -> None:
        """The listing is complete: close the output and remove the checkpoint file."""
        self.close()
        if self.checkpoint_file is not None:
            self.checkpoint_file.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the output (the checkpoint file stays, for the next run)."""
        if self.stream is not None:
            self.stream.close()

    def _read(self) -> dict[str, Any]:
        assert self.checkpoint_file is not None
        try:
            saved = json.loads(self.checkpoint_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"cannot read the checkpoint file {self.checkpoint_file} ({exc}); delete it "
                "to start over"
            ) from None
        if not isinstance(saved, dict) or saved.get("version") != _VERSION:
            raise UsageError(
                f"{self.checkpoint_file} is not a polar-links list checkpoint of version "
                f"{_VERSION}; delete it to start over"
            )
        return saved
