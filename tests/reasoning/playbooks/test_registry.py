"""The playbook registry: the built-in playbooks pick their scenarios, and a new one is one module plus one line."""

from __future__ import annotations

import pytest

from gridsage.reasoning import playbooks
from gridsage.reasoning.scenario import load_scenario

from example_playbook import BaseCaseCheck  # tests/reasoning/playbooks/example_playbook.py


@pytest.mark.parametrize("name, playbook, kind", [
    ("ieee118_summer_line_trip", "grid_study", "grid"),
    ("ieee118_heatwave_peak", "next_day_peak", "grid"),
    ("cigre_mv_trafo_overheating", "transformer_overheating", "grid"),
    ("feeder_voltage_sag_oscillation", "telemetry_triage", "telemetry"),
])
def test_each_shipped_kind_of_scenario_has_its_playbook(name, playbook, kind):
    chosen = playbooks.playbook_for(load_scenario(name)[0])
    assert (chosen.name, chosen.kind) == (playbook, kind)
    assert chosen.steps and len(set(chosen.steps)) == len(chosen.steps)


def test_a_new_playbook_is_one_module_and_one_registration():
    import pandapower as pp
    import pandapower.networks as pn

    scenario, folder = load_scenario("case9_unit_trip_secure")
    scenario = scenario.model_copy(update={"events": [], "name": "case14-as-loaded", "grid": scenario.grid.model_copy(
        update={"source": "case14"})})
    playbooks.register(BaseCaseCheck())
    try:
        with pytest.raises(ValueError, match="registered already"):
            playbooks.register(BaseCaseCheck())
        steps = []
        a = playbooks.assess(scenario, folder, progress=steps.append)
    finally:
        playbooks.unregister("base_case_check")
    assert playbooks.playbook_for(scenario).name == "grid_study"  # unregistered: the built-ins again
    assert (a.playbook, a.kind, steps) == ("base_case_check", "grid", ["load grid", "power flow"])
    # the oracle: plain pandapower on the same case, ANSI C84.1 Range A (0.95-1.05 pu) and 100 % loading
    net = pn.case14()
    pp.runpp(net)
    low = {f"bus {b}" for b in net.res_bus.index[(net.res_bus.vm_pu < 0.95) | (net.res_bus.vm_pu > 1.05)]}
    hot = {f"line {i}" for i in net.res_line.index[net.res_line.loading_percent > 100]}
    hot |= {f"trafo {i}" for i in net.res_trafo.index[net.res_trafo.loading_percent > 100]}
    assert low  # case14 as stored runs several generator buses above 1.05 pu
    found = {f"{f.elements[0].element} {f.elements[0].index}" for f in a.findings}
    assert found == low | hot
    assert a.verdict == ("violations" if low | hot else "secure")
    assert all(e in a.evidence for f in a.findings for e in f.evidence_ids)
