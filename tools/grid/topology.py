"""Topology graph tools: sync a grid into the graph, and read-only connectivity queries.

Each query tool runs one fixed, parameterised Cypher statement in a read
transaction (or networkx on an in-service snapshot read from the graph); none
accepts free-form Cypher.  A grid is synced into the graph on first use in
a process, and the sync writes nothing when the graph (which outlives the
process) already holds the grid's exact content (same content hash, see
:mod:`gridsage.graph_store.sync`).  Every branch kind is a branch here: line,
trafo, trafo3w, impedance, dcline.  Outputs are bounded and give totals and
counts of what was left out.

References
----------
.. [1] Statnett's CIM-graph agent scored 0/10 on connectivity questions when an
   LLM wrote multi-hop Cypher; hence connectivity is stored ahead of time and
   queried through fixed tools (DESIGN.md, "Graph").
"""

from __future__ import annotations

import contextvars
from typing import Annotated, Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from gridsage.errors import InputError, UnknownElementError
from gridsage.graph_store import queries
from gridsage.graph_store.schema import LABELS
from gridsage.graph_store.sync import SyncReport, sync_network
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.grid._elements import BRANCH_TABLES, branch_rating_mva
from gridsage.tools.workspace import current_workspace

TABLE_OF = {label: table for table, label in LABELS.items()}
#: called as progress(rows_done, rows_total) while a sync writes; adapters set it (e.g. the CLI's progress bar)
sync_progress: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar("sync_progress", default=None)

GridId = Annotated[str, Field(description="Grid, as returned by load_grid (synced into the graph on first use).")]
Bus = Annotated[int, Field(ge=0, description="pandapower bus index.")]
BranchKind = Literal["line", "trafo", "trafo3w", "impedance", "dcline"]
Branch = Annotated[BranchKind, Field(description="Branch table: 'line', 'trafo', 'trafo3w', 'impedance' (e.g. a MATPOWER "
                                                 "transformer branch with TAP = 1 between kV levels) or 'dcline'.")]
#: most islands an outage result lists (the count is always given), and buses listed per island
MAX_ISLANDS = 20
ISLAND_BUSES = 20
MaxResults = Annotated[int, Field(ge=1, le=10_000, description="Most rows returned (the total is always given).")]


def _store():
    from gridsage.graph_store.store import get_store

    return get_store()


def _synced(grid_id: str, force: bool = False, rewrite: bool = False):
    """The graph store, with ``grid_id`` synced into it.

    Once per process the grid's content hash is compared with the one stored in
    the graph (which outlives the process): the sync writes only when they
    differ. ``force`` compares again (a sync tool call); ``rewrite`` writes even
    when they match.
    """
    grid = current_workspace().get(grid_id)
    store = _store()
    with grid.lock:
        if force or rewrite or "graph_sync" not in grid.cache:
            grid.cache.pop("graph_snapshot", None)
            grid.cache["graph_sync"] = sync_network(store, grid.net, grid_id, sync_progress.get(), {e: branch_rating_mva(grid.net, e) for e in BRANCH_TABLES if len(grid.net[e])},
                                                    force=rewrite)
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


def _check_branch(snap: queries.Snapshot, grid_id: str, element: str, index: int, field: str = "index") -> str:
    """The branch's element id (``'line:7'``); UnknownElementError naming ``field`` when the graph has no such branch."""
    element_id = f"{element}:{index}"
    if element_id not in snap.element_ids:
        has = any(e.startswith(f"{element}:") for e in snap.element_ids)
        raise UnknownElementError(f"{element} {index} does not exist in grid {grid_id!r}" + ("" if has else f" (it has no {element})"),
                                  field=field, fix=f"use an existing {element} index (see grid_summary)" if has else
                                  "use a branch table the grid has (see grid_summary): line, trafo, trafo3w, impedance or dcline.")
    return element_id


def _load_mw(snap: queries.Snapshot, buses: set[int]) -> float:
    return round(sum(i["p_mw"] or 0.0 for i in queries.injections_at(snap, buses, "Load")), 3)


class GraphSyncResult(ToolResult):
    status: Literal["synced", "unchanged"] = Field(
        description="'synced': written; 'unchanged': the graph already held this grid's content (same content hash), nothing written.")
    grid_id: str
    backend: str = Field(description="'embedded-arcadedb' or 'external'.")
    server_agent: str = Field(description="What the Bolt server reports, e.g. 'Neo4j/5.26.0 compatible (ArcadeDB ...)'.")
    report: SyncReport


