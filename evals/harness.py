"""The evaluation harness: the deterministic planner and any configured model, scored on scenarios.

Each scenario with an ``expect:`` block is one pydantic-evals ``Case``; each
answerer (the planner, or a model through the chat agent) is one task run
over all cases.  Every case gets a fresh workspace, so evidence never leaks
between cases.  The scenario folder can be any folder, so hidden sets stay
outside the repository.

Scores (per case; the report averages them):

==========================  ============================================================================
``verdict_correct``         1 if the answer's verdict equals ``expect.verdict``
``false_safe``              1 if the scenario has a violation, no solution or a risk (``at_risk``) and the
                            answer says secure
``false_alarm``             1 if the scenario is secure and the answer reports violations, no solution or a
                            risk, or if it reports an expected sensor fault as a grid event
``violation_recall``        share of the expected overloaded / under- / overvoltage / at-risk elements named
                            as the subject of an evidence-backed claim (1 when none are expected); text in
                            parentheses (branch end buses) and "If X trips" claims name no subject
``event_recall``            share of the expected telemetry grid events and sensor faults the answer lists in
                            ``telemetry_events`` with the right origin and evidence (telemetry scenarios only)
``action_validity``         1 if the grid with the proposed actions applied, re-solved by an independent
                            pandapower AC power flow, converges with less total excess, no new violated
                            element and a lower loading of every expected at-risk element; 0 if not, or
                            if actions were proposed but never applied
``citation_coverage``       share of the standards entries the expected violations call for that the
                            answer cites (thermal: NERC TPL-001 ratings; voltage: ANSI C84.1 Range A;
                            no solution: TPL-001 instability), plus those ``expect.citations`` lists
``grounding_rate``          grounded / checked numbers with units (:mod:`gridsage.reasoning.agent.grounding`)
==========================  ============================================================================

Metrics: ``invalid_tool_calls``, ``repeated_tool_calls`` (refused by the loop
guard), ``fallbacks`` (a model failed and the planner answered: the case
scores as no answer, so the model is never credited with the planner's
work), ``latency_s``, ``tokens``.

References
----------
.. [1] PowerAgentBench: keep public and hidden cases apart; score evidence,
   not only final answers (as cited in GridSage issue 5).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gridsage.reasoning.agent import ChatSession, Turn, ask
from gridsage.reasoning.scenario import Expect, ExpectedEvent, Scenario, load_scenario

#: the standards entries each expected violation kind calls for
REQUIRED_CITATIONS = {"overloaded": "nerc-tpl-001-facility-ratings", "undervoltage": "ansi-c84-1-range-a",
                      "overvoltage": "ansi-c84-1-range-a", "no_solution": "nerc-tpl-001-instability-cascading"}
DEFAULT_QUESTION = "What is the state of the grid after these events, what is at risk next, and what should we do first?"
_ELEMENT = re.compile(r"\b(line|trafo|trafo3w|bus) (\d+)\b")
#: verdicts that report a problem (calling them secure is false-safe; reporting them on a secure case is an alarm)
PROBLEMS = ("violations", "no_solution", "at_risk")


class CaseOutput(BaseModel):
    """What one answerer produced for one scenario, plus the independent re-check of its actions."""

    turn: Turn
    action_check: str = Field(description="'valid', 'invalid: ...', 'unapplied' (proposed, never applied) or 'none'.")
    fallback: bool = Field(False, description="A model was asked but the planner answered (the model gets no credit).")


def scenario_files(folder: Path | None = None) -> list[Path]:
    """Scenario YAML files with an ``expect:`` block, sorted; default the shipped library."""
    import importlib.resources

    root = Path(folder) if folder else Path(str(importlib.resources.files("gridsage.scenarios")))
    return sorted(p for p in root.glob("*.y*ml") if re.search(r"^expect:", p.read_text(encoding="utf-8"), re.M))


def _violations(net, band, thermal) -> dict[tuple[str, int], float]:
    """Element -> excess beyond its limit [pu or %] in a solved net (independent of GridSage's checks)."""
    out = {}
    for table in ("line", "trafo", "trafo3w"):
        if len(net[table]) and f"res_{table}" in net and len(net[f"res_{table}"]):
            loading = net[f"res_{table}"].loading_percent.dropna()
            for idx, value in loading[loading > thermal.upper + 1e-6].items():
                out[(table, int(idx))] = float(value - thermal.upper)
    if len(net.impedance) and len(net.res_impedance):  # transformers stored as impedance: terminal current vs sn_mva
        import numpy as np

        vn = net.bus.vn_kv
        current = np.fmax(net.res_impedance.i_from_ka * vn.reindex(net.impedance.from_bus).to_numpy(),
                          net.res_impedance.i_to_ka * vn.reindex(net.impedance.to_bus).to_numpy())
        loading = (current * np.sqrt(3) / net.impedance.sn_mva * 100).dropna()
        for idx, value in loading[loading > thermal.upper + 1e-6].items():
            out[("impedance", int(idx))] = float(value - thermal.upper)
    vm = net.res_bus.vm_pu.dropna()
    for idx, value in vm[(vm < band.lower - 1e-9) | (vm > band.upper + 1e-9)].items():
        out[("bus", int(idx))] = float(max(band.lower - value, value - band.upper)) * 100
    return out


def check_actions(session: ChatSession, turn: Turn, relieve: list[str] = ()) -> str:
    """Re-solve the grid the last ``apply_actions`` produced with a plain pandapower AC power flow.

    Parameters
    ----------
    session : ChatSession
    turn : Turn
    relieve : list of str
        Elements (e.g. ``'trafo 0'``) whose loading [%] the actions must lower (the expected at-risk elements).

    Returns
    -------
    str
        ``'valid'`` when it converges with less total excess than the grid the
        actions were applied to, no newly violated element and a lower loading
        of every element in ``relieve``; ``'invalid: <why>'``; ``'unapplied'``
        when the answer proposes actions but none was applied; ``'none'`` when
        no action was proposed.
    """
    import pandapower as pp

    from gridsage.knowledge.limits import thermal_limit, voltage_band

    applied = [r for r in session.workspace.ledger.since(None) if r.tool == "apply_actions" and r.result.get("grid_id")]
    if not applied:
        return "unapplied" if turn.answer.actions else "none"
    before_id, after_id = applied[0].inputs["grid_id"], applied[-1].result["grid_id"]
    band, thermal = voltage_band(), thermal_limit()
    found, loading = {}, {}
    for label, grid_id in (("before", before_id), ("after", after_id)):
        net = session.workspace.copy_net(grid_id)
        try:
            pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)  # units within their Q capability
        except pp.LoadflowNotConverged:
            return f"invalid: the {label}-action grid has no AC solution"
        found[label] = _violations(net, band, thermal)
        loading[label] = {e: float(net[f"res_{table}"].at[int(i), "loading_percent"]) for e in relieve
                          for table, i in [e.split()] if table in ("line", "trafo", "trafo3w")}
    new = sorted(set(found["after"]) - set(found["before"]))
    if new:
        return f"invalid: new violations at {', '.join(f'{t} {i}' for t, i in new[:5])}"
    if sum(found["after"].values()) >= sum(found["before"].values()) - 1e-6 and found["before"]:
        return "invalid: no relief"
    hot = [e for e in loading["before"] if loading["after"][e] >= loading["before"][e] - 1e-6]
    if hot:
        return f"invalid: no relief of {', '.join(hot)}"
    return "valid"


