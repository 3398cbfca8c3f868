"""Topology graph tools: sync a grid into the graph, and read-only connectivity queries.

Each query tool runs one fixed, parameterised Cypher statement in a read
transaction (or networkx on an in-service snapshot read from the graph); none
accepts free-form Cypher.  A grid is synced into the graph on first use.
Outputs are bounded and give totals.

References
----------
.. [1] Statnett's CIM-graph agent scored 0/10 on connectivity questions when an
   LLM wrote multi-hop Cypher; hence connectivity is stored ahead of time and
   queried through fixed tools (DESIGN.md, "Graph").
"""

from __future__ import annotations

import contextvars
from typing import Annotated, Callable, Literal

from pydantic import BaseModel, Field

from gridsage.errors import UnknownElementError
from gridsage.graph_store import queries
from gridsage.graph_store.schema import LABELS
from gridsage.graph_store.sync import SyncReport, sync_network
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.grid._elements import branch_rating_mva
from gridsage.tools.workspace import current_workspace

TABLE_OF = {label: table for table, label in LABELS.items()}
#: called as progress(rows_done, rows_total) while a sync writes; adapters set it (e.g. the CLI's progress bar)
sync_progress: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar("sync_progress", default=None)

GridId = Annotated[str, Field(description="Grid, as returned by load_grid (synced into the graph on first use).")]
Bus = Annotated[int, Field(ge=0, description="pandapower bus index.")]
Branch = Annotated[Literal["line", "trafo"], Field(description="Branch table.")]
MaxResults = Annotated[int, Field(ge=1, le=10_000, description="Most rows returned (the total is always given).")]


def _store():
    from gridsage.graph_store.store import get_store

    return get_store()


def _synced(grid_id: str, force: bool = False):
    """The graph store, with ``grid_id`` synced into it (once per process unless forced)."""
    grid = current_workspace().get(grid_id)
    store = _store()
    with grid.lock:
        if force or "graph_sync" not in grid.cache:
            grid.cache.pop("graph_snapshot", None)
            ratings = {element: branch_rating_mva(grid.net, element) for element in ("line", "trafo")}
            grid.cache["graph_sync"] = sync_network(store, grid.net, grid_id, sync_progress.get(), ratings)
    return store


def _snapshot(store, grid_id: str) -> queries.Snapshot:
    """The grid's in-service topology as read from the graph after its last sync (read once per sync)."""
    grid = current_workspace().get(grid_id)
    with grid.lock:
        if "graph_snapshot" not in grid.cache:
            grid.cache["graph_snapshot"] = queries.snapshot(store, grid_id)
        return grid.cache["graph_snapshot"]


def _check_bus(store, grid_id: str, bus: int, field: str = "bus") -> None:
    if not queries.bus_exists(store, grid_id, bus):
        raise UnknownElementError(f"bus {bus} does not exist in grid {grid_id!r}", field=field,
                                  fix="use a bus index from grid_summary or run_power_flow.")


def _store_with_bus(grid_id: str, bus: int):
    """The synced store, once ``bus`` is known to exist (UnknownElementError otherwise)."""
    store = _synced(grid_id)
    _check_bus(store, grid_id, bus)
    return store


def _check_branch(snap: queries.Snapshot, grid_id: str, element: str, index: int) -> str:
    element_id = f"{element}:{index}"
    if element_id not in snap.element_ids:
        raise UnknownElementError(f"{element} {index} does not exist in grid {grid_id!r}", field="index",
                                  fix=f"use an existing {element} index (see grid_summary).")
    return element_id


def _load_mw(snap: queries.Snapshot, buses: set[int]) -> float:
    return round(sum(i["p_mw"] or 0.0 for i in queries.injections_at(snap, buses, "Load")), 3)


class GraphSyncResult(ToolResult):
    status: Literal["synced"] = "synced"
    grid_id: str
    backend: str = Field(description="'embedded-arcadedb' or 'external'.")
    server_agent: str = Field(description="What the Bolt server reports, e.g. 'Neo4j/5.26.0 compatible (ArcadeDB ...)'.")
    report: SyncReport


