"""The "cascade" playbook: the cascade an N-k outage sets off, the stage-0 action that would have held it, the
restoration plan.

Given a scenario with a ``cascade:`` block, :meth:`CascadePlaybook.assess`

1. loads the grid and applies the scaling and the events that are not initiators: the *pre-event* grid
   (``<name>:pre-event``);
2. applies the initiating outages to a copy (``<name>:post-event``) and solves it (AC, generator Q limits): the
   overloads and voltage violations right after the outages, before any protection acts;
3. simulates the cascade on the pre-event grid (``simulate_cascade``: IEEE C37.112 inverse-time relays, NERC
   PRC-010 UVLS and PRC-006 UFLS, islands rebalanced or dark, quasi-steady state) and reports its timeline;
4. searches a *stage-0 action*: the remedial candidates for the post-event grid (``propose_remedial_actions``,
   ranked), each applied to the **pre-event** grid (``apply_actions``) and the cascade simulated again with the same
   outages, at most ``max_actions`` of them; the first in ranking whose cascade loses less than
   ``loss_threshold_percent`` of the pre-event load is reported, else the one losing least (said so);
5. plans the restoration of the load the cascade lost (``plan_restoration``), and, if the block asks for one, runs
   an ensemble of initiators (``cascade_risk``);
6. fills the :class:`~gridsage.reasoning.assessment.Assessment`; every figure is a tool result in the evidence ledger.

Verdict: ``'no_solution'`` when the post-event AC power flow (the outages applied, before any protection acts) has
no solution; else ``'violations'`` when it has a violation or the cascade loses load or trips a branch; else
``'secure'``.

References
----------
.. [1] IEEE C37.112-2018, inverse-time overcurrent relay characteristic equations.
.. [2] NERC PRC-006-5 (UFLS), PRC-010-2.1 (UVLS), EOP-005-3 (system restoration from black start resources).
.. [3] NERC TPL-001-5.1, Table 1: no cascading for P1-P7 events.
.. [4] D. P. Nedic, I. Dobson, D. S. Kirschen, B. A. Carreras, V. E. Lynch, "Criticality in a cascading failure
   blackout model", IJEPES 28(9), 2006 (the Manchester model family the simulator follows).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from gridsage.errors import GridSageError, InputError, ScenarioError
from gridsage.knowledge.limits import cite
from gridsage.reasoning.assessment import ActionStep, Assessment, Finding, RestorationStep, TimelineEvent
from gridsage.reasoning.playbooks.base import Playbook, Progress
from gridsage.reasoning.playbooks.grid_study import (INSTABILITY_ENTRY, LOAD_LOSS_ENTRY, _unique_citations,
                                                     _violation_finding)
from gridsage.reasoning.scenario import OUTAGE_EVENTS, CascadeStudy, Scenario
from gridsage.reasoning.study import load_scenario_grid
from gridsage.tools.grid import ElementRef, apply_actions, apply_events, propose_remedial_actions, run_power_flow
from gridsage.tools.workspace import Workspace, use_workspace

#: bus and branch rows kept in each power-flow evidence record (worst first)
EVIDENCE_ROWS = 500
#: remedial candidates the stage-0 search asks for (it re-simulates at most ``cascade.max_actions`` of them)
CANDIDATES_ASKED = 8
#: trips named one finding each (the earliest first); the timeline lists every event
TRIPS_NAMED = 5
#: corpus entries behind the playbook's own findings
PROTECTION_ENTRY = "ieee-c37-112-inverse-time-overcurrent"
RESTORATION_ENTRY = "nerc-eop-005-system-restoration-blackstart"
#: the event kinds that take an element out, as the cascade tool names them
_EVENT_KIND = {"line_outage": "line", "trafo_outage": "trafo", "gen_trip": "gen"}


class Initiators(NamedTuple):
    """A cascade scenario's initiating outages and its events, split."""

    outages: list[str]  #: ``'<kind>:<index>'`` references, e.g. ``['line:17']``
    fields: list[str]  #: the scenario field each outage comes from, e.g. ``'scenario.events[0]'``
    before: list  #: events applied to build the pre-event grid
    before_fields: list[str]  #: the scenario field of each of them
    events: list  #: events that apply the outages (post-event grid); empty when one has no event form (sgen, ext_grid)


