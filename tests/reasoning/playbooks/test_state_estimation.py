"""The state-estimation playbook on its public scenarios: the study runs on the state the meters see, bad data is a
sensor fault named by its meter, and an unobservable set-up is refused with the meters to add.

Oracles: the scenario's own ``gross_errors`` (planted by construction) and the true state solved by plain pandapower
(``gridsage.evals.answer_keys.build``, which imports nothing from GridSage's tools)."""

from __future__ import annotations

import pandapower as pp
import pytest
import yaml

from gridsage.evals.answer_keys import build
from gridsage.reasoning.playbooks import assess, playbook_for
from gridsage.reasoning.render import render
from gridsage.reasoning.scenario import load_scenario, parse_scenario
from gridsage.errors import ScenarioError
from gridsage.tools.workspace import Workspace

METER, BLIND = "pglib14_scada_bad_voltage_meter", "pglib14_scada_unobservable"


def _study(name: str):
    scenario, folder = load_scenario(name)
    return assess(scenario, folder, workspace=Workspace(), graph=False), folder


def _estimate(a):
    return next(r for r in a.evidence.values() if r.tool == "estimate_state").result


@pytest.fixture(scope="module")
def meter():
    return _study(METER)


def test_the_planted_gross_error_is_a_sensor_fault_and_the_state_is_the_true_one(meter):
    a, folder = meter
    assert playbook_for(load_scenario(METER)[0]).name == "state_estimation"
    planted = yaml.safe_load((folder / f"{METER}.yaml").read_text())["estimation"]["simulation"]["gross_errors"]
    assert [(e.device_id, e.sensor_type, e.type, e.origin) for e in a.telemetry_events] == \
        [(g["device_id"], g["sensor_type"], "bad_data", "sensor") for g in planted]
    assert a.verdict == "secure" and not a.action_plan  # a wrong meter is checked, never switched for
    assert a.grid_id.endswith(":estimated")
    est = _estimate(a)
    assert est["status"] == "bad_data" and est["chi_square"]["passed"]
    _, truth, _ = build(folder / f"{METER}.yaml")  # the true state by plain pandapower
    pp.runpp(truth, numba=False, lightsim2grid=False)
    sigma_v = 0.005 / 3  # IEC 61869-3 class 0.5, the class limit taken as 3 sigma
    worst = max(abs(b["vm_pu"] - float(truth.res_bus.vm_pu[b["bus"]])) for b in est["buses"])
    assert worst < 4 * sigma_v
    suspect, = [s for s in est["suspects"] if s["removed"]]
    # the reading is the true voltage moved by the planted 20 sigma (plus the meter's own noise)
    assert suspect["measured"] - float(truth.res_bus.vm_pu[8]) == pytest.approx(20 * sigma_v, abs=4 * sigma_v)
    text = render(a, "text")
    assert "Bad data: bus8 voltage" in text and "no switching is needed" in text


def test_an_unobservable_set_up_is_refused_and_names_the_meters_to_add():
    a, _ = _study(BLIND)
    est = _estimate(a)
    assert est["status"] == "unobservable" and est["unobservable_buses"] and est["missing_measurements"]
    assert a.confidence == "low" and "unobservable" in a.confidence_reason
    assert not a.grid_id.endswith(":estimated")  # the study falls back to the model, and says so
    finding = next(f for f in a.findings if "unobservable" in f.title)
    first = est["missing_measurements"][0]
    assert f"{first['sensor_type']} at {first['element_type']}{first['element']}" in finding.title
    assert any("not estimated" in x for x in a.assumptions)


def test_an_estimation_block_needs_its_grid_and_both_files():
    with pytest.raises(ScenarioError, match="grid"):
        parse_scenario("name: x\nestimation: {simulation: {seed: 1}}")
    with pytest.raises(ScenarioError, match="go together"):
        parse_scenario("name: x\ngrid: {source: case14}\nestimation: {measurements: r.csv}")
    with pytest.raises(ScenarioError, match="exactly one"):
        parse_scenario("name: x\ngrid: {source: case14}\nestimation: {measurements: r.csv, mapping: m.csv, "
                       "simulation: {seed: 1}}")


def test_a_meter_file_outside_the_data_roots_names_the_scenario_field(tmp_path):
    scenario = parse_scenario("name: x\ngrid: {source: pglib_opf_case14_ieee}\n"
                              "estimation: {measurements: /etc/passwd, mapping: /etc/hosts}")
    with pytest.raises(ScenarioError) as info:
        assess(scenario, tmp_path, workspace=Workspace(), graph=False)
    assert info.value.field == "scenario.estimation.measurements" and "root" in info.value.fix.lower()
