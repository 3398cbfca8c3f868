"""Restoration after a cascade: the order to re-energise, every step validated by AC power flow within limits.

The planner follows the staged restoration of Adibi and Fink (and NERC EOP-005's plan content): the dark area is
prepared (all-open strategy: every branch touching a dark bus is opened, so each is re-closed on purpose), sources are
found (islands that survived the cascade; black-start units), cranking paths are built to the other units and they
are started, load is picked up in blocks (critical loads first, in the given order, then the rest, largest first),
islands are resynchronised, and the remaining branches are re-closed.  The target is the pre-event state: every load
at its pre-event ``p_mw``/``q_mvar``; the initiating outages stay out (faulted); branches tripped by protection and
units tripped by the cascade may be put back.

Each candidate step is applied to the plan's own copy of the net and validated by AC power flow
(:func:`gridsage.tools.grid.power_flow.solve`, generator Q limits enforced) on the energised part: it must converge,
every energised bus must lie in the voltage band, every in-service branch within the thermal limit, and every online
unit (slack included) within its P and Q limits.  A step that fails on voltage or reactive power is given voltage
control before it is refused, as operators use the units' AVR set-points and reactive reserves during restoration
(Adibi 2000): when an island's slack unit (whose Q the power flow does not limit; every other gen is held within
its Q limits by the power flow) breaks a Q limit, (1) its voltage set-point moves in steps of :data:`VM_STEP_PU`, at
most :data:`VM_STEPS` times, (2) else the slack role passes to another online gen of the island with Q reserve in
the needed direction (up to :data:`SLACK_CANDIDATES`), (3) else the set-points of the island's other gens move
together; when a bus leaves the band, (4) the set-points of all the island's units move together (down when it is
above the band, up when below).  Every set-point stays within the band; the step names what was moved in its
detail; the result's settings count the moves.  A step that fails is not taken: a load block is halved (up to
:data:`BLOCK_HALVINGS` times), a branch or unit is set aside and another route or candidate is tried; set-aside
candidates are tried again after the next step that succeeds.  What is never restored is named with its MW and reason.

Priority of the next step (the first feasible one is taken):

1. ``black_start``: a black-start unit at a dark bus (largest ``max_p_mw`` first);
2. ``start_unit``: a unit (gen, ext_grid) out since the cascade, at an energised bus;
3. ``energise_branch`` on the cranking path: the first branch of the shortest electrical path (sum of branch
   reactance in pu, networkx Dijkstra) from the energised buses to the nearest dark bus holding a unit to start;
4. ``pick_up_load``: critical loads at energised buses, in the order given;
5. ``energise_branch`` towards the first critical load still dark;
6. ``pick_up_load``: the other loads at energised buses, largest remaining MW first (ties: lower index); then sgens
   at energised buses are reconnected (``start_unit``);
7. ``energise_branch``: a branch whose two ends are in one energised island (loops closed once the load that absorbs
   their charging is on);
8. ``energise_branch`` towards the nearest dark bus with load to restore; when no route over the pre-event branches
   is left, a route may close normally-open branches (out of service before the event): rerouting by switching;
9. ``resynchronise``: a branch joining two energised islands;
10. ``energise_branch``: every other branch to re-close (to buses without load);
11. relief by switching: when load at energised buses is still left because its pickup was refused (a branch
    loaded to its limit, a bus at the edge of the band: the feed the cascade's trip showed too weak), a
    normally-open branch whose two ends are energised is closed (``energise_branch`` within an island,
    ``resynchronise`` between two; least reactance first), giving the area a second feed, and the refused loads are
    tried again.  Each normally-open branch closes at most once, so this repeats a bounded number of times.

A pickup block in island :math:`I` is at most :math:`B_I = (\\text{max\\_pickup\\_percent}/100) \\sum_{u \\in I}
P_{max,u}` (online units; an ext_grid without ``max_p_mw`` is an unlimited neighbouring supply: no block limit),
and at most the island's headroom :math:`H_I = \\sum (P_{max} - P)`; loads are taken in the priority order and the
last one in part, so that a block restores :math:`\\min(B_I, H_I, \\text{load left})`; a block below
:data:`MIN_BLOCK_MW` (or the first load's MW left, if less) is not taken.  Units are rebalanced after every step: each island's
demand :math:`T = P_{load} - P_{sgen} + P_{losses}` is shared in proportion to the units' pre-event outputs,
:math:`P_u = P_{0,u}\\, T / \\sum P_0` (so the pre-event dispatch returns with the pre-event load), clipped to
:math:`[P_{min}, P_{max}]` with the rest shared again; when the pre-event outputs sum to nothing the change is shared
by headroom.  An island holding an unlimited ext_grid leaves the change to it.  The ext_grid, else the unit with the
largest :math:`P_{max}`, is the island's slack; losses are shared out again over up to :data:`BALANCE_ITERATIONS`
solves.  No optimal power flow is used (an AC OPF fallback was tried during development and did not converge on the
intermediate states of the public cases studied; see the tool's notes).

Validation holds elements that are already outside a limit (before the event, or after the cascade) at their excess:
a step may not worsen them beyond a tolerance (:data:`VM_TOL` 1e-4 pu, :data:`LOADING_TOL` 1e-3 %, :data:`P_TOL` and
:data:`Q_TOL` 0.05 MW / Mvar: solver accuracy, not a margin), and each step says whether its state is fully within
limits (``within_limits``).
Candidates refused :data:`MAX_REFUSALS` times are not tried again (run-time bound).

References
----------
.. [1] M. M. Adibi (ed.), "Power System Restoration: Methodologies and Implementation Strategies", IEEE Press /
   Wiley, 2000.
.. [2] M. M. Adibi, L. H. Fink, "Power system restoration planning", IEEE Trans. Power Systems 9(1), 22-28, 1994.
.. [3] NERC EOP-005-3, R1 (restoration plan: blackstart resources, cranking paths, voltage and frequency limits,
   resynchronisation).
.. [4] ANSI C84.1-2020 Table 1 Range A; NERC TPL-001-5.1 Table 1 (limits applied at every step).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field

from gridsage.errors import InputError, UnknownElementError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import Limit, corpus_entry, figure, thermal_limit, voltage_band
from gridsage.tools.base import MaxLoadingPercent, ToolResult, VmMaxPu, VmMinPu, tool
from gridsage.tools.cascade._model import (MONITORED, CascadeOptions, Curve, cascade_on_net, island_branch_losses,
                                           island_generation_load,                                            parse_outages)
from gridsage.tools.cascade.simulate import MAX_OUTAGES, OutageRef
from gridsage.tools.grid import ElementRef, branch_loading_percent, element_name
from gridsage.tools.grid.power_flow import solve
from gridsage.tools.views import Brief, CompactView
from gridsage.tools.workspace import current_workspace

#: corpus entries the planner cites: the restoration plan content, and the pickup-block default (GridSage's own)
EOP005_ENTRY = "nerc-eop-005-system-restoration-blackstart"
PICKUP_ENTRY = "practice-restoration-load-pickup-blocks"
COLD_LOAD_ENTRY = "ieee-c37-230-cold-load-pickup"
SYNC_ENTRY = "ieee-1547-synchronism-check-before-closing"
#: GridSage's default pickup block [% of the online unit capacity of the island] (read from the corpus entry)
PICKUP_FIGURE = "max_pickup_percent_default"
#: a failed load block is halved at most this many times before its first load is set aside
BLOCK_HALVINGS = 3
#: a pickup block smaller than this (or than the first load's MW left, if less) is not taken [MW]
MIN_BLOCK_MW = 1.0
#: a candidate refused by validation this many times is not tried again (bounds the run time)
MAX_REFUSALS = 3
#: solves per step to share the losses out so that no slack leaves its P limits
BALANCE_ITERATIONS = 3
#: tolerances of the validation: voltage [pu], loading [%], unit P [MW] and Q [Mvar]
VM_TOL, LOADING_TOL, P_TOL, Q_TOL = 1e-4, 1e-3, 0.05, 0.05
_TOL = {"vm": VM_TOL, "branch": LOADING_TOL, "p": P_TOL, "q": Q_TOL}
#: a slack beyond a Q limit has its voltage set-point moved by this much [pu], at most this many times per step
VM_STEP_PU, VM_STEPS = 0.005, 4
#: a slack beyond a Q limit may hand its role to one of this many other gens (largest Q reserve first)
SLACK_CANDIDATES = 3
#: a value below this is zero [MW]
EPS_MW = 1e-3
#: the planner stops after this many validation attempts (bounds the run time on large grids)
MAX_ATTEMPTS = 1500
#: unit kinds the planner starts
UNIT_KINDS = ("ext_grid", "gen")

Action = Literal["black_start", "energise_branch", "start_unit", "pick_up_load", "resynchronise"]


def _pandapower():
    from gridsage.tools.cascade._model import _pandapower as pp

    return pp()


def _topology():
    _pandapower()
    import pandapower.topology as top

    return top


class RestorationStep(BaseModel):
    """One step of the plan, with the AC power flow that validated it."""

    step: int = Field(description="Step number, from 1.")
    action: Action = Field(description="What the step does.")
    elements: list[ElementRef] = Field(description="The units, branches or loads it switches.")
    detail: str = Field(default="", description="The step in words.")
    load_restored_mw: float = Field(default=0.0, description="Load picked up by this step [MW].")
    element_mw: list[float] = Field(default_factory=list, description=(
        "For a pickup: the MW picked up at each load of ``elements``, in the same order [MW]."))
    cumulative_load_mw: float = Field(description="Load served after this step [MW].")
    cumulative_percent: float = Field(description="Load served after this step [% of the pre-event load].")
    block_limit_mw: float | None = Field(default=None, description=(
        "Pickup block limit of the island: max_pickup_percent of its online unit capacity [MW]; None when an "
        "unlimited supply (ext_grid without max_p_mw) holds it, or for steps that pick up no load."))
    online_capacity_mw: float | None = Field(default=None, description="Online unit capacity of the island [MW] (inf: unlimited).")
    islands: int = Field(description="Energised islands after the step.")
    energised_buses: int = Field(description="Energised buses after the step.")
    solution: Literal["ac"] = Field(default="ac", description="Power flow that validated the step.")
    vm_min_pu: float = Field(description="Lowest energised bus voltage [pu].")
    vm_max_pu: float = Field(description="Highest energised bus voltage [pu].")
    max_loading_percent: float | None = Field(default=None, description="Highest branch loading [% of rating].")
    max_loading_element: str | None = None
    units_within_limits: bool = Field(description="Every online unit within its P and Q limits.")
    within_limits: bool = Field(description=(
        "Every energised bus, branch and unit within its limits; False: some element is still outside (as it was "
        "after the cascade or before the event) and the step did not worsen it."))
    rejected_before: int = Field(default=0, description="Candidate steps rejected by validation since the previous step.")


class UnrestoredLoad(BaseModel):
    """A load the plan could not bring back to its pre-event demand."""

    load: ElementRef
    bus: int
    p_mw: float = Field(description="Load not restored [MW].")
    reason: str


@dataclass
class RestorationRun:
    """What :func:`restoration_on_net` returns (the tool packs it into its result)."""

    status: Literal["restored", "partial", "nothing_to_restore"]
    steps: list[RestorationStep]
    pre_event_load_mw: float
    load_lost_mw: float
    load_restored_mw: float
    load_unrestored_mw: float
    all_load_restored: bool
    unrestored: list[UnrestoredLoad]
    branches_left_open: list[ElementRef]
    units_not_restarted: list[ElementRef]
    rejected_attempts: int
    refusals: dict[str, str]
    limits: list[Limit]
    citations: list[Citation]
    settings: dict
    notes: list[str]
    final_net: object = None  # the plan's own copy of the net in its final state
    elapsed_s: float = 0.0


@dataclass
class _Failure:
    reason: str
    count: int = 0


class _Planner:
    """The state of one restoration plan on its own copy of the net."""

    def __init__(self, before, work, initiators, black_start, critical, pickup_percent, band: Limit, thermal: Limit):
        self.before = before
        self.net = work
        self.initiators = set(initiators)
        self.pickup = pickup_percent / 100.0
        self.critical = list(critical)
        self.steps: list[RestorationStep] = []
        self.rejected = 0
        self.rejected_since = 0
        self.attempts = 0
        self.failed: dict[tuple, str] = {}  # candidate -> why validation refused it (cleared after a step succeeds)
        self.refused: dict[tuple, int] = {}  # candidate -> how often validation refused it
        self.last_reason: dict[tuple, str] = {}  # kept across steps: the last reason per candidate, for the report
        self.losses: dict[frozenset, float] = {}
        load = before.load
        live = load.in_service.to_numpy(dtype=bool)
        scale = load.scaling.to_numpy(dtype=float) if "scaling" in load else np.ones(len(load))
        self.target = {int(i): float(p) * s if on else 0.0
                       for i, p, s, on in zip(load.index, load.p_mw.to_numpy(dtype=float), scale, live)}
        after = work.load
        a_scale = after.scaling.to_numpy(dtype=float)
        self.served = {int(i): (float(p) * s if on else 0.0)
                       for i, p, s, on in zip(after.index, after.p_mw.to_numpy(dtype=float), a_scale,
                                              after.in_service.to_numpy(dtype=bool))}
        for i in self.served:  # never more than the pre-event demand
            self.served[i] = min(self.served[i], self.target.get(i, 0.0))
        self.pre_event_load = sum(self.target.values())
        # closable branches: in service before the event, not an initiating outage
        self.closable = {(kind, int(i)) for kind in MONITORED if len(before[kind])
                         for i in before[kind].index[before[kind].in_service.to_numpy(dtype=bool)]
                         if (kind, int(i)) not in self.initiators}
        # normally-open branches (out of service before the event, not an initiating outage): a path to dark load
        # may close one (rerouting by switching) when no other route is left
        self.normally_open = {(kind, int(i)) for kind in MONITORED if len(before[kind])
                              for i in before[kind].index[~before[kind].in_service.to_numpy(dtype=bool)]
                              if (kind, int(i)) not in self.initiators}
        self.units = {(kind, int(i)) for kind in (*UNIT_KINDS, "sgen") if len(before[kind])
                      for i in before[kind].index[before[kind].in_service.to_numpy(dtype=bool)]
                      if (kind, int(i)) not in self.initiators}
        self.black_start = set(black_start)
        self.band, self.thermal = band, thermal
        self.held: dict[tuple, float] = {}  # excess beyond a limit in the last accepted state, per element
        self.pre_held: dict[tuple, float] = {}  # excess beyond a limit before the event, per element
        self.unit_p0 = {k: float(before[k[0]].at[k[1], "p_mw"]) if k[0] != "ext_grid" else 0.0 for k in self.units}
        self.slack_choice: dict[tuple[str, int], int] = {}  # gen -> when it was made its island's slack (latest wins)
        self.voltage_moves = {"slack_setpoint": 0, "slack_reassigned": 0, "unit_setpoints": 0}

    # ---------------------------------------------------------------- topology
    def islands(self) -> list[set[int]]:
        """Connected sets of in-service buses over in-service branches (DC lines left out)."""
        top = _topology()
        graph = top.create_nxgraph(self.net, include_dclines=False, include_out_of_service=False)
        live = set(int(b) for b in self.net.bus.index[self.net.bus.in_service.to_numpy(dtype=bool)])
        return [c for c in (set(int(b) for b in comp) & live for comp in top.connected_components(graph)) if c]

    def online(self, buses: set[int], kinds=UNIT_KINDS) -> list[tuple[str, int]]:
        found = []
        for kind in kinds:
            table = self.net[kind]
            if len(table):
                here = table.index[table.in_service.to_numpy(dtype=bool) & table.bus.isin(buses).to_numpy()]
                found += [(kind, int(i)) for i in here]
        return found

    def energised(self) -> list[set[int]]:
        return [i for i in self.islands() if self.online(i)]

    def limits_of(self, kind: str, index: int) -> tuple[float, float]:
        row = self.net[kind].loc[index]
        hi = _float(row.get("max_p_mw"), math.inf)
        lo = _float(row.get("min_p_mw"), -math.inf if kind == "ext_grid" else 0.0)
        return min(lo, hi), hi

    def capacity(self, buses: set[int]) -> float:
        return float(sum(self.limits_of(k, i)[1] for k, i in self.online(buses)))

    # ---------------------------------------------------------------- loads
    def set_load(self, index: int, p_mw: float) -> None:
        """Serve ``p_mw`` of load ``index``: its pre-event p_mw and q_mvar scaled by p_mw / target."""
        target = self.target[index]
        share = 0.0 if target <= 0 else min(max(p_mw / target, 0.0), 1.0)
        row = self.before.load.loc[index]
        scaling = _float(self.net.load.at[index, "scaling"], 1.0) or 1.0
        before_scaling = _float(row.get("scaling"), 1.0)
        self.net.load.loc[index, ["p_mw", "q_mvar"]] = [float(row.p_mw) * before_scaling * share / scaling,
                                                      float(row.q_mvar) * before_scaling * share / scaling]
        self.net.load.at[index, "in_service"] = share > 0
        self.served[index] = target * share

    def served_total(self) -> float:
        return float(sum(self.served.values()))

    def left(self, index: int) -> float:
        return max(self.target.get(index, 0.0) - self.served.get(index, 0.0), 0.0)

    # ---------------------------------------------------------------- state save / restore
    def snapshot(self) -> dict:
        net = self.net
        saved = {kind: net[kind].in_service.copy() for kind in (*MONITORED, *UNIT_KINDS, "sgen", "load") if len(net[kind])}
        saved["load_pq"] = net.load[["p_mw", "q_mvar"]].copy()
        if len(net.gen):
            saved["gen_p"] = net.gen[["p_mw", "slack"]].copy()
        saved["served"] = dict(self.served)
        saved["vm"] = {kind: net[kind].vm_pu.copy() for kind in UNIT_KINDS if len(net[kind])}
        saved["slack_choice"] = dict(self.slack_choice)
        return saved

    def restore(self, saved: dict) -> None:
        net = self.net
        for kind in (*MONITORED, *UNIT_KINDS, "sgen", "load"):
            if kind in saved:
                net[kind]["in_service"] = saved[kind]
        net.load[["p_mw", "q_mvar"]] = saved["load_pq"]
        if "gen_p" in saved:
            net.gen[["p_mw", "slack"]] = saved["gen_p"]
        self.served = saved["served"]
        for kind, vm in saved["vm"].items():
            net[kind]["vm_pu"] = vm
        self.slack_choice = saved["slack_choice"]

    # ---------------------------------------------------------------- balance and validation
    def output(self, kind: str, index: int) -> float:
        res = self.net[f"res_{kind}"]
        if index in res.index and np.isfinite(res.at[index, "p_mw"]) and bool(self.net[kind].at[index, "in_service"]):
            return float(res.at[index, "p_mw"])
        if kind == "gen":
            return _float(self.net.gen.at[index, "p_mw"], 0.0) * (_float(self.net.gen.at[index, "scaling"], 1.0) or 1.0)
        return 0.0

    def balance(self, islands: list[set[int]], fresh: set[tuple[str, int]]) -> None:
        """Share each island's demand among its units by headroom; one slack per island."""
        net = self.net
        for island in islands:
            units = self.online(island)
            load = sum(self.served[i] for i in net.load.index[net.load.in_service.to_numpy(dtype=bool)
                                                              & net.load.bus.isin(island).to_numpy()])
            sgen = net.sgen
            fixed = float((sgen.p_mw * sgen.scaling)[sgen.in_service.astype(bool) & sgen.bus.isin(island)].sum()) \
                if len(sgen) else 0.0
            demand = load - fixed + self.losses.get(frozenset(island), 0.0)
            lims = [self.limits_of(k, i) for k, i in units]
            current = np.array([min(max(0.0 if u in fresh else self.output(*u), lo), hi) for u, (lo, hi) in zip(units, lims)])
            p_min = np.array([lo for lo, _ in lims])
            p_max = np.array([hi for _, hi in lims])
            target = self.dispatch(units, demand, current, p_min, p_max)
            ext = [u for u in units if u[0] == "ext_grid"]
            chosen = [u for u in units if u in self.slack_choice]
            slack = ext[0] if ext else max(chosen, key=lambda u: self.slack_choice[u]) if chosen else \
                max(units, key=lambda u: self.limits_of(*u)[1])
            for (kind, index), p in zip(units, target):
                if kind == "gen":
                    net.gen.at[index, "p_mw"] = float(p) / (_float(net.gen.at[index, "scaling"], 1.0) or 1.0)
                    net.gen.at[index, "slack"] = (kind, index) == slack

    def dispatch(self, units, demand: float, current, p_min, p_max):
        """Unit outputs meeting ``demand`` [MW]: in proportion to the pre-event outputs, else by headroom.

        Participation :math:`P_u = P_{0,u} T / \\sum P_0` (the pre-event dispatch comes back with the pre-event
        load), clipped to the limits with the rest shared again among the unclipped units; when the units' pre-event
        outputs sum to nothing (or the limits bind them all) the change is shared by headroom."""
        p0 = np.array([max(self.unit_p0.get(u, 0.0), 0.0) for u in units])
        unlimited = ~np.isfinite(p_max)
        if unlimited.any():  # an unlimited supply (ext_grid without max_p_mw) takes up the change, as a slack would
            return current
        free = p0 > EPS_MW
        target = np.clip(current, p_min, p_max).astype(float)
        for _ in range(len(units) + 1):
            if not free.any():
                break
            fixed = float(target[~free].sum())
            share = (demand - fixed) * p0 / float(p0[free].sum())
            trial = np.where(free, share, target)
            clipped = free & ((trial > p_max) | (trial < p_min))
            target = np.clip(trial, p_min, p_max)
            if not clipped.any():
                return target
            free = free & ~clipped
        change = demand - float(target.sum())
        room = (p_max - target) if change > 0 else (target - p_min)
        room = np.where(np.isfinite(room), np.maximum(room, 0.0), 1e9)
        return target + (change * room / room.sum() if room.sum() > EPS_MW else 0.0)

    def island_losses(self, island: set[int]) -> float:
        """Generation minus load of one island in the solved state: its branch losses [MW]."""
        gen, load = island_generation_load(self.net, island)
        return gen - load

    def unit_excess(self, islands: list[set[int]]) -> tuple[dict, bool]:
        """Excess of every online unit beyond its P and Q limits [MW], [Mvar], and whether every unit has a result."""
        net = self.net
        found = {}
        for kind, index in self.online(set().union(*islands)):
            res = net[f"res_{kind}"]
            p, q = float(res.at[index, "p_mw"]), float(res.at[index, "q_mvar"])
            if not (np.isfinite(p) and np.isfinite(q)):
                return found, False
            lo, hi = self.limits_of(kind, index)
            row = net[kind].loc[index]
            q_lo, q_hi = _float(row.get("min_q_mvar"), -math.inf), _float(row.get("max_q_mvar"), math.inf)
            found[("p", kind, index)] = max(p - hi, lo - p, 0.0)
            found[("q", kind, index)] = max(q - q_hi, q_lo - q, 0.0)
        return found, True

    def solve_state(self, fresh: set[tuple[str, int]] = frozenset()) -> tuple[str | None, dict, dict]:
        """Rebalance and solve the energised part: (why it has no usable solution or None, figures, excess).

        ``excess`` maps ('vm', bus), ('branch', kind, index), ('p'|'q', kind, index) to how far the element is
        beyond its limit [pu], [%], [MW], [Mvar] (0 when within)."""
        self.attempts += 1
        islands = self.energised()
        if not islands:
            return "no energised island", {}, {}
        units: dict = {}
        for _ in range(BALANCE_ITERATIONS):
            for island in islands:
                self.losses[frozenset(island)] = self.branch_losses(island)
            self.balance(islands, fresh)
            fresh = frozenset()
            if not solve(self.net, "ac")[-1].converged:
                return "AC power flow has no solution", {}, {}
            for island in islands:
                self.losses[frozenset(island)] = max(self.island_losses(island), 0.0)
            units, complete = self.unit_excess(islands)
            if not complete:
                return "a unit has no power-flow result", {}, {}
            if not any(v > P_TOL for k, v in units.items() if k[0] == "p"):
                break
        energised = sorted(set().union(*islands))
        vm = self.net.res_bus.vm_pu.reindex(energised).to_numpy(dtype=float)
        if not np.isfinite(vm).all():
            return "an energised bus has no voltage result", {}, {}
        excess = dict(units)
        for bus, v in zip(energised, vm):
            excess[("vm", bus)] = max(self.band.lower - v, v - self.band.upper, 0.0)
        figures = {"vm_min_pu": round(float(vm.min()), 4), "vm_max_pu": round(float(vm.max()), 4),
                   "islands": len(islands), "energised_buses": len(energised)}
        worst, worst_at = None, None
        for kind in MONITORED:
            table = self.net[kind]
            if not len(table):
                continue
            values = branch_loading_percent(self.net, kind)
            for index, value, on in zip(table.index, values, table.in_service.to_numpy(dtype=bool)):
                if not on or not np.isfinite(value):
                    continue
                if worst is None or value > worst:
                    worst, worst_at = float(value), f"{kind} {int(index)}"
                excess[("branch", kind, int(index))] = max(value - self.thermal.upper, 0.0)
        figures["max_loading_percent"] = None if worst is None else round(worst, 2)
        figures["max_loading_element"] = worst_at
        figures["units_within_limits"] = all(v <= (P_TOL if k[0] == "p" else Q_TOL) for k, v in units.items())
        return None, figures, excess

    def worse(self, excess: dict) -> str | None:
        """The first element further beyond its limit than allowed (held at its pre-event or last accepted excess)."""
        for key, value in excess.items():
            tol = _TOL[key[0]]
            if value > max(self.held.get(key, 0.0), self.pre_held.get(key, 0.0)) + tol:
                what = {"vm": "voltage outside the band by {:.4f} pu", "branch": "loading above the limit by {:.2f} %",
                        "p": "P beyond its limits by {:.2f} MW", "q": "Q beyond its limits by {:.2f} Mvar"}[key[0]]
                name = f"bus {key[1]}" if key[0] == "vm" else f"{key[1]} {key[2]}"
                return f"{name}: {what.format(value)}"
        return None

    def accept(self, excess: dict) -> None:
        """Hold every element outside its limit in an accepted state at its excess: no later step may worsen it."""
        self.held = {k: v for k, v in excess.items() if v > _TOL[k[0]]}

    def branch_losses(self, island: set[int]) -> float:
        """Branch losses of an island in the last solved state (sum of pl_mw of its in-service branches) [MW]."""
        return max(island_branch_losses(self.net, island), 0.0)

    def voltage_schedule(self, excess: dict) -> tuple[str | None, dict, dict]:
        """Bring a slack unit back within its Q limits, or a bus back into the band, by voltage control.

        The power flow holds every non-slack gen within its Q limits (a gen at a limit becomes a PQ node); only an
        island's slack can break one.  Three remedies are tried in turn, each re-validated by AC power flow (the
        first state that validates is kept; otherwise every set-point and the slack are put back):

        1. the slack's voltage set-point moves by :data:`VM_STEP_PU` at a time (up when it must give more Q, down
           when it must give less), up to :data:`VM_STEPS` times within the band;
        2. the slack (frequency-regulating) role passes to another online gen of the island with Q reserve in the
           needed direction (largest reserve first, up to :data:`SLACK_CANDIDATES`); the gen that broke its limit
           becomes a voltage-regulated unit held within its Q limits by the power flow;
        3. the voltage set-points of all the island's other gens move together by :data:`VM_STEP_PU` at a time
           (down when the slack must give more Q, up when less), up to :data:`VM_STEPS` times within the band;
        4. when no slack breaks a Q limit but a bus is outside the band beyond what is held, the set-points of all the
           units of its island (ext_grid included) move together, down when the bus is above the band, up when below.

        Only called for a step that fails on voltage or Q alone.  The Q reserves of remedy 2 are read from the last
        solve (approximate after remedy 1's trials; every candidate is re-validated).

        Generators' AVR set-points and reactive reserves control voltage during restoration (Adibi 2000, ch. on
        reactive power balance); the step's detail names what was moved.

        Returns
        -------
        (str or None, dict, dict)
            What was moved, the figures and the excess of the state that validates; (None, {}, {}) when none does.
        """
        net = self.net
        for key, value in excess.items():
            if key[0] != "q" or value <= _TOL["q"] + max(self.held.get(key, 0.0), self.pre_held.get(key, 0.0)):
                continue
            kind, index = key[1], key[2]
            if kind == "gen" and not bool(net.gen.at[index, "slack"]):
                continue
            q = float(net[f"res_{kind}"].at[index, "q_mvar"])
            q_hi = _float(net[kind].at[index, "max_q_mvar"] if "max_q_mvar" in net[kind] else None, math.inf)
            sign = -1.0 if q > q_hi else 1.0  # +1: the slack must give more Q
            # 1. the slack's own set-point
            start = float(net[kind].at[index, "vm_pu"])
            for n in range(1, VM_STEPS + 1):
                vm = start + sign * n * VM_STEP_PU
                if not (self.band.lower <= vm <= self.band.upper):
                    break
                net[kind].at[index, "vm_pu"] = vm
                found = self._validates()
                if found:
                    self.voltage_moves["slack_setpoint"] += 1
                    return (f"{kind} {index} voltage set-point {start:.3f} -> {vm:.3f} pu", *found)
            net[kind].at[index, "vm_pu"] = start
            island = next((i for i in self.energised() if int(net[kind].at[index, "bus"]) in i), set())
            gens = [u for u in self.online(island, ("gen",)) if u != (kind, index)]
            # 2. another gen with Q reserve takes the slack role
            if kind == "gen":
                reserve = {}
                for u in gens:
                    row, qu = net.gen.loc[u[1]], float(net.res_gen.at[u[1], "q_mvar"])
                    lo, hi = _float(row.get("min_q_mvar"), -math.inf), _float(row.get("max_q_mvar"), math.inf)
                    reserve[u] = min(hi - qu, 1e6) if sign > 0 else min(qu - lo, 1e6)
                saved_choice = dict(self.slack_choice)
                for u in sorted((u for u in gens if reserve[u] > value), key=lambda u: (-reserve[u], u))[:SLACK_CANDIDATES]:
                    self.slack_choice = dict(saved_choice)
                    self.slack_choice.pop((kind, index), None)
                    self.slack_choice[u] = max(saved_choice.values(), default=0) + 1
                    found = self._validates()
                    if found:
                        self.voltage_moves["slack_reassigned"] += 1
                        return (f"slack role moved from gen {index} (Q {q:.1f} Mvar outside its limits) to gen {u[1]}",
                                *found)
                self.slack_choice = saved_choice
            # 3. the other units' set-points together
            if gens:
                starts = {u: float(net.gen.at[u[1], "vm_pu"]) for u in gens}
                for n in range(1, VM_STEPS + 1):
                    for u, v0 in starts.items():
                        net.gen.at[u[1], "vm_pu"] = min(max(v0 - sign * n * VM_STEP_PU, self.band.lower), self.band.upper)
                    found = self._validates()
                    if found:
                        self.voltage_moves["unit_setpoints"] += 1
                        return (f"set-points of gens {', '.join(str(u[1]) for u in gens)} moved by "
                                f"{-sign * n * VM_STEP_PU:+.3f} pu (within the band)", *found)
                for u, v0 in starts.items():
                    net.gen.at[u[1], "vm_pu"] = v0
            return None, {}, {}
        # 4. a bus outside the band (beyond what is held): every unit set-point of its island moves together
        for key, value in excess.items():
            if key[0] != "vm" or value <= _TOL["vm"] + max(self.held.get(key, 0.0), self.pre_held.get(key, 0.0)):
                continue
            bus = key[1]
            sign = -1.0 if float(net.res_bus.at[bus, "vm_pu"]) > self.band.upper else 1.0
            island = next((i for i in self.energised() if bus in i), set())
            units = self.online(island)
            starts = {u: float(net[u[0]].at[u[1], "vm_pu"]) for u in units}
            for n in range(1, VM_STEPS + 1):
                for u, v0 in starts.items():
                    net[u[0]].at[u[1], "vm_pu"] = min(max(v0 + sign * n * VM_STEP_PU, self.band.lower), self.band.upper)
                found = self._validates()
                if found:
                    self.voltage_moves["unit_setpoints"] += 1
                    return (f"bus {bus} out of the band: set-points of the island's {len(units)} unit(s) moved by "
                            f"{sign * n * VM_STEP_PU:+.3f} pu (within the band)", *found)
            for u, v0 in starts.items():
                net[u[0]].at[u[1], "vm_pu"] = v0
            return None, {}, {}
        return None, {}, {}

    def _validates(self) -> tuple[dict, dict] | None:
        """Solve and validate the current state: (figures, excess) when it validates, else None."""
        problem, figures, found = self.solve_state()
        if problem is None and self.worse(found) is None:
            return figures, found
        return None

    # ---------------------------------------------------------------- trying a step
    def attempt(self, action: str, key: tuple, change, elements: list[ElementRef], detail: str,
                fresh: set = frozenset(), load_mw: float = 0.0, block: float | None = None,
                capacity: float | None = None, element_mw: list[float] | None = None) -> bool:
        """Apply ``change`` (a callable editing the net), validate; keep it as a step, or undo it and set ``key`` aside."""
        saved = self.snapshot()
        change()
        reason, figures, excess = self.solve_state(fresh)
        reason = reason or self.worse(excess)
        moved = None
        beyond = {k[0] for k, v in excess.items()
                  if v > max(self.held.get(k, 0.0), self.pre_held.get(k, 0.0)) + _TOL[k[0]]}
        if reason is not None and excess and beyond and beyond <= {"vm", "q"}:  # fails only on voltage or Q
            moved, figures2, excess2 = self.voltage_schedule(excess)
            if moved is not None:
                reason, figures, excess = None, figures2, excess2
                detail += f"; {moved}"
        if reason is not None:
            self.restore(saved)
            self.failed[key] = reason
            self.last_reason[key] = reason
            if key[0] != "load":  # a load counts once per pickup that fails at every block size (see pick_up)
                self.refused[key] = self.refused.get(key, 0) + 1
            self.rejected += 1
            self.rejected_since += 1
            return False
        served = self.served_total()
        self.steps.append(RestorationStep(
            step=len(self.steps) + 1, action=action, elements=elements,
            detail=detail, load_restored_mw=round(load_mw, 3),
            element_mw=[round(x, 3) for x in element_mw or []],
            cumulative_load_mw=round(served, 3),
            cumulative_percent=round(100.0 * served / self.pre_event_load, 3) if self.pre_event_load > 0 else 100.0,
            block_limit_mw=None if block is None or not math.isfinite(block) else round(block, 3),
            online_capacity_mw=None if capacity is None or not math.isfinite(capacity) else round(capacity, 3),
            rejected_before=self.rejected_since, solution="ac", within_limits=not any(v > _TOL[k[0]] for k, v in excess.items()),
            **figures))
        self.rejected_since = 0
        # set-aside candidates are tried again after a step succeeds, unless refused MAX_REFUSALS times already
        self.failed = {k: v for k, v in self.failed.items() if self.refused.get(k, 0) >= MAX_REFUSALS}
        self.accept(excess)
        return True

    def ref(self, kind: str, index: int) -> ElementRef:
        return ElementRef(element=kind, index=int(index), name=element_name(self.net, kind, int(index)))

    # ---------------------------------------------------------------- candidate steps
    def start_unit(self, kind: str, index: int, action: str) -> bool:
        def change():
            self.net[kind].at[index, "in_service"] = True
            if kind == "gen":
                self.net.gen.at[index, "p_mw"] = 0.0
        bus = int(self.net[kind].at[index, "bus"])
        what = "black-start unit started" if action == "black_start" else "unit started"
        return self.attempt(action, ("unit", kind, index), change, [self.ref(kind, index)],
                            f"{element_name(self.net, kind, index)}: {what} at bus {bus}", fresh={(kind, index)})

    def close_branch(self, kind: str, index: int, action: str, why: str) -> bool:
        def change():
            self.net[kind].at[index, "in_service"] = True
        return self.attempt(action, ("branch", kind, index), lambda: change(), [self.ref(kind, index)],
                            f"{element_name(self.net, kind, index)} closed ({why})")

    def pick_up(self, order: list[int], island: set[int], label: str) -> bool:
        """Pick up a block of the loads of ``order`` (all in ``island``), halving it while validation fails."""
        capacity = self.capacity(island)
        block_limit = self.pickup * capacity
        units = self.online(island)
        headroom = sum(self.limits_of(*u)[1] - self.output(*u) for u in units)
        block = min(block_limit, headroom, sum(self.left(i) for i in order))
        if not block > EPS_MW:
            for i in order[:1]:
                self.failed[("load", i)] = "no headroom left on the island's online units"
                self.last_reason[("load", i)] = self.failed[("load", i)]
            return False
        for _ in range(BLOCK_HALVINGS + 1):
            plan, rest = [], block
            for i in order:
                take = min(self.left(i), rest)
                if take > EPS_MW:
                    plan.append((i, take))
                    rest -= take
                if rest <= EPS_MW:
                    break

            def change(plan=plan):
                for i, take in plan:
                    self.set_load(i, self.served[i] + take)
            mw = sum(t for _, t in plan)
            if mw < min(MIN_BLOCK_MW, self.left(order[0])) - EPS_MW:
                reason = self.last_reason.get(("load", order[0]), "validation")
                if not reason.startswith("no block"):
                    reason = f"no block of {min(MIN_BLOCK_MW, self.left(order[0])):.3g} MW or more validates (last: {reason})"
                self.failed[("load", order[0])] = self.last_reason[("load", order[0])] = reason
                break
            text = ", ".join(f"load {i} {t:.1f} MW" for i, t in plan)
            if self.attempt("pick_up_load", ("load", order[0]), change, [self.ref("load", i) for i, _ in plan],
                            f"{label}: {mw:.1f} MW ({text})", load_mw=mw, element_mw=[t for _, t in plan],
                            block=block_limit, capacity=capacity):
                return True
            block /= 2.0
        key = ("load", order[0])
        self.refused[key] = self.refused.get(key, 0) + 1
        return False

    # ---------------------------------------------------------------- paths
    def graph(self, reroute: bool = False):
        """Graph of in-service and closable branches weighted by |x| [pu] (with ``reroute``, normally-open branches
        too); set-aside branches left out."""
        top = _topology()
        graph = top.create_nxgraph(self.net, include_dclines=False, include_out_of_service=True,
                                   calc_branch_impedances=True, branch_impedance_unit="pu")
        drop = []
        for u, v, key, data in graph.edges(keys=True, data=True):
            kind, index = key[0], int(key[1])
            on = bool(self.net[kind].at[index, "in_service"]) if kind in self.net and index in self.net[kind].index else False
            usable = (kind, index) in self.closable or (reroute and (kind, index) in self.normally_open)
            if not on and (not usable or ("branch", kind, index) in self.failed):
                drop.append((u, v, key))
            else:
                data["x"] = max(abs(_float(data.get("x_pu"), 1e-3)), 1e-6)
        graph.remove_edges_from(drop)
        return graph

    def path_step(self, energised: set[int], targets: set[int], why: str, reroute: bool = False) -> bool | None:
        """Close the first open branch of the shortest path from ``energised`` to the nearest of ``targets``.

        None when no target can be reached; otherwise whether the branch closed (validated)."""
        import networkx as nx

        targets = targets - energised
        if not targets or not energised:
            return None
        graph = self.graph(reroute)
        sources = [b for b in energised if b in graph]
        if not sources:
            return None
        dist, paths = nx.multi_source_dijkstra(graph, sources, weight="x")
        reachable = [t for t in targets if t in dist]
        if not reachable:
            return None
        goal = min(reachable, key=lambda t: (dist[t], t))
        path = paths[goal]
        for u, v in zip(path, path[1:]):
            options = [(d["x"], k) for k, d in graph.get_edge_data(u, v).items()
                       if not bool(self.net[k[0]].at[int(k[1]), "in_service"])]
            if options:
                _, (kind, index) = min(options, key=lambda o: (o[0], o[1][0], int(o[1][1])))
                tie = " through a normally-open branch (rerouting)" if (kind, int(index)) in self.normally_open else ""
                return self.close_branch(kind, int(index), "energise_branch", f"{why}{tie}, towards bus {goal}")
        return None

    def path_loop(self, energised: set[int], targets: set[int], why: str, reroute: bool = False) -> bool:
        """:meth:`path_step` until a branch closes (True) or no route is left (False); refused branches are set aside."""
        while self.attempts < MAX_ATTEMPTS:
            done = self.path_step(energised, targets, why, reroute)
            if done is None:
                return False
            if done:
                return True
        return False

    # ---------------------------------------------------------------- the plan
    def next_step(self) -> bool:
        """Take the first feasible step in priority order; False when none is left."""
        net = self.net
        islands = self.energised()
        energised = set().union(*islands) if islands else set()
        island_of = {b: k for k, isl in enumerate(islands) for b in isl}
        # 1. black start
        dark_bs = [u for u in self.black_start if not bool(net[u[0]].at[u[1], "in_service"])
                   and int(net[u[0]].at[u[1], "bus"]) not in energised and ("unit",) + u not in self.failed]
        for kind, index in sorted(dark_bs, key=lambda u: (-self.limits_of(*u)[1], u)):
            if self.start_unit(kind, index, "black_start"):
                return True
        # 2. units at energised buses
        waiting = [u for u in self.units if u[0] in UNIT_KINDS and not bool(net[u[0]].at[u[1], "in_service"])]
        for kind, index in sorted(waiting, key=lambda u: (-self.limits_of(*u)[1], u)):
            if int(net[kind].at[index, "bus"]) in energised and ("unit", kind, index) not in self.failed:
                if self.start_unit(kind, index, "start_unit"):
                    return True
        # 3. cranking path to units still dark
        unit_buses = {int(net[k].at[i, "bus"]) for k, i in waiting if ("unit", k, i) not in self.failed}
        if self.path_loop(energised, unit_buses, "cranking path"):
            return True
        # 4. critical loads, in the given order
        critical = [i for i in self.critical if self.left(i) > EPS_MW]
        for i in critical:
            bus = int(net.load.at[i, "bus"])
            if bus in energised and ("load", i) not in self.failed:
                island = islands[island_of[bus]]
                order = [j for j in critical if int(net.load.at[j, "bus"]) in island and ("load", j) not in self.failed]
                order = order[order.index(i):]
                if self.pick_up(order, island, "critical load"):
                    return True
        for i in critical:  # 5. towards critical loads still dark
            bus = int(net.load.at[i, "bus"])
            if bus not in energised and self.path_loop(energised, {bus}, f"path to critical load {i}"):
                return True
        # 6. other loads, largest remaining first; then sgens
        others = sorted((i for i in self.target if i not in self.critical and self.left(i) > EPS_MW
                         and int(net.load.at[i, "bus"]) in energised and ("load", i) not in self.failed),
                        key=lambda i: (-self.left(i), i))
        for i in others:
            island = islands[island_of[int(net.load.at[i, "bus"])]]
            order = [j for j in others if int(net.load.at[j, "bus"]) in island]
            order = order[order.index(i):]
            if self.pick_up(order, island, "load"):
                return True
        for kind, index in sorted(u for u in self.units if u[0] == "sgen" and not bool(net.sgen.at[u[1], "in_service"])):
            if int(net.sgen.at[index, "bus"]) in energised and ("unit", kind, index) not in self.failed:
                if self.start_unit(kind, index, "start_unit"):
                    return True
        # 7. re-close branches whose ends are both in one energised island (loops: the mesh back, after the load that
        # absorbs their charging is on)
        if self.close_between(energised, island_of, same=True):
            return True
        # 8. towards dark load
        dark_load = {int(net.load.at[i, "bus"]) for i in self.target if self.left(i) > EPS_MW} - energised
        if self.path_loop(energised, dark_load, "path to load"):
            return True
        if self.path_loop(energised, dark_load, "path to load", reroute=True):
            return True
        # 9-10. resynchronise islands, then every other branch to re-close
        if self.close_between(energised, island_of, same=False) or self.close_between(energised, island_of, same=None):
            return True
        # 11. relief by switching: load left at energised buses (its pickup refused) and a normally-open branch with
        # both ends energised: close it (a second feed), then try the loads again
        return self.relieve(energised, island_of)

    def relieve(self, energised: set[int], island_of: dict) -> bool:
        """Close a normally-open branch whose ends are both energised when load at energised buses is left (its
        pickup refused by validation); least reactance first.  On success the refused loads are tried again (each
        normally-open branch closes at most once, so this repeats a bounded number of times)."""
        net = self.net
        waiting = [i for i in self.target if self.left(i) > EPS_MW and int(net.load.at[i, "bus"]) in energised]
        if not waiting:
            return False
        graph = self.graph(reroute=True)
        closing = []
        for kind, index in self.normally_open:
            if bool(net[kind].at[index, "in_service"]) or ("branch", kind, index) in self.failed:
                continue
            ends = _ends(net, kind, index)
            if all(b in energised for b in ends):
                x = min((d["x"] for k, d in (graph.get_edge_data(ends[0], ends[1]) or {}).items()
                         if (k[0], int(k[1])) == (kind, index)), default=math.inf)
                closing.append((x, kind, index, len({island_of[b] for b in ends}) == 1))
        for _, kind, index, same in sorted(closing):
            action = "energise_branch" if same else "resynchronise"
            why = ("normally-open branch closed: a second feed to relieve the branches or voltages that refused the "
                   f"pickup of load {', '.join(map(str, sorted(waiting)[:5]))} (rerouting by switching)")
            if self.close_branch(kind, index, action, why):
                for i in waiting:
                    self.failed.pop(("load", i), None)
                    self.refused.pop(("load", i), None)
                return True
        return False

    def close_between(self, energised: set[int], island_of: dict, same: bool | None) -> bool:
        """Close a closable open branch: both ends in one island (``same`` True), joining two islands (False), or
        with one end energised and the other dark (None); nearest (least reactance) first."""
        net = self.net
        closing = []
        for kind, index in self.closable:
            if bool(net[kind].at[index, "in_service"]) or ("branch", kind, index) in self.failed:
                continue
            ends = _ends(net, kind, index)
            lit = [b for b in ends if b in energised]
            if not lit:
                continue
            groups = {island_of[b] for b in lit}
            kind_of = None if len(lit) < len(ends) else (len(groups) == 1)
            if kind_of is same:
                closing.append((kind, index))
        action = "resynchronise" if same is False else "energise_branch"
        why = {True: "loop re-closed within an island", False: "islands resynchronised",
               None: "re-closed to the pre-event topology"}[same]
        for kind, index in sorted(closing):
            if self.close_branch(kind, index, action, why):
                return True
        return False


