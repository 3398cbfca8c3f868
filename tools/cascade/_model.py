"""The quasi-steady-state cascade model: protection with time, load shedding, islands rebalanced, stage by stage.

The model follows the OPA / Manchester family of quasi-steady-state cascading-failure models (Dobson, Carreras,
Lynch and Newman's OPA; Nedic, Dobson, Kirschen et al.'s Manchester model): a sequence of power-flow solutions in
which overloaded branches trip, islands that form are rebalanced by their own units or go dark, and load is shed by
under-frequency and under-voltage schemes, until no branch is over its protection pickup.  Each stage:

1. **Islands** (pandapower's networkx graph of the in-service branches, DC lines left out since each AC side must
   balance itself).  An island without a unit (ext_grid or gen) goes dark: its load and any sgen at its buses are
   lost.  An island with units is rebalanced: its demand :math:`T = P_{load} - P_{sgen} + P_{losses}` is shared by
   its units in proportion to their headroom :math:`P_{max} - P` (or their room above :math:`P_{min}` when output
   must fall); the ext_grid, else the unit with the largest :math:`P_{max}`, is its slack.  An island unchanged since
   the last stage keeps its set-points and its slack takes up the change (one interconnected grid), unless the
   slack is then beyond a P limit: then it is rebalanced as above.
2. **Frequency** (static estimate).  An island whose units must move by :math:`\\Delta P = T - \\sum P` settles,
   on primary (droop) response alone, at :math:`f = f_0 (1 - R\\, \\Delta P / \\sum P_{max})` with droop
   :math:`R` = 5 % (NERC primary frequency control guideline); a deficit beyond the units' headroom has no such
   point (frequency keeps falling).  Under-frequency load-shedding stages whose frequency lies above the estimate
   operate in turn, each shedding its share of every load's pre-event demand (NERC PRC-006 regional programme;
   the corpus holds ERCOT's: 5 % at 59.3 Hz, 10 % at 58.9 Hz, 10 % at 58.5 Hz), until the estimate lies above the
   next stage.  If the deficit still exceeds the headroom after the last stage, the island collapses and goes dark.
   Too much generation (:math:`T < \\sum P_{min}`) trips units at their minimum, largest minimum first (cause
   ``unit_limit``).
3. **Power flow**: AC with generator Q limits enforced (:func:`gridsage.tools.grid.power_flow.solve` and its retry
   ladder; after a stage with no AC solution, the next tries AC once, with pandapower's default start, before
   falling back to DC: a collapsing cascade would otherwise spend most of its time in failed attempts); when AC has
   no solution the stage is solved DC and the stage record says so (no voltage, so no UVLS in that stage).  The losses found are shared out again (up to :data:`BALANCE_ITERATIONS` solves) so that no slack
   leaves its limits; a unit still beyond a limit afterwards trips (``unit_limit``).
4. **Protection with time.**  A branch over its pickup (loading 100 % of its rating by default) runs an
   inverse-time overcurrent characteristic, IEEE C37.112-2018:
   :math:`t = TD\\,(A / (M^p - 1) + B)`, :math:`M = I / I_{pickup}` (= loading / pickup).  A bus below the
   under-voltage setting (0.90 pu) runs the UVLS delay (3 s).  The event with the least time left happens first;
   the clock advances by that time, and every other running element accumulates it: a relay's progress is
   :math:`\\int dt / t(M)`, tripping at 1 (the integral form of C37.112 for a varying current), a UVLS timer its
   seconds below the setting.  Simplification (no thermal memory): an element that drops back below pickup resets
   at once (C37.112's reset characteristic and conductor heating are not modelled).
5. Stop when nothing is running (no branch over pickup, no bus below the UVLS setting), when no island is left
   energised, when neither AC nor DC solves, or after ``max_stages`` stages.

References
----------
.. [1] I. Dobson, B. A. Carreras, V. E. Lynch, D. E. Newman, "An initial model for complex dynamics in electric
   power system blackouts", 34th HICSS, 2001; B. A. Carreras, V. E. Lynch, I. Dobson, D. E. Newman, "Complex
   dynamics of blackouts in power transmission systems", Chaos 14(3), 2004 (OPA).
.. [2] D. P. Nedic, I. Dobson, D. S. Kirschen, B. A. Carreras, V. E. Lynch, "Criticality in a cascading failure
   blackout model", Int. J. Electrical Power & Energy Systems 28(9), 627-633, 2006 (the Manchester model).
.. [3] IEEE C37.112-2018, inverse-time overcurrent relay characteristic equations, Table 1 constants.
.. [4] NERC PRC-006-5 (UFLS), R3 and Attachment 1; ERCOT Nodal Operating Guides (stage settings).
.. [5] NERC PRC-010-2.1 (UVLS programs); C. W. Taylor, "Concepts of undervoltage load shedding for voltage
   stability", IEEE Trans. Power Delivery 7(2), 1992.
.. [6] NERC Reliability Guideline: Primary Frequency Control (5 % droop).
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from gridsage.errors import InputError, UnknownElementError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import corpus_entry, figure
from gridsage.tools.grid import ElementRef, branch_loading_percent, element_name
from gridsage.tools.grid.power_flow import solve

#: corpus entries the model reads its figures from
PROTECTION_ENTRY = "ieee-c37-112-inverse-time-overcurrent"
UVLS_ENTRY = "nerc-prc-010-uvls"
UFLS_ENTRY = "nerc-prc-006-ufls"
DROOP_ENTRY = "nerc-primary-frequency-control-deadband-droop"
#: the UFLS stage table of the PRC-006 entry used ([frequency Hz, share of load %] per stage)
UFLS_STAGES_FIGURE = "ercot_ufls_stages_hz_percent"

Curve = Literal["moderately_inverse", "very_inverse", "extremely_inverse"]
Cause = Literal["initiating", "overload_trip", "uvls", "ufls", "unit_limit", "island_dark"]
#: element kinds an outage may name
OUTAGE_KINDS = ("line", "trafo", "trafo3w", "impedance", "gen", "sgen", "ext_grid")
#: branch tables whose loading the protection model watches
MONITORED = ("line", "trafo", "trafo3w", "impedance")
#: solves per stage to share the losses out among the units before a slack beyond its limit counts as a unit limit
BALANCE_ITERATIONS = 3
#: a unit is beyond a P limit when it exceeds it by more than this share of its limit or 1 MW, whichever is larger
UNIT_LIMIT_TOLERANCE = 0.02
#: islands listed per stage in the island balance (the count covers all)
ISLANDS_LISTED = 5
#: buses listed per island (the count covers all)
BUSES_LISTED = 20
#: a value below this is zero [MW]
EPS_MW = 1e-6


def _pandapower():
    """pandapower with its chatty loggers and warnings silenced (imported on first use)."""
    import logging

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower as pp
    logging.getLogger("pandapower").setLevel(logging.CRITICAL)
    return pp


class CascadeOptions(BaseModel):
    """Settings of the cascade model; None takes the standards-corpus figure."""

    curve: Curve = Field(default="very_inverse", description="IEEE C37.112 curve family of the branch relays.")
    time_dial: float = Field(default=1.0, gt=0, le=100, description="Time dial TD [-].")
    pickup_percent: float = Field(default=100.0, gt=0, le=500, description="Relay pickup [% of the branch rating].")
    uvls: bool = Field(default=True, description="Model under-voltage load shedding.")
    uvls_vm_pu: float | None = Field(default=None, gt=0.5, lt=1.0, description="UVLS setting [pu]; default 0.90.")
    uvls_delay_s: float | None = Field(default=None, gt=0, le=600, description="UVLS delay [s]; default 3.")
    uvls_step_percent: float | None = Field(default=None, gt=0, le=100, description="UVLS block [% of the bus load]; default 10.")
    ufls: bool = Field(default=True, description="Model under-frequency load shedding in islands short of generation.")
    max_stages: int = Field(default=100, ge=1, le=1000, description="Stage limit (power-flow stages after the initiating one).")


class CascadeEvent(BaseModel):
    """One thing that happened: an element tripped, load shed, an island lost."""

    stage: int = Field(description="Stage it happened in (0: the initiating outages).")
    time_s: float = Field(description="Time after the initiating outages [s].")
    cause: Cause
    element: ElementRef | None = Field(default=None, description="The element tripped or the bus shed, if one.")
    loading_percent: float | None = Field(default=None, description="The tripped branch's loading when its relay ran [% of rating].")
    trip_time_s: float | None = Field(default=None, description="Relay operate time at that loading, C37.112 [s].")
    load_lost_mw: float = Field(default=0.0, description="Load lost by this event [MW].")
    generation_lost_mw: float = Field(default=0.0, description="Generation lost by this event [MW].")
    cumulative_load_lost_mw: float = Field(default=0.0, description="Load lost so far [MW].")
    cumulative_generation_lost_mw: float = Field(default=0.0, description="Generation lost so far [MW].")
    detail: str = Field(default="", description="What happened, in words.")


class IslandBalance(BaseModel):
    """One energised island of a solved stage: its power balance from the solver's results."""

    bus_count: int
    buses: list[int] = Field(description=f"Its buses, the first {BUSES_LISTED} by index.")
    slack: str = Field(description="The unit balancing it, e.g. 'ext_grid 0' or 'gen 2'.")
    load_mw: float = Field(description="Load served [MW].")
    generation_mw: float = Field(description="ext_grid, gen and sgen output [MW].")
    losses_mw: float = Field(description="Branch losses (sum of pl_mw) [MW]; 0 in a DC stage.")
    mismatch_mw: float = Field(description="generation - load - losses [MW] (solver accuracy).")
    frequency_hz: float | None = Field(default=None, description=(
        "Static frequency estimate after its last rebalance (droop response only) [Hz]; None when an unlimited "
        "ext_grid holds it."))


