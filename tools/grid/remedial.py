"""Remedial actions: propose, validate on a copy, rank.

For each thermal overload, candidates are single-unit output changes (the
slack balances), generator redispatch pairs and load shedding at the buses
with the most effect on the overloaded branch, found with DC power transfer
distribution factors (PTDF); beside them, one combined corrective redispatch
from an AC optimal power flow (minimum change of every unit's output, with
branch, voltage and generator P and Q limits).  For each voltage violation,
candidates are the nearest generator's voltage set-point and load shedding
near the bus.  Every candidate is then re-solved with the full AC power flow
(generator Q limits enforced) on a copy of the grid; its before/after figures
for every violated element come from that solve.  A candidate that needs a
unit beyond its P or Q capability is marked ``beyond_capability`` and never
ranked ahead of one that stays within it; a set-point change states the Mvar
it needs.  Beside them, switching: on meshed grids, the openings of in-service
branches with the best linear relief of the overloaded branch (line outage
distribution factors, LODF) and closings of normally-open elements; on radial
feeders, reconfigurations through a tie switch that keep radial operation.  An
opening that islands or de-energises anything is never offered.  Switching
moves no MW: it ranks after redispatch and set-points of equal outcome, ahead of
load shedding.  Load shedding is offered only when no other candidate clears
every violation, and then sized to the least MW that clears.

References
----------
.. [1] A. J. Wood, B. F. Wollenberg, G. B. Sheblé, "Power Generation,
   Operation, and Control", 3rd ed., Wiley, 2014, ch. 7 (linear sensitivity
   factors: PTDF, generation shift factors).
.. [2] NERC TPL-001-5.1, Table 1, footnote 12 (interruption of firm demand
   is a last resort), hence load shedding ranks after redispatch.
.. [3] NERC MOD-025-2, R1-R2 (verified real and reactive capability).
.. [4] pandapower ``runopp`` (PYPOWER interior-point AC OPF).
.. [5] NERC TPL-001-5.1, Table 1, P3 (system adjustments after a first outage include switching and
   redispatch); R2.7.1 lists what a Corrective Action Plan holds instead (facility changes, protection and
   RAS, generation tripping or runback, Operating Procedures).
.. [6] Wood, Wollenberg & Sheblé (2014), ch. 7 (line outage distribution factors).
"""

from __future__ import annotations

import copy
import warnings
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from gridsage.errors import UNION_TAGS, InputError, UnknownElementError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import Limit, cite, thermal_limit, voltage_band
from gridsage.tools.base import MaxLoadingPercent, ToolResult, VmMaxPu, VmMinPu, tool
from gridsage.tools.grid._elements import ElementRef, branch_loading_percent, element_name, element_ref
from gridsage.tools.grid._violations import Violation, ViolationBrief, worst_briefs
from gridsage.tools.grid.events import DerivedGridResult, derive_grid
from gridsage.tools.grid._pandapower import pandapower
from gridsage.tools.grid.power_flow import (DIAGNOSTICS_BRIEF, DiagnosticItem, diagnose, solve, solved_base,
                                             summarize_solved)
from gridsage.tools.views import Brief, CompactView, head, label
from gridsage.tools.workspace import current_workspace

#: corpus entries behind every remedial proposal, and behind load shedding as the last resort
CORRECTIVE_ACTION_ENTRY = "nerc-tpl-001-corrective-action-plan"
LAST_RESORT_ENTRY = "nerc-tpl-001-non-consequential-load-loss"
#: corpus entries behind switching: system adjustments between events (TPL-001 Table 1, P3), feeder load transfer
SYSTEM_ADJUSTMENT_ENTRY = "nerc-tpl-001-p3-generator-outage-plus-single-contingency"
FEEDER_TRANSFER_ENTRY = "practice-feeder-load-transfer"
#: a compact remedial view lists the worst violations and the best candidates
VIOLATIONS_BRIEF, CANDIDATES_BRIEF = 3, 3


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Redispatch(_Action):
    """Move generation from one unit to another (ext_grid = the slack)."""

    type: Literal["redispatch"] = "redispatch"
    decrease_gen: int = Field(ge=0, description="gen index to lower.")
    increase_element: Literal["gen", "ext_grid"] = Field(description="Unit to raise ('ext_grid' = slack picks it up).")
    increase_index: int = Field(ge=0)
    p_mw: float = Field(gt=0, allow_inf_nan=False, description="Power moved [MW].")


class GenOutput(_Action):
    """Set one unit's active output; the slack takes up the difference."""

    type: Literal["gen_output"] = "gen_output"
    gen: int = Field(ge=0, description="gen index.")
    p_mw: float = Field(ge=0, allow_inf_nan=False, description="New output [MW].")


class GenSetpoint(_Action):
    """One unit's new set-points in a combined dispatch."""

    gen: int = Field(ge=0, description="gen index.")
    p_mw: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="New output [MW]; None keeps it.")
    vm_pu: float | None = Field(default=None, gt=0.8, lt=1.2, allow_inf_nan=False, description="New voltage set-point [pu].")


class Dispatch(_Action):
    """A combined corrective redispatch: new set-points for several units at once (from an AC OPF)."""

    type: Literal["dispatch"] = "dispatch"
    setpoints: list[GenSetpoint] = Field(min_length=1, max_length=2000, description="Units and their new set-points.")


class LoadShed(_Action):
    """Reduce a load's demand (keeping its power factor)."""

    type: Literal["load_shed"] = "load_shed"
    load: int = Field(ge=0, description="load index.")
    p_mw: float = Field(gt=0, allow_inf_nan=False, description="Demand shed [MW].")


class GenVoltage(_Action):
    """Change a generator's voltage set-point."""

    type: Literal["gen_voltage"] = "gen_voltage"
    gen: int = Field(ge=0, description="gen index.")
    vm_pu: float = Field(gt=0.8, lt=1.2, allow_inf_nan=False, description="New voltage set-point [pu].")


class LoadTransfer(_Action):
    """Move load between feeders by shifting the normally-open point: close a tie switch, then open a line.

    References
    ----------
    .. [1] Distribution operating practice, feeder load transfer (corpus entry ``practice-feeder-load-transfer``).
    """

    type: Literal["load_transfer"] = "load_transfer"
    close_switch: int = Field(ge=0, description="switch index of the open tie to close.")
    open_line: int | None = Field(default=None, ge=0, description=(
        "line index opened after the tie closes (the new open point, restoring radial operation); "
        "None leaves the loop closed, i.e. the make-before-break parallel."))


class LineSwitching(_Action):
    """Topology control: open an in-service branch, or close an out-of-service one or an open bus-bus switch.

    References
    ----------
    .. [1] NERC TPL-001-5.1, Table 1, P3 (switching among the system adjustments).
    .. [2] E. B. Fisher, R. P. O'Neill, M. C. Ferris, "Optimal Transmission Switching", IEEE Trans. Power Syst.
       23(3), 2008.
    """

    type: Literal["line_switching"] = "line_switching"
    element: Literal["line", "trafo", "switch"] = Field(description=(
        "'line' or 'trafo': the branch itself (in_service); 'switch': a bus-bus switch (closed)."))
    index: int = Field(ge=0, description="Index in that table.")
    close: bool = Field(description="True closes it (back in service / switch closed); False opens it.")


class Candidate(_Action):
    """A candidate that ``propose_remedial_actions`` returned, by that result's evidence id and the candidate's rank."""

    type: Literal["candidate"] = "candidate"
    evidence_id: str = Field(pattern=r"^ev-\d+$", description="evidence_id of the propose_remedial_actions result.")
    rank: int = Field(ge=1, description="The candidate's rank in it.")


RemedialAction = Annotated[Union[Redispatch, GenOutput, Dispatch, LoadShed, GenVoltage, LoadTransfer, LineSwitching,
                                 Candidate], Field(discriminator="type")]
