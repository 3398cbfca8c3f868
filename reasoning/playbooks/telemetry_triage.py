"""The "telemetry triage" playbook: which measured anomalies are grid events, and which are sensor faults.

Given a scenario with a ``telemetry:`` block, :meth:`TelemetryTriage.assess`

1. reads the readings, or generates them from a telemetry simulator scenario with its seed
   (:func:`~gridsage.reasoning.study.telemetry_readings`), and ingests them (rejected rows are counted and named);
2. checks them against cited limits (``monitor_telemetry``: voltage band, frequency band, unbalance, power
   factor, loading);
3. scores anomalies per sensor and per device (``score_telemetry``);
4. attributes each anomaly the way an operator would before acting on it:

   - **sensor**: a dropout, flatline or stale stream.  Readings are missing or frozen, so the telemetry
     (sensor, RTU or link) has failed; nothing says the grid changed, and no grid action follows.
   - **grid**: the anomaly coincides (within :data:`CORROBORATION_S`) with a limit breach on the same stream, or
     with an anomaly on another sensor (of the same device or another one).  Two measurements, or a measurement
     and a limit, agree.
   - **unconfirmed**: one sensor only, and no limit broken.  The sensor is checked before the grid is acted on.

   A multivariate (cross-sensor) anomaly that overlaps a per-sensor anomaly of the same device adds nothing new
   and is folded into it;
   These rules are GridSage's operating judgement, not a standard's; every assessment states them as assumptions.
5. attributes each grid event to its upstream cause among its device's own measurements, linked by physics
   (:func:`gridsage.reasoning.causal.explain_telemetry_events`: DoWhy anomaly attribution); when they do not explain
   it, its cause lies upstream of the device, and the advice says to look there;
6. gives the verdict: ``violations`` when a limit is broken, ``at_risk`` when a grid event is under way with no
   limit broken, else ``secure``.  Sensor faults never change the verdict.

References
----------
.. [1] ANSI C84.1-2020, Table 1 (Ranges A and B); the frequency and unbalance limits of
   :mod:`gridsage.tools.telemetry.monitor`.
.. [2] IEEE Std 1159-2019, Clause 4, Table 2: a voltage below 0.9 pu for at most one minute is a sag, beyond
   that an undervoltage.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

from gridsage.errors import InputError, ScenarioError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import corpus_entry, cite
from gridsage.reasoning.assessment import Assessment, Finding, ObservedEvent, Verdict
from gridsage.reasoning.playbooks.base import Playbook, Progress
from gridsage.reasoning.scenario import Scenario
from gridsage.reasoning.study import telemetry_readings
from gridsage.tools.telemetry import (Anomaly, AnomalyReport, GridMonitorResult, MonitorFinding, ingest_telemetry,
                                      monitor_telemetry, score_telemetry)
from gridsage.tools.workspace import Workspace, use_workspace

#: anomalies (or an anomaly and a limit breach) this close in time are taken as one event [s]
CORROBORATION_S = 10.0
#: anomaly types that mean the readings themselves failed
DATA_FAULTS = ("dropout", "flatline", "stale")
#: corpus entry that names a short undervoltage a sag
SAG_ENTRY = "ieee-1159-voltage-sag-swell-interruption"
#: findings listed per kind (all are counted)
MAX_EVENT_FINDINGS = 20


_SEVERITY = ("critical", "high", "medium", "low", "info")


def _near(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Whether two intervals overlap, allowing :data:`CORROBORATION_S` between them."""
    slack = timedelta(seconds=CORROBORATION_S)
    return a_start <= b_end + slack and b_start <= a_end + slack


