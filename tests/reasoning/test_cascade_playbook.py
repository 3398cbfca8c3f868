"""The cascade playbook end to end: a four-bus grid whose cascade is worked out by hand, and the shipped PGLib 39-bus
scenario against plain pandapower.

Oracles (none copied from GridSage's output):

* IEEE C37.112-2018 very inverse, TD 1, pickup 100 %: t = 19.61 / (M^2 - 1) + 0.491 s, written out below.
* The four-bus grid (the cascade model's own hand case, tests/tools/cascade/test_cascade.py): 90 MW of load at buses
  1 and 3, gen 0 at bus 1 gives 20 MW (Pmax 100), the other 70 MW come from bus 0 over two paths of equal impedance.
  Line 0 out: all 70 MW over path B, line 1 (50 MVA) at 70/50 = 140 %, line 2 (60 MVA) at 117 %.  Line 1 trips
  first (after about 20.9 s); buses 1-3 form an island with gen 0, 70 MW short of its 100 MW rating; ERCOT UFLS sheds
  5 % + 10 % + 10 % of 90 MW = 22.5 MW = 25 % (frequency estimate 58.575 Hz >= 58.5 Hz after stage 3).
* A stage-0 action works when line 1 stays within its 50 MVA after line 0 is lost, i.e. path B carries at most
  50 MW: the action must put at least 90 - 50 = 40 MW of generation at bus 1 (gen 0 raised by 20 MW or more), or
  shed load there.  Checked by plain pandapower (tests/oracle/actions.py) on the pre-event grid with the action
  applied and line 0 out.
"""

from __future__ import annotations

import math
import warnings

import pandapower as pp
import pytest

from gridsage.errors import ScenarioError
from gridsage.reasoning.playbooks import assess, playbook_for
from gridsage.reasoning.render import render
from gridsage.reasoning.scenario import load_scenario, parse_scenario
from tests.oracle import actions as oracle_actions

warnings.filterwarnings("ignore")

SQRT3 = math.sqrt(3)
LINE = dict(r_ohm_per_km=0.05, x_ohm_per_km=0.4, c_nf_per_km=0.0)


def very_inverse(m: float) -> float:
    """IEEE C37.112 very inverse operate time [s] at m times pickup, TD 1 (A 19.61 s, B 0.491 s, p 2)."""
    return 19.61 / (m * m - 1.0) + 0.491