UNION_TAGS.update(("redispatch", "gen_output", "dispatch", "load_shed", "gen_voltage", "load_transfer", "line_switching",
                   "candidate"))
_ACTIONS = TypeAdapter(RemedialAction)


class ElementEffect(BaseModel):
    """One violated element, before and after an action."""

    element: ElementRef
    kind: Literal["undervoltage", "overvoltage", "thermal"]
    before: float = Field(description="Value before the action [unit].")
    after: float | None = Field(description="Value after the action [unit]; None if it has no result.")
    limit: float
    unit: Literal["pu", "%"]
    cleared: bool


class ValidatedAction(BaseModel):
    """A candidate action and what an AC power flow says it does."""

    rank: int
    action: RemedialAction
    description: str = Field(description="The action in words, with MW and pu.")
    targets: list[str] = Field(description="Violations the candidate was built for.")
    outcome: Literal["clears_all", "partial", "ineffective", "diverged", "beyond_capability"] = Field(
        description="'clears_all': no violation left; 'partial': less total excess; 'ineffective': no better; "
                    "'beyond_capability': it needs a unit beyond its P or Q limits (see unit_limit_breaches).")
    effects: list[ElementEffect] = Field(description="Every element violated before the action.")
    new_violations: list[Violation] = Field(default_factory=list, description="Violations the action creates.")
    remaining_violation_count: int
    excess_before: float = Field(description="Sum of thermal excess [%] and voltage excess [% of nominal] before.")
    excess_after: float | None = Field(description="Same sum after the action.")
    cost_mw: float = Field(description="Generation moved or demand shed [MW] (0 for set-point changes).")
    target_relief_percent: float | None = Field(default=None, description=(
        "Share of the first target's excess that the action removes [%]; below 10 % it is not a first step."))
    q_needed_mvar: float | None = Field(default=None, description=(
        "For a voltage set-point: the unit's reactive output needed to hold it (solved without Q limits) [Mvar]."))
    unit_limit_breaches: list[str] = Field(default_factory=list, description=(
        "Units the action pushes beyond (or further beyond) their P or Q limits."))
    citations: list[Citation] = Field(default_factory=list)


class RemedialResult(ToolResult):
    """Ranked, validated remedial actions for a grid's violations."""

    status: Literal["ok", "no_violations", "base_case_diverged"]
    grid_id: str
    violations_before: list[Violation] = Field(default_factory=list)
    candidates: list[ValidatedAction] = Field(default_factory=list, description="Best first.")
    clearing_count: int = Field(default=0, description="Candidates that clear every violation.")
    load_shed_withheld: int = Field(default=0, description=(
        "Load-shedding candidates not offered because another candidate clears every violation."))
    diagnostics: list[DiagnosticItem] = Field(default_factory=list)
    limits: list[Limit] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def compact(self) -> "RemedialView":
        """The violations and the best candidates, each applicable by reference (see :class:`RemedialView`)."""
        return RemedialView.of(
            self, self.limits, self.notes, [c for x in self.candidates[:CANDIDATES_BRIEF] for c in x.citations],
            grid_id=self.grid_id,
            violation_count=len(self.violations_before), clearing_count=self.clearing_count,
            lists={"violations_before": worst_briefs(self.violations_before, VIOLATIONS_BRIEF),
                   "candidates": head(self.candidates, CANDIDATES_BRIEF, lambda c: CandidateBrief.of(c, self.evidence_id)),
                   "diagnostics": head([d.finding for d in self.diagnostics], DIAGNOSTICS_BRIEF)})


class CandidateBrief(Brief):
    """A validated candidate in a compact view; ``action`` applies it with apply_actions."""

    rank: int
    description: str = Field(description="The action in words, with MW and pu.")
    outcome: Literal["clears_all", "partial", "ineffective", "diverged", "beyond_capability"]
    remaining_violation_count: int
    new_violation_count: int | None = Field(default=None, description="Violations the action creates (None: none).")
    cost_mw: float = Field(description="Generation moved or demand shed [MW].")
    target_relief_percent: float | None = Field(default=None, description=(
        "For partial relief: the share of the first target's excess it removes [%] (under 10 %: not a first step)."))
    effect: str | None = Field(default=None, description="On the worst violated element: 'line 7 134.2 -> 96.1' [% or pu].")
    action: Candidate = Field(description="This candidate as apply_actions takes it.")

    @classmethod
    def of(cls, c: ValidatedAction, evidence_id: str) -> "CandidateBrief":
        """``c`` of the result ``evidence_id``, with its effect on the worst violated element."""
        e = c.effects[0] if c.effects else None
        effect = e and f"{label(e.element.element, e.element.index)} {e.before} -> {'no result' if e.after is None else e.after}"
        return cls(rank=c.rank, description=c.description, outcome=c.outcome,
                   remaining_violation_count=c.remaining_violation_count, new_violation_count=len(c.new_violations) or None,
                   cost_mw=c.cost_mw, target_relief_percent=c.target_relief_percent if c.outcome == "partial" else None,
                   effect=effect,
                   action=Candidate(evidence_id=evidence_id, rank=c.rank))


class RemedialView(CompactView):
    """Remedial candidates as models and MCP clients receive them: the violations, the best few candidates.

    The full :class:`RemedialResult` (every candidate's action, effects and new violations) is the evidence behind
    ``evidence_id``; apply a candidate with its ``action`` (``{"type": "candidate", "evidence_id": ..., "rank": ...}``).
    """

    status: Literal["ok", "no_violations", "base_case_diverged"]
    grid_id: str
    violation_count: int = Field(default=0, description="Violations before any action.")
    violations_before: list[ViolationBrief] = Field(default_factory=list, description="The worst of them.")
    candidates: list[CandidateBrief] = Field(default_factory=list, description="Best first.")
    clearing_count: int = Field(default=0, description="Candidates (of all returned) that clear every violation.")
    diagnostics: list[str] = Field(default_factory=list)

    def headline(self) -> str:
        if self.status != "ok":
            return self.status.replace("_", " ")
        return f"{self.violation_count} violations; {self.clearing_count} candidates clear them all"


