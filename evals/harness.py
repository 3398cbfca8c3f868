"""The evaluation harness: the deterministic planner and any configured model, scored on scenarios.

Each scenario with an ``expect:`` block is one pydantic-evals ``Case``; each
answerer (the planner, or a model through the chat agent) is one task run
over all cases.  Every case gets a fresh workspace, so evidence never leaks
between cases.  The scenario folder can be any folder, so hidden sets stay
outside the repository.

The oracle: for a grid scenario the harness builds the scenario's post-event
grid again in a workspace of its own (:func:`post_event_oracle`: the same
loading, scaling, forecast peak and events as ``load_study`` and the
playbooks) and solves it with a plain pandapower AC power flow with generator
Q limits.  It gives the grid's fingerprint (:func:`grid_fingerprint`) and the
excess of every violated element, which severity regret and the action check
use.

Named elements: the subjects of the answer's evidence-backed claims
(:func:`claim_subject`; an outage claim "If line 96 trips", a claim on the
state before the events, or one about a unit or load names none); the expected
elements are ``overloaded`` ∪ ``undervoltage`` ∪ ``overvoltage`` ∪ ``at_risk``
of ``expect:``.

Scores (per case; the report averages them, sums the counts; "–" where left out):

========================  ==============================================================================
``verdict_correct``       1 if the answer's verdict equals ``expect.verdict``
``false_safe``            1 if the scenario has a violation, no solution or a risk (``at_risk``) and the
                          answer says secure
``false_alarm``           1 if the scenario is secure and the answer reports violations, no solution or a
                          risk, or if it reports an expected sensor fault as a grid event
``violation_precision``   expected ∩ named / named (left out when nothing is named)
``violation_recall``      expected ∩ named / expected (left out when nothing is expected)
``violation_f1``          2PR / (P + R); 1 when nothing is expected and nothing named, 0 when only one of
                          the two is empty (left out of a telemetry case that names nothing)
``over_claims``           count of named elements outside the key
``severity_regret``       excess beyond its limit of the worst expected element the answer missed, from the
                          oracle [% of rating for branches, pu × 100 for buses]; 0 when none is missed (only
                          where the oracle finds an expected element beyond its limit)
``event_recall``          share of the expected telemetry grid events and sensor faults the answer lists in
                          ``telemetry_events`` with the right origin and evidence (telemetry scenarios only)
``technique_f1``          F1 of the ATT&CK for ICS technique ids named in evidence-backed claims against
                          ``expect.techniques`` (cyber scenarios: those with a ``cyber:`` block)
``root_cause``            1 if the first evidence-backed claim naming a "root cause" names ``expect.root_cause``
                          as the first causal-graph node it mentions (transformer scenarios with a history)
``med_f1``                F1 of the dates (YYYY-MM-DD) that evidence-backed claims naming a "major event day" give
                          against ``expect.major_event_days`` (reliability scenarios that expect some)
``action_validity``       1 if the plan passes :func:`check_actions` ('valid'); 0 if it fails, was never
                          applied, or if there is no plan where the key calls for action (a problem verdict
                          with expected elements, or ``plan_clears``); left out otherwise
``top_risk``              1 if ``expect.top_risk`` is among the first :data:`TOP_RISK_RANK` outages the answer
                          names as N-1 risks in evidence-backed claims (:func:`outage_subject`)
``min_findings``          1 if the answer has at least ``expect.min_findings`` evidence-backed claims
``citation_coverage``     required ∩ cited / required, where required = the standards entries the expected
                          violations call for (thermal: NERC TPL-001 ratings; voltage: ANSI C84.1 Range A;
                          no solution: TPL-001 instability) plus ``expect.citations``
``citation_precision``    required ∩ cited / cited (0 when nothing is cited); both citation scores are left
                          out when the key requires no entry
``grounding_rate``        grounded / checked numbers with units (:mod:`gridsage.reasoning.agent.grounding`);
                          with no number checked: 0 when the case expects findings (a problem verdict,
                          expected elements, ``min_findings``), else left out (a sensor fault needs no figure)
``grounding_checked``     count of numbers with units checked
``headline``              the case score, below
========================  ==============================================================================

The headline (one per answerer, in [-1, 1]): the mean over cases (a failed case
scores 0) of

    s = -1                        if the answer is false-safe
    s = Σ_k w_k x_k / Σ_k w_k     else, over the components x_k the case has

with weights :data:`WEIGHTS`: verdict 3, violation F1 3, event recall 3, technique F1 3, MED F1 3, action
validity 2, root cause 2, and 1 each for severity = 1 - min(1, severity_regret / :data:`REGRET_SCALE`),
citation F1 (coverage and precision), grounding rate, top risk and min findings.
A false-safe case scores -1, below every answer that is not false-safe (>= 0): each of
N cases called safe wrongly costs the headline at least 1/N more than the worst safe-side answer.
The weights are set so that naming everything, acting on another grid, and constant verdicts
score at most half the planner's headline (tests/reasoning/test_adversarial_eval.py).

Metrics: ``invalid_tool_calls``, ``repeated_tool_calls`` (refused by the loop
guard), ``fallbacks`` (a model failed and the planner answered: the case
scores as no answer, so the model is never credited with the planner's
work), ``latency_s``, ``tokens``, ``requests`` (model calls; tokens per call = tokens / requests).

References
----------
.. [1] PowerAgentBench: keep public and hidden cases apart; score evidence-backed recall, false-safe rate,
   severity regret and invalid tool calls (as cited in GridSage issue 5).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gridsage.reasoning.agent import ChatSession, Turn, ask
from gridsage.reasoning.scenario import Expect, ExpectedEvent, Scenario, load_scenario

#: the standards entries each expected violation kind calls for
REQUIRED_CITATIONS = {"overloaded": "nerc-tpl-001-facility-ratings", "undervoltage": "ansi-c84-1-range-a",
                      "overvoltage": "ansi-c84-1-range-a", "no_solution": "nerc-tpl-001-instability-cascading"}
DEFAULT_QUESTION = "What is the state of the grid after these events, what is at risk next, and what should we do first?"
#: element kinds a key can name (branches and buses), and the other kinds a claim may be about
KEY_KINDS = ("line", "trafo3w", "trafo", "impedance", "bus")
_ELEMENT = re.compile(rf"\b({'|'.join(KEY_KINDS)}|gen|sgen|load|ext_grid|shunt|storage|switch) (\d+)\b")
#: a claim about an outage ("If line 96 trips", "Loss of line 96") or about the state before the events
_OUTAGE = re.compile(r"(?i)^(if|loss of|losing|should|outage of|tripping)\s+(the\s+)?")
_BEFORE = re.compile(r"(?i)\bbefore the events?\b")
#: a claim that its element is within its limits names it as neither violated nor at risk
_WITHIN = re.compile(r"(?i)\b(stays? within|no violations?\b|0 violation)")
#: verdicts that report a problem (calling them secure is false-safe; reporting them on a secure case is an alarm)
PROBLEMS = ("violations", "no_solution", "at_risk", "attack_suspected")
#: headline weights of the per-case components
WEIGHTS = {"verdict_correct": 3, "violation_f1": 3, "event_recall": 3, "technique_f1": 3, "med_f1": 3, "action_validity": 2,
           "root_cause": 2, "severity": 1, "citation_f1": 1, "grounding_rate": 1, "top_risk": 1, "min_findings": 1}
#: an ATT&CK for ICS technique id as an answer names it
_TECHNIQUE = re.compile(r"\bT0\d{3}\b")
#: a causal-graph node as an answer names it (gridsage.tools.causal.feeder_causal_graph's names)
_NODE = re.compile(r"\b(ambient_c|irradiance_w_m2|(?:feeder|busbar|switch|trafo|line|sgen|load)_\w+?_(?:p_mw|theta_\w+?_c))\b")
_ROOT = re.compile(r"(?i)\broot cause")
#: a claim about a Major Event Day (IEEE 1366), and the dates it gives
_MED = re.compile(r"(?i)\bmajor event day")
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
#: severity regret that scores 0 in the headline [% of rating, or pu × 100]
REGRET_SCALE = 10.0
#: outages named as N-1 risks that count for ``top_risk`` (a list of every outage does not)
TOP_RISK_RANK = 3


class CaseOutput(BaseModel):
    """What one answerer produced for one scenario, plus the independent re-check of its actions."""

    turn: Turn
    action_check: str = Field(description="'valid', 'invalid: ...', 'unapplied' (proposed, never applied) or 'none'.")
    fallback: bool = Field(False, description="A model was asked but the planner answered (the model gets no credit).")
    oracle_excess: dict[str, float] | None = Field(None, description=(
        "Excess beyond its limit of every violated element of the post-event grid, re-solved by the oracle "
        "[% of rating, or pu × 100 for buses]; None for a telemetry study or a grid with no AC solution."))
    cyber: bool = Field(False, description="The scenario triages logs (a cyber: block): technique F1 is scored.")


@dataclass(frozen=True)
class Oracle:
    """A scenario's post-event grid, built in a workspace of its own and solved with plain pandapower.

    Attributes
    ----------
    fingerprint : str
        :func:`grid_fingerprint` of the post-event grid.
    excess : dict or None
        Element (``'line 29'``) -> excess beyond its limit [% of rating, or pu × 100 for buses]; None when the
        grid has no AC solution.
    loading : dict
        Branch -> loading [% of rating] (empty with no AC solution).
    limits : tuple
        The voltage band and thermal limit applied (:mod:`gridsage.knowledge.limits`), from the scenario's ``limits:``.
    """

    fingerprint: str
    excess: dict[str, float] | None
    loading: dict[str, float]
    limits: tuple


def scenario_files(folder: Path | None = None) -> list[Path]:
    """Scenario YAML files with an ``expect:`` block, sorted; default the shipped library."""
    import importlib.resources

    root = Path(folder) if folder else Path(str(importlib.resources.files("gridsage.scenarios")))
    return sorted(p for p in root.glob("*.y*ml") if re.search(r"^expect:", p.read_text(encoding="utf-8"), re.M))


def _violations(net, band, thermal) -> dict[str, float]:
    """Element (``'line 29'``) -> excess beyond its limit [% of rating, or pu × 100 for buses] in a solved net
    (independent of GridSage's checks)."""
    import numpy as np

    loadings = {table: net[f"res_{table}"].loading_percent for table in ("line", "trafo", "trafo3w")
                if len(net[table]) and f"res_{table}" in net and len(net[f"res_{table}"])}
    if len(net.impedance) and len(net.res_impedance):  # transformers stored as impedance: terminal current vs sn_mva
        vn = net.bus.vn_kv
        current = np.fmax(net.res_impedance.i_from_ka * vn.reindex(net.impedance.from_bus).to_numpy(),
                          net.res_impedance.i_to_ka * vn.reindex(net.impedance.to_bus).to_numpy())
        loadings["impedance"] = current * np.sqrt(3) / net.impedance.sn_mva * 100
    out = {f"{table} {idx}": float(value - thermal.upper) for table, loading in loadings.items()
           for idx, value in loading.dropna().items() if value > thermal.upper + 1e-6}
    vm = net.res_bus.vm_pu.dropna()
    for idx, value in vm[(vm < band.lower - 1e-9) | (vm > band.upper + 1e-9)].items():
        out[f"bus {idx}"] = float(max(band.lower - value, value - band.upper)) * 100
    return out


def _solve(net, limits: tuple) -> tuple[dict[str, float], dict[str, float]] | None:
    """Solve ``net`` in place (AC, generator Q limits enforced; the default start, then flat, then DC, then DC with
    50 iterations, as the answer-key oracle does); its violations and branch loadings [%], or None."""
    import pandapower as pp

    for start in ({}, {"init": "flat"}, {"init": "dc"}, {"init": "dc", "max_iteration": 50}):
        try:
            pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True, **start)  # units within their Q capability
            break
        except pp.LoadflowNotConverged:
            continue
    else:
        return None
    loading = {f"{table} {idx}": float(value) for table in ("line", "trafo", "trafo3w") if len(net[f"res_{table}"])
               for idx, value in net[f"res_{table}"].loading_percent.dropna().items()}
    return _violations(net, *limits), loading