class CascadeStage(BaseModel):
    """One power-flow stage."""

    stage: int
    time_s: float = Field(description="Time of the solve [s].")
    solution: Literal["ac", "dc", "none"] = Field(description="'dc': AC had no solution and DC was used; 'none': neither solved.")
    note: str | None = Field(default=None, description="Why AC was not used, or what the solver said.")
    islands: int = Field(description="Energised islands.")
    dark_buses: int = Field(description="In-service buses with no source.")
    load_served_mw: float = Field(description="Load served [MW].")
    max_loading_percent: float | None = Field(default=None, description="Highest branch loading [%].")
    max_loading_element: str | None = None
    vm_min_pu: float | None = Field(default=None, description="Lowest energised voltage [pu] (AC only).")
    overloaded: int = Field(default=0, description="Branches over the relay pickup.")
    island_balance: list[IslandBalance] = Field(default_factory=list, description=(
        f"The {ISLANDS_LISTED} islands with the most load, each with its balance."))


class DarkIsland(BaseModel):
    """An island left without a source (or whose frequency collapsed): its load lost."""

    stage: int
    time_s: float
    bus_count: int
    buses: list[int] = Field(description=f"Its buses, the first {BUSES_LISTED}.")
    load_lost_mw: float = Field(description="Load lost with it [MW].")
    reason: str


