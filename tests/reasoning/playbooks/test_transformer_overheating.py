"""The "transformer overheating" playbook end to end on CIGRE MV: time to the hot-spot limit from the thermal
evidence, a tie-switch transfer validated by power flow (and re-checked here independently), cited findings."""

from __future__ import annotations

import re

import networkx as nx
import pandapower as pp
import pytest
from pandapower.topology import create_nxgraph

from gridsage.errors import ScenarioError, UnknownElementError
from gridsage.reasoning.playbooks import assess
from gridsage.reasoning.playbooks.transformer_overheating import load_cycle
from gridsage.reasoning.render import render
from gridsage.reasoning.scenario import TransformerStudy, load_scenario, parse_scenario
from gridsage.tools.workspace import Workspace, use_workspace

SCENARIO = "cigre_mv_trafo_overheating"


@pytest.fixture(scope="module")
def hot():
    scenario, folder = load_scenario(SCENARIO)
    workspace = Workspace()
    return workspace, assess(scenario, folder, workspace=workspace, graph=False)


def _thermal(a, evidence_id: str) -> dict:
    record = a.evidence[evidence_id]
    assert record.tool == "transformer_thermal"
    return record.result


def test_the_situation_gives_the_days_to_the_hot_spot_limit_from_the_thermal_evidence(hot):
    _, a = hot
    assert (a.kind, a.playbook) == ("grid", "transformer_overheating")
    limit = a.findings[0]
    projection = _thermal(a, limit.evidence_ids[-1])
    days = projection["time_to_limit_h"] / 24
    assert projection["limit_reached"] == "hot_spot_normal" and 5 < days < 21
    assert f"trafo 0 \"Trafo 0-1\" will pass its hot-spot limit (120 °C, normal loading) in {days:.1f} days" in a.situation
    assert projection["evidence_id"] in a.situation and limit.severity == "high"
    # today's cycle peaks at the power-flow loading K; the projection is that cycle grown 1 %/day
    flow = a.evidence[limit.evidence_ids[0]].result
    k = next(b["loading_percent"] for b in flow["branches"] if b["element"] == "trafo" and b["index"] == 0) / 100
    today = a.evidence[limit.evidence_ids[1]].inputs["load_pu"]
    assert max(today) == pytest.approx(k, rel=1e-9) and min(today) == pytest.approx(0.6 * k, rel=1e-3)
    grown = a.evidence[limit.evidence_ids[-1]].inputs["load_pu"]
    assert grown[48 * 10 + 5] == pytest.approx(today[5] * 1.01 ** (10 + 5 / 48), rel=1e-9)


def test_findings_and_steps_cite_evidence_and_the_c57_91_limits(hot):
    _, a = hot
    assert a.cited_ids() <= set(a.evidence) and all(f.evidence_ids for f in a.findings)
    assert "ieee-c57-91-loading-beyond-nameplate-limits" in {c.entry_id for c in a.findings[0].citations}
    ageing = next(f for f in a.findings if f.title.startswith("Insulation ageing"))
    assert {"ieee-c57-91-aging-acceleration-factor", "ieee-c57-91-equivalent-aging-loss-of-life"} <= {c.entry_id for c in ageing.citations}
    topology = next(f for f in a.findings if "alone feeds" in f.title)
    assert "tie S1 (bus 8) reaches trafo 1 \"Trafo 0-12\"'s feeder" in topology.title and "S2, S3 close loops" in topology.context
    assert "pandapower switch and line tables" in topology.context
    step, = a.action_plan
    assert {c.entry_id for c in step.citations} >= {"practice-feeder-load-transfer", "ieee-c57-91-loading-beyond-nameplate-limits"}
    assert [a.evidence[e].tool for e in step.evidence_ids] == ["apply_actions", "run_power_flow", "apply_actions",
                                                               "run_power_flow", "transformer_thermal", "transformer_thermal"]
    assert {"practice-feeder-load-transfer", "ieee-c57-91-top-oil-hot-spot-equations"} <= {c.entry_id for c in a.citations}


def test_the_transfer_is_radial_and_validated_by_an_independent_power_flow(hot):
    workspace, a = hot
    step = a.action_plan[0]
    assert step.action["type"] == "load_transfer" and step.action["close_switch"] == 4  # S1, the only tie
    before, after = workspace.copy_net(a.grid_id), workspace.copy_net(a.final_grid_id)
    assert not bool(before.switch.at[4, "closed"]) and bool(after.switch.at[4, "closed"])
    assert not bool(after.line.at[step.action["open_line"], "in_service"])
    for net in (before, after):
        pp.runpp(net, numba=False, lightsim2grid=False)
    assert after.res_trafo.loading_percent[0] < before.res_trafo.loading_percent[0] - 5
    assert (after.res_line.loading_percent <= 100).all() and (after.res_trafo.loading_percent <= 100).all()
    assert after.res_bus.vm_pu.min() >= 0.95
    assert nx.is_forest(nx.Graph(create_nxgraph(after, include_trafos=False)))  # still radial
    # the thermal projection at the new loading clears the horizon; the plan says so
    assert _thermal(a, step.evidence_ids[4])["time_to_limit_h"] is None and step.outcome == "clears_all"