def apply_action(net, action) -> str:
    """Apply one remedial action to ``net`` in place and describe it.

    Raises
    ------
    UnknownElementError
        If the action names a missing element.
    InputError
        If a switching action finds its element already open (or closed).
    """
    def check(table: str, index: int, field: str) -> None:
        if index not in net[table].index:
            raise UnknownElementError(f"{table} {index} does not exist in this grid", field=field,
                                      fix=f"use an existing {table} index (see grid_summary).")

    if action.type == "redispatch":
        check("gen", action.decrease_gen, "action.decrease_gen")
        check(action.increase_element, action.increase_index, "action.increase_index")
        net.gen.at[action.decrease_gen, "p_mw"] -= action.p_mw
        if action.increase_element == "gen":
            net.gen.at[action.increase_index, "p_mw"] += action.p_mw
        return (f"Redispatch {action.p_mw:.1f} MW: lower {element_name(net, 'gen', action.decrease_gen)}, "
                f"raise {element_name(net, action.increase_element, action.increase_index)}")
    if action.type == "gen_output":
        check("gen", action.gen, "action.gen")
        old = float(net.gen.at[action.gen, "p_mw"])
        net.gen.at[action.gen, "p_mw"] = action.p_mw
        verb = "Raise" if action.p_mw > old else "Lower"
        return f"{verb} {element_name(net, 'gen', action.gen)} {old:.1f} -> {action.p_mw:.1f} MW (the slack balances)"
    if action.type == "dispatch":
        for k, point in enumerate(action.setpoints):
            check("gen", point.gen, f"action.setpoints[{k}].gen")
        moved = 0.0
        for point in action.setpoints:
            if point.p_mw is not None:
                moved += abs(point.p_mw - float(net.gen.at[point.gen, "p_mw"]))
                net.gen.at[point.gen, "p_mw"] = point.p_mw
            if point.vm_pu is not None:
                net.gen.at[point.gen, "vm_pu"] = point.vm_pu
        return (f"Combined redispatch of {len(action.setpoints)} unit(s), {moved / 2:.1f} MW moved "
                f"(AC OPF: least change within branch, voltage and unit P/Q limits)")
    if action.type == "load_shed":
        check("load", action.load, "action.load")
        p = float(net.load.at[action.load, "p_mw"])
        share = min(1.0, action.p_mw / p) if p > 0 else 0.0
        net.load.loc[action.load, ["p_mw", "q_mvar"]] *= 1.0 - share
        return f"Shed {action.p_mw:.1f} MW of {element_name(net, 'load', action.load)} ({share:.0%} of its demand)"
    if action.type == "load_transfer":
        check("switch", action.close_switch, "action.close_switch")
        net.switch.at[action.close_switch, "closed"] = True
        done = f"Close {element_name(net, 'switch', action.close_switch)}"
        if action.open_line is None:
            return done + " (loop closed: the parallel)"
        check("line", action.open_line, "action.open_line")
        net.line.at[action.open_line, "in_service"] = False
        return f"{done}, then open {element_name(net, 'line', action.open_line)}"
    if action.type == "line_switching":
        check(action.element, action.index, "action.index")
        column = "closed" if action.element == "switch" else "in_service"
        if bool(net[action.element].at[action.index, column]) == action.close:
            raise InputError(f"{action.element} {action.index} is already {'closed' if action.close else 'open'}",
                             field="action.close", fix=f"{'open' if action.close else 'close'} it instead, or switch "
                                                       f"another {action.element} (see grid_summary).")
        net[action.element].at[action.index, column] = action.close
        return (f"{'Close' if action.close else 'Open'} {element_name(net, action.element, action.index)}"
                f" (switching: no MW moved)")
    check("gen", action.gen, "action.gen")
    old = float(net.gen.at[action.gen, "vm_pu"])
    net.gen.at[action.gen, "vm_pu"] = action.vm_pu
    return f"Set {element_name(net, 'gen', action.gen)} voltage set-point {old:.3f} -> {action.vm_pu:.3f} pu"


def _ptdf(net):
    """DC PTDF of the solved ``net`` [MW/MW] with pandapower-to-matrix maps, or None.

    None when the internal model has more than one reference bus (separate
    islands, e.g. two ext_grids feeding split distribution networks): one
    slack cannot balance them, and the B matrix is singular.
    """
    from pandapower.pypower.makePTDF import makePTDF

    ppc = net._ppc
    ppci = ppc["internal"]
    live = ppc["bus"][:, 1].real != 4
    if live.sum() != ppci["bus"].shape[0] or not np.allclose(ppc["bus"][live, 9].real, ppci["bus"][:, 9].real):
        return None
    if len(ppci["ref"]) != 1:
        return None
    ppc_to_ppci = np.full(len(live), -1)
    ppc_to_ppci[live] = np.arange(live.sum())
    branch_map = np.full(len(ppci["branch_is"]), -1)
    branch_map[ppci["branch_is"]] = np.arange(int(ppci["branch_is"].sum()))
    ptdf = makePTDF(ppci["baseMVA"], ppci["bus"].real, ppci["branch"].real, slack=int(ppci["ref"][0]))
    lookup = net._pd2ppc_lookups

    def bus_col(pp_bus: int) -> int:
        return int(ppc_to_ppci[lookup["bus"][pp_bus]])

    def branch_row(element: str, index: int) -> int:
        return int(branch_map[lookup["branch"][element][0] + net[element].index.get_loc(index)])

    return ptdf, bus_col, branch_row


def _slack_headroom(net) -> tuple[float, float]:
    """How far the slack units together may rise and fall within their P limits [MW] (inf where unlimited)."""
    up = down = 0.0
    for element in ("ext_grid", "gen"):
        table = net[element]
        live = table.in_service.astype(bool) & (table.slack.astype(bool) if element == "gen" else True)
        for index in table.index[live]:
            p = float(net[f"res_{element}"].p_mw.get(index, np.nan))
            high = table.at[index, "max_p_mw"] if "max_p_mw" in table else np.nan
            low = table.at[index, "min_p_mw"] if "min_p_mw" in table else np.nan
            up += float(high) - p if np.isfinite(high) else np.inf
            down += p - float(low) if np.isfinite(low) else np.inf
    return max(up, 0.0), max(down, 0.0)


def _thermal_candidates(net, violation: Violation, sens, per_violation: int, target_percent: float) -> list:
    """Single-unit output changes, redispatch pairs and load sheds that relieve one overloaded branch, sized by PTDF."""
    ptdf, bus_col, branch_row = sens
    row = branch_row(violation.element, violation.index)
    if row < 0:
        return []
    res = net[f"res_{violation.element}"]
    p_col = "p_hv_mw" if violation.element in ("trafo", "trafo3w") else "p_from_mw"
    p_flow = float(res.at[violation.index, p_col])
    relief = abs(p_flow) * (1 - target_percent / violation.value)  # [MW] to reach the target loading

    def effect(bus) -> float:
        """Change of the overloaded flow, in its own direction, per MW injected at ``bus`` [MW/MW]."""
        col = bus_col(int(bus))
        return float(np.sign(p_flow) * ptdf[row, col]) if col >= 0 else 0.0

    gens = net.gen[net.gen.in_service.astype(bool) & ~(net.gen.slack.astype(bool) if "slack" in net.gen else False)]
    p_now = net.res_gen.p_mw.reindex(gens.index).fillna(gens.p_mw)
    down = (p_now - gens.min_p_mw.fillna(0).clip(lower=0)).clip(lower=0) if "min_p_mw" in gens else p_now.clip(lower=0)
    up = (gens.max_p_mw - p_now).clip(lower=0).fillna(0) if "max_p_mw" in gens else p_now * 0
    slack_up, slack_down = _slack_headroom(net)
    out = []
    # one unit, the slack balancing: raise where an injection relieves (e < 0), lower where it loads (e > 0)
    single = sorted(((-abs(effect(b)), i, effect(b)) for i, b in gens.bus.items()
                     if (effect(b) < -0.02 and up[i] > 1.0) or (effect(b) > 0.02 and down[i] > 1.0)))[:per_violation]
    for _, i, e in single:
        cap = min(float(up[i]), slack_down) if e < 0 else min(float(down[i]), slack_up)
        step = min(cap, relief / abs(e))
        sign = 1.0 if e < 0 else -1.0
        for size in ([step] + ([cap] if np.isfinite(cap) and cap - step > 1.0 else [])) if step >= 1.0 else []:
            out.append(GenOutput(gen=int(i), p_mw=round(float(p_now[i]) + sign * size, 1)))  # sized, then at the cap
    lower = sorted(((effect(b), i) for i, b in gens.bus.items() if down[i] > 1.0), reverse=True)[:3]
    raise_ = sorted((effect(b), "gen", i) for i, b in gens.bus.items() if up[i] > 1.0)[:3]
    raise_ += [(effect(b), "ext_grid", i) for i, b in net.ext_grid[net.ext_grid.in_service].bus.items()]
    pairs = sorted(((eg - eh, g, kind, h) for eg, g in lower for eh, kind, h in raise_ if eg - eh > 0.02), reverse=True)
    for gain, g, kind, h in pairs[:per_violation]:
        cap = min(float(down[g]), float(up[h]) if kind == "gen" else slack_up)
        if min(cap, relief / gain) >= 1.0:
            out.append(Redispatch(decrease_gen=int(g), increase_element=kind, increase_index=int(h),
                                  p_mw=round(min(cap, relief / gain), 1)))
    loads = net.load[net.load.in_service & (net.load.p_mw > 0)]
    sheds = sorted((effect(b), i) for i, b in loads.bus.items())
    for e, i in [s for s in sheds if s[0] < -0.02][:per_violation]:
        out.append(LoadShed(load=int(i), p_mw=round(max(0.1, min(float(loads.at[i, "p_mw"]), relief / -e)), 1)))
    return out


