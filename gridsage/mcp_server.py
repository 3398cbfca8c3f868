"""The MCP adapter: GridSage's tools, resources and prompts over MCP.

A thin layer over :mod:`gridsage.tools`.  It registers the same typed tool
functions the CLI and the agent use (:func:`gridsage.tools.toolset.toolset`), turns
their :class:`~gridsage.errors.GridSageError` into MCP tool errors with
the same message, and serves them over stdio or streamable HTTP.

- **Tools** answer with their result's compact view (:attr:`ToolSpec.published
  <gridsage.tools.toolset.ToolSpec.published>`, the same view the chat agent
  reads): every list bounded with the count left out, each citation once.  The
  view is the ``structuredContent`` (the ``outputSchema`` is its schema), and the
  text block is one line (:meth:`~gridsage.tools.base.ToolResult.one_line`): the
  result in a few words and where the rest is.  The full result is evidence,
  read a page at a time with the tool ``read_evidence`` or the resource
  ``evidence://{evidence_id}{?path,offset,limit}``.  Annotations
  (``readOnlyHint`` ...) come from each tool's kind in the toolset.
- **Arguments** are checked here, before any tool runs, against the tool's
  published ``inputSchema``, which states the server's limits
  (:func:`~gridsage.mcp_arguments.hardened_schema`): no argument the schema does not name, every string
  bounded (:data:`~gridsage.config.MCP_MAX_STRING_CHARS`, ids
  :data:`~gridsage.config.MCP_MAX_ID_CHARS`), every number finite and within
  ±2**53 (``NaN``, ``Infinity``, ``1e308`` and ``2**80`` are refused).
- **Errors**: a ``GridSageError`` raised by a tool, and an argument that fails
  the checks or the tool's own validation, reach the client as a tool result
  with ``isError: true`` whose text is the typed message (it names the field
  and the fix; never more than :data:`~gridsage.config.MCP_MAX_ERROR_CHARS`
  characters, and never more than ~200 characters of an argument).  Any
  other exception in a tool is a bug: the client reads ``internal error in
  <tool> (<ExceptionType>); ...`` as a tool error, the traceback goes to the
  server log (stderr).
- **Sessions**: over streamable HTTP every MCP session (``Mcp-Session-Id``)
  has its own workspace: its grids, its evidence ledger, its grid limit; the
  resources ``grid://`` and ``evidence://`` read the session's.  At most
  :data:`~gridsage.config.MCP_MAX_SESSIONS` sessions are held; a session idle
  for :data:`~gridsage.config.MCP_SESSION_IDLE_S` is closed and its workspace
  dropped.  HTTP therefore speaks the protocol versions with sessions (the
  ``initialize`` handshake, up to 2025-11-25): a 2026-07-28 (sessionless)
  request over HTTP is answered with error -32022 naming those versions, which
  the SDK client in its default ``auto`` mode takes as its cue to fall back to
  the handshake.  **stdio is single-user**: one client per process, served from
  the process's workspace (any protocol version).
- **Throughput**: tools run on worker threads, off the event loop, on a lane
  per cost (``ToolSpec.cost``): quick ones (list_grids, grid_summary, ...) on
  their own, solves on a lane as wide as the usable CPUs, grid loads (file
  parsing) on a narrower one, so a cheap call never queues behind power flows
  and a power flow never behind grid files.  Over HTTP the interpreter's
  thread switch interval is shortened (:data:`~gridsage.config.MCP_SWITCH_INTERVAL_S`)
  so the event loop gets the GIL back quickly from busy workers.
- **Resources**: ``grid://{grid_id}/summary``, ``evidence://{evidence_id}`` (paged),
  ``scenario://library`` and ``scenario://{name}``.
- **Prompts**: ``assess_contingency``, from ``prompts/assess_contingency.md``.
- **Transports**: stdio (stdout carries protocol only; logs go to stderr; a
  line that is not a JSON-RPC message is answered with the standard error:
  -32700 parse error, -32600 invalid request, -32602 invalid params), and
  streamable HTTP on 127.0.0.1 with DNS-rebinding protection (kept on for any
  bind address, allowing the bound host and those named) and an optional
  static bearer token (required off loopback).

Importing this module loads the MCP SDK and the tool modules, never
pandapower: the tools import it on first use.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.resources
import inspect
import json
import logging
import math
import secrets
import socket
import sys
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal

import anyio
import anyio.lowlevel
import pydantic
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer, ResourceSecurity
from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ResourceNotFoundError,
    ToolError,
    UnexpectedToolError,
)
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from mcp_types import INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, UNSUPPORTED_PROTOCOL_VERSION, ErrorData, JSONRPCError
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import Field

from gridsage import __version__, config
from gridsage.errors import GridSageError, InputError, from_validation_error
from gridsage.mcp_arguments import ArgumentChecker, hardened_schema, show, shorten
from gridsage.knowledge.corpus import get_entry, load_corpus
from gridsage.knowledge.settings import KnowledgeSettings
from gridsage.tools.evidence_reader import page
from gridsage.tools.grid import summarize
from gridsage.tools.toolset import ToolSpec, toolset
from gridsage.tools.workspace import WorkspacePool, current_workspace

logger = logging.getLogger(__name__)
#: log levels of :func:`build_server`
LogLevel = Literal["debug", "info", "warning", "error"]

# --------------------------------------------------------------------------- tools

def annotations(spec: ToolSpec) -> ToolAnnotations:
    """MCP annotations for a tool, from its kind and reach in the toolset (:meth:`ToolSpec.hints`)."""
    hints = spec.hints()
    return ToolAnnotations(read_only_hint=hints["read_only"], destructive_hint=hints["destructive"],
                           idempotent_hint=hints["idempotent"], open_world_hint=hints["open_world"])


#: the worker lanes of the running event loop, by :attr:`ToolSpec.cost <gridsage.tools.toolset.ToolSpec.cost>`
_LANES: anyio.lowlevel.RunVar[dict[str, anyio.CapacityLimiter]] = anyio.lowlevel.RunVar("gridsage_tool_lanes")


def worker_lane(cost: str) -> anyio.CapacityLimiter:
    """The worker threads a tool of ``cost`` runs on (per event loop, created on first use).

    ``'quick'``: :data:`~gridsage.config.MCP_QUICK_WORKERS` threads; ``'solve'``: one per usable CPU; ``'load'``
    (grid files parsed, mostly holding the GIL): half the CPUs, at least one.
    """
    try:
        lanes = _LANES.get()
    except LookupError:
        from gridsage.tools.grid.contingency import usable_cpus

        cpus = usable_cpus()
        lanes = {"quick": anyio.CapacityLimiter(config.MCP_QUICK_WORKERS), "solve": anyio.CapacityLimiter(cpus),
                 "load": anyio.CapacityLimiter(max(1, cpus // 2))}
        _LANES.set(lanes)
    return lanes.get(cost, lanes["solve"])


def first_non_finite(value: Any, path: str = "") -> str | None:
    """JSON pointer of the first NaN or infinite float in ``value`` (dicts and lists walked), else ``None``."""
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "/")
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = first_non_finite(item, f"{path}/{key}")
        if found is not None:
            return found
    return None


def mcp_tool(fn, cost: str = "solve"):
    """``fn`` (a :attr:`ToolSpec.published` function) answering as an MCP tool result, on a worker thread.

    Parameters
    ----------
    fn : callable
        The published tool function (synchronous).
    cost : {'solve', 'quick', 'load'}, default 'solve'
        The worker lane to run on (:func:`worker_lane`).

    Returns
    -------
    callable
        A coroutine function with ``fn``'s parameters; it runs ``fn`` on a worker thread of its lane (the caller's
        context variables, hence its workspace, go with it) and returns a ``CallToolResult`` whose
        ``structuredContent`` is ``fn``'s result as JSON (validated by the SDK against ``fn``'s return type, the
        published ``outputSchema``) and whose one text block is the result's
        :meth:`~gridsage.tools.base.ToolResult.one_line` (the spec requires the structure when a tool has an output
        schema and recommends text beside it; one line, not a second copy).

    Raises
    ------
    ValueError
        If the result holds a NaN or infinite number (JSON cannot carry it): a bug, reported as an internal error.
    """
    signature = inspect.signature(fn, eval_str=True)

    @functools.wraps(fn)
    async def call(**kwargs: Any) -> CallToolResult:
        result = await anyio.to_thread.run_sync(functools.partial(fn, **kwargs), limiter=worker_lane(cost))
        structured = result.model_dump(mode="json")
        where = first_non_finite(structured)
        if where is not None:
            raise ValueError(f"the result holds a non-finite number at {where}")
        return CallToolResult(content=[TextContent(type="text", text=result.one_line())],
                              structured_content=structured)

    call.__signature__ = signature.replace(return_annotation=Annotated[CallToolResult, signature.return_annotation])
    return call


def as_tool_error(exc: ToolError, name: str = "", arguments: Any = None) -> ToolError:
    """The tool error a client should read for ``exc``, as raised by the SDK.

    The SDK wraps everything a tool raises: an anticipated :class:`ToolError`
    becomes ``'Error executing tool <name>: <message>'``, anything else an
    :class:`UnexpectedToolError` whose text hides the cause.  GridSage errors
    are anticipated by design, so they are unwrapped to their own message; a
    failed input schema is rephrased the way the tools phrase it; a crash
    becomes a short typed message naming the tool and the exception type (the
    traceback is logged, never sent).

    Parameters
    ----------
    exc : ToolError
        What :meth:`MCPServer.call_tool` raised.
    name : str, optional
        The tool called.
    arguments : object, optional
        Its arguments (at most ~120 characters of them appear in a crash message).

    Returns
    -------
    ToolError
        Carrying ``str(GridSageError)`` when a GridSage error caused ``exc``;
        :func:`~gridsage.errors.from_validation_error`'s message when the
        arguments failed the input schema; ``internal error in <name> (<type>); ...``
        for a crash; otherwise ``exc`` unchanged.  Messages longer than
        :data:`~gridsage.config.MCP_MAX_ERROR_CHARS` are cut in the middle.
    """
    cause = exc.__cause__
    if isinstance(cause, GridSageError):
        return ToolError(shorten(str(cause)))
    if isinstance(cause, pydantic.ValidationError) and not isinstance(exc, UnexpectedToolError):
        return ToolError(shorten(str(from_validation_error(cause))))
    if isinstance(exc, UnexpectedToolError):
        return internal_error(name or "the tool", arguments, cause if isinstance(cause, BaseException) else exc)
    return exc


def internal_error(name: str, arguments: Any, cause: BaseException) -> ToolError:
    """The tool error for a crash in tool ``name``: short and typed; the traceback goes to the server log only."""
    logger.error("internal error in tool %r (%s)", name, type(cause).__name__, exc_info=cause)
    return ToolError(
        f"internal error in {name} ({type(cause).__name__}); the input was accepted by the tool's schema "
        f"({show(arguments, 120)}) but the tool failed on it. Fix: this is a bug in GridSage, not your input; "
        "the traceback is in the server log. Try other values, or report it with these arguments.")


# ------------------------------------------------------------------------ sessions


def is_http(request: Any) -> bool:
    """Whether a request context's transport request is an HTTP request (it has headers); stdio and in-process have none."""
    return request is not None and getattr(request, "headers", None) is not None


