"""The evaluation harness on real scenarios: the planner beside a scripted model that always says 'secure', and one
that never calls a tool (the planner answers for it, and it gets no credit); the scores of a hand-made answer
computed by hand; a plan re-checked on the scenario's own grid, with and without ``plan_clears``, against plain
pandapower; the grid fingerprint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from gridsage.evals.harness import run_eval, scenario_files, write_reports

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def always_safe(messages, info: AgentInfo) -> ModelResponse:
    if not any(getattr(p, "tool_name", None) == "load_grid" for m in messages for p in m.parts):
        return ModelResponse(parts=[ToolCallPart("load_grid", {"source": "case39"})])
    answer = {"verdict": "secure", "answer": "All lines are loaded 50.0 % at most; nothing to do.", "claims": []}
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, answer)])


def no_tools(messages, info: AgentInfo) -> ModelResponse:
    assert not info.output_tools  # no answer tool is offered before any evidence exists
    return ModelResponse(parts=[TextPart("Line 6 is overloaded.")])


def test_planner_and_a_model_side_by_side_on_a_hidden_folder(tmp_path):
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    shutil.copy(SCENARIOS / "case39_unit_trip.yaml", hidden / "a.yaml")
    (hidden / "no_expect.yaml").write_text("name: no-expect\ngrid: {source: case9}\n")
    files = scenario_files(hidden)
    assert [f.name for f in files] == ["a.yaml"]  # only scenarios with expect: are cases

    run = run_eval(files, [("planner", None), ("function:always-safe", FunctionModel(always_safe)),
                           ("function:no-tools", FunctionModel(no_tools))])
    planner, model, lazy = run.summary
    assert planner.false_safe == 0 and planner.violation_recall == 1.0 and planner.grounding_rate == 1.0
    assert planner.action_validity == 1.0 and planner.citation_coverage == 1.0 and planner.failed_cases == 0
    assert planner.violation_precision == 1.0 and planner.over_claims == 0 and planner.severity_regret == 0.0
    assert model.false_safe == 1 and model.violation_recall == 0.0 and model.citation_coverage == 0.0
    assert model.grounding_rate == 0.0  # '50.0 %' is supported by no tool result
    assert model.tokens > 0 and model.fallbacks == 0 and model.headline == -1.0
    assert model.action_validity == 0.0  # no plan where the key calls for action
    # an answer with no evidence is refused; the planner answers, and the model's row gets no credit for it
    assert lazy.fallbacks == 1 and lazy.verdict_correct == 0.0 and lazy.violation_recall == 0.0
    assert lazy.grounding_rate == 0.0 and lazy.grounding_checked == 0 and lazy.action_validity == 0.0
    assert lazy.false_safe == 0 and lazy.violation_precision is None  # nothing named
    # oracle: plain pandapower, gen 7 out, Q limits; every expected element is missed
    import pandapower as pp
    import pandapower.networks as pn

    net = pn.case39()
    net.gen.loc[7, "in_service"] = False
    pp.runpp(net, numba=False, enforce_q_lims=True)
    worst = max(net.res_line.loading_percent[[6, 17]].max() - 100, (net.res_bus.vm_pu[35] - 1.05) * 100)
    assert lazy.severity_regret == pytest.approx(worst, abs=1e-3)  # line 6, 108.4 %
    assert lazy.headline == pytest.approx((1 - worst / 10) / 11, abs=1e-4)  # severity only: weights 3+3+2+1+1+1

    data, text = write_reports(run, tmp_path / "out")
    assert json.loads(data.read_text())["summary"][1]["false_safe"] == 1
    assert "| function:always-safe | case39-unit-trip | -1.00 | secure |" in text.read_text()
    assert "| case39-unit-trip | 0.01 | violations (planner's fallback, scored as no answer) |" in text.read_text()


def test_no_answer_on_a_secure_scenario_is_not_a_false_alarm():
    from gridsage.evals.harness import CaseOutput, score
    from gridsage.reasoning.agent import AgentAnswer, Turn
    from gridsage.reasoning.agent import check_grounding
    from gridsage.reasoning.scenario import Expect

    def case(verdict: str, fallback: bool = False) -> CaseOutput:
        answer = AgentAnswer(verdict=verdict, answer="-")
        turn = Turn(question="?", answer=answer, source="model", grounding=check_grounding("-", []))
        return CaseOutput(turn=turn, action_check="none", fallback=fallback)

    secure = Expect(verdict="secure")
    assert score(secure, case("violations"))["false_alarm"] == 1.0
    assert score(secure, case("unknown"))["false_alarm"] == 0.0
    assert score(secure, case("secure", fallback=True))["false_alarm"] == 0.0  # the planner's answer earns nothing
    assert score(secure, case("secure", fallback=True))["verdict_correct"] == 0.0


def test_the_equipment_and_telemetry_scenarios_score_and_a_dropout_called_a_grid_event_is_a_false_alarm():
    from pydantic_ai.messages import ToolReturnPart

    from gridsage.reasoning.scenario import load_scenario
    from gridsage.reasoning.study import simulation_dir

    names = ("cigre_mv_trafo_overheating", "feeder_voltage_sag_oscillation", "substation_sensor_dropout")
    files = [SCENARIOS / f"{n}.yaml" for n in names]
    assert set(files) <= set(scenario_files())  # public: the shipped library's eval cases
    planner, = run_eval(files, [("planner", None)]).summary
    assert (planner.cases, planner.false_safe, planner.false_alarm, planner.verdict_correct) == (3, 0, 0, 1.0)
    assert planner.violation_recall == planner.event_recall == planner.action_validity == planner.citation_coverage == 1.0
    assert planner.grounding_rate == 1.0

    path = simulation_dir(load_scenario(str(files[2]))[0]) / "telemetry.csv"

    def alarmist(messages, info: AgentInfo) -> ModelResponse:
        """Reads the study, scores it, then calls the top-oil sensor's dropout a grid event."""
        returns = {p.tool_name: p.content for m in messages for p in m.parts if isinstance(p, ToolReturnPart)}
        if "load_study" not in returns:
            return ModelResponse(parts=[ToolCallPart("load_study", {})])
        if "score_telemetry" not in returns:
            return ModelResponse(parts=[ToolCallPart("score_telemetry", {"path": str(path)})])
        evidence = returns["score_telemetry"].evidence_id
        event = {"device_id": "substation-S3", "sensor_type": "top_oil_temperature", "type": "dropout", "origin": "grid",
                 "evidence_ids": [evidence]}
        answer = {"verdict": "at_risk", "answer": "The S3 transformer lost its temperature: a grid event.",
                  "claims": [{"statement": "S3 top-oil temperature dropped out.", "evidence_ids": [evidence]}],
                  "telemetry_events": [event]}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, answer)])

    run = run_eval(files[2:], [("function:alarmist", FunctionModel(alarmist))])
    model, = run.summary
    assert model.fallbacks == 0 and model.false_alarm == 1 and model.verdict_correct == 0.0
    assert model.event_recall == 0.0  # neither dropout reported as a sensor fault
    assert run.cases[0]["tool_calls"] == ["load_study:ok", "score_telemetry:ok"]


