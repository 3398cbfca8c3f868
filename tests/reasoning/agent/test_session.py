"""The chat agent with pydantic-ai's FunctionModel/TestModel: real tools (in process and over MCP), loop guard,
grounding, fallback to the planner, and history resume."""

from __future__ import annotations

import inspect
import json
import socket
import sys
import time

import pytest
from pydantic_ai.messages import ModelResponse, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from gridsage.errors import InputError
from gridsage.reasoning.agent import MAX_BLOCKED, ChatHistory, ChatSession, ask
from gridsage.reasoning.agent.session import session_tools
from gridsage.reasoning.scenario import load_scenario
from gridsage.tools.workspace import use_workspace


def returns(messages) -> list[ToolReturnPart]:
    return [p for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart)]


def content(part: ToolReturnPart) -> dict:
    data = part.content
    if hasattr(data, "model_dump"):
        return data.model_dump(mode="json")
    if isinstance(data, str):
        return json.loads(data)
    return data


def engineer(answer_text: str | None = None):
    """A scripted model: load case14, solve it, then answer citing the power flow's evidence and numbers."""

    def respond(messages, info: AgentInfo) -> ModelResponse:
        done = returns(messages)
        names = [p.tool_name for p in done]
        if "load_grid" not in names:
            return ModelResponse(parts=[ToolCallPart("load_grid", {"source": "case14"})])
        if "run_power_flow" not in names:
            grid_id = content(done[names.index("load_grid")])["grid_id"]
            return ModelResponse(parts=[ToolCallPart("run_power_flow", {"grid_id": grid_id})])
        pf = content(done[names.index("run_power_flow")])
        text = answer_text or (f"The base case converges; voltages span {pf['vm_min_pu']}-{pf['vm_max_pu']} pu and "
                               f"the highest branch loading is {pf['max_loading_percent']} %.")
        answer = {"verdict": "violations" if pf["violations"] else "secure", "answer": text,
                  "claims": [{"statement": text, "evidence_ids": [pf["evidence_id"]]}], "actions": [],
                  "citations": ["ansi-c84-1-range-a"]}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, answer)])

    return FunctionModel(respond)


def test_tool_plumbing_in_process():
    session = ChatSession(model=engineer(), model_label="function:engineer")
    seen = []
    turn = ask(session, "Is case14 within limits?", on_tool_call=seen.append)
    assert turn.source == "model" and turn.notice is None
    assert [c.tool for c in turn.tool_calls] == ["load_grid", "run_power_flow"] == [c.tool for c in seen]
    assert turn.tool_calls[1].status == "converged" and turn.tool_calls[1].evidence_id.startswith("ev-")
    record = session.workspace.ledger.get(turn.tool_calls[1].evidence_id)
    assert record.tool == "run_power_flow" and str(record.result["max_loading_percent"]) in turn.answer.answer
    assert turn.grounding.checked == 6 and turn.grounding.rate == 1.0
    assert turn.answer.claims[0].evidence_ids == [record.evidence_id] and turn.requests == 3


def test_tool_plumbing_over_mcp(tmp_path):
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai.mcp import MCPToolset

    server = StdioTransport(command=sys.executable, args=["-m", "gridsage", "mcp", "--transport", "stdio"],
                            cwd=str(tmp_path))
    session = ChatSession(model=engineer(), toolset=MCPToolset(server), model_label="function:engineer")
    turn = ask(session, "Is case14 within limits?")
    assert turn.source == "model", turn.notice
    assert [c.tool for c in turn.tool_calls] == ["load_grid", "run_power_flow"]
    assert turn.tool_calls[1].status == "converged" and turn.tool_calls[1].evidence_id.startswith("ev-")
    assert len(session.workspace.ledger) == 0  # the evidence lives in the server; grounding used what it returned
    assert turn.grounding.checked == 6 and turn.grounding.rate == 1.0


def test_the_grounding_check_catches_a_planted_number():
    session = ChatSession(model=engineer("Line 3 is loaded 187.4 % and must be relieved by 12.37 MW at once."),
                          model_label="function:liar")
    turn = ask(session, "Is case14 within limits?")
    assert turn.source == "model"
    assert turn.grounding.ungrounded == ["187.4 %", "12.37 MW"] * 2 and turn.grounding.rate == 0.0


