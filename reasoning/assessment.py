"""The Assessment: what happened, what is at risk, what to do first, and why.

Every number in it comes from a tool result whose evidence id it cites; the
``evidence`` ledger included in the model resolves each id to the stored tool
input and result.  Every limit applied carries its standard clause.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from gridsage.knowledge.citation import Citation
from gridsage.tools.evidence import EvidenceRecord
from gridsage.tools.grid import ElementEffect, ElementRef
from pydantic import BaseModel, Field

Severity = Literal["critical", "high", "medium", "low", "info"]
#: the state of what was studied: a limit broken now ('violations'), none broken now but one projected to be or a
#: grid disturbance under way ('at_risk'), none broken ('secure'), no AC power-flow solution ('no_solution'), or, in a
#: cyber triage, logs that show an attack technique at high or critical severity ('attack_suspected'; a lower-severity
#: detection alone is 'at_risk', no detection 'secure')
Verdict = Literal["violations", "at_risk", "secure", "no_solution", "attack_suspected"]
#: what an assessment studies: a grid model ('grid': power flow, N-1, actions), measured readings ('telemetry'),
#: security/OT logs ('cyber') or an outage record ('reliability': IEEE 1366 indices)
AssessmentKind = Literal["grid", "telemetry", "cyber", "reliability"]


class Finding(BaseModel):
    """One fact an engineer must act on or know."""

    severity: Severity
    title: str = Field(description="One line, with the number and unit.")
    elements: list[ElementRef] = Field(default_factory=list)
    value: float | None = Field(default=None, description="Measured value [unit].")
    limit: float | None = Field(default=None, description="Limit applied [unit].")
    unit: str | None = None
    evidence_ids: list[str] = Field(min_length=1)
    citations: list[Citation] = Field(default_factory=list)
    context: str | None = Field(default=None, description="Where it is, from the topology graph: zone, neighbouring buses, load at risk.")


class ObservedEvent(BaseModel):
    """One anomaly in measured telemetry, attributed to the grid, to the sensor, or left unconfirmed."""

    device_id: str
    sensor_type: str = Field(description="e.g. 'voltage', 'current', 'top_oil_temperature'.")
    type: str = Field(description="Anomaly type: spike, step, drift, oscillation, dropout, flatline, stale or multivariate.")
    origin: Literal["grid", "sensor", "unconfirmed"] = Field(description=(
        "'grid': a limit breach or another sensor confirms it; 'sensor': readings missing or frozen (a telemetry "
        "fault, not a grid event); 'unconfirmed': one sensor only and no limit broken."))
    start_utc: datetime | None = None
    end_utc: datetime | None = None
    reason: str | None = Field(default=None, description="Why this origin, in one sentence.")
    evidence_ids: list[str] = Field(min_length=1)


class CauseShare(BaseModel):
    """One upstream cause of an observed deviation and its estimated share (causal attribution, DoWhy GCM)."""

    node: str = Field(description="Causal-graph node, e.g. 'ambient_c', 'busbar_1_load_p_mw', 'trafo_0_theta_h_c'.")
    role: str | None = Field(default=None, description="weather, load, generation, switching, flow, thermal or reading.")
    description: str | None = None
    contribution: float = Field(description="Part of the deviation explained by this cause [unit].")
    unit: str
    share_percent: float = Field(description=(
        "Share of the deviation beyond the normal daily cycle [%]; negative for a cause pushing the other way."))
    ci_low: float | None = Field(default=None, description="Bootstrap interval, lower end [unit].")
    ci_high: float | None = Field(default=None, description="Bootstrap interval, upper end [unit].")
    evidence_ids: list[str] = Field(min_length=1)


class ContingencyRisk(BaseModel):
    """One ranked N-1 outage of the post-event grid."""

    rank: int
    outage: ElementRef
    status: Literal["converged", "islanding", "diverged"]
    max_loading_percent: float | None = Field(description="[% of rating]")
    max_loading_element: ElementRef | None = None
    vm_min_pu: float | None = Field(description="[pu]")
    violation_count: int
    islanded_buses: list[int] = Field(default_factory=list)
    lost_load_mw: float = Field(default=0.0, description="[MW]")
    lost_generation_mw: float = Field(default=0.0, description="Generation at the islanded buses [MW].")
    evidence_ids: list[str] = Field(min_length=1)
    citations: list[Citation] = Field(default_factory=list)


class ActionStep(BaseModel):
    """One step of the action plan: a proposal, validated by AC power flow."""

    order: int
    action: dict[str, Any] = Field(description="The action as the apply_actions tool takes it.")
    description: str
    outcome: Literal["clears_all", "partial", "ineffective", "diverged"]
    effects: list[ElementEffect] = Field(description="Before/after of every element violated before this step.")
    new_violation_count: int
    remaining_violation_count: int
    rationale: str = Field(description="Why this step, in one sentence.")
    evidence_ids: list[str] = Field(min_length=1)
    citations: list[Citation] = Field(default_factory=list)
    context: str | None = Field(default=None, description="Where it acts, from the topology graph: buses and zones.")
    proposal: Literal[True] = Field(default=True, description="Always a proposal: GridSage operates nothing.")


class TimelineEvent(BaseModel):
    """One event of a simulated sequence (a cascade): what happened, when, and the load lost so far."""

    time_s: float = Field(description="Time after the initiating event [s].")
    event: str = Field(description="What happened, e.g. 'initiating', 'overload_trip', 'ufls', 'uvls', 'island_dark'.")
    element: str | None = Field(default=None, description="The element concerned, e.g. 'line 11' or 'bus 4'.")
    loading_percent: float | None = Field(default=None, description="Its loading when its protection operated [% of rating].")
    load_lost_mw: float = Field(default=0.0, description="Load lost by this event [MW].")
    cumulative_load_lost_mw: float = Field(default=0.0, description="Load lost so far [MW].")
    detail: str = Field(default="", description="The event in words.")
    evidence_ids: list[str] = Field(min_length=1)


class RestorationStep(BaseModel):
    """One step of a restoration plan (a proposal, validated by the tool that planned it)."""

    order: int
    description: str
    restored_mw: float = Field(description="Load picked up in this step [MW].")
    cumulative_percent: float | None = Field(default=None, description="Load served after the step [% of the pre-event load].")
    evidence_ids: list[str] = Field(min_length=1)
    proposal: Literal[True] = Field(default=True, description="Always a proposal: GridSage operates nothing.")


class Assessment(BaseModel):
    """A grid assessment, as a senior engineer would write it, with its evidence."""

    kind: AssessmentKind = Field(description="What was studied: 'grid' (a grid model) or 'telemetry' (measured readings).")
    playbook: str = Field(description="The playbook that produced it, e.g. 'grid_study', 'telemetry_triage'.")
    scenario: str
    title: str | None = None
    question: str | None = None
    grid_id: str | None = Field(description="The grid studied after the events (None for a telemetry study).")
    source: str = Field(description="The grid source, or the telemetry file studied.")
    planner: Literal["deterministic", "agent"] = "deterministic"
    verdict: Verdict = Field(description="State of what was studied (see :data:`Verdict`).")
    situation: str = Field(description="What happened, in two or three sentences with numbers.")
    events: list[str] = Field(description="Scaling and events applied.")
    findings: list[Finding]
    contingency_risks: list[ContingencyRisk]
    contingency_summary: str
    action_plan: list[ActionStep]
    plan_outcome: str = Field(description="What the grid looks like after the whole plan.")
    final_grid_id: str | None = Field(description="The study grid with every plan step applied (= grid_id when no step).")
    telemetry_events: list[ObservedEvent] = Field(default_factory=list, description="Telemetry anomalies, attributed.")
    timeline: list[TimelineEvent] = Field(default_factory=list, description="A simulated sequence (a cascade), in time order.")
    restoration_plan: list[RestorationStep] = Field(default_factory=list, description="Steps restoring the load lost, in order.")
    causes: list[CauseShare] = Field(default_factory=list, description=(
        "Root causes of the observed deviation with their shares (causal attribution), largest first."))
    assumptions: list[str]
    confidence: Literal["high", "medium", "low"]
    confidence_reason: str
    citations: list[Citation] = Field(description="Every standard clause applied, once each.")
    evidence: dict[str, EvidenceRecord] = Field(description="Evidence id -> stored tool input and result.")
    generated_utc: datetime

    def cited_ids(self) -> set[str]:
        """Every evidence id cited by a finding, risk or action step."""
        ids = {e for f in self.findings for e in f.evidence_ids}
        ids |= {e for r in self.contingency_risks for e in r.evidence_ids}
        ids |= {e for t in self.timeline for e in t.evidence_ids} | {e for r in self.restoration_plan for e in r.evidence_ids}
        return ids | {e for s in self.action_plan for e in s.evidence_ids}


def assessment_json_schema() -> str:
    """The Assessment as JSON Schema, pretty-printed."""
    return json.dumps(Assessment.model_json_schema(), indent=2) + "\n"
