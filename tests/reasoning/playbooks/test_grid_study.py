"""The deterministic planner on the IEEE-118 stressed-summer scenario, end to end, and its renderers."""

from __future__ import annotations

import json
import re

import jsonschema
import pandapower as pp
import pytest

from gridsage.reasoning.assessment import Assessment
from gridsage.reasoning.playbooks import assess
from gridsage.reasoning.render import render
from gridsage.reasoning.scenario import load_scenario, parse_scenario
from gridsage.errors import ScenarioError
from gridsage.graph_store.store import use_store
from gridsage.tools.workspace import Workspace


@pytest.fixture(scope="module")
def run(graph_store):
    scenario, folder = load_scenario("ieee118_summer_line_trip")
    workspace = Workspace()
    with use_store(graph_store):
        return scenario, workspace, assess(scenario, folder, workspace=workspace)


def test_top_findings_carry_graph_context_with_evidence(run):
    _, workspace, a = run
    worst = a.findings[0]
    assert worst.context.startswith("zone ") and "MW of load within 1 branch" in worst.context
    tools = [a.evidence[e].tool for e in worst.evidence_ids]
    assert tools == ["run_power_flow", "graph_outage_impact", "graph_neighbourhood"]
    near = a.evidence[worst.evidence_ids[2]].result
    net = workspace.get(a.grid_id).net
    assert near["bus"] == int(net.line.from_bus[29]) and near["zone"] == str(int(net.bus.zone[near["bus"]]))
    first = a.action_plan[0]
    assert re.match(r"(lower|raise|new output|re-dispatched|set-point|shed) at bus \d+", first.context)
    assert "zone" in first.context
    assert a.evidence[first.evidence_ids[-1]].tool == "graph_neighbourhood"


def test_findings_match_an_independent_power_flow(run):
    scenario, workspace, a = run
    net = workspace.copy_net(a.grid_id)
    pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)
    overloaded = {f"line {i}" for i in net.res_line.index[net.res_line.loading_percent > 100]}
    found = {f.elements[0].name.split(" (")[0] for f in a.findings if f.elements and f.unit == "%"}
    assert found == overloaded and set(scenario.expect.overloaded) <= found
    worst = a.findings[0]
    assert worst.severity == "critical" and worst.value == pytest.approx(net.res_line.loading_percent.max(), abs=0.01)
    assert len(a.findings) >= scenario.expect.min_findings


def test_every_claim_points_to_resolvable_evidence_and_limits_cite_clauses(run):
    _, _, a = run
    assert a.cited_ids() <= set(a.evidence)
    for f in a.findings:
        if f.limit is not None:
            assert f.citations and f.citations[0].clause
    tools = {r.tool for r in a.evidence.values()}
    assert {"load_grid", "run_power_flow", "apply_events", "run_contingency_analysis", "propose_remedial_actions", "apply_actions"} <= tools
    post = a.evidence[a.findings[0].evidence_ids[0]]
    assert post.tool == "run_power_flow" and post.result["max_loading_percent"] == a.findings[0].value


def _top_risk(net) -> str:
    """Oracle: a plain pandapower N-1 loop (Q limits on) ranking each branch outage by the highest loading among the
    overloads it adds (new, or worse by more than 1 %)."""
    pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)
    before = {(e, i): v for e in ("line", "trafo") for i, v in net[f"res_{e}"].loading_percent.items()}
    best, name = -1.0, None
    for element in ("line", "trafo"):
        for index in net[element].index[net[element].in_service]:
            net[element].at[index, "in_service"] = False
            try:
                pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)
                added = [v for e in ("line", "trafo") for i, v in net[f"res_{e}"].loading_percent.items()
                         if v > 100 and (before[(e, i)] <= 100 or v > before[(e, i)] + 1)]
                if max(added, default=0.0) > best:
                    best, name = max(added, default=0.0), f"{element} {index}"
            except pp.powerflow.LoadflowNotConverged:
                pass
            net[element].at[index, "in_service"] = True
    return name


