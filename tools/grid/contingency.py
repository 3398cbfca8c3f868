"""N-1 contingency analysis over lines and transformers.

Fast path: lightsim2grid's C++ ``ContingencyAnalysisCPP`` on a grid model
built from pandapower's own internal case (``net._ppc``), so both engines
solve exactly the same equations.  Fallback: a plain pandapower ``runpp``
loop.  Both feed the same ranking code, so they rank identically.

On the fast path, branch loading is computed from lightsim2grid's terminal
powers exactly as pandapower does: terminal current
:math:`I = |S| / (\\sqrt{3}\\, V_{pu}\\, V_{n})` [kA]; line loading
:math:`\\max(I_{from}, I_{to}) / (I_{max}\\, df\\, n_{parallel})`; trafo loading
:math:`\\max(I_{hv} V_{n,hv}, I_{lv} V_{n,lv}) \\sqrt{3} / (S_n\\, n_{parallel}\\, df)`,
in percent.

Outages that split the grid are reported as ``islanding`` with the buses cut
off and the load and generation lost, never as 0 V; outages whose power flow
fails are reported as ``diverged``.  Every listed outage that splits the
energised grid also names each part it cuts off from the main source (the
topology after the outage, from pandapower's networkx graph), with its buses,
load and generation [MW], and whether it holds a source of its own.  Nothing
is dropped: counts cover every outage.

References
----------
.. [1] B. Donnot, "LightSim2Grid: a c++ backend for grid2op", 2020,
   https://github.com/Grid2Op/lightsim2grid (ContingencyAnalysis).
.. [2] NERC TPL-001-5.1, Table 1, category P1 (single contingency:
   loss of one transmission circuit or transformer).
.. [3] ANSI C84.1-2020 Table 1 Range A (voltage band).
"""

from __future__ import annotations

import copy
import time
import warnings
from collections import deque
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field

from gridsage.errors import InputError, RequestTooLargeError
from gridsage.knowledge.limits import Limit, thermal_limit, voltage_band
from gridsage.tools.base import MaxLoadingPercent, ToolResult, VmMaxPu, VmMinPu, tool
from gridsage.tools.grid._elements import ElementRef, element_ref
from gridsage.tools.grid._violations import (
    Violation,
    thermal_violations,
    voltage_violations,
)
from gridsage.tools.grid.power_flow import DiagnosticItem, diagnose, solve, solved_base
from gridsage.tools.workspace import current_workspace

OutageElement = Literal["line", "trafo"]
#: memory bound for one lightsim2grid batch of branch results [bytes]
BATCH_BYTES = 64 * 2**20
#: outages evaluated per sweep step (severity figures are kept for all, full rows only for those reported)
SWEEP_BATCH = 512
#: violations listed per contingency (the count covers all)
VIOLATIONS_LISTED = 10
#: islanding and diverged outages listed in full up to this many (the counts cover all)
EXCEPTIONS_LISTED = 1000
#: buses listed per island (the count covers all)
ISLAND_BUSES_LISTED = 50


class Island(BaseModel):
    """A part of the grid that an outage cuts off from the main source."""

    bus_count: int
    buses: list[int] = Field(description=f"Its energised buses, the first {ISLAND_BUSES_LISTED} by index.")
    load_mw: float = Field(description="In-service load at its buses [MW].")
    generation_mw: float = Field(description="In-service gen and sgen set-points at its buses [MW].")
    source: bool = Field(description="True if it holds an ext_grid or a slack unit (it may run as an island); "
                                     "False: it is de-energised.")