def initiators(scenario: Scenario) -> Initiators:
    """The initiating outages of a cascade scenario, and the scenario's events split into before and outage events.

    Raises
    ------
    ScenarioError
        If an outage event names a DC line (the cascade model watches AC branches only).
    """
    from gridsage.tools.grid.events import BranchOutage, GenTrip

    spec: CascadeStudy = scenario.cascade
    every = [f"scenario.events[{k}]" for k in range(len(scenario.events))]
    if spec.outages:
        outages = [o.replace(" ", "") for o in spec.outages]
        events = []
        for ref in outages:
            kind, index = ref.split(":")
            if kind == "gen":
                events.append(GenTrip(gen=int(index)))
            elif kind in ("line", "trafo", "trafo3w", "impedance"):
                events.append(BranchOutage(element=kind, index=int(index)))
            else:
                events = []
                break
        return Initiators(outages, [f"scenario.cascade.outages[{i}]" for i in range(len(outages))],
                          list(scenario.events), every, events)
    found = Initiators([], [], [], [], [])
    for k, e in enumerate(scenario.events):
        if e.type not in OUTAGE_EVENTS:
            found.before.append(e)
            found.before_fields.append(every[k])
            continue
        if e.type == "branch_outage":
            if e.element == "dcline":
                raise ScenarioError("a DC line outage cannot initiate a cascade (the model watches AC branches)",
                                    field=every[k], fix="name an AC branch or a unit, or give cascade.outages.")
            found.outages.append(f"{e.element}:{e.index}")
        else:
            kind = _EVENT_KIND[e.type]
            found.outages.append(f"{kind}:{getattr(e, kind)}")
        found.fields.append(every[k])
        found.events.append(e)
    return found


def _scenario_error(exc: InputError, prefix: str, fields: list[str]) -> ScenarioError:
    """A tool's error on ``<prefix>[i]...`` restated on the scenario field ``fields[i]`` it came from."""
    import re

    match = re.match(rf"^{prefix}\[(\d+)\]", exc.field or "")
    if match and int(match.group(1)) < len(fields):
        field = fields[int(match.group(1))] + (exc.field[match.end():] if exc.field else "")
    else:
        field = "scenario.grid.source" if exc.field == "source" else f"scenario.{exc.field}"
    return ScenarioError(exc.message, field=field, fix=exc.fix)


def _options(spec: CascadeStudy) -> dict:
    """The cascade tool's model settings from the block."""
    return spec.model_dump(include={"curve", "time_dial", "pickup_percent", "uvls", "ufls", "max_stages"})


def _name(ref: ElementRef | None) -> str | None:
    return None if ref is None else f"{ref.element} {ref.index}"


def timeline_of(cascade) -> list[TimelineEvent]:
    """The cascade result's events as timeline entries, each citing the cascade's evidence id."""
    return [TimelineEvent(time_s=e.time_s, event=e.cause, element=_name(e.element), loading_percent=e.loading_percent,
                          load_lost_mw=e.load_lost_mw, cumulative_load_lost_mw=e.cumulative_load_lost_mw,
                          detail=e.detail, evidence_ids=[cascade.evidence_id]) for e in cascade.events]