#: the element tables and columns a grid's fingerprint covers
FINGERPRINT = {"bus": ("vn_kv", "in_service"), "line": ("from_bus", "to_bus", "max_i_ka", "in_service"),
               "trafo": ("hv_bus", "lv_bus", "sn_mva", "in_service"), "trafo3w": ("hv_bus", "mv_bus", "lv_bus", "in_service"),
               "impedance": ("from_bus", "to_bus", "sn_mva", "in_service"), "switch": ("bus", "element", "et", "closed"),
               "load": ("bus", "p_mw", "q_mvar", "scaling", "in_service"), "gen": ("bus", "p_mw", "vm_pu", "scaling", "in_service"),
               "sgen": ("bus", "p_mw", "q_mvar", "scaling", "in_service"), "ext_grid": ("bus", "vm_pu", "in_service")}


def grid_fingerprint(net) -> str:
    """A hash of a net's element tables (:data:`FINGERPRINT`: buses, branches with ratings and ``in_service``, switches,
    loads, gens and sgens with ``p_mw``/``q_mvar``/``vm_pu``/``in_service``, ext_grid), floats rounded to 1e-9.

    Two nets with the same fingerprint are the same grid in the same state; results are not covered.
    """
    digest = hashlib.sha256()
    for table, columns in FINGERPRINT.items():
        if table in net and len(net[table]):
            frame = net[table][[c for c in columns if c in net[table]]]
            digest.update(f"{table}\n{frame.round(9).to_csv()}".encode())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=64)
