"""The evaluation harness on real scenarios: the planner beside a scripted model that always says 'secure', and one
that never calls a tool (the planner answers for it, and it gets no credit)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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
    assert model.false_safe == 1 and model.violation_recall == 0.0 and model.citation_coverage == 0.0
    assert model.grounding_rate == 0.0  # '50.0 %' is supported by no tool result
    assert model.tokens > 0 and model.action_validity is None and model.fallbacks == 0
    # an answer with no evidence is refused; the planner answers, and the model's row gets no credit for it
    assert lazy.fallbacks == 1 and lazy.verdict_correct == 0.0 and lazy.violation_recall == 0.0
    assert lazy.grounding_rate is None and lazy.action_validity is None and lazy.false_safe == 0

    data, text = write_reports(run, tmp_path / "out")
    assert json.loads(data.read_text())["summary"][1]["false_safe"] == 1
    assert "| function:always-safe | case39-unit-trip | secure |" in text.read_text()
    assert "| function:no-tools | case39-unit-trip | violations (planner's fallback, scored as no answer) |" in text.read_text()


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