def test_the_text_report_reads_like_an_engineer(hot):
    _, a = hot
    text = " ".join(render(a).split())
    assert re.search(r"trafo 0 \"Trafo 0-1\" will pass its hot-spot limit \(120 °C, normal loading\) in \d+\.\d days \[ev-\d+\] "
                     r"because of its \d+\.\d % loading", text)
    assert re.search(r"Transfer \d+\.\d MW to trafo 1 \"Trafo 0-12\"'s feeder by closing tie switch S1 and opening line \d+", text)
    assert "make-before-break" in text and "Load cycle: the default cosine day" in text


def test_with_the_graph_the_feeder_comes_from_graph_downstream(graph):
    scenario, folder = load_scenario(SCENARIO)
    a = assess(scenario, folder)
    topology = next(f for f in a.findings if "alone feeds" in f.title)
    assert {a.evidence[e].tool for e in topology.evidence_ids} == {"graph_downstream"}
    assert "trafo 0 \"Trafo 0-1\" alone feeds 11 bus(es) and" in topology.title and "from graph_downstream" in topology.context
    assert a.action_plan[0].action["close_switch"] == 4


def test_a_cool_transformer_needs_no_action():
    scenario = parse_scenario("name: cool\ngrid: {source: cigre_mv}\nscaling: {load: 0.5}\ntransformer: {trafo: 1}\n")
    a = assess(scenario, graph=False)
    assert "trafo 1 \"Trafo 0-12\" stays within its hot-spot and top-oil limits over the 30-day horizon" in a.situation
    assert not a.action_plan and a.plan_outcome.startswith("No action needed") and a.findings[-1].severity == "info"


def test_without_a_power_flow_solution_there_is_no_thermal_study():
    scenario = parse_scenario("name: x\ngrid: {source: cigre_mv}\nscaling: {load: 3.0}\ntransformer: {trafo: 0}\n")
    a = assess(scenario, graph=False)
    assert a.confidence == "low" and not a.action_plan and a.findings[0].severity == "critical"
    assert {r.tool for r in a.evidence.values()} == {"load_grid", "apply_events", "run_power_flow"}


def test_bad_transformer_blocks_name_the_field(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        assess(parse_scenario("name: x\ngrid: {source: cigre_mv}\ntransformer: {trafo: 7}\n"), graph=False)
    assert caught.value.field == "scenario.transformer.trafo"
    (tmp_path / "cycle.csv").write_text("time,mw\n0,5\n1,10\n2,7.5\n")
    spec = TransformerStudy(trafo=0, load_profile_csv="cycle.csv", ambient_c=[20, 25], interval_min=60)
    assert load_cycle(spec, tmp_path).tolist() == [0.5, 1.0, 0.75]
    scenario = parse_scenario("name: x\ngrid: {source: cigre_mv}\ntransformer: {trafo: 0, load_profile_csv: cycle.csv, "
                              "ambient_c: [20, 25], interval_min: 60}\n")
    with pytest.raises(ScenarioError) as caught:
        assess(scenario, tmp_path, graph=False)
    assert caught.value.field == "scenario.transformer.ambient_c"


def test_a_load_transfer_action_closes_the_tie_opens_the_line_and_names_a_missing_switch():
    from gridsage.tools.grid.grids import load_grid
    from gridsage.tools.grid.remedial import LoadTransfer, apply_actions

    with use_workspace(Workspace()) as workspace:
        grid = load_grid("cigre_mv").grid_id
        done = apply_actions(grid, [LoadTransfer(close_switch=4, open_line=1)])
        net = workspace.get(done.grid_id).net
        assert bool(net.switch.at[4, "closed"]) and not bool(net.line.at[1, "in_service"])
        assert done.changes == ['Close switch 4 "S1" (bus 8, line 14), then open line 1 "Line 2-3" (bus 2-bus 3)']
        assert not workspace.get(grid).net.switch.at[4, "closed"]  # the loaded grid never changes
        with pytest.raises(UnknownElementError) as caught:
            apply_actions(grid, [LoadTransfer(close_switch=99)])
    assert caught.value.field == "action.close_switch" and "switch 99" in caught.value.message
