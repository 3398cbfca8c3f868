"""Remedial actions: propose, validate on a copy, rank.

For each thermal overload, candidates are generator redispatch pairs and load
shedding at the buses with the most effect on the overloaded branch, found
with DC power transfer distribution factors (PTDF).  For each voltage
violation, candidates are the nearest generator's voltage set-point and load
shedding near the bus.  Every candidate is then re-solved with the full AC
power flow on a copy of the grid; its before/after figures for every violated
element come from that solve, and candidates that do not clear the violation
are kept and marked so.

References
----------
.. [1] A. J. Wood, B. F. Wollenberg, G. B. Sheblé, "Power Generation,
   Operation, and Control", 3rd ed., Wiley, 2014, ch. 7 (linear sensitivity
   factors: PTDF, generation shift factors).
.. [2] NERC TPL-001-5.1, Table 1, footnote 12 (interruption of firm demand
   is a last resort), hence load shedding ranks after redispatch.
"""

from __future__ import annotations

import copy
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from gridsage.errors import UNION_TAGS, UnknownElementError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import Limit, cite, thermal_limit, voltage_band
from gridsage.tools.base import MaxLoadingPercent, ToolResult, VmMaxPu, VmMinPu, tool
from gridsage.tools.grid._elements import ElementRef, element_name, element_ref
from gridsage.tools.grid._violations import Violation
from gridsage.tools.grid.events import DerivedGridResult, derive_grid
from gridsage.tools.grid.power_flow import DiagnosticItem, diagnose, solve, solved_base, summarize_solved
from gridsage.tools.workspace import current_workspace

#: corpus entries behind every remedial proposal, and behind load shedding as the last resort
CORRECTIVE_ACTION_ENTRY = "nerc-tpl-001-corrective-action-plan"
LAST_RESORT_ENTRY = "nerc-tpl-001-non-consequential-load-loss"


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Redispatch(_Action):
    """Move generation from one unit to another (ext_grid = the slack)."""

    type: Literal["redispatch"] = "redispatch"
    decrease_gen: int = Field(ge=0, description="gen index to lower.")
    increase_element: Literal["gen", "ext_grid"] = Field(description="Unit to raise ('ext_grid' = slack picks it up).")
    increase_index: int = Field(ge=0)
    p_mw: float = Field(gt=0, allow_inf_nan=False, description="Power moved [MW].")


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


RemedialAction = Annotated[Union[Redispatch, LoadShed, GenVoltage, LoadTransfer], Field(discriminator="type")]
UNION_TAGS.update(("redispatch", "load_shed", "gen_voltage", "load_transfer"))


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
    outcome: Literal["clears_all", "partial", "ineffective", "diverged"] = Field(
        description="'clears_all': no violation left; 'partial': less total excess; 'ineffective': no better.")
    effects: list[ElementEffect] = Field(description="Every element violated before the action.")
    new_violations: list[Violation] = Field(default_factory=list, description="Violations the action creates.")
    remaining_violation_count: int
    excess_before: float = Field(description="Sum of thermal excess [%] and voltage excess [% of nominal] before.")
    excess_after: float | None = Field(description="Same sum after the action.")
    cost_mw: float = Field(description="Generation moved or demand shed [MW] (0 for set-point changes).")
    citations: list[Citation] = Field(default_factory=list)


class RemedialResult(ToolResult):
    """Ranked, validated remedial actions for a grid's violations."""

    status: Literal["ok", "no_violations", "base_case_diverged"]
    grid_id: str
    violations_before: list[Violation] = Field(default_factory=list)
    candidates: list[ValidatedAction] = Field(default_factory=list, description="Best first.")
    clearing_count: int = Field(default=0, description="Candidates that clear every violation.")
    diagnostics: list[DiagnosticItem] = Field(default_factory=list)
    limits: list[Limit] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


