"""The "telemetry triage" playbook on the shipped telemetry scenarios (simulated from real Victorian demand): limit
breaches cited, each anomaly attributed to the grid or the sensor, and the verdict that follows; plus the rules on
hand-made anomalies and the scenario format's errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from gridsage.errors import ScenarioError
from gridsage.knowledge.limits import cite
from gridsage.reasoning.playbooks import assess
from gridsage.reasoning.render import render
from gridsage.reasoning.scenario import load_scenario, parse_scenario
from gridsage.reasoning.playbooks.telemetry_triage import CORROBORATION_S, attribute
from gridsage.tools.telemetry.anomaly import Anomaly
from gridsage.tools.telemetry.monitor import MonitorFinding

T0 = datetime(2014, 1, 15, 4, 10, tzinfo=timezone.utc)


def run(name: str):
    scenario, folder = load_scenario(name)
    return assess(scenario, folder)


@pytest.fixture(scope="module")
def sag():
    return run("feeder_voltage_sag_oscillation")


def test_the_sag_is_a_cited_limit_breach_and_the_oscillation_a_grid_event(sag):
    a = sag
    assert a.verdict == "violations" and a.grid_id is None and a.telemetry_events
    assert (a.kind, a.playbook) == ("telemetry", "telemetry_triage")
    breach = a.findings[0]
    assert breach.severity == "high" and breach.title.startswith("feeder-F12 voltage below its band")
    assert 0.85 < breach.value < 0.87 and breach.limit == 0.917 and breach.unit == "pu"  # a 12 % sag from ~0.98 pu
    assert "an IEEE 1159 voltage sag" in breach.title
    assert {c.entry_id for c in breach.citations} == {"ansi-c84-1-range-b", "ieee-1159-voltage-sag-swell-interruption"}
    by = {(e.sensor_type, e.type, e.start_utc): e for e in a.telemetry_events}
    steps = [e for (s, t, _), e in by.items() if (s, t) == ("voltage", "step")]
    assert len(steps) == 2 and all(e.origin == "grid" and "voltage band breach" in e.reason for e in steps)
    monitor_id = next(k for k, r in a.evidence.items() if r.tool == "monitor_telemetry")
    assert all(monitor_id in e.evidence_ids for e in steps)  # confirmed by the limit check's evidence
    oscillations = [e for e in a.telemetry_events if e.type == "oscillation"]
    assert {e.sensor_type for e in oscillations} == {"voltage", "current"}
    assert all(e.origin == "grid" and "show(s) an anomaly at the same time" in e.reason for e in oscillations)
    spike, = [e for e in a.telemetry_events if e.type == "spike"]
    assert spike.origin == "unconfirmed" and spike.sensor_type == "current"  # one sensor, no limit broken
    assert not [e for e in a.telemetry_events if e.type == "multivariate"]  # folded into the per-sensor events
    assert a.cited_ids() <= set(a.evidence)
    # the simulated readings are written label-free for the study, then read like any readings file
    tools = [r.tool for r in a.evidence.values()]
    assert tools[:3] == ["ingest_telemetry", "monitor_telemetry", "score_telemetry"]
    assert set(tools[3:]) == {"attribute_anomaly"}  # each voltage grid event's upstream cause (F12's current)
    text = render(a)
    assert "Telemetry " in text and "verdict: violations" in text and "advice; GridSage operates nothing" in text
    assert "investigate the grid events" in a.plan_outcome and "check feeder-F12 current" in a.plan_outcome


def test_sensor_dropouts_are_telemetry_faults_and_leave_the_grid_secure():
    a = run("substation_sensor_dropout")
    assert a.verdict == "secure" and not [e for e in a.telemetry_events if e.origin == "grid"]
    dropouts = {e.sensor_type: e for e in a.telemetry_events if e.type == "dropout"}
    assert set(dropouts) == {"top_oil_temperature", "active_power"}
    assert all(e.origin == "sensor" and e.device_id == "substation-S3" for e in dropouts.values())
    drift, = [e for e in a.telemetry_events if e.type == "drift"]
    assert drift.device_id == "feeder-F7" and drift.origin == "unconfirmed"
    assert a.plan_outcome.startswith("Restore the telemetry of substation-S3 active_power, substation-S3 "
                                     "top_oil_temperature") and "no grid action is needed" in a.plan_outcome
    assert all(f.severity in ("low", "info") for f in a.findings)


def test_readings_from_a_file_with_a_bad_row_are_studied_and_the_row_named(tmp_path, sag):
    simulated = next(r for r in sag.evidence.values() if r.tool == "ingest_telemetry").inputs["path"]
    frame = pd.read_csv(simulated)
    frame.loc[5, "value"] = "NaN"
    frame.to_csv(tmp_path / "readings.csv", index=False)
    (tmp_path / "s.yaml").write_text("name: own-readings\ntelemetry:\n  readings: readings.csv\n"
                                     "  nominal_voltage_by_device: {feeder-F12: 11000}\n")
    a = assess(*load_scenario(str(tmp_path / "s.yaml")))
    assert a.verdict == "violations" and a.confidence == "medium" and "1 row(s) were rejected" in a.confidence_reason
    read = next(f for f in a.findings if f.title.startswith("Telemetry read"))
    assert f"{len(frame) - 1} of {len(frame)} rows kept" in read.title and "1 rejected" in read.title
    events = sorted((e.sensor_type, e.type, e.origin) for e in a.telemetry_events)
    expected = sorted([(e.sensor_type, e.type, e.origin) for e in sag.telemetry_events] + [(frame.sensor_type[5], "dropout", "sensor")])
    assert events == expected  # the rejected reading is a one-reading gap: a telemetry fault, nothing else changes


def anomaly(kind: str, device: str, sensors: list[str], start_s: float, end_s: float) -> Anomaly:
    return Anomaly(type=kind, device_id=device, sensors=sensors, start=T0 + timedelta(seconds=start_s),
                   end=T0 + timedelta(seconds=end_s), detected_at=T0 + timedelta(seconds=end_s), score=0.9,
                   confidence=1.0, evidence={})


def breach(device: str, sensor: str, start_s: float, end_s: float) -> MonitorFinding:
    return MonitorFinding(check="voltage_band", device_id=device, sensor_type=sensor, start_utc=T0 + timedelta(seconds=start_s),
                          end_utc=T0 + timedelta(seconds=end_s), n=3, direction="below", worst_value=0.88, unit="pu",
                          limit=0.917, limit_unit="pu", severity="high", citation=cite("ansi-c84-1-range-b"))


def test_attribution_rules_on_hand_made_anomalies():
    far = 10 * CORROBORATION_S
    found = attribute([
        anomaly("dropout", "S3", ["voltage"], 0, 5),                       # a data fault, even during a breach
        anomaly("step", "S3", ["voltage"], 6, 8),                          # on the breached stream
        anomaly("step", "F7", ["current"], far, far + 2),                  # with F9's spike within the window
        anomaly("spike", "F9", ["current"], far + 2 + CORROBORATION_S, far + 13),
        anomaly("drift", "F7", ["current"], 5 * far, 5 * far + 60),        # alone
        anomaly("multivariate", "S3", ["voltage", "current"], 7, 9),       # overlaps S3's step: folded
        anomaly("multivariate", "F1", ["voltage", "current"], 9 * far, 9 * far + 1),  # alone: kept, unconfirmed
    ], [breach("S3", "voltage", 0, 8), breach("S3", "current", 3 * far, 3 * far + 1)])
    got = [(x.anomaly.device_id, x.anomaly.type, x.origin, x.breach is not None) for x in found]
    assert got == [("S3", "dropout", "sensor", False), ("S3", "step", "grid", True), ("F7", "step", "grid", False),
                   ("F9", "spike", "grid", False), ("F7", "drift", "unconfirmed", False),
                   ("F1", "multivariate", "unconfirmed", False)]
    assert "F9 current show(s) an anomaly" in found[2].reason


@pytest.mark.parametrize("text, field, words", [
    ("name: x\n", "scenario", "grid: (a grid to study), telemetry: (readings to study), cyber:"),
    ("name: x\ntelemetry: {readings: a.csv, simulation: b.json}\n", "scenario.telemetry", "exactly one of"),
    ("name: x\ngrid: {source: case9}\ntelemetry: {readings: a.csv}\n", "scenario", "remove grid"),
    ("name: x\ntelemetry: {readings: a.csv, nominal_frequency_hz: 55}\n", "scenario.telemetry.nominal_frequency_hz", "50"),
], ids=["neither", "both-sources", "grid-too", "frequency"])
def test_a_bad_telemetry_scenario_names_its_field(text, field, words):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text)
    assert caught.value.field == field and words in caught.value.message


def test_a_missing_readings_file_is_a_scenario_error(tmp_path):
    (tmp_path / "s.yaml").write_text("name: gone\ntelemetry: {readings: nowhere.csv}\n")
    with pytest.raises(ScenarioError) as caught:
        assess(*load_scenario(str(tmp_path / "s.yaml")))
    assert caught.value.field == "scenario.telemetry.readings" and "nowhere.csv" in caught.value.message
