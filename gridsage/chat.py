"""``gridsage chat``: the operator's terminal console over the chat agent.

A thin adapter: each line goes to :func:`gridsage.reasoning.agent.ask`; tool
calls print as they complete; each turn is saved to the SQLite history so
``--session ID`` resumes the conversation.  Commands start with ``/``.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from gridsage.errors import GridSageError

HELP = """Commands:
  /scenario NAME|FILE   study a scenario (shipped name, e.g. case39_unit_trip, or a YAML file)
  /grid NAME|FILE       study a grid as it is (e.g. case14, pglib_opf_case118_ieee)
  /export FILE          write this session's turns to FILE (.md for markdown, else JSON)
  /history              list this session's turns
  /help                 this text
  /quit                 leave (Ctrl-D too)
Anything else is a question for GridSage."""


def _show_call(console: Console, call) -> None:
    args = ", ".join(f"{k}={v!r}" for k, v in call.args.items())
    mark = {"refused": "[yellow]refused[/]", "error": "[red]error[/]"}.get(call.status, f"[green]{call.status}[/]")
    tail = f" [{call.evidence_id}]" if call.evidence_id else f" {call.message}" if call.message else ""
    console.print(f"  [dim]→ {call.tool}({escape(args)[:120]})[/] {mark}{escape(tail)}", highlight=False)


def show_turn(console: Console, turn) -> None:
    """Print one answer: notice, verdict, answer, claims with evidence, actions, standards, grounding."""
    a = turn.answer
    if turn.notice:
        console.print(f"[yellow]notice[/] {escape(turn.notice)}", highlight=False)
    who = turn.model if turn.source == "model" else "deterministic planner" if turn.source == "planner" else "GridSage"
    console.print(f"[bold]GridSage[/] ({escape(who or '')}) verdict: [bold]{a.verdict}[/]", highlight=False)
    console.print(escape(a.answer), highlight=False)
    for claim in a.claims:
        console.print(f"  • {escape(claim.statement)} [dim]\\[{', '.join(claim.evidence_ids)}][/]", highlight=False)
    for e in a.telemetry_events if turn.source == "model" else []:  # the planner's claims already state each one
        console.print(f"  ◦ {escape(e.device_id)} {escape(e.sensor_type)}: {e.type}, {e.origin} "
                      f"[dim]\\[{', '.join(e.evidence_ids)}][/]", highlight=False)
    for i, action in enumerate(a.actions, 1):
        console.print(f"  {i}. {escape(action)} [dim](proposal)[/]", highlight=False)
    if a.citations:
        console.print(f"  [dim]standards: {', '.join(a.citations)} (gridsage knowledge show ID)[/]", highlight=False)
    g = turn.grounding
    if g.ungrounded:
        console.print(f"[red]ungrounded numbers ({len(g.ungrounded)} of {g.checked}): {', '.join(g.ungrounded)}[/] "
                      "— no tool result supports them; do not act on them.", highlight=False)
    console.print(f"[dim]{len(turn.tool_calls)} tool call(s), grounding {g.grounded}/{g.checked}, {turn.elapsed_s:.1f} s[/]")


def export(turns, path: Path) -> None:
    """Write turns as markdown (``.md``) or JSON."""
    if path.suffix == ".md":
        lines = []
        for t in turns:
            lines += [f"## {t.question}", "", f"*{t.source}* · verdict **{t.answer.verdict}**", ""]
            lines += ([f"> {t.notice}", ""] if t.notice else []) + [t.answer.answer, ""]
            lines += [f"- {c.statement} ({', '.join(c.evidence_ids)})" for c in t.answer.claims]
            lines += [f"{i}. {x} (proposal)" for i, x in enumerate(t.answer.actions, 1)] + [""]
        path.write_text("\n".join(lines), encoding="utf-8")
    else:
        path.write_text(json.dumps([t.model_dump(mode="json") for t in turns], indent=2), encoding="utf-8")


def run_chat(model_spec: str | None, scenario: str | None, grid: str | None, session_id: str | None,
             use_mcp: bool, console: Console, read=input, tools: str | None = None) -> None:
    """The console loop, until /quit or end of input.

    Raises
    ------
    GridSageError
        For a bad model spec, scenario or session id (before the loop starts).
    """
    import sys

    from pydantic_ai import ModelMessagesTypeAdapter

    from gridsage.reasoning.agent import ChatSession, ask
    from gridsage.reasoning.agent import ChatHistory
    from gridsage.reasoning.agent import build_model, parse_model_spec
    from gridsage.reasoning.scenario import load_scenario

    history = ChatHistory()
    spec = parse_model_spec(model_spec)
    session = ChatSession(model=build_model(spec) if spec else None, model_label=spec.label if spec else None,
                          **({"tools": tools} if tools else {}))
    if use_mcp:
        from fastmcp.client.transports import StdioTransport
        from pydantic_ai.mcp import MCPToolset

        session.toolset = MCPToolset(StdioTransport(command=sys.executable, args=["-m", "gridsage", "mcp"]))
    if session_id:
        info = history.session(session_id)
        scenario, grid = scenario or info.scenario, grid or info.grid
        session.messages = history.messages(session_id)
        session.turns = history.turns(session_id)
        console.print(f"resumed session {session_id}: {info.turns} turn(s), study {info.scenario or info.grid or 'none'}")
    else:
        session_id = history.new_session(model=session.model_label, scenario=scenario, grid=grid)

    def set_scenario(name: str) -> None:
        session.scenario, session.scenario_dir = load_scenario(name)
        session.grid = None
        history.set_context(session_id, name, None)
        console.print(f"studying scenario {session.scenario.name}: {escape(session.scenario.title or '')}", highlight=False)

    def set_grid(name: str) -> None:
        session.scenario, session.grid = None, name
        history.set_context(session_id, None, name)
        console.print(f"studying grid {name}")

    if scenario:
        set_scenario(scenario)
    elif grid:
        set_grid(grid)
    console.print(f"GridSage chat, session {session_id}, model {session.model_label or 'none (planner answers)'}. /help for commands.")
    while True:
        try:
            line = read("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not line:
            continue
        command, _, argument = line.partition(" ")
        try:
            if command in ("/quit", "/exit"):
                break
            if command == "/help":
                console.print(HELP, highlight=False)
            elif command == "/scenario":
                set_scenario(argument.strip())
            elif command == "/grid":
                set_grid(argument.strip())
            elif command == "/export":
                path = Path(argument.strip() or f"gridsage-chat-{session_id}.md")
                export(session.turns, path)
                console.print(f"wrote {len(session.turns)} turn(s) to {path}")
            elif command == "/history":
                for i, t in enumerate(session.turns, 1):
                    console.print(f"{i}. {escape(t.question)} -> {t.answer.verdict} ({t.source})", highlight=False)
            elif command.startswith("/"):
                console.print(f"unknown command {command}; /help lists them")
            else:
                turn = ask(session, line, on_tool_call=lambda call: _show_call(console, call))
                show_turn(console, turn)
                messages = ModelMessagesTypeAdapter.dump_json(session.messages) if turn.source == "model" else None
                history.add_turn(session_id, turn, messages)
        except GridSageError as exc:
            console.print(f"[bold red]error[/] {escape(str(exc))}", highlight=False)
    console.print(f"session {session_id} saved; resume with: gridsage chat --session {session_id}")