#: switching: candidates screened by the linear (LODF) estimate per overloaded branch, and kept per violation
SWITCH_SCREEN, SWITCH_PER_VIOLATION = 12, 3
#: feeder reconfiguration: (tie, line) pairs screened by AC power flow per violation and per proposal (each costs a
#: power flow), and kept per violation
RECONFIG_SCREEN, RECONFIG_BUDGET, RECONFIG_PER_VIOLATION = 8, 20, 3


def _energised_graph(net):
    """The in-service topology (switches respected) restricted to buses with a voltage result, as a networkx MultiGraph."""
    from pandapower.topology import create_nxgraph

    graph = create_nxgraph(net, respect_switches=True)
    live = set(net.res_bus.index[np.isfinite(net.res_bus.vm_pu.to_numpy(dtype=float))]) if len(net.res_bus) else set()
    return graph.subgraph(live).copy()


def _cycle_rank(graph) -> int:
    """Independent loops of a graph, :math:`E - V + C` (0 for a forest: radial operation)."""
    import networkx as nx

    return graph.number_of_edges() - graph.number_of_nodes() + nx.number_connected_components(graph)


def _branch_ends(net, element: str, index: int) -> tuple[int, int]:
    a, b = ("from_bus", "to_bus") if element == "line" else ("hv_bus", "lv_bus")
    return int(net[element].at[index, a]), int(net[element].at[index, b])


def _splits(graph, net, element: str, index: int) -> bool:
    """Whether opening one in-service branch separates its two ends (islands or de-energises buses)."""
    import networkx as nx

    u, v = _branch_ends(net, element, index)
    key = (element, index)
    if not graph.has_edge(u, v, key=key):
        return False  # carries no flow (an open switch at it): opening it changes nothing
    graph.remove_edge(u, v, key=key)
    try:
        return not nx.has_path(graph, u, v)
    finally:
        graph.add_edge(u, v, key=key)


def _switching_candidates(net, violation: Violation, sens, thermal: Limit, graph, normally_open) -> list[LineSwitching]:
    """Branch openings (ranked by LODF) and closings of normally-open elements that may relieve one overload.

    Openings: every in-service line and two-winding trafo k is screened with its line outage distribution factor;
    the estimated flows after opening it give the estimated total thermal excess, and the few with the least (and
    some relief on the overloaded branch; the overloaded branch itself is among them, its flow then carried by the
    rest) are kept, after dropping any whose opening separates its two ends
    (islanding or de-energising anything is never offered).  Closings: lines, trafos and bus-bus switches that are
    open in the grid as loaded (``normally_open``: not an element an event took out) with both ends energised,
    nearest to the overloaded branch first.  The AC power flow judges them all afterwards.
    """
    import networkx as nx

    ptdf, bus_col, branch_row = sens
    if violation.element not in ("line", "trafo"):
        return []
    target = branch_row(violation.element, violation.index)
    if target < 0:
        return []
    ppci = net._ppc["internal"]
    f_bus, t_bus = ppci["branch"][:, 0].real.astype(int), ppci["branch"][:, 1].real.astype(int)
    rows, keys, p, q, rating = [], [], [], [], []
    for element, p_col, q_col in (("line", "p_from_mw", "q_from_mvar"), ("trafo", "p_hv_mw", "q_hv_mvar")):
        if not len(net[element]):
            continue
        loading = branch_loading_percent(net, element)
        res = net[f"res_{element}"]
        for pos, index in enumerate(net[element].index):
            row = branch_row(element, index) if net[element].at[index, "in_service"] else -1
            flow, reactive = float(res.at[index, p_col]), float(res.at[index, q_col])
            if row < 0 or not np.isfinite(loading[pos]) or not np.isfinite(flow) or loading[pos] <= 0.1:
                continue
            rows.append(row), keys.append((element, int(index))), p.append(flow), q.append(reactive)
            rating.append(np.hypot(flow, reactive) / loading[pos] * 100)  # [MVA] at the solved voltage
    if not rows or (violation.element, violation.index) not in keys:
        return []
    rows, p, q, rating = np.array(rows), np.array(p), np.array(q), np.array(rating)
    b = keys.index((violation.element, violation.index))
    h_self = ptdf[rows, f_bus[rows]] - ptdf[rows, t_bus[rows]]  # H_kk [MW/MW]
    excess_now = np.clip(100 * np.hypot(p, q) / rating - thermal.upper, 0, None).sum()
    screened = []
    for k in range(len(rows)):
        if abs(1 - h_self[k]) < 1e-6:
            continue  # a bridge: opening it islands
        lodf = (ptdf[rows, f_bus[rows[k]]] - ptdf[rows, t_bus[rows[k]]]) / (1 - h_self[k])
        lodf[k] = -1.0
        p_new = p + lodf * p[k]
        relief = abs(p[b]) - abs(p_new[b])  # [MW] off the overloaded branch
        excess = np.clip(100 * np.hypot(p_new, np.where(np.arange(len(rows)) == k, 0, q)) / rating - thermal.upper,
                         0, None).sum()
        if relief > 0.01 * abs(p[b]) and excess < excess_now:
            screened.append((round(float(excess), 3), -relief, keys[k]))
    out = []
    for _, _, (element, index) in sorted(screened)[:SWITCH_SCREEN]:
        if not _splits(graph, net, element, index):
            out.append(LineSwitching(element=element, index=index, close=False))
        if len(out) >= SWITCH_PER_VIOLATION:
            break
    start = _branch_ends(net, violation.element, violation.index)[0]
    near = nx.single_source_shortest_path_length(graph, start, cutoff=6) if start in graph else {}
    closable = []
    for element, index in normally_open:
        if element == "switch":
            ends = (int(net.switch.at[index, "bus"]), int(net.switch.at[index, "element"]))
        else:
            ends = _branch_ends(net, element, index)
        if all(e in near for e in ends):
            closable.append((min(near[e] for e in ends), element, index))
    out += [LineSwitching(element=e, index=int(i), close=True) for _, e, i in sorted(closable)[:2]]
    return out


def _normally_open(grid, net) -> list[tuple[str, int]]:
    """Lines and trafos out of service, and open bus-bus switches, in the grid as loaded (the root of ``grid``'s
    derivation), that are still open in ``net``: elements an event took out are not among them."""
    workspace, root = current_workspace(), grid
    while root.parent_id is not None:
        try:
            root = workspace.get(root.parent_id)
        except InputError:
            return []
    base = root.net
    found = [(element, int(i)) for element in ("line", "trafo") for i in base[element].index[~base[element].in_service.astype(bool)]
             if i in net[element].index and not net[element].at[i, "in_service"]]
    if len(base.switch):
        opened = base.switch.index[(base.switch.et == "b") & ~base.switch.closed.astype(bool)]
        found += [("switch", int(i)) for i in opened if i in net.switch.index and not net.switch.at[i, "closed"]]
    return found


