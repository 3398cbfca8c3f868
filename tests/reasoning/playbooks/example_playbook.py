"""A minimal playbook, as a developer would add one: this module plus one ``register`` call.

It studies a grid as loaded (no events): one AC power flow, one finding per violated limit.
"""

from __future__ import annotations

from datetime import datetime, timezone

from gridsage.reasoning.assessment import Assessment, Finding
from gridsage.reasoning.playbooks import Playbook
from gridsage.reasoning.study import load_scenario_grid
from gridsage.tools.grid import ElementRef, run_power_flow
from gridsage.tools.workspace import Workspace, use_workspace


class BaseCaseCheck(Playbook):
    """The grid as loaded against its limits: one AC power flow, no events, no actions."""

    name = "base_case_check"
    kind = "grid"
    steps = ("load grid", "power flow")

    def handles(self, scenario):
        return scenario.grid is not None and not scenario.events

    def assess(self, scenario, base_dir=None, *, top=10, workspace=None, progress=None, graph=True):
        say, workspace = progress or (lambda step: None), workspace or Workspace()
        with use_workspace(workspace):
            say("load grid")
            grid_id = load_scenario_grid(scenario, base_dir).grid_id
            say("power flow")
            pf = run_power_flow(grid_id, **scenario.limits.model_dump())
        findings = [Finding(severity="high", title=f"{v.name}: {v.value:g} {v.unit} (limit {v.limit:g})", value=v.value,
                            limit=v.limit, unit=v.unit, elements=[ElementRef(element=v.element, index=v.index, name=v.name)],
                            evidence_ids=[pf.evidence_id], citations=[v.citation]) for v in pf.violations]
        return Assessment(
            kind=self.kind, playbook=self.name, scenario=scenario.name, grid_id=grid_id, source=scenario.grid.source,
            verdict="violations" if findings else "secure", situation=f"{len(findings)} violation(s) [{pf.evidence_id}].",
            events=[], findings=findings, contingency_risks=[], contingency_summary="N-1 not run.", action_plan=[],
            plan_outcome="No actions studied.", final_grid_id=grid_id, assumptions=[], confidence="medium",
            confidence_reason="one power flow, no contingencies", citations=[v.citation for v in pf.violations],
            evidence={r.evidence_id: r for r in workspace.ledger.since(None)}, generated_utc=datetime.now(timezone.utc))
