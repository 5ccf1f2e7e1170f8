"""Without the published schema, the schema-conformance tests say what file to provide
and where; in CI, which has it beside the clone, its absence fails them."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import test_server_schema as schema_tests


def test_locally_a_missing_schema_skips_naming_the_file_to_provide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        schema_tests.read_spec(tmp_path / "absent.json")
    message = str(skipped.value)
    assert f"at {tmp_path / 'absent.json'}: put the file there" in message
    assert "shared/polar-api/ beside this clone" in message
    assert "POLAR_LINKS_OPENAPI_SCHEMA=/path/to/checkout-links.openapi.json" in message
    assert "OpenAPI schema for checkout links" in message


def test_in_ci_a_missing_schema_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="put the file there"):
        schema_tests.read_spec(tmp_path / "absent.json")


def test_the_schema_beside_the_clone_is_the_default() -> None:
    assert schema_tests.BESIDE_CLONE.parts[-3:] == (
        "shared",
        "polar-api",
        "checkout-links.openapi.json",
    )
    assert schema_tests.BESIDE_CLONE.parents[2] == Path(__file__).resolve().parents[2]
