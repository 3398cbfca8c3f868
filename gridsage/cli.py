"""The ``gridsage`` command line: a thin adapter over the tools and the planner.

Every command calls the same tool functions the MCP server and the agent use.
Reports go to stdout; progress and errors go to stderr.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from gridsage.cli_output import OutputFormat, err, out
from gridsage.cli_output import fail as _fail
from gridsage.config import MCP_HTTP_HOST, MCP_HTTP_PORT, TOKEN_ENV
from gridsage.console import CONSOLE_HOST, CONSOLE_PORT
from gridsage.errors import GridSageError
from gridsage.forecast_cli import forecast_app
from gridsage.health_cli import health_app
from gridsage.telemetry_cli import telemetry_app

app = typer.Typer(
    name="gridsage",
    help=(
        "GridSage reasons about an electric grid like a senior grid engineer: power flow, N-1 contingency "
        "analysis, validated remedial actions, and an evidence-linked assessment that cites its standards.\n\n"
        "Start with `gridsage analyze ieee118_summer_line_trip` (a shipped scenario), "
        "or `gridsage grids` to see the grids you can load by name."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
class ReportFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


class Dispatch(str, Enum):
    auto = "auto"
    file = "file"
    opf = "opf"


class Method(str, Enum):
    auto = "auto"
    lightsim2grid = "lightsim2grid"
    pandapower = "pandapower"


class Transport(str, Enum):
    stdio = "stdio"
    http = "http"


ToolsOption = Annotated[Optional[str], typer.Option("--tools", help="Tool profile the model sees: `all` (every tool) or `study` (the 9 a scenario study needs, grid or telemetry: a short prompt for small local models). Default $GRIDSAGE_TOOLS or `all`.")]
GridOption = Annotated[str, typer.Option("--grid", "-g", help="Built-in name (`gridsage grids`), PGLib-OPF name, or a .m / .mat / pandapower .json file.")]
DispatchOption = Annotated[Dispatch, typer.Option("--base-dispatch", help="`file` keeps stored set-points; `opf` derives a secure AC-OPF dispatch; `auto` = opf for PGLib-OPF cases.")]
VminOption = Annotated[Optional[float], typer.Option("--vm-min", help="Lower voltage limit [pu]. Default: the corpus figure, 0.95 (ANSI C84.1 Range A; `GRIDSAGE_LIMITS_FILE` overrides it).")]
VmaxOption = Annotated[Optional[float], typer.Option("--vm-max", help="Upper voltage limit [pu]. Default: the corpus figure, 1.05 (ANSI C84.1 Range A).")]
LoadingOption = Annotated[Optional[float], typer.Option("--max-loading", help="Thermal limit [% of rating]. Default: the corpus figure, 100 (NERC TPL-001 Table 1).")]


def _as_json(result, fmt: OutputFormat) -> bool:
    """Print ``result`` as JSON when asked; True if it did."""
    if fmt is OutputFormat.json:
        out.print_json(result.model_dump_json())
    return fmt is OutputFormat.json


def _load(grid: str, base_dispatch: Dispatch) -> str:
    from gridsage.tools.grids import load_grid

    with err.status(f"loading {grid} ..."):
        return load_grid(grid, base_dispatch=base_dispatch.value).grid_id


@app.command()
def grids() -> None:
    """List the grids you can load by name: pandapower built-ins and PGLib-OPF cases (real thermal ratings)."""
    from gridsage.tools.grid_sources import grid_catalog

    table = Table("name", "library", "description", title="Grids loadable by name", title_justify="left")
    for entry in grid_catalog():
        table.add_row(entry.name, entry.library, entry.description)
    out.print(table)
    out.print("Any MATPOWER .m/.mat or pandapower .json file can be given as a path too.")


@app.command()
def powerflow(
    grid: GridOption,
    dc: Annotated[bool, typer.Option("--dc", help="Linear DC power flow instead of AC Newton-Raphson (1 pu voltages, no Q).")] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="`text` table or `json` (the tool result).")] = OutputFormat.text,
    base_dispatch: DispatchOption = Dispatch.auto,
    vm_min: VminOption = None,
    vm_max: VmaxOption = None,
    max_loading: LoadingOption = None,
    rows: Annotated[int, typer.Option("--rows", help="Most bus and branch rows in the result (worst first).")] = 200,
) -> None:
    """Solve the power flow of a grid and list violations (voltage [pu], loading [%]).

    A failed AC solve is retried (flat start, DC initialisation, more iterations); if all fail, the
    report says so and shows pandapower's diagnostic. Example: `gridsage powerflow -g case14`.
    """
    from gridsage.tools.power_flow import run_power_flow

    try:
        result = run_power_flow(_load(grid, base_dispatch), mode="dc" if dc else "ac", vm_min_pu=vm_min,
                                vm_max_pu=vm_max, max_loading_percent=max_loading, max_rows=rows)
    except GridSageError as exc:
        _fail(exc)
    if _as_json(result, fmt):
        return
    out.print(f"[bold]{grid}[/] {result.mode.upper()} power flow: [bold]{result.status}[/] "
              f"after {len(result.attempts)} attempt(s) \\[{result.evidence_id}]")
    for a in result.attempts:
        out.print(f"  {'ok ' if a.converged else 'FAIL'} {a.strategy}, {a.time_ms:.0f} ms" + (f": {a.message}" if a.message else ""))
    if result.status != "converged":
        out.print("[bold red]No solution.[/] pandapower diagnostic:")
        for d in result.diagnostics:
            out.print(f"  - {d.check}: {d.finding}")
        raise typer.Exit(code=1)
    out.print(f"load {result.load_p_mw:.1f} MW, generation {result.generation_p_mw:.1f} MW, losses {result.losses_p_mw:.1f} MW; "
              f"voltages {result.vm_min_pu:.4f}-{result.vm_max_pu:.4f} pu; max loading {result.max_loading_percent} %")
    table = Table("element", "kind", "value", "limit", "standard", title=f"{len(result.violations)} violation(s)", title_justify="left")
    for v in result.violations:
        table.add_row(v.name, v.kind, f"{v.value:g} {v.unit}", f"{v.limit:g} {v.unit}", v.citation.short())
    out.print(table)
    for note in result.notes:
        out.print(f"[yellow]note[/] {note}")


@app.command()
def contingency(
    grid: GridOption,
    top: Annotated[int, typer.Option("--top", "-n", help="How many of the most severe outages to list.")] = 10,
    method: Annotated[Method, typer.Option("--method", help="`auto` (lightsim2grid when installed), `lightsim2grid`, or `pandapower` (runpp loop).")] = Method.auto,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="`text` table or `json` (the tool result).")] = OutputFormat.text,
    base_dispatch: DispatchOption = Dispatch.auto,
    vm_min: VminOption = None,
    vm_max: VmaxOption = None,
    max_loading: LoadingOption = None,
) -> None:
    """N-1 analysis: outage each line and transformer, rank by max loading [%] then voltage excursion [pu].

    Outages that island buses or have no solution are listed explicitly. Example:
    `gridsage contingency -g pglib_opf_case118_ieee --top 5`.
    """
    from gridsage.tools.contingency import run_contingency_analysis

    try:
        grid_id = _load(grid, base_dispatch)
        with err.status("N-1 sweep ..."):
            result = run_contingency_analysis(grid_id, method=method.value, top=top, vm_min_pu=vm_min, vm_max_pu=vm_max,
                                              max_loading_percent=max_loading)
    except GridSageError as exc:
        _fail(exc)
    if _as_json(result, fmt):
        return
    out.print(f"[bold]{grid}[/] N-1: {result.contingencies_total} outages in {result.elapsed_s:.2f} s with {result.method} "
              f"({result.contingencies_per_s} /s); {result.with_violations_count} with violations, "
              f"{result.islanding_count} islanding, {result.diverged_count} without solution \\[{result.evidence_id}]")
    table = Table("rank", "outage", "max loading %", "on", "vm min pu", "violations", "islanded buses", title_justify="left",
                  title=f"Top {len(result.top)} by severity")
    for o in result.top:
        table.add_row(str(o.rank), o.outage.name, f"{o.max_loading_percent:.1f}" if o.max_loading_percent is not None else "",
                      o.max_loading_element.name if o.max_loading_element else "", f"{o.vm_min_pu:.4f}" if o.vm_min_pu else "",
                      str(o.violation_count), str(len(o.islanded_buses)))
    out.print(table)
    for o in result.islanding:
        out.print(f"islanding: {o.outage.name} cuts off bus(es) {o.islanded_buses} ({o.lost_load_mw:g} MW of load)")
    for o in result.diverged:
        out.print(f"[red]no solution[/]: {o.outage.name}")
    for note in result.notes:
        out.print(f"[yellow]note[/] {note}")


@app.command()
def analyze(
    scenario: Annotated[str, typer.Argument(help="Scenario YAML file, or the name of a shipped scenario (`gridsage scenarios`).")],
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="`text` report, `markdown`, or `json` (the Assessment with its evidence ledger).")] = ReportFormat.text,
    top: Annotated[int, typer.Option("--top", "-n", help="N-1 risks to report.")] = 10,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report to this file instead of stdout.")] = None,
    graph: Annotated[bool, typer.Option("--graph/--no-graph", help="Add topology context (zone, neighbours, load at risk) from the graph; costs the graph's start-up (~2-4 s) once.")] = True,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also draw branch loadings [%] before/after the events and the plan, and the N-1 risks (a telemetry scenario: the stream with the most anomalies, each marked), to this .png/.svg/.pdf (needs `pip install 'gridsage[plot]'`).")] = None,
) -> None:
    """The main job: assess a scenario like a senior grid engineer.

    Runs the base power flow, applies the scenario's events, runs the post-event power flow and N-1,
    proposes remedial actions and validates each one by AC power flow, then reports what happened,
    what is at risk, and what to do first, every number tagged with its evidence id.
    Example: `gridsage analyze scenarios/ieee118_summer_line_trip.yaml`.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from gridsage.reasoning.planner import STEPS, assess
    from gridsage.reasoning.render import render
    from gridsage.reasoning.scenario import load_scenario

    try:
        parsed, base_dir = load_scenario(scenario)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task(f"{parsed.name}: starting", total=len(STEPS))

            def step(message: str) -> None:
                if message in STEPS:
                    bar.update(task, description=f"{parsed.name}: {message}", completed=STEPS.index(message))

            assessment = assess(parsed, base_dir, top=top, progress=step, graph=graph)
        if plot and assessment.grid_id is None:  # a telemetry study: the stream with the most anomalies, marked
            from gridsage.telemetry_plot import plot_anomalies
            from gridsage.tools.anomaly import AnomalyReport

            scored = next(r for r in assessment.evidence.values() if r.tool == "score_telemetry")
            err.print(f"plot written to {plot_anomalies(AnomalyReport.model_validate(scored.result), plot)}")
        elif plot:
            from gridsage.reasoning.plot import plot_assessment

            err.print(f"plot written to {plot_assessment(assessment, plot)}")
    except GridSageError as exc:
        _fail(exc)
    report = render(assessment, fmt.value)
    if output:
        output.write_text(report)
        err.print(f"report written to {output}")
    else:
        sys.stdout.write(report)