def test_the_loop_guard_stops_repeated_identical_calls():
    def stubborn(messages, info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[ToolCallPart("list_grids", {})])

    scenario, folder = load_scenario("case39_unit_trip")
    session = ChatSession(model=FunctionModel(stubborn), model_label="function:stubborn", scenario=scenario,
                          scenario_dir=folder)
    turn = ask(session, "What is overloaded?")
    statuses = [c.status for c in turn.tool_calls]
    assert statuses == ["ok"] + ["refused"] * MAX_BLOCKED and turn.refused_repeats == MAX_BLOCKED
    assert turn.source == "planner" and "LoopDetected" in turn.notice
    assert turn.answer.verdict == "violations" and any("line 6" in c.statement for c in turn.answer.claims)


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: connections are refused


def test_an_unreachable_endpoint_falls_back_to_the_planner_fast(monkeypatch):
    from gridsage.reasoning.agent import build_model, parse_model_spec

    monkeypatch.setenv("GRIDSAGE_OPENAI_BASE_URL", f"http://127.0.0.1:{_refused_port()}/v1")
    spec = parse_model_spec("openai-compatible:qwen2.5")
    scenario, folder = load_scenario("case39_unit_trip")
    session = ChatSession(model=build_model(spec), model_label=spec.label, scenario=scenario, scenario_dir=folder)
    started = time.perf_counter()
    turn = ask(session, "We lost gen 7. What is overloaded?")
    elapsed = time.perf_counter() - started
    assert turn.source == "planner" and "openai-compatible:qwen2.5" in turn.notice and "Connection" in turn.notice
    assert turn.answer.verdict == "violations" and turn.answer.claims and turn.grounding.rate == 1.0
    # no connection retries with back-off: beyond the planner's own study, the refused endpoint costs seconds at most
    from gridsage.reasoning.playbooks import assess

    started = time.perf_counter()
    assess(scenario, folder, graph=False)
    planner = time.perf_counter() - started
    assert elapsed < planner + 5, (elapsed, planner)


def test_no_model_and_no_study_says_what_to_do():
    turn = ask(ChatSession(), "How is the grid?")
    assert turn.source == "none" and "/scenario" in turn.answer.answer and "No model is configured" in turn.notice


def test_history_resumes_a_conversation(tmp_path):
    history = ChatHistory(tmp_path / "chat.sqlite3")
    session = ChatSession(model=engineer(), model_label="function:engineer")
    session_id = history.new_session(model=session.model_label, grid="case14")
    first = ask(session, "Is case14 within limits?")
    from pydantic_ai import ModelMessagesTypeAdapter

    history.add_turn(session_id, first, ModelMessagesTypeAdapter.dump_json(session.messages))

    seen_history = []

    def recall(messages, info: AgentInfo) -> ModelResponse:
        seen_history.append(len(messages))
        earlier = [p for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart)]
        pf = content([p for p in earlier if p.tool_name == "run_power_flow"][0])
        answer = {"verdict": "secure", "answer": f"As found before, the highest loading is {pf['max_loading_percent']} %.",
                  "claims": [{"statement": "Earlier power flow.", "evidence_ids": [pf["evidence_id"]]}]}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, answer)])

    info = history.session(session_id)
    resumed = ChatSession(model=FunctionModel(recall), model_label="function:recall", grid=info.grid,
                          messages=history.messages(session_id))
    assert [t.question for t in history.turns(session_id)] == ["Is case14 within limits?"]
    turn = ask(resumed, "Remind me of the worst loading?")
    assert seen_history[0] > 4  # the first turn's requests, tool calls and answer came back
    assert turn.source == "model" and turn.answer.claims[0].evidence_ids == [first.tool_calls[-1].evidence_id]


def test_a_failed_call_may_be_repeated_once_its_cause_is_fixed():
    script = [ToolCallPart("run_power_flow", {"grid_id": "case14"}),  # not loaded yet: an error
              ToolCallPart("load_grid", {"source": "case14", "grid_id": "case14"}),
              ToolCallPart("run_power_flow", {"grid_id": "case14"})]  # the same call, now valid

    def eager(messages, info: AgentInfo) -> ModelResponse:
        if script:
            return ModelResponse(parts=[script.pop(0)])
        pf = content([p for p in returns(messages) if p.tool_name == "run_power_flow"][-1])
        answer = {"verdict": "violations", "answer": "Solved.", "claims": [{"statement": "Solved.", "evidence_ids": [pf["evidence_id"]]}]}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, answer)])

    turn = ask(ChatSession(model=FunctionModel(eager), model_label="function:eager"), "Solve case14.")
    assert [c.status for c in turn.tool_calls] == ["error", "loaded", "converged"] and turn.refused_repeats == 0
    assert turn.source == "model"