class ContingencyOutcome(BaseModel):
    """The grid after one outage."""

    rank: int | None = Field(default=None, description="Severity rank (1 = worst) among solved outages.")
    outage: ElementRef
    status: Literal["converged", "islanding", "diverged"] = Field(
        description="'islanding': the outage cut buses off (the rest was solved); 'diverged': no solution.")
    max_loading_percent: float | None = Field(default=None, description="Highest branch loading [% of rating].")
    max_loading_element: ElementRef | None = None
    vm_min_pu: float | None = Field(default=None, description="Lowest energised bus voltage [pu].")
    vm_max_pu: float | None = Field(default=None, description="Highest energised bus voltage [pu].")
    voltage_excursion_pu: float = Field(default=0.0, description="Largest distance outside the voltage band [pu].")
    violation_count: int = 0
    violations: list[Violation] = Field(default_factory=list, description=f"Worst {VIOLATIONS_LISTED} violations.")
    islanded_buses: list[int] = Field(default_factory=list, description="Buses cut off by the outage.")
    lost_load_mw: float = Field(default=0.0, description="Load at the islanded buses [MW].")
    lost_generation_mw: float = Field(default=0.0, description="Generation (gen and sgen set-points) at the islanded buses [MW].")
    islands: list[Island] = Field(default_factory=list, description=(
        "Each part the outage cuts off from the main source (topology), largest load first; also for a diverged outage."))


class ContingencyResult(ToolResult):
    """Ranked N-1 outcomes of a grid."""

    status: Literal["completed", "base_case_diverged"]
    grid_id: str
    method: Literal["lightsim2grid", "pandapower"]
    contingencies_total: int = Field(description="Outages studied.")
    converged_count: int
    islanding_count: int
    diverged_count: int
    with_violations_count: int = Field(description="Solved outages with at least one violation.")
    base_max_loading_percent: float | None = Field(default=None, description="N-0 highest loading [%].")
    base_violation_count: int = 0
    top: list[ContingencyOutcome] = Field(description="Most severe outages: max loading, then voltage excursion.")
    islanding: list[ContingencyOutcome] = Field(default_factory=list, description="Every islanding outage.")
    islanding_lost_load_mw: float = Field(default=0.0, description="Load in the islands, summed over the islanding outages listed [MW].")
    islanding_lost_generation_mw: float = Field(default=0.0, description=(
        "Generation in the islands, summed over the islanding outages listed [MW]."))
    diverged: list[ContingencyOutcome] = Field(default_factory=list, description="Every outage with no solution.")
    diagnostics: list[DiagnosticItem] = Field(default_factory=list)
    limits: list[Limit] = Field(default_factory=list)
    elapsed_s: float = Field(description="Wall time of the sweep [s].")
    contingencies_per_s: float | None = None
    notes: list[str] = Field(default_factory=list)


def _outages(net, elements: list[str]) -> list[tuple[str, int]]:
    """In-service branches of the requested types, lines first, in table order."""
    return [(e, int(i)) for e in ("line", "trafo") if e in elements and len(net[e])
            for i in net[e].index[net[e].in_service.to_numpy()]]


class _PandapowerEngine:
    """One ``runpp`` per outage, lightsim2grid off (a true baseline); results memoised."""

    name = "pandapower"

    def __init__(self, net, outages):
        self.net, self.outages, self._memo = net, outages, {}

    def evaluate(self, positions):
        net = self.net
        for pos in positions:
            if pos in self._memo:
                continue
            element, index = self.outages[pos]
            net[element].at[index, "in_service"] = False
            ok = solve(net, "ac")[-1].converged
            net[element].at[index, "in_service"] = True
            self._memo[pos] = (
                _branch_loading(net) if ok else None,
                net.res_bus.vm_pu.reindex(net.bus.index).to_numpy(dtype=float) if ok else None,
                ok,
            )
        n_branch, n_bus = len(net.line) + len(net.trafo), len(net.bus)
        rows = [self._memo[p] for p in positions]
        loading = np.array([r[0] if r[2] else np.full(n_branch, np.nan) for r in rows]).reshape(len(rows), n_branch)
        vm = np.array([r[1] if r[2] else np.full(n_bus, np.nan) for r in rows]).reshape(len(rows), n_bus)
        return loading, vm, np.array([r[2] for r in rows], dtype=bool)


