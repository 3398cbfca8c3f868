"""``gridsage mcp | chat | console``: the MCP server, the operator's chat, the local web console."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Optional

import typer
from rich.console import Console

from gridsage.cli._shared import ToolsOption, app, err, fail, out
from gridsage.config import MCP_HTTP_HOST, MCP_HTTP_PORT, MCP_MAX_SESSIONS, TOKEN_ENV
from gridsage.console import CONSOLE_HOST, CONSOLE_PORT
from gridsage.errors import GridSageError


class Transport(str, Enum):
    stdio = "stdio"
    http = "http"


class LogLevel(str, Enum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


@app.command(help=(
    "Serve the tools, resources and prompts over MCP (Model Context Protocol).\n\n"
    f"With `--transport http`, set the environment variable `{TOKEN_ENV}` to require "
    "`Authorization: Bearer <token>`; requests without it get 401 (a host other than loopback requires it). Each "
    "HTTP session has its own workspace (grids, evidence); stdio serves one client. In stdio mode nothing but the "
    "protocol is written to stdout. Example: `gridsage mcp --transport http --port 8765`."
))
def mcp(
    transport: Annotated[Transport, typer.Option("--transport", "-t", help="`stdio` for desktop/IDE clients, `http` for streamable HTTP.")] = Transport.stdio,
    host: Annotated[str, typer.Option("--host", help="Interface for HTTP (loopback by default).")] = MCP_HTTP_HOST,
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port for HTTP.")] = MCP_HTTP_PORT,
    allow_host: Annotated[Optional[list[str]], typer.Option("--allow-host", help="HTTP: a further host name or address clients use to reach the server (Host/Origin checks stay on); repeatable.")] = None,
    max_sessions: Annotated[int, typer.Option("--max-sessions", min=1, help="HTTP: sessions (each with its own workspace) held at once.")] = MCP_MAX_SESSIONS,
    log_level: Annotated[LogLevel, typer.Option("--log-level", help="Log lines on stderr: `info` adds one per HTTP request and session (a tenth of the server's time under heavy load); `warning` shows problems only.")] = LogLevel.warning,
) -> None:
    import os

    from gridsage.mcp_server import run

    try:
        run(transport.value, host=host, port=port, token=os.environ.get(TOKEN_ENV) or None,
            allowed_hosts=allow_host or (), max_sessions=max_sessions, log_level=log_level.value)
    except GridSageError as exc:
        fail(exc)


@app.command(help=(
    "Chat with GridSage like with a senior grid engineer: it calls the same tools (each call shown with its status "
    "and evidence id), answers with evidence-backed claims, and flags any number no tool result supports.\n\n"
    "Model: `--model ollama:<name>` (Ollama at `OLLAMA_BASE_URL`, default http://127.0.0.1:11434/v1), "
    "`--model openai-compatible:<name>` (`GRIDSAGE_OPENAI_BASE_URL`, optional `GRIDSAGE_OPENAI_API_KEY`), or none "
    "(`GRIDSAGE_MODEL` is the default). With no model, or when the model fails, the deterministic planner answers, "
    "with a notice.\n\nExample: `gridsage chat --scenario case39_unit_trip`, then ask \"what is overloaded?\". "
    "Sessions are saved (`GRIDSAGE_CHAT_DB`); `--session ID` resumes one, `--list` shows them."))
def chat(
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="ollama:<name>, openai-compatible:<name>, local-gguf:<path>, or none. Default $GRIDSAGE_MODEL.")] = None,
    scenario: Annotated[Optional[str], typer.Option("--scenario", "-s", help="Scenario to study (shipped name or YAML file).")] = None,
    grid: Annotated[Optional[str], typer.Option("--grid", "-g", help="Grid to study as it is (name or file).")] = None,
    session: Annotated[Optional[str], typer.Option("--session", help="Resume a saved session by id.")] = None,
    list_sessions: Annotated[bool, typer.Option("--list", help="List saved sessions and exit.")] = False,
    mcp: Annotated[bool, typer.Option("--mcp", help="Reach the tools through a `gridsage mcp` subprocess instead of in process.")] = False,
    tools: ToolsOption = None,
) -> None:
    from gridsage.chat import run_chat

    if list_sessions:
        from gridsage.reasoning.agent import ChatHistory

        for info in ChatHistory().sessions():
            out.print(f"{info.id}  {info.created_utc}  {info.turns} turn(s)  model {info.model or 'none'}  "
                      f"study {info.scenario or info.grid or '-'}", highlight=False)
        return
    console = Console(width=None if sys.stdout.isatty() else 140, highlight=False)
    reader = console.input if sys.stdin.isatty() else (lambda prompt: _read_line())
    try:
        run_chat(model, scenario, grid, session, mcp, console, read=reader, tools=tools)
    except GridSageError as exc:
        fail(exc)


@app.command(help=(
    "Serve the chat as a local web page: the conversation, each tool call with its status and evidence id, the "
    "answer (verdict, evidence-backed claims, proposed actions, standards cited, grounding flags) and a chart of "
    "branch loading [%] before and after the proposed actions, read from the evidence ledger.\n\n"
    f"Open http://{CONSOLE_HOST}:{CONSOLE_PORT}/ in a browser. The page ships inside the package and loads nothing from the "
    "network, so the console works offline. It binds to loopback by default and has no login: a `--host` other "
    "than loopback exposes it to your network. Each browser tab gets its own session, kept in memory until the "
    "server stops.\n\n"
    "Model: as for `gridsage chat` (`--model`, default `GRIDSAGE_MODEL`); with none, the deterministic planner "
    "answers, with a notice.\n\nExample: `gridsage console --scenario case39_unit_trip`, open the URL, ask "
    "\"what is overloaded, and what should I do first?\"."))
def console(
    host: Annotated[str, typer.Option("--host", help="Interface to bind (loopback by default).")] = CONSOLE_HOST,
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port.")] = CONSOLE_PORT,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="`ollama:<name>`, `openai-compatible:<name>`, `local-gguf:<path>`, or `none`. Default $GRIDSAGE_MODEL.")] = None,
    scenario: Annotated[Optional[str], typer.Option("--scenario", "-s", help="Scenario preselected on the page (shipped name or YAML file).")] = None,
    tools: ToolsOption = None,
) -> None:
    from gridsage.console import LOOPBACK_NAMES, serve

    if host not in LOOPBACK_NAMES:
        err.print(f"[yellow]warning[/] serving on {host}: anyone who can reach it can use the console (no login).")
    try:
        serve(host, port, model, scenario, announce=lambda line: err.print(line, highlight=False), tools=tools)
    except GridSageError as exc:
        fail(exc)


def _read_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


@app.command("tools")
def tools_command(
    profile: Annotated[str, typer.Option("--profile", "-p", help="`all`, or `study` (the tools a scenario study needs, shown to small models with `--tools study`).")] = "all",
) -> None:
    """List the tools GridSage publishes (MCP server, chat agent): name, kind, whether it may reach the network, profiles.

    Kinds: `analysis` reads only; `what_if` adds a derived grid (a copy: a loaded grid never changes);
    `destructive` removes one from the workspace; `writes_graph` writes a grid into the topology graph;
    `writes_files` writes files into a folder you name (overwriting files of the same name).
    Example: `gridsage tools --profile study`.
    """
    from rich.table import Table

    from gridsage.tools.toolset import check_profile, toolset

    try:
        selected = toolset().profile(check_profile(profile))
    except GridSageError as exc:
        fail(exc)
    table = Table("tool", "kind", "network", "profiles", "what it does", title=f"{len(selected)} tools ({profile})",
                  title_justify="left")
    for spec in selected:
        table.add_row(spec.name, spec.kind, "may" if spec.open_world else "no", ", ".join(["all", *sorted(spec.profiles)]),
                      spec.description)
    out.print(table)
