"""N-1 contingency analysis over every branch kind.

Outaged and monitored: lines, two- and three-winding transformers,
``impedance`` branches (transformers that pandapower's MATPOWER converter
stores that way, rated by ``sn_mva``; series reactors) and DC lines.

Fast path: lightsim2grid's C++ ``ContingencyAnalysisCPP`` on a grid model
built from pandapower's own internal case (``net._ppc``), so both engines
solve exactly the same equations, in batches solved side by side by one
model per usable CPU (up to :data:`SWEEP_THREADS_MAX`; lightsim2grid releases
the GIL while it solves).  Fallback: a plain pandapower ``runpp``
loop.  Both feed the same ranking code, so they rank identically.

On the fast path, branch loading is computed from lightsim2grid's terminal
powers exactly as pandapower does: terminal current
:math:`I = |S| / (\\sqrt{3}\\, V_{pu}\\, V_{n})` [kA]; line loading
:math:`\\max(I_{from}, I_{to}) / (I_{max}\\, df\\, n_{parallel})`; trafo loading
:math:`\\max(I_{hv} V_{n,hv}, I_{lv} V_{n,lv}) \\sqrt{3} / (S_n\\, n_{parallel}\\, df)`,
in percent; an ``impedance`` branch is loaded like a trafo, against its
``sn_mva``.

Generator reactive limits: the pandapower loop enforces them in every solve.
On the fast path, the units at a Q limit in the N-0 solve are fixed at it (a
PQ injection, as ``enforce_q_lims`` does); after each outage, every other
unit's reactive output is summed from the branch flows at its bus, and any
outage that pushes one beyond its limit is flagged, and re-solved alone
with Q limits enforced (a lightsim2grid solve repeated with each unit past
its limit turned into a fixed injection, as pandapower's ``enforce_q_lims``
does; pandapower itself where that fails) when it is reported in full.

Severity counts what the outage adds: violations that are new, or worse than
in the pre-contingency state (by more than :data:`WORSENED_PERCENT` or
:data:`WORSENED_PU`); violations already present before it are counted
apart, so a pre-existing overload never fills the ranking.

Outages that split the grid are reported as ``islanding`` with the buses cut
off and the load and generation lost, never as 0 V; outages whose power flow
fails are reported as ``diverged``.  Every listed outage that splits the
energised grid also names each part it cuts off from the main source (the
topology after the outage, from pandapower's networkx graph), with its buses,
load and generation [MW], and whether it holds a source of its own.  Lists are
bounded (the :data:`EXCEPTIONS_LISTED` islanding outages that cut off the most
load); counts and MW totals cover every outage.

References
----------
.. [1] B. Donnot, "LightSim2Grid: a c++ backend for grid2op", 2020,
   https://github.com/Grid2Op/lightsim2grid (ContingencyAnalysis).
.. [2] NERC TPL-001-5.1, Table 1, category P1 (single contingency:
   loss of one transmission circuit or transformer).
.. [3] ANSI C84.1-2020 Table 1 Range A (voltage band).
.. [4] NERC MOD-025-2, R2 (verified reactive capability).
"""

from __future__ import annotations

import copy
import queue
import time
import warnings
from collections import deque
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field

from gridsage.errors import InputError, RequestTooLargeError
from gridsage.knowledge.limits import Limit, thermal_limit, voltage_band
from gridsage.tools._threads import usable_cores as usable_cpus
from gridsage.tools.base import MaxLoadingPercent, ToolResult, VmMaxPu, VmMinPu, tool
from gridsage.tools.grid._elements import BRANCH_TABLES, ElementRef, branch_loading_percent, element_ref
from gridsage.tools.grid._violations import (Violation, ViolationBrief, brief, solved_violations, thermal_violations,
                                             voltage_violations, worst_briefs)
from gridsage.tools.grid.power_flow import DIAGNOSTICS_BRIEF, DiagnosticItem, diagnose, solve, solved_base
from gridsage.tools.views import Brief, CompactView, head, label
from gridsage.tools.workspace import current_workspace

OutageElement = Literal["line", "trafo", "trafo3w", "impedance", "dcline"]
#: outage kinds studied by default: every branch kind
ALL_BRANCHES: list[str] = list(BRANCH_TABLES)
#: an overload already present before the outage counts as added when the outage raises it by more than this [%]
WORSENED_PERCENT = 1.0
#: a voltage violation already present counts as added when the outage moves the bus further out by this [pu]
WORSENED_PU = 0.005
#: an outage de-energising at least this share of the load ranks first (GridSage's own threshold; a P1 event must not
#: lose load beyond consequential load loss, NERC TPL-001-5.1 Table 1)
CRITICAL_LOAD_SHARE = 0.10
#: a unit this far beyond a reactive limit on the fast path flags the outage for a Q-limited re-solve [Mvar]
Q_SCREEN_MVAR = 1.0
#: memory bound for one lightsim2grid batch of branch results [bytes]
BATCH_BYTES = 64 * 2**20
#: outages evaluated per sweep step (severity figures are kept for all, full rows only for those reported)
SWEEP_BATCH = 512
#: lightsim2grid models solving outage batches side by side, one thread each (its solver releases the GIL)
SWEEP_THREADS_MAX = 4
#: a sweep step is split between threads only into parts of at least this many outages
THREAD_BATCH_MIN = 200
#: violations listed per contingency (the count covers all)
VIOLATIONS_LISTED = 10
#: islanding and diverged outages listed in full up to this many, the most load lost first (the counts and MW totals
#: cover all)
EXCEPTIONS_LISTED = 10
#: buses listed per island (the count covers all)
ISLAND_BUSES_LISTED = 50
#: a compact N-1 view lists the worst outages, islanding and diverged outages, and pre-existing violations up to these
TOP_BRIEF, EXCEPTIONS_BRIEF, BASE_VIOLATIONS_BRIEF = 5, 3, 3


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
    violation_count: int = Field(default=0, description="Violations after the outage, pre-existing ones included.")
    added_violation_count: int = Field(default=0, description=(
        "Violations the outage adds: new ones, and pre-existing ones it worsens. Severity ranks by these."))
    pre_existing_violation_count: int = Field(default=0, description="Violations also present before the outage, not worsened.")
    violations: list[Violation] = Field(default_factory=list, description=f"Worst {VIOLATIONS_LISTED} violations.")
    q_limits_rechecked: bool = Field(default=False, description=(
        "True when a unit went beyond its reactive limit on the fast path and this outcome was re-solved with Q limits "
        "enforced (lightsim2grid with a PV-to-PQ loop, else pandapower)."))
    islanded_buses: list[int] = Field(default_factory=list, description="Buses cut off by the outage.")
    lost_load_mw: float = Field(default=0.0, description="Load at the islanded buses [MW].")
    lost_generation_mw: float = Field(default=0.0, description="Generation (gen and sgen set-points) at the islanded buses [MW].")
    islands: list[Island] = Field(default_factory=list, description=(
        "Each part the outage cuts off from the main source (topology), largest load first; also for a diverged outage."))