def apply_action(net, action) -> str:
    """Apply one remedial action to ``net`` in place and describe it.

    Raises
    ------
    UnknownElementError
        If the action names a missing element.
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


def _thermal_candidates(net, violation: Violation, sens, per_violation: int, target_percent: float) -> list:
    """Redispatch pairs and load sheds that relieve one overloaded branch, sized by PTDF."""
    ptdf, bus_col, branch_row = sens
    row = branch_row(violation.element, violation.index)
    if row < 0:
        return []
    res = net[f"res_{violation.element}"]
    p_col = "p_from_mw" if violation.element == "line" else "p_hv_mw"
    p_flow = float(res.at[violation.index, p_col])
    relief = abs(p_flow) * (1 - target_percent / violation.value)  # [MW] to reach the target loading

    def effect(bus) -> float:
        """Change of the overloaded flow, in its own direction, per MW injected at ``bus`` [MW/MW]."""
        col = bus_col(int(bus))
        return float(np.sign(p_flow) * ptdf[row, col]) if col >= 0 else 0.0

    gens = net.gen[net.gen.in_service]
    down = (gens.p_mw - gens.min_p_mw.fillna(0).clip(lower=0)).clip(lower=0) if "min_p_mw" in gens else gens.p_mw.clip(lower=0)
    up = (gens.max_p_mw - gens.p_mw).clip(lower=0) if "max_p_mw" in gens else gens.p_mw * 0
    lower = sorted(((effect(b), i) for i, b in gens.bus.items() if down[i] > 1.0), reverse=True)[:3]
    raise_ = sorted((effect(b), "gen", i) for i, b in gens.bus.items() if up.fillna(0)[i] > 1.0)[:3]
    raise_ += [(effect(b), "ext_grid", i) for i, b in net.ext_grid[net.ext_grid.in_service].bus.items()]
    pairs = sorted(((eg - eh, g, kind, h) for eg, g in lower for eh, kind, h in raise_ if eg - eh > 0.02), reverse=True)
    out = []
    for gain, g, kind, h in pairs[:per_violation]:
        cap = min(float(down[g]), float(up.fillna(np.inf)[h]) if kind == "gen" else np.inf)
        out.append(Redispatch(decrease_gen=int(g), increase_element=kind, increase_index=int(h),
                              p_mw=round(max(1.0, min(cap, relief / gain)), 1)))
    loads = net.load[net.load.in_service & (net.load.p_mw > 0)]
    sheds = sorted((effect(b), i) for i, b in loads.bus.items())
    for e, i in [s for s in sheds if s[0] < -0.02][:per_violation]:
        out.append(LoadShed(load=int(i), p_mw=round(max(0.1, min(float(loads.at[i, "p_mw"]), relief / -e)), 1)))
    return out


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
        if abs(target - gens.at[g, "vm_pu"]) > 1e-4:
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
    corrective = cite(CORRECTIVE_ACTION_ENTRY, "Redispatch and voltage set-points are corrective actions a plan may use; "
                                               "each is validated by AC power flow before it is offered.")
    if action_type != "load_shed":
        return [corrective]
    return [cite(LAST_RESORT_ENTRY, "Interrupting firm demand is a last resort: load shedding ranks after redispatch."),
            corrective]


def _validate(base_net, action, targets, before: list[Violation], band: Limit, thermal: Limit) -> ValidatedAction:
    """Apply ``action`` to a copy of the solved base and re-solve the AC power flow."""
    net = copy.deepcopy(base_net)
    description = apply_action(net, action)
    cost = 0.0 if action.type == "gen_voltage" else action.p_mw
    common = dict(rank=0, action=action, description=description, targets=targets, excess_before=_excess(before),
                  cost_mw=cost, citations=_citations(action.type))
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
            value = net[f"res_{v.element}"].loading_percent.get(v.index)
        value = None if value is None or np.isnan(value) else round(float(value), 4 if v.unit == "pu" else 2)
        effects.append(ElementEffect(element=element_ref(net, v.element, v.index), kind=v.kind, before=v.value,
                                     after=value, limit=v.limit, unit=v.unit, cleared=_key(v) not in after_by_key))
    new = [v for v in after if _key(v) not in {_key(b) for b in before}]
    excess_after = _excess(after)
    outcome = "clears_all" if not after else ("partial" if excess_after < common["excess_before"] - 1e-6 else "ineffective")
    return ValidatedAction(outcome=outcome, effects=effects, new_violations=new, remaining_violation_count=len(after),
                           excess_after=excess_after, **common)


_OUTCOME_ORDER = {"clears_all": 0, "partial": 1, "ineffective": 2, "diverged": 3}
_TYPE_ORDER = {"redispatch": 0, "gen_voltage": 0, "load_transfer": 0, "load_shed": 1}


@tool
def propose_remedial_actions(
    grid_id: Annotated[str, Field(description="Grid whose violations to relieve (e.g. a post-event grid).")],
    max_candidates: Annotated[int, Field(ge=1, le=50, description="Most candidates to validate and return.")] = 8,
    target_loading_percent: Annotated[float, Field(gt=10, le=100, allow_inf_nan=False, description="Loading to size thermal relief for [% of rating].")] = 95.0,
    vm_min_pu: VmMinPu = None,
    vm_max_pu: VmMaxPu = None,
    max_loading_percent: MaxLoadingPercent = None,
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

    Returns
    -------
    RemedialResult
        Violations before, and candidates ranked: those that clear every
        violation first (redispatch and set-points before load shedding),
        then by remaining excess [%], then by MW moved.

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
    headroom (``min_p_mw``, ``max_p_mw``).  Load shedding at bus k is sized
    :math:`R / (-e_k)`, capped by the load.  The linear estimate only sizes
    the candidate; the reported effect is the AC power flow's.

    References
    ----------
    .. [1] Wood, Wollenberg & Sheblé (2014), ch. 7, linear sensitivity factors.
    .. [2] NERC TPL-001-5.1, Table 1, footnote 12.
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
    validated = [_validate(net, a, t, before, band, thermal) for a, t in list(proposals.values())[: max_candidates * 2]]
    validated.sort(key=lambda c: (_OUTCOME_ORDER[c.outcome], _TYPE_ORDER[c.action.type],
                                  c.excess_after if c.excess_after is not None else np.inf, c.cost_mw))
    for rank, c in enumerate(validated[:max_candidates], 1):
        c.rank = rank
    kept = validated[:max_candidates]
    return RemedialResult(status="ok", grid_id=grid_id, violations_before=before, candidates=kept,
                          clearing_count=sum(c.outcome == "clears_all" for c in kept),
                          limits=[band, thermal], notes=notes)


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
        Redispatch [MW], load shed [MW], generator voltage set-point [pu] or load transfer (tie switch closed,
        line opened).
    new_grid_id : str, optional

    Returns
    -------
    DerivedGridResult

    Raises
    ------
    UnknownGridError, UnknownElementError
        If the grid or an element named by an action does not exist.
    """
    parent = current_workspace().get(grid_id)
    net = current_workspace().copy_net(grid_id)
    changes = [apply_action(net, a) for a in actions]
    grid = derive_grid(parent, net, changes, new_grid_id or f"{grid_id}:remedied")
    return DerivedGridResult(grid_id=grid.grid_id, parent_id=grid_id, changes=changes)