def _oracle(path: str, text: str) -> Oracle | None:
    from gridsage.knowledge.limits import thermal_limit, voltage_band
    from gridsage.reasoning.study import apply_scenario, load_scenario_grid
    from gridsage.tools.workspace import Workspace, use_workspace

    scenario, folder = load_scenario(path)
    if scenario.grid is None or scenario.cyber is not None:  # a cyber study's grid is the impact's, not the answer's
        return None
    workspace = Workspace()
    with use_workspace(workspace):
        post, _ = apply_scenario(scenario, load_scenario_grid(scenario, folder).grid_id, folder)
    net = workspace.get(post.grid_id).net
    limits = (voltage_band(scenario.limits.vm_min_pu, scenario.limits.vm_max_pu),
              thermal_limit(scenario.limits.max_loading_percent))
    fingerprint = grid_fingerprint(net)
    simulation = scenario.estimation.simulation if scenario.estimation is not None else None
    if simulation is not None and simulation.load_scale != 1.0:  # the true state the meters measure
        net = copy.deepcopy(net)
        net.load[["p_mw", "q_mvar"]] *= simulation.load_scale
    excess, loading = _solve(net, limits) or (None, {})
    return Oracle(fingerprint, excess, loading, limits)


def post_event_oracle(path: str | Path) -> Oracle | None:
    """The scoring oracle of a scenario file: its post-event grid, built and solved apart from any answerer.

    The grid is built as ``load_study`` and the playbooks build it (:func:`gridsage.reasoning.study.load_scenario_grid`
    and :func:`~gridsage.reasoning.study.apply_scenario`: scaling, forecast P90 peak, events), in a fresh workspace,
    then solved with ``pandapower.runpp(enforce_q_lims=True)``; computed once per file content.

    Parameters
    ----------
    path : str or pathlib.Path
        Scenario YAML file.

    Returns
    -------
    Oracle or None
        None for a telemetry scenario (no grid) or a cyber scenario (the grid is only where commands land).

    Raises
    ------
    InputError
        If the scenario's grid or forecast data cannot be loaded.
    """
    return _oracle(str(path), Path(path).read_text(encoding="utf-8"))