@tool
def sync_graph(
    grid_id: GridId,
    rewrite: Annotated[bool, Field(description="Write even when the graph already holds this content (e.g. after it was "
                                               "edited outside GridSage).")] = False,
) -> GraphSyncResult:
    """Write a grid into the topology graph (idempotent MERGE), e.g. after a what-if; skipped when unchanged.

    Parameters
    ----------
    grid_id : str
    rewrite : bool, default False
        Write even when the content hash stored in the graph equals the grid's.

    Returns
    -------
    GraphSyncResult
        Nodes per label, CONNECTED relationships, stale nodes removed, time [s];
        ``status`` 'unchanged' (and ``report.skipped_unchanged``) when the
        graph already held this exact content, whichever process wrote it.

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    GraphUnavailableError
        If the graph database cannot be reached or started.
    """
    store = _synced(grid_id, force=True, rewrite=rewrite)
    report = current_workspace().get(grid_id).cache["graph_sync"]
    return GraphSyncResult(status="unchanged" if report.skipped_unchanged else "synced", grid_id=grid_id, backend=store.backend,
                           server_agent=store.server_agent, report=report)


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
    side: str = Field(description="'from'/'to' (line, impedance, dcline), 'hv'/'lv' (trafo), 'hv'/'mv'/'lv' (trafo3w), "
                                  "'at' (injections).")
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
    """Every branch (line, trafo, trafo3w, impedance, dcline), gen, sgen, load and ext_grid connected to a bus.

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
    x_pu: float | None = Field(default=None, description="Total series reactance |x| on the system base [pu]; null when "
                                                         "the path crosses a dcline (no AC reactance).")


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
        (Dijkstra, AC branches only: a dcline has no series reactance), both on
        the graph's in-service snapshot.

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
                      x_pu=None if np.isinf(x_pu) else round(x_pu, 6))


class LoadAtBus(BaseModel):
    load: int
    bus: int
    p_mw: float | None = Field(description="[MW]")


class BranchOutage(BaseModel):
    """One branch that trips."""

    model_config = ConfigDict(extra="forbid")

    element: Branch
    index: Annotated[int, Field(ge=0, description="Index in that table.")]


class Island(BaseModel):
    """Buses cut off together that stay connected to each other."""

    bus_count: int
    buses: list[int] = Field(description=f"Lowest first, at most {ISLAND_BUSES}.")
    load_lost_mw: float = Field(description="In-service load there [MW].")
    generation_lost_mw: float = Field(description="In-service gen and sgen set-points there [MW].")


class IsolationResult(ToolResult):
    status: Literal["isolates", "no_isolation"]
    grid_id: str
    element: BranchKind | None = Field(default=None, description="The branch, when the call named one (element and index).")
    index: int | None = None
    outages: list[BranchOutage] = Field(description="Every branch opened together (one for a single outage).")
    bus_count: int = Field(description="Buses that lose every path to a source (ext_grid or slack gen).")
    buses: list[int] = Field(description="Those buses, lowest first, at most max_results.")
    buses_omitted: int = Field(default=0, description="Buses left out of 'buses' by max_results.")
    island_count: int = Field(default=0, description="Separate islands those buses form.")
    islands: list[Island] = Field(default_factory=list, description=f"Largest first, at most {MAX_ISLANDS}.")
    islands_omitted: int = Field(default=0, description="Islands left out of 'islands'.")
    zones: list[str] = Field(default_factory=list, description="Zones of those buses.")
    load_lost_mw: float = Field(description="In-service load at those buses [MW].")
    generation_lost_mw: float = Field(description="In-service gen and sgen set-points at those buses [MW].")
    loads: list[LoadAtBus] = Field(default_factory=list, description="In-service loads there, by index, at most max_results.")
    loads_omitted: int = Field(default=0, description="Loads left out of 'loads' by max_results.")


def _generation_mw(snap: queries.Snapshot, buses: set[int]) -> float:
    return round(sum(i["p_mw"] or 0.0 for label in ("Gen", "SGen") for i in queries.injections_at(snap, buses, label)), 3)


def _isolation(grid_id: str, outages: list[BranchOutage], max_results: int, single: bool = False,
               fields: list[str] | None = None) -> IsolationResult:
    """Open ``outages`` together on the in-service snapshot and report what loses its source."""
    store = _synced(grid_id)
    snap = _snapshot(store, grid_id)
    element_ids = [_check_branch(snap, grid_id, o.element, o.index, field) for o, field in
                   zip(outages, fields or ["index"] * len(outages))]
    islands = queries.outage_islands(snap, element_ids)
    cut = set().union(*islands)
    loads = sorted(queries.injections_at(snap, cut, "Load"), key=lambda i: i["index"])
    buses = sorted(cut)
    return IsolationResult(
        status="isolates" if cut else "no_isolation", grid_id=grid_id, outages=outages,
        element=outages[0].element if single else None, index=outages[0].index if single else None,
        bus_count=len(cut), buses=buses[:max_results], buses_omitted=max(0, len(buses) - max_results),
        island_count=len(islands), islands_omitted=max(0, len(islands) - MAX_ISLANDS),
        islands=[Island(bus_count=len(i), buses=sorted(i)[:ISLAND_BUSES], load_lost_mw=_load_mw(snap, i),
                        generation_lost_mw=_generation_mw(snap, i)) for i in islands[:MAX_ISLANDS]],
        zones=sorted({z for b in cut if (z := snap.zones.get(b))}),
        load_lost_mw=_load_mw(snap, cut), generation_lost_mw=_generation_mw(snap, cut),
        loads=[LoadAtBus(load=i["index"], bus=i["bus"], p_mw=i["p_mw"]) for i in loads[:max_results]],
        loads_omitted=max(0, len(loads) - max_results))


@tool
def graph_outage_impact(
    grid_id: GridId,
    element: Annotated[BranchKind | None, Field(description="Table of the one branch that trips (with index): 'line', "
                                                            "'trafo', 'trafo3w', 'impedance' or 'dcline'. Leave out when "
                                                            "giving outages.")] = None,
    index: Annotated[int | None, Field(ge=0, description="Index of that branch.")] = None,
    outages: Annotated[list[BranchOutage] | None, Field(
        min_length=1, max_length=queries.MAX_OUTAGES,
        description=f"Branches that trip together (N-k, at most {queries.MAX_OUTAGES}), e.g. "
                    "[{'element': 'line', 'index': 12}, {'element': 'line', 'index': 13}]; instead of element and index.")] = None,
    max_results: MaxResults = 500,
) -> IsolationResult:
    """What a branch outage, or a set of branches tripping together (N-k), isolates: buses, islands, load and generation lost.

    Buses count as isolated when no in-service path joins them to an
    ext_grid or slack gen once the branches open (topology only; no power
    flow). Two branches that each leave a bus fed by the other isolate it
    only together, so ask for them as one set.

    Parameters
    ----------
    grid_id : str
    element, index : str, int, optional
        One branch (the single-outage form).
    outages : list of {element, index}, optional
        Branches opened together, 1 to 50 (the N-k form); duplicates count once.
    max_results : int, default 500
        Most buses and loads listed [rows]; the totals and what was left out are given.

    Returns
    -------
    IsolationResult
        Isolated buses, their islands (largest first), zones, load lost [MW]
        and generation lost [MW].

    Raises
    ------
    InputError
        If neither form or both are given, or ``element`` comes without ``index``.
    UnknownElementError
        If a branch does not exist (``field`` names it: ``index`` or ``outages[i].index``).
    """
    if outages is not None and (element is not None or index is not None):
        raise InputError("give either element and index (one branch) or outages (a set of branches), not both",
                         field="outages", fix="move the single branch into outages as {'element': ..., 'index': ...}, "
                                              "or leave outages out.")
    if outages is None:
        if element is None or index is None:
            missing = "index" if element is not None else "element"
            raise InputError(f"{missing} is missing: say which branch trips", field=missing,
                             fix="give element and index (e.g. element='line', index=12), or outages=[{'element': 'line', "
                                 "'index': 12}, ...] for branches that trip together.")
        return _isolation(grid_id, [BranchOutage(element=element, index=index)], max_results, single=True)
    unique = list({(o.element, o.index): o for o in outages}.values())
    positions = {(o.element, o.index): i for i, o in reversed(list(enumerate(outages)))}
    return _isolation(grid_id, unique, max_results, single=False,
                      fields=[f"outages[{positions[(o.element, o.index)]}].index" for o in unique])


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
    return _isolation(grid_id, [BranchOutage(element=element, index=index)], max_results, single=True)