@app.command()
def scenarios() -> None:
    """List the scenarios shipped with GridSage (run one with `gridsage analyze NAME`)."""
    from gridsage.reasoning.scenario import library, parse_scenario

    table = Table("name", "studies", "title", title="Shipped scenarios", title_justify="left")
    for name, text in sorted(library().items()):
        s = parse_scenario(text, name)
        table.add_row(name, s.subject(), s.title or "")
    out.print(table)


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="`scenario` (the YAML format) or `assessment` (the JSON output).")] = "scenario",
) -> None:
    """Print a JSON Schema: the scenario format or the Assessment."""
    if kind == "scenario":
        from gridsage.reasoning.scenario import scenario_json_schema as make
    elif kind == "assessment":
        from gridsage.reasoning.assessment import assessment_json_schema as make
    else:
        _fail(GridSageError(f"unknown schema {kind!r}", field="kind", fix="use 'scenario' or 'assessment'."))
    sys.stdout.write(make())


@app.command(help=(
    "Serve the tools, resources and prompts over MCP (Model Context Protocol).\n\n"
    f"With `--transport http`, set the environment variable `{TOKEN_ENV}` to require "
    "`Authorization: Bearer <token>`; requests without it get 401. In stdio mode nothing but the "
    "protocol is written to stdout. Example: `gridsage mcp --transport http --port 8765`."
))
def mcp(
    transport: Annotated[Transport, typer.Option("--transport", "-t", help="`stdio` for desktop/IDE clients, `http` for streamable HTTP.")] = Transport.stdio,
    host: Annotated[str, typer.Option("--host", help="Interface for HTTP (loopback by default).")] = MCP_HTTP_HOST,
    port: Annotated[int, typer.Option("--port", "-p", help="TCP port for HTTP.")] = MCP_HTTP_PORT,
) -> None:
    import os

    from gridsage.mcp_server import run

    run(transport.value, host=host, port=port, token=os.environ.get(TOKEN_ENV) or None)