def test_the_study_profile_and_load_study_keep_the_answer_key_out(monkeypatch):
    seen = {}

    def study(messages, info: AgentInfo) -> ModelResponse:
        seen.setdefault("offers", []).append(sorted(t.name for t in info.function_tools))
        seen.setdefault("prompt", " ".join(str(getattr(p, "content", "")) for m in messages for p in m.parts))
        done = {p.tool_name: content(p) for p in returns(messages)}
        if not done:
            return ModelResponse(parts=[ToolCallPart("load_study", {})])
        seen["study"] = done["load_study"]
        following = next((t for t in ("run_power_flow", "run_contingency_analysis") if t not in done), None)
        if following:  # a minimal study's answer comes after the state and the N-1
            assert not info.output_tools
            return ModelResponse(parts=[ToolCallPart(following, {"grid_id": seen["study"]["grid_id"]})])
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"verdict": "violations", "answer": "-"})])

    scenario, folder = load_scenario("case39_unit_trip")
    assert scenario.expect.overloaded  # the key exists, and must stay out of the prompt
    monkeypatch.setenv("GRIDSAGE_TOOLS", "study")  # the default profile comes from the environment
    session = ChatSession(model=FunctionModel(study), scenario=scenario, scenario_dir=folder)
    assert ask(session, "What now?").source == "model"
    assert sorted(session_tools(session).names()) == sorted(
        ["load_study", "run_power_flow", "run_contingency_analysis", "propose_remedial_actions", "apply_actions"])
    # the minimal study profile of a grid scenario, each step offered once, and nothing to apply before candidates
    assert seen["offers"][0] == sorted(["load_study", "run_power_flow", "run_contingency_analysis", "propose_remedial_actions"])
    assert seen["offers"][1] == sorted(["run_power_flow", "run_contingency_analysis", "propose_remedial_actions"])
    # load_study: the planner's study grid in one call, as evidence
    assert seen["study"]["grid_id"] == "case39-unit-trip:post-event" and seen["study"]["evidence_id"].startswith("ev-")
    assert not session.workspace.get("case39-unit-trip:post-event").net.gen.in_service[7]
    assert '"gen_trip"' in seen["prompt"] and "load_study()" in seen["prompt"] and '"expect"' not in seen["prompt"] and "line 17" not in seen["prompt"]
    with pytest.raises(InputError, match="unknown tool profile") as caught:
        ChatSession(tools="tiny")
    assert caught.value.field == "tools" and "study" in caught.value.fix


LIMIT_PARAMETERS = ("vm_min_pu", "vm_max_pu", "max_loading_percent", "opf_max_loading_percent", "target_loading_percent")