def claim_subject(statement: str) -> str | None:
    """The element a claim is about: its first ``line/trafo/bus N`` outside parentheses, unless it is an outage."""
    text = re.sub(r"\([^)]*\)", " ", statement).strip()
    if re.match(r"(?i)(if|loss of|losing|should)\b", text):
        return None
    match = _ELEMENT.search(text)
    return f"{match.group(1)} {match.group(2)}" if match else None


def make_task(model: Any = None, model_label: str | None = None, tools: str = "all"):
    """A pydantic-evals task: scenario file path -> :class:`CaseOutput`, in a fresh session each time.

    ``tools`` is the tool profile the model sees (see :class:`ChatSession`).
    """
    from pydantic_evals import increment_eval_metric

    def task(path: str) -> CaseOutput:
        scenario, folder = load_scenario(path)
        session = ChatSession(model=model, model_label=model_label, scenario=scenario, scenario_dir=folder, tools=tools)
        turn = ask(session, scenario.question or DEFAULT_QUESTION)
        fallback = model is not None and turn.source != "model"
        relieve = scenario.expect.at_risk if scenario.expect else []
        out = CaseOutput(turn=turn, action_check="none" if fallback else check_actions(session, turn, relieve),
                         fallback=fallback)
        for name, value in case_metrics(out).items():
            increment_eval_metric(name, value)
        return out

    return task