@dataclass
class CascadeRun:
    """What :func:`cascade_on_net` returns (the tool packs it into its result)."""

    status: Literal["stable", "stage_limit", "unsolved", "blackout"]
    events: list[CascadeEvent]
    stages: list[CascadeStage]
    dark_islands: list[DarkIsland]
    pre_event_load_mw: float
    load_lost_mw: float
    generation_lost_mw: float
    final_islands: int
    dark_bus_count: int
    time_s: float
    citations: list[Citation]
    settings: dict
    nets: list = field(default_factory=list)  # the solved net of every stage, when asked for (debug / tests)
    final_net: object = None  # the cascade's own copy of the net in its final state (for restoration planning)


@dataclass
class _Settings:
    a: float
    b: float
    p: float
    td: float
    pickup: float
    uvls: bool
    uv_pu: float
    uv_delay: float
    uv_step: float
    ufls: bool
    stages: list[tuple[float, float]]
    f0: float
    droop: float
    max_stages: int


def settings_of(options: CascadeOptions) -> tuple[_Settings, list[Citation]]:
    """The model's figures: the curve constants, UVLS, UFLS and droop figures from the corpus, options applied."""
    relay = corpus_entry(PROTECTION_ENTRY)
    k = list(relay.figure("curves")).index(options.curve)
    uv_pu, uv_cite, _ = figure(UVLS_ENTRY, "vm_pu_uvls_default")
    uv_delay = figure(UVLS_ENTRY, "t_s_uvls_delay_default")[0]
    uv_step = figure(UVLS_ENTRY, "uvls_step_percent_default")[0]
    ufls = corpus_entry(UFLS_ENTRY)
    droop, droop_cite, _ = figure(DROOP_ENTRY, "droop_percent")
    f0 = figure(DROOP_ENTRY, "f_hz_nominal")[0]
    s = _Settings(a=float(relay.figure("a_s")[k]), b=float(relay.figure("b_s")[k]), p=float(relay.figure("p_exponent")[k]),
                  td=options.time_dial, pickup=options.pickup_percent, uvls=options.uvls,
                  uv_pu=options.uvls_vm_pu or uv_pu, uv_delay=options.uvls_delay_s or uv_delay,
                  uv_step=options.uvls_step_percent or uv_step, ufls=options.ufls,
                  stages=[(float(f), float(pct)) for f, pct in ufls.figure(UFLS_STAGES_FIGURE)],
                  f0=f0, droop=droop / 100.0, max_stages=options.max_stages)
    citations = [relay.citation(f"{options.curve.replace('_', ' ')} curve, TD {s.td:g}, pickup at {s.pickup:g} % "
                                f"of the branch rating (A {s.a:g} s, B {s.b:g} s, p {s.p:g})."),
                 uv_cite.model_copy(update={"note": f"UVLS: {s.uv_step:g} % of a bus's load below {s.uv_pu:g} pu "
                                                    f"held {s.uv_delay:g} s (GridSage default)." if options.uvls else "UVLS off."}),
                 ufls.citation("UFLS stages (ERCOT regional programme): " + ", ".join(f"{pct:g} % at {f:g} Hz" for f, pct in s.stages)
                               if options.ufls else "UFLS off."),
                 droop_cite.model_copy(update={"note": f"Static frequency estimate with {droop:g} % droop."})]
    return s, citations


def trip_time_s(m: float, s: _Settings) -> float:
    """IEEE C37.112 inverse-time overcurrent operate time.

    Parameters
    ----------
    m : float
        Current as a multiple of the pickup current, here loading / pickup [-].
    s : _Settings
        The curve constants A [s], B [s], p [-] and the time dial TD [-] (:func:`settings_of`).

    Returns
    -------
    float
        Operate time :math:`t = TD\\,(A / (m^p - 1) + B)` [s]; infinite at or below pickup (:math:`m \\le 1`).

    References
    ----------
    .. [1] IEEE C37.112-2018, inverse-time characteristic equations; Table 1 constants (moderately, very and
       extremely inverse).
    """
    if m <= 1.0:
        return math.inf
    return s.td * (s.a / (m ** s.p - 1.0) + s.b)


def parse_outages(net, outages: list[str], field_name: str = "outages") -> list[tuple[str, int]]:
    """``['line:29', 'gen:2']`` as ``[('line', 29), ('gen', 2)]``, each checked against the grid.

    Raises
    ------
    InputError
        If an entry is not ``<kind>:<index>`` with a kind of :data:`OUTAGE_KINDS`, or names an element twice, or one
        already out of service.
    UnknownElementError
        If the element does not exist.
    """
    found: list[tuple[str, int]] = []
    for i, ref in enumerate(outages):
        where = f"{field_name}[{i}]"
        kind, sep, number = ref.strip().partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in OUTAGE_KINDS or not number.strip().isdigit():
            raise InputError(f"{ref[:40]!r} is not an element reference", field=where,
                             fix=f"write '<kind>:<index>' with kind one of {', '.join(OUTAGE_KINDS)}, e.g. 'line:29'.")
        index = int(number)
        table = net[kind]
        if index not in table.index:
            span = f"{table.index.min()}-{table.index.max()}" if len(table) else "none"
            raise UnknownElementError(f"{kind} {index} does not exist in this grid ({len(table)} {kind}s, indices {span})",
                                      field=where, fix=f"use an existing {kind} index (see grid_summary or run_power_flow).")
        if (kind, index) in found:
            raise InputError(f"{kind} {index} is named twice", field=where, fix="name each element once.")
        if not bool(table.at[index, "in_service"]):
            raise InputError(f"{element_name(net, kind, index)} is already out of service", field=where,
                             fix="name an in-service element (an outage of an open element changes nothing).")
        found.append((kind, index))
    return found