def _reconfiguration_candidates(net, violation: Violation, graph, band: Limit, thermal: Limit,
                                screened_pairs: dict | None = None) -> list[LoadTransfer]:
    """Feeder reconfigurations that keep radial operation: close a normally-open tie, open a line on its loop.

    A tie is an open switch whose closing joins two energised buses already connected (the loop it creates is
    the path between them).  Ties whose loop holds the overloaded branch, or passes within 5 branches of the
    low or high bus, are tried; the lines of the loop, nearest to the violated element first, are opened in turn
    (at most :data:`RECONFIG_SCREEN` pairs, and :data:`RECONFIG_BUDGET` in one proposal), each screened by an AC
    power flow; pairs that leave a loop
    (:func:`_cycle_rank` above the grid's) or a dark bus are dropped, and the few with the least total excess
    are kept.  ``screened_pairs`` carries each pair's screened total excess (None: not a candidate) from one
    violation to the next, so that a pair is solved once per proposal.
    """
    import networkx as nx

    memo = {} if screened_pairs is None else screened_pairs
    if not len(net.switch):
        return []
    base_rank, base_live = _cycle_rank(graph), graph.number_of_nodes()
    anchor = {violation.index} if violation.element == "bus" else set(_branch_ends(net, violation.element, violation.index)) \
        if violation.element in ("line", "trafo") else set()
    if not anchor or not anchor <= set(graph.nodes):
        return []
    pairs = []
    for s in net.switch.index[~net.switch.closed.astype(bool)]:
        et, bus, element = net.switch.at[s, "et"], int(net.switch.at[s, "bus"]), int(net.switch.at[s, "element"])
        if et == "l" and net.line.at[element, "in_service"]:
            a, b = _branch_ends(net, "line", element)
            ends, joined = (a, b), ("line", element)
        elif et == "b":
            ends, joined = (bus, element), None
        else:
            continue
        if not all(e in graph for e in ends) or not nx.has_path(graph, *ends):
            continue
        path = nx.shortest_path(graph, *ends)
        loop = [key for u, v in zip(path, path[1:]) for key in graph[u][v] if key[0] == "line" and key != joined]
        on_loop = (violation.element, violation.index) in [(k[0], int(k[1])) for k in
                                                             (key for u, v in zip(path, path[1:]) for key in graph[u][v])]
        if violation.element == "bus":
            reach = nx.multi_source_dijkstra_path_length(graph, set(path), cutoff=5)
            on_loop = violation.index in reach
        if not on_loop:
            continue
        hops = nx.multi_source_dijkstra_path_length(graph, anchor, cutoff=len(path) + 5)
        for key in loop:
            u, v = _branch_ends(net, "line", int(key[1]))
            pairs.append((min(hops.get(u, 99), hops.get(v, 99)), int(s), int(key[1])))
    excess_before = _excess(summarize_solved(net, "ac", band, thermal)["violations"])
    screened = []
    for _, s, line in sorted(pairs)[:RECONFIG_SCREEN]:
        if (s, line) not in memo:
            if len(memo) >= RECONFIG_BUDGET:
                break
            memo[(s, line)] = _screen_transfer(net, s, line, band, thermal, base_rank, base_live)
        if memo[(s, line)] is not None and memo[(s, line)] < excess_before:
            screened.append((memo[(s, line)], s, line))
    return [LoadTransfer(close_switch=s, open_line=line) for _, s, line in sorted(screened)[:RECONFIG_PER_VIOLATION]]


def _screen_transfer(net, s: int, line: int, band: Limit, thermal: Limit, base_rank: int, base_live: int) -> float | None:
    """Total excess after closing switch ``s`` and opening ``line`` (AC power flow, no Q limits: a screen), or None
    if it does not solve, leaves a loop beyond the grid's own or darkens a bus."""
    pp = pandapower()
    trial = copy.deepcopy(net)
    trial.switch.at[s, "closed"] = True
    trial.line.at[line, "in_service"] = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(trial, numba=False, init="results")
    except Exception:  # pandapower raises LoadflowNotConverged and others: not a candidate
        return None
    after = _energised_graph(trial)
    if after.number_of_nodes() < base_live or _cycle_rank(after) > base_rank:
        return None  # a dark bus or a loop left: radial operation not kept
    return _excess(summarize_solved(trial, "ac", band, thermal)["violations"])


#: an AC OPF candidate is tried on grids up to this many buses (bounds its run time)
OPF_MAX_BUSES = 3000


def _opf_candidate(net, band: Limit, thermal: Limit, target_percent: float) -> Dispatch | None:
    """The least-change corrective dispatch from pandapower's AC OPF, or None when it does not converge.

    Every in-service gen is controllable within its P and Q limits; the objective is
    :math:`\\sum_g (P_g - P_g^0)^2` (also for ext_grids), i.e. the smallest redispatch that meets the branch
    limits (at ``target_percent``; else at the limit within 0.90-1.10 pu, moving P only), the voltage band and the
    units' limits.
    Only ``line``, ``trafo`` and ``trafo3w`` carry branch limits in pandapower's OPF; the AC check that follows
    judges every branch kind.
    """
    pp = pandapower()
    if len(net.bus) > OPF_MAX_BUSES or not len(net.gen):
        return None
    opf = copy.deepcopy(net)
    live = opf.gen.in_service.astype(bool)
    p0 = opf.res_gen.p_mw.reindex(opf.gen.index).fillna(opf.gen.p_mw)
    for column, default in (("min_p_mw", 0.0), ("max_p_mw", None), ("min_q_mvar", -1e6), ("max_q_mvar", 1e6)):
        if column not in opf.gen:
            opf.gen[column] = np.nan
        values = opf.gen[column].to_numpy(dtype=float)
        fill = np.maximum(p0, opf.gen.p_mw).to_numpy(dtype=float) if default is None else default
        opf.gen[column] = np.where(np.isnan(values), fill, values)
    opf.gen["controllable"] = live
    for table in ("poly_cost", "pwl_cost"):
        opf[table] = opf[table].iloc[0:0]
    for index in opf.gen.index[live]:
        pp.create_poly_cost(opf, index, "gen", cp1_eur_per_mw=-2 * float(p0[index]), cp2_eur_per_mw2=1.0)
    for index in opf.ext_grid.index[opf.ext_grid.in_service.astype(bool)]:
        p_ext = float(opf.res_ext_grid.p_mw.get(index, 0.0))
        pp.create_poly_cost(opf, index, "ext_grid", cp1_eur_per_mw=-2 * p_ext, cp2_eur_per_mw2=1.0)
    # the voltage band and the target loading first; then 0.90-1.10 pu and the thermal limit itself, so that a
    # dispatch relieving the overloads is still found where the band cannot be met (the AC check says what is left)
    within = min(target_percent, thermal.upper)
    for lower, upper, loading in ((band.lower + 0.002, band.upper - 0.002, within), (0.90, 1.10, thermal.upper - 0.5)):
        opf.bus["min_vm_pu"], opf.bus["max_vm_pu"] = lower, upper
        for element in ("line", "trafo", "trafo3w"):
            if len(opf[element]):
                opf[element]["max_loading_percent"] = loading
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pp.runopp(opf, numba=False)
            break
        except Exception:  # pandapower raises OPFNotConverged and others
            continue
    else:
        return None
    points = []
    for index in opf.gen.index[live]:
        p_new, vm_new = float(opf.res_gen.at[index, "p_mw"]), float(opf.res_bus.at[opf.gen.at[index, "bus"], "vm_pu"])
        moved = abs(p_new - float(p0[index])) >= 0.5
        reset = abs(vm_new - float(opf.gen.at[index, "vm_pu"])) >= 0.002 and upper < 1.10  # relaxed band: P only
        if moved or reset:
            points.append(GenSetpoint(gen=int(index), p_mw=round(max(p_new, 0.0), 2) if moved else None,
                                      vm_pu=round(vm_new, 4) if reset else None))
    return Dispatch(setpoints=points[:2000]) if points else None