def case_metrics(out: CaseOutput) -> dict[str, float]:
    """Tool-call counts, latency [s] and tokens of one case."""
    turn = out.turn
    return {"invalid_tool_calls": float(sum(c.status == "error" for c in turn.tool_calls)),
            "repeated_tool_calls": float(turn.refused_repeats), "latency_s": turn.elapsed_s,
            "tokens": float(turn.input_tokens + turn.output_tokens), "fallbacks": float(out.fallback)}


def _reported(answer, expected: ExpectedEvent, origin: str) -> bool:
    """Whether the answer lists the expected telemetry event, with evidence, as of ``origin``."""
    return any(e.device_id == expected.device_id and expected.sensor_type in e.sensor_type.split(", ")
               and (expected.type is None or e.type == expected.type) and e.origin == origin and e.evidence_ids
               for e in answer.telemetry_events)


def score(expect: Expect, out: CaseOutput) -> dict[str, float]:
    """The scores of one case; see the module docstring.  A model's case the planner answered scores as no answer."""
    from gridsage.reasoning.agent import AgentAnswer

    turn = out.turn
    answer = AgentAnswer(verdict="unknown", answer="") if out.fallback else turn.answer
    truth = expect.verdict
    scores: dict[str, float] = {}
    faults_as_grid = any(_reported(answer, e, "grid") for e in expect.sensor_faults)
    if truth:
        scores["verdict_correct"] = float(answer.verdict == truth)
        scores["false_safe"] = float(truth in PROBLEMS and answer.verdict == "secure")
        scores["false_alarm"] = float((truth == "secure" and answer.verdict in PROBLEMS) or faults_as_grid)
    elif faults_as_grid:
        scores["false_alarm"] = 1.0
    events = [(e, "grid") for e in expect.grid_events] + [(e, "sensor") for e in expect.sensor_faults]
    if events:
        scores["event_recall"] = sum(_reported(answer, e, origin) for e, origin in events) / len(events)
    expected = set(expect.overloaded) | set(expect.undervoltage) | set(expect.overvoltage) | set(expect.at_risk)
    named = {subject for c in answer.claims if c.evidence_ids and (subject := claim_subject(c.statement))}
    scores["violation_recall"] = len(expected & named) / len(expected) if expected else 1.0
    if out.action_check != "none":
        scores["action_validity"] = float(out.action_check == "valid")
    required = {REQUIRED_CITATIONS[k] for k in ("overloaded", "undervoltage", "overvoltage") if getattr(expect, k)}
    if truth == "no_solution":
        required.add(REQUIRED_CITATIONS["no_solution"])
    required |= set(expect.citations)
    scores["citation_coverage"] = len(required & set(answer.citations)) / len(required) if required else 1.0
    if not out.fallback:
        scores["grounding_rate"] = turn.grounding.rate
    return scores


class SummaryRow(BaseModel):
    """One answerer's averages over the cases."""

    answerer: str
    cases: int
    failed_cases: int = Field(description="Cases whose task raised (counted, never dropped).")
    false_safe: int = Field(description="Count, goal 0.")
    false_alarm: int
    verdict_correct: float | None
    violation_recall: float | None
    event_recall: float | None
    action_validity: float | None
    citation_coverage: float | None
    grounding_rate: float | None
    invalid_tool_calls: int
    repeated_tool_calls: int
    fallbacks: int = Field(description="Cases a model failed and the planner answered instead (scored as no answer).")
    latency_s_median: float
    tokens: int


class EvalRun(BaseModel):
    """Everything one ``gridsage eval`` produced."""

    scenarios: list[str]
    summary: list[SummaryRow]
    cases: list[dict[str, Any]]


