"""Telemetry simulator: the shipped scenarios round-trip through the scorer, the truth file matches the scenario,
readings are labelled and lost as asked, a scenario on the full vic_elec file works, and bad fields are named."""

from __future__ import annotations

import copy
import json
from importlib.resources import files
from pathlib import Path

import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.telemetry.anomaly import score_frame, score_telemetry
from gridsage.tools.telemetry.simulator import load_simulation, simulate, simulate_telemetry

SCENARIOS = sorted((Path(__file__).resolve().parents[3] / "scenarios" / "telemetry").glob("*.json"))
VIC = files("tsdata") / "fpp3" / "vic_elec.csv"  # Victoria, half-hourly demand [MW] and temperature [°C], UTC
TOLERANCE = pd.Timedelta(seconds=60)


def detected(found, event) -> bool:
    return any(a.type == event.type and a.device_id == event.device_id and event.sensor_type in a.sensors
               and pd.Timestamp(a.start) <= event.end + TOLERANCE and pd.Timestamp(a.end) >= event.start - TOLERANCE
               for a in found)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_injected_event_is_detected_with_its_type(path):
    frame, truth = simulate(path, seed=0)
    found = score_frame(frame.drop(columns="label"))
    assert len(truth) and all(detected(found, e) for e in truth.itertuples()), (truth, found)
    univariate = [a for a in found if a.type != "multivariate"]
    assert all(any(detected([a], e) for e in truth.itertuples()) or a.type == "step" for a in univariate)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_truth_matches_the_scenario_and_labels_the_readings(path):
    spec = json.loads(path.read_text())
    frame, truth = simulate(path, seed=0)
    assert list(frame.columns) == ["device_id", "sensor_type", "value", "unit", "timestamp", "quality", "label"]
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert len(truth) == len(spec["anomalies"])
    for row, a in zip(truth.itertuples(), spec["anomalies"]):
        start = pd.Timestamp(a["start_time"])
        assert (row.type, row.device_id, row.sensor_type, row.start) == (a["type"], a["device_id"], a["sensor_type"], start)
        assert row.end == start + pd.Timedelta(seconds=a["duration_seconds"])
        on = frame[(frame.device_id == a["device_id"]) & (frame.sensor_type == a["sensor_type"])
                   & (frame.timestamp >= row.start) & (frame.timestamp < row.end)]
        assert (on["label"] == a["type"]).all()
        expected = a["duration_seconds"] / spec["base"]["interval_seconds"]
        if a["type"] == "dropout":
            assert len(on) == pytest.approx(expected * (1 - a["drop_probability"]), abs=4 * expected ** 0.5)
        else:
            assert len(on) == expected
    assert (frame["label"] == "").sum() > 0.9 * len(frame)


def test_the_tool_writes_telemetry_the_scorer_reads(tmp_path):
    path = SCENARIOS[0]
    report = simulate_telemetry(str(path), str(tmp_path / "out"), seed=3)
    assert report.status == "ok" and report.evidence_id.startswith("ev-") and report.seed == 3
    truth = pd.read_csv(report.truth_path)
    assert report.events == truth["type"].value_counts().to_dict() and report.streams == 3
    scored = score_telemetry(report.telemetry_path)
    frame, _ = simulate(path, seed=3)
    assert scored.readings == report.readings == len(frame)
    assert sum(scored.counts.values()) == len(score_frame(frame.drop(columns="label")))


def test_a_scenario_on_the_full_vic_elec_series(tmp_path):
    scenario = {"name": "vic", "base": {"csv": str(VIC), "start": "2013-07-01T00:00:00Z", "end": "2013-07-01T02:00:00Z",
                                         "streams": [{"device_id": "zone", "sensor_type": "active_power", "column": "Demand",
                                                      "unit": "MW", "noise_pct": 0.3}]},
                "anomalies": [{"type": "drift", "device_id": "zone", "sensor_type": "active_power", "amplitude_pct": -5,
                               "start_time": "2013-07-01T01:00:00Z", "duration_seconds": 300}]}
    frame, truth = simulate(scenario, seed=1)
    assert len(frame) == 7200 and frame["value"].between(3000, 9000).all()
    assert detected(score_frame(frame), next(truth.itertuples()))


def bad(path: Path, tmp_path: Path, change) -> str:
    spec = copy.deepcopy(json.loads(path.read_text()))
    change(spec)
    spec["base"]["csv"] = str(path.parent / spec["base"]["csv"])
    (tmp_path / "bad.json").write_text(json.dumps(spec))
    with pytest.raises(InputError) as err:
        simulate(tmp_path / "bad.json")
    return err.value.field


@pytest.mark.parametrize("change, field", [
    (lambda s: s["anomalies"][0].update(type="surge"), "anomalies[0].type"),
    (lambda s: s["anomalies"][0].pop("amplitude_pct"), "anomalies[0].amplitude_pct"),
    (lambda s: s["anomalies"][1].update(frequency_hz=0.7), "anomalies[1].frequency_hz"),
    (lambda s: s["anomalies"][2].update(start_time="2020-01-01T00:00:00Z"), "anomalies[2].start_time"),
    (lambda s: s["anomalies"][2].update(start_time="2014-01-15T05:20:00"), "anomalies[2].start_time"),
    (lambda s: s["anomalies"][0].update(device_id="feeder-X"), "anomalies[0].device_id"),
    (lambda s: s["anomalies"][0].update(start_time="2014-01-15T04:10:00.3Z", duration_seconds=0.2), "anomalies[0].duration_seconds"),
    (lambda s: s["anomalies"][0].update(drop_probability=1.5), "anomalies[0].drop_probability"),
    (lambda s: s["base"]["streams"][1].update(column="Load"), "base.streams[1].column"),
], ids=["type", "amplitude", "nyquist", "outside", "naive-time", "device", "duration", "probability", "column"])
def test_a_bad_scenario_field_is_named(tmp_path, change, field):
    path = next(p for p in SCENARIOS if p.stem == "feeder_voltage_sag_oscillation")
    assert bad(path, tmp_path, change) == field


def test_a_missing_scenario_file_is_named():
    with pytest.raises(InputError) as err:
        load_simulation("/nonexistent/scenario.json")
    assert err.value.field == "scenario_path"