def test_calling_a_projected_overload_secure_is_false_safe():
    from gridsage.evals.harness import CaseOutput, score
    from gridsage.reasoning.agent import AgentAnswer, Turn
    from gridsage.reasoning.agent import check_grounding
    from gridsage.reasoning.scenario import Expect

    answer = AgentAnswer(verdict="secure", answer="-")
    out = CaseOutput(turn=Turn(question="?", answer=answer, source="model", grounding=check_grounding("-", [])),
                     action_check="none")
    scores = score(Expect(verdict="at_risk", at_risk=["trafo 0"], citations=["ieee-c57-91-loading-beyond-nameplate-limits"]), out)
    assert scores["false_safe"] == 1.0 and scores["violation_recall"] == 0.0 and scores["citation_coverage"] == 0.0


def test_scores_pair_recall_with_precision_regret_top_risk_and_citation_precision():
    from gridsage.evals.harness import CaseOutput, score
    from gridsage.reasoning.agent import AgentAnswer, Turn, check_grounding
    from gridsage.reasoning.scenario import Expect

    statements = ["line 1 (bus 0-bus 4) loaded 120.0 % of rating", "bus 3 undervoltage 0.90 pu", "line 9 is overloaded",
                  "gen 4 at bus 2 is at its Q limit", "bus 5 overvoltage already before the events",
                  "If line 8 (bus 2-bus 7) trips: 2 violation(s)", "Loss of line 7 would island bus 6"]
    answer = AgentAnswer(verdict="violations", answer="-", claims=[{"statement": s, "evidence_ids": ["ev-0001"]}
                                                                   for s in statements],
                         citations=["nerc-tpl-001-facility-ratings", "a", "b", "c"])
    turn = Turn(question="?", answer=answer, source="model",
                grounding=check_grounding(answer.text(), [{"loading_percent": 120.0}]))  # 0.90 pu is ungrounded
    out = CaseOutput(turn=turn, action_check="none", oracle_excess={"line 1": 20.0, "line 2": 41.0, "bus 3": 5.0})
    expect = Expect(verdict="violations", overloaded=["line 1", "line 2"], undervoltage=["bus 3"], top_risk="line 7",
                    min_findings=7)
    s = score(expect, out)
    # named: line 1, bus 3, line 9 (gen 4's bus, the pre-event bus 5 and the two outages name no subject)
    assert s["violation_precision"] == s["violation_recall"] == pytest.approx(2 / 3) and s["over_claims"] == 1
    assert s["violation_f1"] == pytest.approx(2 / 3) and s["severity_regret"] == 41.0  # line 2 missed
    assert s["top_risk"] == 1.0 and s["min_findings"] == 1.0 and s["action_validity"] == 0.0  # no plan, one needed
    assert s["citation_coverage"] == 0.5 and s["citation_precision"] == 0.25  # ANSI C84.1 Range A not cited
    assert s["grounding_rate"] == 0.5 and s["grounding_checked"] == 2
    citation_f1 = 2 * 0.5 * 0.25 / 0.75
    # weights: verdict 3, F1 3, action 2, severity 1 (41 beyond 10: 0), citation F1 1, grounding 1, top risk 1, findings 1
    assert s["headline"] == pytest.approx((3 + 3 * 2 / 3 + citation_f1 + 0.5 + 1 + 1) / 13, abs=1e-4)