def test_the_minimal_study_profile_binds_the_scenarios_limits():
    """A small model's study: five tools, no limit parameter anywhere; the limits applied are the scenario's own."""
    from gridsage.reasoning.scenario import Limits

    scenario, folder = load_scenario("case39_unit_trip")
    scenario = scenario.model_copy(update={"limits": Limits(vm_min_pu=0.97, vm_max_pu=1.06, max_loading_percent=90.0)})
    seen = {}
    order = ("load_study", "run_power_flow", "run_contingency_analysis", "propose_remedial_actions", "apply_actions")

    def study(messages, info: AgentInfo) -> ModelResponse:
        seen.setdefault("schemas", {}).update({t.name: t.parameters_json_schema for t in info.function_tools})
        seen.setdefault("prompt", " ".join(str(getattr(p, "content", "")) for m in messages for p in m.parts))
        done = {p.tool_name: p.content for p in returns(messages)}  # the compact views, as objects
        following = next((name for name in order if name not in done), None)
        if following == "load_study":
            return ModelResponse(parts=[ToolCallPart("load_study", {})])
        if following == "apply_actions":  # the best candidate, by reference
            best = done["propose_remedial_actions"].candidates[0]
            args = {"grid_id": done["load_study"].grid_id, "actions": [best.action.model_dump()]}
            return ModelResponse(parts=[ToolCallPart("apply_actions", args)])
        if following:
            return ModelResponse(parts=[ToolCallPart(following, {"grid_id": done["load_study"].grid_id})])
        pf = done["run_power_flow"]
        answer = {"verdict": "violations", "answer": "Limits broken.",
                  "claims": [{"statement": "Limits broken.", "evidence_ids": [pf.evidence_id]}]}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, answer)])

    session = ChatSession(model=FunctionModel(study), scenario=scenario, scenario_dir=folder, tools="study")
    turn = ask(session, "What now?")
    assert turn.source == "model", turn.notice
    assert [c.tool for c in turn.tool_calls] == list(order) and all(c.evidence_id for c in turn.tool_calls)
    assert sorted(seen["schemas"]) == sorted(order)
    for name, schema in seen["schemas"].items():  # no limit a model could copy a wrong figure into
        assert not any(p in json.dumps(schema) for p in LIMIT_PARAMETERS), name
    assert set(seen["schemas"]["run_power_flow"]["properties"]) == {"grid_id"}
    assert set(seen["schemas"]["apply_actions"]["properties"]) == {"grid_id", "actions"}
    assert '"limits"' not in seen["prompt"] and "opf_max_loading_percent" not in seen["prompt"] and "0.97" not in seen["prompt"]
    studied = [r for r in session.workspace.ledger.since(None)
               if r.tool in ("run_power_flow", "run_contingency_analysis", "propose_remedial_actions")]
    assert len(studied) == 3
    for record in studied:  # the limits used are the scenario's, and its results say so
        assert [record.inputs[k] for k in ("vm_min_pu", "vm_max_pu", "max_loading_percent")] == [0.97, 1.06, 90.0]
        limits = {x["name"]: (x["lower"], x["upper"]) for x in record.result["limits"]}
        assert limits == {"voltage_band": (0.97, 1.06), "thermal_normal": (None, 90.0)}, record.tool
    applied = session.workspace.ledger.get(turn.tool_calls[-1].evidence_id)
    assert applied.tool == "apply_actions" and applied.inputs["actions"][0]["type"] == "candidate"


def test_the_minimal_telemetry_study_has_no_parameters_to_fill():
    from gridsage.reasoning.agent.session import session_tools

    scenario, folder = load_scenario("feeder_voltage_sag_oscillation")
    session = ChatSession(scenario=scenario, scenario_dir=folder, tools="study")
    tools = session_tools(session)
    assert tools.names() == ["load_study", "monitor_telemetry", "score_telemetry"]
    assert all(not inspect.signature(spec.published).parameters for spec in tools)
    assert "monitor_telemetry()" in session.context() and "nominal_voltage" not in session.context()
    with use_workspace(session.workspace):
        tools["load_study"].published()
        monitor, scored = tools["monitor_telemetry"].published(), tools["score_telemetry"].published()
    spec, record = scenario.telemetry, session.workspace.ledger.get(monitor.evidence_id)
    assert record.inputs["path"] == str(session.readings_path()) == session.workspace.ledger.get(scored.evidence_id).inputs["path"]
    assert (record.inputs["nominal_frequency_hz"], record.inputs["nominal_voltage_v"], record.inputs["nominal_voltage_by_device"]) \
        == (spec.nominal_frequency_hz, spec.nominal_voltage_v, spec.nominal_voltage_by_device or None)  # as the playbook binds them


def plain_pandapower_verdict(scenario) -> str:
    """The oracle: the scenario's post-event grid solved with plain pandapower (Q limits), judged against its limits."""
    import pandapower as pp
    import pandapower.networks as pn

    net = getattr(pn, scenario.grid.source)()
    for event in scenario.events:
        kind = {"line_outage": "line", "gen_trip": "gen"}[event.type]
        net[kind].loc[getattr(event, kind), "in_service"] = False
    pp.runpp(net, enforce_q_lims=True)
    assert scenario.scaling.load == scenario.scaling.generation == 1.0
    limits, vm = scenario.limits, net.res_bus.vm_pu.dropna()  # unset: ANSI C84.1 Range A, 100 % of rating
    low, high, rating = limits.vm_min_pu or 0.95, limits.vm_max_pu or 1.05, limits.max_loading_percent or 100.0
    broken = ((vm < low) | (vm > high)).any() or (net.res_line.loading_percent > rating).any() or (
        net.res_trafo.loading_percent > rating).any()
    return "violations" if broken else "secure"