def refuse_sessionless_http(allowed: Iterable[str] = HANDSHAKE_PROTOCOL_VERSIONS):
    """Server middleware: a 2026-07-28 (sessionless) request over HTTP gets error -32022 naming ``allowed``.

    GridSage's tools keep state per session (grids, evidence), and a request without a session has no
    workspace of its own; the SDK client in ``auto`` mode answers -32022 by falling back to the handshake.
    """
    supported = list(allowed)

    async def middleware(ctx, call_next):
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and is_http(ctx.request):
            raise MCPError(code=UNSUPPORTED_PROTOCOL_VERSION,
                           message="GridSage over HTTP keeps a workspace per session: connect with the initialize "
                                   f"handshake (protocol {supported[-1]}); stdio serves {ctx.protocol_version}",
                           data={"supported": supported, "requested": ctx.protocol_version})
        return await call_next(ctx)

    return middleware


class GridSageMCPServer(MCPServer):
    """:class:`MCPServer` that checks arguments first, keeps a workspace per HTTP session, and reports GridSage
    errors with their own message.

    Parameters
    ----------
    *args, **kwargs
        As for :class:`MCPServer`.
    workspaces : WorkspacePool, optional
        The HTTP sessions' workspaces; a new pool of :data:`~gridsage.config.MCP_MAX_SESSIONS` by default.
    """

    def __init__(self, *args: Any, workspaces: WorkspacePool | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.workspaces = (workspaces if workspaces is not None
                           else WorkspacePool(config.MCP_MAX_SESSIONS, config.MCP_SESSION_IDLE_S))
        self.checkers: dict[str, ArgumentChecker] = {}

    def add_checked_tool(self, spec: ToolSpec) -> None:
        """Publish ``spec`` as a tool whose ``inputSchema`` states (and whose calls enforce) the server's limits."""
        self.add_tool(mcp_tool(spec.published, cost=spec.cost), name=spec.name, description=spec.description,
                      annotations=annotations(spec), structured_output=True)
        tool = self._tool_manager.get_tool(spec.name)
        tool.parameters = hardened_schema(tool.parameters)
        self.checkers[spec.name] = ArgumentChecker(tool.parameters)

    @contextlib.contextmanager
    def session_workspace(self, context: Context[Any, Any] | None) -> Iterator[None]:
        """Make the workspace of ``context``'s HTTP session current inside the ``with`` block.

        Over stdio and in process (no HTTP request) the caller's current workspace stays current.  The workspace
        is dropped when the session closes (client DELETE, idle timeout), or by the pool's own bounds.

        Raises
        ------
        RequestTooLargeError
            If the pool is full of sessions with calls in progress.
        InputError
            If an HTTP request carries no session id (a sessionless request that got past the middleware).
        """
        request_context = getattr(context, "_request_context", None)
        request = getattr(request_context, "request", None)
        if not is_http(request):
            yield
            return
        key = request.headers.get("mcp-session-id")
        if not key:
            raise InputError("this HTTP request has no MCP session", field="Mcp-Session-Id",
                             fix="connect with the initialize handshake; the server then names the session.")
        # SDK-private: the connection's exit stack unwinds when the session ends, so its workspace goes with it
        connection = getattr(getattr(request_context, "session", None), "_connection", None)
        state = getattr(connection, "state", None)
        if isinstance(state, dict) and "gridsage_workspace" not in state:
            state["gridsage_workspace"] = key
            connection.exit_stack.callback(self.workspaces.discard, key)
        with self.workspaces.session(key):
            yield

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Check the arguments, then call the tool in the session's workspace; see :func:`as_tool_error` for how
        failures are reported (always as a tool error, never as a protocol error)."""
        checker = self.checkers.get(name)
        try:
            if checker is not None:
                checker.check(arguments)
            with self.session_workspace(context):
                try:
                    return await super().call_tool(name, arguments, context)
                except ToolError as exc:
                    mapped = as_tool_error(exc, name, arguments)
                    if mapped is exc:
                        raise
                    # keep the cause, so the SDK logs field names (not values) for bad arguments
                    raise mapped from exc.__cause__
        except (ToolError, MCPError):
            raise
        except GridSageError as exc:  # refused arguments, or no workspace for the session
            logger.info("Tool %r refused: field %r", name, (exc.field or "")[:80])
            raise ToolError(shorten(str(exc))) from None
        except Exception as exc:  # anything the SDK did not wrap
            raise internal_error(name, arguments, exc) from None

    async def read_resource(self, uri: Any, context: Context[Any, Any] | None = None):
        """Read a resource in the session's workspace (``grid://``, ``evidence://`` are per session)."""
        try:
            with self.session_workspace(context):
                return await super().read_resource(uri, context)
        except GridSageError as exc:
            raise ResourceError(shorten(str(exc))) from None

    async def run_stdio_async(self) -> None:
        """Serve over stdio, answering lines that are not JSON-RPC messages (:func:`jsonrpc_error_for`).

        The SDK's stdio transport hands such a line to the server as an exception, which the SDK drops; here
        the line is answered with the standard error instead, and the session goes on.
        """
        async with stdio_server() as (read_stream, write_stream):
            send, receive = anyio.create_memory_object_stream[SessionMessage | Exception](0)

            async def screen() -> None:
                async with send:
                    async for item in read_stream:
                        if not isinstance(item, Exception):
                            await send.send(item)
                            continue
                        error = jsonrpc_error_for(item)
                        logger.info("stdio: refused a line that is not a JSON-RPC message (%s)",
                                    "answered" if error is not None else "not answered: a notification or response")
                        if error is not None:
                            try:
                                await write_stream.send(SessionMessage(error))
                            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                                return

            lowlevel = self._lowlevel_server  # SDK-private: what MCPServer.run_stdio_async runs
            async with anyio.create_task_group() as tg:
                tg.start_soon(screen)
                await lowlevel.run(receive, write_stream, lowlevel.create_initialization_options())
                tg.cancel_scope.cancel()


def _rpc_error(request_id: Any, code: int, message: str) -> JSONRPCError:
    if isinstance(request_id, bool) or not isinstance(request_id, (str, int)) or len(str(request_id)) > 200:
        request_id = None
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


def jsonrpc_error_for(exc: Exception) -> JSONRPCError | None:
    """The JSON-RPC error answering a stdio line the SDK could not read as a message (``exc`` is why).

    Parameters
    ----------
    exc : Exception
        What the SDK's stdio reader raised on the line: a pydantic ``ValidationError`` of the JSON-RPC message union.

    Returns
    -------
    JSONRPCError or None
        -32700 (parse error, id null) for text that is not JSON; -32600 (invalid request) for a batch, a non-object,
        a message without a string ``method``, ``jsonrpc`` not ``"2.0"`` or a bad ``id``; -32602 (invalid params)
        for ``params`` that is not an object.  The request's id is echoed when it has a usable one.  ``None`` for a
        notification or a response (JSON-RPC answers neither).
    """
    if not isinstance(exc, pydantic.ValidationError):
        return _rpc_error(None, PARSE_ERROR, "Parse error: the line is not a JSON-RPC message")
    errors = exc.errors(include_url=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return _rpc_error(None, PARSE_ERROR, "Parse error: the line is not valid JSON (send one JSON-RPC message "
                                             "per line, UTF-8)")
    whole = [e.get("input") for e in errors if len(e["loc"]) == 1]
    whole += [e.get("input") for e in errors if e["type"] == "missing" and len(e["loc"]) == 2]
    message = whole[0] if whole else None
    if isinstance(message, list):
        return _rpc_error(None, INVALID_REQUEST, "Invalid Request: batches are not supported (MCP has no JSON-RPC "
                                                 "batching since 2025-06-18); send one message per line")
    if not isinstance(message, dict):
        return _rpc_error(None, INVALID_REQUEST, "Invalid Request: a JSON-RPC message must be a JSON object")
    request_id = message.get("id")
    method = message.get("method")
    if "method" not in message:
        if "result" in message or "error" in message:
            return None  # a malformed response: nothing to answer
        return _rpc_error(request_id, INVALID_REQUEST, "Invalid Request: the message has no 'method'")
    if "id" not in message and isinstance(method, str):
        return None  # a notification: never answered
    if not isinstance(method, str):
        return _rpc_error(request_id, INVALID_REQUEST, "Invalid Request: 'method' must be a string")
    if message.get("jsonrpc") != "2.0":
        return _rpc_error(request_id, INVALID_REQUEST, "Invalid Request: 'jsonrpc' must be \"2.0\"")
    if isinstance(request_id, bool) or not isinstance(request_id, (str, int)):
        return _rpc_error(None, INVALID_REQUEST, "Invalid Request: 'id' must be a string or an integer")
    if "params" in message and not isinstance(message["params"], dict):
        return _rpc_error(request_id, INVALID_PARAMS, "Invalid params: 'params' must be an object of named "
                                                      "parameters")
    return _rpc_error(request_id, INVALID_REQUEST, "Invalid Request: not a valid JSON-RPC 2.0 request")


# ----------------------------------------------------------------------- resources


def grid_summary_json(grid_id: str) -> str:
    """JSON of :func:`~gridsage.tools.grid.grids.summarize` for a loaded grid."""
    try:
        grid = current_workspace().get(grid_id)
    except GridSageError as exc:
        raise ResourceNotFoundError(str(exc)) from exc
    return summarize(grid).model_dump_json()


def evidence_json(evidence_id: str, path: str = "", offset: int = 0, limit: int = 20) -> str:
    """JSON of the ledger record ``evidence_id``: tool, inputs, and a page of its full result at ``path``.

    The page is :func:`gridsage.tools.evidence_reader.page`'s (as the tool ``read_evidence`` gives it): ``result``
    holds the value at ``path``, for a list ``limit`` items from ``offset`` with ``total`` and ``next_offset``.
    """
    try:
        record = current_workspace().ledger.get(evidence_id)
        part = page(record, path, offset, limit)
    except GridSageError as exc:
        raise ResourceNotFoundError(str(exc)) from exc
    return json.dumps({"evidence_id": evidence_id, "tool": record.tool, "inputs": record.inputs,
                       "recorded_utc": record.recorded_utc.isoformat(), "path": path, "result": part.value,
                       "total": part.total, "offset": part.offset, "next_offset": part.next_offset})


SCENARIO_SUFFIXES = (".yaml", ".yml")


def scenario_files() -> dict[str, Any]:
    """Scenario files shipped in :mod:`gridsage.scenarios`, by name (file stem), sorted."""
    root = importlib.resources.files("gridsage.scenarios")
    found = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_file() and entry.name.endswith(SCENARIO_SUFFIXES):
            found[entry.name.rsplit(".", 1)[0]] = entry
    return found


def scenario_library_json() -> str:
    """JSON list of the scenario library: name, uri, file, and description when the file gives one."""
    import yaml  # only when the library is read

    items = []
    for name, entry in scenario_files().items():
        description = None
        try:
            doc = yaml.safe_load(entry.read_text(encoding="utf-8"))
            if isinstance(doc, dict):
                text = doc.get("description") or doc.get("title")
                description = " ".join(text.split()) if isinstance(text, str) else None
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
            description = f"(unreadable: {type(exc).__name__})"
        items.append({"name": name, "uri": f"scenario://{name}", "file": entry.name, "description": description})
    return json.dumps(items)


def scenario_yaml(name: str) -> str:
    """Scenario ``name`` (with or without its ``.yaml`` suffix) as YAML, without its ``expect:`` block and comments.

    The ``expect:`` block is the evaluation's answer key, and the file's comments explain it: a client studying the
    scenario reads what the study is about, never the answer.
    """
    import yaml
    files = scenario_files()
    stem = name.rsplit(".", 1)[0] if name.endswith(SCENARIO_SUFFIXES) else name
    if stem not in files:
        available = ", ".join(files) or "none"
        raise ResourceNotFoundError(str(InputError(
            f"no scenario named {name!r} (available: {available})",
            field="name", fix="read scenario://library for the scenario names.")))
    doc = yaml.safe_load(files[stem].read_text(encoding="utf-8"))
    if isinstance(doc, dict):
        doc.pop("expect", None)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def standards_index_json() -> str:
    """JSON list of the standards corpus: id, uri, title, standard, edition, clause, tags (no index needed)."""
    try:
        entries = load_corpus(KnowledgeSettings.from_env().corpus_dir)
    except GridSageError as exc:
        raise ResourceNotFoundError(str(exc)) from exc
    return json.dumps([{"id": e.id, "uri": f"standards://{e.id}", "title": e.title, "standard": e.standard,
                        "edition": e.edition, "clause": e.clause, "tags": e.tags} for e in entries.values()])


def standard_markdown(entry_id: str) -> str:
    """One standards-corpus entry as markdown: citation, key figures, explanation."""
    try:
        entry = get_entry(entry_id, KnowledgeSettings.from_env().corpus_dir)
    except GridSageError as exc:
        raise ResourceNotFoundError(str(exc)) from exc
    figures = "".join(f"- `{k}`: {v}\n" for k, v in entry.figures.items())
    return (f"# {entry.title}\n\n{entry.citation().short()} (`{entry.id}`; tags: {', '.join(entry.tags)})\n\n"
            + (f"## Key figures\n\n{figures}\n" if figures else "") + f"{entry.body}\n")


# ------------------------------------------------------------------------- prompts


def render_prompt(template: str, **values: str) -> str:
    """Fill the ``{name}`` placeholders of ``prompts/<template>.md`` (other braces are left alone)."""
    text = importlib.resources.files("gridsage.prompts").joinpath(f"{template}.md").read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def assess_contingency(
    grid_id: Annotated[str, Field(min_length=1, max_length=128, description="Grid id from load_grid, or a name list_grids shows.")],
    outage: Annotated[str, Field(min_length=1, max_length=200, description="Element taken out, e.g. 'line 12' or 'trafo 3'.")],
) -> str:
    """Assess an outage like a senior grid engineer: what happened, what is at risk, what to do first and why."""
    return render_prompt("assess_contingency", grid_id=grid_id, outage=outage)


# --------------------------------------------------------------------- the server

INSTRUCTIONS = (
    "GridSage studies electric grids with power-system tools. Load a grid with load_grid (list_grids shows names), "
    "then pass the grid_id it returns to run_power_flow or run_contingency_analysis; study what-ifs with apply_events "
    "and propose_remedial_actions, and check a candidate with apply_actions and its action (all work on copies). "
    "Every number must come from "
    "a tool result. Results are compact: lists give the worst few and count what they leave out; the full result "
    "behind each evidence_id is read a page at a time with read_evidence(evidence_id, path) or at "
    "evidence://<evidence_id>?path=/violations&offset=0. Every limit applied cites a standard clause by entry_id, "
    "readable at standards://<entry_id> (search_standards finds "
    "clauses by meaning). forecast_load forecasts load with P10/P50/P90 from a CSV path or inline records "
    "(backtest_load_forecast scores it). Tool errors name the field at fault and the fix. Remedial actions are "
    "proposals: GridSage operates nothing."
)


class StaticTokenVerifier:
    """Accepts exactly one bearer token, compared in constant time.

    Parameters
    ----------
    token : str
        The token clients must send as ``Authorization: Bearer <token>``.
    """

    def __init__(self, token: str):
        self._token = token.encode("utf-8")

    async def verify_token(self, token: str) -> AccessToken | None:
        """An :class:`AccessToken` for the configured token, ``None`` for any other."""
        if secrets.compare_digest(token.encode("utf-8"), self._token):
            return AccessToken(token=token, client_id="gridsage-bearer", scopes=[])
        return None


def build_server(token: str | None = None, max_sessions: int = config.MCP_MAX_SESSIONS,
                 log_level: LogLevel = "warning") -> GridSageMCPServer:
    """Build the GridSage MCP server.

    Parameters
    ----------
    token : str, optional
        Bearer token the HTTP transport requires (usually read from the
        environment variable :data:`gridsage.config.TOKEN_ENV`).  ``None``
        serves without authentication; stdio ignores it.
    max_sessions : int, default :data:`gridsage.config.MCP_MAX_SESSIONS`
        HTTP session workspaces held at once.
    log_level : {'debug', 'info', 'warning', 'error'}, default 'warning'
        Level of the SDK's and uvicorn's log lines on stderr; ``'info'`` adds one per HTTP request and session
        (about a tenth of the server's time under load, measured with 100 clients).  GridSage's own start-up line
        is always shown.

    Returns
    -------
    GridSageMCPServer
        With the tools of :func:`~gridsage.tools.toolset.toolset` (limits in their input schemas), the resources
        and the prompts registered.

    Raises
    ------
    InputError
        If ``token`` is given but empty, or ``max_sessions`` < 1.

    Notes
    -----
    The token is checked by the SDK's bearer middleware through
    :class:`StaticTokenVerifier`.  No OAuth protected-resource metadata is
    published (``resource_server_url=None``): a static token has no
    authorization server for a client to discover, so a request without the
    token simply gets 401.  The SDK requires an ``issuer_url`` whenever auth
    is on; it is set to the loopback address and is not served.
    """
    auth_kwargs: dict[str, Any] = {}
    if token is not None:
        if not token.strip():
            raise InputError("the bearer token is empty", field="token",
                             fix=f"set {config.TOKEN_ENV} to a long random string, or unset it to serve without auth.")
        auth_kwargs = {
            "token_verifier": StaticTokenVerifier(token),
            "auth": AuthSettings(issuer_url=f"http://{config.MCP_HTTP_HOST}", resource_server_url=None),
        }
    if max_sessions < 1:
        raise InputError(f"max_sessions is {max_sessions}", field="max_sessions", fix="give 1 or more.")
    server = GridSageMCPServer(config.MCP_SERVER_NAME, instructions=INSTRUCTIONS, version=__version__,
                               workspaces=WorkspacePool(max_sessions, config.MCP_SESSION_IDLE_S),
                               middleware=[refuse_sessionless_http()], log_level=log_level.upper(), **auth_kwargs)
    logging.getLogger("gridsage").setLevel(min(logging.INFO, logging.getLevelName(log_level.upper())))

    for spec in toolset():
        server.add_checked_tool(spec)

    server.resource("grid://{grid_id}/summary", name="grid_summary", mime_type="application/json",
                    description="Element counts, voltage levels, load and generation of a loaded grid.")(grid_summary_json)
    server.resource("evidence://{evidence_id}{?path,offset,limit}", name="evidence", mime_type="application/json",
                    description="The ledger record behind an evidence id: tool, inputs and its full result, paged: "
                                "path (JSON pointer, e.g. /violations), offset, limit (list items).",
                    security=ResourceSecurity(exempt_params={"path"}))(evidence_json)  # a JSON pointer, not a file
    server.resource("scenario://library", name="scenario_library", mime_type="application/json",
                    description="The scenario files shipped with GridSage.")(scenario_library_json)
    server.resource("scenario://{name}", name="scenario", mime_type="application/yaml",
                    description="A scenario file's YAML text, by name (see scenario://library).")(scenario_yaml)

    server.resource("standards://index", name="standards_index", mime_type="application/json",
                    description="Every standards-corpus entry: id, title, standard, clause, tags.")(standards_index_json)
    server.resource("standards://{entry_id}", name="standard", mime_type="text/markdown",
                    description="One standards-corpus entry (cited by findings as entry_id): clause, figures, text.")(standard_markdown)

    server.prompt(name="assess_contingency")(assess_contingency)
    return server


def transport_security(host: str, allowed_hosts: Iterable[str] = ()) -> TransportSecuritySettings:
    """DNS-rebinding protection for an HTTP bind on ``host``: Host and Origin must name loopback, ``host`` or one of
    ``allowed_hosts`` (any port).

    Parameters
    ----------
    host : str
        The bind address.  A wildcard (``0.0.0.0``, ``::``) names no host clients use: this machine's host name is
        allowed, and clients reaching it by another name or address need that name in ``allowed_hosts``.
    allowed_hosts : iterable of str
        Further host names or addresses clients use to reach the server.

    Returns
    -------
    TransportSecuritySettings
        With protection on.
    """
    names = ["127.0.0.1", "localhost", "::1"]
    names += [socket.gethostname()] if host in ("0.0.0.0", "::", "") else [host]
    names += [name.strip() for name in allowed_hosts if name.strip()]
    hosts: list[str] = []
    for name in dict.fromkeys(names):
        bracketed = f"[{name}]" if ":" in name and not name.startswith("[") else name
        hosts += [bracketed, f"{bracketed}:*"]
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def run(
    transport: Literal["stdio", "http"] = "stdio",
    host: str = config.MCP_HTTP_HOST,
    port: int = config.MCP_HTTP_PORT,
    token: str | None = None,
    allowed_hosts: Iterable[str] = (),
    max_sessions: int = config.MCP_MAX_SESSIONS,
    log_level: LogLevel = "warning",
) -> None:
    """Serve GridSage over MCP until stopped.

    Parameters
    ----------
    transport : {'stdio', 'http'}, default 'stdio'
        ``'stdio'``: JSON-RPC on stdin/stdout (stdout carries protocol only); one client, one workspace.
        ``'http'``: streamable HTTP at ``http://<host>:<port>/mcp``, a workspace per session.
    host : str, default '127.0.0.1'
        HTTP bind address.  DNS-rebinding protection is on for every host (:func:`transport_security`).
    port : int, default 8765
        HTTP port.
    token : str, optional
        Bearer token required on HTTP (see :func:`build_server`); required for a non-loopback ``host``.
    allowed_hosts : iterable of str, optional
        HTTP: further Host names clients use to reach the server (e.g. its address on the network).
    max_sessions : int, default :data:`gridsage.config.MCP_MAX_SESSIONS`
        HTTP: sessions (and workspaces) held at once; a session beyond it gets HTTP 503.
    log_level : {'debug', 'info', 'warning', 'error'}, default 'warning'
        As for :func:`build_server`.

    Raises
    ------
    InputError
        If ``transport`` is unknown, or HTTP would bind a non-loopback
        ``host`` without a token.
    """
    if transport == "stdio":
        anyio.run(build_server(log_level=log_level).run_stdio_async)
    elif transport == "http":
        if token is None and host not in config.LOOPBACK_HOSTS:
            raise InputError(
                f"refusing to serve on {host!r} without a bearer token", field="host",
                fix=f"bind {config.MCP_HTTP_HOST}, or set {config.TOKEN_ENV} so that clients must authenticate.")
        server = build_server(token, max_sessions=max_sessions, log_level=log_level)
        security = transport_security(host, allowed_hosts)
        sys.setswitchinterval(config.MCP_SWITCH_INTERVAL_S)  # the event loop waits less for the GIL
        logger.info("GridSage MCP on http://%s:%d%s (auth: %s; allowed hosts: %s)", host, port, config.MCP_HTTP_PATH,
                    "bearer token" if token else "none", ", ".join(security.allowed_hosts[::2]))
        anyio.run(functools.partial(server.run_streamable_http_async, host=host, port=port,
                                    streamable_http_path=config.MCP_HTTP_PATH, transport_security=security,
                                    max_sessions=max_sessions, session_idle_timeout=config.MCP_SESSION_IDLE_S))
    else:
        raise InputError(f"unknown transport {transport!r}", field="transport", fix="use 'stdio' or 'http'.")
