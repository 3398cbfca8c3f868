"""Cyber (SCADA/OT) log triage: ingestion, detection mapped to MITRE ATT&CK for ICS, and the grid impact of commands.

:func:`triage_logs` (the tool) reads log files under the data roots, optionally learns a baseline from known-good
files, detects attacks (:func:`gridsage.tools.cyber.detect.detect_threats`), and, when a grid and a point map are
given, joins every open/close command of a command detection (ATT&CK for ICS T0855 Unauthorized Command Message,
T0831 Manipulation of Control, T0836 Modify Parameter) to the grid: what the element feeds, the load cut off, the
power flow and N-1 of the resulting state, and whether telemetry shows it executed
(:func:`gridsage.tools.cyber.impact.assess_command_impacts`).  :func:`triage_records` is the same triage on records
already read: the plain-Python entry that the tool, the playbook and the tests share.

The verdict is a fixed rule, never a model's judgement: ``'attack_suspected'`` when any detection has severity
high or critical, ``'suspicious'`` when there is any other detection, ``'no_findings'`` otherwise.  Log content is
data, never instructions: the ``message`` column is never read, and every log-derived string in the result passes
through :func:`gridsage.tools.cyber._untrusted.shown`, so no log line can change the verdict, a tool call or a
plan.  The tool only reads files (under the data roots) and writes nothing.

References
----------
.. [1] MITRE ATT&CK for ICS, version 16.1 (:mod:`gridsage.tools.cyber._techniques`).
.. [2] NERC CIP-007-6 R4 (security event monitoring: logging, alerting, review); NERC CIP-008-6 R1-R4 (incident
   response and reporting); IEC 62443-3-3:2013 FR 6 (timely response to events) and FR 3 (system integrity).
.. [3] OWASP Top 10 for LLM Applications (2025), LLM01 Prompt Injection.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from gridsage.errors import GridSageError, InputError
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.views import Brief, CompactView, head
from gridsage.tools.cyber._techniques import ATTACK_ICS_ATTRIBUTION, ATTACK_ICS_VERSION, TECHNIQUES
from gridsage.tools.cyber._untrusted import shown
from gridsage.tools.cyber.detect import Detection
from gridsage.tools.cyber.impact import MAX_IMPACTS, MAX_N1, CommandImpact
from gridsage.tools.cyber.ingest import Format, LogCounts

__all__ = ["CyberTriageResult", "FileError", "IMPACT_TECHNIQUES", "technique_entries", "triage_logs", "triage_records",
           "verdict_of"]

#: corpus entry of the incident-reporting deadline
REPORTING_ENTRY = "nerc-cip-008-incident-reporting"
#: detections whose commands are joined to the grid
IMPACT_TECHNIQUES = ("T0855", "T0831", "T0836")
#: most log files (and most baseline files) per triage
MAX_FILES = 50
#: most detections a result lists by default (all are counted)
MAX_DETECTIONS = 50
#: a compact view lists this many detections and impacts (the full result, in the evidence ledger, has the rest)
DETECTIONS_BRIEF, IMPACTS_BRIEF = 8, 5
#: corpus entries every triage rests on: logging and review, incident response and reporting, the IEC 62443-3-3 FRs
TRIAGE_CITATIONS = ("nerc-cip-007-security-event-monitoring", "nerc-cip-008-incident-reporting",
                    "iec-62443-3-3-foundational-requirements")
_SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
Verdict = Literal["attack_suspected", "suspicious", "no_findings"]


class FileError(BaseModel):
    """A log file that could not be read at all (the others are still triaged)."""

    file: str | None = Field(description="The path as given (shown()).")
    role: Literal["logs", "baseline"] = Field(description="Which argument named it.")
    error: str = Field(description="Error type, e.g. 'InputError'.")
    field: str | None = Field(default=None, description="Argument at fault.")
    message: str = Field(description="What went wrong (never the file's content).")


class CyberTriageResult(ToolResult):
    """A triage of OT/SCADA logs: the verdict, the detections mapped to ATT&CK for ICS, the grid impact of commands."""

    status: Literal["ok", "rows_rejected", "files_failed", "no_records"] = Field(
        description="'ok' every line read; 'rows_rejected' some lines rejected by ingestion (listed per file); "
                    "'files_failed' some file could not be read at all (file_errors); 'no_records' nothing to triage.")
    verdict: Verdict = Field(description="Fixed rule: 'attack_suspected' when a detection is high or critical, "
                                         "'suspicious' for any other detection, 'no_findings' otherwise.")
    files: list[LogCounts] = Field(default_factory=list, description="Per log file: read, accepted, rejected.")
    baseline_files: list[LogCounts] = Field(default_factory=list, description="Per known-good file.")
    file_errors: list[FileError] = Field(default_factory=list)
    records: int = Field(description="Log records triaged [-].")
    first_utc: datetime | None = None
    last_utc: datetime | None = None
    baseline: Literal["known_good", "self"] = Field(description="'known_good': learned from baseline files or "
                                                                "records; 'self': learned from the batch itself.")
    detections_total: int
    detections: list[Detection] = Field(description="The first max_detections, by severity (critical first), "
                                                    "then time.")
    detections_omitted: int
    by_technique: dict[str, int] = Field(description="Log records per ATT&CK for ICS technique id (detected).")
    by_severity: dict[str, int] = Field(description="Detections per severity.")
    impacts: list[CommandImpact] = Field(default_factory=list, description="Grid impact per commanded (element, "
                                                                           "action), in time order.")
    impacts_omitted: int = Field(default=0, description="(element, action) pairs beyond the bound, not assessed.")
    commands_unmapped: int = Field(default=0, description="Open/close commands of command detections on points "
                                                          "not in the point map.")
    not_checked: list[str] = Field(default_factory=list, description="What this triage did not check, and why.")
    citations: list[str] = Field(description="Standards-corpus entry ids the triage rests on.")
    reporting_deadline_h: float | None = Field(default=None, description=(
        "With an attack suspected: the initial-notification deadline once the entity determines a Reportable Cyber "
        "Security Incident [h] (NERC CIP-008-6 R4, corpus entry nerc-cip-008-incident-reporting)."))
    attack_version: str = ATTACK_ICS_VERSION
    attribution: str = ATTACK_ICS_ATTRIBUTION
    summary: str

    def one_line(self) -> str:
        """``'attack_suspected: 3 detections (T0846, T0855) [ev-0004]'``."""
        return f"{_headline(self)} [{self.evidence_id}]"

    def compact(self) -> "CyberTriageView":
        """The verdict, counts, the first detections and the largest impacts (see :class:`CyberTriageView`)."""
        largest = sorted(self.impacts, key=lambda i: (-i.load_cut_mw if i.changed else 1.0, i.time_utc))
        detections, d_left = head(self.detections, DETECTIONS_BRIEF, DetectionBrief.of)
        impacts, i_left = head(largest, IMPACTS_BRIEF, ImpactBrief.of)
        omitted = {"detections": d_left + self.detections_omitted, "impacts": i_left + self.impacts_omitted}
        return CyberTriageView(
            status=self.status, evidence_id=self.evidence_id, verdict=self.verdict, records=self.records,
            detections_total=self.detections_total, by_technique=self.by_technique, by_severity=self.by_severity,
            detections=detections, impacts=impacts, commands_unmapped=self.commands_unmapped or None,
            file_errors=len(self.file_errors) or None, not_checked=self.not_checked, summary=self.summary,
            citations=self.citations, reporting_deadline_h=self.reporting_deadline_h,
            attack_version=self.attack_version, attribution=self.attribution,
            omitted={k: v for k, v in omitted.items() if v})


def _reporting_deadline_h() -> float:
    """NERC CIP-008-6 R4's initial-notification deadline for a Reportable Cyber Security Incident [h], from the corpus
    (after any configured override)."""
    from gridsage.knowledge.limits import figure

    return figure(REPORTING_ENTRY, "initial_notification_reportable_incident_t_h_max")[0]


def _headline(r) -> str:
    techniques = ", ".join(sorted(r.by_technique))
    return (f"{r.verdict}: {r.detections_total} detection{'s' if r.detections_total != 1 else ''}"
            + (f" ({techniques})" if techniques else ""))


class DetectionBrief(Brief):
    """A detection in a compact triage view (the full :class:`~gridsage.tools.cyber.detect.Detection` is in the
    evidence)."""

    id: str
    technique_id: str
    severity: str
    rule: str
    source: str | None = None
    destinations: list[str] = Field(default_factory=list, description="The first 3 (shown()).")
    records: int
    first_utc: datetime

    @classmethod
    def of(cls, d) -> "DetectionBrief":
        return cls(id=d.id, technique_id=d.technique_id, severity=d.severity, rule=d.rule, source=d.source,
                   destinations=list(d.destinations[:3]), records=d.records, first_utc=d.first_utc)


class ImpactBrief(Brief):
    """A command's grid impact in a compact triage view."""

    detection_id: str | None = None
    element: str = Field(description="e.g. 'switch 3 (line 5)'.")
    action: str
    changed: bool
    load_cut_mw: float = Field(description="[MW]")
    buses_deenergised: int
    status: str
    violation_count: int | None = None
    n1_insecure: int | None = None
    telemetry: str

    @classmethod
    def of(cls, i: CommandImpact) -> "ImpactBrief":
        return cls(detection_id=i.detection_id, element=i.element_label, action=i.action, changed=i.changed,
                   load_cut_mw=round(i.load_cut_mw, 2), buses_deenergised=i.buses_deenergised, status=i.status,
                   violation_count=i.violation_count or None, n1_insecure=i.n1_insecure, telemetry=i.telemetry)