class ContingencyCounts(ToolResult):
    """What an N-1 study counts over every outage (its full result and its compact view share these)."""

    status: Literal["completed", "base_case_diverged"]
    grid_id: str
    method: Literal["lightsim2grid", "pandapower"]
    contingencies_total: int = Field(description="Outages studied.")
    converged_count: int
    islanding_count: int
    diverged_count: int
    with_violations_count: int = Field(description="Solved outages that add at least one violation (new or worsened).")
    base_max_loading_percent: float | None = Field(default=None, description="N-0 highest loading [%].")
    base_violation_count: int = Field(default=0, description="Violations before any outage (they are not ranked as N-1 risks).")
    q_limit_flagged_count: int = Field(default=0, description=(
        "Outages that push a unit beyond its reactive limit on the fast path (re-solved with Q limits when reported)."))
    islanding_lost_load_mw: float = Field(default=0.0, description="Load in the islands, summed over every islanding outage [MW].")
    islanding_lost_generation_mw: float = Field(default=0.0, description=(
        "Generation in the islands, summed over every islanding outage [MW]."))


class ContingencyResult(ContingencyCounts):
    """Ranked N-1 outcomes of a grid."""

    base_violations: list[Violation] = Field(default_factory=list, description=f"The worst {VIOLATIONS_LISTED} of them.")
    top: list[ContingencyOutcome] = Field(description=(
        "Most severe outages by what they add: highest new or worsened loading, then voltage excursion, then max loading."))
    islanding: list[ContingencyOutcome] = Field(default_factory=list, description=(
        "The islanding outages that cut off the most load (then generation), up to exceptions_listed; islanding_count "
        "covers all."))
    diverged: list[ContingencyOutcome] = Field(default_factory=list, description=(
        "The first outages with no solution, in element order, up to exceptions_listed; diverged_count covers all."))
    diagnostics: list[DiagnosticItem] = Field(default_factory=list)
    limits: list[Limit] = Field(default_factory=list)
    elapsed_s: float = Field(description="Wall time of the sweep [s].")
    contingencies_per_s: float | None = None
    notes: list[str] = Field(default_factory=list)

    def compact(self) -> "ContingencyView":
        """Counts, the worst outages with their worst violation, islanding and diverged as counts with the worst few."""
        return ContingencyView.of(
            self, self.limits, self.notes, **{k: getattr(self, k) for k in ContingencyCounts.model_fields
                                              if k not in ToolResult.model_fields},
            lists={"base_violations": worst_briefs(self.base_violations, BASE_VIOLATIONS_BRIEF),
                   "top": head(self.top, TOP_BRIEF, OutageBrief.of),
                   "islanding": head(self.islanding, EXCEPTIONS_BRIEF, CutOff.of),
                   "diverged": head(self.diverged, EXCEPTIONS_BRIEF, CutOff.of),
                   "diagnostics": head([d.finding for d in self.diagnostics], DIAGNOSTICS_BRIEF)})


class OutageBrief(Brief):
    """One of the worst outages in a compact N-1 view."""

    rank: int | None = Field(default=None, description="Severity rank (1 = worst).")
    outage: str = Field(description="The branch taken out, e.g. 'line 7'.")
    status: Literal["islanding", "diverged"] | None = Field(default=None, description="None: solved, nothing cut off.")
    added_violation_count: int = Field(description="Violations it adds (new or worsened); severity ranks by these.")
    max_loading_percent: float | None = Field(default=None, description="Highest branch loading after it [%].")
    vm_min_pu: float | None = Field(default=None, description="Lowest energised bus voltage after it [pu].")
    worst: ViolationBrief | None = Field(default=None, description="Its worst violation.")
    lost_load_mw: float | None = Field(default=None, description="Load it cuts off [MW] (islanding only).")

    @classmethod
    def of(cls, o: ContingencyOutcome) -> "OutageBrief":
        """From a full outcome: its short label, figures and first (worst) violation."""
        return cls(rank=o.rank, outage=label(o.outage.element, o.outage.index),
                   status=None if o.status == "converged" else o.status, added_violation_count=o.added_violation_count,
                   max_loading_percent=o.max_loading_percent and round(o.max_loading_percent, 2),
                   vm_min_pu=o.vm_min_pu and round(o.vm_min_pu, 4),
                   worst=brief(o.violations[0] if o.violations else None),
                   lost_load_mw=o.lost_load_mw if o.status == "islanding" else None)


class CutOff(Brief):
    """An outage that cuts buses off (islanding) or has no solution (diverged), in a compact N-1 view."""

    outage: str = Field(description="The branch taken out, e.g. 'line 7'.")
    bus_count: int | None = Field(default=None, description="Buses cut off from the main source (absent: none).")
    load_mw: float | None = Field(default=None, description="Load at them [MW].")
    generation_mw: float | None = Field(default=None, description="Generation at them [MW].")

    @classmethod
    def of(cls, outcome: ContingencyOutcome) -> "CutOff":
        """From an islanding outcome (its islanded buses) or a diverged one (the parts the topology cuts off)."""
        name = label(outcome.outage.element, outcome.outage.index)
        if outcome.status == "islanding":
            return cls(outage=name, bus_count=len(outcome.islanded_buses), load_mw=outcome.lost_load_mw,
                       generation_mw=outcome.lost_generation_mw)
        parts = [i for i in outcome.islands if not i.source]
        if not parts:
            return cls(outage=name)
        return cls(outage=name, bus_count=sum(i.bus_count for i in parts), load_mw=round(sum(i.load_mw for i in parts), 3),
                   generation_mw=round(sum(i.generation_mw for i in parts), 3))


class ContingencyView(CompactView, ContingencyCounts):
    """An N-1 study as models and MCP clients receive it: counts over every outage, the worst few of each list.

    The full :class:`ContingencyResult` (every listed outage with its violations and islands) is the evidence behind
    ``evidence_id``.
    """

    base_violations: list[ViolationBrief] = Field(default_factory=list, description="The worst violations before any outage.")
    top: list[OutageBrief] = Field(default_factory=list, description="The most severe outages, worst first.")
    islanding: list[CutOff] = Field(default_factory=list, description="Islanding outages that cut off the most load.")
    diverged: list[CutOff] = Field(default_factory=list, description="Outages with no solution, in element order.")
    diagnostics: list[str] = Field(default_factory=list, description="Why the base case diverged.")

    def headline(self) -> str:
        if self.status == "base_case_diverged":
            return "base case diverged: no N-1 study"
        return (f"{self.contingencies_total} outages: {self.with_violations_count} add violations, "
                f"{self.islanding_count} islanding, {self.diverged_count} diverged")