graph_app = typer.Typer(
    name="graph",
    help=(
        "The topology graph: sync a grid into it and ask connectivity questions through fixed, read-only queries.\n\n"
        "The graph is the embedded ArcadeDB (Bolt, Neo4j 5 Cypher) unless `NEO4J_URI` points at a Neo4j server "
        "(with `NEO4J_USER`, `NEO4J_PASSWORD`). Example: `gridsage graph neighbours -g case118 --bus 48 --hops 2`."
    ),
    no_args_is_help=True,
)
app.add_typer(graph_app)
BusOption = Annotated[int, typer.Option("--bus", "-b", help="pandapower bus index.")]
BranchOption = Annotated[str, typer.Option("--element", "-e", help="`line` or `trafo`.")]
IndexOption = Annotated[int, typer.Option("--index", "-i", help="Index of the line or trafo.")]
JsonOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="`text` or `json` (the tool result).")]


def _graph_call(grid: str, fn, *args, fmt: OutputFormat = OutputFormat.text, **kwargs):
    """Load the grid, run a graph tool, print JSON if asked; returns the result for text output."""
    from rich.progress import Progress

    from gridsage.tools.graph import sync_progress

    try:
        grid_id = _load(grid, Dispatch.file)
        with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("syncing the grid into the graph", total=None)
            token = sync_progress.set(lambda done, total: bar.update(task, completed=done, total=total))
            try:
                result = fn(grid_id, *args, **kwargs)
            finally:
                sync_progress.reset(token)
    except GridSageError as exc:
        _fail(exc)
    if _as_json(result, fmt):
        return None
    return result