def _voltage_candidates(net, violation: Violation, band: Limit) -> list:
    """Nearest generator set-point, and load shedding near an undervoltage bus."""
    import networkx as nx
    from pandapower.topology import create_nxgraph

    graph = create_nxgraph(net, respect_switches=True)
    hops = nx.single_source_shortest_path_length(graph, violation.index, cutoff=6)
    out = []
    gens = net.gen[net.gen.in_service & net.gen.bus.isin(hops.keys())]
    if len(gens):
        g = min(gens.index, key=lambda i: (hops[int(gens.at[i, "bus"])], i))
        step = 0.03 if violation.kind == "undervoltage" else -0.03
        target = float(np.clip(gens.at[g, "vm_pu"] + step, band.lower + 0.005, band.upper - 0.005))
        if abs(target - gens.at[g, "vm_pu"]) > 1e-4 and 0.8 < round(target, 3) < 1.2:  # a set-point a unit can take
            out.append(GenVoltage(gen=int(g), vm_pu=round(target, 3)))
    if violation.kind == "undervoltage":
        near = net.load[net.load.in_service & (net.load.p_mw > 0) & net.load.bus.isin([b for b, d in hops.items() if d <= 2])]
        for i in near.p_mw.sort_values(ascending=False).index[:2]:
            out.append(LoadShed(load=int(i), p_mw=round(float(near.at[i, "p_mw"]) * 0.3, 1)))
    return out


def _key(v: Violation) -> tuple:
    return (v.element, v.index, v.kind)


def _excess(violations: list[Violation]) -> float:
    return round(sum(v.excess * (100 if v.unit == "pu" else 1) for v in violations), 3)


def _citations(action_type: str) -> list[Citation]:
    """The clauses an action rests on: the corrective-action plan, plus the last-resort rule for shedding."""
    corrective = cite(CORRECTIVE_ACTION_ENTRY, "An operating action, not an item of an R2.7.1 Corrective Action Plan; "
                                               "it is validated by AC power flow before it is offered.")
    if action_type == "line_switching":
        return [cite(CORRECTIVE_ACTION_ENTRY, "Switching here is an operating action, not an item of an R2.7.1 Corrective "
                                              "Action Plan; the opening or closing is validated by AC power flow and "
                                              "never islands or de-energises anything."),
                cite(SYSTEM_ADJUSTMENT_ENTRY, "Switching is a system adjustment after a first outage; it moves no MW and "
                                              "ranks beside redispatch, ahead of load shedding.")]
    if action_type == "load_transfer":
        return [cite(FEEDER_TRANSFER_ENTRY, "A tie closed and a line on its loop opened: load moves to the next feeder "
                                            "and radial operation is kept."), corrective]
    if action_type != "load_shed":
        return [corrective]
    return [cite(LAST_RESORT_ENTRY, "Interrupting firm demand is a last resort: load shedding ranks after redispatch."),
            corrective]


#: tolerance on unit limits [MW or Mvar]
UNIT_LIMIT_TOLERANCE = 0.5


def unit_limit_excess(net) -> dict[str, float]:
    """How far each in-service unit of a solved network lies beyond its P or Q limits [MW or Mvar].

    Parameters
    ----------
    net : pandapower.pandapowerNet
        After a converged AC power flow.

    Returns
    -------
    dict
        ``'<label> P'`` or ``'<label> Q'`` -> excess [MW or Mvar], for units beyond a limit by more than
        :data:`UNIT_LIMIT_TOLERANCE`.  NaN limits are unlimited.  Covers gen (P from the set-point result, Q from the
        solve) and ext_grid (the slack: the solver limits neither its P nor its Q).

    References
    ----------
    .. [1] NERC MOD-025-2, R1-R2.
    """
    found = {}
    for element in ("gen", "ext_grid"):
        table, res = net[element], net[f"res_{element}"]
        if not len(table) or not len(res):
            continue
        for index in table.index[table.in_service.astype(bool)]:
            for quantity, unit in (("p", "mw"), ("q", "mvar")):
                value = float(res[f"{quantity}_{unit}"].get(index, np.nan))
                low = float(table.at[index, f"min_{quantity}_{unit}"]) if f"min_{quantity}_{unit}" in table else np.nan
                high = float(table.at[index, f"max_{quantity}_{unit}"]) if f"max_{quantity}_{unit}" in table else np.nan
                excess = max(value - high if np.isfinite(high) else 0.0, low - value if np.isfinite(low) else 0.0)
                if np.isfinite(value) and excess > UNIT_LIMIT_TOLERANCE:
                    found[f"{element_name(net, element, int(index))} {quantity.upper()}"] = round(excess, 2)
    return found


def _validate(base_net, action, targets, before: list[Violation], band: Limit, thermal: Limit,
              base_units: dict[str, float] | None = None) -> ValidatedAction:
    """Apply ``action`` to a copy of the solved base and re-solve the AC power flow (Q limits enforced)."""
    net = copy.deepcopy(base_net)
    description = apply_action(net, action)
    cost = 0.0 if action.type in ("gen_voltage", "line_switching", "load_transfer") else (
        sum(max(0.0, (p.p_mw or 0.0) - float(base_net.gen.at[p.gen, "p_mw"])) for p in action.setpoints
            if p.p_mw is not None) if action.type == "dispatch" else
        abs(action.p_mw - float(base_net.gen.at[action.gen, "p_mw"])) if action.type == "gen_output" else action.p_mw)
    q_needed = None
    if action.type == "gen_voltage":
        free = copy.deepcopy(net)
        if solve(free, "ac", q_limits=False)[-1].converged:
            q_needed = round(float(free.res_gen.q_mvar.get(action.gen, np.nan)), 2)
            low = net.gen.at[action.gen, "min_q_mvar"] if "min_q_mvar" in net.gen else np.nan
            high = net.gen.at[action.gen, "max_q_mvar"] if "max_q_mvar" in net.gen else np.nan
            span = f"{low:.1f} to {high:.1f} Mvar" if np.isfinite(low) and np.isfinite(high) else "no Q limit given"
            description += f"; needs {q_needed:.1f} Mvar from the unit (capability {span})"
    common = dict(rank=0, action=action, description=description, targets=targets, excess_before=_excess(before),
                  cost_mw=round(cost, 2), citations=_citations(action.type), q_needed_mvar=q_needed)
    if not solve(net, "ac")[-1].converged:
        effects = [ElementEffect(element=element_ref(net, v.element, v.index), kind=v.kind, before=v.value, after=None,
                                 limit=v.limit, unit=v.unit, cleared=False) for v in before]
        return ValidatedAction(outcome="diverged", effects=effects, remaining_violation_count=len(before),
                               excess_after=None, **common)
    after = summarize_solved(net, "ac", band, thermal)["violations"]
    after_by_key = {_key(v): v for v in after}
    effects = []
    for v in before:
        if v.element == "bus":
            value = net.res_bus.vm_pu.get(v.index)
        else:
            value = branch_loading_percent(net, v.element)[net[v.element].index.get_loc(v.index)]
        value = None if value is None or np.isnan(value) else round(float(value), 4 if v.unit == "pu" else 2)
        effects.append(ElementEffect(element=element_ref(net, v.element, v.index), kind=v.kind, before=v.value,
                                     after=value, limit=v.limit, unit=v.unit, cleared=_key(v) not in after_by_key))
    new = [v for v in after if _key(v) not in {_key(b) for b in before}]
    excess_after = _excess(after)
    outcome = "clears_all" if not after else ("partial" if excess_after < common["excess_before"] - 1e-6 else "ineffective")
    units = unit_limit_excess(net)
    breaches = [f"{label} {excess:g} beyond its limit" for label, excess in units.items()
                if excess > (base_units or {}).get(label, 0.0) + UNIT_LIMIT_TOLERANCE]
    if q_needed is not None and action.type == "gen_voltage":
        low = net.gen.at[action.gen, "min_q_mvar"] if "min_q_mvar" in net.gen else np.nan
        high = net.gen.at[action.gen, "max_q_mvar"] if "max_q_mvar" in net.gen else np.nan
        if (np.isfinite(high) and q_needed > high + UNIT_LIMIT_TOLERANCE) or (np.isfinite(low) and q_needed < low - UNIT_LIMIT_TOLERANCE):
            breaches.append(f"{element_name(net, 'gen', action.gen)} would need {q_needed:.1f} Mvar to hold {action.vm_pu:.3f} pu")
    if breaches:
        outcome = "beyond_capability"
    target = next((v for v in before if v.name in targets), None)
    relief = None
    if target is not None:
        left = next((e for e in effects if e.element.element == target.element and e.element.index == target.index), None)
        remaining = 0.0 if left is None or left.cleared or left.after is None else \
            max(0.0, (left.after - left.limit) if target.kind in ("thermal", "overvoltage") else (left.limit - left.after))
        relief = round(100 * (1 - remaining / target.excess), 1) if target.excess > 0 else None
    return ValidatedAction(outcome=outcome, effects=effects, new_violations=new, remaining_violation_count=len(after),
                           excess_after=excess_after, unit_limit_breaches=breaches, target_relief_percent=relief, **common)


