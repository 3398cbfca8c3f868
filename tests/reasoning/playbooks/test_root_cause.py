"""The causal root cause in the playbooks: two public scenarios on CIGRE MV whose hot-spot alarms look alike but whose
planted causes differ (the scenario's own ``planted:`` block is the oracle), so the recommended action differs too;
and telemetry triage naming a grid event's upstream cause."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from gridsage.errors import ScenarioError
from gridsage.reasoning.playbooks import assess
from gridsage.reasoning.render import render
from gridsage.reasoning.scenario import load_scenario, parse_scenario
from gridsage.tools.workspace import Workspace

SENSOR, LOAD = "cigre_mv_hot_spot_alarm_sensor_fault", "cigre_mv_hot_spot_alarm_load_transfer"


def _planted(name: str) -> str:
    """The planted node of a shipped scenario, read from its YAML (the oracle)."""
    _, folder = load_scenario(name)
    spec = yaml.safe_load((folder / f"{name}.yaml").read_text())
    return max(spec["transformer"]["history"]["simulation"]["planted"], key=lambda c: abs(c["shift"]))["node"]


@pytest.fixture(scope="module")
def studies():
    out = {}
    for name in (SENSOR, LOAD):
        scenario, folder = load_scenario(name)
        out[name] = assess(scenario, folder, workspace=Workspace(), graph=False)
    return out


def test_both_alarms_are_explained_by_their_planted_cause(studies):
    for name, a in studies.items():
        assert a.causes, name
        assert a.causes[0].node == _planted(name), (name, [c.node for c in a.causes[:3]])
        assert a.causes[0].share_percent > 50 and "hour_of_day" not in {c.node for c in a.causes}
        # the shares are of the excess beyond the daily cycle: they add up to 100 % of it
        assert sum(abs(c.share_percent) for c in a.causes) == pytest.approx(100, abs=1)
        record = a.evidence[a.causes[0].evidence_ids[0]]
        assert record.tool == "attribute_anomaly" and record.result["root_cause"] == a.causes[0].node
        finding = next(f for f in a.findings if f.title.startswith("Root cause"))
        assert a.causes[0].node in finding.title and finding.evidence_ids == [record.evidence_id]


def test_the_causal_answer_changes_the_recommended_action(studies):
    sensor, load = studies[SENSOR], studies[LOAD]
    assert sensor.question == load.question
    # a sensor fault: check the sensor, switch nothing
    assert sensor.verdict == "secure" and not sensor.action_plan
    assert sensor.plan_outcome.startswith("Check trafo 0") and "no load transfer" in sensor.plan_outcome
    # the load moved onto the busbar: move load off, by a transfer validated by AC power flow
    assert load.verdict == "at_risk" and [s.action["type"] for s in load.action_plan] == ["load_transfer"]
    assert load.plan_outcome.startswith("Load-driven")
    effect = next(f for f in load.findings if f.title.startswith("Estimated effect"))
    record = load.evidence[effect.evidence_ids[0]]
    assert record.tool == "estimate_effect" and record.inputs["treatment"] == _planted(LOAD)
    # moving load off cools the hot spot; at K near 0.9 the C57.91 slope is a few K per MW on 25 MVA
    assert -8 < record.result["estimate"] < -1
    assert all(r["passed"] for r in record.result["refutations"]) and load.confidence in ("medium", "high")


def test_the_assessment_states_the_causal_assumptions_and_renders_the_why(studies):
    a = studies[LOAD]
    assert any("Causal graph from physics and topology" in x for x in a.assumptions)
    assert any("largest share names the cause" in x for x in a.assumptions)
    assert "hidden common causes" in a.confidence_reason
    text = render(a)
    assert "WHY (causal attribution" in text and a.causes[0].node in text
    assert "## Why (causal attribution)" in render(a, "markdown")


def test_a_history_file_outside_the_data_roots_is_a_scenario_error(tmp_path):
    text = ("name: x\ngrid: {source: cigre_mv}\ntransformer:\n  trafo: 0\n  history:\n    csv: /etc/passwd.csv\n")
    with pytest.raises(ScenarioError) as err:
        assess(parse_scenario(text), tmp_path, workspace=Workspace(), graph=False)
    assert err.value.field == "scenario.transformer.history.csv"


def test_a_planted_node_not_in_the_graph_is_a_scenario_error(tmp_path):
    text = ("name: x\ngrid: {source: cigre_mv}\ntransformer:\n  trafo: 0\n  history:\n    simulation:\n"
            "      planted: [{node: trafo_9_theta_h_c, shift: 5}]\n")
    with pytest.raises(ScenarioError) as err:
        assess(parse_scenario(text), tmp_path, workspace=Workspace(), graph=False)
    assert err.value.field.startswith("scenario.transformer.history.simulation")


def test_history_needs_exactly_one_source():
    with pytest.raises(ScenarioError):
        parse_scenario("name: x\ngrid: {source: cigre_mv}\ntransformer:\n  trafo: 0\n  history: {}\n")


def test_telemetry_triage_names_the_upstream_cause_of_a_grid_event(tmp_path, monkeypatch):
    """A feeder whose current and voltage are measured: a voltage sag while the current stays usual is not explained
    by the feeder's own current (its cause lies upstream); the planted sag is the oracle."""
    import numpy as np

    monkeypatch.setenv("GRIDSAGE_DATA_DIRS", str(tmp_path))
    monkeypatch.setenv("GRIDSAGE_OUTPUT_DIR", str(tmp_path / "out"))
    rng = np.random.default_rng(3)
    t = pd.date_range("2026-07-01", periods=2000, freq="10s", tz="UTC")
    current = 200 + 40 * np.sin(np.arange(2000) / 300) + rng.normal(0, 2, 2000)
    voltage = 1.0 - 0.0002 * (current - 200) + rng.normal(0, 0.002, 2000)
    voltage[1500:1506] -= 0.15  # a sag from the source side: the feeder's current does not explain it
    rows = [{"device_id": "feeder-F1", "sensor_type": s, "value": v, "unit": u, "timestamp": ts.isoformat(),
             "quality": "good"} for s, u, series in (("current", "A", current), ("voltage", "pu", voltage))
            for ts, v in zip(t, series)]
    pd.DataFrame(rows).to_csv(tmp_path / "readings.csv", index=False)
    scenario = parse_scenario("name: sag\ntelemetry:\n  readings: readings.csv\n  nominal_frequency_hz: 50\n")
    a = assess(scenario, tmp_path, workspace=Workspace())
    sag = [e for e in a.telemetry_events if e.sensor_type == "voltage" and e.origin == "grid"]
    assert sag, [(e.sensor_type, e.type, e.origin) for e in a.telemetry_events]
    cause = next(f for f in a.findings if f.title.startswith("Root cause of the feeder-F1 voltage"))
    assert "outside what the device measures" in cause.title and a.evidence[cause.evidence_ids[0]].tool == "attribute_anomaly"
    assert "look upstream of feeder-F1 voltage" in a.plan_outcome


