"""``gridsage graph ...``: the topology graph's fixed, read-only connectivity queries."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from gridsage.cli._shared import Dispatch, GridOption, JsonOption, OutputFormat, as_json, err, fail, load_grid_id, out
from gridsage.errors import GridSageError, InputError

#: branch tables the graph stores (the tools' Branch type)
BRANCH_KINDS = ("line", "trafo", "trafo3w", "impedance", "dcline")

graph_app = typer.Typer(
    name="graph",
    help=(
        "The topology graph: sync a grid into it and ask connectivity questions through fixed, read-only queries.\n\n"
        "The graph is a shared ArcadeDB server (Bolt, Neo4j 5 Cypher) unless `NEO4J_URI` points at a Neo4j server "
        "(with `NEO4J_USER`, `NEO4J_PASSWORD`): one server process per graph folder (`GRIDSAGE_GRAPH_DIR`), started on "
        "first use, shared by every GridSage process, stopped after `GRIDSAGE_GRAPH_IDLE_TIMEOUT` seconds without a "
        "call (default 900) or by `gridsage graph stop`. The folder persists, and a grid whose content is unchanged "
        "since its last sync is not written again. Example: `gridsage graph neighbours -g case118 --bus 48 --hops 2`."
    ),
    no_args_is_help=True,
)

BusOption = Annotated[int, typer.Option("--bus", "-b", help="pandapower bus index.")]
BranchOption = Annotated[str, typer.Option("--element", "-e", help="`line`, `trafo`, `trafo3w`, `impedance` or `dcline`.")]
IndexOption = Annotated[int, typer.Option("--index", "-i", help="Index of the branch in its table.")]


def _graph_call(grid: str, fn, *args, fmt: OutputFormat = OutputFormat.text, **kwargs):
    """Load the grid, run a graph tool, print JSON if asked; returns the result for text output."""
    from rich.progress import Progress

    from gridsage.tools.grid import sync_progress

    try:
        grid_id = load_grid_id(grid, Dispatch.file)
        with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("syncing the grid into the graph", total=None)
            token = sync_progress.set(lambda done, total: bar.update(task, completed=done, total=total))
            try:
                result = fn(grid_id, *args, **kwargs)
            finally:
                sync_progress.reset(token)
    except GridSageError as exc:
        fail(exc)
    if as_json(result, fmt):
        return None
    return result


@graph_app.command("sync")
def graph_sync(grid: GridOption,
               rewrite: Annotated[bool, typer.Option("--rewrite", help="Write even when the graph already holds this content.")] = False,
               fmt: JsonOption = OutputFormat.text) -> None:
    """Write a grid into the graph (idempotent MERGE): buses, branches, injections, CONNECTED bus pairs.

    Skipped when the graph already holds the grid's exact content (same content hash, stored by an earlier sync of
    any process); `--rewrite` writes anyway.
    """
    from gridsage.tools.grid import sync_graph

    if r := _graph_call(grid, sync_graph, rewrite=rewrite, fmt=fmt):
        what = "unchanged since its last sync, nothing written:" if r.report.skipped_unchanged else "synced"
        out.print(f"{grid}: {what} {sum(r.report.nodes.values())} nodes {r.report.nodes}, {r.report.connected} CONNECTED, "
                  f"{r.report.removed} stale removed, {r.report.time_s:.2f} s on {r.server_agent} \\[{r.evidence_id}]")


@graph_app.command("neighbours")
def graph_neighbours(grid: GridOption, bus: BusOption,
                     hops: Annotated[int, typer.Option("--hops", "-k", help="In-service branches away from the bus (1-6).")] = 2,
                     fmt: JsonOption = OutputFormat.text) -> None:
    """Buses within k in-service branches of a bus, nearest first, with the load there [MW]."""
    from gridsage.tools.grid import graph_neighbourhood

    if r := _graph_call(grid, graph_neighbourhood, bus, hops, fmt=fmt):
        out.print(f"bus {bus} (zone {r.zone}): {r.total} bus(es) within {hops} branch(es), load there {r.load_p_mw:.1f} MW \\[{r.evidence_id}]")
        for b in r.buses:
            out.print(f"  {b.hops} hop(s): bus {b.bus} {b.name or ''} {b.vn_kv:g} kV")


@graph_app.command("elements")
def graph_elements(grid: GridOption, bus: BusOption, fmt: JsonOption = OutputFormat.text) -> None:
    """Everything connected to a bus: lines, trafos (with side), gens, sgens, loads, ext_grids."""
    from gridsage.tools.grid import graph_elements_at_bus

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
    from gridsage.tools.grid import graph_path

    if r := _graph_call(grid, graph_path, from_bus, to_bus, weight, fmt=fmt):
        if r.status == "no_path":
            out.print(f"no in-service path from bus {from_bus} to bus {to_bus} \\[{r.evidence_id}]")
            return
        out.print(f"{r.branch_count} branch(es), |x| {r.x_pu:.4f} pu: {' - '.join(map(str, r.buses))} via {', '.join(r.elements)} \\[{r.evidence_id}]")


def _print_isolation(r, what: str) -> None:
    out.print(f"{r.element} {r.index}: {what} {r.bus_count} bus(es) {r.buses[:30]}{' ...' if r.bus_count > 30 else ''}; "
              f"load {r.load_lost_mw:.2f} MW, generation {r.generation_lost_mw:.2f} MW; zones {r.zones or '-'} \\[{r.evidence_id}]")


def _parse_outages(texts: list[str]) -> list[dict]:
    """``['line:12', 'impedance:3']`` -> ``[{'element': 'line', 'index': 12}, ...]``; InputError naming ``--outage``."""
    parsed = []
    for i, text in enumerate(texts):
        element, _, number = text.strip().partition(":")
        if element not in BRANCH_KINDS or not number.strip().isdigit():
            raise InputError(f"{text!r} is not a branch written as element:index", field=f"--outage[{i}]",
                             fix=f"write e.g. --outage line:12, with element one of {', '.join(BRANCH_KINDS)} and a "
                                 "non-negative index; repeat --outage for each branch.")
        parsed.append({"element": element, "index": int(number)})
    return parsed


@graph_app.command("outage")
def graph_outage(
    grid: GridOption,
    element: Annotated[Optional[str], typer.Option("--element", "-e", help="One branch's table: `line`, `trafo`, `trafo3w`, "
                                                                           "`impedance` or `dcline` (with --index).")] = None,
    index: Annotated[Optional[int], typer.Option("--index", "-i", help="Index of that branch.")] = None,
    outage: Annotated[Optional[list[str]], typer.Option("--outage", "-o", help="A branch as `element:index`, e.g. `line:12`; "
                                                                               "repeat it for branches that trip together "
                                                                               "(N-k, at most 50).")] = None,
    max_results: Annotated[int, typer.Option("--max-results", help="Most buses and loads listed (totals always given).")] = 500,
    fmt: JsonOption = OutputFormat.text,
) -> None:
    """What a branch outage, or several branches tripping together, isolates: buses, islands, load and generation lost [MW].

    Topology only (no power flow): a bus is isolated when no in-service path joins it to an ext_grid or slack gen.
    Two branches that each back the other up isolate nothing alone but may together: ask for them in one call.

    Examples:

    `gridsage graph outage -g case118 -e line -i 6` (one branch: buses 8 and 9 lose their source)

    `gridsage graph outage -g case118 --outage line:40 --outage line:44` (two lines tripping together, N-2: bus 32 loses both its feeds)
    """
    from gridsage.tools.grid import graph_outage_impact

    try:
        sets = _parse_outages(outage) if outage else None
    except GridSageError as exc:
        fail(exc)
    kwargs = {"outages": sets} if sets else {"element": element, "index": index}
    if sets and (element is not None or index is not None):
        fail(InputError("give either --element with --index, or --outage (repeated), not both", field="--outage",
                        fix="write the single branch as another --outage element:index."))
    if not sets and (element is None or index is None):
        fail(InputError(f"{'--index' if element is not None else '--element'} is missing: say which branch trips",
                        field="--index" if element is not None else "--element",
                        fix="give --element line --index 6, or --outage line:6 (repeat --outage for branches that trip together)."))
    r = _graph_call(grid, graph_outage_impact, max_results=max_results, fmt=fmt, **kwargs)
    if not r:
        return
    names = ", ".join(f"{o.element} {o.index}" for o in r.outages)
    if not r.bus_count:
        out.print(f"outage of {names}: isolates no bus (every bus keeps a path to a source) \\[{r.evidence_id}]")
        return
    more = f" (+{r.buses_omitted} more)" if r.buses_omitted else ""
    out.print(f"outage of {names}: isolated {r.bus_count} bus(es) {r.buses}{more} in {r.island_count} island(s); "
              f"{r.load_lost_mw:.2f} MW of load, {r.generation_lost_mw:.2f} MW of generation; zones {r.zones or '-'} "
              f"\\[{r.evidence_id}]")
    if r.island_count > 1:
        for n, island in enumerate(r.islands, 1):
            out.print(f"  island {n}: {island.bus_count} bus(es) {island.buses}{' ...' if island.bus_count > len(island.buses) else ''}; "
                      f"load {island.load_lost_mw:.2f} MW, generation {island.generation_lost_mw:.2f} MW")
        if r.islands_omitted:
            out.print(f"  ... {r.islands_omitted} more island(s)")


@graph_app.command("downstream")
def graph_downstream_cmd(grid: GridOption, element: BranchOption, index: IndexOption, fmt: JsonOption = OutputFormat.text) -> None:
    """What lies downstream of a transformer or feeder head (radial grids): buses and loads [MW] it alone supplies."""
    from gridsage.tools.grid import graph_downstream

    if r := _graph_call(grid, graph_downstream, element, index, fmt=fmt):
        _print_isolation(r, "supplies alone")


# -- the shared graph server ---------------------------------------------------------


def _graph_settings():
    from gridsage.graph_store.settings import GraphSettings

    try:
        return GraphSettings.from_env()
    except GridSageError as exc:
        fail(exc)


def _external(settings) -> bool:
    if settings.uri:
        out.print(f"the graph is the external server NEO4J_URI={settings.uri}: GridSage runs no graph server of its own")
    return bool(settings.uri)


def _print_status(info: dict, fmt: OutputFormat) -> None:
    import json

    if fmt is OutputFormat.json:
        out.print_json(json.dumps(info))
    elif info["running"]:
        idle = f", last call {info['idle_s']:g} s ago" if info.get("idle_s") is not None else ""
        stops = (f"stops after {info['idle_timeout_s']:g} s without a call" if (info.get("idle_timeout_s") or 0) > 0
                 else "never stops by itself")
        out.print(f"graph server running: pid {info['pid']}, {info['uri']}, database {info['database']!r}, "
                  f"folder {info['data_dir']}, since {info['started_at']}{idle}; {stops}; log {info['log']}",
                  highlight=False, soft_wrap=True)
    elif info.get("status") in ("starting", "stopping"):
        out.print(f"graph server {info['status']}: pid {info['pid']}, folder {info['data_dir']}; log {info['log']}",
                  highlight=False, soft_wrap=True)
    else:
        failed = f" (the last start failed: {info['error']})" if info.get("status") == "failed" else ""
        out.print(f"no graph server running for {info['data_dir']}{failed}; the first graph call starts one",
                  highlight=False, soft_wrap=True)


@graph_app.command("status")
def graph_status(fmt: JsonOption = OutputFormat.text) -> None:
    """Whether the shared graph server of `GRIDSAGE_GRAPH_DIR` runs: pid, Bolt URI, idle time, log."""
    from gridsage.graph_store.server import server_status

    settings = _graph_settings()
    if fmt is OutputFormat.text and _external(settings):
        return
    _print_status({**server_status(settings.data_dir), **({"external_uri": settings.uri} if settings.uri else {})}, fmt)


@graph_app.command("start")
def graph_start(fmt: JsonOption = OutputFormat.text) -> None:
    """Start the shared graph server now (graph calls start it anyway), and wait until it answers."""
    from gridsage.graph_store.server import ensure_server, server_status

    settings = _graph_settings()
    if _external(settings):
        return
    try:
        with err.status(f"starting the graph server of {settings.data_dir} ..."):
            ensure_server(settings.data_dir, settings.database, idle_timeout_s=settings.idle_timeout_s,
                          start_timeout_s=settings.start_timeout_s)
    except GridSageError as exc:
        fail(exc)
    _print_status(server_status(settings.data_dir), fmt)


@graph_app.command("stop")
def graph_stop() -> None:
    """Stop the shared graph server of `GRIDSAGE_GRAPH_DIR` (SIGTERM, a clean stop; data stays on disk).

    GridSage processes still using it start a new one on their next graph call.
    """
    from gridsage.graph_store.server import stop_server

    settings = _graph_settings()
    if _external(settings):
        return
    with err.status("stopping the graph server ..."):
        pid = stop_server(settings.data_dir)
    out.print(f"stopped the graph server (pid {pid}) of {settings.data_dir}" if pid else
              f"no graph server was running for {settings.data_dir}", highlight=False, soft_wrap=True)
