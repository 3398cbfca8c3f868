"""Telemetry: validated ingestion, limit checks with citations, anomaly scoring, and a labelled-anomaly simulator."""

from gridsage.tools.telemetry.anomaly import Anomaly, AnomalyReport, score_telemetry
from gridsage.tools.telemetry.ingest import TelemetryIngestResult, ingest_telemetry
from gridsage.tools.telemetry.monitor import GridMonitorResult, MonitorFinding, monitor_telemetry
from gridsage.tools.telemetry.simulator import simulate_telemetry

__all__ = ["ingest_telemetry", "monitor_telemetry", "score_telemetry", "simulate_telemetry",
           "Anomaly", "AnomalyReport", "GridMonitorResult", "MonitorFinding", "TelemetryIngestResult"]