def _ref(net, kind: str, index: int) -> ElementRef:
    return ElementRef(element=kind, index=int(index), name=element_name(net, kind, int(index)))


def _float(value, default: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


class _Cascade:
    """The state of one cascade run on its own copy of the net."""

    def __init__(self, net, s: _Settings, keep_nets: bool):
        self.net = net
        self.s = s
        self.keep_nets = keep_nets
        self.nets: list = []
        self.events: list[CascadeEvent] = []
        self.stages: list[CascadeStage] = []
        self.dark: list[DarkIsland] = []
        self.t = 0.0
        self.stage = 0
        self.load_lost = 0.0
        self.gen_lost = 0.0
        load = net.load
        self.p0 = (load.p_mw * load.scaling).to_numpy(dtype=float) if len(load) else np.empty(0)
        self.ufls_done: dict[int, set[int]] = {int(i): set() for i in load.index}  # UFLS stages operated per load
        self.progress: dict[tuple[str, int], float] = {}  # relay progress (integral of dt / t) per branch
        self.uv_elapsed: dict[int, float] = {}  # seconds below the UVLS setting per bus
        self.frequency: dict[frozenset, float | None] = {}
        self.previous: set[frozenset] = set()  # the energised islands of the last stage
        self.ac_failed = False  # the last AC attempt had no solution: the next stage tries AC once before DC

    # ---------------------------------------------------------------- bookkeeping
    def record(self, cause: str, element: ElementRef | None = None, load_mw: float = 0.0, gen_mw: float = 0.0,
               detail: str = "", loading: float | None = None, trip_s: float | None = None) -> None:
        self.load_lost += load_mw
        self.gen_lost += gen_mw
        self.events.append(CascadeEvent(
            stage=self.stage, time_s=round(self.t, 3), cause=cause, element=element,
            loading_percent=None if loading is None else round(loading, 2),
            trip_time_s=None if trip_s is None else round(trip_s, 3), load_lost_mw=round(load_mw, 3),
            generation_lost_mw=round(gen_mw, 3), cumulative_load_lost_mw=round(self.load_lost, 3),
            cumulative_generation_lost_mw=round(self.gen_lost, 3), detail=detail))

    def served_load(self, buses=None) -> float:
        load = self.net.load
        live = load.in_service.to_numpy(dtype=bool, copy=True)
        if buses is not None:
            live = live & load.bus.isin(buses).to_numpy()
        return float((load.p_mw * load.scaling).to_numpy(dtype=float)[live].sum()) if len(load) else 0.0

    def _output(self, kind: str, index: int) -> float:
        """A unit's output: its last solved value, else its set-point [MW]."""
        res = self.net[f"res_{kind}"]
        if index in res.index and np.isfinite(res.at[index, "p_mw"]):
            return float(res.at[index, "p_mw"])
        return _float(self.net[kind].at[index, "p_mw"], 0.0) if kind != "ext_grid" else 0.0

    # ---------------------------------------------------------------- outages
    def take_out(self, kind: str, index: int) -> float:
        """Put an element out of service; the generation it carried [MW] (0 for a branch)."""
        lost = 0.0
        if kind in ("gen", "sgen", "ext_grid"):
            lost = max(self._output(kind, index), 0.0) if kind != "sgen" else \
                _float(self.net.sgen.at[index, "p_mw"], 0.0) * _float(self.net.sgen.at[index, "scaling"], 1.0)
        self.net[kind].at[index, "in_service"] = False
        self.progress.pop((kind, index), None)
        return lost

    # ---------------------------------------------------------------- islands
    def islands(self) -> list[set[int]]:
        top = _topology()
        graph = top.create_nxgraph(self.net, include_dclines=False, include_out_of_service=False)
        live = set(int(b) for b in self.net.bus.index[self.net.bus.in_service.to_numpy(dtype=bool)])
        found = [set(int(b) for b in c) & live for c in top.connected_components(graph)]
        return [c for c in found if c]

    def units(self, buses: set[int]) -> list[tuple[str, int, float, float]]:
        """In-service ext_grids and gens at ``buses``: (kind, index, p_min, p_max) [MW]."""
        found = []
        for kind in ("ext_grid", "gen"):
            table = self.net[kind]
            if not len(table):
                continue
            here = table[table.in_service.astype(bool) & table.bus.isin(buses)]
            for index, row in here.iterrows():
                p_max = _float(row.get("max_p_mw"), math.inf)
                p_min = _float(row.get("min_p_mw"), -math.inf if kind == "ext_grid" else 0.0)
                found.append((kind, int(index), min(p_min, p_max), p_max))
        return found

    def go_dark(self, buses: set[int], reason: str) -> None:
        """De-energise an island: its loads, gens and sgens out of service, its load and generation lost."""
        net = self.net
        load_mw = self.served_load(buses)
        gen_mw = 0.0
        for kind in ("gen", "sgen", "ext_grid"):
            table = net[kind]
            if len(table):
                for index in table.index[table.in_service.astype(bool) & table.bus.isin(buses)]:
                    gen_mw += self.take_out(kind, int(index))
        if len(net.load):
            net.load.loc[net.load.bus.isin(buses), "in_service"] = False
        for bus in buses:
            self.uv_elapsed.pop(bus, None)
        listed = sorted(buses)[:BUSES_LISTED]
        self.dark.append(DarkIsland(stage=self.stage, time_s=round(self.t, 3), bus_count=len(buses), buses=listed,
                                    load_lost_mw=round(load_mw, 3), reason=reason))
        self.record("island_dark", element=_ref(net, "bus", min(buses)), load_mw=load_mw, gen_mw=gen_mw,
                    detail=f"island of {len(buses)} bus(es) ({', '.join(map(str, listed))}"
                           f"{'...' if len(buses) > BUSES_LISTED else ''}) dark: {reason}; "
                           f"{load_mw:.1f} MW of load lost")

    def shed(self, loads, share_of_p0: float) -> float:
        """Shed ``share_of_p0`` of each load's pre-event demand (at most what it still draws); MW shed."""
        net = self.net
        total = 0.0
        for index in loads:
            pos = net.load.index.get_loc(index)
            scaling = _float(net.load.at[index, "scaling"], 1.0) or 1.0
            now = float(net.load.at[index, "p_mw"]) * scaling
            cut = min(now, share_of_p0 * self.p0[pos])
            if now <= EPS_MW or cut <= 0:
                continue
            factor = (now - cut) / now
            net.load.loc[index, ["p_mw", "q_mvar"]] = [float(net.load.at[index, "p_mw"]) * factor,
                                                      float(net.load.at[index, "q_mvar"]) * factor]
            total += cut
        return total

    def balance(self, buses: set[int], losses_mw: float, redispatch: bool = True) -> str | None:
        """Rebalance one island by its own units (UFLS, unit trips or dark as needed); its slack's label, or None.

        ``redispatch`` False (an island unchanged since the last stage, its slack within its limits): the set-points
        stay and the slack takes up the change, as in one interconnected grid.
        """
        net = self.net
        key = frozenset(buses)
        units = self.units(buses)
        if not units:
            self.go_dark(buses, "no unit (ext_grid or gen) left in it")
            self.frequency[key] = None
            return None
        loads = net.load.index[net.load.in_service.astype(bool) & net.load.bus.isin(buses)] if len(net.load) else []
        sgen = net.sgen
        fixed = float((sgen.p_mw * sgen.scaling)[sgen.in_service.astype(bool) & sgen.bus.isin(buses)].sum()) if len(sgen) else 0.0

        def demand() -> float:
            return self.served_load(buses) - fixed + losses_mw

        if not redispatch:
            slack = next((u for u in units if u[0] == "ext_grid"), None) or max(units, key=lambda u: u[3])
            for kind, index, _, _ in units:
                if kind == "gen":
                    net.gen.at[index, "slack"] = (kind, index) == slack[:2]
            return f"{slack[0]} {slack[1]}"
        # too much generation: units at their minimum trip, largest minimum first
        while units and demand() < sum(u[2] for u in units) - EPS_MW and not any(math.isinf(u[2]) for u in units):
            kind, index, p_min, _ = max(units, key=lambda u: u[2])
            gen_mw = self.take_out(kind, index)
            units = [u for u in units if (u[0], u[1]) != (kind, index)]
            self.record("unit_limit", element=_ref(net, kind, index), gen_mw=gen_mw,
                        detail=f"island demand {demand():.1f} MW below its units' minimum output: "
                               f"{kind} {index} (min {p_min:.1f} MW) tripped (over-frequency)")
        if not units:
            self.go_dark(buses, "every unit tripped at its minimum output")
            self.frequency[key] = None
            return None

        current = np.array([min(max(self._output(k, i), lo), hi) for k, i, lo, hi in units])
        p_min = np.array([u[2] for u in units])
        p_max = np.array([u[3] for u in units])
        rated = float(p_max.sum())
        unlimited = not math.isfinite(rated)

        def estimate() -> float:
            deficit = demand() - float(current.sum())
            if unlimited:
                return self.s.f0
            if deficit > float((p_max - current).sum()) + EPS_MW:
                return -math.inf  # beyond the headroom: no settling point, frequency keeps falling
            return self.s.f0 * (1.0 - self.s.droop * deficit / rated)

        f = estimate()
        if self.s.ufls and not unlimited:
            for number, (f_stage, percent) in enumerate(self.s.stages):
                if f >= f_stage:
                    break
                todo = [i for i in loads if number not in self.ufls_done[int(i)] and net.load.at[i, "in_service"]]
                for i in todo:
                    self.ufls_done[int(i)].add(number)
                mw = self.shed(todo, percent / 100.0)
                shown = "below every stage" if f == -math.inf else f"{f:.2f} Hz"
                self.record("ufls", element=_ref(net, "bus", min(buses)), load_mw=mw,
                            detail=f"island of {len(buses)} bus(es): frequency estimate {shown} < {f_stage:g} Hz; "
                                   f"UFLS stage {number + 1} shed {percent:g} % of pre-event load ({mw:.1f} MW)")
                f = estimate()
        if f == -math.inf:
            self.go_dark(buses, f"frequency collapse: demand {demand():.1f} MW beyond its units' capacity "
                                f"{rated:.1f} MW" + (" after every UFLS stage" if self.s.ufls else " (UFLS off)"))
            self.frequency[key] = None
            return None
        self.frequency[key] = None if unlimited else round(f, 3)

        # dispatch: the change shared by headroom (or room above the minimum)
        change = demand() - float(current.sum())
        room = (p_max - current) if change > 0 else (current - p_min)
        room = np.where(np.isfinite(room), room, 1e9)
        target = current + (change * room / room.sum() if room.sum() > EPS_MW else 0.0)
        slack = next((u for u in units if u[0] == "ext_grid"), None) or max(units, key=lambda u: u[3])
        for (kind, index, _, _), p in zip(units, target):
            if kind == "gen":
                net.gen.at[index, "p_mw"] = float(p) / (_float(net.gen.at[index, "scaling"], 1.0) or 1.0)
                net.gen.at[index, "slack"] = (kind, index) == slack[:2]
        return f"{slack[0]} {slack[1]}"

    # ---------------------------------------------------------------- one stage
    def solve_stage(self) -> tuple[str, str | None, list[set[int]], dict]:
        """Rebalance the islands and solve; (solution, note, islands, slack per island)."""
        islands = self.islands()
        # first estimate of each island's losses: its in-service branches' losses in the last solved state
        losses = {frozenset(i): max(self.island_sums(i)[2], 0.0) for i in islands}
        solution, note, live, slacks = "none", None, [], {}
        force: set[frozenset] = set()
        for _ in range(BALANCE_ITERATIONS):
            live, slacks = [], {}
            for island in islands:
                key = frozenset(island)
                has_load = self.served_load(island) > EPS_MW
                label = (self.balance(island, losses.get(key, 0.0), key not in self.previous or key in force)
                         if (has_load or self.units(island)) else None)
                if label is not None:
                    live.append(island)
                    slacks[frozenset(island)] = label
            if not live:
                return "none", "no island with a source is left (blackout)", [], {}
            attempts = solve(self.net, "ac", ladder=not self.ac_failed)
            self.ac_failed = not attempts[-1].converged
            if attempts[-1].converged:
                solution, note = "ac", None
            else:
                dc = solve(self.net, "dc")
                if dc[-1].converged:
                    solution = "dc"
                    note = (f"AC power flow has no solution after {len(attempts)} attempts (past the loadability limit: "
                            "voltage collapse); this stage was solved DC (no voltages, no UVLS).")
                else:
                    return "none", f"neither AC nor DC power flow solved: {(dc[-1].message or '')[:160]}", live, slacks
            islands = live
            force = {frozenset(i) for i in live if self.units_beyond(i)}
            for island in live:
                gen, load, loss = self.island_sums(island)
                losses[frozenset(island)] = max(gen - load, 0.0) if solution == "ac" else 0.0
            if not force:
                break
        self.previous = {frozenset(i) for i in live}
        for island in live:  # units still beyond a limit after the losses were shared out trip
            for kind, index, p, lo, hi in self.units_beyond(island):
                gen_mw = self.take_out(kind, index)
                self.record("unit_limit", element=_ref(self.net, kind, index), gen_mw=gen_mw,
                            detail=f"{kind} {index} at {p:.1f} MW beyond its limits {lo:.1f}-{hi:.1f} MW after the "
                                   "island rebalanced: tripped")
        return solution, note, live, slacks

    def units_beyond(self, island: set[int]) -> list[tuple[str, int, float, float, float]]:
        found = []
        for kind, index, lo, hi in self.units(island):
            res = self.net[f"res_{kind}"]
            if index not in res.index or not np.isfinite(res.at[index, "p_mw"]):
                continue
            p = float(res.at[index, "p_mw"])
            if (math.isfinite(hi) and p > hi + max(UNIT_LIMIT_TOLERANCE * abs(hi), 1.0)) or \
                    (math.isfinite(lo) and p < lo - max(UNIT_LIMIT_TOLERANCE * abs(lo), 1.0)):
                found.append((kind, index, p, lo, hi))
        return found

    def island_sums(self, island: set[int]) -> tuple[float, float, float]:
        """Generation, load and branch losses of one island from the result tables [MW]."""
        net = self.net
        gen, load = island_generation_load(net, island)
        return gen, load, island_branch_losses(net, island)

    def loadings(self) -> dict[tuple[str, int], float]:
        """Loading of every in-service monitored branch [% of rating] in the solved state."""
        net = self.net
        found = {}
        for kind in MONITORED:
            table = net[kind]
            res = net.get(f"res_{kind}")
            if not len(table) or res is None or not len(res):
                continue
            value = branch_loading_percent(net, kind)
            live = table.in_service.to_numpy(dtype=bool)
            for index, v, on in zip(table.index, value, live):
                if on and np.isfinite(v):
                    found[(kind, int(index))] = float(v)
        return found

    def stage_record(self, solution: str, note: str | None, live: list[set[int]], slacks: dict,
                     loadings: dict) -> CascadeStage:
        net = self.net
        in_service = set(int(b) for b in net.bus.index[net.bus.in_service.to_numpy(dtype=bool)])
        energised = set().union(*live) if live else set()
        balance = []
        for island in sorted(live, key=lambda i: -self.served_load(i))[:ISLANDS_LISTED]:
            gen, load, loss = self.island_sums(island) if solution != "none" else (0.0, 0.0, 0.0)
            balance.append(IslandBalance(bus_count=len(island), buses=sorted(island)[:BUSES_LISTED],
                                         slack=slacks.get(frozenset(island), "?"), load_mw=round(load, 4),
                                         generation_mw=round(gen, 4), losses_mw=round(loss, 4),
                                         mismatch_mw=round(gen - load - loss, 4),
                                         frequency_hz=self.frequency.get(frozenset(island))))
        worst = max(loadings.items(), key=lambda kv: kv[1]) if loadings else None
        vm = None
        if solution == "ac" and len(net.res_bus):
            values = net.res_bus.vm_pu.reindex(sorted(energised)).to_numpy(dtype=float)
            vm = round(float(np.nanmin(values)), 4) if np.isfinite(values).any() else None
        return CascadeStage(stage=self.stage, time_s=round(self.t, 3), solution=solution, note=note, islands=len(live),
                            dark_buses=len(in_service - energised), load_served_mw=round(self.served_load(energised), 3),
                            max_loading_percent=round(worst[1], 2) if worst else None,
                            max_loading_element=f"{worst[0][0]} {worst[0][1]}" if worst else None, vm_min_pu=vm,
                            overloaded=sum(v > self.s.pickup for v in loadings.values()), island_balance=balance)

    # ---------------------------------------------------------------- the run
    def run(self, initiators: list[tuple[str, int]]) -> str:
        net = self.net
        for kind, index in initiators:
            gen_mw = self.take_out(kind, index)
            self.record("initiating", element=_ref(net, kind, index), gen_mw=gen_mw,
                        detail=f"{element_name(net, kind, index)} out of service (initiating outage)")
        while True:
            if self.stage >= self.s.max_stages:
                return "stage_limit"
            self.stage += 1
            solution, note, live, slacks = self.solve_stage()
            loadings = self.loadings() if solution != "none" else {}
            self.stages.append(self.stage_record(solution, note, live, slacks, loadings))
            if self.keep_nets:
                self.nets.append(copy.deepcopy(net))
            if solution == "none":
                return "blackout" if not live else "unsolved"
            if self.events and self.events[-1].stage == self.stage and self.events[-1].cause == "unit_limit":
                continue  # a unit tripped after the solve: rebalance and solve again at the same time
            # running timers: relays over pickup, buses below the UVLS setting
            running: dict[tuple[str, int], float] = {}
            for key, loading in loadings.items():
                if loading > self.s.pickup:
                    running[key] = trip_time_s(loading / self.s.pickup, self.s)
            for key in list(self.progress):
                if key not in running:
                    del self.progress[key]  # dropped below pickup: reset (no thermal memory)
            low: set[int] = set()
            if solution == "ac" and self.s.uvls and len(net.load):
                vm = net.res_bus.vm_pu
                loaded = set(int(b) for b in net.load.bus[net.load.in_service.astype(bool)
                                                           & ((net.load.p_mw * net.load.scaling) > EPS_MW)])
                low = {b for b in loaded if b in vm.index and np.isfinite(vm.at[b]) and vm.at[b] < self.s.uv_pu}
            for bus in list(self.uv_elapsed):
                if bus not in low:
                    del self.uv_elapsed[bus]
            left = {("relay",) + key: t * (1.0 - self.progress.get(key, 0.0)) for key, t in running.items()}
            left.update({("uvls", "bus", b): self.s.uv_delay - self.uv_elapsed.get(b, 0.0) for b in low})
            if not left:
                return "stable"
            dt = max(min(left.values()), 0.0)
            self.t += dt
            due = [k for k, v in left.items() if v <= dt + 1e-9]
            for key, t in running.items():
                self.progress[key] = self.progress.get(key, 0.0) + (dt / t if math.isfinite(t) else 0.0)
            for b in low:
                self.uv_elapsed[b] = self.uv_elapsed.get(b, 0.0) + dt
            for what, kind, index in sorted(due, key=lambda k: (k[0] != "relay", -loadings.get(k[1:], 0.0))):
                if what == "relay":
                    loading = loadings[(kind, index)]
                    self.take_out(kind, index)
                    self.record("overload_trip", element=_ref(net, kind, index), loading=loading,
                                trip_s=running[(kind, index)],
                                detail=f"{element_name(net, kind, index)} at {loading:.1f} % tripped by its "
                                       f"inverse-time overcurrent relay at t = {self.t:.2f} s")
                else:
                    at_bus = net.load.index[net.load.in_service.astype(bool) & (net.load.bus == index)]
                    mw = self.shed(at_bus, self.s.uv_step / 100.0)
                    self.uv_elapsed.pop(index, None)
                    self.record("uvls", element=_ref(net, "bus", index), load_mw=mw,
                                detail=f"bus {index} at {float(net.res_bus.vm_pu.at[index]):.3f} pu < {self.s.uv_pu:g} pu "
                                       f"for {self.s.uv_delay:g} s: UVLS shed {mw:.1f} MW")


def island_generation_load(net, island: set[int]) -> tuple[float, float]:
    """In-service generation (ext_grid, gen, sgen) and load of the buses ``island`` from the solved result tables [MW].

    Parameters
    ----------
    net : pandapower.pandapowerNet
        A solved net (its ``res_*`` tables; rows without a result count as 0).
    island : set of int
        Bus indices [-].

    Returns
    -------
    (float, float)
        Generation and load [MW].
    """
    gen = 0.0
    for kind in ("ext_grid", "gen", "sgen"):
        table, res = net[kind], net[f"res_{kind}"]
        if len(table) and len(res):
            here = table.index[table.in_service.astype(bool) & table.bus.isin(island)]
            gen += float(np.nansum(res.p_mw.reindex(here).to_numpy(dtype=float)))
    load = 0.0
    if len(net.load) and len(net.res_load):
        here = net.load.index[net.load.in_service.astype(bool) & net.load.bus.isin(island)]
        load = float(np.nansum(net.res_load.p_mw.reindex(here).to_numpy(dtype=float)))
    return gen, load


def island_branch_losses(net, island: set[int]) -> float:
    """Branch losses of the buses ``island``: the sum of ``pl_mw`` of its in-service monitored branches [MW].

    Parameters
    ----------
    net : pandapower.pandapowerNet
        A solved net (rows without a result count as 0; a DC result has no losses).
    island : set of int
        Bus indices [-]; a branch belongs to the island of its from (HV) bus.

    Returns
    -------
    float
        Losses [MW].
    """
    loss = 0.0
    for kind in MONITORED:
        table, res = net[kind], net.get(f"res_{kind}")
        if len(table) and res is not None and len(res) and "pl_mw" in res:
            end = "hv_bus" if kind in ("trafo", "trafo3w") else "from_bus"
            here = table.index[table.in_service.astype(bool) & table[end].isin(island)]
            loss += float(np.nansum(res.pl_mw.reindex(here).to_numpy(dtype=float)))
    return loss


def _topology():
    _pandapower()
    import pandapower.topology as top

    return top


def cascade_on_net(net, initiators: list[tuple[str, int]], options: CascadeOptions | None = None,
                   keep_nets: bool = False, presolved: bool = False) -> CascadeRun:
    """Simulate a cascade on a copy of ``net`` (``net`` itself is left unchanged).

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid before the event.
    initiators : list of (str, int)
        Initiating outages, e.g. ``[('line', 29), ('gen', 2)]`` (see :func:`parse_outages`) [-].
    options : CascadeOptions, optional
        Model settings; default the corpus figures (very inverse curve, TD 1, pickup 100 %).
    keep_nets : bool, default False
        Keep a copy of every stage's solved net in ``CascadeRun.nets`` (for tests and debugging: memory grows with
        the stages).
    presolved : bool, default False
        ``net`` already holds its pre-event AC solution (:func:`~gridsage.tools.grid.power_flow.solve` with its
        retry ladder, or DC where AC failed), as an ensemble solves it once for all its cascades; the pre-event
        solve is then skipped (the results are the same).

    Returns
    -------
    CascadeRun
        Events and stages in order, dark islands, pre-event load and the load and generation lost [MW], the final
        island count, the simulated time [s], and the citations of the figures used.

    Raises
    ------
    CorpusError
        If a corpus figure the model reads is missing.

    Notes
    -----
    Relay operate time, IEEE C37.112: :math:`t = TD\\,(A / (M^p - 1) + B)`, :math:`M` = loading / pickup; trip when
    :math:`\\int dt/t(M) \\ge 1`.  Static island frequency: :math:`f = f_0 (1 - R\\,\\Delta P / \\sum P_{max})`.
    See the module docstring for the full stage sequence.

    References
    ----------
    .. [1] Nedic, Dobson, Kirschen, Carreras, Lynch, IJEPES 28(9), 2006 (Manchester model).
    .. [2] Dobson, Carreras, Lynch, Newman, HICSS 2001; Chaos 14(3), 2004 (OPA).
    .. [3] IEEE C37.112-2018.
    """
    options = options or CascadeOptions()
    s, citations = settings_of(options)
    work = copy.deepcopy(net)
    for kind in ("gen", "ext_grid", "sgen", "load"):
        if "scaling" not in work[kind] and len(work[kind]) and kind != "ext_grid":
            work[kind]["scaling"] = 1.0
    cascade = _Cascade(work, s, keep_nets)
    if not presolved and not solve(work, "ac")[-1].converged:  # the pre-event state: unit outputs and losses
        solve(work, "dc")
    pre_islands = cascade.islands()
    cascade.previous = {frozenset(i) for i in pre_islands if cascade.units(i)}
    pre_load = sum(cascade.served_load(i) for i in pre_islands if cascade.units(i))
    status = cascade.run(initiators)
    live = [i for i in cascade.islands() if cascade.units(i)]
    in_service = set(int(b) for b in work.bus.index[work.bus.in_service.to_numpy(dtype=bool)])
    energised = set().union(*live) if live else set()
    if status == "blackout" and energised:
        status = "unsolved"
    return CascadeRun(status=status, events=cascade.events, stages=cascade.stages, dark_islands=cascade.dark,
                      pre_event_load_mw=round(pre_load, 3), load_lost_mw=round(cascade.load_lost, 3),
                      generation_lost_mw=round(cascade.gen_lost, 3), final_islands=len(live),
                      dark_bus_count=len(in_service - energised), time_s=round(cascade.t, 3), citations=citations,
                      settings={"curve": options.curve, "time_dial": s.td, "pickup_percent": s.pickup,
                                "a_s": s.a, "b_s": s.b, "p": s.p, "uvls_vm_pu": s.uv_pu if s.uvls else None,
                                "uvls_delay_s": s.uv_delay if s.uvls else None,
                                "uvls_step_percent": s.uv_step if s.uvls else None,
                                "ufls_stages_hz_percent": s.stages if s.ufls else [], "droop_percent": s.droop * 100,
                                "f_hz_nominal": s.f0, "max_stages": s.max_stages},
                      nets=cascade.nets, final_net=work)