def _cascade_findings(cascade, outages_text: str) -> list[Finding]:
    """The cascade in figures, its trips (the first :data:`TRIPS_NAMED`), shedding and dark islands."""
    ev = [cascade.evidence_id]
    relay = [c for c in cascade.citations if c.entry_id == PROTECTION_ENTRY] or [cite(PROTECTION_ENTRY)]
    cascading = cite(INSTABILITY_ENTRY, "Cascading outages after a planning event are not acceptable (TPL-001 Table 1).")
    trips = [e for e in cascade.events if e.cause == "overload_trip"]
    lost = cascade.load_lost_mw
    if not trips and lost <= 0:
        return [Finding(severity="info", evidence_ids=ev, citations=relay,
                        title=f"Loss of {outages_text} sets off no cascade: no branch passes its relay pickup and no "
                              f"load is shed ({cascade.status}, {cascade.stage_count} stage(s))")]
    share = cascade.load_lost_percent
    severity = "critical" if share >= 10 else "high" if lost > 0 else "medium"
    found = [Finding(severity=severity, value=lost, unit="MW", evidence_ids=ev, citations=[cascading] + cascade.citations,
                     title=f"Loss of {outages_text} sets off a cascade: {len(trips)} branch trip(s) in "
                           f"{cascade.duration_s:.1f} s, {lost:.1f} MW of load lost ({share:.1f} % of the "
                           f"{cascade.pre_event_load_mw:.1f} MW served), {cascade.generation_lost_mw:.1f} MW of "
                           f"generation lost, {cascade.final_islands} energised island(s) and {cascade.dark_bus_count} "
                           f"dark bus(es) at the end ({cascade.status})")]
    for e in trips[:TRIPS_NAMED]:
        found.append(Finding(
            severity="high", value=e.loading_percent, unit="%", evidence_ids=ev, citations=relay,
            elements=[e.element] if e.element else [],
            title=f"Tripping of {_name(e.element)} at t = {e.time_s:.2f} s by its inverse-time overcurrent relay: loaded "
                  f"{e.loading_percent:.1f} % of rating, operate time {e.trip_time_s:.2f} s at that loading"))
    if len(trips) > TRIPS_NAMED:
        found.append(Finding(severity="medium", evidence_ids=ev, citations=relay,
                             title=f"Tripping of {len(trips) - TRIPS_NAMED} more branch(es) later in the cascade "
                                   "(the timeline lists each)"))
    for cause, entry, what in (("ufls", "nerc-prc-006-ufls", "under-frequency load shedding (UFLS)"),
                               ("uvls", "nerc-prc-010-uvls", "under-voltage load shedding (UVLS)")):
        shed = [e for e in cascade.events if e.cause == cause]
        if shed:
            mw = sum(e.load_lost_mw for e in shed)
            found.append(Finding(severity="high" if mw > 0 else "medium", value=round(mw, 1), unit="MW", evidence_ids=ev,
                                 citations=[c for c in cascade.citations if c.entry_id == entry] or [cite(entry)],
                                 title=f"{what} operated {len(shed)} time(s) in the cascade, shedding {mw:.1f} MW"))
    if cascade.dark_islands:
        mw = sum(d.load_lost_mw for d in cascade.dark_islands)
        buses = sum(d.bus_count for d in cascade.dark_islands)
        found.append(Finding(severity="critical" if share >= 10 else "high", value=round(mw, 1), unit="MW",
                             evidence_ids=ev, citations=[cite(LOAD_LOSS_ENTRY, "Buses with no path to a source lose their load.")],
                             title=f"{len(cascade.dark_islands)} island(s) of {buses} bus(es) dark in the cascade, "
                                   f"{mw:.1f} MW of load lost with them"))
    return found