def _time(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%H:%M:%S")


class Attribution(NamedTuple):
    """One anomaly's origin, why, and the limit breach that confirms it (if one does)."""

    anomaly: Anomaly
    origin: str
    reason: str
    breach: MonitorFinding | None = None


def attribute(anomalies: list[Anomaly], breaches: list[MonitorFinding]) -> list[Attribution]:
    """Attribute each anomaly to the grid, to the sensor, or leave it unconfirmed (rules in the module docstring).

    Parameters
    ----------
    anomalies : list of Anomaly
        From ``score_telemetry``.
    breaches : list of MonitorFinding
        Limit breaches from ``monitor_telemetry``.

    Returns
    -------
    list of Attribution
        In time order; ``origin`` is 'grid', 'sensor' or 'unconfirmed'.  Multivariate anomalies overlapping a
        per-sensor anomaly of the same device are left out.
    """
    single = [a for a in anomalies if a.type != "multivariate"]
    kept = single + [m for m in anomalies if m.type == "multivariate" and not any(
        a.device_id == m.device_id and _near(a.start, a.end, m.start, m.end) for a in single)]
    out = []
    for a in sorted(kept, key=lambda x: x.start):
        sensors = ", ".join(a.sensors)
        if a.type in DATA_FAULTS:
            out.append(Attribution(a, "sensor", f"readings of {a.device_id} {sensors} are missing or frozen: a telemetry fault "
                                     "(sensor, RTU or link), not a change in the grid"))
            continue
        breach = next((b for b in breaches if b.device_id == a.device_id and b.sensor_type in a.sensors
                       and _near(a.start, a.end, b.start_utc, b.end_utc)), None)
        if breach is not None:
            out.append(Attribution(a, "grid", f"it coincides with the {breach.check.replace('_', ' ')} breach of the "
                                              f"same readings ({breach.citation.brief()})", breach))
            continue
        others = sorted({f"{b.device_id} {s}" for b in kept if b is not a and b.type not in DATA_FAULTS
                         and _near(a.start, a.end, b.start, b.end) for s in b.sensors} - {f"{a.device_id} {s}" for s in a.sensors})
        if others:
            out.append(Attribution(a, "grid", f"{', '.join(others)} show(s) an anomaly at the same time"))
        else:
            out.append(Attribution(a, "unconfirmed", "one sensor only and no limit broken: check the sensor before acting on the grid"))
    return out


def _sag_note(b: MonitorFinding) -> tuple[str, list[Citation]]:
    """IEEE 1159 name of a low-voltage run in pu: a sag when below 0.9 pu for at most one minute."""
    if b.check != "voltage_band" or b.direction != "below" or b.unit != "pu":
        return "", []
    figures = corpus_entry(SAG_ENTRY).figures
    low, high = figures["sag_vm_pu_range"]
    if not low <= b.worst_value < high:
        return "", []
    longest = figures["long_duration_t_s_min"]
    kind = "sag" if (b.end_utc - b.start_utc).total_seconds() <= longest else "undervoltage (long duration)"
    return f"; an IEEE 1159 voltage {kind}", [cite(SAG_ENTRY, "A voltage below 0.9 pu for at most a minute is a sag.")]


def _breach_findings(monitor: GridMonitorResult) -> list[Finding]:
    """One finding per stream, check and direction: its worst reading, its outermost band, its first and last run."""
    groups: dict[tuple, list[MonitorFinding]] = {}
    for b in monitor.findings:
        groups.setdefault((b.device_id, b.sensor_type, b.check, b.direction), []).append(b)
    found = []
    for (device, sensor, check, direction), runs in groups.items():
        worst = max(runs, key=lambda b: (-_SEVERITY.index(b.severity), abs(b.worst_value - b.limit)))
        sag, sag_cites = _sag_note(worst)
        first, last = min(b.start_utc for b in runs), max(b.end_utc for b in runs)
        found.append(Finding(
            severity=worst.severity, value=worst.worst_value, limit=worst.limit, unit=worst.unit,
            title=f"{device} {sensor} {direction} its band: {worst.worst_value:.3f} {worst.unit} at worst, beyond "
                  f"{worst.limit:g} {worst.limit_unit}, {_time(first)}-{_time(last)} UTC in "
                  f"{len(runs)} run(s) of {sum(b.n for b in runs)} reading(s){sag}",
            evidence_ids=[monitor.evidence_id], citations=[worst.citation] + sag_cites))
    return found


def _event_finding(event: ObservedEvent, a: Attribution) -> Finding:
    severity = {"grid": "high" if a.breach else "medium", "unconfirmed": "low", "sensor": "low"}
    what = {"grid": "grid event", "sensor": "sensor fault (not a grid event)", "unconfirmed": "unconfirmed"}[event.origin]
    x = a.anomaly
    detail = f" at {x.frequency_hz:.2f} Hz" if x.frequency_hz else ""
    return Finding(severity=severity[event.origin], evidence_ids=event.evidence_ids,
                   title=f"{event.device_id} {event.sensor_type}: {x.type}{detail}, {_time(x.start)}-{_time(x.end)} UTC "
                         f"(score {x.score:.2f}) - {what}: {event.reason}")


def _verdict(monitor: GridMonitorResult, events: list[ObservedEvent]) -> Verdict:
    if monitor.findings_total:
        return "violations"
    return "at_risk" if any(e.origin == "grid" for e in events) else "secure"


def _upstream_causes(scenario: Scenario, path: str, events: list[ObservedEvent], workspace: Workspace, say) -> list:
    """The upstream cause of each grid event among its device's measurements (:mod:`gridsage.reasoning.causal`)."""
    grid = [e for e in events if e.origin == "grid"]
    if not grid:
        return []
    from gridsage.reasoning.causal import explain_telemetry_events
    from gridsage.tools.paths import output_root, writable_dir
    from gridsage.tools.telemetry.ingest import read_telemetry

    say("upstream causes")
    with use_workspace(workspace):
        folder = writable_dir(output_root() / "causal" / f"{scenario.name}-telemetry", "telemetry")
        return explain_telemetry_events(read_telemetry(path).accepted, grid, folder)


def _plan_text(events: list[ObservedEvent], monitor: GridMonitorResult, causes=()) -> str:
    """What to do next, by origin (advice, not switching: no action here is validated by power flow)."""
    steps = []
    if monitor.findings_total:
        steps.append("treat the limit breaches first: find their cause (a fault, a regulator or capacitor bank "
                     "operation) and restore the band")
    outside = sorted({f"{c.device_id} {c.sensor_type}" for c in causes if c.node == c.sensor_type})
    if outside:
        steps.append(f"look upstream of {', '.join(outside)} (the source side): the device's own measurements do not "
                     "explain the event")
    grid = sorted({f"{e.device_id} {e.sensor_type} {e.type}" for e in events if e.origin == "grid"})
    if grid:
        steps.append(f"investigate the grid events ({'; '.join(grid)}) with protection and regulator logs")
    faults = sorted({f"{e.device_id} {e.sensor_type}" for e in events if e.origin == "sensor"})
    if faults:
        steps.append(f"restore the telemetry of {', '.join(faults)} (sensor, RTU or link); no grid action is needed "
                     "for these")
    unsure = sorted({f"{e.device_id} {e.sensor_type}" for e in events if e.origin == "unconfirmed"})
    if unsure:
        steps.append(f"check {', '.join(unsure)} against a second measurement before acting")
    text = "; ".join(steps)
    return f"{text[0].upper()}{text[1:]}." if steps else "No action needed: no limit broken and no anomaly found."


class TelemetryTriage(Playbook):
    """Measured readings checked against cited limits and scored for anomalies, each attributed to grid or sensor.

    Handles scenarios with a ``telemetry:`` block.
    """

    name = "telemetry_triage"
    kind = "telemetry"
    steps = ("read telemetry", "limit checks", "anomaly scoring", "attribute anomalies", "upstream causes")

    def handles(self, scenario: Scenario) -> bool:
        return scenario.telemetry is not None

    def assess(self, scenario: Scenario, base_dir: Path | None = None, *, top: int = 10, workspace: Workspace | None = None,
               progress: Progress | None = None, graph: bool = True) -> Assessment:
        """Run the telemetry triage playbook on a scenario with a ``telemetry:`` block.

        Parameters
        ----------
        scenario : Scenario
            With ``telemetry`` set.
        base_dir : pathlib.Path, optional
            Folder relative readings or simulation paths are resolved against.
        workspace : Workspace, optional
            Default a fresh one.
        progress : callable, optional
            Called with a short message at each step (:attr:`steps`).
        top, graph
            Unused: no grid model is studied.

        Returns
        -------
        Assessment
            ``telemetry_events`` holds every anomaly with its origin; findings hold the limit breaches (cited) and the
            events; ``grid_id`` is None.

        Raises
        ------
        ScenarioError
            If the readings or the simulation cannot be read (the field is ``scenario.telemetry.<name>``).
        """
        say = progress or (lambda message: None)
        workspace = workspace or Workspace()
        spec = scenario.telemetry
        with use_workspace(workspace):
            try:
                say("read telemetry")
                path = str(telemetry_readings(scenario, base_dir))
                ingested = ingest_telemetry(path, max_rejected=20)
                say("limit checks")
                monitor = monitor_telemetry(path=path, nominal_frequency_hz=spec.nominal_frequency_hz,
                                            nominal_voltage_v=spec.nominal_voltage_v,
                                            nominal_voltage_by_device=spec.nominal_voltage_by_device or None,
                                            vm_min_pu=scenario.limits.vm_min_pu, vm_max_pu=scenario.limits.vm_max_pu,
                                            max_loading_percent=scenario.limits.max_loading_percent,
                                            min_power_factor=spec.min_power_factor,
                                            max_current_unbalance_percent=spec.max_current_unbalance_percent,
                                            max_findings=10_000)
                say("anomaly scoring")
                scored: AnomalyReport = score_telemetry(path, max_anomalies=500)
            except InputError as exc:
                field = exc.field if (exc.field or "").startswith("telemetry.") else \
                    f"telemetry.{'simulation' if spec.simulation else 'readings'}"
                raise ScenarioError(exc.message, field=f"scenario.{field}", fix=exc.fix) from None
        say("attribute anomalies")
        attributed = attribute(scored.anomalies, monitor.findings)
        events = [ObservedEvent(device_id=x.anomaly.device_id, sensor_type=", ".join(x.anomaly.sensors), type=x.anomaly.type,
                                origin=x.origin, start_utc=x.anomaly.start, end_utc=x.anomaly.end, reason=x.reason,
                                evidence_ids=[scored.evidence_id] + ([monitor.evidence_id] if x.breach else []))
                  for x in attributed]
        causes = _upstream_causes(scenario, path, events, workspace, say)
        findings = _breach_findings(monitor)
        findings += [_event_finding(e, x) for e, x in zip(events, attributed)][:MAX_EVENT_FINDINGS]
        findings += [Finding(severity="info", evidence_ids=[c.evidence_id],
                             title=f"Root cause of the {c.device_id} {c.sensor_type} grid event: {c.text}") for c in causes]
        c = ingested.counts
        findings.append(Finding(severity="info" if not c.rejected else "medium", evidence_ids=[ingested.evidence_id],
                                title=f"Telemetry read: {c.accepted} of {c.rows_read} rows kept in {c.streams} stream(s); "
                                      f"{c.rejected} rejected" + (f" ({ingested.summary})" if c.rejected else "")))
        findings.sort(key=lambda f: _SEVERITY.index(f.severity))
        verdict = _verdict(monitor, events)
        by_origin = {o: sum(e.origin == o for e in events) for o in ("grid", "sensor", "unconfirmed")}
        situation = (f"{scenario.title or scenario.name}: {c.accepted} readings from {c.streams} stream(s), "
                     f"{scored.start:%Y-%m-%d %H:%M} to {scored.end:%H:%M} UTC [{ingested.evidence_id}]. "
                     f"{monitor.findings_total} limit breach run(s) [{monitor.evidence_id}]; {len(events)} anomaly event(s) "
                     f"[{scored.evidence_id}]: {by_origin['grid']} grid event(s), {by_origin['sensor']} sensor fault(s), "
                     f"{by_origin['unconfirmed']} unconfirmed.") if scored.start else \
            f"{scenario.title or scenario.name}: no readings were kept [{ingested.evidence_id}]."
        citations = {x.short(): x for f in findings for x in f.citations}
        return Assessment(
            kind=self.kind, playbook=self.name,
            scenario=scenario.name, title=scenario.title, question=scenario.question, grid_id=None, source=path,
            verdict=verdict, situation=situation, events=[], findings=findings, contingency_risks=[],
            contingency_summary="N-1 is not part of the telemetry triage (it studies measurements, not a grid model).",
            action_plan=[], plan_outcome=_plan_text(events, monitor, causes), final_grid_id=None, telemetry_events=events,
            assumptions=[f"Anomalies within {CORROBORATION_S:g} s of a limit breach or of another sensor's anomaly are "
                         "one event, confirmed as a grid event; a dropout, flatline or stale stream is a telemetry fault.",
                         "A single sensor's anomaly with no limit broken is left unconfirmed: the sensor may be at fault.",
                         *(["A grid event's upstream cause is attributed (DoWhy GCM) over its device's own measurements, "
                            "linked by physics (ambient -> power -> current -> voltage drop and heating); a share of "
                            "its own means a cause outside what the device measures. No hidden common cause is assumed."]
                           if causes else []),
                         *monitor.notices,
                         "Advice only: no switching is proposed, since measured events are not a grid model to validate on."],
            confidence="high" if not c.rejected else "medium",
            confidence_reason="every reading was accepted and every check ran" if not c.rejected else
            f"{c.rejected} row(s) were rejected at ingestion",
            citations=list(citations.values()), evidence={r.evidence_id: r for r in workspace.ledger.since(None)},
            generated_utc=datetime.now(timezone.utc))