@graph_app.command("sync")
def graph_sync(grid: GridOption, fmt: JsonOption = OutputFormat.text) -> None:
    """Write a grid into the graph (idempotent MERGE): buses, branches, injections, CONNECTED bus pairs."""
    from gridsage.tools.graph import sync_graph

    if r := _graph_call(grid, sync_graph, fmt=fmt):
        out.print(f"{grid}: {sum(r.report.nodes.values())} nodes {r.report.nodes}, {r.report.connected} CONNECTED, "
                  f"{r.report.removed} stale removed, {r.report.time_s:.2f} s on {r.server_agent} \\[{r.evidence_id}]")


@graph_app.command("neighbours")
def graph_neighbours(grid: GridOption, bus: BusOption,
                     hops: Annotated[int, typer.Option("--hops", "-k", help="In-service branches away from the bus (1-6).")] = 2,
                     fmt: JsonOption = OutputFormat.text) -> None:
    """Buses within k in-service branches of a bus, nearest first, with the load there [MW]."""
    from gridsage.tools.graph import graph_neighbourhood

    if r := _graph_call(grid, graph_neighbourhood, bus, hops, fmt=fmt):
        out.print(f"bus {bus} (zone {r.zone}): {r.total} bus(es) within {hops} branch(es), load there {r.load_p_mw:.1f} MW \\[{r.evidence_id}]")
        for b in r.buses:
            out.print(f"  {b.hops} hop(s): bus {b.bus} {b.name or ''} {b.vn_kv:g} kV")


