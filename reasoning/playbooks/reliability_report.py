"""The reliability-report playbook: IEEE 1366 indices of a reporting year, Major Event Days set apart, judged
against the scenario's targets, with the causes and feeders behind them.

Given a scenario with a ``reliability:`` block the playbook

1. reads the outage record (or writes the simulated one: :func:`~gridsage.reasoning.study.outage_record`);
2. computes the indices with ``reliability_indices``: SAIFI, SAIDI, CAIDI, ASAI, MAIFI and CEMI_n, Major Event
   Days by the 2.5-beta method when five years of history precede the reporting year, and the indices with and
   without them;
3. judges the indices without Major Event Days against ``reliability.targets`` (IEEE 1366 reports MEDs apart, so a
   storm neither hides nor excuses the year's day-to-day performance);
4. advises where to act, from the causes and feeders with the most customer-minutes.

The verdict is ``violations`` when an index exceeds its target, else ``secure``.  The advice is advice: GridSage
operates nothing, and no power flow checks it (there is no grid model in a reliability study).

References
----------
.. [1] IEEE Std 1366-2022, "IEEE Guide for Electric Power Distribution Reliability Indices".
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from gridsage.errors import GridSageError, ScenarioError
from gridsage.knowledge.limits import cite
from gridsage.reasoning.assessment import Assessment, Finding
from gridsage.reasoning.playbooks.base import Playbook, Progress
from gridsage.reasoning.scenario import Scenario
from gridsage.reasoning.study import outage_record, resolve_file
from gridsage.tools.workspace import Workspace, use_workspace

#: Major Event Days listed as findings at most (all are in the evidence)
MAX_MED_FINDINGS = 10
_SEVERITY = ("critical", "high", "medium", "low", "info")
#: what to do about the cause with the most customer-minutes (distribution practice; matched on the cause's name)
CAUSE_ADVICE = {
    "vegetation": "tree trimming on a shorter cycle along the worst feeders",
    "tree": "tree trimming on a shorter cycle along the worst feeders",
    "equipment": "inspection and replacement of the failing equipment class",
    "animal": "animal guards on the exposed bushings and arresters",
    "lightning": "surge arresters and shield wire checks",
    "weather": "storm hardening and pre-staged crews ahead of forecast weather",
    "public": "pole relocation, barriers and dig-safe awareness",
    "unknown": "line patrols to find the causes recorded as unknown",
}


def _index_finding(name: str, value: float | None, target: float | None, unit: str, entry: str, ev: str,
                   scope: str) -> Finding | None:
    if value is None:
        return None
    over = target is not None and value > target
    text = f"{name} {value:.3f}" if unit == "-" else f"{name} {value:.1f} {unit}"
    versus = "" if target is None else (f", above its target of {target:g}" if over else f", within its target of {target:g}")
    return Finding(severity="high" if over else "info", value=round(value, 3), limit=target, unit=unit,
                   evidence_ids=[ev], title=f"{text} {scope}{versus}",
                   citations=[cite(entry, f"{name} as IEEE 1366 defines it, over sustained interruptions.")])


def _worst(items):
    """The breakdown item with the most customer-minutes outside Major Event Days (the year's own performance)."""
    return max(items, key=lambda b: b.saidi_min - b.saidi_med_min, default=None)


def _minutes(b) -> str:
    """``'114.9 min of SAIDI (20.1 on Major Event Days)'``: figures of the evidence, none derived."""
    return f"{b.saidi_min:.1f} min of SAIDI" + (f" ({b.saidi_med_min:.1f} on Major Event Days)" if b.saidi_med_min else "")


def _advice(result, over: list[str]) -> list[str]:
    """Advice from the indices over target and the worst cause and feeder outside Major Event Days."""
    steps = []
    cause, feeder = _worst(result.by_cause), _worst(result.by_feeder)
    if "SAIFI" in over and cause is not None:
        remedy = next((v for k, v in CAUSE_ADVICE.items() if k in cause.key.lower()), "a review of its root causes")
        steps.append(f"cut how often customers are interrupted: outside Major Event Days cause '{cause.key}' leads "
                     f"({_minutes(cause)}): {remedy}")
    if "CAIDI" in over or ("SAIDI" in over and "SAIFI" not in over):
        steps.append("shorten restoration: crew dispatch and switching times, and fault location, isolation and "
                     "service restoration (FLISR) on the longest-interrupted feeders")
    if over and feeder is not None:
        steps.append(f"start on feeder {feeder.key} ({_minutes(feeder)}, the most customer-minutes outside Major "
                     f"Event Days)")
    if result.major_event_days:
        steps.append("review the storm response of the Major Event Days separately (IEEE 1366 reports them apart)")
    return steps


class ReliabilityReport(Playbook):
    """IEEE 1366 reliability indices of an outage record, with and without Major Event Days, against targets.

    Handles scenarios with a ``reliability:`` block.
    """

    name = "reliability_report"
    kind = "reliability"
    steps = ("read outage record", "reliability indices", "assessment")

    def handles(self, scenario: Scenario) -> bool:
        return scenario.reliability is not None

    def assess(self, scenario: Scenario, base_dir: Path | None = None, *, top: int = 10, workspace: Workspace | None = None,
               progress: Progress | None = None, graph: bool = True) -> Assessment:
        """Report on the scenario's outage record (see :meth:`Playbook.assess`; ``top`` and ``graph`` are not used).

        Raises
        ------
        ScenarioError
            If the outage record or the daily SAIDI history cannot be read (field ``scenario.reliability.<name>``).
        """
        from gridsage.tools.reliability import reliability_indices

        say = progress or (lambda message: None)
        workspace = workspace or Workspace()
        spec = scenario.reliability
        with use_workspace(workspace):
            try:
                say(self.steps[0])
                path = outage_record(scenario, base_dir)
                daily = str(resolve_file(spec.daily_saidi, base_dir, "reliability.daily_saidi")) if spec.daily_saidi else None
                say(self.steps[1])
                result = reliability_indices(str(path), spec.customers_served, year=spec.year, daily_saidi=daily,
                                             tz=spec.tz)
            except GridSageError as exc:
                field = exc.field or "reliability"
                field = field if field.startswith("reliability") else \
                    f"reliability.{'daily_saidi' if 'daily' in field else 'outages'}"
                raise ScenarioError(exc.message, field=f"scenario.{field}", fix=exc.fix) from None
        say(self.steps[2])
        return self._assessment(scenario, path, result, workspace)

    def _assessment(self, scenario: Scenario, path: Path, result, workspace: Workspace) -> Assessment:
        spec, ev = scenario.reliability, result.evidence_id
        targets = spec.targets
        meds = result.med.identified and result.indices_excluding_meds is not None
        judged = result.indices_excluding_meds if meds else result.indices
        scope = "without Major Event Days" if meds else "(all days)"
        indices = (("SAIDI", judged.saidi_min, targets.saidi_min, "min", "ieee-1366-saidi"),
                   ("SAIFI", judged.saifi, targets.saifi, "-", "ieee-1366-saifi"),
                   ("CAIDI", judged.caidi_min, targets.caidi_min, "min", "ieee-1366-caidi"))
        over = [name for name, value, target, *_ in indices if None not in (value, target) and value > target]
        findings = [f for f in (_index_finding(*index, ev, scope) for index in indices) if f]
        t_med = result.med.threshold.t_med_min if result.med.threshold else None
        med_cite = cite("ieee-1366-major-event-day-2-5-beta", "A day whose daily SAIDI exceeds T_MED = exp(alpha + 2.5 "
                                                              "beta) of the five years before is a Major Event Day.")
        for m in result.major_event_days[:MAX_MED_FINDINGS]:
            findings.append(Finding(
                severity="medium", value=round(m.saidi_min, 2), limit=round(t_med, 2), unit="min", evidence_ids=[ev],
                citations=[med_cite], title=f"Major Event Day {m.date.isoformat()}: daily SAIDI {m.saidi_min:.2f} min "
                                            f"above T_MED {t_med:.2f} min; {m.customers_interrupted} customers "
                                            f"interrupted, mostly by '{m.main_cause}'"))
        if not result.med.identified:
            findings.append(Finding(severity="info", evidence_ids=[ev], citations=[med_cite],
                                    title=f"Major Event Days not identified: {result.med.reason}"))
        elif not result.major_event_days:
            findings.append(Finding(severity="info", evidence_ids=[ev], citations=[med_cite],
                                    title=f"No Major Event Day in {result.year}: no daily SAIDI above T_MED "
                                          f"{t_med:.2f} min"))
        if meds:
            a = result.indices
            findings.append(Finding(
                severity="info", evidence_ids=[ev], citations=[cite("ieee-1366-major-event-day-reporting")],
                title=f"With Major Event Days: SAIDI {a.saidi_min:.1f} min, SAIFI {a.saifi:.3f}" +
                      ("" if a.caidi_min is None else f", CAIDI {a.caidi_min:.1f} min")))
        a = result.indices
        findings.append(Finding(
            severity="info", evidence_ids=[ev],
            citations=[cite("ieee-1366-asai"), cite("ieee-1366-maifi-momentary-interruptions"), cite("ieee-1366-cemin-celid")],
            title=f"ASAI {a.asai:.6f}, MAIFI {a.maifi:.3f} ({a.momentary_interruptions} momentary interruptions), "
                  f"CEMI{result.cemi_n} {a.cemi_n:.4f} (all days)"))
        c = _worst(result.by_cause)
        if c is not None:
            findings.append(Finding(severity="info", evidence_ids=[ev],
                                    title=f"Most customer-minutes outside Major Event Days by cause: '{c.key}', "
                                          f"{_minutes(c)}, SAIFI {c.saifi:.3f} (all days)"))
        if result.rows_rejected:
            findings.append(Finding(severity="medium", evidence_ids=[ev],
                                    title=f"{result.rows_rejected} outage row(s) rejected (listed by row and field in "
                                          f"the evidence); the indices use the {result.rows_read - result.rows_rejected} "
                                          f"valid rows"))
        findings.sort(key=lambda f: _SEVERITY.index(f.severity))
        steps = _advice(result, over)
        plan = ("Proposed: " + "; ".join(steps) + ".") if steps else \
            "No action needed: every index without Major Event Days is within its target."
        confidence, reasons = "high", []
        if not result.med.identified:
            reasons.append("Major Event Days could not be identified (fewer than five years of history)")
        if result.rows_rejected:
            reasons.append(f"{result.rows_rejected} outage row(s) were rejected")
        if reasons:
            confidence = "medium"
        situation = (f"{scenario.title or scenario.name}: {result.rows_in_period} interruption(s) in {result.year} for "
                     f"{result.customers_served} customers served [{ev}]. {result.summary}")
        citations = {c.entry_id: c for f in findings for c in f.citations}
        return Assessment(
            kind=self.kind, playbook=self.name, scenario=scenario.name, title=scenario.title, question=scenario.question,
            grid_id=None, source=path.name, verdict="violations" if over else "secure", situation=situation,
            events=[], findings=findings, contingency_risks=[],
            contingency_summary="Not applicable: a reliability report studies an outage record, not a grid model.",
            action_plan=[], plan_outcome=plan, final_grid_id=None,
            assumptions=[*result.notes,
                         "An interruption belongs to the day it began (IEEE 1366), in the record's time zone.",
                         "Targets are judged without Major Event Days, which IEEE 1366 reports separately."],
            confidence=confidence,
            confidence_reason="; ".join(reasons) or "every row was read and the Major Event Days were identified",
            citations=list(citations.values()), evidence={r.evidence_id: r for r in workspace.ledger.since(None)},
            generated_utc=datetime.now(timezone.utc))