def two_path_grid():
    """bus 0 (ext_grid) - line 0 (20 km, 60 MVA) - bus 1 (80 MW, gen 0 20 MW); bus 0 - line 1 (10 km, 50 MVA) - bus 2 -
    line 2 (10 km, 60 MVA) - bus 1; bus 1 - line 3 (10 km) - bus 3 (10 MW).  110 kV, X 0.4 ohm/km."""
    net = pp.create_empty_network()
    b = [pp.create_bus(net, 110.0) for _ in range(4)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    pp.create_load(net, b[1], p_mw=80.0, q_mvar=0.0)
    pp.create_load(net, b[3], p_mw=10.0, q_mvar=0.0)
    pp.create_gen(net, b[1], p_mw=20.0, vm_pu=1.0, max_p_mw=100.0, min_p_mw=0.0, max_q_mvar=100.0, min_q_mvar=-100.0)
    ka = lambda mva: mva / (SQRT3 * 110.0)  # noqa: E731 - I = S / (sqrt(3) V)
    pp.create_line_from_parameters(net, b[0], b[1], 20.0, max_i_ka=ka(60), **LINE)
    pp.create_line_from_parameters(net, b[0], b[2], 10.0, max_i_ka=ka(50), **LINE)
    pp.create_line_from_parameters(net, b[2], b[1], 10.0, max_i_ka=ka(60), **LINE)
    pp.create_line_from_parameters(net, b[1], b[3], 10.0, max_i_ka=ka(60), **LINE)
    return net


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cascade") / "two_path.json"
    pp.to_json(two_path_grid(), str(path))
    return path


def scenario_text(grid_file, cascade: str = "{}", events: str = "[{type: line_outage, line: 0}]") -> str:
    return (f"name: two-path-cascade\ngrid: {{source: {grid_file}, base_dispatch: file}}\nevents: {events}\n"
            f"cascade: {cascade}\n")


@pytest.fixture(scope="module")
def hand(grid_file):
    scenario = parse_scenario(scenario_text(grid_file))
    steps = []
    return assess(scenario, progress=steps.append), steps


def test_the_registry_picks_the_cascade_playbook(grid_file):
    assert playbook_for(parse_scenario(scenario_text(grid_file))).name == "cascade"


def test_the_hand_cascade_timeline_load_lost_and_verdict(hand):
    a, steps = hand
    assert a.playbook == "cascade" and a.verdict == "violations"
    assert [s for s in steps if s in ("load grid", "cascade", "stage-0 action", "restoration")] == [
        "load grid", "cascade", "stage-0 action", "restoration"]
    # the timeline: the initiating outage, line 1 tripped by its relay, three UFLS stages (4.5, 9, 9 MW)
    assert [(t.event, t.element) for t in a.timeline[:2]] == [("initiating", "line 0"), ("overload_trip", "line 1")]
    assert [t.event for t in a.timeline[2:]] == ["ufls"] * 3
    trip = a.timeline[1]
    assert trip.loading_percent == pytest.approx(140.0, abs=3.0)  # 70 MW over 50 MVA (AC adds losses)
    assert trip.time_s == pytest.approx(very_inverse(1.40), abs=2.0)
    assert trip.time_s == pytest.approx(very_inverse(trip.loading_percent / 100), rel=1e-3)
    assert [t.load_lost_mw for t in a.timeline[2:]] == pytest.approx([4.5, 9.0, 9.0], abs=0.01)
    assert a.timeline[-1].cumulative_load_lost_mw == pytest.approx(22.5, abs=0.01)
    # every timeline entry and finding cites a cascade evidence record in the ledger
    cascade_ids = {k for k, r in a.evidence.items() if r.tool == "simulate_cascade"}
    assert all(t.evidence_ids[0] in cascade_ids for t in a.timeline)
    assert a.cited_ids() <= set(a.evidence)
    headline = next(f for f in a.findings if f.title.startswith("Loss of line 0 sets off a cascade"))
    assert headline.value == pytest.approx(22.5, abs=0.01) and "25.0 %" in headline.title
    assert {"ieee-c37-112-inverse-time-overcurrent", "nerc-prc-006-ufls", "nerc-tpl-001-instability-cascading"} <= \
        {c.entry_id for c in headline.citations}
    # the post-event overloads, before protection acts: lines 1 and 2 (70 MW over 50 and 60 MVA)
    overloaded = {f.elements[0].name.split(" (")[0] for f in a.findings if f.unit == "%" and "post-event" in f.title}
    assert overloaded == {"line 1", "line 2"}


def test_the_stage0_action_keeps_line_1_within_its_rating_by_plain_pandapower(hand):
    a, _ = hand
    assert len(a.action_plan) == 1
    step = a.action_plan[0]
    tools = [a.evidence[e].tool for e in step.evidence_ids]
    assert tools == ["propose_remedial_actions", "apply_actions", "simulate_cascade", "apply_actions", "run_power_flow"]
    again = a.evidence[step.evidence_ids[2]]
    assert again.result["load_lost_mw"] < 0.9  # below 1 % of 90 MW
    assert a.evidence[step.evidence_ids[1]].inputs["grid_id"].endswith(":pre-event")  # stage 0: before the outages
    assert "below the 1 % threshold" in step.rationale
    # oracle: the action applied by plain table edits to the pre-event grid, then line 0 out, solved by runpp
    net = two_path_grid()
    oracle_actions.apply(net, step.action)
    at_bus_1 = float(net.gen.p_mw.sum()) + (90.0 - float(net.load.p_mw.sum()))  # generation added or load shed there
    assert at_bus_1 >= 40.0 - 1.0  # by hand: path B may carry at most 50 MW of the 90 MW
    net.line.at[0, "in_service"] = False
    oracle_actions.solve(net)
    assert net.res_line.loading_percent[net.line.in_service].max() <= 100.0


def test_the_restoration_plan_brings_back_the_load_shed(hand):
    a, _ = hand
    plan = a.restoration_plan
    assert plan, "22.5 MW were shed: a restoration plan is expected"
    assert sum(s.restored_mw for s in plan) == pytest.approx(22.5, abs=0.05)  # what UFLS shed, by hand
    assert plan[-1].cumulative_percent == pytest.approx(100.0, abs=0.1)
    record = a.evidence[plan[0].evidence_ids[0]]
    assert record.tool == "plan_restoration"


def test_text_and_markdown_show_the_timeline_and_restoration(hand):
    a, _ = hand
    text = render(a, "text")
    assert "TIMELINE (5 events)" in text and "overload_trip  line 1" in text and "RESTORATION" in text
    markdown = render(a, "markdown")
    assert "## Timeline" in markdown and "## Restoration" in markdown


def test_no_cascade_is_secure_with_no_action(grid_file):
    """Line 3 out: bus 3 (10 MW) is cut off and goes dark; the rest stays within limits (80 - 20 = 60 MW over two
    equal paths, 30 MW each, half of line 1's 50 MVA): 10 MW lost, no trip, verdict 'violations' from the load lost."""
    a = assess(parse_scenario(scenario_text(grid_file, "{restore: false}", "[{type: line_outage, line: 3}]")))
    assert not [t for t in a.timeline if t.event == "overload_trip"]
    assert a.timeline[-1].cumulative_load_lost_mw == pytest.approx(10.0, abs=0.01)
    assert a.verdict == "violations" and a.restoration_plan == []
    assert not a.action_plan  # no post-event violation to relieve: the cascade is an islanding


@pytest.mark.parametrize("text, field", [
    ("cascade: {}\n", "scenario"),  # no initiator
    ("cascade: {outages: ['bus:1']}\n", "scenario.cascade.outages[0]"),
    ("cascade: {outages: ['line:0'], ensemble: n3}\n", "scenario.cascade.ensemble"),
])
def test_bad_cascade_blocks_are_typed_errors_naming_the_field(grid_file, text, field):
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(f"name: x\ngrid: {{source: {grid_file}}}\n{text}")
    assert caught.value.field == field and caught.value.fix


def test_an_outage_of_a_missing_element_names_the_scenario_field(grid_file):
    with pytest.raises(ScenarioError) as caught:
        assess(parse_scenario(scenario_text(grid_file, "{outages: ['line:0', 'line:9']}", "[]")))
    assert caught.value.field == "scenario.cascade.outages[1]"


def test_shipped_pglib39_scenario_against_plain_pandapower():
    """The shipped scenario: its first trip is the branch that plain pandapower loads most after line 17 is lost, at
    the C37.112 time for that loading.  Oracle: :func:`gridsage.evals.answer_keys.study` (plain pandapower, its own AC
    OPF base dispatch, imports nothing from GridSage): the solved post-event net."""
    from gridsage.evals.answer_keys import study

    scenario, folder = load_scenario("pglib39_line_trip_cascade")
    net = study(folder / "pglib39_line_trip_cascade.yaml")["net"]
    loadings = {f"line {i}": float(v) for i, v in net.res_line.loading_percent[net.line.in_service].items()}
    loadings |= {f"trafo {i}": float(v) for i, v in net.res_trafo.loading_percent[net.trafo.in_service].items()}
    worst = max(loadings, key=loadings.get)
    assert worst == scenario.expect.first_trip == "line 11" and loadings[worst] > 100

    a = assess(scenario, folder)
    first = next(t for t in a.timeline if t.event == "overload_trip")
    assert first.element == worst
    assert first.loading_percent == pytest.approx(loadings[worst], abs=0.5)
    assert first.time_s == pytest.approx(very_inverse(loadings[worst] / 100), rel=1e-2)
    assert a.verdict == scenario.expect.verdict == "violations"
    found = {f.elements[0].name.split(" (")[0] for f in a.findings if f.unit == "%" and "post-event" in f.title}
    assert found == set(scenario.expect.overloaded) == {k for k, v in loadings.items() if v > 100}
    assert a.timeline[-1].cumulative_load_lost_mw > 0 and a.restoration_plan


def test_an_n1_ensemble_in_the_block_reports_the_hand_distribution(grid_file):
    """By hand (module docstring and tests/gridsage/test_cli_cascade.py): losing line 0, 1 or 2 loses 25 % (the island
    of buses 1-3 after the other path trips, UFLS 22.5 MW); losing line 3 darkens bus 3, 10 MW = 11.11 %.  So the
    mean is (75 + 11.11) / 4 = 21.53 % and P(> 20 %) = 0.75."""
    a = assess(parse_scenario(scenario_text(
        grid_file, "{restore: false, max_actions: 0, ensemble: n1, loss_threshold_percent: 20}")))
    finding = next(f for f in a.findings if f.title.startswith("Ensemble 'n1' of 4"))
    assert finding.value == pytest.approx(0.75)
    assert "mean 21.53 %" in finding.title and "max 25.00 %" in finding.title
    assert a.evidence[finding.evidence_ids[0]].tool == "cascade_risk"
    assert a.plan_outcome.startswith("No stage-0 action found: the stage-0 search is off")


def test_an_outage_event_of_a_missing_element_names_its_event(grid_file):
    with pytest.raises(ScenarioError) as caught:
        assess(parse_scenario(scenario_text(grid_file, "{}", "[{type: load_change, load: 0, scale: 1.0}, "
                                                             "{type: line_outage, line: 7}]")))
    assert caught.value.field == "scenario.events[1]"


def test_the_assessment_plot_draws_the_cascade(hand, tmp_path):
    from gridsage.plotting import cascade_records, cascade_series, plot_assessment

    a, _ = hand
    result, restoration, losses = cascade_records(a)
    series = cascade_series(result)
    assert series["served_mw"][0] == pytest.approx(90.0) and series["served_mw"][-1] == pytest.approx(90.0 - 22.5, abs=0.01)
    assert [label for _, label, _ in series["trips"]] == ["line 1"] and restoration is not None and losses is None
    target = plot_assessment(a, tmp_path / "cascade.png")
    assert target.read_bytes()[:4] == b"\x89PNG" and target.stat().st_size > 10_000