def check_actions(session: ChatSession, turn: Turn, oracle: Oracle | None, relieve: list[str] = (),
                  clears: bool = False) -> str:
    """Re-check the answer's plan on the scenario's own post-event grid with a plain pandapower AC power flow.

    The plan's grid is the last ``apply_actions`` result whose evidence id the answer cites (in its text or
    claims), else the last one.  Its chain of ``apply_actions`` calls (and of ``estimate_state`` grids saved from
    the measurements, in a state-estimation scenario) must start from a grid with the oracle's fingerprint; the
    plan's grid is re-solved with generator Q limits and compared with the oracle's solve (of the true state, the
    post-event grid with its loads times ``estimation.simulation.load_scale``, in a state-estimation scenario).

    Parameters
    ----------
    session : ChatSession
        The answerer's session (its workspace holds the grids and the evidence ledger).
    turn : Turn
    oracle : Oracle or None
        :func:`post_event_oracle` of the scenario; None (no grid) makes every applied plan invalid.
    relieve : list of str
        Elements (e.g. ``'trafo 0'``) whose loading [%] the actions must lower (the expected at-risk elements).
    clears : bool, default False
        ``expect.plan_clears``: the plan must leave no violated element.

    Returns
    -------
    str
        ``'valid'`` when the plan's grid converges with less total excess than the post-event grid, no newly
        violated element, a lower loading of every element in ``relieve`` and, with ``clears``, no violation
        left (a post-event grid with no AC solution is relieved by any plan whose grid has one);
        ``'invalid: <why>'`` (``'invalid: actions on another grid'`` when the chain starts elsewhere);
        ``'unapplied'`` when the answer proposes actions but none was applied; ``'none'`` when no action was
        proposed.
    """
    from gridsage.errors import UnknownGridError

    applied = [r for r in session.workspace.ledger.since(None) if r.tool == "apply_actions" and r.result.get("grid_id")]
    if not applied:
        return "unapplied" if turn.answer.actions else "none"
    cited = set(re.findall(r"ev-\d+", turn.answer.text())) | {e for c in turn.answer.claims for e in c.evidence_ids}
    plan = next((r for r in reversed(applied) if r.evidence_id in cited), applied[-1])
    parent = {r.result["grid_id"]: r.inputs["grid_id"] for r in applied}
    parent |= {r.result["saved_grid_id"]: r.inputs["grid_id"] for r in session.workspace.ledger.since(None)
               if r.tool == "estimate_state" and r.result.get("saved_grid_id")}  # a study of the estimated state
    start = plan.inputs["grid_id"]
    for _ in parent:
        start = parent.get(start, start)
    try:
        same = oracle is not None and grid_fingerprint(session.workspace.get(start).net) == oracle.fingerprint
    except UnknownGridError:  # unloaded since
        same = False
    if not same:
        return "invalid: actions on another grid"
    after = _solve(session.workspace.copy_net(plan.result["grid_id"]), oracle.limits)
    if after is None:
        return "invalid: the plan's grid has no AC solution"
    found, loading = after
    if oracle.excess is not None:
        new = sorted(set(found) - set(oracle.excess))
        if new:
            return f"invalid: new violations at {', '.join(new[:5])}"
        if oracle.excess and sum(found.values()) >= sum(oracle.excess.values()) - 1e-6:
            return "invalid: no relief"
        hot = [e for e in relieve if e in loading and loading[e] >= oracle.loading.get(e, float("inf")) - 1e-6]
        if hot:
            return f"invalid: no relief of {', '.join(hot)}"
    if clears and found:
        worst = max(found, key=found.get)
        return f"invalid: {len(found)} violation(s) left, worst {worst} {found[worst]:.1f} beyond its limit"
    return "valid"


