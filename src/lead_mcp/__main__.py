"""`python -m lead_mcp` runs the `lead-mcp` command."""

from lead_mcp.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
