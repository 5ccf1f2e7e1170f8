"""The ``polar-links`` command as a person meets it: on a real terminal (a pseudo-terminal
of 80x24), piped into another program, and when it refuses an argument."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from polar_links.cli import main
from polar_links.testing import generate_links

from .terminal import run_on_terminal

pytestmark = [
    pytest.mark.polar_server(links=250, seed=0),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a Linux pty"),
]

ROOT = Path(__file__).resolve().parent.parent
PYTHON_M = [sys.executable, "-m", "polar_links"]
ENV = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
ENV["POLAR_ACCESS_TOKEN"] = ""
COLUMNS, LINES = 80, 24
#: Lines a table leaves free on a terminal: progress bar, header, rule, summary, the
#: demo's summary on stderr, and the next prompt.
TABLE_MARGIN = 6
ERROR_RE = re.compile(r"^polar-links: error: argument (--[a-z-]+|id): must be .+, got '.*'$")


def cells(line: str) -> int:
    """Terminal cells a line takes (East Asian wide characters count two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def on_terminal(*argv: str) -> tuple[int, str, str]:
    """Run ``python -m polar_links ARGV`` with stdout on an 80x24 pseudo-terminal and
    stderr in a file; return (exit code, what the terminal showed, stderr)."""
    return run_on_terminal(
        [*PYTHON_M, *argv], terminal="stdout", columns=COLUMNS, lines=LINES, env=ENV
    )


def piped(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m polar_links ARGV`` with stdout and stderr read through pipes."""
    return subprocess.run(
        [*PYTHON_M, *argv], capture_output=True, text=True, timeout=60, env=ENV, check=False
    )


def api(server: Any, *args: str) -> list[str]:
    """Command-line arguments for ``args`` against ``server``."""
    return [*args, "--base-url", server.base_url, "--token", server.token]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``main(argv)`` in this process; return (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_fits(shown: str, ids: list[str], rows: int) -> list[str]:
    """Assert the table in ``shown`` fits 80 columns and shows the first ``rows`` of
    ``ids`` one per line, in order; return its lines."""
    lines = shown.splitlines()
    assert all(cells(line) <= COLUMNS for line in lines), max(lines, key=cells)
    assert lines[0].split() == ["id", "label", "products", "created_at", "url"]
    assert set(lines[1]) <= {"-", " "}
    body = lines[2:-1]
    assert [line[:8] for line in body] == [i[:8] for i in ids[:rows]]
    return lines


# ---------------------------------------------------------------- a table that fits


def test_demo_on_an_80x24_terminal_prints_a_table_that_fits() -> None:
    complete = piped("demo", "--format", "jsonl")
    ids = [json.loads(line)["id"] for line in complete.stdout.splitlines()]
    code, shown, err = on_terminal("demo")
    assert code == 0
    lines = assert_fits(shown, ids, LINES - TABLE_MARGIN)
    assert lines[-1] == "first 18 of 1000 checkout links; --rows N for more, a pipe for all data"
    assert re.fullmatch(r"demo: streamed 1000 links in 10 pages in \S+s \(\d+ links/s\)\n", err)
    assert cells(err.rstrip("\n")) <= COLUMNS


def test_demo_piped_writes_complete_jsonl() -> None:
    result = piped("demo")
    assert result.returncode == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 1000
    assert len({r["id"] for r in records}) == 1000
    assert all(len(r["id"]) == 36 and r["url"].startswith("https://") for r in records)


def _awkward_links() -> list[dict[str, Any]]:
    """Thirty links; labels with a newline and an escape sequence, wide characters, and
    a very long label."""
    links = copy.deepcopy(generate_links(30, seed=3))
    links[0]["label"] = "two\nlines \x1b[31mred"
    links[1]["label"] = "価格表" * 20
    links[2]["label"] = "x" * 300
    return links


AWKWARD = _awkward_links()


@pytest.mark.polar_server(data=AWKWARD)
def test_list_on_an_80x24_terminal_keeps_every_row_on_one_line(polar_server: Any) -> None:
    ids = polar_server.store.expected_order()
    code, shown, err = on_terminal(*api(polar_server, "list"))
    assert (code, err) == (0, "")
    lines = assert_fits(shown, ids, LINES - TABLE_MARGIN)
    assert "\x1b" not in shown
    assert lines[-1].startswith("first 18 of 30 checkout links;")
    result = piped(*api(polar_server, "list"))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in records] == ids  # piped: complete JSONL
    assert {r["label"] for r in records} >= {link["label"] for link in AWKWARD[:3]}


@pytest.mark.polar_server(links=30)
def test_table_columns_and_rows_are_a_choice(polar_server: Any) -> None:
    ids = polar_server.store.expected_order()
    code, shown, _ = on_terminal(*api(polar_server, "list", "--columns", "id,seats", "--rows", "3"))
    assert code == 0
    lines = shown.splitlines()
    assert lines[0].split() == ["id", "seats"]
    assert [line[:8] for line in lines[2:-1]] == [i[:8] for i in ids[:3]]
    code, shown, _ = on_terminal(*api(polar_server, "list", "--rows", "0"))
    assert len(shown.splitlines()) == 2 + 30 + 1
    assert shown.splitlines()[-1] == "30 checkout links"


# ---------------------------------------------------------------- one format rule


@pytest.mark.polar_server(links=30)
def test_every_command_prints_a_table_on_a_terminal_and_jsonl_into_a_pipe(
    polar_server: Any,
) -> None:
    link_id = polar_server.store.expected_order()[0]
    for argv in (api(polar_server, "list"), api(polar_server, "get", link_id), ["demo"]):
        code, shown, _ = on_terminal(*argv)
        assert code == 0
        first = shown.splitlines()[0]
        assert first.startswith("id "), (argv, first)  # a table: the list's or the link's
        result = piped(*argv)
        assert result.returncode == 0
        assert all(json.loads(line)["id"] for line in result.stdout.splitlines()), argv
    code, shown, _ = on_terminal(*api(polar_server, "get", link_id))
    assert re.search(rf"^id +{link_id}$", shown, re.MULTILINE)  # one link: complete values


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["list", "--concurrency", "0"],
            "argument --concurrency: must be an integer from 1 to 64, got '0'",
        ),
        (
            ["list", "--concurrency", "65"],
            "argument --concurrency: must be an integer from 1 to 64, got '65'",
        ),
        (
            ["list", "--sort", "name"],
            "argument --sort: must be one of created_at, label, success_url, "
            "allow_discount_codes, each optionally prefixed with '-' (descending), got 'name'",
        ),
        (["list", "--sort", "-name"], "argument --sort: must be one of created_at, label, "),
        (["list", "--max-items", "0"], "argument --max-items: must be an integer >= 1, got '0'"),
        (
            ["list", "--format", "yaml"],
            "argument --format: must be one of table, jsonl, csv, got 'yaml'",
        ),
        (
            ["list", "--max-retries", "11"],
            "argument --max-retries: must be an integer from 0 to 10, got '11'",
        ),
        (["list", "--limit", "x"], "argument --limit: must be an integer from 1 to 100, got 'x'"),
        (
            ["list", "--columns", "id,colour"],
            "argument --columns: must be a comma-separated list of id, ",
        ),
        (
            ["get", "--format", "yaml", "00000000-0000-4000-8000-000000000000"],
            "argument --format: must be one of table, json, jsonl, got 'yaml'",
        ),
        (
            ["update", "00000000-0000-4000-8000-000000000000", "--clear", "url"],
            "argument --clear: must be one of label, discount_id, ",
        ),
        (
            ["create", "--product", "00000000-0000-4000-8000-000000000000", "--metadata", "k"],
            "argument --metadata: must be KEY=VALUE",
        ),
        (
            [
                "create",
                "--product",
                "00000000-0000-4000-8000-000000000000",
                "--success-url",
                "ftp://x",
            ],
            "argument --success-url: must be an absolute http:// or https:// URL",
        ),
        (
            [
                "create",
                "--product",
                "00000000-0000-4000-8000-000000000000",
                "--trial-interval",
                "fortnight",
            ],
            "argument --trial-interval: must be one of day, week, month, year, got 'fortnight'",
        ),
        (
            ["create", "--product", "00000000-0000-4000-8000-000000000000", "--units", "0"],
            "argument --units: must be an integer >= 1, got '0'",
        ),
        (["demo", "--seed", "x"], "argument --seed: must be an integer, got 'x'"),
        (
            ["demo", "--latency-ms", "soon"],
            "argument --latency-ms: must be a number >= 0, got 'soon'",
        ),
    ],
)
def test_every_bad_option_is_named_with_what_it_allows_in_one_style(
    polar_server: Any, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    argv = argv if argv[0] == "demo" else api(polar_server, *argv)
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"usage: polar-links {argv[0]} ")
    last = err.splitlines()[-1]
    assert last.startswith(f"polar-links: error: {message}")
    assert ERROR_RE.match(last), last
    assert "sorting[0]" not in err
    assert polar_server.requests == []


def test_help_states_the_limits_of_concurrency_and_retries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "list", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "--concurrency N page requests in flight, 1..64 (default 8)" in flat
    assert "--max-retries N retries after a failed attempt, 0..10" in flat
    assert "--max-items N stop after N links, N >= 1" in flat


def test_max_items_0_is_refused_not_silently_empty(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo", "--links", "5", "--max-items", "0")
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        "polar-links: error: argument --max-items: must be an integer >= 1, got '0'"
    )


def test_clear_and_set_the_same_field_names_both_options(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    link_id = polar_server.store.expected_order()[0]
    argv = api(polar_server, "update", link_id, "--label", "x", "--clear", "label")
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.splitlines()[-1] == (
        "polar-links: error: argument --clear: cannot clear label and give --label too"
    )


def test_a_value_only_the_sdk_refuses_is_named_by_its_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["list", "--base-url", "http://example.com", "--token", "polar_oat_0123456789"]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.splitlines()[-1].startswith(
        "polar-links: error: argument --base-url: 'http://example.com' is plain http"
    )


def test_an_abbreviated_option_gets_the_commands_usage_and_the_full_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "list", "--lim", "5")
    assert (code, out) == (2, "")
    assert err.startswith("usage: polar-links list ")
    assert "usage: polar-links [-h]" not in err
    assert err.splitlines()[-1] == (
        "polar-links: error: argument --lim: options cannot be abbreviated; did you mean --limit?"
    )


def _closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(("retries", "attempts"), [("2", "3 attempts"), ("0", "1 attempt")])
def test_a_connection_failure_says_how_many_attempts_were_made(
    capsys: pytest.CaptureFixture[str], retries: str, attempts: str
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    argv = ["list", "--base-url", url, "--token", "polar_oat_0123456789", "--max-retries", retries]
    code, _, err = run(capsys, *argv)
    assert code == 1
    assert err.startswith(
        f"polar-links: error: connection failed on GET {url}/v1/checkout-links/"
        f"?page=1&limit=100 after {attempts}: "
    )


# ---------------------------------------------------------------- smaller points


@pytest.mark.parametrize(("links", "pages"), [("5", "1 page"), ("150", "2 pages")])
def test_demo_summary_counts_pages_in_english(
    capsys: pytest.CaptureFixture[str], links: str, pages: str
) -> None:
    code, _, err = run(capsys, "demo", "--links", links, "--format", "jsonl")
    assert code == 0
    assert err.startswith(f"demo: streamed {links} links in {pages} in ")


def test_csv_and_jsonl_write_the_same_timestamps(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _, jsonl, _ = run(capsys, *api(polar_server, "list", "--format", "jsonl"))
    _, table, _ = run(capsys, *api(polar_server, "list", "--format", "csv"))
    from_json = [json.loads(line)["created_at"] for line in jsonl.splitlines()]
    from_csv = [row["created_at"] for row in csv.DictReader(io.StringIO(table))]
    assert from_csv == from_json
    assert all(t.endswith("Z") for t in from_csv)


def test_verbose_lines_name_the_logger_once(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *api(polar_server, "list", "-v", "--max-items", "1"))
    assert code == 0
    # The fixture's server runs in this process: its records come through as ``testing``.
    client = [
        line for line in err.splitlines() if not line.startswith("polar-links: debug: testing: ")
    ]
    assert client
    assert all(re.match(r"polar-links: debug: GET /v1/checkout-links/\?", line) for line in client)
    assert "polar_links" not in err


def _exit_codes(help_text: str) -> list[int]:
    """The codes listed under ``exit codes:`` in a ``--help`` text."""
    section = help_text.split("exit codes:\n", 1)[1]
    return [int(line.split()[0]) for line in section.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("command", "codes"),
    [("serve", [0, 1, 2]), ("demo", [0, 1, 2, 130]), ("get", [0, 1, 2, 3, 4, 130])],
)
def test_help_lists_only_the_exit_codes_that_apply(
    capsys: pytest.CaptureFixture[str], command: str, codes: list[int]
) -> None:
    code, out, _ = run(capsys, command, "--help")
    assert code == 0
    assert _exit_codes(out) == codes


def test_the_benchmarks_write_tracked_files_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    from benchmarks import backend, budget
    from benchmarks import run as bench

    files = []
    for module, doc_name in ((bench, "PERF_DOC"), (budget, "DOC"), (backend, "DOC")):
        results, doc = tmp_path / f"{module.__name__}.md", tmp_path / f"{module.__name__}.doc"
        results.write_text("old results\n")
        doc.write_text(f"before\n{module.START}\nold\n{module.END}\nafter\n")
        monkeypatch.setattr(module, "RESULTS", results)
        monkeypatch.setattr(module, doc_name, doc)
        # The measurements are not what this test is about: the files are.
        monkeypatch.setattr(module, "measure", lambda *args: [])
        monkeypatch.setattr(module, "targets", lambda runs: [])
        monkeypatch.setattr(module, "report", lambda *args: "new results\n")
        files.append((module, results, doc))
    monkeypatch.setattr(bench, "measure_sync", lambda *args: [])
    monkeypatch.setattr(bench, "sync_targets", lambda runs: [])
    monkeypatch.setattr(bench, "measure_decode", dict)
    monkeypatch.setattr(bench, "measure_drift_walk", lambda *args: None)
    monkeypatch.setattr(bench, "decoding_targets", lambda *args: [])
    monkeypatch.setattr(bench, "measure_generation", float)

    monkeypatch.setattr(sys, "argv", ["run.py"])
    assert bench.main() == 0
    for _, results, doc in files:
        assert results.read_text() == "old results\n"
        assert "\nold\n" in doc.read_text()
    monkeypatch.setattr(sys, "argv", ["run.py", "--write"])
    assert bench.main() == 0
    for module, results, doc in files:
        assert results.read_text() == "new results\n"
        assert doc.read_text() == f"before\n{module.START}\nnew results\n{module.END}\nafter\n"


@pytest.mark.parametrize("page", ["README.md", "docs/index.md", "docs/cli.md"])
def test_the_quickstart_installs_from_a_clone(page: str) -> None:
    text = (ROOT / page).read_text()
    first_install = next(line for line in text.splitlines() if "pip install" in line)
    assert "pip install '.[cli]'" in first_install, first_install