def claim_subject(statement: str) -> str | None:
    """The branch or bus a claim is about: its first ``line/trafo/trafo3w/impedance/bus N`` outside parentheses.

    A claim about an outage ("If line 96 trips", "Loss of ...", "Should ..."), about the state before the
    events, one that says its element is within its limits ("stays within", "0 violation(s)"), or whose first
    element is a unit or load (``gen 3 at bus 5``) names none.
    """
    text = re.sub(r"\([^)]*\)", " ", statement).strip()
    if _OUTAGE.match(text) or _BEFORE.search(text) or _WITHIN.search(text):
        return None
    match = _ELEMENT.search(text)
    return f"{match.group(1)} {match.group(2)}" if match and match.group(1) in KEY_KINDS else None


def outage_subject(statement: str) -> str | None:
    """The branch a claim names as an N-1 risk: ``'line 96'`` in "If line 96 trips ..." or "Loss of line 96 ..."."""
    text = re.sub(r"\([^)]*\)", " ", statement).strip()
    prefix = _OUTAGE.match(text)
    match = prefix and _ELEMENT.match(text, prefix.end())
    return f"{match.group(1)} {match.group(2)}" if match and match.group(1) != "bus" else None


def named_elements(answer) -> set[str]:
    """Subjects (:func:`claim_subject`) of an answer's evidence-backed claims."""
    return {subject for c in answer.claims if c.evidence_ids and (subject := claim_subject(c.statement))}


