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
  ``evidence://{evidence_id}{?path,offset,limit}``.
- **Errors**: a ``GridSageError`` raised by a tool, and an argument that fails
  the tool's input schema, both reach the client as a tool result with
  ``isError: true`` whose text is the typed message (it names the field and
  the fix).  Any other exception is a crash: the client reads only
  ``Error executing tool <name>``; the traceback goes to the server log
  (stderr).
- **Resources**: ``grid://{grid_id}/summary``, ``evidence://{evidence_id}`` (paged),
  ``scenario://library`` and ``scenario://{name}``.
- **Prompts**: ``assess_contingency``, from ``prompts/assess_contingency.md``.
- **Transports**: stdio (stdout carries protocol only; logs go to stderr), and
  streamable HTTP on 127.0.0.1 with DNS-rebinding protection and an optional
  static bearer token.

Importing this module loads the MCP SDK and the tool modules, never
pandapower: the tools import it on first use.
"""

from __future__ import annotations

import functools
import importlib.resources
import inspect
import json
import logging
import secrets
from typing import Annotated, Any, Literal

import anyio
import pydantic
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context, MCPServer, ResourceSecurity
from mcp.server.mcpserver.exceptions import (
    ResourceNotFoundError,
    ToolError,
    UnexpectedToolError,
)
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import Field

from gridsage import __version__, config
from gridsage.errors import GridSageError, InputError, from_validation_error
from gridsage.knowledge.corpus import get_entry, load_corpus
from gridsage.knowledge.settings import KnowledgeSettings
from gridsage.tools.evidence_reader import page
from gridsage.tools.grid import summarize
from gridsage.tools.toolset import ToolSpec, toolset
from gridsage.tools.workspace import current_workspace

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- tools

def annotations(spec: ToolSpec) -> ToolAnnotations:
    """MCP annotations for a tool, from its kind and reach in the toolset (:meth:`ToolSpec.hints`)."""
    hints = spec.hints()
    return ToolAnnotations(read_only_hint=hints["read_only"], destructive_hint=hints["destructive"],
                           idempotent_hint=hints["idempotent"], open_world_hint=hints["open_world"])


def mcp_tool(fn):
    """``fn`` (a :attr:`ToolSpec.published` function) answering as an MCP tool result.

    Returns
    -------
    callable
        With ``fn``'s parameters; it returns a ``CallToolResult`` whose ``structuredContent`` is ``fn``'s result as JSON
        (validated by the SDK against ``fn``'s return type, the published ``outputSchema``) and whose one text block
        is the result's :meth:`~gridsage.tools.base.ToolResult.one_line` (the spec requires the structure when a tool
        has an output schema and recommends text beside it; one line, not a second copy).
    """
    signature = inspect.signature(fn, eval_str=True)

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> CallToolResult:
        result = fn(*args, **kwargs)
        return CallToolResult(content=[TextContent(type="text", text=result.one_line())],
                              structured_content=result.model_dump(mode="json"))

    call.__signature__ = signature.replace(return_annotation=Annotated[CallToolResult, signature.return_annotation])
    return call


def as_tool_error(exc: ToolError) -> ToolError:
    """The tool error a client should read for ``exc``, as raised by the SDK.

    The SDK wraps everything a tool raises: an anticipated :class:`ToolError`
    becomes ``'Error executing tool <name>: <message>'``, anything else an
    :class:`UnexpectedToolError` whose text hides the cause.  GridSage errors
    are anticipated by design, so they are unwrapped to their own message, and
    a failed input schema is rephrased the way the tools phrase it.

    Parameters
    ----------
    exc : ToolError
        What :meth:`MCPServer.call_tool` raised.

    Returns
    -------
    ToolError
        Carrying ``str(GridSageError)`` when a GridSage error caused ``exc``;
        :func:`~gridsage.errors.from_validation_error`'s message when the
        arguments failed the input schema; otherwise ``exc`` unchanged.
    """
    cause = exc.__cause__
    if isinstance(cause, GridSageError):
        return ToolError(str(cause))
    if isinstance(cause, pydantic.ValidationError) and not isinstance(exc, UnexpectedToolError):
        return ToolError(str(from_validation_error(cause)))
    return exc


class GridSageMCPServer(MCPServer):
    """:class:`MCPServer` that reports GridSage errors with their own message."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Call a tool; see :func:`as_tool_error` for how failures are reported."""
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            mapped = as_tool_error(exc)
            if mapped is exc:
                raise
            # keep the cause, so the SDK logs field names (not values) for bad arguments
            raise mapped from exc.__cause__


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


def build_server(token: str | None = None) -> MCPServer:
    """Build the GridSage MCP server.

    Parameters
    ----------
    token : str, optional
        Bearer token the HTTP transport requires (usually read from the
        environment variable :data:`gridsage.config.TOKEN_ENV`).  ``None``
        serves without authentication; stdio ignores it.

    Returns
    -------
    MCPServer
        With the tools of :func:`~gridsage.tools.toolset.toolset`, the resources and the prompts registered.

    Raises
    ------
    InputError
        If ``token`` is given but empty.

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
    server = GridSageMCPServer(config.MCP_SERVER_NAME, instructions=INSTRUCTIONS, version=__version__, **auth_kwargs)

    for spec in toolset():
        server.add_tool(mcp_tool(spec.published), name=spec.name, description=spec.description,
                        annotations=annotations(spec), structured_output=True)

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


def run(
    transport: Literal["stdio", "http"] = "stdio",
    host: str = config.MCP_HTTP_HOST,
    port: int = config.MCP_HTTP_PORT,
    token: str | None = None,
) -> None:
    """Serve GridSage over MCP until stopped.

    Parameters
    ----------
    transport : {'stdio', 'http'}, default 'stdio'
        ``'stdio'``: JSON-RPC on stdin/stdout (stdout carries protocol only).
        ``'http'``: streamable HTTP at ``http://<host>:<port>/mcp``.
    host : str, default '127.0.0.1'
        HTTP bind address.  DNS-rebinding protection is on for loopback hosts.
    port : int, default 8765
        HTTP port.
    token : str, optional
        Bearer token required on HTTP (see :func:`build_server`).

    Raises
    ------
    InputError
        If ``transport`` is unknown, or HTTP would bind a non-loopback
        ``host`` without a token.
    """
    if transport == "stdio":
        build_server().run("stdio")
    elif transport == "http":
        if token is None and host not in config.LOOPBACK_HOSTS:
            raise InputError(
                f"refusing to serve on {host!r} without a bearer token", field="host",
                fix=f"bind {config.MCP_HTTP_HOST}, or set {config.TOKEN_ENV} so that clients must authenticate.")
        server = build_server(token)
        logger.info("GridSage MCP on http://%s:%d%s (auth: %s)", host, port, config.MCP_HTTP_PATH,
                    "bearer token" if token else "none")
        anyio.run(functools.partial(server.run_streamable_http_async, host=host, port=port,
                                    streamable_http_path=config.MCP_HTTP_PATH))
    else:
        raise InputError(f"unknown transport {transport!r}", field="transport", fix="use 'stdio' or 'http'.")
