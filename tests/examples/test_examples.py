"""The ready-made set-ups in examples/ work as shipped: configs start the server, the bundle builds and
validates, the agent runs, and the deployment files name only real, documented settings."""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from lead_mcp import __version__
from lead_mcp.config import Settings
from mcp import Client, StdioServerParameters
from tests.e2e.servers import LEAD_MCP

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SETTING = re.compile(r"\bLEAD_MCP_[A-Z_]+\b")


def _setting_fields() -> set[str]:
    return {f"LEAD_MCP_{name.upper()}" for name in Settings.model_fields}


def _readme_settings() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    return set(re.findall(r"^\| `(LEAD_MCP_[A-Z_]+)` \|", readme, re.MULTILINE))


def _child_env(**settings: str) -> dict[str, str]:
    import os

    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    env.update(settings)
    return env


# --- Claude Desktop ---


@pytest.mark.parametrize("name", ["claude_desktop_config.uvx.json", "claude_desktop_config.from-source.json"])
def test_claude_desktop_configs_run_lead_mcp_stdio_with_real_settings(name: str) -> None:
    config = json.loads((EXAMPLES / "claude_desktop" / name).read_text())
    entry = config["mcpServers"]["lead-mcp"]
    assert entry["args"][-1] == "stdio"
    assert set(entry["env"]) <= _setting_fields()
    assert entry["command"] in {"uvx", "/path/to/lead-mcp/.venv/bin/lead-mcp"}
    if entry["command"] == "uvx":
        assert entry["args"] == ["lead-mcp", "stdio"]


async def test_the_from_source_config_starts_a_working_server(tmp_path: Path) -> None:
    config = json.loads((EXAMPLES / "claude_desktop" / "claude_desktop_config.from-source.json").read_text())
    entry = config["mcpServers"]["lead-mcp"]
    env = dict(entry["env"], LEAD_MCP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}")
    env["LEAD_MCP_SCAN_ROOTS"] = str(tmp_path)
    params = StdioServerParameters(command=LEAD_MCP, args=entry["args"], env=_child_env(**env))
    async with Client(params) as client:
        who = await client.call_tool("whoami", {})
    assert who.structured_content["auth"] == "local"


# --- the .mcpb bundle ---