def make_task(model: Any = None, model_label: str | None = None, tools: str = "all"):
    """A pydantic-evals task: scenario file path -> :class:`CaseOutput`, in a fresh session each time.

    ``tools`` is the tool profile the model sees (see :class:`ChatSession`).  After the answer, the plan is
    re-checked (:func:`check_actions`) against the scenario's :func:`post_event_oracle`, whose excesses go with it.
    """
    from pydantic_evals import increment_eval_metric

    def task(path: str) -> CaseOutput:
        scenario, folder = load_scenario(path)
        session = ChatSession(model=model, model_label=model_label, scenario=scenario, scenario_dir=folder, tools=tools)
        turn = ask(session, scenario.question or DEFAULT_QUESTION)
        oracle = post_event_oracle(path)
        fallback = model is not None and turn.source != "model"
        expect = scenario.expect or Expect()
        check = "none" if fallback else check_actions(session, turn, oracle, expect.at_risk, bool(expect.plan_clears))
        out = CaseOutput(turn=turn, action_check=check, fallback=fallback, oracle_excess=oracle and oracle.excess,
                         cyber=scenario.cyber is not None)
        for name, value in case_metrics(out).items():
            increment_eval_metric(name, value)
        return out

    return task


def case_metrics(out: CaseOutput) -> dict[str, float]:
    """Tool-call counts, latency [s] and tokens of one case."""
    turn = out.turn
    return {"invalid_tool_calls": float(sum(c.status == "error" for c in turn.tool_calls)),
            "repeated_tool_calls": float(turn.refused_repeats), "latency_s": turn.elapsed_s,
            "tokens": float(turn.input_tokens + turn.output_tokens), "requests": float(turn.requests),
            "fallbacks": float(out.fallback)}


def _reported(answer, expected: ExpectedEvent, origin: str) -> bool:
    """Whether the answer lists the expected telemetry event, with evidence, as of ``origin``."""
    return any(e.device_id == expected.device_id and expected.sensor_type in e.sensor_type.split(", ")
               and (expected.type is None or e.type == expected.type) and e.origin == origin and e.evidence_ids
               for e in answer.telemetry_events)


def _f1(a: float | None, b: float | None) -> float:
    return 2 * a * b / (a + b) if a and b else 0.0


def headline(scores: dict[str, float]) -> float:
    """A case's headline score from its other scores (see the module docstring): -1 if false-safe, else the
    :data:`WEIGHTS`-weighted mean of the components the case has [0..1]."""
    if scores.get("false_safe"):
        return -1.0
    parts = {k: scores.get(k) for k in ("verdict_correct", "violation_f1", "event_recall", "technique_f1", "med_f1",
                                        "action_validity", "root_cause", "grounding_rate", "top_risk", "min_findings")}
    if "severity_regret" in scores:
        parts["severity"] = 1 - min(1.0, scores["severity_regret"] / REGRET_SCALE)
    if "citation_coverage" in scores:
        parts["citation_f1"] = _f1(scores["citation_coverage"], scores["citation_precision"])
    parts = {k: v for k, v in parts.items() if v is not None}
    return round(sum(WEIGHTS[k] * v for k, v in parts.items()) / sum(WEIGHTS[k] for k in parts), 4) if parts else 0.0