class CyberTriageView(CompactView):
    """A triage as models and MCP clients receive it: the verdict, counts over everything, the first
    :data:`DETECTIONS_BRIEF` detections (by severity, then time) and the :data:`IMPACTS_BRIEF` impacts that cut
    off the most load.  The full :class:`CyberTriageResult` is the evidence behind ``evidence_id``."""

    verdict: Verdict
    records: int
    detections_total: int
    by_technique: dict[str, int] = Field(default_factory=dict, description="Log records per technique id.")
    by_severity: dict[str, int] = Field(default_factory=dict)
    detections: list[DetectionBrief] = Field(default_factory=list)
    impacts: list[ImpactBrief] = Field(default_factory=list, description="Largest load cut off first.")
    commands_unmapped: int | None = None
    file_errors: int | None = Field(default=None, description="Files that could not be read.")
    not_checked: list[str] = Field(default_factory=list)
    reporting_deadline_h: float | None = Field(default=None, description="NERC CIP-008 R4 initial notification [h].")
    summary: str
    attack_version: str
    attribution: str

    def headline(self) -> str:
        return _headline(self)


def verdict_of(detections) -> Verdict:
    """The fixed verdict rule: 'attack_suspected' (any high or critical), 'suspicious' (any other), 'no_findings'."""
    severities = {d.severity for d in detections}
    if severities & {"high", "critical"}:
        return "attack_suspected"
    return "suspicious" if severities else "no_findings"


