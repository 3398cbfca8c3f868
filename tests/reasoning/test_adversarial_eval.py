"""Adversarial answerers through the real chat agent (pydantic-ai FunctionModel): each must score at most half the
deterministic planner's headline on the same scenarios.

(a) an over-claimer: one tool call, verdict 'violations', every line/trafo/bus 0-199 named in evidence-backed claims,
    every standards-corpus entry cited, nothing proposed;
(b) a model that acts on the wrong grid: loads case9, applies a harmless voltage set-point change, proposes it;
(c) a model that hunts for the answer key in what it can see (system prompt, tool results, retry prompts, the truth
    file beside a simulated telemetry file) and answers with what it finds, else guesses;
(d) always 'violations'; (e) always 'secure'.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelResponse, RetryPromptPart, SystemPromptPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from gridsage.evals.harness import PROBLEMS, run_eval
from gridsage.reasoning.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: grid violations (line and bus; an N-1 top risk and min_findings), a secure grid, an at-risk transformer, telemetry
NAMES = ("case9_unit_trip_beyond_slack_headroom", "case30_overloaded_line_trip", "case9_unit_trip_secure",
         "cigre_mv_trafo_overheating", "feeder_voltage_sag_oscillation")
#: answer-key syntax, as JSON or YAML: "overloaded": [...], verdict: ..., "label": "..."
KEY_ELEMENTS = re.compile(r'(?m)(?:"|^\s*)(?:overloaded|undervoltage|overvoltage|at_risk)"?\s*:\s*\[([^\]]*)\]')
KEY_VERDICT = re.compile(r'(?m)(?:"verdict"\s*:\s*"|^\s*verdict:\s*)(violations|secure|at_risk|no_solution)\b')
KEY_LABEL = re.compile(r'"label"\s*:\s*"(\w+)"')


def returns(messages) -> dict[str, object]:
    """Tool name -> its latest result, as a dict when it is a model."""
    out = {}
    for part in (p for m in messages for p in m.parts if isinstance(p, ToolReturnPart)):
        out[part.tool_name] = part.content.model_dump(mode="json") if hasattr(part.content, "model_dump") else part.content
    return out


def answer(info: AgentInfo, **fields) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, fields)])


def call(tool: str, **args) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(tool, args)])


def over_claimer(messages, info: AgentInfo) -> ModelResponse:
    from gridsage.knowledge.corpus import load_corpus

    done = returns(messages)
    if not done:
        return call("load_study")
    evidence = [next(iter(done.values()))["evidence_id"]]
    claims = [{"statement": f"{kind} {i} is beyond its limit.", "evidence_ids": evidence}
              for kind in ("line", "trafo", "bus") for i in range(200)]
    return answer(info, verdict="violations", answer="Every element is beyond its limit.", claims=claims,
                  citations=list(load_corpus()))


def wrong_grid(messages, info: AgentInfo) -> ModelResponse:
    done = returns(messages)
    if "load_grid" not in done:
        return call("load_grid", source="case9")
    if "apply_actions" not in done:
        return call("apply_actions", grid_id=done["load_grid"]["grid_id"],
                    actions=[{"type": "gen_voltage", "gen": 0, "vm_pu": 1.01}])
    applied = done["apply_actions"]["evidence_id"]
    return answer(info, verdict="violations", answer=f"Raise gen 0's voltage set-point to 1.01 pu [{applied}].",
                  claims=[{"statement": "The set-point change was applied and checked.", "evidence_ids": [applied]}],
                  actions=["Raise gen 0's voltage set-point to 1.01 pu."])


class KeyReader:
    """Parses whatever it can see for answer-key text and answers with it; guesses 'violations' when it finds none."""

    def __init__(self):
        self.found: list[dict] = []

    def __call__(self, messages, info: AgentInfo) -> ModelResponse:
        parts = [p for m in messages for p in m.parts]
        seen = "\n".join(str(p.content) if not hasattr(p.content, "model_dump_json") else p.content.model_dump_json()
                         for p in parts if isinstance(p, (SystemPromptPart, ToolReturnPart, RetryPromptPart)))
        done = returns(messages)
        if not done:
            return call("load_study")
        readings = re.search(r"(/\S+/)telemetry\.csv", seen)
        tried = {p.tool_name for p in parts if isinstance(p, ToolCallPart)}
        if readings and "ingest_telemetry" not in tried:  # the ground truth is written beside simulated readings
            return call("ingest_telemetry", path=readings.group(1) + "truth.csv")
        found = {}
        for match in KEY_ELEMENTS.finditer(seen):
            found.setdefault("elements", []).extend(re.findall(r"(?:line|trafo|bus|impedance) \d+", match.group(1)))
        if verdict := KEY_VERDICT.search(seen):
            found["verdict"] = verdict.group(1)
        if labels := KEY_LABEL.findall(seen):
            found["labels"] = labels
        found = {k: v for k, v in found.items() if v}
        self.found.append(found)
        evidence = [next(iter(done.values()))["evidence_id"]]
        claims = [{"statement": f"{e} is beyond its limit.", "evidence_ids": evidence} for e in found.get("elements", [])]
        return answer(info, verdict=found.get("verdict", "violations"), answer="As the study says.", claims=claims)


def constant(verdict: str):
    def respond(messages, info: AgentInfo) -> ModelResponse:
        if not returns(messages):
            return call("load_study")
        return answer(info, verdict=verdict, answer=f"The grid is {verdict}.")

    return respond


def keys():
    return [load_scenario(str(SCENARIOS / f"{n}.yaml"))[0].expect for n in NAMES]


@pytest.fixture(scope="module")
def evaluation():
    reader = KeyReader()
    answerers = [("planner", None), ("function:over-claimer", FunctionModel(over_claimer)),
                 ("function:wrong-grid", FunctionModel(wrong_grid)), ("function:key-reader", FunctionModel(reader)),
                 ("function:always-violations", FunctionModel(constant("violations"))),
                 ("function:always-secure", FunctionModel(constant("secure")))]
    run = run_eval([SCENARIOS / f"{n}.yaml" for n in NAMES], answerers)
    return run, {row.answerer: row for row in run.summary}, reader


def test_every_adversary_scores_at_most_half_the_planner(evaluation):
    _, rows, _ = evaluation
    rows = dict(rows)
    planner = rows.pop("planner")
    assert planner.cases == len(NAMES) and planner.failed_cases == 0 and planner.false_safe == 0
    assert planner.headline >= 0.8, planner
    for row in rows.values():
        assert row.fallbacks == 0 and row.failed_cases == 0, row  # every adversary answered itself
        assert row.headline <= planner.headline / 2, (row.answerer, row.headline, planner.headline)


def test_the_over_claimer_gets_recall_but_not_precision(evaluation):
    _, rows, _ = evaluation
    row = rows["function:over-claimer"]
    assert row.violation_recall == 1.0 and row.violation_precision < 0.01 and row.violation_f1 < 0.02
    hits = sum(len({e for e in k.overloaded + k.undervoltage + k.overvoltage + k.at_risk
                    if e.split()[0] in ("line", "trafo", "bus") and int(e.split()[1]) < 200}) for k in keys())
    assert row.over_claims == 600 * len(NAMES) - hits  # 600 named per case, less the expected ones
    assert row.citation_coverage == 1.0 and row.citation_precision < 0.05  # 108 entries cited, 1-2 required
    assert row.grounding_checked == 0 and row.grounding_rate == 0.0  # no number checked scores 0, not 1
    assert row.action_validity == 0.0  # no plan where the key calls for action
    assert row.false_alarm == [k.verdict for k in keys()].count("secure") and row.top_risk == 0.0


def test_actions_on_another_grid_are_invalid(evaluation):
    run, rows, _ = evaluation
    checks = [c["action_check"] for c in run.cases if c["answerer"] == "function:wrong-grid"]
    assert checks == ["invalid: actions on another grid"] * len(NAMES)
    assert rows["function:wrong-grid"].action_validity == 0.0


def test_the_answer_key_is_nowhere_a_model_can_read_it(evaluation):
    run, rows, reader = evaluation
    assert reader.found == [{}] * len(NAMES)  # neither the system prompt nor a tool result carries the key
    calls = [c["tool_calls"] for c in run.cases if c["answerer"] == "function:key-reader"]
    assert ["load_study:ok", "ingest_telemetry:error"] in calls  # the truth file beside the readings is not readings
    assert rows["function:key-reader"].verdict_correct == rows["function:always-violations"].verdict_correct


def test_constant_verdicts(evaluation):
    _, rows, _ = evaluation
    violations, secure = rows["function:always-violations"], rows["function:always-secure"]
    verdicts = [k.verdict for k in keys()]
    assert violations.verdict_correct == round(verdicts.count("violations") / len(NAMES), 4)
    assert violations.false_safe == 0 and violations.false_alarm == verdicts.count("secure")
    assert secure.verdict_correct == round(verdicts.count("secure") / len(NAMES), 4)
    assert secure.false_safe == sum(v in PROBLEMS for v in verdicts)
    assert secure.headline < 0  # a false-safe case scores -1


def test_the_report_shows_the_headline_and_per_case_precision_recall_regret_and_plan(evaluation, tmp_path):
    from gridsage.evals.harness import write_reports

    run, rows, _ = evaluation
    data, text = write_reports(run, tmp_path)
    report = text.read_text()
    assert report.split("## Summary")[1].splitlines()[4].startswith("| headline | ") and "| precision | recall | over-claims | severity regret | plan |" in report
    assert "| function:wrong-grid | case30-overloaded-line-trip |" in report and "invalid: actions on another grid" in report
    assert json.loads(data.read_text())["summary"][0]["headline"] == rows["planner"].headline
