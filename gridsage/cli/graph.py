"""``gridsage graph ...``: the topology graph's fixed, read-only connectivity queries."""

from __future__ import annotations

from typing import Annotated

import typer

from gridsage.cli._shared import Dispatch, GridOption, JsonOption, OutputFormat, as_json, err, fail, load_grid_id, out
from gridsage.errors import GridSageError

graph_app = typer.Typer(
    name="graph",
    help=(
        "The topology graph: sync a grid into it and ask connectivity questions through fixed, read-only queries.\n\n"
        "The graph is the embedded ArcadeDB (Bolt, Neo4j 5 Cypher) unless `NEO4J_URI` points at a Neo4j server "
        "(with `NEO4J_USER`, `NEO4J_PASSWORD`). Example: `gridsage graph neighbours -g case118 --bus 48 --hops 2`."
    ),
    no_args_is_help=True,
)

BusOption = Annotated[int, typer.Option("--bus", "-b", help="pandapower bus index.")]
BranchOption = Annotated[str, typer.Option("--element", "-e", help="`line` or `trafo`.")]
IndexOption = Annotated[int, typer.Option("--index", "-i", help="Index of the line or trafo.")]


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
def graph_sync(grid: GridOption, fmt: JsonOption = OutputFormat.text) -> None:
    """Write a grid into the graph (idempotent MERGE): buses, branches, injections, CONNECTED bus pairs."""
    from gridsage.tools.grid import sync_graph

    if r := _graph_call(grid, sync_graph, fmt=fmt):
        out.print(f"{grid}: {sum(r.report.nodes.values())} nodes {r.report.nodes}, {r.report.connected} CONNECTED, "
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


@graph_app.command("outage")
def graph_outage(grid: GridOption, element: BranchOption, index: IndexOption, fmt: JsonOption = OutputFormat.text) -> None:
    """What a line or trafo outage isolates: buses, load lost [MW], generation lost [MW] (topology only)."""
    from gridsage.tools.grid import graph_outage_impact

    if r := _graph_call(grid, graph_outage_impact, element, index, fmt=fmt):
        _print_isolation(r, "isolates")


@graph_app.command("downstream")
def graph_downstream_cmd(grid: GridOption, element: BranchOption, index: IndexOption, fmt: JsonOption = OutputFormat.text) -> None:
    """What lies downstream of a transformer or feeder head (radial grids): buses and loads [MW] it alone supplies."""
    from gridsage.tools.grid import graph_downstream

    if r := _graph_call(grid, graph_downstream, element, index, fmt=fmt):
        _print_isolation(r, "supplies alone")