def technique_entries(technique_ids) -> list[str]:
    """Corpus entry ids (knowledge/corpus/attack-ics) of these ATT&CK for ICS techniques, where the corpus has one.

    Parameters
    ----------
    technique_ids : iterable of str
        e.g. ``['T0855', 'T0846']``.

    Returns
    -------
    list of str
        e.g. ``['attack-ics-t0855-unauthorized-command-message', ...]``, in the order given; techniques without
        an entry are left out.
    """
    from gridsage.knowledge.corpus import CORPUS_DIR

    folder = Path(CORPUS_DIR) / "attack-ics"
    found = []
    for tid in technique_ids:
        match = sorted(folder.glob(f"attack-ics-{tid.lower()}-*.md")) if folder.is_dir() else []
        if match:
            found.append(match[0].stem)
    return found


def _baseline(baseline):
    """(Baseline or None, how it was given)."""
    import pandas as pd

    from gridsage.tools.cyber.detect import Baseline, learn_baseline

    if baseline is None:
        return None
    if isinstance(baseline, Baseline):
        return baseline
    if isinstance(baseline, dict):
        return Baseline.from_dict(baseline)
    if isinstance(baseline, pd.DataFrame):
        return learn_baseline(baseline)
    raise InputError(f"the baseline is a {type(baseline).__name__}", field="baseline",
                     fix="give a Baseline (learn_baseline), its to_dict(), or known-good records (a DataFrame).")


