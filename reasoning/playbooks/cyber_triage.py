"""The "cyber triage" playbook: what the security and OT logs show, mapped to MITRE ATT&CK for ICS, and what the
commands they carry do to the grid.

Given a scenario with a ``cyber:`` block, :meth:`CyberTriage.assess`

1. reads the log files, or writes the scenario's simulated OT network's logs (without their labels) and reads
   those (:func:`~gridsage.reasoning.study.cyber_logs`);
2. triages them with one call of the ``triage_logs`` tool: every file ingested (bad rows listed, good rows kept),
   the baseline learnt (from ``cyber.baseline`` logs, else from the logs themselves), detections by rule and by
   baseline, each with its ATT&CK for ICS technique, tactic and data source, and, when the scenario has a grid and a
   point map, the grid impact of every commanded breaker (load cut off, AC power flow and N-1 on the resulting
   state, telemetry confirmation);
3. writes the assessment: one finding per detection and per command impact, the incident-response plan, what was
   not checked.

Verdict (fixed by the tool, never by a model): ``'attack_suspected'`` when a detection has high or critical severity,
``'at_risk'`` when only lower-severity detections remain, ``'secure'`` when there is none.  Log content is data: every
field of a log line reaches the assessment only through :func:`gridsage.tools.cyber._untrusted.shown`, and the free
text of a log line never does.

The response plan follows the incident-response practice of the cited entries: contain the source host at the
control-network boundary (IEC 62443-3-3 FR 5, restricted data flow), check the field state of every commanded
element before restoring it, restore settings and programs from the approved baseline (NERC CIP-010 R1), keep the logs
as evidence (NERC CIP-007 R4) and classify the incident for reporting (NERC CIP-008 R4).  These are proposals for
the operator and the security team: GridSage operates nothing.

References
----------
.. [1] MITRE ATT&CK for ICS, version 16.1. © The MITRE Corporation. This work is reproduced and distributed with the
   permission of The MITRE Corporation.
.. [2] NERC CIP-007-6 R4; CIP-008-6 R4; CIP-010-4 R1 (corpus entries ``nerc-cip-007-security-event-monitoring``,
   ``nerc-cip-008-incident-reporting``, ``nerc-cip-010-configuration-change-management``).
.. [3] IEC 62443-3-3:2013, foundational requirements FR 1-FR 7 (``iec-62443-3-3-foundational-requirements``).
.. [4] NIST SP 800-82r3 (2023), Guide to Operational Technology Security, section 6.2 (incident response).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from gridsage.errors import GridSageError, ScenarioError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import cite
from gridsage.reasoning.assessment import Assessment, Finding, Verdict
from gridsage.reasoning.playbooks.base import Playbook, Progress
from gridsage.reasoning.scenario import Scenario
from gridsage.reasoning.study import cyber_logs, load_scenario_grid, resolve_file
from gridsage.tools.workspace import Workspace, use_workspace

#: the tool's verdict -> the assessment's
VERDICT: dict[str, Verdict] = {"attack_suspected": "attack_suspected", "suspicious": "at_risk", "no_findings": "secure"}
#: detections and command impacts named one finding each (all are in the evidence)
MAX_FINDINGS = 20
#: corpus entries behind the response plan
LOGGING_ENTRY = "nerc-cip-007-security-event-monitoring"
REPORTING_ENTRY = "nerc-cip-008-incident-reporting"
CHANGE_ENTRY = "nerc-cip-010-configuration-change-management"
IEC_62443_ENTRY = "iec-62443-3-3-foundational-requirements"
#: techniques whose detections change settings or programs (restored from the approved baseline)
CHANGES = {"T0836", "T0843", "T0839", "T0821"}
#: techniques whose detections operate the process (field state checked before anything is restored)
COMMANDS = {"T0855", "T0831", "T0848"}
#: techniques whose detections blind the control centre to outstations
VIEW_LOSS = {"T0814", "T0815"}
_SEVERITY = ("critical", "high", "medium", "low", "info")


def _technique_entry(technique_id: str) -> str | None:
    """The corpus entry of an ATT&CK for ICS technique, when the corpus has one (``attack-ics-t0855-...``)."""
    from gridsage.tools.cyber.triage import technique_entries

    return next(iter(technique_entries([technique_id])), None)


def _cites(*entry_ids: str | None) -> list[Citation]:
    return [cite(e) for e in entry_ids if e]


def detection_finding(d, evidence_id: str) -> Finding:
    """One detection as a finding: technique, tactic, what was seen, when, and the rule that saw it.

    Parameters
    ----------
    d : gridsage.tools.cyber.detect.Detection
    evidence_id : str
        The ``triage_logs`` evidence the detection belongs to.

    Returns
    -------
    Finding
        The detection's severity; cites its ATT&CK for ICS corpus entry (where the corpus has one) and NERC CIP-007 R4.
    """
    title = (f"{d.technique_id} {d.technique} ({', '.join(d.tactics)}): {d.reason}; {d.first_utc:%Y-%m-%d %H:%M:%S} to "
             f"{d.last_utc:%H:%M:%S} UTC [rule {d.rule}, {d.basis}]")
    return Finding(severity=d.severity, title=title, evidence_ids=[evidence_id],
                   citations=_cites(_technique_entry(d.technique_id), LOGGING_ENTRY))


def impact_finding(impact, evidence_id: str) -> Finding:
    """One command's grid impact as a finding: the consequence sentence with its load cut off [MW].

    Parameters
    ----------
    impact : gridsage.tools.cyber.impact.CommandImpact
    evidence_id : str
        The ``triage_logs`` evidence the impact belongs to.

    Returns
    -------
    Finding
        ``value`` the load cut off [MW]; 'critical' when load is cut off or N-1 afterwards is insecure, else 'high';
        cites ATT&CK for ICS T0855 and IEC 62443-3-3.
    """
    severity = "critical" if impact.load_cut_mw > 0 or impact.n1_insecure else "high"
    return Finding(severity=severity, title=impact.consequence, value=impact.load_cut_mw, unit="MW",
                   evidence_ids=[evidence_id], citations=_cites(_technique_entry("T0855"), IEC_62443_ENTRY))


def response_plan(result) -> list[str]:
    """The incident-response steps the detections call for, in order (proposals; nothing is operated).

    Parameters
    ----------
    result : gridsage.tools.cyber.triage.CyberTriageResult

    Returns
    -------
    list of str
        Contain the sources (IEC 62443-3-3 FR 5), check commanded elements, confirm the state of silent outstations,
        restore changed settings from the approved baseline (NERC CIP-010 R1), preserve logs (NERC CIP-007 R4.3) and
        classify for reporting (NERC CIP-008 R4, with ``result.reporting_deadline_h`` [h]); empty with no detection.
    """
    techniques = {d.technique_id for d in result.detections}
    sources = sorted({d.source for d in result.detections if d.source})
    steps = []
    if sources:
        steps.append(f"contain {', '.join(sources[:5])}{' and others' if len(sources) > 5 else ''} at the control-"
                     f"network boundary (IEC 62443-3-3 FR 5, restricted data flow) while the security team investigates")
    elements = sorted({i.element_label for i in result.impacts if i.changed})
    if elements:
        steps.append(f"check the field state of {', '.join(elements[:8])} against the commands before restoring "
                     f"anything; re-close only after the N-1 check on the restored state")
    elif techniques & COMMANDS:
        steps.append("check the field state of every point the commands addressed (no point map was given, so "
                     "the grid elements are not known)")
    if techniques & VIEW_LOSS:
        steps.append("until the silent outstations report again, treat their last values as stale and confirm the "
                     "state of their substations by another path (field crew, neighbouring stations' measurements)")
    if techniques & CHANGES:
        steps.append("restore the changed settings and programs from the approved baseline (NERC CIP-010 R1) and "
                     "verify them before returning the devices to service")
    if techniques:
        deadline = (f": the initial notification is due within {result.reporting_deadline_h:g} h of determining a "
                    "Reportable Cyber Security Incident" if result.reporting_deadline_h is not None else "")
        steps.append("preserve the logs as evidence, at least 90 days (NERC CIP-007 R4.3), and classify the incident "
                     f"for reporting (NERC CIP-008 R4){deadline}")
    return steps


class CyberTriage(Playbook):
    """Security and OT logs triaged into ATT&CK for ICS detections, with the grid impact of the commands they carry.

    Handles scenarios with a ``cyber:`` block.
    """

    name = "cyber_triage"
    kind = "cyber"
    steps = ("read logs", "triage", "assessment")

    def handles(self, scenario: Scenario) -> bool:
        return scenario.cyber is not None

    def assess(self, scenario: Scenario, base_dir: Path | None = None, *, top: int = 10, workspace: Workspace | None = None,
               progress: Progress | None = None, graph: bool = True) -> Assessment:
        """Run the cyber triage playbook on a scenario with a ``cyber:`` block.

        Parameters
        ----------
        scenario : Scenario
            With ``cyber`` set; its ``grid`` (optional) is the grid the point map names elements of.
        base_dir : pathlib.Path, optional
            Folder relative log, baseline, point-map and telemetry paths are resolved against.
        workspace : Workspace, optional
            Default a fresh one.
        progress : callable, optional
            Called with a short message at each step (:attr:`steps`).
        top, graph
            Unused.

        Returns
        -------
        Assessment
            ``kind`` 'cyber'; findings hold the detections (severity first) and the command impacts; ``plan_outcome``
            the response plan; ``grid_id`` the grid the impacts were studied on, if any.

        Raises
        ------
        ScenarioError
            If a log, baseline, point-map or telemetry file cannot be read, or the grid cannot be loaded (the field
            is given as ``scenario.<path>``).
        """
        from gridsage.tools.cyber.triage import triage_logs

        say = progress or (lambda message: None)
        workspace = workspace or Workspace()
        spec = scenario.cyber
        with use_workspace(workspace):
            try:
                say("read logs")
                logs = cyber_logs(scenario, base_dir)
                baseline = [str(resolve_file(p, base_dir, f"cyber.baseline[{i}]")) for i, p in enumerate(spec.baseline or [])]
                point_map = str(resolve_file(spec.point_map, base_dir, "cyber.point_map")) if spec.point_map else None
                telemetry = str(resolve_file(spec.telemetry, base_dir, "cyber.telemetry")) if spec.telemetry else None
                grid_id = load_scenario_grid(scenario, base_dir).grid_id if scenario.grid else None
                say("triage")
                result = triage_logs(paths=[str(p) for p in logs], tz=spec.tz, baseline_paths=baseline or None,
                                     grid=grid_id if point_map else None, point_map=point_map,
                                     telemetry=telemetry, max_detections=MAX_FINDINGS)
            except GridSageError as exc:
                field = exc.field or "cyber"
                field = field if field.startswith(("cyber", "grid")) else f"cyber.{field}"
                raise ScenarioError(exc.message, field=f"scenario.{field}", fix=exc.fix) from None
        say("assessment")
        ev = result.evidence_id
        findings = [detection_finding(d, ev) for d in result.detections[:MAX_FINDINGS]]
        findings += [impact_finding(i, ev) for i in result.impacts[:MAX_FINDINGS]]
        rejected = sum(f.rejected for f in result.files)
        read = sum(f.read for f in result.files)
        findings.append(Finding(severity="info" if not rejected else "medium", evidence_ids=[ev],
                                title=f"Logs read: {read - rejected:,} of {read:,} records kept from {len(result.files)} "
                                      f"file(s); {rejected:,} rejected (listed by file, line and field in the evidence)",
                                citations=_cites(LOGGING_ENTRY)))
        findings.sort(key=lambda f: _SEVERITY.index(f.severity))
        verdict = VERDICT[result.verdict]
        steps = response_plan(result)
        plan = ("Proposed response: " + "; ".join(steps) + ".") if steps else \
            "No response needed: no detection. Keep logging and reviewing as NERC CIP-007 R4 asks."
        techniques = ", ".join(f"{k} ({v:,} records)" for k, v in sorted(result.by_technique.items()))
        situation = (f"{scenario.title or scenario.name}: {result.summary} [{ev}]" if result.summary else
                     f"{scenario.title or scenario.name}: {len(result.detections)} detection(s) [{ev}].")
        citations = {c.short(): c for f in findings for c in f.citations}
        for entry in (REPORTING_ENTRY, CHANGE_ENTRY, IEC_62443_ENTRY) if result.detections else ():
            c = cite(entry)
            citations.setdefault(c.short(), c)
        not_checked = list(result.not_checked)
        omitted = result.detections_omitted
        confidence = "high" if not (rejected or not_checked) else ("medium" if not rejected or read > 2 * rejected else "low")
        return Assessment(
            kind=self.kind, playbook=self.name, scenario=scenario.name, title=scenario.title, question=scenario.question,
            grid_id=grid_id,
            source=", ".join(p.name for p in logs)[:500], verdict=verdict, situation=situation,
            events=[f"ATT&CK for ICS techniques seen: {techniques}"] if techniques else [],
            findings=findings, contingency_risks=[],
            contingency_summary=("N-1 on the state each command leaves is in the command impacts." if result.impacts else
                                 "No command was mapped to a grid element, so no N-1 was run."),
            action_plan=[], plan_outcome=plan, final_grid_id=None,
            assumptions=[*(f"Not checked: {n}" for n in not_checked),
                         *([f"{omitted} more detection(s) are in the evidence only."] if omitted else []),
                         "Detections come from explicit rules and from baselines of the logs' own routine (per source-"
                         "destination pair and function code); routine the baseline never saw can be flagged, and an "
                         "attacker who imitates the routine exactly is not.",
                         "Log content is treated as data: no field of a log line is taken as an instruction.",
                         f"ATT&CK for ICS {result.attack_version}: {result.attribution}"],
            confidence=confidence,
            confidence_reason=("every record was read and every check ran" if confidence == "high" else
                               "; ".join(filter(None, [f"{rejected:,} record(s) rejected at ingestion" if rejected else "",
                                                       *not_checked]))),
            citations=list(citations.values()), evidence={r.evidence_id: r for r in workspace.ledger.since(None)},
            generated_utc=datetime.now(timezone.utc))