def _clears(candidate: ValidatedAction) -> bool:
    """No violation left after the action (a unit pushed beyond its limits aside: sizing looks for the least MW)."""
    return candidate.outcome != "diverged" and candidate.remaining_violation_count == 0


#: shares of a load tried when its sensitivity-sized shed does not clear [-]
SHED_SHARES = (0.45, 0.6, 0.75, 0.9, 1.0)


def _sized_shed(net, action: LoadShed, targets, before, band: Limit, thermal: Limit, base_units) -> ValidatedAction:
    """A load-shed candidate sized to the least MW that clears every violation, when some size of it does.

    The sensitivity-sized shed is validated first; if it does not clear, larger shares of the load
    (:data:`SHED_SHARES`) are tried, and the first that clears is cut back by bisection (shedding more only
    raises the voltage and lowers the flows it was sized for, but can push the slack below its minimum, so the
    least clearing size is the one to offer; its outcome says whether it stays within every unit's limits).
    Otherwise the sensitivity-sized candidate is returned as it is.
    """
    first = _validate(net, action, targets, before, band, thermal, base_units)
    if _clears(first):
        return _least_shed(net, first, before, band, thermal, base_units)
    whole, low = float(net.load.at[action.load, "p_mw"]), action.p_mw
    for share in SHED_SHARES:
        size = round(whole * share, 3)
        if size <= low + 0.05:
            continue
        trial = _validate(net, LoadShed(load=action.load, p_mw=size), targets, before, band, thermal, base_units)
        if _clears(trial):
            return _least_shed(net, trial, before, band, thermal, base_units, low=low)
        low = size
    return first


def _least_shed(net, candidate: ValidatedAction, before, band: Limit, thermal: Limit, base_units, steps: int = 6,
                low: float = 0.0) -> ValidatedAction:
    """The clearing load-shed candidate re-sized by bisection, above ``low`` [MW], to the least MW that still clears."""
    high, best = candidate.action.p_mw, candidate
    for _ in range(steps):
        if high - low < 0.1:
            break
        mid = round((low + high) / 2, 2)
        trial = _validate(net, LoadShed(load=candidate.action.load, p_mw=max(mid, 0.01)), candidate.targets, before, band,
                          thermal, base_units)
        if _clears(trial):
            high, best = mid, trial
        else:
            low = mid
    return best


_OUTCOME_ORDER = {"clears_all": 0, "partial": 1, "ineffective": 2, "diverged": 3, "beyond_capability": 4}
#: within an outcome: redispatch and set-points, then switching (no MW moved, but one branch fewer or one loop moved
#: for the next contingency), then load shedding (the last resort, NERC TPL-001-5.1 Table 1, footnote 12)
_TYPE_ORDER = {"redispatch": 0, "gen_output": 0, "dispatch": 0, "gen_voltage": 0, "line_switching": 1,
               "load_transfer": 1, "load_shed": 2}
#: a candidate relieving less of its first target's excess than this is not a first step [%]
MIN_TARGET_RELIEF_PERCENT = 10.0