def triage_records(records, *, baseline=None, net=None, point_map=None, telemetry=None,
                   max_detections: int = MAX_DETECTIONS, files: list[LogCounts] | None = None,
                   baseline_files: list[LogCounts] | None = None, file_errors: list[FileError] | None = None,
                   vm_min_pu: float | None = None, vm_max_pu: float | None = None,
                   max_loading_percent: float | None = None, max_impacts: int = MAX_IMPACTS,
                   max_n1: int = MAX_N1) -> CyberTriageResult:
    """Triage log records: detections mapped to ATT&CK for ICS, the verdict, and the grid impact of commands.

    Parameters
    ----------
    records : pandas.DataFrame
        Log records in the record contract (``LogBatch.records``; several batches concatenated), shape (n, 16).
    baseline : Baseline, dict or pandas.DataFrame, optional
        Known-good baseline (:func:`~gridsage.tools.cyber.detect.learn_baseline`), its ``to_dict()``, or known-good
        records to learn it from.  Default: learned from ``records`` themselves.
    net : pandapower.pandapowerNet, optional
        The grid the outstations operate (never changed: impacts run on copies).
    point_map : str, pathlib.Path or pandas.DataFrame, optional
        Which element each outstation point operates (:func:`~gridsage.tools.cyber.impact.read_point_map`).
    telemetry : pandas.DataFrame, IngestResult or str, optional
        Readings (:func:`~gridsage.tools.telemetry.ingest.read_telemetry`) with ``device_id`` naming elements
        (``'line:5'``, ``'switch:3'``): whether commands executed.
    max_detections : int, default 50
        Detections listed (all are counted and decide the verdict).
    files, baseline_files : list of LogCounts, optional
        Ingestion counts to report (the tool passes them).
    file_errors : list of FileError, optional
        Files that could not be read (the tool passes them).
    vm_min_pu, vm_max_pu : float, optional
        Voltage band for the impacts [pu]; default ANSI C84.1-2020 Range A (corpus).
    max_loading_percent : float, optional
        Thermal limit for the impacts [% of rating]; default NERC TPL-001-5.1 (corpus).
    max_impacts : int, default 20
        (element, action) pairs assessed; the rest are counted in ``impacts_omitted``.
    max_n1 : int, default 3
        Resulting states studied for N-1 (the most load cut off first).

    Returns
    -------
    CyberTriageResult

    Raises
    ------
    InputError
        If ``records`` lacks the record contract's columns, ``baseline`` is of another type, the point map is
        invalid (line and field named) or names elements not in ``net``.

    Notes
    -----
    Verdict: ``attack_suspected`` if :math:`\\exists d: severity(d) \\in \\{high, critical\\}`, else
    ``suspicious`` if any detection, else ``no_findings``.  Detections listed are sorted by (severity rank,
    ``first_utc``).  Impacts are assessed for the records of detections of :data:`IMPACT_TECHNIQUES` whose
    function and value make an open/close command (:func:`~gridsage.tools.cyber.impact.command_action`).

    References
    ----------
    .. [1] NERC CIP-007-6 R4; NERC CIP-008-6 R4; IEC 62443-3-3:2013 FR 6.
    """
    import numpy as np
    import pandas as pd

    from gridsage.tools.cyber.detect import detect_threats
    from gridsage.tools.cyber.impact import assess_command_impacts, mapped_commands, read_point_map

    if not isinstance(records, pd.DataFrame):
        raise InputError(f"the records are a {type(records).__name__}", field="records",
                         fix="give a pandas DataFrame in the record contract (read_logs(...).records).")
    records = records.reset_index(drop=True)
    known = _baseline(baseline)
    not_checked: list[str] = []
    files, baseline_files, file_errors = list(files or []), list(baseline_files or []), list(file_errors or [])

    if len(records):
        report = detect_threats(records, known)
        not_checked.extend(report.notes)
        detections = list(report.detections)
        record_technique = np.asarray(report.record_technique, dtype=object)
        record_detection = np.asarray(report.record_detection, dtype=object)
    else:
        detections, record_technique, record_detection = [], np.empty(0, object), np.empty(0, object)
    verdict = verdict_of(detections)
    ordered = sorted(detections, key=lambda d: (_SEVERITY_RANK.get(d.severity, 9), d.first_utc, d.id))
    listed = ordered[:max(0, max_detections)]
    by_technique = {k: int(v) for k, v in sorted(Counter(t for t in record_technique if t != "normal").items())}
    by_severity = {s: n for s in _SEVERITY_RANK if (n := sum(d.severity == s for d in detections))}

    # grid impact of the command detections
    command_ids = {d.id for d in detections if d.technique_id in IMPACT_TECHNIQUES}
    rows = np.flatnonzero(np.isin(record_detection, list(command_ids))) if command_ids else np.empty(0, int)
    impacts: list[CommandImpact] = []
    impacts_omitted = unmapped = 0
    if net is None or point_map is None:
        missing = " and ".join(n for n, v in (("grid", net), ("point map", point_map)) if v is None)
        not_checked.append(f"grid impact not assessed: no {missing} given")
    else:
        points = read_point_map(point_map, net)
        if len(rows):
            commands = records.iloc[rows]
            mapped, unmapped = mapped_commands(commands, points)
            pairs = mapped[["element", "action"]].drop_duplicates() if len(mapped) else []
            impacts_omitted = max(0, len(pairs) - max_impacts)
            impacts = assess_command_impacts(net, commands, points, telemetry,
                                             detection_ids=record_detection[rows].tolist(), vm_min_pu=vm_min_pu,
                                             vm_max_pu=vm_max_pu, max_loading_percent=max_loading_percent,
                                             max_impacts=max_impacts, max_n1=max_n1)
            if unmapped:
                not_checked.append(f"{unmapped} open/close command(s) of command detections address points not in "
                                   "the point map: their grid impact is not assessed")
            if impacts_omitted:
                not_checked.append(f"grid impact of {impacts_omitted} more commanded (element, action) pair(s) not "
                                   f"assessed (bound {max_impacts})")
            studied = sum(i.n1_status != "not_run" for i in impacts)
            candidates = sum(i.changed and i.converged for i in impacts)
            if candidates > studied:
                not_checked.append(f"N-1 run on {studied} of {candidates} resulting states (the most load cut off "
                                   f"first; bound max_n1={max_n1})")
    if telemetry is None:
        not_checked.append("execution not confirmed: no telemetry given")
    if known is None:
        not_checked.append("no known-good baseline given: the baseline was learned from the batch itself, so a "
                           "pattern that recurs through the whole batch counts as normal")
    rejected = sum(c.rejected for c in files)
    if rejected:
        not_checked.append(f"{rejected:,} log line(s) rejected by ingestion were not triaged (listed per file)")
    if file_errors:
        not_checked.append(f"{len(file_errors)} file(s) could not be read at all (file_errors)")

    techniques = list(by_technique)
    citations = list(dict.fromkeys([*TRIAGE_CITATIONS, *technique_entries(techniques),
                                    *(c for i in impacts for c in i.citations)]))
    if not len(records):
        status = "no_records"
    elif file_errors:
        status = "files_failed"
    elif rejected or any(c.rejected for c in baseline_files):
        status = "rows_rejected"
    else:
        status = "ok"
    first = records["time_utc"].min() if len(records) else None
    last = records["time_utc"].max() if len(records) else None
    result = CyberTriageResult(
        status=status, verdict=verdict, files=files, baseline_files=baseline_files, file_errors=file_errors,
        records=len(records), first_utc=None if first is None else pd.Timestamp(first).to_pydatetime(),
        last_utc=None if last is None else pd.Timestamp(last).to_pydatetime(),
        baseline="self" if known is None else "known_good", detections_total=len(detections), detections=listed,
        detections_omitted=len(detections) - len(listed), by_technique=by_technique, by_severity=by_severity,
        impacts=impacts, impacts_omitted=impacts_omitted, commands_unmapped=unmapped, not_checked=not_checked,
        citations=citations, reporting_deadline_h=_reporting_deadline_h() if verdict == "attack_suspected" else None,
        summary="")
    result.summary = _summary(result, ordered)
    return result


