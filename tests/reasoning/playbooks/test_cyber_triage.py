"""The "cyber triage" playbook on the shipped cyber scenarios (simulated OT networks with injected ATT&CK for ICS
chains): the verdict and techniques against the simulation's own chains, the grid impact of the breaker commands
against plain pandapower topology, the response plan with its standards, and the scenario format's errors."""

from __future__ import annotations

import pandapower as pp
import pandapower.networks as pn
import pandapower.topology as top
import pytest

from gridsage.errors import ScenarioError
from gridsage.reasoning.playbooks import assess, playbook_for
from gridsage.reasoning.render import render
from gridsage.reasoning.scenario import load_scenario, parse_scenario
from gridsage.reasoning.study import cyber_logs
from gridsage.tools.cyber.simulate import simulate_ot_logs


def run(name: str):
    scenario, folder = load_scenario(name)
    return scenario, assess(scenario, folder)


@pytest.fixture(scope="module")
def breakers():
    return run("scada_unauthorized_breaker_commands")


def _cut_mw(element: str) -> float:
    """Load cut off by opening ``element`` of mv_oberrhein as shipped: plain pandapower topology (the oracle)."""
    net = pn.mv_oberrhein()
    kind, index = element.split(":")
    if kind == "switch":
        net.switch.at[int(index), "closed"] = False
    else:
        net[kind].at[int(index), "in_service"] = False
    dark = top.unsupplied_buses(net)
    loads = net.load[net.load.bus.isin(dark) & net.load.in_service]
    return float((loads.p_mw * loads.scaling).sum())


def test_breaker_commands_are_an_attack_with_their_grid_impact(breakers):
    scenario, a = breakers
    assert (a.kind, a.playbook, a.verdict) == ("cyber", "cyber_triage", "attack_suspected")
    sim = simulate_ot_logs(**scenario.cyber.simulation.model_dump(exclude={"hostile_text"}))  # the oracle: the chains
    chain = sim.chains.set_index("technique_id")
    titles = [f.title for f in a.findings]
    command = next(f for f in a.findings if f.title.startswith("T0855 Unauthorized Command Message"))
    assert command.severity in ("high", "critical") and chain.at["T0855", "source"] in command.title
    assert f"{chain.at['T0855', 'start']:%H:%M}" in command.title  # when it happened
    assert any(t.startswith("T0846 Remote System Discovery") and chain.at["T0846", "source"] in t for t in titles)
    impacts = [f for f in a.findings if f.unit == "MW"]
    assert impacts, titles
    triage = next(r for r in a.evidence.values() if r.tool == "triage_logs").result
    for finding, impact in zip(impacts, triage["impacts"]):
        assert finding.value == pytest.approx(_cut_mw(impact["element"]), abs=5e-3), impact["element"]
    assert a.cited_ids() <= set(a.evidence)
    cited = {c.entry_id for c in a.citations}
    assert {"nerc-cip-008-incident-reporting", "nerc-cip-007-security-event-monitoring",
            "attack-ics-t0855-unauthorized-command-message", "iec-62443-3-3-foundational-requirements"} <= cited
    assert "contain 10.10.1.20" in a.plan_outcome and "CIP-008 R4" in a.plan_outcome
    text = render(a)
    assert "Logs " in text and "verdict: attack_suspected" in text
    assert "ignore all previous instructions" not in a.model_dump_json().lower()  # the hostile lines stay data


def test_a_routine_day_with_injection_text_is_secure():
    scenario, a = run("scada_routine_day_secure")
    assert a.verdict == "secure" and not [f for f in a.findings if f.severity != "info"]
    assert "No response needed" in a.plan_outcome
    dump = a.model_dump_json().lower()
    assert "ignore all previous instructions" not in dump and "rm -rf" not in dump


def test_the_simulated_logs_carry_no_answer_key(tmp_path):
    scenario = parse_scenario("name: c\ncyber: {simulation: {seed: 1, hours: 1, attacks: [T0855]}}\n")
    files = cyber_logs(scenario)
    assert {p.name for p in files} == {"modbus.csv", "dnp3.csv", "iec104.csv", "mms.csv", "windows_events.csv",
                                       "syslog.log", "conn.log"}
    assert not (files[0].parent / "labels.csv").exists()
    assert playbook_for(scenario).name == "cyber_triage"


@pytest.mark.parametrize(("text", "words"), [
    ("name: c\ncyber: {logs: [a.log], simulation: {}}\n", "exactly one of cyber.logs"),
    ("name: c\ncyber: {}\n", "exactly one of cyber.logs"),
    ("name: c\ncyber: {simulation: {}, point_map: p.csv}\n", "give the grid"),
    ("name: c\ncyber: {simulation: {attacks: [X0855]}}\n", "attacks"),
    ("name: c\ncyber: {simulation: {}}\ntelemetry: {readings: r.csv}\n", "remove telemetry"),
])
def test_scenario_format_errors_name_the_field(text, words):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text)
    assert words in str(info.value)


def test_a_missing_log_file_names_its_field(tmp_path):
    scenario = parse_scenario("name: c\ncyber: {logs: [nowhere.log]}\n")
    with pytest.raises(ScenarioError) as info:
        assess(scenario, tmp_path)
    assert info.value.field == "scenario.cyber.logs[0]" and info.value.fix


def test_a_simulation_out_of_range_names_its_field():
    scenario = parse_scenario("name: c\ncyber: {simulation: {hours: 0.25, attacks: [T0846, T0855, T0836, T0843]}}\n")
    with pytest.raises(ScenarioError) as info:
        assess(scenario)
    assert info.value.field == "scenario.cyber.simulation.hours"


def test_logs_of_a_file_scenario_are_read_from_the_data_roots(tmp_path):
    """A scenario naming its log files: a protocol-record CSV with an engineering workstation's direct operate."""
    rows = [f"2026-06-01T08:{m:02d}:00+00:00,10.10.1.10,10.10.2.12,dnp3,READ,g60v2,,50000,20000" for m in range(0, 60)]
    rows += [f"2026-06-01T09:{m:02d}:00+00:00,10.10.1.10,10.10.2.12,dnp3,READ,g60v2,,50000,20000" for m in range(0, 60)]
    rows += ["2026-06-01T09:30:30+00:00,10.10.1.20,10.10.2.12,dnp3,DIRECT_OPERATE,g12v1:3,TRIP,51000,20000"]
    folder = tmp_path
    (folder / "dnp3.csv").write_text("time,source,destination,protocol,function,object,value,source_port,destination_port\n"
                                     + "\n".join(rows) + "\n")
    (folder / "s.yaml").write_text("name: f\ncyber: {logs: [dnp3.csv]}\n")
    scenario, base = load_scenario(str(folder / "s.yaml"))
    a = assess(scenario, base)
    assert a.source == "dnp3.csv" and a.verdict == "attack_suspected"
    assert any(f.title.startswith("T0855") and "10.10.1.20" in f.title for f in a.findings)


def test_mv_oberrhein_oracle_is_sane():
    """The oracle above on a switch whose effect is known by hand: a feeder-head switch of mv_oberrhein cuts off
    the loads of the whole feeder behind it (more than one bus)."""
    net = pn.mv_oberrhein()
    pp.runpp(net)
    assert _cut_mw("switch:317") > 0 and _cut_mw("switch:317") < float((net.load.p_mw * net.load.scaling).sum())