def test_contingency_risks_and_validated_plan(run):
    scenario, workspace, a = run
    assert _top_risk(workspace.copy_net(a.grid_id)) == scenario.expect.top_risk
    assert a.contingency_risks[0].outage.name.startswith(scenario.expect.top_risk + " ")
    assert [r.rank for r in a.contingency_risks] == list(range(1, 11))
    assert a.action_plan and all(s.proposal for s in a.action_plan)
    first = a.action_plan[0]
    line29 = next(e for e in first.effects if e.element.name.startswith("line 29"))
    assert line29.after < line29.before - 50
    # the plan's end state, re-solved independently
    final = workspace.copy_net(a.final_grid_id)
    pp.runpp(final, numba=False, lightsim2grid=False, enforce_q_lims=True)
    assert scenario.expect.plan_clears and "all violations cleared" in a.plan_outcome
    assert final.res_line.loading_percent.max() <= 100.0 + 1e-6
    assert 0.95 - 1e-6 <= final.res_bus.vm_pu.min() and final.res_bus.vm_pu.max() <= 1.05 + 1e-6


def test_json_validates_against_the_assessment_schema(run):
    _, _, a = run
    document = json.loads(render(a, "json"))
    jsonschema.validate(document, Assessment.model_json_schema())
    assert Assessment.model_validate(document).situation == a.situation


def test_text_and_markdown_reports(run):
    _, workspace, a = run
    text = render(a, "text")
    for heading in ("WHAT HAPPENED", "FINDINGS", "AT RISK NEXT", "WHAT TO DO FIRST", "CONFIDENCE", "EVIDENCE"):
        assert heading in text
    net = workspace.copy_net(a.grid_id)
    pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)
    assert f"{net.res_line.loading_percent[29]:.1f} %" in text and "ev-0004" in text and "NERC TPL-001-5.1" in text
    markdown = render(a, "markdown")
    assert markdown.startswith("# IEEE 118-bus") and "| severity | finding |" in markdown


def test_unknown_element_in_a_scenario_names_the_field():
    scenario = parse_scenario("name: bad\ngrid: {source: case14}\nevents:\n  - {type: line_outage, line: 99}\n")
    with pytest.raises(ScenarioError) as info:
        assess(scenario, graph=False)
    assert info.value.field == "scenario.events[0].line"


def test_diverging_scenario_is_reported_not_raised():
    scenario, folder = load_scenario("case39_largest_unit_collapse")
    a = assess(scenario, folder, graph=False)
    assert a.findings[0].severity == "critical" and "no solution" in a.findings[0].title
    assert a.confidence == "low" and a.action_plan == []
    record = a.evidence[a.findings[0].evidence_ids[0]]
    assert record.result["status"] == "diverged" and record.result["diagnostics"]


def test_every_finding_risk_and_step_cites_a_corpus_entry(run):
    from gridsage.knowledge.corpus import get_entry

    _, _, a = run
    for item in a.findings + a.contingency_risks + a.action_plan:
        assert item.citations, item
        for c in item.citations:
            entry = get_entry(c.entry_id)
            assert (entry.standard, entry.edition, entry.clause) == (c.standard, c.edition, c.clause)
    assert {c.entry_id for c in a.citations} >= {"ansi-c84-1-range-a", "nerc-tpl-001-facility-ratings",
                                                  "nerc-tpl-001-p1-single-contingency"}
    text = render(a, "text")
    assert "(ANSI C84.1, Table 1, Range A)" in text and "(NERC TPL-001, Table 1, steady state)" in text
    assert "[ansi-c84-1-range-a]" in text.split("STANDARDS APPLIED")[1]


def test_a_switching_step_is_placed_at_the_bus_where_it_acts():
    """The graph context of a plan step looks around the switched element's own end bus (pandapower's tables)."""
    import pandapower.networks as pn

    from gridsage.reasoning.playbooks.grid_study import _action_buses

    net = pn.case9()
    line = int(net.line.index[3])
    opened = _action_buses(net, {"type": "line_switching", "element": "line", "index": line, "close": False})
    assert opened == [("open", int(net.line.at[line, "from_bus"]))]
    net = pn.example_simple()
    switch = int(net.switch.index[net.switch.et == "b"][0])
    closed = _action_buses(net, {"type": "line_switching", "element": "switch", "index": switch, "close": True})
    assert closed == [("close", int(net.switch.at[switch, "bus"]))]