def _summary(r: CyberTriageResult, ordered: list) -> str:
    """One paragraph: verdict, techniques with record counts, the worst detection, the operational consequence."""
    head = {"attack_suspected": "Attack suspected", "suspicious": "Suspicious activity",
            "no_findings": "No findings"}[r.verdict]
    text = (f"{head}: {r.detections_total} detection{'s' if r.detections_total != 1 else ''} in {r.records:,} log "
            f"records")
    if r.first_utc and r.last_utc:
        text += f" ({r.first_utc:%Y-%m-%d %H:%M} to {r.last_utc:%Y-%m-%d %H:%M} UTC)"
    text += "."
    if r.by_technique:
        text += " Techniques (ATT&CK for ICS v" + r.attack_version + "): " + "; ".join(
            f"{t} {TECHNIQUES[t].name if t in TECHNIQUES else ''} ({n:,} records)".replace("  ", " ")
            for t, n in r.by_technique.items()) + "."
    if ordered:
        d = ordered[0]
        who = f" from {shown(d.source)}" if d.source else ""
        text += (f" Most severe: {d.id} {d.technique_id} {d.severity}, rule {shown(d.rule)}{who}, {d.records} "
                 "records.")
    if r.impacts:
        worst = max(r.impacts, key=lambda i: (i.blackout, i.load_cut_mw if i.changed else -1.0, i.violation_count))
        text += (f" Grid impact of {len(r.impacts)} commanded element(s); the largest: " + worst.consequence)
        if len(r.impacts) > 1:
            text += f" (the other {len(r.impacts) - 1} in impacts)"
    if r.not_checked:
        text += " Not checked: " + "; ".join(r.not_checked) + "."
    return text


