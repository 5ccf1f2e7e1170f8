"""The ``polar-links`` command line, run in-process with ``main([...])`` against the
bundled test server, and as ``python -m polar_links`` where a real process matters
(broken pipe, exit codes, ``serve``)."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from typing import Any

import pytest

from polar_links.cli import main
from polar_links.cli._output import CSV_COLUMNS
from polar_links.cli._parser import build_parser
from polar_links.cli._redact import Secrets
from polar_links.cli._types import metadata_value
from polar_links.testing import DEFAULT_TOKEN, generate_links

from .terminal import run_on_terminal

pytestmark = pytest.mark.polar_server(links=250, seed=0)

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def _drifted_links() -> list[dict[str, Any]]:
    """Three seeded links; the first sells a product with a price kind no SDK knows yet."""
    links = copy.deepcopy(generate_links(3, seed=5))
    links[0]["products"][0]["prices"][0]["amount_type"] = "brand_new_kind"
    links[0]["products"][0]["prices"][0]["brand_new_field"] = [1, 2]
    return links


DRIFTED = _drifted_links()
ORG_A = "11111111-1111-4111-8111-111111111111"
ORG_B = "22222222-2222-4222-8222-222222222222"
SUMMARY_RE = re.compile(
    r"^demo: streamed (\d+) links? in (\d+) pages? in \d+\.\d\ds \(\d+ links/s\)$"
)
ENV = {**os.environ, "POLAR_ACCESS_TOKEN": ""}
PYTHON_M = [sys.executable, "-m", "polar_links"]


def api(server: Any, *args: str, token: str | None = None) -> list[str]:
    """Command-line arguments for ``args`` against ``server``."""
    return [*args, "--base-url", server.base_url, "--token", token or server.token]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``main(argv)`` and return (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def expected_ids(server: Any) -> list[str]:
    """The ids the server lists by default (created_at ascending), from its store."""
    ids: list[str] = server.store.expected_order()
    return ids


def list_queries(server: Any) -> list[list[tuple[str, str]]]:
    """The query pairs of every list request the server received, in order."""
    return [
        list(r.query) for r in server.requests if r.method == "GET" and r.path.endswith("links/")
    ]


def cli(*argv: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``python -m polar_links argv`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "polar_links", *argv],
        capture_output=True,
        text=True,
        timeout=30,
        env=ENV,
        check=False,
        **kwargs,
    )


# ---------------------------------------------------------------- list


def test_list_jsonl_streams_every_link_in_server_order(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *api(polar_server, "list"))
    assert code == 0
    assert err == ""
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in records] == expected_ids(polar_server)
    assert {"id", "url", "created_at", "products", "organization_id"} <= records[0].keys()
    # 250 links at 100 per page: three page requests.
    assert [dict(q)["page"] for q in list_queries(polar_server)] == ["1", "2", "3"]


def test_list_csv_has_header_and_one_row_per_link(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, *api(polar_server, "list", "--format", "csv", "--limit", "40"))
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 1 + 250
    by_column = [dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]]
    assert [r["id"] for r in by_column] == expected_ids(polar_server)
    first = by_column[0]
    assert first["allow_discount_codes"] in ("true", "false")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d", first["created_at"])
    assert len(first["product_ids"].split("|")) == len(first["products"].split("|"))


def test_list_table_shows_labels(
    polar_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    code, out, _ = run(capsys, *api(polar_server, "list", "--format", "table", "--max-items", "5"))
    assert code == 0
    first_five = [polar_server.store.get(i) for i in expected_ids(polar_server)[:5]]
    labels = [link["label"] for link in first_five if link["label"]]
    assert labels
    assert all(label in out for label in labels)
    assert "5 checkout links" in out


def test_repeated_org_and_sort_reach_the_server_in_order(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(
        capsys,
        *api(
            polar_server,
            "list",
            "--org",
            ORG_B,
            "--org",
            ORG_A,
            "--sort",
            "-label",
            "--sort=created_at",
        ),
    )
    assert code == 0
    query = list_queries(polar_server)[0]
    assert [v for k, v in query if k == "organization_id"] == [ORG_B, ORG_A]
    assert [v for k, v in query if k == "sorting"] == ["-label", "created_at"]


def test_max_items_stops_early(polar_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *api(polar_server, "list", "--max-items", "7", "--limit", "5"))
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == expected_ids(polar_server)[:7]
    assert len(list_queries(polar_server)) == 2


def test_max_items_counts_links_written_when_the_list_shifts_under_the_walk(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    newest_first = polar_server.store.expected_order(["-created_at"])
    polar_server.faults.create_on_page(1, 7)  # page 2 repeats 7 links of page 1
    args = ("list", "--sort", "-created_at", "--limit", "50", "--max-items", "150")
    code, out, _ = run(capsys, *api(polar_server, *args, "--concurrency", "1"))
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == newest_first[:150]


@pytest.mark.polar_server(data=DRIFTED)
@pytest.mark.parametrize("command", [("list",), ("get", DRIFTED[0]["id"])])
def test_json_output_keeps_a_price_of_an_unknown_kind_as_the_server_sent_it(
    polar_server: Any, capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    code, out, _ = run(capsys, *api(polar_server, *command))
    assert code == 0
    first = json.loads(out) if command[0] == "get" else json.loads(out.splitlines()[0])
    assert first["id"] == DRIFTED[0]["id"]
    assert first["products"][0]["prices"][0] == DRIFTED[0]["products"][0]["prices"][0]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a Linux pty")
def test_the_progress_bar_shows_by_itself_when_stderr_is_a_terminal() -> None:
    argv = [*PYTHON_M, "demo", "--links", "300", "--format", "csv"]
    code, out, terminal = run_on_terminal(argv, terminal="stderr")
    assert code == 0
    assert len(out.splitlines()) == 301  # header + links: the data is untouched
    assert "300/300" in terminal  # the bar's count/total (the summary line has no such pair)


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *api(polar_server, "list", "--format", "csv"))
    assert code == 0
    assert err == ""


def test_forced_progress_goes_to_stderr_only(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *api(polar_server, "list", "--progress"))
    assert code == 0
    assert len(out.splitlines()) == 250
    assert "250/250" in err


# ---------------------------------------------------------------- get, create, update, delete


def test_get_prints_the_link(polar_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    link_id = expected_ids(polar_server)[3]
    code, out, _ = run(capsys, *api(polar_server, "get", link_id))
    assert code == 0
    assert out.count("\n") == 1  # not a terminal: JSONL
    assert json.loads(out)["id"] == link_id
    code, out, _ = run(capsys, *api(polar_server, "get", link_id, "--format", "json"))
    assert code == 0
    assert out.count("\n") > 5  # indented
    assert json.loads(out)["id"] == link_id
    code, out, _ = run(capsys, *api(polar_server, "get", link_id, "--format", "table"))
    assert code == 0
    assert re.search(rf"^id +{link_id}$", out, re.MULTILINE)
    assert len(out.splitlines()) == len(CSV_COLUMNS)


def test_create_update_delete_round_trip(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    product_id = next(iter(polar_server.store.catalogue.products))
    code, out, err = run(
        capsys,
        *api(
            polar_server,
            "create",
            "--product",
            product_id,
            "--label",
            "CLI made",
            "--success-url",
            "https://example.com/ok?c={CHECKOUT_ID}",
            "--no-allow-discount-codes",
            "--metadata",
            "wave=2",
            "--metadata",
            "ratio=0.5",
            "--metadata",
            "beta=true",
            "--metadata",
            "zip=007",
        ),
    )
    assert (code, err) == (0, "")
    created = json.loads(out)
    assert created["label"] == "CLI made"
    assert created["allow_discount_codes"] is False
    assert created["metadata"] == {"wave": 2, "ratio": 0.5, "beta": True, "zip": "007"}
    assert [p["id"] for p in created["products"]] == [product_id]

    code, out, _ = run(
        capsys, *api(polar_server, "update", created["id"], "--clear", "label", "--seats", "3")
    )
    assert code == 0
    updated = json.loads(out)
    assert updated["label"] is None
    assert updated["seats"] == 3
    assert updated["success_url"] == created["success_url"]  # untouched

    code, out, err = run(capsys, *api(polar_server, "delete", created["id"]))
    assert (code, out) == (0, "")
    assert err == f"deleted checkout link {created['id']}\n"
    code, _, _ = run(capsys, *api(polar_server, "get", created["id"]))
    assert code == 4


def test_update_sends_only_given_fields(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    link_id = expected_ids(polar_server)[0]
    code, _, _ = run(
        capsys, *api(polar_server, "update", link_id, "--label", "x", "--clear", "success_url")
    )
    assert code == 0
    patch = [r for r in polar_server.requests if r.method == "PATCH"][-1]
    assert json.loads(patch.body) == {"label": "x", "success_url": None}


def test_update_without_fields_is_a_usage_error(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *api(polar_server, "update", expected_ids(polar_server)[0]))
    assert code == 2
    assert err.startswith("polar-links: error: nothing to update")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42),
        ("-3", -3),
        ("1.5", 1.5),
        ("2e3", 2000.0),
        ("true", True),
        ("false", False),
        ("007", "007"),
        ("True", "True"),
        ("nan", "nan"),
        ("a=b", "a=b"),
    ],
)
def test_metadata_values_are_typed_like_json(text: str, value: object) -> None:
    parsed = metadata_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


# ---------------------------------------------------------------- errors and exit codes


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["list", "--limit", "0"], "argument --limit: must be an integer from 1 to 100"),
        (["list", "--timeout", "0"], "argument --timeout: must be a positive number of seconds"),
        (["list", "--timeout", "soon"], "argument --timeout: must be a positive number of sec"),
        (["demo", "--latency-ms", "-1"], "argument --latency-ms: must be a number >= 0, got '-1'"),
        (["demo", "--latency-ms", "nan"], "argument --latency-ms: must be a number >= 0"),
        (["list", "--org", "not-a-uuid"], "argument --org: must be a UUID like '1dbfc517-"),
        (["get", "123"], "argument id: must be a UUID like '1dbfc517-0bbf-4301-9ba8-555ca42b9737'"),
        (["update", UNKNOWN_ID, "--discount-id", "x/../y"], "argument --discount-id: must be a"),
        (["create", "--product", UNKNOWN_ID, "--seats", "0"], "argument --seats: must be an int"),
    ],
)
def test_bad_arguments_exit_2(
    polar_server: Any, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *api(polar_server, *argv))
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err
    assert polar_server.requests == []  # rejected before any request


def test_missing_token_exits_2(
    polar_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLAR_ACCESS_TOKEN", raising=False)
    code, _, err = run(capsys, "list", "--base-url", polar_server.base_url)
    assert code == 2
    assert err == "polar-links: error: no access token: pass --token or set POLAR_ACCESS_TOKEN\n"


def test_token_from_environment(
    polar_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLAR_ACCESS_TOKEN", polar_server.token)
    code, out, _ = run(capsys, "list", "--base-url", polar_server.base_url, "--max-items", "2")
    assert code == 0
    assert len(out.splitlines()) == 2


def test_wrong_token_exits_3_without_showing_it(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "polar_oat_WRONG_secret_value_123"
    code, out, err = run(capsys, *api(polar_server, "list", "-v", token=secret))
    assert code == 3
    assert out == ""
    assert err.splitlines()[-1].startswith("polar-links: error: 401")
    assert secret not in err


@pytest.mark.polar_server(links=20, read_only_token="polar_oat_read_only_secret")
def test_token_without_write_scope_exits_3(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    link_id = expected_ids(polar_server)[0]
    argv = api(polar_server, "update", link_id, "--label", "x", token="polar_oat_read_only_secret")
    code, out, err = run(capsys, *argv)
    assert code == 3
    assert out == ""
    assert err.startswith("polar-links: error: 403")
    assert "polar_oat_read_only_secret" not in err


def test_unknown_id_exits_4(polar_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *api(polar_server, "get", UNKNOWN_ID))
    assert code == 4
    assert out == ""
    assert err.startswith("polar-links: error: 404")
    assert err.count("\n") == 1


def test_server_failure_beyond_retries_exits_1(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    polar_server.faults.fail_next(3, 503)
    code, out, err = run(capsys, *api(polar_server, "list", "--max-retries", "0"))
    assert code == 1
    assert out == ""
    assert err.startswith("polar-links: error: 503")


def test_token_never_in_verbose_logs_or_errors(
    polar_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    token = polar_server.token
    polar_server.faults.fail_next(1, 503)
    code, out, err = run(capsys, *api(polar_server, "list", "-v", "--max-items", "150"))
    assert code == 0
    assert "polar-links: debug:" in err  # the requests were logged
    code, out2, err2 = run(capsys, *api(polar_server, "get", UNKNOWN_ID, "-v"))
    assert code == 4
    for text in (out, err, out2, err2):
        assert token not in text


# ---------------------------------------------------------------- without rich


def test_jsonl_and_csv_work_without_rich(
    polar_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    code, out, _ = run(capsys, *api(polar_server, "list", "--max-items", "3"))
    assert (code, len(out.splitlines())) == (0, 3)
    code, out, _ = run(capsys, *api(polar_server, "list", "--max-items", "3", "--format", "csv"))
    assert (code, len(out.splitlines())) == (0, 4)


def test_table_works_without_rich(
    polar_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    code, out, err = run(capsys, *api(polar_server, "list", "--format", "table"))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["id", "label", "products", "created_at", "url"]
    assert len(lines) == 2 + 250 + 1  # header, rule, every link (not a terminal), summary
    assert lines[-1] == "250 checkout links"


def test_progress_and_demo_without_rich(
    polar_server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    code, out, err = run(capsys, *api(polar_server, "list", "--progress"))
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        "polar-links: error: argument --progress: the progress bar needs rich: "
        "pip install rich (or install polar-links with its cli extra)"
    )
    assert polar_server.requests == []
    code, out, err = run(capsys, "demo", "--links", "10")  # default format: jsonl
    assert code == 0
    assert len(out.splitlines()) == 10
    assert SUMMARY_RE.match(err.strip())


# ---------------------------------------------------------------- demo


def test_demo_streams_and_prints_one_summary_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo", "--links", "250", "--limit", "50", "--format", "jsonl")
    assert code == 0
    assert len({json.loads(line)["id"] for line in out.splitlines()}) == 250
    match = SUMMARY_RE.match(err.strip())
    assert match, err
    assert err.count("\n") == 1
    assert match.groups() == ("250", "5")


def test_demo_max_items(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo", "--links", "300", "--max-items", "120", "--format", "csv")
    assert code == 0
    assert len(out.splitlines()) == 1 + 120
    match = SUMMARY_RE.match(err.strip())
    assert match, err
    assert match.groups() == ("120", "2")


# ---------------------------------------------------------------- real processes


def test_broken_pipe_ends_cleanly() -> None:
    proc = subprocess.run(
        f"{sys.executable} -m polar_links demo --links 3000 --format jsonl | head -n 5",
        shell=True,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert len(proc.stdout.splitlines()) == 5
    assert proc.stderr == ""


def test_broken_pipe_exit_code_is_0() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "polar_links", "demo", "--links", "3000", "--format", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    first = proc.stdout.readline()
    assert json.loads(first)["id"]
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=30) == 0
    assert stderr == ""


def test_ctrl_c_exits_130() -> None:
    proc = subprocess.Popen(
        [*PYTHON_M, "demo", "--latency-ms", "200", "--concurrency", "1", "--limit", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline()  # the walk is under way
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130
    assert err == "\npolar-links: interrupted\n"


def test_exit_codes_of_the_process(polar_server: Any) -> None:
    assert cli("list", "--limit", "0").returncode == 2
    assert cli("--help").returncode == 0
    wrong = cli(*api(polar_server, "get", UNKNOWN_ID, token="polar_oat_nope"))
    assert wrong.returncode == 3
    assert "Traceback" not in wrong.stderr
    assert "polar_oat_nope" not in wrong.stderr


def test_serve_answers_with_its_token_logs_requests_with_v_and_stops_cleanly() -> None:
    token = "polar_oat_serve_test"
    proc = subprocess.Popen(
        [*PYTHON_M, "serve", "--port", "0", "--links", "30", "--token", token, "-v"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        match = re.fullmatch(r"Polar test server listening on (http://127\.0\.0\.1:\d+)\n", ready)
        assert match, ready
        assert proc.stdout.readline() == f"token: {token}\n"
        request = urllib.request.Request(
            match.group(1) + "/v1/checkout-links/?limit=100",
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.load(response)
        assert body["pagination"]["total_count"] == 30
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "polar-links: debug: testing: GET /v1/checkout-links/?limit=100 -> 200" in err
    assert token not in err


def test_serve_stops_cleanly_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "polar_links", "serve", "--port", "0", "--links", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("Polar test server listening on http://")
    assert proc.stdout.readline() == f"token: {DEFAULT_TOKEN}\n"
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert err == ""


def test_serve_on_a_taken_port_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run(capsys, "serve", "--port", str(port))
    assert (code, out) == (1, "")
    assert err.startswith(f"polar-links: error: cannot serve on 127.0.0.1 port {port}: ")
    assert err.count("\n") == 1


def test_redaction_leaves_values_too_short_to_be_tokens_alone() -> None:
    secrets = Secrets(["t", "polar_oat_long_enough"])
    assert secrets.redact("the test of polar_oat_long_enough") == "the test of ***"


def test_each_parser_redacts_its_own_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    first = build_parser(Secrets(["polar_oat_first_secret"]))
    build_parser(Secrets(["polar_oat_second_secret"]))  # must not replace the first's
    with pytest.raises(SystemExit) as exit_info:
        first.parse_args(["get", "polar_oat_first_secret"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert (
        "argument id: must be a UUID like '1dbfc517-0bbf-4301-9ba8-555ca42b9737', got '***'" in err
    )
    assert "polar_oat_first_secret" not in err
