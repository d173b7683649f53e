"""Build the lead-mcp desktop extension bundle (``.mcpb``): manifest, package and migrations in a zip.

The bundle uses the ``uv`` server type (MCPB manifest 0.4): the host app installs Python and
the dependencies from ``pyproject.toml`` itself, so one bundle serves macOS, Windows and Linux.
The manifest's version and tool list are taken from the package, so they cannot drift.

    python examples/mcpb/build.py [--out dist]

(``npx @anthropic-ai/mcpb pack`` builds the same layout where npm can download it.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # reproducible archives: same input, same bytes


def tool_list() -> list[dict[str, str]]:
    """Name and first description line of every tool the server offers."""
    from lead_mcp.config import Settings
    from lead_mcp.mcp.server import build_server

    server = build_server(Settings(database_url="sqlite+aiosqlite:///unused.db"))
    tools = asyncio.run(server.list_tools())
    return [{"name": t.name, "description": (t.description or "").strip().splitlines()[0]} for t in tools]


def manifest() -> dict[str, object]:
    """The bundle's manifest.json: the template here, with the package's version and tools."""
    from lead_mcp import __version__

    data: dict[str, object] = json.loads((HERE / "manifest.json").read_text())
    data["version"] = __version__
    data["tools"] = tool_list()
    return data


def _files() -> list[tuple[str, Path]]:
    entries = [
        ("pyproject.toml", ROOT / "pyproject.toml"),
        ("README.md", ROOT / "README.md"),
        ("README-bundle.md", HERE / "README.md"),
        ("server/main.py", HERE / "server" / "main.py"),
    ]
    for folder in ("src/lead_mcp", "migrations"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}:
                entries.append((path.relative_to(ROOT).as_posix(), path))
    for optional in ("LICENSE", "server.json"):
        if (ROOT / optional).is_file():
            entries.append((optional, ROOT / optional))
    return entries


def build(out_dir: Path) -> Path:
    """Write ``lead-mcp-VERSION.mcpb`` into ``out_dir``; returns its path."""
    data = manifest()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"lead-mcp-{data['version']}.mcpb"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        info = zipfile.ZipInfo("manifest.json", FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        bundle.writestr(info, json.dumps(data, indent=2) + "\n")
        for name, path in sorted(_files()):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            bundle.writestr(info, path.read_bytes())
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    print(build(parser.parse_args().out))