@tool
def sync_graph(grid_id: GridId) -> GraphSyncResult:
    """Write a grid into the topology graph (idempotent MERGE), e.g. after a what-if.

    Parameters
    ----------
    grid_id : str

    Returns
    -------
    GraphSyncResult
        Nodes per label, CONNECTED relationships, stale nodes removed, time [s].

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    GraphUnavailableError
        If the graph database cannot be reached or started.
    """
    store = _synced(grid_id, force=True)
    return GraphSyncResult(grid_id=grid_id, backend=store.backend, server_agent=store.server_agent,
                           report=current_workspace().get(grid_id).cache["graph_sync"])


class NeighbourBus(BaseModel):
    bus: int
    hops: int = Field(description="Fewest in-service branches from the origin bus.")
    name: str | None = None
    vn_kv: float | None = Field(default=None, description="[kV]")
    zone: str | None = None


class NeighbourhoodResult(ToolResult):
    status: Literal["ok"] = "ok"
    grid_id: str
    bus: int
    zone: str | None
    hops: int
    total: int = Field(description="Buses found (all of them, even when fewer are listed).")
    buses: list[NeighbourBus]
    load_p_mw: float = Field(description="In-service load at the bus and every bus found [MW].")


@tool
def graph_neighbourhood(
    grid_id: GridId,
    bus: Bus,
    hops: Annotated[int, Field(ge=1, le=queries.MAX_HOPS, description="Branches away from the bus.")] = 2,
    max_results: MaxResults = 200,
) -> NeighbourhoodResult:
    """Buses within k in-service branches of a bus, with their zone and the load there.

    Parameters
    ----------
    grid_id : str
    bus : int
    hops : int, default 2
        k, from 1 to 6.
    max_results : int, default 200

    Returns
    -------
    NeighbourhoodResult
        Buses nearest first, their count, and the load at them [MW].

    Raises
    ------
    UnknownElementError
        If the bus does not exist.
    """
    store = _store_with_bus(grid_id, bus)
    rows = queries.neighbourhood(store, grid_id, bus, hops)
    context = queries.bus_context(store, grid_id, [bus] + [r["bus"] for r in rows])
    return NeighbourhoodResult(grid_id=grid_id, bus=bus, zone=context["zones"].get(bus), hops=hops, total=len(rows),
                               buses=[NeighbourBus(**r) for r in rows[:max_results]],
                               load_p_mw=round(context["load_p_mw"], 3))


class ElementAtBus(BaseModel):
    element: str = Field(description="pandapower table, e.g. 'line' or 'load'.")
    index: int
    name: str | None = None
    side: str = Field(description="'from'/'to' (line), 'hv'/'lv' (trafo), 'at' (injections).")
    in_service: bool
    p_mw: float | None = Field(default=None, description="Set-point or demand [MW] for injections.")


class ElementsAtBusResult(ToolResult):
    status: Literal["ok"] = "ok"
    grid_id: str
    bus: int
    total: int
    elements: list[ElementAtBus]


@tool
def graph_elements_at_bus(grid_id: GridId, bus: Bus, max_results: MaxResults = 500) -> ElementsAtBusResult:
    """Every line, trafo, gen, sgen, load and ext_grid connected to a bus.

    Raises
    ------
    UnknownElementError
        If the bus does not exist.
    """
    store = _store_with_bus(grid_id, bus)
    rows = queries.elements_at_bus(store, grid_id, bus)
    items = [ElementAtBus(element=TABLE_OF[r["label"]], index=r["index"], name=r["name"], side=r["side"],
                          in_service=bool(r["in_service"]), p_mw=r["p_mw"]) for r in rows]
    return ElementsAtBusResult(grid_id=grid_id, bus=bus, total=len(items), elements=items[:max_results])


class PathResult(ToolResult):
    status: Literal["found", "no_path"]
    grid_id: str
    from_bus: int
    to_bus: int
    weight: Literal["branches", "impedance"]
    buses: list[int] = Field(default_factory=list, description="Buses along the path, in order.")
    elements: list[str] = Field(default_factory=list, description="Branches along the path, e.g. 'line:7'.")
    branch_count: int | None = None
    x_pu: float | None = Field(default=None, description="Total series reactance |x| on the system base [pu].")