class _Lightsim2gridEngine:
    """lightsim2grid's C++ contingency analysis on the grid model of ``net._ppc``."""

    name = "lightsim2grid"

    def __init__(self, net, outages):
        from lightsim2grid.lightsim2grid_cpp import ContingencyAnalysisCPP
        from lightsim2grid.network import init_from_matpower

        ppc, lookup = net._ppc, net._pd2ppc_lookups  # built by the N-0 runpp
        mpc = {"bus": ppc["bus"][:, :13].real, "gen": ppc["gen"][:, :21].real,
               "branch": ppc["branch"][:, :13].real, "baseMVA": ppc["baseMVA"]}
        references = int((ppc["bus"][:, 1].real == 3).sum())
        if references > 1:  # lightsim2grid would turn several slack buses into one distributed slack
            raise RuntimeError(f"{references} slack buses (ext_grid); lightsim2grid models only one")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.analysis = ContingencyAnalysisCPP(init_from_matpower(mpc))
        self.f_bus = ppc["branch"][:, 0].real.astype(int)
        self.t_bus = ppc["branch"][:, 1].real.astype(int)
        self.base_kv = ppc["bus"][:, 9].real
        self.v_init = (ppc["bus"][:, 7].real * np.exp(1j * np.deg2rad(ppc["bus"][:, 8].real))).astype(complex)
        rows = {e: np.arange(*lookup["branch"][e]) if e in lookup["branch"] else np.array([], int) for e in ("line", "trafo")}
        self.line_rows, self.trafo_rows = rows["line"], rows["trafo"]
        self.line_cap = (net.line.max_i_ka * net.line.df * net.line.parallel).to_numpy(dtype=float)
        tr = net.trafo
        self.trafo_vn = tr.vn_hv_kv.to_numpy(dtype=float), tr.vn_lv_kv.to_numpy(dtype=float)
        self.trafo_cap = (tr.sn_mva * tr.parallel * tr.df).to_numpy(dtype=float)
        self.bus_rows = lookup["bus"][net.bus.index.to_numpy()]
        row_of = {e: dict(zip(net[e].index, rows[e])) for e in ("line", "trafo")}
        self.ppc_row = [int(row_of[e][i]) for e, i in outages]
        self.batch = max(1, BATCH_BYTES // (ppc["branch"].shape[0] * 4 * 8 + len(self.base_kv) * 16))

    def evaluate(self, positions):
        parts = [self._batch(positions[s:s + self.batch]) for s in range(0, len(positions), self.batch)]
        return tuple(np.concatenate(p) for p in zip(*parts)) if parts else (np.empty((0, 0)),) * 2 + (np.empty(0, bool),)

    def _batch(self, positions):
        branch_rows = [self.ppc_row[p] for p in positions]
        a = self.analysis
        a.clear()
        a.handle_disconnected_grid = True  # clear() resets it: solve the main island, mask the rest
        a.add_multiple_n1(branch_rows)
        a.compute(self.v_init, 10, 1e-8)
        flows = a.compute_branch_results()  # (rows, n_branch, 4): P1 [MW], Q1 [Mvar], P2, Q2
        vm = np.abs(a.get_voltages())
        done = np.asarray(a.converged_mask(), dtype=bool)
        sqrt3 = np.sqrt(3)
        with np.errstate(divide="ignore", invalid="ignore"):  # islanded buses have vm = 0
            i_from = np.hypot(flows[..., 0], flows[..., 1]) / (sqrt3 * vm[:, self.f_bus] * self.base_kv[self.f_bus])
            i_to = np.hypot(flows[..., 2], flows[..., 3]) / (sqrt3 * vm[:, self.t_bus] * self.base_kv[self.t_bus])
        i_from, i_to = np.nan_to_num(i_from, posinf=0.0), np.nan_to_num(i_to, posinf=0.0)
        line = np.maximum(i_from[:, self.line_rows], i_to[:, self.line_rows]) / self.line_cap * 100
        trafo = np.maximum(i_from[:, self.trafo_rows] * self.trafo_vn[0], i_to[:, self.trafo_rows] * self.trafo_vn[1]) \
            * sqrt3 / self.trafo_cap * 100
        loading = np.hstack([line, trafo])
        bus_vm = vm[:, self.bus_rows]
        bus_vm = np.where(bus_vm > 0, bus_vm, np.nan)
        order = {d[0]: k for k, d in enumerate(a.my_defaults())}  # C++ solves in its own row order
        take = [order[r] for r in branch_rows]
        loading, bus_vm, done = loading[take], bus_vm[take], done[take]
        loading[~done], bus_vm[~done] = np.nan, np.nan
        return loading, bus_vm, done


def _branch_loading(net) -> np.ndarray:
    """Loading of every line then every trafo of a solved net [%]."""
    return np.r_[net.res_line.loading_percent.to_numpy(dtype=float), net.res_trafo.loading_percent.to_numpy(dtype=float)]


def _row_stats(loading, vm, energized, band: Limit, thermal: Limit) -> dict[str, np.ndarray]:
    """Severity figures of each row (outage), vectorised.

    Returns
    -------
    dict of numpy.ndarray
        ``max_loading`` [%], ``excursion`` [pu], ``violations`` (count),
        ``islanded`` (count of energised buses left without voltage).
    """
    with np.errstate(invalid="ignore"):
        max_loading = np.nan_to_num(loading, nan=0.0).max(axis=1) if loading.shape[1] else np.zeros(len(loading))
        low = np.nan_to_num(band.lower - vm, nan=0.0).clip(min=0).max(axis=1)
        high = np.nan_to_num(vm - band.upper, nan=0.0).clip(min=0).max(axis=1)
        count = (np.nan_to_num(loading, nan=0.0) > thermal.upper + 1e-6).sum(axis=1) + \
            ((vm < band.lower - 1e-9) | (vm > band.upper + 1e-9)).sum(axis=1)
    return {"max_loading": max_loading, "excursion": np.maximum(low, high), "violations": count,
            "islanded": (np.isnan(vm) & energized).sum(axis=1)}


def _smaller_side(graph, u: int, v: int) -> tuple[int, set] | None:
    """After a u-v branch is removed: ``(0 or 1, nodes)`` of the side that a breadth-first search run from both
    ends in step exhausts first (the smaller side, found in time proportional to its size; 0 = u's side), or None
    when u and v are still connected."""
    seen, queues = ({u}, {v}), (deque([u]), deque([v]))
    while True:
        for side in (0, 1):
            if not queues[side]:
                return side, seen[side]
            for neighbour in graph[queues[side].popleft()]:
                if neighbour in seen[1 - side]:
                    return None
                if neighbour not in seen[side]:
                    seen[side].add(neighbour)
                    queues[side].append(neighbour)


class _Topology:
    """What a single branch outage cuts off: the in-service topology (pandapower's networkx graph, switches
    respected), split at the outaged branch.

    Removing one branch splits its component into at most two parts; the part that holds the main source (the
    first in-service ext_grid, else the first slack unit) stays, and the other part, if it has energised buses,
    is the island.  Where neither part holds the main source, the part with a source stays.
    """

    def __init__(self, net, energized, load_by_bus, generation_by_bus):
        import networkx as nx
        import pandapower.topology as topology

        self.net, self.graph = net, topology.create_nxgraph(net, include_out_of_service=False)
        self.component = {bus: k for k, part in enumerate(nx.connected_components(self.graph)) for bus in part}
        self.energized = set(net.bus.index[energized].tolist())
        self.load, self.generation = load_by_bus, generation_by_bus
        ext = net.ext_grid.bus[net.ext_grid.in_service.astype(bool)].tolist()
        slack = net.gen.bus[net.gen.in_service.astype(bool) & net.gen.slack.astype(bool)].tolist() if "slack" in net.gen else []
        self.sources = set(ext) | set(slack)
        self.main = (ext + slack)[0] if ext + slack else None

    def islands(self, element: str, index: int) -> list[Island]:
        """The islands that taking out ``element`` ``index`` leaves (empty if it splits nothing energised)."""
        import networkx as nx

        ends = ("from_bus", "to_bus") if element == "line" else ("hv_bus", "lv_bus")
        u, v = (int(self.net[element].at[index, end]) for end in ends)
        key = (element, index)
        if not self.graph.has_edge(u, v, key):
            return []
        data = self.graph.get_edge_data(u, v, key)
        self.graph.remove_edge(u, v, key)
        try:
            found = _smaller_side(self.graph, u, v)
            if found is None:
                return []
            side, small = found
            if self.main not in small and self.component.get(self.main) == self.component.get(u):
                cut = small  # the main source is on the other side: the smaller side is the island
            else:
                part_u, part_v = (small, nx.node_connected_component(self.graph, v)) if side == 0 else \
                    (nx.node_connected_component(self.graph, u), small)
                cut = part_v if self.main in part_u or (self.main not in part_v and not self.sources & part_v) else part_u
        finally:
            self.graph.add_edge(u, v, key=key, **data)
        buses = sorted(int(b) for b in cut if b in self.energized)
        if not buses:
            return []
        return [Island(bus_count=len(buses), buses=buses[:ISLAND_BUSES_LISTED],
                       load_mw=_mw(self.load.reindex(buses).fillna(0).sum()),
                       generation_mw=_mw(self.generation.reindex(buses).fillna(0).sum()),
                       source=bool(self.sources & set(buses)))]


def _mw(value) -> float:
    """``value`` rounded to 1 kW [MW], never -0.0."""
    return round(float(value), 3) + 0.0


def _by_bus(table):
    """In-service ``p_mw`` of a pandapower table summed per bus [MW] (a pandas Series by bus index)."""
    return table[table.in_service.astype(bool)].groupby("bus").p_mw.sum()


def _outcome(net, outage, converged, loading, vm, energized, load_by_bus, band: Limit, thermal: Limit,
             generation_by_bus=None) -> ContingencyOutcome:
    """One outcome, in full, from the branch loading [%] and bus voltage [pu] of its row."""
    ref = element_ref(net, *outage)
    if not converged:
        return ContingencyOutcome(outage=ref, status="diverged")
    n_line = len(net.line)
    islanded = net.bus.index.to_numpy()[energized & np.isnan(vm)]
    count = int(_row_stats(loading[None, :], vm[None, :], energized, band, thermal)["violations"][0])
    violations = thermal_violations(net, "line", loading[:n_line], thermal, VIOLATIONS_LISTED) + \
        thermal_violations(net, "trafo", loading[n_line:], thermal, VIOLATIONS_LISTED) + \
        voltage_violations(net, vm, band, VIOLATIONS_LISTED)
    violations.sort(key=lambda v: -(v.excess / (v.limit if v.unit == "%" else 0.05)))
    finite = np.nan_to_num(loading, nan=-1.0)
    top = int(np.argmax(finite)) if len(finite) else None
    top_ref = None if top is None else (element_ref(net, "line", net.line.index[top]) if top < n_line
                                        else element_ref(net, "trafo", net.trafo.index[top - n_line]))
    live = vm[~np.isnan(vm)]
    excursion = max(0.0, band.lower - live.min(), live.max() - band.upper) if len(live) else 0.0
    return ContingencyOutcome(
        outage=ref, status="islanding" if len(islanded) else "converged",
        max_loading_percent=None if top is None else round(float(finite[top]), 3), max_loading_element=top_ref,
        vm_min_pu=round(float(live.min()), 5) if len(live) else None,
        vm_max_pu=round(float(live.max()), 5) if len(live) else None,
        voltage_excursion_pu=round(float(excursion), 5), violation_count=count,
        violations=violations[:VIOLATIONS_LISTED], islanded_buses=[int(b) for b in islanded],
        lost_load_mw=_mw(load_by_bus.reindex(islanded).fillna(0).sum()),
        lost_generation_mw=_mw(generation_by_bus.reindex(islanded).fillna(0).sum()) if generation_by_bus is not None else 0.0,
    )


def _sweep(engine, count: int, energized, band: Limit, thermal: Limit) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Severity figures of all ``count`` outages, evaluated in memory-bounded batches."""
    done, stats = [], []
    for first in range(0, count, SWEEP_BATCH):
        loading, vm, ok = engine.evaluate(list(range(first, min(count, first + SWEEP_BATCH))))
        done.append(ok)
        stats.append(_row_stats(loading, vm, energized, band, thermal))
    if not stats:
        return np.empty(0, bool), {k: np.empty(0) for k in ("max_loading", "excursion", "violations", "islanded")}
    return np.concatenate(done), {k: np.concatenate([st[k] for st in stats]) for k in stats[0]}


def lightsim2grid_available() -> bool:
    """True when lightsim2grid's contingency engine can be imported."""
    try:
        from lightsim2grid.lightsim2grid_cpp import ContingencyAnalysisCPP  # noqa: F401
    except ImportError:
        return False
    return True


@tool
def run_contingency_analysis(
    grid_id: Annotated[str, Field(description="Grid to study, as returned by load_grid.")],
    elements: Annotated[list[OutageElement], Field(min_length=1, description="Branch types to take out one at a time.")] = ["line", "trafo"],
    method: Annotated[Literal["auto", "lightsim2grid", "pandapower"], Field(description="'lightsim2grid' fast path, 'pandapower' runpp loop, 'auto' = fast path when installed.")] = "auto",
    top: Annotated[int, Field(ge=1, le=1000, description="How many of the most severe outages to return.")] = 10,
    vm_min_pu: VmMinPu = None,
    vm_max_pu: VmMaxPu = None,
    max_loading_percent: MaxLoadingPercent = None,
    max_contingencies: Annotated[int, Field(ge=1, le=200_000, description="Refuse grids with more outages than this (bounds run time).")] = 50_000,
) -> ContingencyResult:
    """N-1 analysis: take out each line and transformer in turn, rank the results.

    Parameters
    ----------
    grid_id : str
        Grid in the workspace (never changed: outages are studied in the solver).
    elements : list of {'line', 'trafo'}, default ['line', 'trafo']
        In-service branches of these types are outaged one at a time.
    method : {'auto', 'lightsim2grid', 'pandapower'}, default 'auto'
    top : int, default 10
        Outages returned in ``top``, worst first.
    vm_min_pu, vm_max_pu : float, optional
        Voltage band [pu]; default 0.95-1.05 (ANSI C84.1-2020 Table 1 Range A).
    max_loading_percent : float, optional
        Thermal limit [% of rating]; default 100 (NERC TPL-001-5.1 Table 1).
    max_contingencies : int, default 50000
        Bound on the number of outages.

    Returns
    -------
    ContingencyResult
        Counts over all outages, the ``top`` worst (highest loading [%], then
        largest voltage excursion [pu]), every islanding and every diverged
        outage.

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    RequestTooLargeError
        If the grid has more outages than ``max_contingencies``.
    InputError
        If ``method='lightsim2grid'`` but lightsim2grid is not installed.

    References
    ----------
    .. [1] NERC TPL-001-5.1, Table 1, P1 events.
    .. [2] lightsim2grid ContingencyAnalysis (B. Donnot, 2020).
    """
    grid = current_workspace().get(grid_id)
    net = grid.net
    band, thermal = voltage_band(vm_min_pu, vm_max_pu), thermal_limit(max_loading_percent)
    outages = _outages(net, elements)
    if len(outages) > max_contingencies:
        raise RequestTooLargeError(
            f"{len(outages)} outages exceed max_contingencies={max_contingencies}",
            field="max_contingencies", fix="raise max_contingencies or restrict elements to 'line' or 'trafo'.")
    notes = list(grid.notes)
    fast = lightsim2grid_available()
    if method == "lightsim2grid" and not fast:
        raise InputError("lightsim2grid is not installed", field="method",
                         fix="pip install lightsim2grid==1.2.0, or use method='pandapower'.")
    use_fast = method == "lightsim2grid" or (method == "auto" and fast)
    if len(net.trafo3w) and use_fast:
        use_fast = False
        notes.append("Three-winding transformers present: the pandapower loop was used instead of lightsim2grid.")
    if method == "auto" and not fast:
        notes.append("lightsim2grid is not installed: the slower pandapower loop was used.")
    engine_name = "lightsim2grid" if use_fast else "pandapower"

    start = time.perf_counter()
    net, base = solved_base(grid)
    if not base[-1].converged:
        return ContingencyResult(status="base_case_diverged", grid_id=grid_id, method=engine_name, contingencies_total=len(outages),
                                 converged_count=0, islanding_count=0, diverged_count=0, with_violations_count=0,
                                 top=[], diagnostics=diagnose(net), limits=[band, thermal], notes=notes,
                                 elapsed_s=round(time.perf_counter() - start, 3))
    base_vm = net.res_bus.vm_pu.reindex(net.bus.index).to_numpy(dtype=float)
    energized = net.bus.in_service.to_numpy() & ~np.isnan(base_vm)
    base_stats = _row_stats(_branch_loading(net)[None, :], base_vm[None, :], energized, band, thermal)
    try:
        engine = _Lightsim2gridEngine(net, outages) if use_fast else _PandapowerEngine(copy.deepcopy(net), outages)
        ok, figures = _sweep(engine, len(outages), energized, band, thermal)
    except RuntimeError as exc:  # lightsim2grid cannot model this grid: say so, use the baseline engine
        notes.append(f"lightsim2grid could not run this grid ({exc}); the pandapower loop was used.")
        engine_name, engine = "pandapower", _PandapowerEngine(copy.deepcopy(net), outages)
        ok, figures = _sweep(engine, len(outages), energized, band, thermal)

    # rank the solved outages: highest loading, then largest voltage excursion, then element order
    solved = np.flatnonzero(ok)
    order = solved[np.lexsort((solved, -np.round(figures["excursion"][solved], 4), -np.round(figures["max_loading"][solved], 3)))]
    islanding = [int(p) for p in solved if figures["islanded"][p] > 0]
    diverged = [int(p) for p in np.flatnonzero(~ok)]

    # full detail only for the outages reported
    wanted = sorted(set(order[:top].tolist()) | set(islanding[:EXCEPTIONS_LISTED]))
    loading, vm, ok_detail = engine.evaluate(wanted) if wanted else (None, None, None)
    load_by_bus = _by_bus(net.load)
    generation_by_bus = _by_bus(net.gen).add(_by_bus(net.sgen), fill_value=0.0)
    detail = {p: _outcome(net, outages[p], bool(ok_detail[k]), loading[k], vm[k], energized, load_by_bus, band, thermal,
                          generation_by_bus) for k, p in enumerate(wanted)}
    cut_off = _Topology(net, energized, load_by_bus, generation_by_bus) if islanding or diverged else None
    for p in islanding[:EXCEPTIONS_LISTED]:
        detail[p].islands = cut_off.islands(*outages[p])
    diverged_detail = [ContingencyOutcome(outage=element_ref(net, *outages[p]), status="diverged",
                                          islands=cut_off.islands(*outages[p])) for p in diverged[:EXCEPTIONS_LISTED]]
    rank_of = {int(p): r for r, p in enumerate(order, 1)}
    for p, outcome in detail.items():
        outcome.rank = rank_of.get(p)
    elapsed = time.perf_counter() - start
    return ContingencyResult(
        status="completed", grid_id=grid_id, method=engine_name, contingencies_total=len(outages),
        converged_count=int(ok.sum()), islanding_count=len(islanding), diverged_count=len(diverged),
        with_violations_count=int((figures["violations"][solved] > 0).sum()) if len(solved) else 0,
        base_max_loading_percent=round(float(base_stats["max_loading"][0]), 3),
        base_violation_count=int(base_stats["violations"][0]),
        top=[detail[int(p)] for p in order[:top]],
        islanding=[detail[p] for p in islanding[:EXCEPTIONS_LISTED]],
        islanding_lost_load_mw=round(sum(detail[p].lost_load_mw for p in islanding[:EXCEPTIONS_LISTED]), 1),
        islanding_lost_generation_mw=round(sum(detail[p].lost_generation_mw for p in islanding[:EXCEPTIONS_LISTED]), 1),
        diverged=diverged_detail,
        limits=[band, thermal], elapsed_s=round(elapsed, 3),
        contingencies_per_s=round(len(outages) / elapsed, 1) if elapsed > 0 else None, notes=notes,
    )