def test_claim_and_outage_subjects():
    from gridsage.evals.harness import claim_subject, outage_subject

    assert claim_subject('impedance 27 (transformer, bus 143-bus 142) loaded 169.4 % of rating') == "impedance 27"
    assert claim_subject('ext_grid 0 at bus 30 (the slack) must produce 1211.8 MW') is None
    assert claim_subject('25 generator(s) at a reactive limit post-event: gen 39 at bus 304') is None
    assert claim_subject('If line 96 (bus 64-bus 67) trips: 19 violation(s)') is None
    assert outage_subject('If line 96 (bus 64-bus 67) trips: 19 violation(s)') == "line 96"
    assert outage_subject('Loss of trafo 1 (bus 5-bus 30) would separate 38 bus(es)') == "trafo 1"
    assert outage_subject('line 96 is loaded 80 %') is None and outage_subject('If bus 3 is lost') is None


def _shedder(shed_mw: float):
    """A scripted model: loads the study grid, sheds ``shed_mw`` at load 2 (bus 8) with apply_actions, proposes it."""
    from pydantic_ai.messages import ToolReturnPart

    def respond(messages, info: AgentInfo) -> ModelResponse:
        done = {p.tool_name: p.content for m in messages for p in m.parts if isinstance(p, ToolReturnPart)}
        if "load_study" not in done:
            return ModelResponse(parts=[ToolCallPart("load_study", {})])
        if "apply_actions" not in done:
            return ModelResponse(parts=[ToolCallPart("apply_actions", {"grid_id": done["load_study"].grid_id, "actions": [
                {"type": "load_shed", "load": 2, "p_mw": shed_mw}]})])
        applied = done["apply_actions"].evidence_id
        answer = {"verdict": "violations", "answer": f"Shed load at bus 8 [{applied}].",
                  "claims": [{"statement": "line 0 is overloaded.", "evidence_ids": [applied]}],
                  "actions": ["Shed load 2 at bus 8."]}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, answer)])

    return FunctionModel(respond)