@graph_app.command("elements")
def graph_elements(grid: GridOption, bus: BusOption, fmt: JsonOption = OutputFormat.text) -> None:
    """Everything connected to a bus: lines, trafos (with side), gens, sgens, loads, ext_grids."""
    from gridsage.tools.graph import graph_elements_at_bus

    if r := _graph_call(grid, graph_elements_at_bus, bus, fmt=fmt):
        out.print(f"bus {bus}: {r.total} element(s) \\[{r.evidence_id}]")
        for e in r.elements:
            power = f", {e.p_mw:g} MW" if e.p_mw is not None else ""
            out.print(f"  {e.element} {e.index} {e.name or ''} ({e.side}{', out of service' if not e.in_service else ''}{power})")


@graph_app.command("path")
def graph_path_cmd(grid: GridOption,
                   from_bus: Annotated[int, typer.Option("--from", help="Start bus index.")],
                   to_bus: Annotated[int, typer.Option("--to", help="End bus index.")],
                   weight: Annotated[str, typer.Option("--weight", help="`branches` (fewest) or `impedance` (least total |x| [pu]).")] = "branches",
                   fmt: JsonOption = OutputFormat.text) -> None:
    """The electrical path between two buses over in-service branches."""
    from gridsage.tools.graph import graph_path

    if r := _graph_call(grid, graph_path, from_bus, to_bus, weight, fmt=fmt):
        if r.status == "no_path":
            out.print(f"no in-service path from bus {from_bus} to bus {to_bus} \\[{r.evidence_id}]")
            return
        out.print(f"{r.branch_count} branch(es), |x| {r.x_pu:.4f} pu: {' - '.join(map(str, r.buses))} via {', '.join(r.elements)} \\[{r.evidence_id}]")


def _print_isolation(r, what: str) -> None:
    out.print(f"{r.element} {r.index}: {what} {r.bus_count} bus(es) {r.buses[:30]}{' ...' if r.bus_count > 30 else ''}; "
              f"load {r.load_lost_mw:.2f} MW, generation {r.generation_lost_mw:.2f} MW; zones {r.zones or '-'} \\[{r.evidence_id}]")


@graph_app.command("outage")
def graph_outage(grid: GridOption, element: BranchOption, index: IndexOption, fmt: JsonOption = OutputFormat.text) -> None:
    """What a line or trafo outage isolates: buses, load lost [MW], generation lost [MW] (topology only)."""
    from gridsage.tools.graph import graph_outage_impact

    if r := _graph_call(grid, graph_outage_impact, element, index, fmt=fmt):
        _print_isolation(r, "isolates")


@graph_app.command("downstream")
def graph_downstream_cmd(grid: GridOption, element: BranchOption, index: IndexOption, fmt: JsonOption = OutputFormat.text) -> None:
    """What lies downstream of a transformer or feeder head (radial grids): buses and loads [MW] it alone supplies."""
    from gridsage.tools.graph import graph_downstream

    if r := _graph_call(grid, graph_downstream, element, index, fmt=fmt):
        _print_isolation(r, "supplies alone")


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
        from gridsage.reasoning.history import ChatHistory

        for info in ChatHistory().sessions():
            out.print(f"{info.id}  {info.created_utc}  {info.turns} turn(s)  model {info.model or 'none'}  "
                      f"study {info.scenario or info.grid or '-'}", highlight=False)
        return
    console = Console(width=None if sys.stdout.isatty() else 140, highlight=False)
    reader = console.input if sys.stdin.isatty() else (lambda prompt: _read_line())
    try:
        run_chat(model, scenario, grid, session, mcp, console, read=reader, tools=tools)
    except GridSageError as exc:
        _fail(exc)


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
        _fail(exc)


