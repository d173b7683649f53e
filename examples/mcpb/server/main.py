"""Entry point of the lead-mcp bundle: MCP over stdio (the host app starts it with uv)."""

from lead_mcp.cli import main

raise SystemExit(main(["stdio"]))