@tool
def graph_path(
    grid_id: GridId,
    from_bus: Bus,
    to_bus: Bus,
    weight: Annotated[Literal["branches", "impedance"], Field(description="'branches': fewest branches; 'impedance': least total |x| [pu].")] = "branches",
) -> PathResult:
    """The electrical path between two buses over in-service branches.

    Parameters
    ----------
    grid_id : str
    from_bus, to_bus : int
    weight : {'branches', 'impedance'}, default 'branches'
        Fewest branches (breadth-first) or least total series reactance
        (Dijkstra), both on the graph's in-service snapshot.

    Returns
    -------
    PathResult
        ``no_path`` when the buses are not connected.

    Raises
    ------
    UnknownElementError
        If a bus does not exist.
    """
    store = _synced(grid_id)
    _check_bus(store, grid_id, from_bus, "from_bus")
    _check_bus(store, grid_id, to_bus, "to_bus")
    snap = _snapshot(store, grid_id)
    found = queries.fewest_branch_path(snap, from_bus, to_bus) if weight == "branches" else \
        queries.lowest_impedance_path(snap, from_bus, to_bus)
    if not found:
        return PathResult(status="no_path", grid_id=grid_id, from_bus=from_bus, to_bus=to_bus, weight=weight)
    x_pu = sum(min(d["x_pu"] for d in snap.graph.get_edge_data(a, b).values())
               for a, b in zip(found["buses"], found["buses"][1:]))
    return PathResult(status="found", grid_id=grid_id, from_bus=from_bus, to_bus=to_bus, weight=weight,
                      buses=found["buses"], elements=found["elements"], branch_count=len(found["elements"]),
                      x_pu=round(x_pu, 6))


class LoadAtBus(BaseModel):
    load: int
    bus: int
    p_mw: float | None = Field(description="[MW]")


class IsolationResult(ToolResult):
    status: Literal["isolates", "no_isolation"]
    grid_id: str
    element: Literal["line", "trafo"]
    index: int
    bus_count: int = Field(description="Buses that lose every path to a source (ext_grid or slack gen).")
    buses: list[int]
    zones: list[str] = Field(default_factory=list, description="Zones of those buses.")
    load_lost_mw: float = Field(description="In-service load at those buses [MW].")
    generation_lost_mw: float = Field(description="In-service gen and sgen set-points at those buses [MW].")
    loads: list[LoadAtBus] = Field(default_factory=list)


def _isolation(grid_id: str, element: str, index: int, max_results: int) -> IsolationResult:
    store = _synced(grid_id)
    snap = _snapshot(store, grid_id)
    element_id = _check_branch(snap, grid_id, element, index)
    cut = queries.cut_off_by(snap, element_id)
    loads = queries.injections_at(snap, cut, "Load")
    generation = sum(i["p_mw"] or 0.0 for label in ("Gen", "SGen") for i in queries.injections_at(snap, cut, label))
    return IsolationResult(
        status="isolates" if cut else "no_isolation", grid_id=grid_id, element=element, index=index,
        bus_count=len(cut), buses=sorted(cut)[:max_results],
        zones=sorted({z for b in cut if (z := snap.zones.get(b))}),
        load_lost_mw=_load_mw(snap, cut), generation_lost_mw=round(generation, 3),
        loads=[LoadAtBus(load=i["index"], bus=i["bus"], p_mw=i["p_mw"]) for i in sorted(loads, key=lambda i: i["index"])][:max_results])


@tool
def graph_outage_impact(grid_id: GridId, element: Branch, index: Annotated[int, Field(ge=0)], max_results: MaxResults = 500) -> IsolationResult:
    """What a branch outage isolates: islanded buses, load lost [MW], generation lost [MW].

    Buses count as islanded when no in-service path joins them to an
    ext_grid or slack gen once the branch opens (topology only; no power flow).

    Raises
    ------
    UnknownElementError
        If the branch does not exist.
    """
    return _isolation(grid_id, element, index, max_results)


@tool
def graph_downstream(grid_id: GridId, element: Branch, index: Annotated[int, Field(ge=0)], max_results: MaxResults = 500) -> IsolationResult:
    """What lies downstream of a transformer or feeder head: buses and loads it alone supplies.

    In a radial grid (cigre MV, mv_oberrhein) these are the buses and loads
    fed through the element; in a meshed grid the list is empty when other
    paths exist.

    Raises
    ------
    UnknownElementError
        If the branch does not exist.
    """
    return _isolation(grid_id, element, index, max_results)
