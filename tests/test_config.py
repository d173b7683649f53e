"""Settings: defaults that work with zero configuration, and one clear line for each bad value."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from lead_mcp.config import Settings, describe_settings_error
from tests.e2e.servers import LEAD_MCP, lead_env


def test_zero_configuration_uses_a_sqlite_file_in_the_user_data_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("LEAD_MCP_"):
            monkeypatch.delenv(name)
    settings = Settings()
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.database_url.endswith("lead-mcp/lead-mcp.db")
    assert settings.ocr_engine == "auto" and settings.auth == "none"
    assert settings.public_base_url == "http://127.0.0.1:8765" and settings.public_base_is_loopback


def test_scan_roots_are_split_on_the_path_separator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LEAD_MCP_SCAN_ROOTS", f"{tmp_path}/a:{tmp_path}/b")
    assert Settings().scan_roots == [tmp_path / "a", tmp_path / "b"]
    monkeypatch.setenv("LEAD_MCP_SCAN_ROOTS", str(tmp_path))
    assert Settings().scan_roots == [tmp_path]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LEAD_MCP_TIMEZONE", "Mars/Olympus", "IANA"),
        ("LEAD_MCP_OCR_ENGINE", "magic", "'auto', 'tesseract' or 'easyocr'"),
        ("LEAD_MCP_DATABASE_URL", "mysql://x", "sqlite+aiosqlite"),
        ("LEAD_MCP_PUBLIC_BASE_URL", "ftp://x", "http"),
        ("LEAD_MCP_DEFAULT_REGION", "XX", "region"),
        ("LEAD_MCP_DEFAULT_FOLLOWUP_DAYS", "-3", "greater than or equal to 0"),
        ("LEAD_MCP_PORT", "http", "integer"),
        ("LEAD_MCP_AUTH", "password", "'none', 'builtin' or 'jwt'"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    line = describe_settings_error(caught.value)
    assert "\n" not in line
    assert variable in line and expected in line


def test_jwt_and_builtin_auth_need_their_companions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAD_MCP_AUTH", "jwt")
    with pytest.raises(ValidationError, match="LEAD_MCP_JWT_ISSUER"):
        Settings()
    monkeypatch.setenv("LEAD_MCP_AUTH", "builtin")
    monkeypatch.setenv("LEAD_MCP_PUBLIC_BASE_URL", "http://crm.example.com")
    with pytest.raises(ValidationError, match="https"):
        Settings()
    monkeypatch.setenv("LEAD_MCP_PUBLIC_BASE_URL", "https://crm.example.com")
    assert Settings().auth == "builtin"


def test_the_server_refuses_to_start_with_a_bad_setting(tmp_path: Path) -> None:
    done = subprocess.run(
        [LEAD_MCP, "stdio"], env=lead_env(timezone="Nowhere/Land"), capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "lead-mcp: invalid setting: LEAD_MCP_TIMEZONE: must be an IANA time zone such as Europe/Berlin "
        "or America/New_York (got 'Nowhere/Land')"
    ]


def test_the_claude_desktop_snippet_names_an_absolute_command_that_exists() -> None:
    import json

    from lead_mcp.cli import claude_desktop_snippet

    entry = json.loads(claude_desktop_snippet())["mcpServers"]["lead-mcp"]
    command = Path(entry["command"])
    assert command.is_absolute() and command.exists()
    assert entry["args"] == ["stdio"]
