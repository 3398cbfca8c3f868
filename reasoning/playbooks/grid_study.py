"""The grid-study playbooks: the grid study, and the same study at tomorrow's forecast peak.

Given a scenario the grid study (1) loads the grid and solves the base case, (2) applies
the events to a copy, (3) solves the post-event grid and runs N-1 on it,
(4) proposes remedial actions and validates them step by step (each step
re-proposed on the grid left by the previous one; if the plan's end state
violates an element the post-event grid did not, it is planned again with
steps that create no new violation), and (5) fills the
:class:`~gridsage.reasoning.assessment.Assessment`.  Every figure comes from a
tool result recorded in the evidence ledger.

References
----------
.. [1] NERC TPL-001-5.1, Table 1 (P0 normal system, P1 single contingency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from gridsage.errors import GraphUnavailableError, InputError, ScenarioError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import cite
from gridsage.reasoning.assessment import ActionStep, Assessment, ContingencyRisk, Finding, ObservedEvent
from gridsage.reasoning.playbooks.base import Playbook, Progress
from gridsage.reasoning.scenario import Scenario
from gridsage.reasoning.study import PeakStudy, apply_scenario, load_scenario_grid
from gridsage.tools.grid import (BRANCH_TABLES, MIN_TARGET_RELIEF_PERCENT, ContingencyResult, DerivedGridResult, ElementRef,
                                 PowerFlowResult, Violation,
                                 apply_actions, apply_events, propose_remedial_actions, run_contingency_analysis,
                                 run_power_flow)
from gridsage.tools.workspace import Workspace, use_workspace

#: plan steps at most (each is proposed and validated on the grid left by the one before)
MAX_PLAN_STEPS = 3

#: bus and branch rows kept in each power-flow evidence record (worst first)
EVIDENCE_ROWS = 500



def _severity(v: Violation) -> str:
    """Severity of a violation: by loading [%] or voltage excess [pu]."""
    if v.kind == "thermal":
        return "critical" if v.value >= 150 else "high" if v.value >= 120 else "medium"
    return "critical" if v.excess >= 0.05 else "high" if v.excess >= 0.02 else "medium"


def _violation_finding(v: Violation, evidence_id: str, when: str) -> Finding:
    what = f"loaded {v.value:.1f} % of rating (limit {v.limit:g} %)" if v.kind == "thermal" else \
        f"{v.kind} {v.value:.4f} pu (band limit {v.limit:g} pu)"
    return Finding(severity=_severity(v) if when == "post-event" else "low", title=f"{v.name} {what} {when}",
                   elements=[ElementRef(element=v.element, index=v.index, name=v.name)], value=v.value, limit=v.limit,
                   unit=v.unit, evidence_ids=[evidence_id], citations=[v.citation])


#: corpus entries behind the planner's own findings (violations cite their limit's entry)
P1_ENTRY = "nerc-tpl-001-p1-single-contingency"
LOAD_LOSS_ENTRY = "nerc-tpl-001-consequential-load-loss"
INSTABILITY_ENTRY = "nerc-tpl-001-instability-cascading"
PEAK_ENTRY = "nerc-top-002-next-day-operational-planning"


def _peak_findings(scenario: Scenario, grid_id: str, peak: PeakStudy, limits: dict, top: int) -> list[Finding]:
    """The forecast peak, and the grid at the P50 peak (power flow and N-1); the P90 grid is the study grid."""
    f = peak.forecast
    at = max(f.points, key=lambda p: p.quantiles_mw["p90"]).time_local[:16].replace("T", " ")
    note = cite(PEAK_ENTRY, "The next-day analysis is run at the forecast peak, median and high case.")
    found = [Finding(severity="info", evidence_ids=[f.evidence_id], citations=[note],
                     title=f"Forecast peak (around {at} local): P50 {peak.p50_mw:.0f} MW, P90 {peak.p90_mw:.0f} MW "
                           f"({f.method}, weather: {f.weather}); loads scaled x{peak.factor('p50'):.3f} (P50) and "
                           f"x{peak.factor('p90'):.3f} (P90) from the {peak.reference_mw:.0f} MW reference")]
    p50 = apply_events(grid_id, events=scenario.events, load_scale=scenario.scaling.load * peak.factor("p50"),
                       gen_scale=scenario.scaling.generation, new_grid_id=f"{grid_id}:p50-peak")
    pf = run_power_flow(p50.grid_id, **limits, max_rows=EVIDENCE_ROWS)
    if pf.status != "converged":
        return found + [Finding(severity="critical", evidence_ids=[pf.evidence_id], citations=[note, cite(INSTABILITY_ENTRY)],
                                title="At the P50 peak the power flow has no solution (possible voltage collapse)")]
    n1 = run_contingency_analysis(p50.grid_id, top=top, **limits)
    outages = f"; N-1: {n1.with_violations_count} of {n1.contingencies_total} outages leave violations" \
        if n1.status == "completed" else ""
    return found + [Finding(
        severity="high" if pf.violations else "info", evidence_ids=[pf.evidence_id, n1.evidence_id],
        citations=[note, cite(P1_ENTRY, "Each single branch outage is a P1 event.")],
        title=f"At the P50 peak: {len(pf.violations)} violation(s), max loading {pf.max_loading_percent} %, "
              f"voltages {pf.vm_min_pu}-{pf.vm_max_pu} pu{outages}")]


#: corpus entry behind the slack's P-limit check
CAPABILITY_ENTRY = "nerc-mod-025-generator-capability"


def _slack_findings(pf: PowerFlowResult, when: str, skip: set = frozenset()) -> list[Finding]:
    """A finding for each slack (ext_grid or slack gen) whose output lies outside the P or Q limits the case gives;
    ``skip`` holds ``(element, index, 'p' or 'q')`` already reported."""
    if pf.status != "converged":
        return []
    found = []
    for s in pf.slack:
        if pf.unsupplied_load_mw > 0 and abs(s.p_mw) < 1e-3:
            continue  # a source cut off from the load it served: the separation finding names it
        checks = (("p", s.within_limits, s.p_mw, s.min_p_mw, s.max_p_mw, "MW", "produce",
                   "the other units' reserves must cover the difference (not checked), or load must go",
                   "The slack absorbs the imbalance; its output must stay within its verified capability."),
                  ("q", s.q_within_limits, s.q_mvar, s.min_q_mvar, s.max_q_mvar, "Mvar", "supply",
                   "the solver holds its voltage without limit, so voltages near it are optimistic",
                   "A result that needs a unit beyond its reactive capability cannot be carried out."))
        for quantity, within, value, low, high, unit, verb, consequence, note in checks:
            if within is not False or (s.element, s.index, quantity) in skip:
                continue
            above = high is not None and value > high
            limit = high if above else low
            name = f"{s.element} {s.index} at bus {s.bus}"
            found.append(Finding(
                severity="high" if when == "post-event" else "low", value=value, limit=limit, unit=unit,
                elements=[ElementRef(element=s.element, index=s.index, name=name)], evidence_ids=[pf.evidence_id],
                title=f"{name} (the slack) must {verb} {value:.1f} {unit} to balance the grid, "
                      f"{'above its maximum' if above else 'below its minimum'} of {limit:.1f} {unit} {when}: {consequence}",
                citations=[cite(CAPABILITY_ENTRY, note)]))
    return found


def _q_limit_findings(pf: PowerFlowResult, when: str, skip: set = frozenset()) -> list[Finding]:
    """One finding for the generators at a reactive limit (they no longer hold their voltage set-points)."""
    units = [u for u in pf.q_limited if u.index not in skip] if pf.status == "converged" else []
    if not units:
        return []
    listed = "; ".join(f"{u.name} at {u.limit_mvar:.1f} Mvar ({'max' if u.limit == 'max_q_mvar' else 'min'}), "
                       f"{u.vm_pu if u.vm_pu is not None else float('nan'):.4f} pu against its {u.vm_set_pu:.4f} pu set-point"
                       for u in units[:5])
    more = f" and {len(units) - 5} more" if len(units) > 5 else ""
    return [Finding(
        severity="medium" if when == "post-event" else "info", unit="Mvar", evidence_ids=[pf.evidence_id],
        elements=[ElementRef(element="gen", index=u.index, name=u.name) for u in units[:5]],
        title=f"{len(units)} generator(s) at a reactive limit {when}, no longer holding their voltage set-points: {listed}{more}",
        citations=[cite(CAPABILITY_ENTRY, "Units are modelled within their verified reactive capability (Q limits enforced).")])]


#: an outage that de-energises at least this share of the system load is critical (GridSage's own threshold)
CRITICAL_LOAD_SHARE = 0.10
#: outages named one by one for cutting load off from the main source (the most load first)
SEPARATIONS_NAMED = 3


def _separations(n1: ContingencyResult, post: PowerFlowResult) -> list[Finding]:
    """Single outages that separate load from the main source, named one by one: every one whose power flow has no
    solution (a blackout must never read as 'diverged'), and every islanding one that cuts off at least
    :data:`CRITICAL_LOAD_SHARE` of the system load.  A part that keeps generation but no ext_grid or slack unit is
    said to be de-energised in the study, with its generation beside its load (an operator judges the imbalance)."""
    named, system_load_mw = [], post.load_p_mw or 0.0
    for o in n1.diverged + n1.islanding:
        dark = [i for i in o.islands if not i.source]
        load, gen = sum(i.load_mw for i in dark), sum(i.generation_mw for i in dark)
        share = load / system_load_mw if system_load_mw > 0 else 0.0
        if dark and (o.status == "diverged" or share >= CRITICAL_LOAD_SHARE):
            named.append((o, dark, load, gen, share))
    named.sort(key=lambda item: -item[2])
    findings = []
    for o, dark, load, gen, share in named[:SEPARATIONS_NAMED]:
        buses = sum(i.bus_count for i in dark)
        load_text = f"{load:.1f} MW of load (of {system_load_mw:.1f} MW served in all)"
        what = (f"{load_text} against {gen:.1f} MW of generation, with no ext_grid or slack unit to balance them (the "
                "study de-energises them)" if gen > 0 else f"{load_text} de-energised")
        rest = "; the power flow of what remains has no solution" if o.status == "diverged" else ""
        findings.append(Finding(
            severity="critical" if share >= CRITICAL_LOAD_SHARE else "high", value=round(load, 1), unit="MW",
            elements=[o.outage], evidence_ids=[n1.evidence_id, post.evidence_id],
            title=f"Loss of {o.outage.name} would separate {buses} bus(es) from the main source: {what}{rest}",
            citations=[cite(P1_ENTRY, "Each single branch outage is a P1 event."),
                       cite(LOAD_LOSS_ENTRY, "Buses with no path to a source lose their load.")]))
    return findings


def _risks(n1: ContingencyResult) -> list[ContingencyRisk]:
    p1 = cite(P1_ENTRY, "Each single branch outage of the post-event grid is a P1 event.")
    return [ContingencyRisk(rank=o.rank or i, outage=o.outage, status=o.status, max_loading_percent=o.max_loading_percent,
                            max_loading_element=o.max_loading_element, vm_min_pu=o.vm_min_pu,
                            violation_count=o.violation_count, islanded_buses=o.islanded_buses,
                            lost_load_mw=o.lost_load_mw, lost_generation_mw=o.lost_generation_mw,
                            evidence_ids=[n1.evidence_id], citations=[p1])
            for i, o in enumerate(n1.top, 1)]


def _unique_citations(items: list[list[Citation]]) -> list[Citation]:
    seen, out = set(), []
    for group in items:
        for c in group:
            if c.short() not in seen:
                seen.add(c.short())
                out.append(c)
    return out


#: findings given topology context from the graph (the most severe first)
CONTEXT_FINDINGS = 3


def _graph_context(grid_id: str, net, findings: list[Finding]) -> None:
    """Name the zone, neighbouring buses and load at risk of the top findings, from graph queries."""
    from gridsage.tools.grid import graph_neighbourhood, graph_outage_impact

    for finding in [f for f in findings if f.elements][:CONTEXT_FINDINGS]:
        ref = finding.elements[0]
        if ref.element == "bus":
            bus, outage = ref.index, None
        elif ref.element in BRANCH_TABLES:
            bus = int(net[ref.element].at[ref.index, BRANCH_TABLES[ref.element][0]])
            outage = graph_outage_impact(grid_id, ref.element, ref.index, max_results=20)
        else:  # a unit (gen, ext_grid, sgen): the bus it feeds
            bus, outage = int(net[ref.element].at[ref.index, "bus"]), None
        near = graph_neighbourhood(grid_id, bus, hops=1, max_results=8)
        neighbours = ", ".join(str(b.bus) for b in near.buses) or "none"
        text = f"zone {near.zone or 'n/a'}; bus {bus} neighbours {neighbours}; {near.load_p_mw:.1f} MW of load within 1 branch"
        if outage is not None:
            text += (f"; if it trips it isolates {outage.bus_count} bus(es) and {outage.load_lost_mw:.1f} MW of load"
                     if outage.bus_count else "; its loss isolates no bus (meshed)")
            finding.evidence_ids.append(outage.evidence_id)
        finding.evidence_ids.append(near.evidence_id)
        finding.context = text


def _action_buses(net, action: dict) -> list[tuple[str, int]]:
    """(role, bus) pairs an action acts at."""
    if action["type"] == "redispatch":
        raise_table = net[action["increase_element"]]
        return [("lower", int(net.gen.at[action["decrease_gen"], "bus"])),
                ("raise", int(raise_table.at[action["increase_index"], "bus"]))]
    if action["type"] == "load_shed":
        return [("shed", int(net.load.at[action["load"], "bus"]))]
    if action["type"] == "gen_output":
        return [("new output", int(net.gen.at[action["gen"], "bus"]))]
    if action["type"] == "dispatch":
        return [("re-dispatched", int(net.gen.at[p["gen"], "bus"])) for p in action["setpoints"][:3]]
    if action["type"] == "load_transfer":
        return []
    if action["type"] == "line_switching":
        element, index = action["element"], action["index"]
        end = {"line": "from_bus", "trafo": "hv_bus", "switch": "bus"}[element]
        return [("close" if action["close"] else "open", int(net[element].at[index, end]))]
    return [("set-point", int(net.gen.at[action["gen"], "bus"]))]


def _action_context(grid_id: str, net, steps: list[ActionStep]) -> None:
    """Name the buses and zones each plan step acts at, from graph queries."""
    from gridsage.tools.grid import graph_neighbourhood

    for step in steps:
        parts = []
        for role, bus in _action_buses(net, step.action):
            near = graph_neighbourhood(grid_id, bus, hops=1, max_results=5)
            parts.append(f"{role} at bus {bus} (zone {near.zone or 'n/a'}, {near.load_p_mw:.1f} MW of load within 1 branch)")
            step.evidence_ids.append(near.evidence_id)
        step.context = "; ".join(parts)


def _greedy(grid_id: str, scenario: Scenario, progress: Progress, strict: bool) -> tuple[list[ActionStep], str]:
    """Greedy plan: best validated action, applied, then re-proposed; returns steps and the final grid id.

    With ``strict`` a step may not create a violation anywhere else.
    """
    limits = scenario.limits.model_dump()
    steps: list[ActionStep] = []
    current = grid_id
    for order in range(1, MAX_PLAN_STEPS + 1):
        proposal = propose_remedial_actions(current, **limits, opf=order == 1)  # the combined OPF dispatch: first step
        if proposal.status != "ok" or not proposal.candidates:
            break
        best = next((c for c in proposal.candidates if (c.outcome == "clears_all" or (
            c.outcome == "partial" and (c.target_relief_percent or 0.0) >= MIN_TARGET_RELIEF_PERCENT))
                     and not (strict and c.new_violations)), None)
        if best is None:
            break
        worst = proposal.violations_before[0]
        rationale = (f"Best of {len(proposal.candidates)} validated candidates for {worst.name} "
                     f"({worst.value:g} {worst.unit}): total excess {best.excess_before:g} -> {best.excess_after:g}"
                     f" ({'all violations cleared' if best.outcome == 'clears_all' else 'partial relief'}).")
        progress(f"plan step {order}: {best.description}")
        applied = apply_actions(current, [best.action], new_grid_id=f"{grid_id}:{'strict-' if strict else ''}step{order}")
        steps.append(ActionStep(order=order, action=best.action.model_dump(), description=best.description,
                                outcome=best.outcome, effects=best.effects, new_violation_count=len(best.new_violations),
                                remaining_violation_count=best.remaining_violation_count, rationale=rationale,
                                evidence_ids=[proposal.evidence_id, applied.evidence_id], citations=best.citations))
        current = applied.grid_id
        if best.outcome == "clears_all":
            break
    return steps, current


def _plan(grid_id: str, scenario: Scenario, post: PowerFlowResult, progress: Progress) -> tuple[list[ActionStep], str]:
    """The action plan: greedy; if its end state violates an element the post-event grid did not, planned again
    with steps that may not create violations (an engineer does not trade one problem for a new one)."""
    steps, final_id = _greedy(grid_id, scenario, progress, strict=False)
    if not steps:
        return steps, final_id
    before = {(v.element, v.index) for v in post.violations}
    end = run_power_flow(final_id, **scenario.limits.model_dump(), max_rows=1)
    if end.status == "converged" and not {(v.element, v.index) for v in end.violations} - before:
        return steps, final_id
    progress("re-planning: the greedy plan left new violations")
    return _greedy(grid_id, scenario, progress, strict=True)


def _situation(scenario: Scenario, events: list[str], base: PowerFlowResult, post: PowerFlowResult) -> str:
    stress = "; ".join(events) if events else "no events"
    if post.status != "converged":
        return (f"{scenario.title or scenario.name}: {stress}. The post-event AC power flow has no solution after "
                f"{len(post.attempts)} attempts [{post.evidence_id}]: the grid is likely past its loadability limit.")
    thermal = [v for v in post.violations if v.kind == "thermal"]
    volts = [v for v in post.violations if v.kind != "thermal"]
    worst = f" Worst: {post.violations[0].name} at {post.violations[0].value:g} {post.violations[0].unit}." if post.violations else ""
    before = f"{len(base.violations)} violation(s)" if base.violations else "no violations"
    return (f"{scenario.title or scenario.name}: {stress}. Before the events the grid had {before} "
            f"(max loading {base.max_loading_percent} %) [{base.evidence_id}]. After them it has {len(thermal)} thermal "
            f"overload(s) and {len(volts)} voltage violation(s), max loading {post.max_loading_percent} %, voltages "
            f"{post.vm_min_pu}-{post.vm_max_pu} pu [{post.evidence_id}].{worst}")


@dataclass
class StudyState:
    """The grid a study continues on after the events, and what choosing it found (see :meth:`GridStudy.study_state`).

    Attributes
    ----------
    grid : DerivedGridResult
        The study grid (the post-event grid, or the state estimated from measurements).
    findings, events, assumptions : list
        Findings, telemetry events (e.g. bad data as sensor faults) and assumptions to add to the assessment.
    confidence : (str, str) or None
        A confidence level and reason that cap the study's own, e.g. ``('low', 'the state could not be estimated')``.
    """

    grid: DerivedGridResult
    findings: list[Finding] = field(default_factory=list)
    events: list[ObservedEvent] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    confidence: tuple[str, str] | None = None


_CONFIDENCE = ("low", "medium", "high")


class GridStudy(Playbook):
    """The grid study: base and post-event AC power flow, N-1 on the post-event grid, a validated action plan.

    Handles every scenario with a ``grid:`` block (the playbooks tried before it take the more specific ones).
    """

    name = "grid_study"
    kind = "grid"
    steps = ("load grid", "base power flow", "apply events", "post-event power flow", "N-1 contingency", "remedial actions",
             "verify plan", "topology context")

    def handles(self, scenario: Scenario) -> bool:
        return scenario.grid is not None

    def findings_at_peak(self, scenario: Scenario, grid_id: str, peak: PeakStudy | None, limits: dict, top: int,
                         say: Progress) -> list[Finding]:
        """Findings beyond the study grid's (none here; :class:`NextDayPeak` adds the P50 peak)."""
        return []

    def study_state(self, scenario: Scenario, post_grid: DerivedGridResult, base_dir: Path | None,
                    say: Progress) -> StudyState:
        """The grid the study runs on after the events: here the post-event grid itself (the state-estimation
        playbook replaces it with the state estimated from measurements).

        Raises
        ------
        InputError
            If the scenario's data for it cannot be used (field relative to ``scenario``).
        """
        return StudyState(grid=post_grid)

    def assess(self, scenario: Scenario, base_dir: Path | None = None, *, top: int = 10, workspace: Workspace | None = None,
               progress: Progress | None = None, graph: bool = True) -> Assessment:
        """Run the grid study on a scenario (see :meth:`Playbook.assess`)."""
        say = progress or (lambda message: None)
        workspace = workspace or Workspace()
        limits = scenario.limits.model_dump()
        with use_workspace(workspace):
            try:
                say(self.steps[0])
                loaded = load_scenario_grid(scenario, base_dir)
                say(self.steps[1])
                base = run_power_flow(loaded.grid_id, **limits, max_rows=EVIDENCE_ROWS)
                say(self.steps[2])
                post_grid, peak = apply_scenario(scenario, loaded.grid_id, base_dir)
                state = self.study_state(scenario, post_grid, base_dir, say)
                post_grid = state.grid
            except InputError as exc:
                field = "scenario.grid.source" if exc.field == "source" else f"scenario.{exc.field}"
                raise ScenarioError(exc.message, field=field, fix=exc.fix) from None
            say(self.steps[3])
            post = run_power_flow(post_grid.grid_id, **limits, max_rows=EVIDENCE_ROWS)
            say(self.steps[4])
            n1 = run_contingency_analysis(post_grid.grid_id, top=top, **limits)
            say(self.steps[5])
            steps, final_id = _plan(post_grid.grid_id, scenario, post, say) if post.status == "converged" else ([], post_grid.grid_id)
            say(self.steps[6])
            final = run_power_flow(final_id, **limits, max_rows=EVIDENCE_ROWS) if steps else post

        findings = [_violation_finding(v, post.evidence_id, "post-event") for v in post.violations]
        post_keys = {(v.element, v.index, v.kind) for v in post.violations}
        findings += [_violation_finding(v, base.evidence_id, "already before the events")
                     for v in base.violations if (v.element, v.index, v.kind) not in post_keys]
        if post.status != "converged":
            findings.insert(0, Finding(severity="critical", title="Post-event power flow has no solution (possible voltage collapse)",
                                       evidence_ids=[post.evidence_id],
                                       citations=[cite(INSTABILITY_ENTRY, "A post-event power flow without a solution signals "
                                                                         "voltage instability or loss of loadability.")]))
        if post.unsupplied_buses:
            share = post.unsupplied_load_mw / (post.unsupplied_load_mw + (post.load_p_mw or 0.0)) \
                if post.unsupplied_load_mw > 0 else 0.0
            findings.append(Finding(
                severity="critical" if share >= CRITICAL_LOAD_SHARE else "high", value=post.unsupplied_load_mw, unit="MW",
                title=f"{len(post.unsupplied_buses)} bus(es) cut off from every source after the events: "
                      f"{post.unsupplied_load_mw:.1f} MW of load de-energised ({share:.0%} of the load)",
                evidence_ids=[post.evidence_id],
                citations=[cite(LOAD_LOSS_ENTRY, "Buses with no path to a source lose their load.")]))
        if n1.status == "completed" and n1.islanding_count:
            lost, gen = n1.islanding_lost_load_mw, n1.islanding_lost_generation_mw
            findings.append(Finding(severity="medium", value=round(lost, 1), unit="MW", evidence_ids=[n1.evidence_id],
                                    title=f"{n1.islanding_count} single outage(s) would island buses ({lost:.1f} MW of load "
                                          f"and {gen:.1f} MW of generation in the islands in all)",
                                    citations=[cite(P1_ENTRY, "Each single branch outage is a P1 event."),
                                               cite(LOAD_LOSS_ENTRY, "Load on buses islanded by an outage is lost.")]))
        if n1.status == "completed" and post.status == "converged":
            findings += _separations(n1, post)
        findings += _slack_findings(post, "post-event") + _slack_findings(
            base, "already before the events", skip={(s.element, s.index, q) for s in post.slack
                                                     for q, within in (("p", s.within_limits), ("q", s.q_within_limits))
                                                     if within is False})
        findings += _q_limit_findings(post, "post-event") + _q_limit_findings(
            base, "already before the events", skip={u.index for u in post.q_limited})
        with use_workspace(workspace):
            findings += self.findings_at_peak(scenario, loaded.grid_id, peak, limits, top, say)
        findings += state.findings
        findings.sort(key=lambda f: ["critical", "high", "medium", "low", "info"].index(f.severity))
        graph_note = None
        if graph and post.status == "converged":
            say(self.steps[7])
            with use_workspace(workspace):
                try:
                    _graph_context(post_grid.grid_id, workspace.get(post_grid.grid_id).net, findings)
                    _action_context(post_grid.grid_id, workspace.get(post_grid.grid_id).net, steps)
                except GraphUnavailableError as exc:
                    graph_note = f"Topology graph unavailable ({exc.message}); findings carry no graph context."

        if n1.status == "completed":
            contingency_summary = (f"N-1 on the post-event grid: {n1.contingencies_total} outages in {n1.elapsed_s:.2f} s "
                                   f"({n1.method}); {n1.with_violations_count} leave violations, {n1.islanding_count} island buses, "
                                   f"{n1.diverged_count} without a power-flow solution [{n1.evidence_id}].")
        else:
            contingency_summary = f"N-1 not run: the post-event base case has no solution [{n1.evidence_id}]."
        if steps:
            left = len(final.violations) if final.status == "converged" else None
            plan_outcome = (f"After {len(steps)} step(s): " + ("all violations cleared" if left == 0 else
                            f"{left} violation(s) remain, max loading {final.max_loading_percent} %, voltages "
                            f"{final.vm_min_pu}-{final.vm_max_pu} pu") + f" [{final.evidence_id}].")
        elif post.status == "converged" and post.unsupplied_load_mw > 0 and not post.violations:
            plan_outcome = (f"{post.unsupplied_load_mw:.1f} MW of load is cut off from every source; no redispatch or "
                            "set-point restores it: restore the outaged branch or re-energise the area from another "
                            "source (operator switching).")
        elif post.status == "converged" and not post.violations:
            plan_outcome = "No action needed: the post-event grid is within limits."
        else:
            plan_outcome = "No validated action relieves the violations; escalate to operator judgement."

        risks = _risks(n1) if n1.status == "completed" else []
        grid = workspace.get(post_grid.grid_id)
        assumptions = list(grid.notes) + [
            "Thermal limits are the case's normal (continuous) ratings; no emergency ratings are given.",
            "Remedial candidates are sized with DC PTDF sensitivities, then validated by a full AC power flow.",
            "Actions are proposals for an operator; GridSage changes nothing in a real system.",
        ] + state.assumptions + ([graph_note] if graph_note else [])
        placeholder = loaded.summary.placeholder_rated_branches > loaded.summary.branches / 2
        if post.status != "converged":
            confidence, reason = "low", "the post-event power flow did not converge"
        elif placeholder:
            confidence, reason = "medium", "thermal ratings in this case are placeholders"
        elif steps and final.violations:
            confidence, reason = "medium", "the validated plan leaves violations; a combined redispatch (OPF) may be needed"
        else:
            confidence, reason = "high", "every figure comes from converged AC power flows on real ratings"
        if post.status == "converged" and any(s.within_limits is False or s.q_within_limits is False for s in final.slack):
            slack_note = ("the slack unit runs outside its P or Q limits, and the study assumes the other units' reserves "
                          "cover the difference, which was not checked")
            confidence, reason = ("medium", slack_note) if confidence == "high" else (confidence, f"{reason}; {slack_note}")
        if state.confidence and _CONFIDENCE.index(state.confidence[0]) < _CONFIDENCE.index(confidence):
            confidence, reason = state.confidence[0], f"{state.confidence[1]}; {reason}"
        return Assessment(
            kind=self.kind, playbook=self.name, scenario=scenario.name, title=scenario.title, question=scenario.question, grid_id=post_grid.grid_id,
            source=scenario.grid.source, situation=_situation(scenario, post_grid.changes, base, post),
            verdict="no_solution" if post.status != "converged" else
            "violations" if post.violations or post.unsupplied_load_mw > 0 else "secure",
            events=post_grid.changes, findings=findings, contingency_risks=risks, telemetry_events=state.events,
            contingency_summary=contingency_summary, action_plan=steps, plan_outcome=plan_outcome, final_grid_id=final_id,
            assumptions=assumptions, confidence=confidence, confidence_reason=reason,
            citations=_unique_citations([[lim.citation for lim in post.limits]] + [f.citations for f in findings]
                                        + [r.citations for r in risks] + [s.citations for s in steps]),
            evidence={r.evidence_id: r for r in workspace.ledger.since(None)},
            generated_utc=datetime.now(timezone.utc),
        )


class NextDayPeak(GridStudy):
    """Tomorrow's peak (NERC TOP-002 R1): the grid study at the forecast P90 peak, plus the grid at the P50 peak.

    Handles grid scenarios with a ``forecast:`` block.
    """

    name = "next_day_peak"
    steps = GridStudy.steps[:-1] + ("P50 peak study",) + GridStudy.steps[-1:]

    def handles(self, scenario: Scenario) -> bool:
        return scenario.grid is not None and scenario.forecast is not None

    def findings_at_peak(self, scenario: Scenario, grid_id: str, peak: PeakStudy | None, limits: dict, top: int,
                         say: Progress) -> list[Finding]:
        """The forecast peak, and the grid at the P50 peak (power flow and N-1)."""
        say("P50 peak study")
        return _peak_findings(scenario, grid_id, peak, limits, top)
