"""The cascade tool: a quasi-steady-state cascading-failure simulation of a loaded grid after an N-k outage.

The model (:mod:`gridsage.tools.cascade._model`) follows the OPA / Manchester family: AC power flow stage by stage
(DC where AC has no solution, stated), branch relays with IEEE C37.112 inverse-time characteristics, under-voltage
(NERC PRC-010) and under-frequency (NERC PRC-006) load shedding, islands rebalanced by their own units or dark.
The grid in the workspace is never changed: the cascade runs on a copy.

References
----------
.. [1] D. P. Nedic, I. Dobson, D. S. Kirschen, B. A. Carreras, V. E. Lynch, "Criticality in a cascading failure
   blackout model", IJEPES 28(9), 2006.
.. [2] I. Dobson, B. A. Carreras, V. E. Lynch, D. E. Newman, HICSS 2001; Chaos 14(3), 2004 (OPA).
.. [3] IEEE C37.112-2018; NERC PRC-006-5; NERC PRC-010-2.1; NERC TPL-001-5.1 Table 1 (no cascading).
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gridsage.errors import InputError
from gridsage.knowledge.citation import Citation
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.cascade._model import (CascadeEvent, CascadeOptions, CascadeStage, Curve, DarkIsland, cascade_on_net,
                                           parse_outages)
from gridsage.tools.grid import ElementRef, element_name
from gridsage.tools.views import Brief, CompactView, head
from gridsage.tools.workspace import current_workspace

#: at most this many initiating outages (N-k with k up to 50)
MAX_OUTAGES = 50
#: a compact view lists this many events and dark islands
EVENTS_BRIEF, DARK_BRIEF = 8, 3

OutageRef = Annotated[str, StringConstraints(min_length=3, max_length=40, strip_whitespace=True)]
MODEL_NAME = ("quasi-steady-state cascade, OPA / Manchester model family (Dobson, Carreras et al. 2001-2004; "
              "Nedic, Dobson, Kirschen et al. 2006)")


class CascadeFigures(ToolResult):
    """A cascade's outcome in figures (the full result and its compact view share these)."""

    status: Literal["stable", "stage_limit", "unsolved", "blackout"] = Field(description=(
        "'stable': it stopped with no branch over pickup; 'stage_limit': still running at max_stages; 'unsolved': a "
        "stage solved neither AC nor DC; 'blackout': no island with a source is left."))
    grid_id: str
    model: str = Field(default=MODEL_NAME)
    pre_event_load_mw: float = Field(description="Load served before the event [MW].")
    load_lost_mw: float = Field(description="Load lost in all [MW] (shed, or in dark islands).")
    load_lost_percent: float = Field(description="Load lost [% of the pre-event load].")
    generation_lost_mw: float = Field(description="Generation lost (units tripped or in dark islands) [MW].")
    duration_s: float = Field(description="Time from the initiating outages to the last event [s].")
    stage_count: int = Field(description="Power-flow stages solved.")
    dc_stage_count: int = Field(description="Stages where AC had no solution and DC was used.")
    trip_count: int = Field(description="Branches tripped by overload protection.")
    final_islands: int = Field(description="Energised islands at the end.")
    dark_bus_count: int = Field(description="In-service buses with no source at the end.")


class CascadeResult(CascadeFigures):
    """A cascade simulation: every event and stage (bounded), the dark islands, the settings and their clauses."""

    outages: list[ElementRef] = Field(description="The initiating outages.")
    events: list[CascadeEvent] = Field(description="What happened, in time order (the first max_rows).")
    events_omitted: int = Field(default=0, description="Events left out by max_rows.")
    stages: list[CascadeStage] = Field(description="Each power-flow stage: AC or DC, islands, balance (the first max_rows).")
    stages_omitted: int = Field(default=0, description="Stages left out by max_rows.")
    dark_islands: list[DarkIsland] = Field(default_factory=list, description="Islands left dark, with their load lost (the first max_rows).")
    dark_islands_omitted: int = 0
    settings: dict = Field(default_factory=dict, description="The model settings used (curve constants, UVLS, UFLS, droop).")
    citations: list[Citation] = Field(default_factory=list)
    elapsed_s: float = Field(description="Wall time of the simulation [s].")
    notes: list[str] = Field(default_factory=list)

    def compact(self) -> "CascadeView":
        """Figures, the first events in words, the largest dark islands."""
        return CascadeView.of(
            self, notes=self.notes, citations=self.citations,
            **{k: getattr(self, k) for k in CascadeFigures.model_fields if k not in ToolResult.model_fields},
            lists={"events": head(self.events, EVENTS_BRIEF, EventBrief.of),
                   "dark_islands": head(sorted(self.dark_islands, key=lambda d: -d.load_lost_mw), DARK_BRIEF)})