def _read_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line


@app.command("eval", help=(
    "Score answerers on scenarios with `expect:` blocks: the deterministic planner, and each `--model` side by side "
    "(pydantic-evals). Prints a table and writes eval.json and eval.md to `--out`.\n\n"
    "Scores: false-safe verdicts (goal 0), false alarms, verdict accuracy, violation recall from evidence-backed "
    "claims, telemetry event recall (grid event or sensor fault, as expected), action validity re-checked by an independent pandapower power flow, citation coverage, grounding rate; "
    "metrics: invalid and repeated tool calls, latency, tokens. `--scenarios DIR` points at a hidden set."))
def eval_command(
    scenarios: Annotated[Optional[Path], typer.Option("--scenarios", help="Folder of scenario YAML files (default: the shipped library).")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="A model to score beside the planner (repeatable): ollama:<name>, openai-compatible:<name>, local-gguf:<path>.")] = None,
    planner: Annotated[bool, typer.Option("--planner/--no-planner", help="Score the deterministic planner too.")] = True,
    tools: ToolsOption = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for eval.json and eval.md.")] = Path("gridsage-eval"),
    fmt: JsonOption = OutputFormat.text,
) -> None:
    from gridsage.evals.harness import COLUMNS, run_eval, scenario_files, write_reports
    from gridsage.tools.registry import TOOLS_ENV, profile_tools
    from gridsage.reasoning.models import build_model, parse_model_spec

    try:
        files = scenario_files(scenarios)
        if not files:
            raise GridSageError(f"no scenario with an expect: block in {scenarios or 'the shipped library'}",
                                field="scenarios", fix="point --scenarios at a folder of scenario YAML files with expect: blocks.")
        answerers = [("planner", None)] if planner else []
        for spec_text in model or []:
            spec = parse_model_spec(spec_text)
            if spec:
                answerers.append((spec.label, build_model(spec)))
        tools = tools or os.environ.get(TOOLS_ENV, "all")
        profile_tools(tools)
        run = run_eval(files, answerers, progress=err.is_terminal, tools=tools)
    except GridSageError as exc:
        _fail(exc)
    data, text = write_reports(run, out_dir)
    if _as_json(run, fmt):
        return
    table = Table("", *(row.answerer for row in run.summary), title=f"GridSage evaluation: {len(files)} scenarios",
                  title_justify="left")
    for column in COLUMNS[1:]:
        table.add_row(column, *("–" if getattr(row, column) is None else str(getattr(row, column)) for row in run.summary))
    out.print(table)
    out.print(f"wrote {data} and {text}")


knowledge_app = typer.Typer(
    name="knowledge",
    help=(
        "The standards corpus: short entries, in GridSage's own words, one per clause (ANSI C84.1, NERC TPL-001, "
        "IEEE C57.91, IEEE 1366, IEEE 1547, IEEE 519, NERC CIP, IEC 62443, ATT&CK for ICS, ...). Findings cite them by id.\n\n"
        "The search index (ChromaDB, MiniLM embeddings, all offline) is built on first use and rebuilt when the corpus "
        "changes. Examples: `gridsage knowledge search \"hot-spot limit in an emergency\"`, "
        "`gridsage knowledge show ansi-c84-1-range-a`. Folders: `GRIDSAGE_KNOWLEDGE_DIR` (index), `GRIDSAGE_CORPUS_DIR` "
        "(corpus), `GRIDSAGE_LIMITS_FILE` (limit overrides)."
    ),
    no_args_is_help=True,
)
app.add_typer(knowledge_app)
app.add_typer(forecast_app)
app.add_typer(health_app)
app.add_typer(telemetry_app)