def _build_bundle(out: Path) -> Path:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "mcpb" / "build.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def test_the_bundle_builds_and_its_manifest_validates_against_the_mcpb_schema(tmp_path: Path) -> None:
    bundle = _build_bundle(tmp_path)
    assert bundle.name == f"lead-mcp-{__version__}.mcpb"
    schema = json.loads((EXAMPLES / "mcpb" / "manifest.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(manifest)
    assert manifest["version"] == __version__
    assert manifest["server"]["entry_point"] in names
    assert {"pyproject.toml", "README.md", "README-bundle.md", "src/lead_mcp/cli.py"} <= names
    assert any(n.startswith("migrations/versions/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    env_names = set(manifest["server"]["mcp_config"]["env"])
    assert env_names <= _setting_fields() & _readme_settings()
    used = set(re.findall(r"\$\{user_config\.([a-z_]+)\}", json.dumps(manifest)))
    assert used == set(manifest["user_config"])
    # The same bytes every build: a bundle can be verified against its source.
    assert _build_bundle(tmp_path / "again").read_bytes() == bundle.read_bytes()


def test_the_schema_refuses_what_the_mcpb_spec_refuses(tmp_path: Path) -> None:
    schema = json.loads((EXAMPLES / "mcpb" / "manifest.schema.json").read_text())
    good = json.loads((EXAMPLES / "mcpb" / "manifest.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(good)
    broken = [
        {k: v for k, v in good.items() if k != "author"},
        {**good, "surprise": True},
        {**good, "manifest_version": "0.3"},
        {**good, "server": {"type": "python", "entry_point": "server/main.py"}},
        {**good, "user_config": {"x": {"type": "color", "title": "X", "description": "x"}}},
        {k: v for k, v in good.items() if k != "manifest_version"},
    ]
    for manifest in broken:
        assert not validator.is_valid(manifest), manifest


async def test_the_bundled_server_lists_the_tools_its_manifest_names(tmp_path: Path) -> None:
    bundle = _build_bundle(tmp_path / "dist")
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(unpacked)
        manifest = json.loads(archive.read("manifest.json"))
    env = _child_env(
        PYTHONPATH=str(unpacked / "src"),
        LEAD_MCP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bundle.db'}",
        LEAD_MCP_TIMEZONE="",  # what the host passes for an empty optional field: the default applies
        LEAD_MCP_SCAN_ROOTS=str(tmp_path),
    )
    params = StdioServerParameters(
        command=sys.executable, args=[manifest["server"]["entry_point"]], env=env, cwd=str(unpacked)
    )
    async with Client(params) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        who = await client.call_tool("whoami", {})
    assert tools == {t["name"] for t in manifest["tools"]}
    assert not who.is_error and who.structured_content["workspace"]["name"] == "Local"


# --- the agent ---


def test_the_agent_example_works_the_pipeline_over_stdio(tmp_path: Path) -> None:
    env = _child_env(
        LEAD_MCP_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'agent.db'}",
        LEAD_MCP_TIMEZONE="Europe/Berlin",
        LEAD_MCP_SCAN_ROOTS=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "agent.py")], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Working in workspace 'Local' (local)"
    assert "the second Ana was merged: True (filled phones)" in lines[1]
    assert {"Followed up with Tom Becker (step 1)", "Followed up with Ana Souza (step 1)"} <= set(lines)
    assert lines[-1] == "Done: 2 follow-ups answered, 1 touch logged for Ana"


# --- Docker, compose, Caddy ---


def _deploy(name: str) -> str:
    return (EXAMPLES / "deploy" / name).read_text()


def test_the_deployment_files_name_only_real_settings_that_the_readme_documents() -> None:
    named = set()
    for name in ("Dockerfile", "compose.yaml", "Caddyfile", ".env.example"):
        named |= set(SETTING.findall(_deploy(name)))
    assert named, "the deployment names no settings?"
    assert named <= _setting_fields(), named - _setting_fields()
    assert named <= _readme_settings(), named - _readme_settings()


def test_compose_runs_postgres_two_replicas_and_caddy_with_settings_that_validate() -> None:
    compose = yaml.safe_load(_deploy("compose.yaml"))
    services = compose["services"]
    assert {"postgres", "lead-mcp", "caddy"} <= set(services)
    app = services["lead-mcp"]
    assert app["deploy"]["replicas"] == 2
    assert services["migrate"]["command"] == ["lead-mcp", "db", "upgrade"]
    env = {k: str(v) for k, v in app["environment"].items()}
    values = {"DOMAIN": "crm.example.com", "POSTGRES_PASSWORD": "secret"}

    def interpolate(match: re.Match[str]) -> str:
        # ${NAME}, ${NAME:-default} and ${NAME:?error}, as compose reads them
        name, kind, rest = match[1], match[2] or "", match[3] or ""
        return values.get(name) or (rest if kind == ":-" else "")

    filled = {k: re.sub(r"\$\{([A-Z_]+)(:[-?])?([^}]*)\}", interpolate, v) for k, v in env.items()}
    settings = Settings(**{k.removeprefix("LEAD_MCP_").lower(): v for k, v in filled.items()})
    assert settings.auth == "builtin"
    assert settings.public_base_url == "https://crm.example.com"
    assert settings.database_url.startswith("postgresql+asyncpg://lead:secret@postgres:5432/lead")
    settings.check_bind(settings.host)  # 0.0.0.0 is allowed because auth is on
    assert f"lead-mcp {settings.port}" in _deploy("Caddyfile")
    assert "flush_interval -1" in _deploy("Caddyfile")
    dockerfile = _deploy("Dockerfile")
    assert 'CMD ["lead-mcp", "serve"]' in dockerfile
    assert f"EXPOSE {settings.port}" in dockerfile
    assert "tesseract-ocr-script-latn" in dockerfile
    assert "/healthz" in dockerfile and "health_uri /healthz" in _deploy("Caddyfile")


def test_only_the_reverse_proxy_may_say_who_the_client_is() -> None:
    dockerfile = _deploy("Dockerfile")
    assert not re.search(r"^\s*(ENV\s+)?FORWARDED_ALLOW_IPS\s*=", dockerfile, re.M), (
        "no blanket trust in the image"
    )
    compose = yaml.safe_load(_deploy("compose.yaml"))
    services = compose["services"]
    caddy_address = services["caddy"]["networks"]["edge"]["ipv4_address"]
    assert services["lead-mcp"]["environment"]["FORWARDED_ALLOW_IPS"] == caddy_address
    subnet = compose["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(caddy_address) in ipaddress.ip_network(subnet)
    assert "edge" in services["lead-mcp"]["networks"] and "edge" not in services["postgres"]["networks"]