def score(expect: Expect, out: CaseOutput) -> dict[str, float]:
    """The scores of one case (the module docstring's table); a model's case the planner answered scores as no answer.

    Parameters
    ----------
    expect : Expect
        The scenario's answer key.
    out : CaseOutput
        The answer, its action check and the oracle's excesses.

    Returns
    -------
    dict of str to float
        The scores the case has, by name, ``headline`` included (:func:`headline`); ``severity_regret`` in % of
        rating or pu × 100, counts as floats.
    """
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

    cyber = expect.techniques or out.cyber
    if cyber:
        seen = {t for c in answer.claims if c.evidence_ids for t in _TECHNIQUE.findall(c.statement)}
        want = set(expect.techniques)
        hits_t = len(want & seen)
        scores["technique_f1"] = 1.0 if not (want or seen) else _f1(hits_t / len(seen) if seen else None,
                                                                    hits_t / len(want) if want else None)
    expected = set(expect.overloaded) | set(expect.undervoltage) | set(expect.overvoltage) | set(expect.at_risk)
    named = named_elements(answer)
    hits = len(expected & named)
    precision = hits / len(named) if named else None
    recall = hits / len(expected) if expected else None
    if precision is not None:
        scores["violation_precision"] = precision
    if recall is not None:
        scores["violation_recall"] = recall
    if expected or named or not (events or cyber or expect.major_event_days):
        scores["violation_f1"] = 1.0 if not (expected or named) else _f1(precision, recall)
    scores["over_claims"] = float(len(named - expected))
    excess = out.oracle_excess or {}
    if any(excess.get(e, 0.0) > 0 for e in expected):
        scores["severity_regret"] = max((excess.get(e, 0.0) for e in expected - named), default=0.0)

    needs_plan = bool(expect.plan_clears) or (truth in PROBLEMS and bool(expected))
    if out.action_check != "none" or needs_plan:
        scores["action_validity"] = float(out.action_check == "valid")
    backed = [c for c in answer.claims if c.evidence_ids]
    if expect.root_cause:
        named_root = next((m.group(1) for c in backed if _ROOT.search(c.statement)
                           for m in [_NODE.search(c.statement)] if m), None)
        scores["root_cause"] = float(named_root == expect.root_cause)
    if expect.major_event_days:
        said = {d for c in backed if _MED.search(c.statement) for d in _DATE.findall(c.statement)}
        want_d = set(expect.major_event_days)
        hits_d = len(said & want_d)
        scores["med_f1"] = _f1(hits_d / len(said) if said else None, hits_d / len(want_d))
    if expect.top_risk:
        outages = list(dict.fromkeys(filter(None, (outage_subject(c.statement) for c in backed))))
        scores["top_risk"] = float(expect.top_risk in outages[:TOP_RISK_RANK])
    if expect.min_findings is not None:
        scores["min_findings"] = float(len(backed) >= expect.min_findings)

    required = {REQUIRED_CITATIONS[k] for k in ("overloaded", "undervoltage", "overvoltage") if getattr(expect, k)}
    if truth == "no_solution":
        required.add(REQUIRED_CITATIONS["no_solution"])
    required |= set(expect.citations)
    if required:
        cited = set(answer.citations)
        scores["citation_coverage"] = len(required & cited) / len(required)
        scores["citation_precision"] = len(required & cited) / len(cited) if cited else 0.0

    checked = 0 if out.fallback else turn.grounding.checked
    scores["grounding_checked"] = float(checked)
    if checked:
        scores["grounding_rate"] = turn.grounding.rate
    elif truth in PROBLEMS or expected or expect.min_findings:  # grid findings carry figures; a dropout need not
        scores["grounding_rate"] = 0.0
    scores["headline"] = headline(scores)
    return scores


class SummaryRow(BaseModel):
    """One answerer's averages (and counts) over the cases; None where no case has the score."""

    answerer: str
    headline: float = Field(description="Mean case headline score in [-1, 1]; a failed case counts 0.")
    cases: int
    failed_cases: int = Field(description="Cases whose task raised (counted, never dropped).")
    false_safe: int = Field(description="Count, goal 0.")
    false_alarm: int
    verdict_correct: float | None
    violation_precision: float | None
    violation_recall: float | None
    violation_f1: float | None
    over_claims: int = Field(description="Named elements outside the keys, summed.")
    severity_regret: float | None = Field(description="Mean [% of rating, or pu × 100].")
    event_recall: float | None
    technique_f1: float | None
    root_cause: float | None
    action_validity: float | None
    top_risk: float | None
    min_findings: float | None
    citation_coverage: float | None
    citation_precision: float | None
    grounding_rate: float | None
    grounding_checked: int = Field(description="Numbers with units checked, summed.")
    invalid_tool_calls: int
    repeated_tool_calls: int
    fallbacks: int = Field(description="Cases a model failed and the planner answered instead (scored as no answer).")
    latency_s_median: float
    tokens: int
    requests: int = Field(description="Model requests, summed (tokens / requests: the mean tokens per call).")