@pytest.mark.parametrize("name, claimed", [("case9_line_trip_undervoltage", "secure"),
                                           ("case9_unit_trip_secure", "violations")])
def test_a_verdict_that_contradicts_the_power_flow_is_sent_back(name, claimed):
    """A small model once called a grid with a bus at 0.79 pu 'secure': the answer goes back with the evidence."""
    from pydantic_ai.messages import RetryPromptPart

    scenario, folder = load_scenario(name)
    truth = plain_pandapower_verdict(scenario)
    assert truth != claimed
    prompts = []

    def careless(messages, info: AgentInfo) -> ModelResponse:
        answer_tool = info.output_tools[0].name if info.output_tools else None  # offered once the N-1 is known
        done = {p.tool_name: content(p) for p in returns(messages) if p.tool_name != answer_tool}
        retries = [p for m in messages for p in m.parts  # what came back for an answer: the validator's prompt
                   if isinstance(p, (RetryPromptPart, ToolReturnPart)) and p.tool_name == answer_tool]
        if "load_study" not in done:
            return ModelResponse(parts=[ToolCallPart("load_study", {})])
        following = next((t for t in ("run_power_flow", "run_contingency_analysis") if t not in done), None)
        if following:
            return ModelResponse(parts=[ToolCallPart(following, {"grid_id": done["load_study"]["grid_id"]})])
        verdict = claimed
        if retries:
            prompts.append(str(retries[-1].content))
            verdict = re_verdict.search(prompts[-1]).group(1)  # as a model would: it reads the prompt
        pf = done["run_power_flow"]["evidence_id"]
        answer = {"verdict": verdict, "answer": "See the power flow.",
                  "claims": [{"statement": "See the power flow.", "evidence_ids": [pf]}]}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, answer)])

    import re
    re_verdict = re.compile(r"verdict='(\w+)'")
    session = ChatSession(model=FunctionModel(careless), scenario=scenario, scenario_dir=folder, tools="study")
    turn = ask(session, scenario.question)
    assert turn.source == "model", turn.notice
    assert turn.answer.verdict == truth and len(prompts) == 1
    assert turn.tool_calls[1].evidence_id in prompts[0] and repr(claimed) in prompts[0]

    def stubborn(messages, info: AgentInfo) -> ModelResponse:  # never corrects itself: the planner answers
        if "run_contingency_analysis" not in {p.tool_name for p in returns(messages)}:
            return careless(messages, info)
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"verdict": claimed, "answer": "-"})])

    turn = ask(ChatSession(model=FunctionModel(stubborn), scenario=scenario, scenario_dir=folder, tools="study"), "?")
    assert turn.source == "planner" and "failed" in turn.notice and turn.answer.verdict == truth


def test_load_study_estimates_the_state_and_reports_reliability_without_the_planted_truth():
    """A state-estimation scenario's load_study gives the estimated grid (never the planted gross error); a reliability
    scenario's gives the IEEE 1366 indices; neither prompt shows what the simulation planted."""
    from gridsage.tools.workspace import Workspace, use_workspace

    scenario, folder = load_scenario("pglib14_scada_bad_voltage_meter")
    session = ChatSession(scenario=scenario, scenario_dir=folder)
    prompt = session.context()
    assert "gross_errors" not in prompt and "size_sigma" not in prompt and "bad_data" in prompt
    with use_workspace(session.workspace):
        grid = session_tools(session)["load_study"].function()
    assert grid.grid_id.endswith(":estimated") and "bad data removed: bus8 voltage" in grid.changes[-1]
    scenario, folder = load_scenario("feeder_reliability_2025_storms")
    session = ChatSession(scenario=scenario, scenario_dir=folder, tools="study")
    assert session_tools(session).names() == ["load_study"]
    assert "Major Event Day" in session.context() and '"expect"' not in session.context()
    with use_workspace(Workspace()):
        report = session_tools(session)["load_study"].function()
    assert report.year == 2025 and [str(m.date) for m in report.major_event_days] == ["2025-10-28", "2025-07-14"]