class EventBrief(Brief):
    """One event in a compact view."""

    t_s: float = Field(description="Time [s].")
    cause: str
    element: str | None = None
    loading_percent: float | None = None
    load_lost_mw: float | None = None

    @classmethod
    def of(cls, e: CascadeEvent) -> "EventBrief":
        return cls(t_s=e.time_s, cause=e.cause, element=e.element and f"{e.element.element} {e.element.index}",
                   loading_percent=e.loading_percent, load_lost_mw=e.load_lost_mw or None)


class CascadeView(CompactView, CascadeFigures):
    """A cascade as models and MCP clients receive it: figures, the first events, the largest dark islands.

    The full :class:`CascadeResult` (every event and stage with its island balance) is the evidence behind
    ``evidence_id``.
    """

    events: list[EventBrief] = Field(default_factory=list, description=f"The first {EVENTS_BRIEF} events.")
    dark_islands: list[DarkIsland] = Field(default_factory=list, description=f"The {DARK_BRIEF} dark islands that lost the most load.")

    def headline(self) -> str:
        return (f"{self.status}: {self.trip_count} trips, {self.load_lost_mw:.1f} MW "
                f"({self.load_lost_percent:.1f} %) load lost in {self.duration_s:.1f} s")


@tool
def simulate_cascade(
    grid_id: Annotated[str, Field(max_length=128, description="Grid to study, as returned by load_grid (left unchanged).")],
    outages: Annotated[list[OutageRef], Field(min_length=1, max_length=MAX_OUTAGES, description=(
        "Initiating outages, '<kind>:<index>' with kind line, trafo, trafo3w, impedance, gen, sgen or ext_grid, "
        "e.g. ['line:29', 'gen:2'].") )],
    curve: Annotated[Curve, Field(description="IEEE C37.112 curve of the branch relays.")] = "very_inverse",
    time_dial: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False, description="Relay time dial TD [-].")] = 1.0,
    pickup_percent: Annotated[float, Field(gt=0, le=500, allow_inf_nan=False, description="Relay pickup [% of rating].")] = 100.0,
    uvls: Annotated[bool, Field(description="Model under-voltage load shedding (0.90 pu, 3 s, 10 % blocks).")] = True,
    ufls: Annotated[bool, Field(description="Model under-frequency load shedding in islands short of generation.")] = True,
    max_stages: Annotated[int, Field(ge=1, le=1000, description="Stage limit (bounds run time).")] = 100,
    max_rows: Annotated[int, Field(ge=1, le=10_000, description="Most events, stages and dark islands listed in the full result.")] = 200,
) -> CascadeResult:
    """Simulate the cascade that follows an N-k outage: overload trips with time, load shedding, islands, load lost.

    Quasi-steady state, stage by stage (OPA / Manchester model family): AC power flow with generator Q limits (DC
    where AC has no solution, said in the stage); overloaded branches trip by an inverse-time overcurrent relay,
    the shortest time first; islands are rebalanced by their own units (UFLS where they fall short) or go dark;
    buses held below 0.90 pu shed load (UVLS).

    Parameters
    ----------
    grid_id : str
        Grid in the workspace (its copy is studied).
    outages : list of str, 1..50 items
        Initiating outages, ``'<kind>:<index>'`` [-].
    curve : {'moderately_inverse', 'very_inverse', 'extremely_inverse'}, default 'very_inverse'
        IEEE C37.112-2018 characteristic of every branch relay.
    time_dial : float, default 1
        Time dial TD [-].
    pickup_percent : float, default 100
        Relay pickup [% of the branch rating].
    uvls, ufls : bool, default True
        Model under-voltage and under-frequency load shedding.
    max_stages : int, default 100
        Stage limit [-]; the status says 'stage_limit' if reached.
    max_rows : int, default 200
        Events, stages and dark islands listed; ``*_omitted`` counts the rest.

    Returns
    -------
    CascadeResult
        Status, load lost [MW] and [% of pre-event load], generation lost [MW], duration [s], events (time [s],
        cause, element, loading [%], MW lost in the event and cumulative), stages (AC or DC, islands, per-island
        balance [MW], frequency estimate [Hz]), dark islands, settings and citations.  Models and MCP clients
        receive its compact view, :class:`CascadeView`; the full result is the evidence behind ``evidence_id``.

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    UnknownElementError
        If an outage names an element the grid lacks (``outages[i]``).
    InputError
        If an outage is not ``'<kind>:<index>'``, is named twice, or is already out of service.

    Notes
    -----
    Relay: :math:`t = TD\\,(A/(M^p - 1) + B)`, :math:`M` = loading / pickup, trip when :math:`\\int dt/t \\ge 1`.
    Island frequency: :math:`f = f_0 (1 - R\\,\\Delta P/\\sum P_{max})`, :math:`R` = 5 %.

    References
    ----------
    .. [1] Nedic, Dobson, Kirschen, Carreras, Lynch, IJEPES 28(9), 2006.
    .. [2] IEEE C37.112-2018; NERC PRC-006-5; NERC PRC-010-2.1.
    """
    grid = current_workspace().get(grid_id)
    net = grid.net
    initiators = parse_outages(net, outages)
    if len(net.bus) > 20_000:
        raise InputError(f"the grid has {len(net.bus)} buses; the cascade model is bounded to 20,000", field="grid_id",
                         fix="study a smaller grid or an area of it.")
    options = CascadeOptions(curve=curve, time_dial=time_dial, pickup_percent=pickup_percent, uvls=uvls, ufls=ufls,
                             max_stages=max_stages)
    start = time.perf_counter()
    run = cascade_on_net(net, initiators, options)
    elapsed = time.perf_counter() - start
    notes = list(grid.notes)
    dc = sum(s.solution == "dc" for s in run.stages)
    if dc:
        notes.append(f"{dc} stage(s) had no AC power-flow solution and were solved DC (no voltages there): a sign of "
                     "voltage collapse (NERC TPL-001-5.1 Table 1: instability).")
    notes.append("Relays reset at once when a branch drops below pickup (no thermal memory); island frequency is a "
                 "static droop estimate (no inertia, no nadir, no AGC); load shed is spread over every load of an "
                 "island (UFLS) or bus (UVLS).")
    pct = 100.0 * run.load_lost_mw / run.pre_event_load_mw if run.pre_event_load_mw > 0 else 0.0
    return CascadeResult(
        status=run.status, grid_id=grid_id, pre_event_load_mw=run.pre_event_load_mw, load_lost_mw=run.load_lost_mw,
        load_lost_percent=round(pct, 2), generation_lost_mw=run.generation_lost_mw, duration_s=run.time_s,
        stage_count=len(run.stages), dc_stage_count=dc, trip_count=sum(e.cause == "overload_trip" for e in run.events),
        final_islands=run.final_islands, dark_bus_count=run.dark_bus_count,
        outages=[ElementRef(element=k, index=i, name=element_name(net, k, i)) for k, i in initiators],
        events=run.events[:max_rows], events_omitted=max(0, len(run.events) - max_rows),
        stages=run.stages[:max_rows], stages_omitted=max(0, len(run.stages) - max_rows),
        dark_islands=run.dark_islands[:max_rows], dark_islands_omitted=max(0, len(run.dark_islands) - max_rows),
        settings=run.settings, citations=run.citations, elapsed_s=round(elapsed, 3), notes=notes)