# --------------------------------------------------------------------------------------------------------------- tool
def _read(paths: list[str], fmt: str, tz: str | None, role: str):
    """(records, counts, errors) of the files that could be read."""
    import pandas as pd

    from gridsage.tools.cyber.ingest import read_logs

    frames, counts, errors = [], [], []
    for path in paths:
        try:
            batch = read_logs(path, format=fmt, tz=tz)
        except GridSageError as exc:
            name, message = shown(path, limit=256), str(exc)
            if name != path:  # a path that does not read as an identifier is not repeated either
                message = message.replace(repr(str(path)[:120]), name or "-").replace(str(path), name or "-")
            errors.append(FileError(file=name, role=role, error=type(exc).__name__, field=exc.field,
                                    message=message))
            continue
        counts.append(batch.counts)
        frames.append(batch.records)
    records = pd.concat(frames, ignore_index=True) if frames else None
    return records, counts, errors


@tool
def triage_logs(
    paths: Annotated[list[str], Field(min_length=1, max_length=MAX_FILES, description=(
        "Log files under a data root (GRIDSAGE_DATA_DIRS): syslog, Zeek (TSV or JSON), Suricata EVE JSON, Windows "
        "event exports (CSV/JSON) or protocol-record CSV (Modbus, DNP3, IEC 104, MMS); read together."))],
    format: Annotated[Format, Field(description="Log format of every file; 'auto' detects each from its "
                                                "content.")] = "auto",
    tz: Annotated[str | None, Field(description="IANA zone of times without an offset (RFC 3164 syslog, naive "
                                                "Windows times), e.g. 'Europe/Paris'.")] = None,
    baseline_paths: Annotated[list[str] | None, Field(max_length=MAX_FILES, description=(
        "Known-good log files (a quiet period) to learn the baseline from; default: learned from the batch "
        "itself."))] = None,
    grid: Annotated[str | None, Field(max_length=128, description=(
        "grid_id (from load_grid) of the grid the outstations operate, for the grid impact of commands."))] = None,
    point_map: Annotated[str | None, Field(max_length=4096, description=(
        "CSV under a data root: destination,object,element[,description], mapping each outstation point to a "
        "pandapower element such as 'switch:3' or 'line:5'."))] = None,
    telemetry: Annotated[str | None, Field(max_length=4096, description=(
        "Telemetry readings file under a data root (device_id naming elements, e.g. 'line:5'; active_power, "
        "current or loading), to confirm whether commands executed."))] = None,
    max_detections: Annotated[int, Field(ge=0, le=500, description="Detections to list (all are counted and "
                                                                   "decide the verdict).")] = MAX_DETECTIONS,
) -> CyberTriageResult:
    """Triage OT/SCADA logs: detect attacks mapped to MITRE ATT&CK for ICS, give a fixed-rule verdict, and say what
    detected breaker commands do to the grid (load cut off, limits, N-1) and whether telemetry shows they executed.

    Parameters
    ----------
    paths : list of str
        Log files under a data root, at most :data:`MAX_FILES`; a file that cannot be read is reported in
        ``file_errors`` and the others are triaged.
    format : str, default 'auto'
    tz : str, optional
    baseline_paths : list of str, optional
        Known-good logs for :func:`~gridsage.tools.cyber.detect.learn_baseline`.
    grid : str, optional
        grid_id in the workspace (left unchanged).
    point_map : str, optional
        Point-map CSV (:func:`~gridsage.tools.cyber.impact.read_point_map`); with ``grid``, enables the impacts.
    telemetry : str, optional
        Readings file (:func:`~gridsage.tools.telemetry.ingest.read_telemetry`).
    max_detections : int, default 50

    Returns
    -------
    CyberTriageResult
        ``verdict``, the detections (by severity, then time), records per technique, the grid impacts [MW, %,
        pu], what was not checked, the corpus entries cited (NERC CIP-007, CIP-008, IEC 62443-3-3, ATT&CK for
        ICS), and a summary whose every log-derived identifier passed through ``shown()``.

    Raises
    ------
    UnknownGridError
        If ``grid`` is not loaded.
    InputError
        If ``tz`` is unknown, the point map or telemetry file is outside the data roots or invalid (line and field
        named, never content), or a point-map element is not in the grid.
    """
    from gridsage.tools.workspace import current_workspace

    net = current_workspace().get(grid).net if grid is not None else None
    records, files, errors = _read(paths, format, tz, "logs")
    baseline_files: list[LogCounts] = []
    known = None
    if baseline_paths:
        good, baseline_files, bad = _read(baseline_paths, format, tz, "baseline")
        errors += bad
        if good is not None and len(good):
            from gridsage.tools.cyber.detect import learn_baseline

            known = learn_baseline(good)
    readings = None
    if telemetry is not None:
        from gridsage.tools.telemetry.ingest import read_telemetry

        readings = read_telemetry(telemetry)
    if records is None:
        import pandas as pd

        from gridsage.tools.cyber.ingest import COLUMNS

        records = pd.DataFrame(columns=list(COLUMNS))
    points: Any = point_map
    return triage_records(records, baseline=known, net=net, point_map=points, telemetry=readings,
                          files=files, baseline_files=baseline_files, file_errors=errors,
                          max_detections=max_detections)