def run_eval(files: list[Path], answerers: list[tuple[str, Any]], progress: bool = False, tools: str = "all") -> EvalRun:
    """Run every answerer over every scenario with pydantic-evals and summarise.

    Parameters
    ----------
    files : list of pathlib.Path
        Scenario files with ``expect:`` blocks.
    answerers : list of (label, model)
        ``model`` None is the deterministic planner.
    progress : bool, default False
        Show pydantic-evals' progress bar.
    tools : str, default 'all'
        Tool profile the models see (:data:`gridsage.tools.toolset.PROFILES`).

    Returns
    -------
    EvalRun
    """
    import statistics

    from pydantic_evals import Case, Dataset
    from pydantic_evals.evaluators import Evaluator, EvaluatorContext

    class ScenarioScores(Evaluator):
        def evaluate(self, ctx: EvaluatorContext) -> dict[str, float]:
            return score(ctx.expected_output, ctx.output)

    cases = []
    for path in files:
        scenario: Scenario = load_scenario(str(path))[0]
        cases.append(Case(name=scenario.name, inputs=str(path), expected_output=scenario.expect))
    dataset = Dataset(name="gridsage-scenarios", cases=cases, evaluators=[ScenarioScores()])
    rows, details = [], []
    for label, model in answerers:
        report = dataset.evaluate_sync(make_task(model, label if model is not None else None, tools), name=label,
                                       max_concurrency=1, progress=progress)
        done = report.cases
        values = lambda key: [c.scores[key].value for c in done if key in c.scores]  # noqa: E731
        mean = lambda key: round(statistics.fmean(values(key)), 4) if values(key) else None  # noqa: E731
        metric = lambda key: [c.metrics.get(key, 0.0) for c in done]  # noqa: E731
        rows.append(SummaryRow(answerer=label, cases=len(done), failed_cases=len(report.failures),
                               false_safe=int(sum(values("false_safe"))), false_alarm=int(sum(values("false_alarm"))),
                               verdict_correct=mean("verdict_correct"), violation_recall=mean("violation_recall"),
                               event_recall=mean("event_recall"),
                               action_validity=mean("action_validity"), citation_coverage=mean("citation_coverage"),
                               grounding_rate=mean("grounding_rate"),
                               invalid_tool_calls=int(sum(metric("invalid_tool_calls"))),
                               repeated_tool_calls=int(sum(metric("repeated_tool_calls"))),
                               fallbacks=int(sum(metric("fallbacks"))),
                               latency_s_median=round(statistics.median(metric("latency_s")), 2) if done else 0.0,
                               tokens=int(sum(metric("tokens")))))
        for c in done:
            out: CaseOutput = c.output
            details.append({"answerer": label, "scenario": c.name, "scores": {k: v.value for k, v in c.scores.items()},
                            "metrics": dict(c.metrics), "verdict": out.turn.answer.verdict, "source": out.turn.source,
                            "notice": out.turn.notice, "action_check": out.action_check, "fallback": out.fallback,
                            "ungrounded": out.turn.grounding.ungrounded, "answer": out.turn.answer.answer,
                            "tool_calls": [f"{t.tool}:{t.status}" for t in out.turn.tool_calls]})
        for failure in report.failures:
            details.append({"answerer": label, "scenario": failure.name, "error": failure.error_message})
    return EvalRun(scenarios=[str(p) for p in files], summary=rows, cases=details)


COLUMNS = ("answerer", "cases", "failed_cases", "false_safe", "false_alarm", "verdict_correct", "violation_recall",
           "event_recall", "action_validity", "citation_coverage", "grounding_rate", "invalid_tool_calls", "repeated_tool_calls",
           "fallbacks", "latency_s_median", "tokens")


def markdown_report(run: EvalRun) -> str:
    """The summary table and per-case rows as markdown."""
    head = "| " + " | ".join(COLUMNS) + " |\n|" + "---|" * len(COLUMNS) + "\n"
    rows = "".join("| " + " | ".join("–" if getattr(r, c) is None else str(getattr(r, c)) for c in COLUMNS) + " |\n"
                   for r in run.summary)
    cases = ("| answerer | scenario | verdict | recall | actions | grounding | tool calls | notes |\n"
             "|---|---|---|---|---|---|---|---|\n")
    for c in run.cases:
        if "error" in c:
            cases += f"| {c['answerer']} | {c['scenario']} | error | | | | | {c['error'][:80]} |\n"
            continue
        s = c["scores"]
        verdict = f"{c['verdict']} (planner's fallback, scored as no answer)" if c.get("fallback") else c["verdict"]
        cases += (f"| {c['answerer']} | {c['scenario']} | {verdict} | {s.get('violation_recall', 0):.2f} | "
                  f"{c['action_check']} | {s.get('grounding_rate', 0):.2f} | {', '.join(c['tool_calls']) or '–'} | "
                  f"{'; '.join(filter(None, [', '.join(c['ungrounded'][:3]), c['notice'] and c['notice'][:80]]))} |\n")
    return f"# GridSage evaluation\n\n{len(run.scenarios)} scenarios.\n\n## Summary\n\n{head}{rows}\n## Cases\n\n{cases}"


def write_reports(run: EvalRun, folder: Path) -> tuple[Path, Path]:
    """Write ``eval.json`` and ``eval.md`` into ``folder``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    data, text = folder / "eval.json", folder / "eval.md"
    data.write_text(json.dumps(run.model_dump(mode="json"), indent=2), encoding="utf-8")
    text.write_text(markdown_report(run), encoding="utf-8")
    return data, text