def test_a_plan_is_checked_on_the_scenario_grid_and_plan_clears_needs_no_violation_left(tmp_path):
    import pandapower as pp
    import pandapower.networks as pn

    from gridsage.evals.harness import make_task

    # oracle: the scenario by hand in plain pandapower (loads x1.05, units x0.9, gen 0 out), then 5 MW shed at bus 8
    net = pn.case9()
    net.load[["p_mw", "q_mvar"]] *= 1.05
    net.gen["p_mw"] *= 0.9
    net.gen.loc[0, "in_service"] = False
    excess = {}
    for shed in (0.0, 5.0):
        net.load.loc[2, ["p_mw", "q_mvar"]] *= 1 - shed / net.load.at[2, "p_mw"]
        pp.runpp(net, numba=False, enforce_q_lims=True)
        excess[shed] = {"line 0": net.res_line.loading_percent[0] - 100, "bus 8": (0.95 - net.res_bus.vm_pu[8]) * 100}
    assert 0 < excess[5.0]["line 0"] < excess[0.0]["line 0"] and 0 < excess[5.0]["bus 8"] < excess[0.0]["bus 8"]
    worst = max(excess[5.0], key=excess[5.0].get)

    text = (SCENARIOS / "case9_unit_trip_beyond_slack_headroom.yaml").read_text()
    (tmp_path / "relief.yaml").write_text(text)
    (tmp_path / "clears.yaml").write_text(text + "  plan_clears: true\n")
    relief = make_task(_shedder(5.0), "function:shedder")(str(tmp_path / "relief.yaml"))
    assert relief.action_check == "valid"  # less excess on the scenario's own grid, nothing new
    assert relief.oracle_excess.keys() == {"line 0", "bus 8"}
    assert relief.oracle_excess["line 0"] == pytest.approx(excess[0.0]["line 0"], abs=0.01)
    clears = make_task(_shedder(5.0), "function:shedder")(str(tmp_path / "clears.yaml"))
    assert clears.action_check == f"invalid: 2 violation(s) left, worst {worst} {excess[5.0][worst]:.1f} beyond its limit"


def test_the_grid_fingerprint_tells_grids_apart():
    import pandapower.networks as pn

    from gridsage.evals.harness import grid_fingerprint

    a, b = pn.case9(), pn.case9()
    assert grid_fingerprint(a) == grid_fingerprint(b)
    b.gen.loc[0, "vm_pu"] = 1.01
    assert grid_fingerprint(a) != grid_fingerprint(b)
    b = pn.case9()
    b.line.loc[3, "in_service"] = False
    assert grid_fingerprint(a) != grid_fingerprint(b)


@pytest.mark.parametrize("statements, expected", [
    (["Root cause of the hot-spot reading: trafo_0_theta_h_c, the reading itself, 76 %"], 1.0),
    # the first causal node a root-cause claim names counts: here the load, not the sensor
    (["Root cause: busbar_1_load_p_mw 60 %, trafo_0_theta_h_c 30 %"], 0.0),
    # a node named outside a root-cause claim does not count
    (["trafo_0_theta_h_c read 110.9 °C"], 0.0),
])
def test_root_cause_scores_the_first_node_a_root_cause_claim_names(statements, expected):
    from gridsage.evals.harness import CaseOutput, score
    from gridsage.reasoning.agent import AgentAnswer, Turn, check_grounding
    from gridsage.reasoning.scenario import Expect

    answer = AgentAnswer(verdict="secure", answer="-", claims=[{"statement": s, "evidence_ids": ["ev-0001"]}
                                                               for s in statements])
    out = CaseOutput(turn=Turn(question="?", answer=answer, source="model", grounding=check_grounding("-", [])),
                     action_check="none")
    s = score(Expect(verdict="secure", root_cause="trafo_0_theta_h_c"), out)
    assert s["root_cause"] == expected
    # weights: verdict 3, violation F1 3 (nothing expected, nothing named: 1), root cause 2
    assert s["headline"] == pytest.approx((3 + 3 + 2 * expected) / 8)
