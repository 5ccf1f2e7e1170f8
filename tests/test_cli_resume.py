"""``polar-links list --output FILE --checkpoint FILE``: Ctrl-C, then the same command
again, continues: output appended, cut back to what the checkpoint covers, one CSV
header, the checkpoint file removed at the end. Real processes against the bundled
server (served from a thread of the test), over real sockets."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from polar_links.cli import main

pytestmark = pytest.mark.polar_server(links=250, seed=0)

ENV = {**os.environ, "POLAR_ACCESS_TOKEN": ""}


def command(server: Any, tmp_path: Path, fmt: str = "jsonl", *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "polar_links", "list",
        "--base-url", server.base_url, "--token", server.token,
        "--limit", "10", "--concurrency", "1", "--format", fmt,
        "--output", str(tmp_path / f"links.{fmt}"),
        "--checkpoint", str(tmp_path / "links.checkpoint"),
        *extra,
    ]  # fmt: skip


def interrupt_after(argv: list[str], output: Path, lines: int) -> int:
    """Start ``argv``, send SIGINT once ``output`` holds ``lines`` lines; return the exit
    code."""
    proc = subprocess.Popen(argv, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if output.exists() and output.read_bytes().count(b"\n") >= lines:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert err.decode().endswith("polar-links: interrupted\n")
    return proc.returncode


def ids_of_jsonl(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_ctrl_c_then_the_same_command_continues_the_jsonl_output(
    polar_server: Any, tmp_path: Path
) -> None:
    polar_server.faults.latency = 0.03
    argv = command(polar_server, tmp_path)
    output, checkpoint = tmp_path / "links.jsonl", tmp_path / "links.checkpoint"
    assert interrupt_after(argv, output, 35) == 130
    assert checkpoint.exists()
    saved = json.loads(checkpoint.read_text())
    assert 0 < saved["bytes"] <= output.stat().st_size
    assert polar_server.token not in checkpoint.read_text()
    # What an interrupt can leave behind: rows after the checkpoint and a partial line.
    with output.open("ab") as out:
        out.write(b'{"id": "cut-me"}\n{"id": "half a li')
    polar_server.faults.latency = 0
    done = subprocess.run(argv, env=ENV, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert ids_of_jsonl(output) == polar_server.store.expected_order()
    assert not checkpoint.exists()


def test_a_csv_output_resumed_has_one_header(polar_server: Any, tmp_path: Path) -> None:
    polar_server.faults.latency = 0.03
    argv = command(polar_server, tmp_path, "csv")
    output = tmp_path / "links.csv"
    assert interrupt_after(argv, output, 25) == 130
    polar_server.faults.latency = 0
    subprocess.run(argv, env=ENV, capture_output=True, timeout=60, check=True)
    with output.open(newline="") as text:
        rows = list(csv.reader(text))
    assert rows[0][0] == "id"
    assert [row[0] for row in rows[1:]] == polar_server.store.expected_order()


def test_interrupted_several_times_the_output_is_still_every_link_once(
    polar_server: Any, tmp_path: Path
) -> None:
    polar_server.faults.latency = 0.03
    argv = command(polar_server, tmp_path, "jsonl", "--sort", "-created_at")
    output = tmp_path / "links.jsonl"
    for lines in (20, 90, 160):
        assert interrupt_after(argv, output, lines) == 130
    polar_server.faults.latency = 0
    subprocess.run(argv, env=ENV, capture_output=True, timeout=60, check=True)
    assert ids_of_jsonl(output) == polar_server.store.expected_order(["-created_at"])


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_checkpoint_without_output_is_a_usage_error(
    polar_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "list", "--base-url", polar_server.base_url, "--token", polar_server.token,
        "--checkpoint", str(tmp_path / "cp"),
    )  # fmt: skip
    assert code == 2
    assert "argument --checkpoint: needs --output FILE" in err
    assert polar_server.requests == []


def first_30(server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """List 30 links into o.jsonl with checkpoint file cp; return the command's start."""
    base = ["list", "--base-url", server.base_url, "--token", server.token]
    base += ["--output", str(tmp_path / "o.jsonl"), "--checkpoint", str(tmp_path / "cp")]
    assert run(capsys, *base, "--max-items", "30", "--limit", "10")[0] == 0
    return base


def test_max_items_stops_a_run_and_the_next_run_continues(
    polar_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = first_30(polar_server, tmp_path, capsys)
    assert len(ids_of_jsonl(tmp_path / "o.jsonl")) == 30
    assert (tmp_path / "cp").exists()
    assert run(capsys, *base, "--limit", "10")[0] == 0
    assert ids_of_jsonl(tmp_path / "o.jsonl") == polar_server.store.expected_order()
    assert not (tmp_path / "cp").exists()


def test_a_checkpoint_of_other_filters_is_refused(
    polar_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = first_30(polar_server, tmp_path, capsys)
    polar_server.requests.clear()
    code, _, err = run(capsys, *base, "--limit", "20")
    assert code == 2
    assert "made with limit=10, this walk has limit=20" in err
    assert polar_server.requests == []
    code, _, err = run(capsys, *base, "--limit", "10", "--format", "csv")
    assert code == 2
    assert "was written for --format jsonl, not csv" in err


def test_an_output_shorter_than_its_checkpoint_is_refused(
    polar_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = first_30(polar_server, tmp_path, capsys)
    (tmp_path / "o.jsonl").write_text("")
    code, _, err = run(capsys, *base, "--limit", "10")
    assert code == 2
    assert "the output was changed" in err
