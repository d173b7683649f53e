"""The MCP server: ``build_server()`` assembles tools, resources and prompts over a lifespan state."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pydantic_core
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp_types import CallToolResult, InputRequiredResult, TextContent
from pydantic import ValidationError

from lead_mcp import __version__
from lead_mcp.clock import Clock
from lead_mcp.config import Settings
from lead_mcp.mcp.limits import argument_problems, has_nul, without_nul
from lead_mcp.mcp.state import AppState
from lead_mcp.mcp.tools import contacts as contact_tools
from lead_mcp.mcp.tools import followups as followup_tools

SERVER_NAME = "lead-mcp"

INSTRUCTIONS = """\
lead-mcp is the user's lead-capture CRM: the people they met, what was said, and who they owe a
follow-up. Capture every lead with add_contact (duplicates are merged, never doubled) and answer
fast: a first follow-up is scheduled for today. Ask list_due_followups "who do I owe a follow-up?",
log each touch with log_interaction or complete_followup (which schedules the next step of the
cadence). Find people with search_contacts (names, emails, domains, phone numbers) and read the
whole record with get_contact. Ids are opaque strings returned by these tools; never invent one.
"""


class LeadServer(MCPServer[AppState]):
    """MCPServer whose argument errors read as "field: problem (got value)" rather than a pydantic dump."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        problems = argument_problems(arguments or {})
        if problems:
            raise ToolError(self._describe_refusal(name, arguments or {}, problems))
        if has_nul(arguments):
            arguments = without_nul(arguments)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError) and not isinstance(exc, UnexpectedToolError):
                raise ToolError(describe_argument_errors(name, cause)) from cause
            raise

    def _describe_refusal(self, name: str, arguments: dict[str, Any], problems: list[str]) -> str:
        """Our own argument problems together with the schema's, so one answer lists every fix."""
        tool = self._tool_manager.get_tool(name)
        schema_problems: list[str] = []
        if tool is not None:
            try:
                tool.fn_metadata.validate_arguments(arguments)
            except ValidationError as exc:
                schema_problems = [describe_validation_item(item) for item in exc.errors(include_url=False)]
            except Exception:  # noqa: S110 - the problems found above are reason enough to refuse
                pass
        listed = [
            *problems,
            *(p for p in schema_problems if p.split(":")[0] not in {q.split(":")[0] for q in problems}),
        ]
        return f"Invalid arguments for {name}: " + "; ".join(listed) + ". Fix these and call again."


def describe_validation_item(item: Any) -> str:
    """One pydantic error as "field: problem (got value)"."""
    field = ".".join(str(part) for part in item["loc"]) or "arguments"
    value = item.get("input")
    shown = ""
    if item["type"] != "missing" and (isinstance(value, (str, int, float, bool)) or value is None):
        text = _safe_repr(value)
        shown = f" (got {text[:60]}{'...' if len(text) > 60 else ''})"
    return f"{field}: {item['msg']}{shown}"


def _safe_repr(value: Any) -> str:
    """repr() that survives integers too long to print (Python refuses over 4,300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 14_000:
        return f"<an integer of about {int(value.bit_length() * 0.30103):,} digits>"
    if isinstance(value, str) and len(value) > 200:
        return repr(value[:200])
    return repr(value)


def describe_argument_errors(tool: str, error: ValidationError) -> str:
    """Each bad argument with what is wrong, in one message a model can act on."""
    problems = [describe_validation_item(item) for item in error.errors(include_url=False)]
    return (
        f"Invalid arguments for {tool}: " + "; ".join(problems) + ". Fix these and call again; "
        "the tool's input schema says what each argument takes."
    )


Registrar = Callable[[MCPServer[Any]], None]

# Each concept registers its tools here; a new module adds one line.
REGISTRARS: list[Registrar] = [
    contact_tools.register,
    followup_tools.register,
]


class StateRef:
    """A slot the HTTP app fills with its AppState at start-up, before the first request."""

    def __init__(self) -> None:
        self.value: AppState | None = None


def build_server(
    settings: Settings,
    *,
    state: AppState | StateRef | None = None,
    clock: Clock | None = None,
) -> MCPServer[AppState]:
    """A ready MCP server. With ``state`` it shares that store (HTTP); without, it opens its own per run."""

    @asynccontextmanager
    async def lifespan(_server: MCPServer[AppState]) -> AsyncIterator[AppState]:
        shared = state.value if isinstance(state, StateRef) else state
        if shared is not None:
            yield shared
            return
        if isinstance(state, StateRef):
            raise RuntimeError("the HTTP app's lifespan has not opened the store yet")
        own = await AppState.open(settings, clock=clock)
        try:
            yield own
        finally:
            await own.close()

    server = LeadServer(
        SERVER_NAME,
        title="lead-mcp CRM",
        description="Lead-capture CRM: contacts, follow-ups, card scans, card page, exports.",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        log_level=settings.log_level,  # type: ignore[arg-type]
    )
    for register in REGISTRARS:
        register(server)
    compact_results(server)
    return server


class CompactResults(FuncMetadata):
    """Tool results with the text block as compact JSON, built from the structured dump.

    The SDK fills a tool result's text block (what clients without structured output read)
    with the result serialized a second time, indented: for a page of contacts that is about
    a third more bytes than the structured content, serialized and sent on every call. Here the
    same JSON is written once, without indentation, from the dump the structured content
    already needed.
    """

    def convert_result(self, result: Any) -> CallToolResult | InputRequiredResult:
        """Structured content and its compact JSON text, for a tool returning its declared model."""
        model = self.output_model
        if model is None or self.wrap_output or self.output_schema is None or type(result) is not model:
            return super().convert_result(result)
        structured = result.model_dump(mode="json", by_alias=True)
        text = pydantic_core.to_json(structured).decode()
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def compact_results(server: MCPServer[Any]) -> None:
    """Give every registered tool :class:`CompactResults` (tools added by any module are covered)."""
    for tool in server._tool_manager.list_tools():
        meta = tool.fn_metadata
        if type(meta) is FuncMetadata:
            tool.fn_metadata = CompactResults.model_construct(
                **{name: getattr(meta, name) for name in FuncMetadata.model_fields}
            )
