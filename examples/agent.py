"""A small agent that works the lead pipeline through lead-mcp over stdio, with the MCP Python SDK's client.

It starts ``lead-mcp stdio`` as a subprocess (settings passed in its environment), captures
three leads from an event (one referred by another, one a duplicate that gets merged),
answers every follow-up that is due, and prints what it did.

    LEAD_MCP_DATABASE_URL=sqlite+aiosqlite:///demo.db python examples/agent.py

Every ``LEAD_MCP_*`` variable of this process is handed to the server: the SDK's stdio
client passes only a few variables (PATH, HOME, ...) to the child on its own.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from mcp import Client, StdioServerParameters

EVENT = "Fintech Meetup Lisbon"


def server() -> StdioServerParameters:
    """How to start lead-mcp: this Python's `-m lead_mcp stdio`, with our LEAD_MCP_* settings."""
    env = {k: v for k, v in os.environ.items() if k.startswith("LEAD_MCP_")}
    for name in ("PATH", "HOME", "SYSTEMROOT", "LANG"):
        if name in os.environ:
            env[name] = os.environ[name]
    return StdioServerParameters(command=sys.executable, args=["-m", "lead_mcp", "stdio"], env=env)


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool; stop with its message if it reports an error (the model would read and react)."""
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise SystemExit(f"{tool} failed: {text}")
    assert result.structured_content is not None
    return result.structured_content


async def run() -> None:
    """Capture, follow up, report."""
    async with Client(server()) as client:
        who = await call(client, "whoami")
        print(f"Working in workspace {who['workspace']['name']!r} ({who['auth']})")

        tom = await call(
            client,
            "add_contact",
            full_name="Tom Becker",
            email="tom@ledgerly.example.com",
            company="Ledgerly",
            met_at=EVENT,
            source="event",
        )
        ana = await call(
            client,
            "add_contact",
            full_name="Ana Souza",
            email="ana@fintech.example.com",
            company="Fintech.io",
            title="Head of Payments",
            met_at=EVENT,
            source="referral",
            referred_by=tom["contact"]["id"],
            notes="Asked about the API pricing",
        )
        again = await call(
            client,
            "add_contact",
            full_name="Ana Souza",
            phone="+351 912 345 678",
            email="ana@fintech.example.com",
        )
        print(
            f"Captured {tom['contact']['full_name']} and {ana['contact']['full_name']}; "
            f"the second Ana was merged: {not again['created']} (filled {', '.join(again['merged_fields'])})"
        )

        due = await call(client, "list_due_followups", within_days=0)
        for item in due["items"]:
            person = item["contact"]["full_name"]
            await call(
                client,
                "complete_followup",
                followup_id=item["followup_id"],
                outcome=f"Sent {person} a note after {EVENT}",
            )
            print(f"Followed up with {person} (step {item['step']})")

        found = await call(client, "search_contacts", query="fintech.example.com")
        detail = await call(client, "get_contact", contact_id=ana["contact"]["id"])
        nxt = detail["contact"]["next_followup_at"]
        print(f"Search 'fintech.example.com': {len(found['items'])} contact; Ana's next follow-up: {nxt}")
        print(
            f"Done: {len(due['items'])} follow-ups answered, "
            f"{len(detail['interactions'])} touch logged for Ana"
        )


if __name__ == "__main__":
    asyncio.run(run())