@tool
def propose_remedial_actions(
    grid_id: Annotated[str, Field(description="Grid whose violations to relieve (e.g. a post-event grid).")],
    max_candidates: Annotated[int, Field(ge=1, le=50, description="Most candidates to validate and return.")] = 8,
    target_loading_percent: Annotated[float, Field(gt=10, le=100, allow_inf_nan=False, description="Loading to size thermal relief for [% of rating].")] = 95.0,
    vm_min_pu: VmMinPu = None,
    vm_max_pu: VmMaxPu = None,
    max_loading_percent: MaxLoadingPercent = None,
    opf: Annotated[bool, Field(description="Also offer a combined corrective redispatch from an AC OPF (slower).")] = True,
    switch: Annotated[bool, Field(description=(
        "Also offer switching: branch openings/closings on meshed grids, tie-switch reconfiguration on feeders."))] = True,
) -> RemedialResult:
    """Propose remedial actions for a grid's violations, validated by AC power flow on copies.

    Parameters
    ----------
    grid_id : str
        Grid in the workspace (never changed).
    max_candidates : int, default 8
        Bound on candidates validated and returned.
    target_loading_percent : float, default 95
        Thermal relief is sized to bring the branch to this loading [%].
    vm_min_pu, vm_max_pu : float, optional
        Voltage band [pu]; default 0.95-1.05 (ANSI C84.1-2020 Table 1 Range A).
    max_loading_percent : float, optional
        Thermal limit [% of rating]; default 100 (NERC TPL-001-5.1 Table 1).
    opf : bool, default True
        Also offer one combined corrective redispatch from pandapower's AC OPF (least change of every unit's
        output within branch, voltage and unit P/Q limits); grids above 3000 buses skip it.
    switch : bool, default True
        Also offer switching (:class:`LineSwitching` on meshed grids, :class:`LoadTransfer` reconfigurations
        through normally-open tie switches on feeders; see Notes).

    Returns
    -------
    RemedialResult
        Violations before, and candidates ranked: those that clear every
        violation first, then partial relief (a candidate relieving less than
        10 % of its first target's excess after those that relieve more),
        ineffective, diverged, and last those that need a unit beyond its P or
        Q limits; within each, redispatch and set-points, then switching (no
        MW moved, but the grid is left with one branch fewer, or a moved open
        point, for the next contingency), then load shedding; then by
        remaining excess [%], then by MW moved.  Load shedding is
        withheld when another candidate clears every violation, and a
        clearing shed is cut by bisection to the least MW that still clears.
        Models and MCP clients receive its compact view, :class:`RemedialView`
        (the worst violations and the :data:`CANDIDATES_BRIEF` best
        candidates, each with an ``action`` that applies it by reference);
        the full result is the evidence behind ``evidence_id``.

    Raises
    ------
    UnknownGridError
        If no grid is held under ``grid_id``.

    Notes
    -----
    For an overloaded branch b carrying :math:`P_b` [MW] at loading
    :math:`L_b` [%], the relief needed to reach the target :math:`T` is
    :math:`R = |P_b| (1 - T / L_b)` [MW].  An injection :math:`\\Delta P` at
    bus k (balanced by the slack) changes the flow by
    :math:`\\mathrm{sign}(P_b)\\, \\mathrm{PTDF}_{b,k} \\Delta P`; a redispatch
    from unit g to unit h therefore relieves
    :math:`(e_g - e_h) \\Delta P` with :math:`e_k = \\mathrm{sign}(P_b) \\mathrm{PTDF}_{b,k}`,
    and is sized :math:`\\Delta P = R / (e_g - e_h)`, capped by the units'
    headroom (``min_p_mw``, ``max_p_mw``).  A single unit moved alone (the
    slack balancing) relieves :math:`e_k \\Delta P` and is sized
    :math:`R / |e_k|`, capped by its headroom and the slack's; it is also
    tried at that cap.  Load shedding at bus k is sized
    :math:`R / (-e_k)`, capped by the load.  The linear estimate only sizes
    the candidate; the reported effect is the AC power flow's.

    Switching (meshed grids, i.e. the in-service graph has a loop): opening
    branch k from bus i to bus j changes the flow on branch m by
    :math:`\mathrm{LODF}_{m,k} P_k` with
    :math:`\mathrm{LODF}_{m,k} = (\mathrm{PTDF}_{m,i} - \mathrm{PTDF}_{m,j}) / (1 - (\mathrm{PTDF}_{k,i} - \mathrm{PTDF}_{k,j}))`
    (a denominator of 0 marks a bridge, whose opening islands).  Every
    in-service line and two-winding trafo is screened: the estimated flows
    (reactive flows kept, the rating taken as the solved apparent power over
    its loading) give the total thermal excess after the opening; openings
    with relief on the overloaded branch and less total excess, least first,
    are kept (at most 3 per overload) unless the opening separates its two
    ends in the in-service graph.  Elements open in the grid as loaded (not
    taken out by an event) and near the overload are tried closed.
    Reconfiguration (feeders): a normally-open tie switch whose two sides are
    energised is closed and a line on the loop it creates opened, nearest the
    violated element first, each pair screened by an AC power flow (8 per
    violation, 20 per call); a pair is kept only if the energised graph keeps its cycle rank
    :math:`E - V + C` (0: a forest, radial) and no bus goes dark.

    References
    ----------
    .. [1] Wood, Wollenberg & Sheblé (2014), ch. 7, linear sensitivity factors (PTDF, LODF).
    .. [2] NERC TPL-001-5.1, Table 1, footnote 12.
    .. [3] NERC TPL-001-5.1, Table 1, P3 (switching among the system adjustments).
    .. [4] Distribution operating practice, feeder load transfer (corpus ``practice-feeder-load-transfer``).
    """
    grid = current_workspace().get(grid_id)
    band, thermal = voltage_band(vm_min_pu, vm_max_pu), thermal_limit(max_loading_percent)
    net, attempts = solved_base(grid)
    if not attempts[-1].converged:
        return RemedialResult(status="base_case_diverged", grid_id=grid_id, diagnostics=diagnose(net),
                              limits=[band, thermal], notes=list(grid.notes))
    before = summarize_solved(net, "ac", band, thermal)["violations"]
    if not before:
        return RemedialResult(status="no_violations", grid_id=grid_id, limits=[band, thermal], notes=list(grid.notes))
    notes = list(grid.notes)
    sens = _ptdf(net)
    if sens is None:
        notes.append("PTDF sensitivities were unavailable for this grid (for example several reference buses feeding "
                     "separate islands); thermal candidates were not generated.")
    proposals: dict[str, tuple] = {}
    for v in before[:5]:
        if v.kind == "thermal":
            found = _thermal_candidates(net, v, sens, 3, target_loading_percent) if sens else []
        else:
            found = _voltage_candidates(net, v, band)
        for action in found:
            key = action.model_dump_json()
            proposals.setdefault(key, (action, []))[1].append(v.name)
    switching: dict[str, tuple] = {}
    if switch:
        graph, normally_open = _energised_graph(net), _normally_open(grid, net)
        radial, pairs = _cycle_rank(graph) == 0, {}
        for v in before[:5]:
            found = _switching_candidates(net, v, sens, thermal, graph, normally_open) \
                if sens and v.kind == "thermal" and not radial else []
            found += _reconfiguration_candidates(net, v, graph, band, thermal, pairs)
            for action in found:
                switching.setdefault(action.model_dump_json(), (action, []))[1].append(v.name)
    combined = _opf_candidate(net, band, thermal, target_loading_percent) if opf else None
    if combined is not None:
        proposals = {"opf": (combined, [v.name for v in before[:5]]), **proposals}
    base_units = unit_limit_excess(net)
    others = [(a, t) for a, t in proposals.values() if a.type != "load_shed"]
    sheds = [(a, t) for a, t in proposals.values() if a.type == "load_shed"]
    others = others[: max_candidates * 3] + list(switching.values())[:max_candidates]
    validated = [_validate(net, a, t, before, band, thermal, base_units) for a, t in others]
    withheld = 0
    if any(c.outcome == "clears_all" for c in validated):
        withheld = len(sheds)  # firm load is shed only when nothing else clears (NERC TPL-001-5.1 fn. 12)
        if withheld:
            notes.append(f"{withheld} load-shedding candidate(s) withheld: a redispatch, set-point or switching "
                         "candidate clears every violation.")
    else:
        validated += [_sized_shed(net, a, t, before, band, thermal, base_units) for a, t in sheds[:max_candidates]]
    validated.sort(key=lambda c: (_OUTCOME_ORDER[c.outcome], _TYPE_ORDER[c.action.type],
                                  c.outcome == "partial" and (c.target_relief_percent or 0.0) < MIN_TARGET_RELIEF_PERCENT,
                                  c.excess_after if c.excess_after is not None else np.inf, c.cost_mw))
    for rank, c in enumerate(validated[:max_candidates], 1):
        c.rank = rank
    kept = validated[:max_candidates]
    return RemedialResult(status="ok", grid_id=grid_id, violations_before=before, candidates=kept,
                          clearing_count=sum(c.outcome == "clears_all" for c in kept), load_shed_withheld=withheld,
                          limits=[band, thermal], notes=notes)


def proposed(action, field: str = "action"):
    """``action`` itself, or for a :class:`Candidate` the action that candidate stands for.

    Raises
    ------
    InputError
        If the evidence id is unknown or not a ``propose_remedial_actions`` result, or has no candidate of that rank.
    """
    if action.type != "candidate":
        return action
    try:
        record = current_workspace().ledger.get(action.evidence_id)
    except InputError as exc:
        raise InputError(exc.message, field=f"{field}.evidence_id", fix=exc.fix) from None
    ranks = {c["rank"]: c["action"] for c in record.result.get("candidates", [])} if record.tool == "propose_remedial_actions" else {}
    if action.rank not in ranks:
        raise InputError(f"{action.evidence_id} ({record.tool}) has no candidate of rank {action.rank}", field=f"{field}.rank",
                         fix="use the evidence_id and rank of a candidate that propose_remedial_actions returned"
                             + (f" (ranks 1-{max(ranks)})." if ranks else "."))
    return _ACTIONS.validate_python(ranks[action.rank])


@tool
def apply_actions(
    grid_id: Annotated[str, Field(description="Grid to start from (left unchanged).")],
    actions: Annotated[list[RemedialAction], Field(min_length=1, max_length=100, description="Actions to apply, in order.")],
    new_grid_id: Annotated[str | None, Field(max_length=128, description="Id for the derived grid.")] = None,
) -> DerivedGridResult:
    """Apply remedial actions to a copy of a grid and hold the result as a new grid (a study, not an operation).

    Parameters
    ----------
    grid_id : str
    actions : list of RemedialAction
        Redispatch [MW], load shed [MW], generator voltage set-point [pu], load transfer (tie switch closed,
        line opened), line switching (a line or trafo opened or closed, a bus-bus switch opened or closed), or a
        candidate of a ``propose_remedial_actions`` result by its evidence id and rank
        (``{"type": "candidate", "evidence_id": "ev-0005", "rank": 1}``, as its compact view gives it).
    new_grid_id : str, optional

    Returns
    -------
    DerivedGridResult

    Raises
    ------
    UnknownGridError, UnknownElementError
        If the grid or an element named by an action does not exist.
    InputError
        If a candidate reference names no proposed candidate, or a switching action finds its element already
        in the state it asks for.
    """
    parent = current_workspace().get(grid_id)
    net = current_workspace().copy_net(grid_id)
    changes = [apply_action(net, proposed(a, f"actions[{k}]")) for k, a in enumerate(actions)]
    grid = derive_grid(parent, net, changes, new_grid_id or f"{grid_id}:remedied")
    return DerivedGridResult(grid_id=grid.grid_id, parent_id=grid_id, changes=changes)