def _ends(net, kind: str, index: int) -> list[int]:
    row = net[kind].loc[index]
    cols = ("hv_bus", "mv_bus", "lv_bus") if kind == "trafo3w" else \
        ("hv_bus", "lv_bus") if kind == "trafo" else ("from_bus", "to_bus")
    return [int(row[c]) for c in cols]


def _float(value, default: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def default_black_start(net, initiators) -> list[tuple[str, int]]:
    """Black-start units by default: gens whose optional ``black_start`` column is True, and every ext_grid."""
    found = []
    if len(net.gen) and "black_start" in net.gen:
        flags = net.gen.black_start.fillna(False).astype(bool) & net.gen.in_service.astype(bool)
        found += [("gen", int(i)) for i in net.gen.index[flags]]
    found += [("ext_grid", int(i)) for i in net.ext_grid.index[net.ext_grid.in_service.astype(bool)]]
    return [u for u in found if u not in set(initiators)]


def restoration_on_net(net_before, net_after, initiators: list[tuple[str, int]], *,
                       black_start: list[tuple[str, int]] | None = None,
                       critical_loads: list[int] | None = None,
                       max_pickup_percent: float | None = None,
                       vm_min_pu: float | None = None, vm_max_pu: float | None = None,
                       max_loading_percent: float | None = None) -> RestorationRun:
    """Plan the restoration of a grid after a cascade, each step validated by AC power flow.

    Parameters
    ----------
    net_before : pandapower.pandapowerNet
        The grid before the event (left unchanged): the target loads ``p_mw``/``q_mvar`` and the elements in service.
    net_after : pandapower.pandapowerNet
        The grid after the cascade, e.g. ``cascade_on_net(...).final_net`` (left unchanged; the plan runs on a copy).
    initiators : list of (str, int)
        The initiating outages; they stay out (faulted) [-].
    black_start : list of (str, int), optional
        Black-start units, ``('gen', 3)`` or ``('ext_grid', 0)``; default :func:`default_black_start`.
    critical_loads : list of int, optional
        Load indices, highest priority first [-].
    max_pickup_percent : float, optional
        Largest load block per step [% of the island's online unit capacity]; default the GridSage default of corpus
        entry ``practice-restoration-load-pickup-blocks`` (5 %), not a figure of a standard.
    vm_min_pu, vm_max_pu : float, optional
        Voltage band for every energised bus [pu]; default ANSI C84.1 Range A from the corpus (0.95-1.05).
    max_loading_percent : float, optional
        Thermal limit [% of rating]; default NERC TPL-001 Table 1 from the corpus (100).

    Returns
    -------
    RestorationRun
        Steps in order (action, elements, MW picked up [MW], load served after it [MW] and [% of pre-event],
        extremes of the validating AC power flow [pu], [%]), the load lost [MW], restored [MW] and not restored [MW]
        with each unrestored load's reason, branches left open and units not restarted, limits and citations.

    Raises
    ------
    InputError
        If ``black_start`` names a unit that is not a gen or ext_grid in service before the event, or is an
        initiating outage; if ``critical_loads`` names a load that does not exist or is out of service before the
        event; if ``max_pickup_percent`` is not in (0, 100].

    Notes
    -----
    Block limit of island :math:`I`: :math:`B_I = p\\,\\sum_{u \\in I} P_{max,u}` with :math:`p` =
    max_pickup_percent / 100; a block restores :math:`\\min(B_I, H_I, L)` with :math:`H_I` the island's unit headroom
    and :math:`L` the load left in the order; a block that fails validation is halved, up to three times.
    Rebalance: :math:`P_u \\leftarrow P_u + \\Delta\\, r_u / \\sum r`, :math:`\\Delta = T - \\sum P`,
    :math:`r_u = P_{max,u} - P_u` (or :math:`P_u - P_{min,u}` when :math:`\\Delta < 0`).  A bus or branch already
    outside its limit before the event is held to its pre-event value instead (stated in the notes); an element
    may exceed its held value by the solver tolerance only (1e-4 pu, 1e-3 %, 0.05 MW, 0.05 Mvar).  A step that fails
    on a slack's Q limit or on the voltage band is re-tried with voltage control (unit set-points moved by 0.005 pu
    steps, at most 4, within the band; the slack role passed to a gen with Q reserve), as in Adibi (2000).

    References
    ----------
    .. [1] M. M. Adibi (ed.), "Power System Restoration", IEEE Press / Wiley, 2000.
    .. [2] M. M. Adibi, L. H. Fink, "Power system restoration planning", IEEE Trans. Power Systems 9(1), 1994.
    .. [3] NERC EOP-005-3, R1.
    """
    start = time.perf_counter()
    band, thermal = voltage_band(vm_min_pu, vm_max_pu), thermal_limit(max_loading_percent)
    default_pickup, pickup_cite, _ = figure(PICKUP_ENTRY, PICKUP_FIGURE)
    pickup = default_pickup if max_pickup_percent is None else float(max_pickup_percent)
    if not (0 < pickup <= 100) or not math.isfinite(pickup):
        raise InputError(f"max_pickup_percent {pickup!r} is outside (0, 100]", field="max_pickup_percent",
                         fix="give a block limit between 0 and 100 % of the online unit capacity, e.g. 5.")
    initiators = [(k, int(i)) for k, i in initiators]
    if black_start is None:
        units = default_black_start(net_before, initiators)
        bs_note = "gens with black_start True and every ext_grid (a neighbouring system's supply)"
    else:
        units = [(k, int(i)) for k, i in black_start]
        bs_note = "as given"
        for n, (kind, index) in enumerate(units):
            where = f"black_start[{n}]"
            if kind not in UNIT_KINDS:
                raise InputError(f"{kind} {index} is not a unit that can black-start", field=where,
                                 fix="name a gen or ext_grid, e.g. 'gen:3' or 'ext_grid:0'.")
            if index not in net_before[kind].index:
                raise UnknownElementError(f"{kind} {index} does not exist in this grid", field=where,
                                          fix=f"use an existing {kind} index (see grid_summary).")
            if not bool(net_before[kind].at[index, "in_service"]) or (kind, index) in initiators:
                raise InputError(f"{kind} {index} is out of service before the event or an initiating outage",
                                 field=where, fix="name a unit that is in service and not among the outages.")
    critical = [int(i) for i in (critical_loads or [])]
    for n, index in enumerate(critical):
        where = f"critical_loads[{n}]"
        if index not in net_before.load.index:
            raise UnknownElementError(f"load {index} does not exist in this grid ({len(net_before.load)} loads)",
                                      field=where, fix="use an existing load index (see grid_summary).")
        if not bool(net_before.load.at[index, "in_service"]):
            raise InputError(f"load {index} is out of service before the event", field=where,
                             fix="name loads in service before the event.")
        if index in critical[:n]:
            raise InputError(f"load {index} is named twice", field=where, fix="name each load once.")

    work = copy.deepcopy(net_after)
    for kind in ("gen", "sgen", "load"):
        if len(work[kind]) and "scaling" not in work[kind]:
            work[kind]["scaling"] = 1.0
    if len(work.gen) and "slack" not in work.gen:
        work.gen["slack"] = False
    planner = _Planner(net_before, work, initiators, units, critical, pickup, band, thermal)
    notes: list[str] = []

    # limits already broken before the event are held at their pre-event excess (solved on a copy of the grid)
    reference = _Planner(net_before, copy.deepcopy(net_before), [], [], [], pickup, band, thermal)
    for kind in ("gen", "sgen", "load"):
        if len(reference.net[kind]) and "scaling" not in reference.net[kind]:
            reference.net[kind]["scaling"] = 1.0
    if solve(reference.net, "ac")[-1].converged and reference.energised():
        for kind, index in planner.units:  # the pre-event dispatch: the participation factors of the rebalance
            value = reference.net[f"res_{kind}"].p_mw.get(index, np.nan)
            if np.isfinite(value):
                planner.unit_p0[(kind, index)] = float(value)
        reference.losses = {frozenset(i): reference.island_losses(i) for i in reference.energised()}
        problem, _, excess = reference.solve_state()
        if problem is None:
            planner.pre_held = {k: v for k, v in excess.items() if v > _TOL[k[0]]}
    if planner.pre_held:
        notes.append(f"{len(planner.pre_held)} element(s) (buses, branches, units) were outside their limits before "
                     "the event; each is held to its pre-event excess instead of the limit.")

    notes.append("Units share each island's demand in proportion to their pre-event outputs (the pre-event dispatch "
                 "returns with the pre-event load), within their P limits, at their pre-event voltage set-points; no "
                 "optimal power flow is used.")

    # the state after the cascade: solve it, then open every branch touching a dark bus (all-open strategy)
    islands = planner.energised()
    lit = set().union(*islands) if islands else set()
    opened = 0
    for kind in MONITORED:
        table = work[kind]
        for index in table.index[table.in_service.to_numpy(dtype=bool)]:
            if any(b not in lit for b in _ends(work, kind, int(index))):
                table.at[index, "in_service"] = False
                planner.closable.add((kind, int(index)))
                opened += 1
    lost = planner.pre_event_load - planner.served_total()
    if opened:
        notes.append(f"{opened} branch(es) in the dark area were opened first (all-open strategy) and re-closed step by step.")
    status = "nothing_to_restore"
    if islands:
        problem, _, excess = planner.solve_state()
        if problem is not None:
            notes.append(f"The state after the cascade has no AC solution ({problem}); no step can be validated.")
        else:
            planner.accept(excess)
            outside = {k: v for k, v in excess.items() if v > _TOL[k[0]] and v > planner.pre_held.get(k, 0.0)}
            if outside:
                notes.append(f"{len(outside)} element(s) are outside their limits after the cascade; steps may not "
                             "worsen them (each step says whether its state is fully within limits).")
    while planner.attempts < MAX_ATTEMPTS and planner.next_step():
        pass
    if planner.attempts >= MAX_ATTEMPTS:
        notes.append(f"The planner stopped after {MAX_ATTEMPTS} validation attempts (run-time bound).")

    # what is left
    energised = set().union(*planner.energised()) if planner.energised() else set()
    unrestored = []
    reachable = _reachable(planner, energised)
    for index in sorted(planner.target, key=lambda i: -planner.left(i)):
        mw = planner.left(index)
        if mw <= EPS_MW:
            continue
        bus = int(work.load.at[index, "bus"])
        if bus in energised:
            reason = "pickup fails validation: " + planner.last_reason.get(("load", index), "no block fits")
        elif bus not in reachable:
            reason = "no black-start unit and no path from an energised island"
        else:
            reason = "energising the path fails validation"
        unrestored.append(UnrestoredLoad(load=planner.ref("load", index), bus=bus, p_mw=round(mw, 3), reason=reason))
    left_open = [planner.ref(k, i) for k, i in sorted(planner.closable) if not bool(work[k].at[i, "in_service"])]
    not_started = [planner.ref(k, i) for k, i in sorted(planner.units) if not bool(work[k].at[i, "in_service"])]
    unserved = sum(u.p_mw for u in unrestored)
    restored = planner.served_total() - (planner.pre_event_load - lost)
    if lost > EPS_MW or planner.steps:
        status = "restored" if unserved <= EPS_MW else "partial"
    if not islands and not planner.steps:
        status = "partial" if lost > EPS_MW else "nothing_to_restore"
    if any(planner.voltage_moves.values()):
        notes.append("Voltage control was used to validate some steps (unit voltage set-points moved within the band "
                     f"or the slack role passed to a gen with Q reserve): {planner.voltage_moves}; see each step's "
                     "detail.")
    notes.append("Not modelled: cold-load pickup (loads return at their pre-event demand), transient and switching "
                 "overvoltages, frequency dynamics (the block limit stands in for the frequency dip), synchronism "
                 "(angle, slip) checks at resynchronisation, unit start-up times and ramp rates.")
    cites = [corpus_entry(EOP005_ENTRY).citation("Restoration from blackstart resources and surviving islands: cranking "
                                                "paths, load pickup in blocks, resynchronisation."),
             pickup_cite.model_copy(update={"note": f"Pickup block at most {pickup:g} % of the island's online unit "
                                                    "capacity" + (" (GridSage default, not a figure of a standard)."
                                                                  if max_pickup_percent is None else " (as given).")}),
             corpus_entry(COLD_LOAD_ENTRY).citation("Cold-load pickup is not modelled: loads return at pre-event demand."),
             corpus_entry(SYNC_ENTRY).citation("No synchronism check is modelled when islands are resynchronised.")]
    return RestorationRun(
        status=status, steps=planner.steps, pre_event_load_mw=round(planner.pre_event_load, 3),
        load_lost_mw=round(lost, 3), load_restored_mw=round(restored, 3), load_unrestored_mw=round(unserved, 3),
        all_load_restored=unserved <= EPS_MW, unrestored=unrestored, branches_left_open=left_open,
        units_not_restarted=not_started, rejected_attempts=planner.rejected,
        refusals={" ".join(map(str, k[1:])) if k[0] != "load" else f"load {k[1]}": v
                  for k, v in planner.last_reason.items()},
        limits=[band, thermal], citations=cites,
        settings={"max_pickup_percent": pickup, "black_start": [f"{k}:{i}" for k, i in units],
                  "black_start_source": bs_note, "critical_loads": critical, "strategy": "all-open",
                  "rebalance": "in proportion to pre-event outputs (by headroom when they sum to zero)",
                  "block_halvings": BLOCK_HALVINGS,
                  "voltage_control": {"vm_step_pu": VM_STEP_PU, "vm_steps": VM_STEPS,
                                      "slack_candidates": SLACK_CANDIDATES, **planner.voltage_moves},
                  "tolerances": {"vm_pu": VM_TOL, "loading_percent": LOADING_TOL, "p_mw": P_TOL, "q_mvar": Q_TOL}},
        notes=notes, final_net=work, elapsed_s=round(time.perf_counter() - start, 3))


def _reachable(planner: _Planner, energised: set[int]) -> set[int]:
    """Buses reachable from an energised bus or a black-start unit over in-service or closable branches."""
    import networkx as nx

    planner.failed.clear()
    graph = planner.graph(reroute=True)
    seeds = set(energised) | {int(planner.net[k].at[i, "bus"]) for k, i in planner.black_start}
    found = set()
    for seed in seeds:
        if seed in graph and seed not in found:
            found |= nx.node_connected_component(graph, seed)
    return {int(b) for b in found} | seeds


# ==================================================================== the tool
#: a compact view lists this many steps and unrestored loads
STEPS_BRIEF, UNRESTORED_BRIEF = 8, 3


class RestorationFigures(ToolResult):
    """A restoration plan's outcome in figures (the full result and its compact view share these)."""

    status: Literal["restored", "partial", "nothing_to_restore"] = Field(description=(
        "'restored': every load back at its pre-event demand; 'partial': some load could not be restored (see "
        "unrestored); 'nothing_to_restore': the cascade lost no load and left nothing open."))
    grid_id: str
    cascade_status: str = Field(description="Status of the re-simulated cascade.")
    pre_event_load_mw: float = Field(description="Load served before the event [MW].")
    load_lost_mw: float = Field(description="Load lost in the cascade [MW].")
    load_restored_mw: float = Field(description="Load the plan restores [MW].")
    load_unrestored_mw: float = Field(description="Load it cannot restore [MW].")
    all_load_restored: bool
    step_count: int = Field(description="Steps in the plan.")
    rejected_attempts: int = Field(description="Candidate steps that failed validation and were not taken.")


class RestorationResult(RestorationFigures):
    """A restoration plan: every step with its validation figures (bounded), what cannot be restored and why."""

    outages: list[ElementRef] = Field(description="The initiating outages (they stay out).")
    steps: list[RestorationStep] = Field(description="The steps in order (the first max_rows).")
    steps_omitted: int = 0
    unrestored: list[UnrestoredLoad] = Field(default_factory=list, description="Loads not restored (the first max_rows).")
    unrestored_omitted: int = 0
    branches_left_open: list[ElementRef] = Field(default_factory=list, description=(
        "Closable branches left open at the end (the first max_rows)."))
    branches_left_open_omitted: int = 0
    units_not_restarted: list[ElementRef] = Field(default_factory=list, description="Units left out at the end (the first max_rows).")
    units_not_restarted_omitted: int = 0
    settings: dict = Field(default_factory=dict)
    limits: list[Limit] = Field(default_factory=list, description="Limits every step is validated against, with citations.")
    citations: list[Citation] = Field(default_factory=list)
    elapsed_s: float = Field(description="Wall time of the cascade and the plan [s].")
    notes: list[str] = Field(default_factory=list)

    def compact(self) -> "RestorationView":
        """Figures, the first steps in words, the largest unrestored loads."""
        return RestorationView.of(
            self, limits=self.limits, notes=self.notes, citations=self.citations,
            **{k: getattr(self, k) for k in RestorationFigures.model_fields if k not in ToolResult.model_fields},
            lists={"steps": ([StepBrief.of(x) for x in self.steps[:STEPS_BRIEF]],
                             self.step_count - min(len(self.steps), STEPS_BRIEF)),
                   "unrestored": ([u for u in self.unrestored[:UNRESTORED_BRIEF]],
                                  len(self.unrestored) + self.unrestored_omitted - min(len(self.unrestored), UNRESTORED_BRIEF)),
                   "branches_left_open": ([], len(self.branches_left_open)),
                   "units_not_restarted": ([], len(self.units_not_restarted))})


class StepBrief(Brief):
    """One step in a compact view."""

    step: int
    action: str
    elements: list[str]
    load_restored_mw: float | None = None
    cumulative_percent: float

    @classmethod
    def of(cls, s: RestorationStep) -> "StepBrief":
        return cls(step=s.step, action=s.action, elements=[f"{e.element} {e.index}" for e in s.elements[:5]],
                   load_restored_mw=s.load_restored_mw or None, cumulative_percent=round(s.cumulative_percent, 1))


class RestorationView(CompactView, RestorationFigures):
    """A restoration plan as models and MCP clients receive it: figures, the first steps, the largest unrestored loads.

    The full :class:`RestorationResult` (every step with its validating power flow) is the evidence behind
    ``evidence_id``.
    """

    steps: list[StepBrief] = Field(default_factory=list, description=f"The first {STEPS_BRIEF} steps.")
    unrestored: list[UnrestoredLoad] = Field(default_factory=list, description=f"The {UNRESTORED_BRIEF} largest unrestored loads.")

    def headline(self) -> str:
        done = "all load restored" if self.all_load_restored else f"{self.load_unrestored_mw:.1f} MW not restorable"
        return f"{self.status}: {self.load_restored_mw:.1f} of {self.load_lost_mw:.1f} MW lost restored in {self.step_count} steps; {done}"


def _unit_refs(net, refs: list[str] | None, field_name: str) -> list[tuple[str, int]] | None:
    if refs is None:
        return None
    found = []
    for n, ref in enumerate(refs):
        where = f"{field_name}[{n}]"
        kind, sep, number = ref.strip().partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in UNIT_KINDS or not number.strip().isdigit():
            raise InputError(f"{ref[:40]!r} is not a unit reference", field=where,
                             fix="write 'gen:<index>' or 'ext_grid:<index>', e.g. 'gen:3'.")
        index = int(number)
        if index not in net[kind].index:
            raise UnknownElementError(f"{kind} {index} does not exist in this grid ({len(net[kind])} {kind}s)",
                                      field=where, fix=f"use an existing {kind} index (see grid_summary).")
        found.append((kind, index))
    return found


def _load_refs(net, refs: list[str] | None, field_name: str) -> list[int]:
    found = []
    for n, ref in enumerate(refs or []):
        where = f"{field_name}[{n}]"
        kind, sep, number = ref.strip().partition(":")
        if not sep or kind.strip().lower() != "load" or not number.strip().isdigit():
            raise InputError(f"{ref[:40]!r} is not a load reference", field=where,
                             fix="write 'load:<index>', e.g. 'load:12'.")
        index = int(number)
        if index not in net.load.index:
            raise UnknownElementError(f"load {index} does not exist in this grid ({len(net.load)} loads)", field=where,
                                      fix="use an existing load index (see grid_summary).")
        found.append(index)
    return found


UnitRef = Annotated[str, Field(min_length=3, max_length=40)]


@tool
def plan_restoration(
    grid_id: Annotated[str, Field(max_length=128, description="Grid to study, as returned by load_grid (left unchanged).")],
    outages: Annotated[list[OutageRef], Field(min_length=1, max_length=MAX_OUTAGES, description=(
        "Initiating outages of the cascade, '<kind>:<index>' as for simulate_cascade, e.g. ['line:29', 'gen:2'].") )],
    curve: Annotated[Curve, Field(description="IEEE C37.112 curve of the branch relays (cascade).")] = "very_inverse",
    time_dial: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False, description="Relay time dial TD [-].")] = 1.0,
    pickup_percent: Annotated[float, Field(gt=0, le=500, allow_inf_nan=False, description="Relay pickup [% of rating].")] = 100.0,
    uvls: Annotated[bool, Field(description="Model under-voltage load shedding in the cascade.")] = True,
    ufls: Annotated[bool, Field(description="Model under-frequency load shedding in the cascade.")] = True,
    max_stages: Annotated[int, Field(ge=1, le=1000, description="Cascade stage limit.")] = 100,
    black_start_units: Annotated[list[UnitRef] | None, Field(max_length=200, description=(
        "Black-start units, 'gen:<i>' or 'ext_grid:<i>'; default gens with black_start True and every ext_grid."))] = None,
    critical_loads: Annotated[list[UnitRef] | None, Field(max_length=500, description=(
        "Critical loads, 'load:<i>', highest priority first."))] = None,
    max_pickup_percent: Annotated[float | None, Field(gt=0, le=100, allow_inf_nan=False, description=(
        "Largest load block per step [% of the island's online unit capacity]; default 5 (GridSage default)."))] = None,
    vm_min_pu: VmMinPu = None,
    vm_max_pu: VmMaxPu = None,
    max_loading_percent: MaxLoadingPercent = None,
    max_rows: Annotated[int, Field(ge=1, le=10_000, description="Most steps and other list items in the full result.")] = 200,
) -> RestorationResult:
    """Plan the restoration after a cascade: an order to re-energise, each step validated by AC power flow.

    The cascade of ``outages`` is simulated as by ``simulate_cascade`` (deterministic); from its final state the
    plan starts black-start units, builds cranking paths to the other units, picks up critical loads then the rest in
    blocks, resynchronises islands and re-closes the tripped branches, and, when load is still refused because its
    feed is at a limit, closes a normally-open branch as a second feed (rerouting by switching), until every load is
    back at its pre-event demand or no further step validates.

    Parameters
    ----------
    grid_id : str
        Grid in the workspace (its copy is studied).
    outages : list of str, 1..50 items
        Initiating outages, ``'<kind>:<index>'`` [-]; they stay out.
    curve, time_dial, pickup_percent, uvls, ufls, max_stages
        Cascade settings, as for ``simulate_cascade``.
    black_start_units : list of str, optional
        ``'gen:<i>'`` or ``'ext_grid:<i>'`` [-].
    critical_loads : list of str, optional
        ``'load:<i>'`` in priority order [-].
    max_pickup_percent : float, optional
        Largest load block [% of online unit capacity]; default 5 (GridSage default, corpus entry
        ``practice-restoration-load-pickup-blocks``).
    vm_min_pu, vm_max_pu : float, optional
        Voltage band [pu]; default ANSI C84.1 Range A (0.95-1.05).
    max_loading_percent : float, optional
        Thermal limit [% of rating]; default NERC TPL-001 Table 1 (100).
    max_rows : int, default 200
        Steps and other list items listed; ``*_omitted`` counts the rest.

    Returns
    -------
    RestorationResult
        Status, load lost, restored and unrestored [MW], steps (action, elements, MW picked up [MW], load served
        after it [MW], [% of pre-event], voltage extremes [pu], highest loading [%], units within limits), the
        unrestored loads with reasons, limits and citations.  Models and MCP clients receive its compact view,
        :class:`RestorationView`; the full result is the evidence behind ``evidence_id``.

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    UnknownElementError
        If an outage, black-start unit or critical load names an element the grid lacks.
    InputError
        If a reference is malformed, a black-start unit is out of service or an outage, or a critical load is out
        of service or named twice.

    Notes
    -----
    Block limit :math:`B_I = (\\text{max\\_pickup\\_percent}/100) \\sum_{u \\in I} P_{max,u}`; units share each
    island's demand in proportion to their pre-event outputs, :math:`P_u = P_{0,u} T / \\sum P_0`.  A step failing on
    a slack's Q limit or the voltage band is re-tried with voltage control (unit set-points moved by 0.005 pu steps
    within the band, slack role passed to a gen with Q reserve; Adibi 2000).  See :func:`restoration_on_net`.

    References
    ----------
    .. [1] M. M. Adibi (ed.), "Power System Restoration", IEEE Press / Wiley, 2000.
    .. [2] M. M. Adibi, L. H. Fink, IEEE Trans. Power Systems 9(1), 1994.
    .. [3] NERC EOP-005-3, R1.
    """
    grid = current_workspace().get(grid_id)
    net = grid.net
    initiators = parse_outages(net, outages)
    black_start = _unit_refs(net, black_start_units, "black_start_units")
    critical = _load_refs(net, critical_loads, "critical_loads")
    if len(net.bus) > 20_000:
        raise InputError(f"the grid has {len(net.bus)} buses; the restoration planner is bounded to 20,000",
                         field="grid_id", fix="study a smaller grid or an area of it.")
    options = CascadeOptions(curve=curve, time_dial=time_dial, pickup_percent=pickup_percent, uvls=uvls, ufls=ufls,
                             max_stages=max_stages)
    start = time.perf_counter()
    cascade = cascade_on_net(net, initiators, options)
    try:
        run = restoration_on_net(net, cascade.final_net, initiators, black_start=black_start, critical_loads=critical,
                                 max_pickup_percent=max_pickup_percent, vm_min_pu=vm_min_pu, vm_max_pu=vm_max_pu,
                                 max_loading_percent=max_loading_percent)
    except InputError as exc:  # name the tool's own argument
        field_name = (exc.field or "").replace("black_start[", "black_start_units[")
        raise type(exc)(exc.message, field=field_name, fix=exc.fix) from None
    elapsed = time.perf_counter() - start
    notes = list(grid.notes) + run.notes
    return RestorationResult(
        status=run.status, grid_id=grid_id, cascade_status=cascade.status, pre_event_load_mw=run.pre_event_load_mw,
        load_lost_mw=run.load_lost_mw, load_restored_mw=run.load_restored_mw, load_unrestored_mw=run.load_unrestored_mw,
        all_load_restored=run.all_load_restored, step_count=len(run.steps), rejected_attempts=run.rejected_attempts,
        outages=[ElementRef(element=k, index=i, name=element_name(net, k, i)) for k, i in initiators],
        steps=run.steps[:max_rows], steps_omitted=max(0, len(run.steps) - max_rows),
        unrestored=run.unrestored[:max_rows], unrestored_omitted=max(0, len(run.unrestored) - max_rows),
        branches_left_open=run.branches_left_open[:max_rows],
        branches_left_open_omitted=max(0, len(run.branches_left_open) - max_rows),
        units_not_restarted=run.units_not_restarted[:max_rows],
        units_not_restarted_omitted=max(0, len(run.units_not_restarted) - max_rows),
        settings=run.settings, limits=run.limits, citations=cascade.citations + run.citations,
        elapsed_s=round(elapsed, 3), notes=notes)