def _ensure_index(force: bool = False):
    """Open (and if needed build) the standards index, with a progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gridsage.knowledge.index import get_index

    index = get_index()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("opening the standards index (first use loads the embedder)", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, description="embedding the corpus", completed=done, total=total)

        return index, index.ensure(progress=step, force=force)


@knowledge_app.command("build")
def knowledge_build(force: Annotated[bool, typer.Option("--force", help="Rebuild even if the corpus is unchanged.")] = False) -> None:
    """Build the search index now (it is also built on first use, and rebuilt when the corpus changes)."""
    try:
        index, report = _ensure_index(force)
    except GridSageError as exc:
        _fail(exc)
    what = "built" if report.rebuilt else "up to date"
    out.print(f"standards index {what}: {report.entries} entries, {len(index.standards)} standards, "
              f"{report.elapsed_s:.1f} s, corpus sha256 {report.corpus_sha256[:12]} in {report.index_dir}")


@knowledge_app.command("search")
def knowledge_search(
    query: Annotated[str, typer.Argument(help="A question or keywords, e.g. \"how long may a transformer run at 130 C hot-spot\".")],
    k: Annotated[int, typer.Option("-k", help="Passages to show (1-20).")] = 5,
    standard: Annotated[Optional[str], typer.Option("--standard", "-s", help="Only this standard, e.g. \"IEEE 1366\".")] = None,
    tag: Annotated[Optional[str], typer.Option("--tag", "-t", help="Only entries with this tag, e.g. dga, voltage, cyber.")] = None,
    fmt: JsonOption = OutputFormat.text,
) -> None:
    """Search the standards by meaning; each hit shows its citation, id and score."""
    from gridsage.tools.standards import search_standards

    try:
        _ensure_index()
        result = search_standards(query, k=k, standard=standard, tag=tag)
    except GridSageError as exc:
        _fail(exc)
    if _as_json(result, fmt):
        return
    for rank, hit in enumerate(result.hits, 1):
        out.print(f"{rank}. [bold]{hit.title}[/] ({hit.citation.short()})  score {hit.score:.2f}  id {hit.entry_id}", highlight=False)
        first = hit.passage.split(". ")[0].replace("\n", " ")
        out.print(f"   {first}.", highlight=False)
    out.print(f"\\[{result.evidence_id}] full text: gridsage knowledge show ID", highlight=False)


@knowledge_app.command("show")
def knowledge_show(entry_id: Annotated[str, typer.Argument(help="Entry id, as cited in findings, e.g. ansi-c84-1-range-a.")],
                   fmt: JsonOption = OutputFormat.text) -> None:
    """Show one entry: citation, key figures and explanation (no index needed)."""
    from gridsage.tools.standards import read_standard

    try:
        result = read_standard(entry_id)
    except GridSageError as exc:
        _fail(exc)
    if _as_json(result, fmt):
        return
    out.print(f"[bold]{result.title}[/]\n{result.citation.short()}  (id {result.entry_id}; tags {', '.join(result.tags)})", highlight=False)
    for name, value in result.figures.items():
        out.print(f"  {name} = {value}", highlight=False)
    out.print("")
    out.print(result.text, highlight=False)


@knowledge_app.command("eval")
def knowledge_eval(
    questions: Annotated[Optional[Path], typer.Option("--questions", "-q", help="YAML list of {question, relevant: [ids]}; default the shipped set.")] = None,
    k: Annotated[int, typer.Option("-k", help="Cut-off rank.")] = 5,
    fmt: JsonOption = OutputFormat.text,
) -> None:
    """Score retrieval on operator questions: recall@k and MRR, and list the misses."""
    from gridsage.evals.retrieval import evaluate_retrieval, load_questions

    try:
        items = load_questions(questions)
        index, _ = _ensure_index()
        report = evaluate_retrieval(items, k=k, index=index)
    except GridSageError as exc:
        _fail(exc)
    if _as_json(report, fmt):
        return
    out.print(f"{report.questions} questions, k={k}: recall@{k} {report.recall_at_k:.3f}, hit rate@{k} "
              f"{report.hit_rate_at_k:.3f}, MRR {report.mrr:.3f}")
    for miss in report.misses():
        out.print(f"  miss: {miss.question}\n        wanted {miss.relevant}, got {miss.retrieved}", highlight=False)


def main() -> None:  # pragma: no cover - console entry point
    app()