def test_an_ordinary_latest_reading_names_no_root_cause(tmp_path):
    """Nothing planted: the latest reading is ordinary, so no cause is named and the advice is the grid's alone."""
    text = ("name: calm\ngrid: {source: cigre_mv}\nscaling: {load: 0.7}\ntransformer:\n  trafo: 0\n  history:\n"
            "    simulation: {seed: 3, days: 10}\n")
    a = assess(parse_scenario(text), tmp_path, workspace=Workspace(), graph=False)
    usual = next(f for f in a.findings if f.title.startswith("No root cause to name"))
    assert a.evidence[usual.evidence_ids[0]].result["status"] == "not_anomalous"
    assert not a.causes and a.plan_outcome.startswith("No action needed") and "Why:" not in a.situation


def test_a_device_history_too_short_for_the_causal_step_is_skipped(tmp_path, monkeypatch):
    """Ten aligned rows are below the tools' minimum: the event is left unexplained, the triage is not stopped."""
    from datetime import timedelta

    from gridsage.reasoning.assessment import ObservedEvent
    from gridsage.reasoning.causal import explain_telemetry_events

    monkeypatch.setenv("GRIDSAGE_OUTPUT_DIR", str(tmp_path))
    t = pd.date_range("2026-07-01", periods=10, freq="10s", tz="UTC")
    readings = pd.DataFrame([{"device_id": "F1", "sensor_type": s, "value": v, "timestamp": ts}
                             for s in ("current", "voltage") for ts, v in zip(t, range(10))])
    event = ObservedEvent(device_id="F1", sensor_type="voltage", type="step", origin="grid", start_utc=t[5],
                          end_utc=t[5] + timedelta(seconds=5), evidence_ids=["ev-0001"])
    assert explain_telemetry_events(readings, [event], tmp_path) == []