class CascadePlaybook(Playbook):
    """Cascading failure after an N-k outage: timeline, load lost, a stage-0 action, the restoration plan.

    Handles grid scenarios with a ``cascade:`` block.
    """

    name = "cascade"
    kind = "grid"
    steps = ("load grid", "pre-event grid", "post-event power flow", "cascade", "stage-0 action", "restoration",
             "ensemble")

    def handles(self, scenario: Scenario) -> bool:
        return scenario.grid is not None and scenario.cascade is not None

    def assess(self, scenario: Scenario, base_dir: Path | None = None, *, top: int = 10, workspace: Workspace | None = None,
               progress: Progress | None = None, graph: bool = True) -> Assessment:
        """Study the cascade of a scenario (see :meth:`Playbook.assess`; ``top`` and ``graph`` are not used)."""
        say = progress or (lambda message: None)
        workspace = workspace or Workspace()
        spec: CascadeStudy = scenario.cascade
        limits = scenario.limits.model_dump()
        split = initiators(scenario)
        outages = split.outages
        with use_workspace(workspace):
            try:
                say(self.steps[0])
                loaded = load_scenario_grid(scenario, base_dir)
                say(self.steps[1])
                pre = apply_events(loaded.grid_id, events=split.before, load_scale=scenario.scaling.load,
                                   gen_scale=scenario.scaling.generation, new_grid_id=f"{loaded.grid_id}:pre-event")
            except InputError as exc:
                raise _scenario_error(exc, "events", split.before_fields) from None
            cascade = self._simulate(pre.grid_id, outages, spec, split.fields)  # checks every outage first
            post_grid = apply_events(pre.grid_id, events=split.events, new_grid_id=f"{loaded.grid_id}:post-event") \
                if split.events else None
            say(self.steps[2])
            post = run_power_flow(post_grid.grid_id, **limits, max_rows=EVIDENCE_ROWS) if post_grid else None
            say(self.steps[3])
            say(self.steps[4])
            chosen, tried, proposal_note = self._stage0(pre.grid_id, post_grid, post, outages, spec, cascade, limits, say)
            corrective = after = None
            if chosen is not None:  # the same action right after the outages (corrective), on the study grid
                corrective = apply_actions(post_grid.grid_id, [chosen[0].action],
                                           new_grid_id=f"{post_grid.grid_id}:stage0-action")
                after = run_power_flow(corrective.grid_id, **limits, max_rows=EVIDENCE_ROWS)
            say(self.steps[5])
            restoration, restoration_note = self._restore(pre.grid_id, outages, spec, cascade, limits)
            ensemble, ensemble_note = None, None
            if spec.ensemble:
                say(self.steps[6])
                ensemble, ensemble_note = self._ensemble(pre.grid_id, spec)

        outages_text = " and ".join(o.replace(":", " ") for o in outages)
        findings: list[Finding] = []
        if post is not None:
            findings += [_violation_finding(v, post.evidence_id, "post-event") for v in post.violations]
            if post.status != "converged":
                findings.insert(0, Finding(severity="critical", evidence_ids=[post.evidence_id],
                                           title="Post-event power flow has no solution (possible voltage collapse)",
                                           citations=[cite(INSTABILITY_ENTRY, "A post-event power flow without a solution "
                                                                              "signals voltage instability.")]))
        findings += _cascade_findings(cascade, outages_text)
        steps: list[ActionStep] = []
        threshold = spec.loss_threshold_percent
        if chosen is not None:
            candidate, applied, again = chosen
            met = again.load_lost_percent < threshold
            left = (f"leaves {len(after.violations)} violation(s), max loading {after.max_loading_percent} %"
                    if after.status == "converged" else "has no AC solution")
            rationale = (f"Applied before the outages (stage 0), the cascade loses {again.load_lost_mw:.1f} MW "
                         f"({again.load_lost_percent:.2f} %) instead of {cascade.load_lost_mw:.1f} MW "
                         f"({cascade.load_lost_percent:.2f} %) with {sum(e.cause == 'overload_trip' for e in again.events)} "
                         f"trip(s) [{applied.evidence_id}, {again.evidence_id}]; "
                         + (f"below the {threshold:g} % threshold" if met else
                            f"the best of {tried} tried, not below the {threshold:g} % threshold")
                         + f". Applied right after the outages instead, before any relay operates, it {left} "
                           f"[{corrective.evidence_id}, {after.evidence_id}].")
            steps.append(ActionStep(order=1, action=candidate.action.model_dump(), description=candidate.description,
                                    outcome=candidate.outcome, effects=candidate.effects,
                                    new_violation_count=len(candidate.new_violations),
                                    remaining_violation_count=candidate.remaining_violation_count, rationale=rationale,
                                    evidence_ids=[proposal_note[1], applied.evidence_id, again.evidence_id,
                                                  corrective.evidence_id, after.evidence_id],
                                    citations=candidate.citations))
            findings.append(Finding(
                severity="info" if met else "medium", value=again.load_lost_percent, limit=threshold, unit="%",
                evidence_ids=[proposal_note[1], again.evidence_id, cascade.evidence_id, corrective.evidence_id],
                citations=candidate.citations or [cite(INSTABILITY_ENTRY)],
                title=(f"Stage-0 action {'found' if met else 'not found'}: {candidate.description} before the outages "
                       f"leaves {again.load_lost_mw:.1f} MW ({again.load_lost_percent:.2f} %) of load lost against "
                       f"{cascade.load_lost_mw:.1f} MW ({cascade.load_lost_percent:.2f} %) without it"
                       + ("" if met else f" (best of {tried} candidate(s) re-simulated; threshold {threshold:g} %)"))))
        if cascade.load_lost_percent < threshold and cascade.load_lost_mw <= 0 and not any(
                e.cause == "overload_trip" for e in cascade.events):
            plan_outcome = "No stage-0 action needed: the outages set off no cascade."
        elif chosen is None:
            plan_outcome = f"No stage-0 action found: {proposal_note[0]}"
        else:
            plan_outcome = steps[0].rationale

        plan: list[RestorationStep] = []
        if restoration is not None:
            plan = self._restoration_steps(restoration)
            r = restoration
            findings.append(Finding(
                severity="info" if r.all_load_restored else "medium", evidence_ids=[r.evidence_id],
                value=r.load_unrestored_mw, unit="MW",
                citations=[c for c in r.citations if c.entry_id == RESTORATION_ENTRY] or [cite(RESTORATION_ENTRY)],
                title=f"Restoration plan ({r.status}): {r.step_count} step(s), each validated by AC power flow, restore "
                      f"{r.load_restored_mw:.1f} of the {r.load_lost_mw:.1f} MW lost"
                      + ("" if r.all_load_restored else f"; {r.load_unrestored_mw:.1f} MW cannot be restored")))
        if ensemble is not None:
            findings.append(self._ensemble_finding(ensemble, spec))

        findings.sort(key=lambda f: ["critical", "high", "medium", "low", "info"].index(f.severity))
        trips = sum(e.cause == "overload_trip" for e in cascade.events)
        no_solution = post is not None and post.status != "converged"
        violated = bool(post and post.violations) or cascade.load_lost_mw > 0 or trips > 0
        verdict = "no_solution" if no_solution else "violations" if violated else "secure"
        situation = (f"{scenario.title or scenario.name}: loss of {outages_text}. "
                     + ("Right after it, before protection acts, the AC power flow has "
                        + (f"{len(post.violations)} violation(s), max loading {post.max_loading_percent} % "
                           f"[{post.evidence_id}]. " if post.status == "converged" else f"no solution [{post.evidence_id}]. ")
                        if post is not None else "")
                     + f"The cascade ({cascade.status}) trips {trips} branch(es) in {cascade.duration_s:.1f} s and loses "
                       f"{cascade.load_lost_mw:.1f} MW ({cascade.load_lost_percent:.1f} %) of load [{cascade.evidence_id}].")
        grid = workspace.get(pre.grid_id)
        assumptions = list(grid.notes) + [
            "Quasi-steady state (OPA / Manchester model family): a sequence of power flows; no electromechanical "
            "dynamics, no transient or small-signal stability, no out-of-step or distance-relay (zone 3) trips.",
            "Every branch relay is an IEEE C37.112 inverse-time overcurrent relay on the branch rating, reset at once "
            "below pickup (no thermal memory); island frequency is a static droop estimate.",
            "Thermal limits are the case's normal (continuous) ratings.",
            "Actions and restoration steps are proposals for an operator; GridSage changes nothing in a real system.",
        ] + [n for n in (proposal_note[0] if chosen is None and tried else None, restoration_note, ensemble_note) if n]
        if cascade.events_omitted:
            assumptions.append(f"The timeline lists the first {len(cascade.events)} events; {cascade.events_omitted} more "
                               f"are in the cascade's evidence count only [{cascade.evidence_id}].")
        dc = cascade.dc_stage_count
        if cascade.status in ("unsolved", "stage_limit"):
            confidence, reason = "low", f"the cascade simulation ended '{cascade.status}'"
        elif dc:
            confidence, reason = "medium", f"{dc} cascade stage(s) had no AC solution and were solved DC (no voltages)"
        else:
            confidence, reason = "medium", "quasi-steady-state simulation: no dynamics, relays modelled generically"
        return Assessment(
            kind=self.kind, playbook=self.name, scenario=scenario.name, title=scenario.title, question=scenario.question,
            grid_id=post_grid.grid_id if post_grid else pre.grid_id, source=scenario.grid.source, situation=situation,
            verdict=verdict, events=pre.changes + [f"initiating outage: {o}" for o in outages], findings=findings,
            contingency_risks=[],
            contingency_summary=("N-1 ranking is not part of the cascade playbook"
                                 + (f"; ensemble '{spec.ensemble}' below." if ensemble is not None else
                                    " (set cascade.ensemble for an ensemble of initiators).")),
            action_plan=steps, plan_outcome=plan_outcome,
            final_grid_id=corrective.grid_id if steps else post_grid.grid_id if post_grid else pre.grid_id,
            timeline=timeline_of(cascade), restoration_plan=plan, assumptions=assumptions, confidence=confidence,
            confidence_reason=reason,
            citations=_unique_citations([[lim.citation for lim in post.limits] if post else []]
                                        + [f.citations for f in findings] + [s.citations for s in steps]),
            evidence={r.evidence_id: r for r in workspace.ledger.since(None)},
            generated_utc=datetime.now(timezone.utc))

    # ------------------------------------------------------------------ steps

    @staticmethod
    def _simulate(grid_id: str, outages: list[str], spec: CascadeStudy, fields: list[str]):
        from gridsage.tools.cascade import simulate_cascade

        try:
            return simulate_cascade(grid_id, outages, **_options(spec), max_rows=1000)
        except InputError as exc:  # an outage naming a missing or open element
            raise _scenario_error(exc, "outages", fields) from None

    def _stage0(self, pre_id: str, post_grid, post, outages: list[str], spec: CascadeStudy, cascade, limits: dict,
                say: Progress):
        """((candidate, applied grid, its cascade) or None, candidates re-simulated, (note, proposal evidence id))."""
        from gridsage.tools.cascade import simulate_cascade

        if cascade.load_lost_percent < spec.loss_threshold_percent and cascade.load_lost_mw <= 0:
            return None, 0, ("the cascade loses no load.", None)
        if spec.max_actions == 0:
            return None, 0, ("the stage-0 search is off (cascade.max_actions is 0).", None)
        if post_grid is None or post is None:
            return None, 0, ("an outage has no event form (sgen or ext_grid), so no post-event grid was proposed for.", None)
        if post.status != "converged":
            return None, 0, (f"the post-event power flow has no solution [{post.evidence_id}], so no candidate was "
                             "proposed.", None)
        if not post.violations:
            return None, 0, (f"the post-event grid has no violation to relieve [{post.evidence_id}]; the cascade starts "
                             "from load shedding or islanding.", None)
        proposal = propose_remedial_actions(post_grid.grid_id, max_candidates=CANDIDATES_ASKED, **limits)
        usable = [c for c in proposal.candidates if c.outcome in ("clears_all", "partial")]
        best, tried, skipped = None, 0, []
        for c in usable:
            if tried >= spec.max_actions:
                break
            try:
                applied = apply_actions(pre_id, [c.action], new_grid_id=f"{pre_id}:stage0-{c.rank}")
                tried += 1
                say(f"stage-0 candidate {tried}: {c.description}")
                again = simulate_cascade(applied.grid_id, outages, **_options(spec), max_rows=1000)
            except InputError as exc:  # e.g. a switching candidate on an element the outages took out
                skipped.append(f"rank {c.rank} ({exc.message})")
                continue
            if best is None or again.load_lost_mw < best[2].load_lost_mw:
                best = (c, applied, again)
            if again.load_lost_percent < spec.loss_threshold_percent:
                best = (c, applied, again)
                break
        note = (f"{len(proposal.candidates)} candidate(s) proposed for the post-event grid, {len(usable)} relieving, "
                f"{tried} re-simulated from the pre-event grid [{proposal.evidence_id}]"
                + (f"; not applicable before the outages: {'; '.join(skipped[:3])}" if skipped else "") + ".")
        if best is not None and best[2].load_lost_mw >= cascade.load_lost_mw and \
                best[2].load_lost_percent >= spec.loss_threshold_percent:
            return None, tried, (note + " None lowers the load lost.", proposal.evidence_id)
        return best, tried, (note, proposal.evidence_id)

    @staticmethod
    def _restore(pre_id: str, outages: list[str], spec: CascadeStudy, cascade, limits: dict):
        """The restoration tool's result (or None) and a note when it was not run."""
        if not spec.restore:
            return None, "Restoration not planned (cascade.restore is false)."
        if cascade.load_lost_mw <= 0:
            return None, None
        try:
            from gridsage.tools.cascade.restoration import plan_restoration
        except ImportError:
            return None, "Restoration planning is not available in this installation (gridsage.tools.cascade.restoration)."
        try:
            return plan_restoration(pre_id, outages, **_options(spec), black_start_units=spec.black_start_units,
                                    critical_loads=spec.critical_loads, max_pickup_percent=spec.max_pickup_percent,
                                    **limits), None
        except InputError as exc:
            raise ScenarioError(exc.message, field=f"scenario.cascade.{exc.field}", fix=exc.fix) from None
        except GridSageError as exc:
            return None, f"Restoration not planned: {exc.message}"

    @staticmethod
    def _restoration_steps(result) -> list[RestorationStep]:
        """The tool's steps as the Assessment's restoration plan (each citing the tool's evidence id)."""
        return [RestorationStep(order=s.step, description=s.detail or s.action.replace("_", " "),
                                restored_mw=s.load_restored_mw, cumulative_percent=s.cumulative_percent,
                                evidence_ids=[result.evidence_id]) for s in result.steps]

    @staticmethod
    def _ensemble(pre_id: str, spec: CascadeStudy):
        try:
            from gridsage.tools.cascade.risk import cascade_risk
        except ImportError:
            return None, "Ensemble not run: cascade risk is not available in this installation (gridsage.tools.cascade.risk)."
        try:
            return cascade_risk(pre_id, ensemble=spec.ensemble, loss_threshold_percent=spec.loss_threshold_percent,
                                seed=spec.seed, **_options(spec)), None
        except GridSageError as exc:
            return None, f"Ensemble not run: {exc.message}"

    @staticmethod
    def _ensemble_finding(result, spec: CascadeStudy) -> Finding:
        """The ensemble's distribution of load lost and its probability above the threshold, in one finding."""
        loss = result.loss
        worst = result.top_initiators[0] if result.top_initiators else None
        return Finding(
            severity="high" if result.probability_above_threshold > 0 else "info",
            value=result.probability_above_threshold, unit="-", evidence_ids=[result.evidence_id],
            citations=[cite(INSTABILITY_ENTRY, "Cascading after single and double outages is judged over the ensemble.")],
            title=f"Ensemble '{result.ensemble}' of {result.cascades} initiating outage set(s): load lost mean "
                  f"{loss.mean_percent:.2f} %, p90 {loss.p90_percent:.2f} %, max {loss.max_percent:.2f} %; "
                  f"P(load lost > {result.loss_threshold_percent:g} %) = {result.probability_above_threshold:.3f}"
                  + (f"; worst {'+'.join(worst.outages)} ({worst.load_lost_mw:.1f} MW)" if worst and worst.load_lost_mw > 0 else ""))
