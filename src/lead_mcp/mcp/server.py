"""The MCP server: ``build_server()`` assembles tools, resources and prompts over a lifespan state."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import pydantic_core
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer, RequestStateSecurity
from mcp.server.mcpserver.exceptions import ResourceError, ToolError, UnexpectedToolError
from mcp.server.mcpserver.resources import FunctionResource
from mcp.server.mcpserver.utilities.func_metadata import FuncMetadata
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    CallToolResult,
    CompleteRequestParams,
    CompleteResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    InputRequiredResult,
    PromptReference,
    ResourceTemplateReference,
    TextContent,
    ToolAnnotations,
)
from mcp_types import Tool as MCPTool
from pydantic import AnyUrl, ValidationError

from lead_mcp import __version__
from lead_mcp.clock import Clock
from lead_mcp.config import Settings
from lead_mcp.domain import SCOPE_READ
from lead_mcp.errors import LeadError
from lead_mcp.mcp import completions as completion_handlers
from lead_mcp.mcp import prompts as prompt_handlers
from lead_mcp.mcp import resources as resource_handlers
from lead_mcp.mcp.access import check_tool_scope, required_scope
from lead_mcp.mcp.limits import argument_problems, has_nul, without_nul
from lead_mcp.mcp.schemas import plain_schema
from lead_mcp.mcp.sealing import SharedKeyCodec, shared_request_state
from lead_mcp.mcp.state import AppState
from lead_mcp.mcp.tools import bulk as bulk_tools
from lead_mcp.mcp.tools import cadences as cadence_tools
from lead_mcp.mcp.tools import calendar as calendar_tools
from lead_mcp.mcp.tools import cards as card_tools
from lead_mcp.mcp.tools import connector as connector_tools
from lead_mcp.mcp.tools import contacts as contact_tools
from lead_mcp.mcp.tools import custom_fields as custom_field_tools
from lead_mcp.mcp.tools import drafts as draft_tools
from lead_mcp.mcp.tools import exchange as exchange_tools
from lead_mcp.mcp.tools import followups as followup_tools
from lead_mcp.mcp.tools import identity as identity_tools
from lead_mcp.mcp.tools import privacy as privacy_tools
from lead_mcp.mcp.tools import qualify as qualify_tools
from lead_mcp.mcp.tools import reports as report_tools
from lead_mcp.mcp.tools import scanning as scanning_tools

log = logging.getLogger(__name__)

SERVER_NAME = "lead-mcp"

INSTRUCTIONS = """\
lead-mcp is the user's lead-capture CRM: the people they met, what was said, and who they owe a
follow-up. Capture every lead with add_contact (duplicates are merged, never doubled) and answer
fast: a first follow-up is scheduled for today. Ask list_due_followups "who do I owe a follow-up?",
log each touch with log_interaction or complete_followup (which schedules the next step of the
cadence). Find people with search_contacts (names, emails, domains, phone numbers) and read the
whole record with get_contact. Ids are opaque strings returned by these tools; never invent one.
Qualify leads with qualify_lead (stage, budget, authority, need, timeline: it returns the score and
why), say how a follow-up went with complete_followup's result, let draft_followup write the note
from what is stored (polish it, never add facts), and read pipeline_report for speed-to-lead,
second touches, conversion and top referrers.
"Publish my card" is publish_card: it returns the card page's link and QR code (show both, and any
notice it gives); visitors' form posts arrive as leads due today, and card_stats tells how it does.
"""

# A static resource that reads the store: the SDK gives static resources no Context, so LeadServer does.
StaticReader = Callable[[Context[AppState, Any]], Awaitable[str]]
# One completion source; the first that answers (not None) wins. The SDK allows one handler per server.
CompletionRef = PromptReference | ResourceTemplateReference
Completer = Callable[
    [Context[AppState, Any], CompletionRef, CompletionArgument, CompletionContext | None],
    Awaitable[Completion | None],
]


class LeadServer(MCPServer[AppState]):
    """MCPServer enforcing scopes per tool, hiding write tools in read-only mode, wording argument errors.

    Arguments a tool does not take are refused naming each one (a misspelt `follow_up_days` would
    otherwise be dropped silently and the call do something else than asked).

    Argument errors read as "field: problem (got value)" rather than a pydantic dump. It also gives
    static resources and completions the request's Context (the SDK passes neither one), so they
    can reach the store: see :meth:`add_static_resource` and :meth:`add_completer`.
    """

    read_only: bool = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.static_readers: dict[str, tuple[StaticReader, str]] = {}
        self.completers: list[Completer] = []
        self._annotations: dict[str, ToolAnnotations | None] | None = None  # tools are fixed once built

    def add_static_resource(
        self, uri: str, reader: StaticReader, *, name: str, title: str, description: str, mime_type: str
    ) -> None:
        """List a resource at a fixed URI whose content ``reader`` makes from the request's Context."""

        async def outside_a_request() -> str:
            raise ResourceError(f"{uri} can only be read within a request")

        self.add_resource(
            FunctionResource(
                uri=uri,
                name=name,
                title=title,
                description=description,
                mime_type=mime_type,
                fn=outside_a_request,
            )
        )
        self.static_readers[uri] = (reader, mime_type)

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[AppState, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        """Static resources registered with :meth:`add_static_resource` are read with the context."""
        entry = self.static_readers.get(str(uri))
        if entry is None or context is None:
            return await super().read_resource(uri, context)
        reader, mime_type = entry
        try:
            content = await reader(context)
        except LeadError as exc:
            raise ResourceError(str(exc)) from exc
        return [ReadResourceContents(content=content, mime_type=mime_type)]

    def add_completer(self, completer: Completer) -> None:
        """Add a completion source (registering the handler, and so the capability, on first use)."""
        if not self.completers:
            lowlevel = self._lowlevel_server
            lowlevel.add_request_handler("completion/complete", CompleteRequestParams, self._complete)
        self.completers.append(completer)

    async def _complete(
        self, ctx: ServerRequestContext[AppState, Any], params: CompleteRequestParams
    ) -> CompleteResult:
        context: Context[AppState, Any] = Context(request_context=ctx, mcp_server=self)
        try:
            for completer in self.completers:
                found = await completer(context, params.ref, params.argument, params.context)
                if found is not None:
                    return CompleteResult(completion=found)
        except LeadError:
            pass  # e.g. a stage spelled wrong so far: no suggestions, never an error
        except MCPError:
            raise
        except Exception as exc:
            log.exception("completion of %r failed", params.argument.name)
            message = f"Error completing argument {params.argument.name}"
            raise MCPError(code=INTERNAL_ERROR, message=message) from exc
        return CompleteResult(completion=Completion(values=[]))

    async def tool_annotations(self) -> dict[str, ToolAnnotations | None]:
        """Every registered tool's annotations, by name (read-only mode included); built once."""
        if self._annotations is None:
            self._annotations = {tool.name: tool.annotations for tool in await super().list_tools()}
        return self._annotations

    async def list_tools(self) -> list[MCPTool]:
        """The tools this server offers: only the read tools in read-only mode."""
        tools = await super().list_tools()
        if self.read_only:
            tools = [t for t in tools if required_scope(t.annotations) == SCOPE_READ]
        return tools

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppState, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        problems = argument_problems(arguments or {})
        problems.extend(self._unknown_arguments(name, arguments or {}))
        if problems:
            raise ToolError(self._describe_refusal(name, arguments or {}, problems))
        if has_nul(arguments):
            arguments = without_nul(arguments)
        known = await self.tool_annotations()
        if name in known:
            annotations = known[name]
            if self.read_only and required_scope(annotations) != SCOPE_READ:
                raise ToolError(
                    f"Unknown tool: {name}. This server runs in read-only mode and offers only the read tools"
                )
            try:
                check_tool_scope(name, annotations)
            except LeadError as exc:
                raise ToolError(str(exc)) from exc
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError) and not isinstance(exc, UnexpectedToolError):
                raise ToolError(describe_argument_errors(name, cause)) from cause
            raise

    def _unknown_arguments(self, name: str, arguments: dict[str, Any]) -> list[str]:
        """Arguments the tool does not take: refused, so a misspelt one is never silently dropped."""
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            return []
        known = tool.parameters.get("properties", {})
        unknown = sorted(str(key) for key in arguments if key not in known)
        if not unknown:
            return []
        takes = ", ".join(sorted(known)) or "no arguments"
        return [f"{key}: is not an argument of {name} (it takes {takes})" for key in unknown[:10]]

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
    identity_tools.register,
    scanning_tools.register,
    qualify_tools.register,
    cadence_tools.register,
    draft_tools.register,
    report_tools.register,
    card_tools.register,
    custom_field_tools.register,
    privacy_tools.register,
    bulk_tools.register,
    calendar_tools.register,
    connector_tools.register,
    exchange_tools.register,
    # After every other resource template: `lead://contacts/{id}` would also match `.../{id}.vcf`.
    resource_handlers.register,
    prompt_handlers.register,
    completion_handlers.register,
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
) -> LeadServer:
    """A ready MCP server. With ``state`` it shares that store (HTTP); without, it opens its own per run."""

    codec = SharedKeyCodec()

    @asynccontextmanager
    async def lifespan(_server: MCPServer[AppState]) -> AsyncIterator[AppState]:
        shared = state.value if isinstance(state, StateRef) else state
        if shared is not None:
            codec.load(shared.request_state_key)
            yield shared
            return
        if isinstance(state, StateRef):
            raise RuntimeError("the HTTP app's lifespan has not opened the store yet")
        own = await AppState.open(settings, clock=clock)
        codec.load(own.request_state_key)
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
        log_level=settings.log_level,
        # Replicas must open each other's sealed mid-call questions: explicit keys when configured,
        # otherwise the key kept in the store (made by the first replica to start).
        request_state_security=(
            RequestStateSecurity(keys=settings.request_state_key_list)
            if settings.request_state_keys
            else shared_request_state(codec)
        ),
    )
    server.read_only = settings.read_only
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
    """Give every registered tool :class:`CompactResults` and a plain output schema (any module's tools)."""
    for tool in server._tool_manager.list_tools():
        meta = tool.fn_metadata
        if type(meta) is FuncMetadata:
            meta = tool.fn_metadata = CompactResults.model_construct(
                **{name: getattr(meta, name) for name in FuncMetadata.model_fields}
            )
        if meta.output_schema is not None:
            meta.output_schema = plain_schema(meta.output_schema)
