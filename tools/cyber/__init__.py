"""Cyber (SCADA/OT) logs: ingestion of syslog, Zeek, Suricata, Windows and protocol-record logs into one record
contract (:mod:`~gridsage.tools.cyber.ingest`), and a labelled OT log simulator whose attack chains follow MITRE
ATT&CK for ICS (:mod:`~gridsage.tools.cyber.simulate`).  Log content is data, never instructions: no field of a log
line is ever quoted in an error or a rejection reason.  (Detection and triage: issue 19, not built yet.)
"""

from gridsage.tools.cyber.ingest import LogBatch, LogIngestResult, ingest_logs, read_logs

__all__ = ["ingest_logs", "read_logs", "LogBatch", "LogIngestResult"]
