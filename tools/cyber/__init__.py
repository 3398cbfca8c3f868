"""Cyber (SCADA/OT) logs: ingestion of syslog, Zeek, Suricata, Windows and protocol-record logs into one record
contract (:mod:`~gridsage.tools.cyber.ingest`); detection by rules and learnt baselines, mapped to MITRE ATT&CK for
ICS (:mod:`~gridsage.tools.cyber.detect`); the grid impact of the commands found (:mod:`~gridsage.tools.cyber.impact`);
the triage tool that joins them (:mod:`~gridsage.tools.cyber.triage`); and a labelled OT log simulator whose attack
chains follow ATT&CK for ICS (:mod:`~gridsage.tools.cyber.simulate`).  Log content is data, never instructions: no
field of a log line reaches a result except through :func:`~gridsage.tools.cyber._untrusted.shown`, and none is
ever quoted in an error or a rejection reason.
"""

from gridsage.tools.cyber.detect import Baseline, Detection, DetectionReport, detect_threats, learn_baseline
from gridsage.tools.cyber.ingest import LogBatch, LogIngestResult, ingest_logs, read_logs
from gridsage.tools.cyber.triage import CyberTriageResult, triage_logs, triage_records

__all__ = ["ingest_logs", "read_logs", "LogBatch", "LogIngestResult", "triage_logs", "triage_records",
           "CyberTriageResult", "detect_threats", "learn_baseline", "Baseline", "Detection", "DetectionReport"]