#: summary columns that are sums (counts) rather than means
COUNTS = ("false_safe", "false_alarm", "over_claims", "grounding_checked")
COLUMNS = tuple(SummaryRow.model_fields)


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
        metric = lambda key: [c.metrics.get(key, 0.0) for c in done]  # noqa: E731
        row = {k: round(statistics.fmean(values(k)), 4) if values(k) else None for k in COLUMNS}
        row |= {k: int(sum(values(k))) for k in COUNTS}
        row |= {k: int(sum(metric(k))) for k in ("invalid_tool_calls", "repeated_tool_calls", "fallbacks", "tokens",
                                                      "requests")}
        rows.append(SummaryRow(**row | dict(
            answerer=label, cases=len(done), failed_cases=len(report.failures),
            headline=round(sum(values("headline")) / max(1, len(done) + len(report.failures)), 4),
            latency_s_median=round(statistics.median(metric("latency_s")), 2) if done else 0.0)))
        for c in done:
            out: CaseOutput = c.output
            expect: Expect = c.expected_output or Expect()
            key = set(expect.overloaded) | set(expect.undervoltage) | set(expect.overvoltage) | set(expect.at_risk)
            named = named_elements(out.turn.answer) if not out.fallback else set()
            details.append({"answerer": label, "scenario": c.name, "scores": {k: v.value for k, v in c.scores.items()},
                            "metrics": dict(c.metrics), "verdict": out.turn.answer.verdict, "source": out.turn.source,
                            "notice": out.turn.notice, "action_check": out.action_check, "fallback": out.fallback,
                            "missed": sorted(key - named), "over_claimed": sorted(named - key)[:20],
                            "ungrounded": out.turn.grounding.ungrounded, "answer": out.turn.answer.answer,
                            "tool_calls": [f"{t.tool}:{t.status}" for t in out.turn.tool_calls]})
        for failure in report.failures:
            details.append({"answerer": label, "scenario": failure.name, "error": failure.error_message})
    return EvalRun(scenarios=[str(p) for p in files], summary=rows, cases=details)


def _cell(value: Any, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


#: columns of the per-case table
CASE_COLUMNS = ("answerer", "scenario", "headline", "verdict", "precision", "recall", "over-claims", "severity regret",
                "plan", "grounding (checked)", "latency s", "tokens (per request)", "tool calls", "notes")


def case_rows(run: EvalRun) -> list[list[str]]:
    """The per-case table (:data:`CASE_COLUMNS`) as text cells, one row per answerer and scenario."""
    rows = []
    for c in run.cases:
        if "error" in c:
            rows.append([c["answerer"], c["scenario"], "error"] + [""] * 10 + [c["error"][:80]])
            continue
        s, m = c["scores"], c["metrics"]
        notes = filter(None, [c["missed"] and "missed " + ", ".join(c["missed"][:5]),
                              c["over_claimed"] and "over-claimed " + ", ".join(c["over_claimed"][:5]),
                              ", ".join(c["ungrounded"][:3]), c["fallback"] and c["notice"][:80]])
        rows.append([c["answerer"], c["scenario"], _cell(s.get("headline")),
                     f"{c['verdict']} (planner's fallback, scored as no answer)" if c["fallback"] else c["verdict"],
                     _cell(s.get("violation_precision")), _cell(s.get("violation_recall")), str(int(s["over_claims"])),
                     _cell(s.get("severity_regret")), c["action_check"],
                     f"{_cell(s.get('grounding_rate'))} ({int(s['grounding_checked'])})", _cell(m.get("latency_s"), 0),
                     f"{int(m.get('tokens', 0))} ({_cell(m['tokens'] / m['requests'], 0) if m.get('requests') else '–'})",
                     ", ".join(c["tool_calls"]) or "–", "; ".join(notes)])
    return rows


def markdown_report(run: EvalRun) -> str:
    """The summary table (one column per answerer, headline first) and the per-case table, as markdown."""
    line = lambda cells: "| " + " | ".join(cells) + " |\n"  # noqa: E731
    summary = line(["score"] + [r.answerer for r in run.summary]) + "|---" * (len(run.summary) + 1) + "|\n" + "".join(
        line([c] + [_cell(getattr(r, c), 4) for r in run.summary]) for c in COLUMNS[1:])
    cases = line(CASE_COLUMNS) + "|---" * len(CASE_COLUMNS) + "|\n" + "".join(line(row) for row in case_rows(run))
    return (f"# GridSage evaluation\n\n{len(run.scenarios)} scenarios. Headline: mean case score in [-1, 1] "
            f"(a false-safe case scores -1); see gridsage.evals.harness.\n\n## Summary\n\n{summary}\n## Cases\n\n{cases}")


def write_reports(run: EvalRun, folder: Path) -> tuple[Path, Path]:
    """Write ``eval.json`` and ``eval.md`` into ``folder``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    data, text = folder / "eval.json", folder / "eval.md"
    data.write_text(json.dumps(run.model_dump(mode="json"), indent=2), encoding="utf-8")
    text.write_text(markdown_report(run), encoding="utf-8")
    return data, text