def _outages(net, elements: list[str]) -> list[tuple[str, int]]:
    """In-service branches of the requested types, in :data:`BRANCH_TABLES` order, then table order."""
    return [(e, int(i)) for e in BRANCH_TABLES if e in elements and len(net[e])
            for i in net[e].index[net[e].in_service.to_numpy()]]


def _monitored(net) -> list[tuple[str, int]]:
    """The branch tables whose loading columns make up a row, with each one's size, in :data:`BRANCH_TABLES` order."""
    return [(e, len(net[e])) for e in BRANCH_TABLES if len(net[e])]


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
        return _stack([self._memo[p] for p in positions], sum(n for _, n in _monitored(net)), len(net.bus)) + \
            (np.zeros(len(positions), dtype=bool),)


def _stack(rows, n_branch: int, n_bus: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(loading, vm, ok)`` per row stacked into arrays (rows, n_branch) [%], (rows, n_bus) [pu], (rows,); NaN rows where
    the solve failed."""
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
        mpc = {"bus": ppc["bus"][:, :13].real.copy(), "gen": ppc["gen"][:, :21].real.copy(),
               "branch": ppc["branch"][:, :13].real, "baseMVA": ppc["baseMVA"]}
        self._single_setup({k: v.copy() if hasattr(v, "copy") else v for k, v in mpc.items()})
        self._fix_q_limited(mpc)
        references = int((ppc["bus"][:, 1].real == 3).sum())
        if references > 1:  # lightsim2grid would turn several slack buses into one distributed slack
            raise RuntimeError(f"{references} slack buses (ext_grid); lightsim2grid models only one")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._models = queue.SimpleQueue()  # one ContingencyAnalysisCPP per thread at work, built when first needed
            self._models.put(ContingencyAnalysisCPP(init_from_matpower(mpc)))
        self._mpc, self._model_count, self.threads = mpc, 1, max(1, min(SWEEP_THREADS_MAX, usable_cpus()))
        self.f_bus = ppc["branch"][:, 0].real.astype(int)
        self.t_bus = ppc["branch"][:, 1].real.astype(int)
        self.base_kv = ppc["bus"][:, 9].real
        self.v_init = (ppc["bus"][:, 7].real * np.exp(1j * np.deg2rad(ppc["bus"][:, 8].real))).astype(complex)
        kinds = ("line", "trafo", "impedance")
        rows = {e: np.arange(*lookup["branch"][e]) if e in lookup["branch"] else np.array([], int) for e in kinds}
        self.line_rows, self.trafo_rows, self.impedance_rows = rows["line"], rows["trafo"], rows["impedance"]
        self.line_cap = (net.line.max_i_ka * net.line.df * net.line.parallel).to_numpy(dtype=float)
        tr = net.trafo
        self.trafo_vn = tr.vn_hv_kv.to_numpy(dtype=float), tr.vn_lv_kv.to_numpy(dtype=float)
        self.trafo_cap = (tr.sn_mva * tr.parallel * tr.df).to_numpy(dtype=float)
        self.impedance_cap = net.impedance.sn_mva.to_numpy(dtype=float) if len(net.impedance) else np.empty(0)
        self._loading_setup()
        self.bus_rows = lookup["bus"][net.bus.index.to_numpy()]
        row_of = {e: dict(zip(net[e].index, rows[e])) for e in kinds}
        self.ppc_row = [int(row_of[e][i]) for e, i in outages]
        self.batch = max(1, BATCH_BYTES // (ppc["branch"].shape[0] * 4 * 8 + len(self.base_kv) * 16))
        self._q_screen_setup(mpc)

    def _fix_q_limited(self, mpc) -> None:
        """Units at a reactive limit in the N-0 solve become fixed P, Q injections (PQ), as ``enforce_q_lims`` does."""
        bus, gen = mpc["bus"], mpc["gen"]
        row_of_bus = {int(b): k for k, b in enumerate(bus[:, 0])}
        live = gen[:, 7] > 0
        at_limit = live & ((np.abs(gen[:, 2] - gen[:, 3]) < 1e-3) | (np.abs(gen[:, 2] - gen[:, 4]) < 1e-3))
        fixed = []  # (bus row, +1 at max / -1 at min, voltage set-point [pu])
        for k in np.flatnonzero(at_limit):
            b = row_of_bus[int(gen[k, 0])]
            if bus[b, 1] == 3:  # the reference keeps its unit
                continue
            fixed.append((b, 1.0 if abs(gen[k, 2] - gen[k, 3]) < 1e-3 else -1.0, gen[k, 5]))
            gen[k, 7] = 0
            bus[b, 2] -= gen[k, 1]
            bus[b, 3] -= gen[k, 2]
            if not np.any((gen[:, 7] > 0) & (gen[:, 0] == gen[k, 0])):
                bus[b, 1] = 1
        self.fixed_rows = np.array([f[0] for f in fixed], dtype=int)
        self.fixed_side = np.array([f[1] for f in fixed])
        self.fixed_vm_set = np.array([f[2] for f in fixed])

    def _q_screen_setup(self, mpc) -> None:
        """Incidence of the PV buses (units still holding voltage) and their summed Q limits [Mvar]."""
        from scipy.sparse import csr_matrix

        bus, gen = mpc["bus"], mpc["gen"]
        row_of_bus = {int(b): k for k, b in enumerate(bus[:, 0])}
        live = gen[:, 7] > 0
        rows = np.array([row_of_bus[int(b)] for b in gen[live, 0]], dtype=int)
        pv = np.unique(np.array([r for r in rows if bus[r, 1] == 2], dtype=int))
        self.pv_rows = pv
        self.pv_qmax = np.array([gen[live][rows == r, 3].sum() for r in pv])
        self.pv_qmin = np.array([gen[live][rows == r, 4].sum() for r in pv])
        self.pv_qd, self.pv_bs = bus[pv, 3], bus[pv, 5]
        column = {r: c for c, r in enumerate(pv)}

        def incidence(ends):  # (branches with an end at a PV bus, their rows, PV incidence)
            keep = np.flatnonzero([e in column for e in ends])
            return keep, csr_matrix((np.ones(len(keep)), (np.arange(len(keep)), [column[e] for e in ends[keep]])),
                                    shape=(len(keep), max(len(pv), 1)))
        (self.pv_from, self.c_from), (self.pv_to, self.c_to) = incidence(self.f_bus), incidence(self.t_bus)

    def _q_flags(self, flows, vm) -> np.ndarray:
        """Per row [bool]: a unit holding voltage would need more than its reactive limits (sum of branch Q at its bus,
        plus load, minus shunt), or a unit fixed at a limit since N-0 sees its bus voltage pass its set-point (it
        would hold voltage again: pandapower's solve would keep it PV)."""
        flag = np.zeros(len(vm), dtype=bool)
        if len(self.pv_rows):
            q_out = (self.c_from.T @ flows[:, self.pv_from, 1].T).T + (self.c_to.T @ flows[:, self.pv_to, 3].T).T
            q_gen = q_out + self.pv_qd - self.pv_bs * vm[:, self.pv_rows] ** 2
            beyond = (q_gen > self.pv_qmax + Q_SCREEN_MVAR) | (q_gen < self.pv_qmin - Q_SCREEN_MVAR)
            flag |= (beyond & (vm[:, self.pv_rows] > 0)).any(axis=1)  # an islanded unit (0 V) is no Q question
        if len(self.fixed_rows):
            passed = self.fixed_side * (vm[:, self.fixed_rows] - self.fixed_vm_set) > 1e-4
            flag |= (passed & (vm[:, self.fixed_rows] > 0)).any(axis=1)
        return flag

    def evaluate(self, positions):
        """Loading, voltage, converged and Q-flag rows of the outages at ``positions``: in batches bounded in memory,
        solved by up to :attr:`threads` lightsim2grid models side by side."""
        size = min(self.batch, max(THREAD_BATCH_MIN, -(-len(positions) // self.threads)))
        chunks = [positions[s:s + size] for s in range(0, len(positions), size)]
        if len(chunks) > 1 and self.threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            workers = min(self.threads, len(chunks))
            self._add_models(workers)
            with ThreadPoolExecutor(workers, thread_name_prefix="gridsage-n1") as pool:
                parts = list(pool.map(self._batch, chunks))
        else:
            parts = [self._batch(c) for c in chunks]
        return tuple(np.concatenate(p) for p in zip(*parts)) if parts else (np.empty((0, 0)),) * 2 + (np.empty(0, bool),) * 2

    def _add_models(self, count: int) -> None:
        """Up to ``count`` ContingencyAnalysisCPP models in the pool (each thread solves on its own)."""
        from lightsim2grid.lightsim2grid_cpp import ContingencyAnalysisCPP
        from lightsim2grid.network import init_from_matpower

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            while self._model_count < count:
                self._models.put(ContingencyAnalysisCPP(init_from_matpower(self._mpc)))
                self._model_count += 1

    def _batch(self, positions):
        branch_rows = [self.ppc_row[p] for p in positions]
        a = self._models.get()
        try:
            a.clear()
            a.handle_disconnected_grid = True  # clear() resets it: solve the main island, mask the rest
            a.add_multiple_n1(branch_rows)
            a.compute(self.v_init, 10, 1e-8)
            flows = a.compute_branch_results()  # (rows, n_branch, 4): P1 [MW], Q1 [Mvar], P2, Q2
            vm = np.abs(a.get_voltages())
            done = np.asarray(a.converged_mask(), dtype=bool)
            order = {d[0]: k for k, d in enumerate(a.my_defaults())}  # C++ solves in its own row order
        finally:
            self._models.put(a)
        loading, bus_vm = self._loading(flows, vm)
        take = [order[r] for r in branch_rows]
        q_flag = (self._q_flags(flows, vm) & done)[take]
        for p, k in zip(positions, take):  # buses the outage cuts off (0 V), for single solves of the main island
            dark = np.flatnonzero((vm[k] == 0) & self.live_rows)
            if len(dark):
                self.islanded[p] = dark
        loading, bus_vm, done = loading[take], bus_vm[take], done[take]
        loading[~done], bus_vm[~done] = np.nan, np.nan
        return loading, bus_vm, done, q_flag

    def _loading_setup(self) -> None:
        """Per monitored branch, the factors that turn |S| / vm at each end into loading [%].

        At an end with base voltage U_b [kV], I = |S| / (sqrt(3) vm U_b) [kA]. A line's loading is I / I_max
        (max_i_ka * df * parallel), a trafo's is sqrt(3) I U_n / S_n (U_n the winding's rated voltage, S_n = sn_mva *
        parallel * df), an impedance's is sqrt(3) I U_b / sn_mva: so loading = |S| / vm * factor at each end (kept squared
        here, so that one square root serves both ends).
        """
        sqrt3 = np.sqrt(3)
        rows = np.concatenate([self.line_rows, self.trafo_rows, self.impedance_rows]).astype(int)
        kv_f, kv_t = self.base_kv[self.f_bus[rows]], self.base_kv[self.t_bus[rows]]
        n_line, n_trafo = len(self.line_rows), len(self.trafo_rows)
        factor_f, factor_t = np.empty(len(rows)), np.empty(len(rows))
        line, trafo, imp = slice(0, n_line), slice(n_line, n_line + n_trafo), slice(n_line + n_trafo, None)
        factor_f[line] = 100 / (sqrt3 * kv_f[line] * self.line_cap)
        factor_t[line] = 100 / (sqrt3 * kv_t[line] * self.line_cap)
        factor_f[trafo] = 100 * self.trafo_vn[0] / (kv_f[trafo] * self.trafo_cap)
        factor_t[trafo] = 100 * self.trafo_vn[1] / (kv_t[trafo] * self.trafo_cap)
        factor_f[imp] = 100 / self.impedance_cap
        factor_t[imp] = 100 / self.impedance_cap
        self.monitored_rows = None if np.array_equal(rows, np.arange(len(self.f_bus))) else rows
        self.factor_f2, self.factor_t2 = factor_f ** 2, factor_t ** 2
        self.mon_f_bus, self.mon_t_bus = self.f_bus[rows], self.t_bus[rows]

    def _loading(self, flows, vm):
        """Branch loading [%] (monitored order) and bus voltage [pu] (net.bus order) of rows of terminal flows
        ``(rows, n_branch, 4)`` [MW, Mvar] and ppc bus voltages ``(rows, n_bus)`` [pu]; 0 at a branch whose end has
        no voltage (cut off)."""
        if self.monitored_rows is not None:
            flows = flows[:, self.monitored_rows]
        squares = np.square(flows)
        s2 = squares[..., 0::2] + squares[..., 1::2]  # |S|^2 at the from and to ends, (rows, branches, 2)
        with np.errstate(divide="ignore", invalid="ignore"):  # islanded buses have vm = 0
            v_from, v_to = vm[:, self.mon_f_bus], vm[:, self.mon_t_bus]
            from_end = s2[..., 0] * self.factor_f2 / (v_from * v_from)
            to_end = s2[..., 1] * self.factor_t2 / (v_to * v_to)
            loading = np.sqrt(np.fmax(from_end, to_end))  # NaN (0 / 0) on one end only: the other end's value
        loading[~np.isfinite(loading)] = 0.0
        bus_vm = vm[:, self.bus_rows]
        return loading, np.where(bus_vm > 0, bus_vm, np.nan)

    def _single_setup(self, mpc) -> None:
        """A second grid model for single outages solved with generator Q limits enforced (:meth:`q_limited`).

        Every bus with a unit gets a load (a placeholder of 1e-9 Mvar where it has none), so that a unit that
        reaches a limit can become a fixed injection there: lightsim2grid itself does not enforce Q limits.
        """
        from lightsim2grid.network import init_from_matpower

        bus, gen = mpc["bus"], mpc["gen"]
        row_of_bus = {int(b): k for k, b in enumerate(bus[:, 0])}
        live = np.flatnonzero(gen[:, 7] > 0)
        gen_rows = np.array([row_of_bus[int(b)] for b in gen[:, 0]], dtype=int)
        empty = [r for r in set(gen_rows[live].tolist()) if bus[r, 2] == 0 and bus[r, 3] == 0]
        bus[empty, 3] = 1e-9
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.single = init_from_matpower(mpc)
        self.single_load = {self.single.get_bus_load(i): i for i in range(len(self.single.get_loads()))}
        self.live_rows = bus[:, 1] != 4
        self.shunt_buses = [self.single.get_bus_shunt(i) for i in range(len(self.single.get_shunts()))]
        self.islanded: dict[int, np.ndarray] = {}
        self.bus_pd, self.bus_qd = bus[:, 2].copy(), bus[:, 3].copy()
        self.gen_rows, self.gen_p = gen_rows, gen[:, 1].copy()
        self.gen_qmax, self.gen_qmin = gen[:, 3].copy(), gen[:, 4].copy()
        self.pv_gens = [int(g) for g in live if bus[gen_rows[g], 1] == 2]

    def q_limited(self, positions):
        """Each outage solved alone with generator Q limits enforced: a unit beyond a limit becomes a fixed P, Q
        injection at it, and the solve is repeated until none is (pandapower's ``enforce_q_lims`` scheme).

        Returns
        -------
        (loading, vm, ok)
            As :meth:`evaluate`; ``ok`` is False where the solve fails (the caller falls back to pandapower).
        """
        m, rows = self.single, []
        for p in positions:
            k = self.ppc_row[p]
            m.deactivate_trafo(k)  # lightsim2grid's MATPOWER reader makes every branch a trafo, in row order
            dark = self.islanded.get(p, np.empty(0, int))
            off_gens = [g for g in np.flatnonzero(np.isin(self.gen_rows, dark)) if m.get_gen_status()[g]]
            off_loads = [self.single_load[r] for r in dark if r in self.single_load]
            off_shunts = [i for i, b in enumerate(self.shunt_buses) if b in set(dark.tolist())]
            off_branches = [int(b) for b in np.flatnonzero(np.isin(self.f_bus, dark) | np.isin(self.t_bus, dark)) if b != k
                            and m.get_trafo_status()[b]]
            switched = [(m.deactivate_trafo, m.reactivate_trafo, off_branches), (m.deactivate_shunt, m.reactivate_shunt, off_shunts),
                        (m.deactivate_gen, m.reactivate_gen, off_gens), (m.deactivate_load, m.reactivate_load, off_loads),
                        (m.deactivate_bus, m.reactivate_bus, dark)]  # the cut-off part, switched off for this solve
            for off, _, ids in switched:
                for i in ids:
                    off(int(i))
            fixed, load = [], {}
            v, ok = self.v_init, False
            try:
                for _ in range(10):
                    try:
                        v = m.ac_pf(v, 10, 1e-8)
                    except RuntimeError:  # e.g. the outage cuts the slack off: pandapower's turn
                        break
                    if not len(v):
                        break
                    q = m.get_gen_res()[1]
                    over = [g for g in self.pv_gens if g not in fixed and g not in off_gens and
                            (q[g] > self.gen_qmax[g] + 1e-4 or q[g] < self.gen_qmin[g] - 1e-4)]
                    if not over:
                        ok = True
                        break
                    for g in over:
                        limit = self.gen_qmax[g] if q[g] > self.gen_qmax[g] else self.gen_qmin[g]
                        r = self.gen_rows[g]
                        pd, qd = load.get(r, (self.bus_pd[r], self.bus_qd[r]))
                        load[r] = (pd - self.gen_p[g], qd - limit)
                        m.deactivate_gen(g)
                        m.change_p_load(self.single_load[r], load[r][0])
                        m.change_q_load(self.single_load[r], load[r][1])
                        fixed.append(g)
                if ok:
                    one, two = m.get_trafo_res1(), m.get_trafo_res2()
                    flows = np.stack([one[0], one[1], two[0], two[1]], axis=-1)[None]
                    vm = np.abs(v)[None]
                    vm[0, dark] = 0.0  # cut off: no voltage
            finally:
                for g in fixed:
                    m.reactivate_gen(g)
                for r in load:
                    m.change_p_load(self.single_load[r], self.bus_pd[r])
                    m.change_q_load(self.single_load[r], self.bus_qd[r])
                for _, on, ids in reversed(switched):
                    for i in ids:
                        on(int(i))
                m.reactivate_trafo(k)
            if ok:
                loading, bus_vm = self._loading(flows, vm)
                rows.append((loading[0], bus_vm[0], True))
            else:
                rows.append((None, None, False))
        return _stack(rows, sum(len(x) for x in (self.line_rows, self.trafo_rows, self.impedance_rows)), len(self.bus_rows))


class _QLimitedEngine:
    """Outages re-solved with generator Q limits enforced: lightsim2grid single solves with the PV-to-PQ loop
    (:meth:`_Lightsim2gridEngine.q_limited`), pandapower's ``runpp(enforce_q_lims=True)`` where those fail; memoised."""

    def __init__(self, fast: _Lightsim2gridEngine, net, outages):
        self.fast, self.fallback, self._memo = fast, _PandapowerEngine(copy.deepcopy(net), outages), {}

    def evaluate(self, positions):
        todo = [p for p in dict.fromkeys(positions) if p not in self._memo]
        if todo:
            loading, vm, ok = self.fast.q_limited(todo)
            failed = [p for p, good in zip(todo, ok) if not good]
            if failed:
                redo = dict(zip(failed, zip(*self.fallback.evaluate(failed)[:3])))
            for k, p in enumerate(todo):
                self._memo[p] = (loading[k], vm[k], True) if ok[k] else redo[p]
        rows = [self._memo[p] for p in positions]
        return (np.array([r[0] for r in rows]), np.array([r[1] for r in rows]), np.array([r[2] for r in rows], dtype=bool),
                np.zeros(len(rows), dtype=bool))


def _branch_loading(net) -> np.ndarray:
    """Loading of every monitored branch of a solved net, table by table as :func:`_monitored` [%]."""
    parts = [branch_loading_percent(net, e) for e, _ in _monitored(net)]
    return np.concatenate(parts) if parts else np.empty(0)


def _row_stats(loading, vm, energized, band: Limit, thermal: Limit, base_loading=None, base_vm=None,
               bus_load=None, bus_generation=None) -> dict[str, np.ndarray]:
    """Severity figures of each row (outage), vectorised.

    Parameters
    ----------
    loading : numpy.ndarray, shape (rows, branches)
        [%]; NaN where a branch has no result.
    vm : numpy.ndarray, shape (rows, buses)
        [pu]; NaN where a bus has no voltage.
    energized : numpy.ndarray of bool, shape (buses,)
    band, thermal : Limit
    base_loading : numpy.ndarray, shape (branches,), optional
        Pre-contingency loading [%]; with ``base_vm`` it separates what an outage adds from what was there.
    base_vm : numpy.ndarray, shape (buses,), optional
        Pre-contingency voltage [pu].
    bus_load : numpy.ndarray, shape (buses,), optional
        In-service load per bus [MW], for the load each outage de-energises.
    bus_generation : numpy.ndarray, shape (buses,), optional
        In-service gen and sgen set-points per bus [MW], for the generation each outage cuts off.

    Returns
    -------
    dict of numpy.ndarray
        ``max_loading`` [%], ``excursion`` [pu], ``violations`` (count), ``islanded`` (count of energised buses left
        without voltage), and, against the base: ``added`` (new or worsened violations), ``added_loading`` (highest
        loading among new or worsened overloads, else 0) [%], ``added_excursion`` [pu], ``lost_load`` (load at
        the energised buses left without voltage) [MW], ``lost_generation`` (generation there) [MW].
    """
    base_loading = np.zeros(loading.shape[1]) if base_loading is None else np.nan_to_num(base_loading, nan=0.0)
    base_vm = np.ones(vm.shape[1]) if base_vm is None else np.nan_to_num(base_vm, nan=1.0)
    with np.errstate(invalid="ignore"):
        filled = np.nan_to_num(loading, nan=0.0)
        max_loading = filled.max(axis=1) if loading.shape[1] else np.zeros(len(loading))
        below = np.nan_to_num(band.lower - vm, nan=0.0).clip(min=0)
        above = np.nan_to_num(vm - band.upper, nan=0.0).clip(min=0)
        overloaded = filled > thermal.upper + 1e-6
        off_band = (vm < band.lower - 1e-9) | (vm > band.upper + 1e-9)
        was_over = base_loading > thermal.upper + 1e-6
        thermal_added = overloaded & (~was_over | (filled > base_loading + WORSENED_PERCENT))
        base_off = np.maximum(band.lower - base_vm, base_vm - band.upper).clip(min=0)
        voltage_added = off_band & ((base_off <= 1e-9) | (np.maximum(below, above) > base_off + WORSENED_PU))
        added_excursion = np.where(voltage_added, np.maximum(below, above), 0.0)
    dark = np.isnan(vm) & energized
    return {"max_loading": max_loading, "excursion": np.maximum(below.max(axis=1), above.max(axis=1)) if vm.shape[1]
            else np.zeros(len(vm)),
            "violations": overloaded.sum(axis=1) + off_band.sum(axis=1),
            "added": thermal_added.sum(axis=1) + voltage_added.sum(axis=1),
            "added_loading": np.where(thermal_added, filled, 0.0).max(axis=1) if loading.shape[1] else np.zeros(len(loading)),
            "added_excursion": added_excursion.max(axis=1) if vm.shape[1] else np.zeros(len(vm)),
            "islanded": dark.sum(axis=1),
            "lost_load": dark @ bus_load if bus_load is not None else np.zeros(len(vm)),
            "lost_generation": dark @ bus_generation if bus_generation is not None else np.zeros(len(vm))}


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

        if element == "trafo3w":
            return self._trafo3w_islands(index)
        u, v = (int(self.net[element].at[index, end]) for end in BRANCH_TABLES[element])
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
        island = self._island(cut)
        return [island] if island else []

    def _island(self, cut) -> Island | None:
        buses = sorted(int(b) for b in cut if b in self.energized)
        if not buses:
            return None
        return Island(bus_count=len(buses), buses=buses[:ISLAND_BUSES_LISTED],
                      load_mw=_mw(self.load.reindex(buses).fillna(0).sum()),
                      generation_mw=_mw(self.generation.reindex(buses).fillna(0).sum()),
                      source=bool(self.sources & set(buses)))

    def _trafo3w_islands(self, index: int) -> list[Island]:
        """A three-winding transformer joins three buses: each part left without the main source is an island."""
        import networkx as nx

        terminals = [int(self.net.trafo3w.at[index, end]) for end in ("hv_bus", "mv_bus", "lv_bus")]
        key = ("trafo3w", index)
        removed = [(u, v, self.graph.get_edge_data(u, v, key)) for u in terminals for v in terminals
                   if u < v and self.graph.has_edge(u, v, key)]
        for u, v, _ in removed:
            self.graph.remove_edge(u, v, key)
        try:
            parts = {frozenset(nx.node_connected_component(self.graph, t)) for t in terminals}
        finally:
            for u, v, data in removed:
                self.graph.add_edge(u, v, key=key, **data)
        if len(parts) < 2:
            return []
        main = next((part for part in parts if self.main in part), None) or \
            next((part for part in parts if self.sources & part), None)
        return [island for part in parts if part is not main for island in [self._island(part)] if island]


def _mw(value) -> float:
    """``value`` rounded to 1 kW [MW], never -0.0."""
    return round(float(value), 3) + 0.0


def _by_bus(table):
    """In-service ``p_mw`` of a pandapower table summed per bus [MW] (a pandas Series by bus index)."""
    return table[table.in_service.astype(bool)].groupby("bus").p_mw.sum()


def _column(net, position: int) -> tuple[str, int]:
    """The branch (table, index) of a loading column, as :func:`_monitored` lays them out."""
    for element, size in _monitored(net):
        if position < size:
            return element, int(net[element].index[position])
        position -= size
    raise IndexError(position)


def _outcome(net, outage, converged, loading, vm, energized, load_by_bus, band: Limit, thermal: Limit,
             generation_by_bus=None, base=None) -> ContingencyOutcome:
    """One outcome, in full, from the branch loading [%] and bus voltage [pu] of its row; ``base`` is the
    pre-contingency (loading, vm) pair that separates added from pre-existing violations."""
    ref = element_ref(net, *outage)
    if not converged:
        return ContingencyOutcome(outage=ref, status="diverged")
    islanded = net.bus.index.to_numpy()[energized & np.isnan(vm)]
    stats = _row_stats(loading[None, :], vm[None, :], energized, band, thermal, *(base or ()))
    violations, offset = [], 0
    for element, size in _monitored(net):
        violations += thermal_violations(net, element, loading[offset:offset + size], thermal, VIOLATIONS_LISTED)
        offset += size
    violations += voltage_violations(net, vm, band, VIOLATIONS_LISTED)
    violations.sort(key=lambda v: -(v.excess / (v.limit if v.unit == "%" else 0.05)))
    finite = np.nan_to_num(loading, nan=-1.0)
    top = int(np.argmax(finite)) if np.isfinite(loading).any() else None
    top_ref = None if top is None else element_ref(net, *_column(net, top))
    live = vm[~np.isnan(vm)]
    excursion = max(0.0, band.lower - live.min(), live.max() - band.upper) if len(live) else 0.0
    count, added = int(stats["violations"][0]), int(stats["added"][0])
    return ContingencyOutcome(
        outage=ref, status="islanding" if len(islanded) else "converged",
        max_loading_percent=None if top is None else round(float(finite[top]), 3), max_loading_element=top_ref,
        vm_min_pu=round(float(live.min()), 5) if len(live) else None,
        vm_max_pu=round(float(live.max()), 5) if len(live) else None,
        voltage_excursion_pu=round(float(excursion), 5), violation_count=count, added_violation_count=added,
        pre_existing_violation_count=count - added,
        violations=violations[:VIOLATIONS_LISTED], islanded_buses=[int(b) for b in islanded],
        lost_load_mw=_mw(load_by_bus.reindex(islanded).fillna(0).sum()),
        lost_generation_mw=_mw(generation_by_bus.reindex(islanded).fillna(0).sum()) if generation_by_bus is not None else 0.0,
    )


_FIGURES = ("max_loading", "excursion", "violations", "added", "added_loading", "added_excursion", "islanded", "lost_load",
            "lost_generation")


def _sweep(engine, count: int, energized, band: Limit, thermal: Limit, base, keep: int,
           kept: dict, listed: int = EXCEPTIONS_LISTED) -> tuple[np.ndarray, np.ndarray, dict]:
    """Converged flags, Q-limit flags and severity figures of all ``count`` outages, in memory-bounded batches.

    The rows likely to be reported in full are kept in ``kept`` (position -> (loading, vm, ok)), so that they are
    not solved twice: each batch's ``listed`` islanding rows that cut off the most load and its ``keep`` most
    severe.
    """
    done, flagged, stats = [], [], []
    for first in range(0, count, SWEEP_BATCH):
        positions = list(range(first, min(count, first + SWEEP_BATCH)))
        loading, vm, ok, q_flag = engine.evaluate(positions)
        done.append(ok)
        flagged.append(q_flag)
        st = _row_stats(loading, vm, energized, band, thermal, *base)
        stats.append(st)
        worst = np.lexsort((-st["max_loading"], -st["added_excursion"], -st["added_loading"], -st["lost_load"]))[:keep]
        islands = _most_lost(np.flatnonzero(st["islanded"] > 0), st)[:listed]
        for k in set(worst.tolist()) | set(islands.tolist()):
            kept[positions[k]] = (loading[k].copy(), vm[k].copy(), bool(ok[k]))
    if not stats:
        return np.empty(0, bool), np.empty(0, bool), {k: np.empty(0) for k in _FIGURES}
    return np.concatenate(done), np.concatenate(flagged), {k: np.concatenate([st[k] for st in stats]) for k in stats[0]}


def _most_lost(rows: np.ndarray, figures: dict) -> np.ndarray:
    """``rows`` ordered by load cut off, then generation cut off (most first), then position."""
    return rows[np.lexsort((rows, -figures["lost_generation"][rows], -figures["lost_load"][rows]))]


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
    elements: Annotated[list[OutageElement], Field(min_length=1, description="Branch types to take out one at a time.")] = ALL_BRANCHES,
    method: Annotated[Literal["auto", "lightsim2grid", "pandapower"], Field(description="'lightsim2grid' fast path, 'pandapower' runpp loop, 'auto' = fast path when installed.")] = "auto",
    top: Annotated[int, Field(ge=1, le=1000, description="How many of the most severe outages to return.")] = 10,
    vm_min_pu: VmMinPu = None,
    vm_max_pu: VmMaxPu = None,
    max_loading_percent: MaxLoadingPercent = None,
    max_contingencies: Annotated[int, Field(ge=1, le=200_000, description="Refuse grids with more outages than this (bounds run time).")] = 50_000,
    q_limit_check: Annotated[Literal["reported", "all"], Field(description=(
        "Fast path: outages that push a unit beyond its reactive limit are re-solved with Q limits enforced: "
        "'reported' only those returned in top (fast), 'all' every one, so the ranking is exact (slower)."))] = "reported",
    exceptions_listed: Annotated[int, Field(ge=0, le=50_000, description=(
        "Islanding and diverged outages listed in full (most load cut off first); counts and MW totals cover all."))]
        = EXCEPTIONS_LISTED,
) -> ContingencyResult:
    """N-1 analysis: take out each line and transformer in turn, rank the results.

    Parameters
    ----------
    grid_id : str
        Grid in the workspace (never changed: outages are studied in the solver).
    elements : list of {'line', 'trafo', 'trafo3w', 'impedance', 'dcline'}, default all
        In-service branches of these types are outaged one at a time (every branch kind is monitored).
    method : {'auto', 'lightsim2grid', 'pandapower'}, default 'auto'
    top : int, default 10
        Outages returned in ``top``, worst first.
    vm_min_pu, vm_max_pu : float, optional
        Voltage band [pu]; default 0.95-1.05 (ANSI C84.1-2020 Table 1 Range A).
    max_loading_percent : float, optional
        Thermal limit [% of rating]; default 100 (NERC TPL-001-5.1 Table 1).
    max_contingencies : int, default 50000
        Bound on the number of outages.
    q_limit_check : {'reported', 'all'}, default 'reported'
        On the fast path, which outages flagged for a unit beyond its reactive limit are re-solved with Q limits
        enforced (lightsim2grid single solves with a PV-to-PQ loop, pandapower where those fail): those reported in ``top``, or all of them (then the ranking equals the pandapower
        loop's).
    exceptions_listed : int, default :data:`EXCEPTIONS_LISTED`
        Islanding outages (those cutting off the most load first) and diverged outages listed in full; the counts
        and MW totals cover every one.

    Returns
    -------
    ContingencyResult
        Counts over all outages, the ``top`` worst (highest loading [%], then
        largest voltage excursion [pu]), the islanding outages that cut off
        the most load and the first diverged ones (:data:`EXCEPTIONS_LISTED`
        each; counts and MW totals cover all).
        Models and MCP clients receive its compact view,
        :class:`ContingencyView` (the counts, the :data:`TOP_BRIEF` worst
        outages with their worst violation, :data:`EXCEPTIONS_BRIEF`
        islanding and diverged ones with the MW they cut off); the full result
        is the evidence behind ``evidence_id`` (``read_evidence``).

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
            field="max_contingencies", fix="raise max_contingencies or restrict elements, e.g. to ['line'].")
    notes = list(grid.notes)
    fast = lightsim2grid_available()
    if method == "lightsim2grid" and not fast:
        raise InputError("lightsim2grid is not installed", field="method",
                         fix="pip install lightsim2grid==1.2.0, or use method='pandapower'.")
    use_fast = method == "lightsim2grid" or (method == "auto" and fast)
    if (len(net.trafo3w) or len(net.dcline)) and use_fast:
        use_fast = False
        notes.append("Three-winding transformers or DC lines present: the pandapower loop was used instead of lightsim2grid.")
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
    base_loading = _branch_loading(net)
    load_by_bus = _by_bus(net.load)
    generation_by_bus = _by_bus(net.gen).add(_by_bus(net.sgen), fill_value=0.0)
    bus_load = load_by_bus.reindex(net.bus.index).fillna(0.0).to_numpy(dtype=float)
    bus_generation = generation_by_bus.reindex(net.bus.index).fillna(0.0).to_numpy(dtype=float)
    base = (base_loading, base_vm, bus_load, bus_generation)
    base_stats = _row_stats(base_loading[None, :], base_vm[None, :], energized, band, thermal)
    try:
        engine = _Lightsim2gridEngine(net, outages) if use_fast else _PandapowerEngine(copy.deepcopy(net), outages)
        kept: dict[int, tuple] = {}
        ok, flagged, figures = _sweep(engine, len(outages), energized, band, thermal, base, top, kept, exceptions_listed)
    except RuntimeError as exc:  # lightsim2grid cannot model this grid: say so, use the baseline engine
        notes.append(f"lightsim2grid could not run this grid ({exc}); the pandapower loop was used.")
        engine_name, engine = "pandapower", _PandapowerEngine(copy.deepcopy(net), outages)
        kept = {}
        ok, flagged, figures = _sweep(engine, len(outages), energized, band, thermal, base, top, kept, exceptions_listed)

    # outages the fast path flags for a unit beyond its Q limits are re-solved with the limits enforced:
    # all of them ('all'), or those that reach the reported top, re-ranking until the top holds no unchecked one
    fast_failed = np.flatnonzero(~ok).tolist() if engine.name == "lightsim2grid" else []
    q_flagged = int(flagged.sum())
    exact = None
    if flagged.any() or fast_failed:
        exact = _QLimitedEngine(engine, net, outages) if engine.name == "lightsim2grid" else None
    resolved: set[int] = set()

    def resolve(rows: list[int]) -> None:
        for first in range(0, len(rows), SWEEP_BATCH):
            part = rows[first:first + SWEEP_BATCH]
            loading_q, vm_q, ok_q, _ = exact.evaluate(part)
            redone = _row_stats(loading_q, vm_q, energized, band, thermal, *base)
            ok[part] = ok_q
            for key in figures:
                figures[key][part] = redone[key]
        resolved.update(rows)

    if fast_failed:  # no fast solution: pandapower's retry ladder, Q limits enforced, has the last word
        resolve(fast_failed)
        flagged[fast_failed] = True
    if q_limit_check == "all" and exact is not None:
        resolve(sorted(set(np.flatnonzero(flagged).tolist()) - resolved))
    critical_mw = CRITICAL_LOAD_SHARE * float(bus_load[energized].sum())
    while True:
        # rank the solved outages: those de-energising a critical share of the load first (most load first), then by
        # what they add: highest new or worsened overload, voltage excursion added, highest loading, element order
        solved = np.flatnonzero(ok)
        blackout = np.where(figures["lost_load"][solved] >= max(critical_mw, 1e-6), figures["lost_load"][solved], 0.0)
        order = solved[np.lexsort((solved, -np.round(figures["max_loading"][solved], 3),
                                   -np.round(figures["added_excursion"][solved], 4),
                                   -np.round(figures["added_loading"][solved], 3), -np.round(blackout, 3)))]
        unchecked = [int(p) for p in order[:top] if flagged[p] and p not in resolved]
        if not unchecked:
            break
        resolve(unchecked)
    islanding = _most_lost(solved[figures["islanded"][solved] > 0], figures).tolist()
    diverged = [int(p) for p in np.flatnonzero(~ok)]

    # full detail only for the outages reported
    wanted = sorted(set(order[:top].tolist()) | set(islanding[:exceptions_listed]))
    missing = [p for p in wanted if p not in kept]
    if missing:  # rows the sweep did not keep: solved again
        for p, row in zip(missing, zip(*engine.evaluate(missing)[:3])):
            kept[p] = row
    loading = np.array([kept[p][0] for p in wanted]) if wanted else None
    vm = np.array([kept[p][1] for p in wanted]) if wanted else None
    ok_detail = np.array([kept[p][2] for p in wanted], dtype=bool) if wanted else None
    recheck = [k for k, p in enumerate(wanted) if p in resolved]
    if recheck:
        exact_rows = exact.evaluate([wanted[k] for k in recheck])  # memoised: no new solve
        for j, k in enumerate(recheck):
            loading[k], vm[k], ok_detail[k] = exact_rows[0][j], exact_rows[1][j], exact_rows[2][j]
    detail = {p: _outcome(net, outages[p], bool(ok_detail[k]), loading[k], vm[k], energized, load_by_bus, band, thermal,
                          generation_by_bus, base) for k, p in enumerate(wanted)}
    for k in recheck:
        detail[wanted[k]].q_limits_rechecked = True
    if q_flagged:
        notes.append(f"{q_flagged} outage(s) push a unit beyond its reactive limit in the fast solver; "
                     f"{len(resolved - set(fast_failed))} of them were re-solved with Q limits enforced"
                     + (" (all)." if q_limit_check == "all" else
                        " (every one that reached the reported top); the rest are ranked on the fast solver's figures."))
    base_violations = solved_violations(net, band, thermal)
    cut_off = _Topology(net, energized, load_by_bus, generation_by_bus) if islanding or diverged else None
    for p in islanding[:exceptions_listed]:
        detail[p].islands = cut_off.islands(*outages[p])
    diverged_detail = [ContingencyOutcome(outage=element_ref(net, *outages[p]), status="diverged",
                                          islands=cut_off.islands(*outages[p])) for p in diverged[:exceptions_listed]]
    rank_of = {int(p): r for r, p in enumerate(order, 1)}
    for p, outcome in detail.items():
        outcome.rank = rank_of.get(p)
    elapsed = time.perf_counter() - start
    return ContingencyResult(
        status="completed", grid_id=grid_id, method=engine_name, contingencies_total=len(outages),
        converged_count=int(ok.sum()), islanding_count=len(islanding), diverged_count=len(diverged),
        with_violations_count=int((figures["added"][solved] > 0).sum()) if len(solved) else 0,
        base_max_loading_percent=round(float(base_stats["max_loading"][0]), 3),
        base_violation_count=int(base_stats["violations"][0]), base_violations=base_violations[:VIOLATIONS_LISTED],
        q_limit_flagged_count=q_flagged,
        top=[detail[int(p)] for p in order[:top]],
        islanding=[detail[p] for p in islanding[:exceptions_listed]],
        islanding_lost_load_mw=round(float(figures["lost_load"][islanding].sum()), 1),
        islanding_lost_generation_mw=round(float(figures["lost_generation"][islanding].sum()), 1),
        diverged=diverged_detail,
        limits=[band, thermal], elapsed_s=round(elapsed, 3),
        contingencies_per_s=round(len(outages) / elapsed, 1) if elapsed > 0 else None, notes=notes,
    )
