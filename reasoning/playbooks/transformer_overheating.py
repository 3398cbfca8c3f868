"""The "transformer overheating" playbook: when a transformer passes its hot-spot limit, and which load transfer helps.

Given a scenario with a ``transformer:`` block, :meth:`TransformerOverheating.assess`

1. solves the study grid (the scenario's scaling and events) and reads the transformer's loading
   K = ``loading_percent`` / 100 [pu of rated] from the AC power flow;
2. runs the IEEE C57.91 thermal model over today's load cycle (thermal state, ageing) and over the
   projection: the cycle repeated for ``horizon_days`` and grown by ``load_growth_pct_per_day``, whose
   first limit crossing is the time to limit;
   with a ``history:``, the hot-spot reading to explain is attributed to its causes (ambient, feeder loads,
   switching, the top oil's cooling, the sensor itself) by :func:`gridsage.reasoning.causal.explain_reading`, and
   the advice follows the cause: a sensor fault is checked, never switched for;
3. finds the buses the transformer feeds and the open tie switches that reach another transformer's
   feeder, from the topology graph (``graph_downstream``) or, without it, the pandapower switch and line tables;
4. studies every transfer that keeps the network radial: close a tie switch and open one line on the
   path from the tie back to the hot transformer.  Each is applied to a copy (``apply_actions`` with a ``load_transfer`` action)
   and validated by an AC power flow (it must converge, relieve the hot transformer and create no new
   violation); of the valid ones the transfer leaving the higher of the two transformer loadings lowest
   is kept.  Its make-before-break parallel (tie closed, line still in) is checked by power flow too, and
   both transformers' thermal projections are re-run at their new loadings;
5. fills the :class:`~gridsage.reasoning.assessment.Assessment`; every number cites its evidence id.

The load cycle is a shape [pu of its peak] scaled so that its peak is K (the study grid is the peak
case): the ``load_profile_csv`` series normalised to its maximum, or by default the cosine day
``k(h) = a + (1 - a)(1 + cos(2π(h - h_pk)/24))/2`` with trough ``a`` = :data:`CYCLE_TROUGH_PU` at 06:00
and peak at ``h_pk`` = :data:`CYCLE_PEAK_H`, a generic evening-peaking feeder day (an assumption, not a
standard's figure).  Growth compounds per interval: K(t) = K (1 + g/100)^(t / 1 day).

References
----------
.. [1] IEEE Std C57.91-2011, Clause 7 (temperature equations), Clause 5 (ageing, F_AA, F_EQA) and the
   suggested temperature limits by loading type.
.. [2] Distribution operating practice, load transfer between feeders (corpus entry
   ``practice-feeder-load-transfer``): shift the normally-open point, check the receiving feeder and
   the closed loop by power flow, restore radial operation.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

import numpy as np

from gridsage.errors import GraphUnavailableError, InputError, ScenarioError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import cite
from gridsage.reasoning.assessment import ActionStep, Assessment, Finding
from gridsage.reasoning.playbooks.base import Playbook, Progress
from gridsage.reasoning.scenario import Scenario, TransformerStudy
from gridsage.reasoning.study import apply_scenario, load_scenario_grid
from gridsage.tools.equipment.transformer_thermal import (AGEING, EQUATIONS, LIFE, LOADING_LIMITS, MAX_INTERVALS,
                                                          TransformerThermalResult, transformer_thermal)
from gridsage.tools.grid import (BranchResult, DerivedGridResult, ElementEffect, ElementRef, LoadTransfer,
                                 PowerFlowResult, apply_actions, element_name, run_power_flow)
from gridsage.tools.paths import parse_problem, readable_file
from gridsage.tools.workspace import Workspace, current_workspace, use_workspace

#: trough of the default daily cycle [pu of its peak] (at 06:00)
CYCLE_TROUGH_PU = 0.6
#: hour of the default daily cycle's peak [h]
CYCLE_PEAK_H = 18.0
#: radial transfers studied at most
MAX_CANDIDATES = 12
#: bus and branch rows kept in each power-flow evidence record
EVIDENCE_ROWS = 500
#: corpus entries behind the playbook's own findings
TRANSFER_ENTRY = "practice-feeder-load-transfer"
INSTABILITY_ENTRY = "nerc-tpl-001-instability-cascading"




def _switch_name(net, index: int) -> str:
    """The switch's own name (e.g. ``'S1'``) or ``'switch <index>'``."""
    name = net.switch.at[index, "name"]
    return name if isinstance(name, str) and name and name != "None" else f"switch {index}"


def _trafo_name(net, index: int) -> str:
    """``'trafo 0 "Trafo 0-1"'`` (index and own name) or ``'trafo 0'``."""
    name = net.trafo.at[index, "name"]
    return f'trafo {index} "{name}"' if isinstance(name, str) and name and name != "None" else f"trafo {index}"


def _bus_list(buses) -> str:
    """``'1-5, 7, 9-11'``: sorted bus indices with runs collapsed."""
    runs: list[list[int]] = []
    for b in sorted(buses):
        if runs and b == runs[-1][-1] + 1:
            runs[-1].append(b)
        else:
            runs.append([b])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def load_cycle(spec: TransformerStudy, base_dir: Path | None = None) -> np.ndarray:
    """One load cycle [pu of its peak] at ``spec.interval_min``.

    Parameters
    ----------
    spec : TransformerStudy
    base_dir : pathlib.Path, optional
        Folder a relative ``load_profile_csv`` is resolved against.

    Returns
    -------
    numpy.ndarray
        The CSV's last column divided by its maximum, or the default cosine day (trough
        :data:`CYCLE_TROUGH_PU` at 06:00, peak 1 at :data:`CYCLE_PEAK_H`), sampled at the end of each interval.

    Raises
    ------
    InputError
        If the CSV lies outside the data roots (:func:`gridsage.tools.paths.readable_file`).
    ScenarioError
        If the CSV cannot be read, or holds a value that is not a finite number >= 0, or only zeros
        (field ``scenario.transformer.load_profile_csv``); the message names the file, never its content.
    """
    if spec.load_profile_csv is None:
        hours = np.arange(1, math.ceil(1440 / spec.interval_min) + 1) * spec.interval_min / 60
        return CYCLE_TROUGH_PU + (1 - CYCLE_TROUGH_PU) * (1 + np.cos(2 * np.pi * (hours - CYCLE_PEAK_H) / 24)) / 2
    import pandas as pd

    field, fix = "scenario.transformer.load_profile_csv", "give a CSV with one load value [pu or MW] per interval in its last column."
    path = Path(spec.load_profile_csv)
    path = readable_file(base_dir / path if base_dir is not None and not path.is_absolute() else path, field,
                         suffixes=(".csv", ".txt"))
    try:
        values = pd.to_numeric(pd.read_csv(path).iloc[:, -1], errors="coerce").to_numpy(dtype=float)
    except (OSError, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path.name} cannot be read as a load cycle ({parse_problem(exc)})", field=field,
                            fix=fix) from None
    if not values.size or values.size > MAX_INTERVALS or not np.isfinite(values).all() or (values < 0).any() or values.max() <= 0:
        raise ScenarioError(f"{path.name}: the load cycle needs 1 to {MAX_INTERVALS} finite values >= 0, not all zero",
                            field=field, fix=fix)
    return values / values.max()


def _ambient(spec: TransformerStudy, n: int) -> float | list[float]:
    """The ambient over ``n`` intervals: one value, or the per-interval cycle repeated."""
    return spec.ambient_c if isinstance(spec.ambient_c, float) else np.resize(spec.ambient_c, n).tolist()


def _thermal(spec: TransformerStudy, cycle: np.ndarray, k: float, rated_mva: float, days: float | None = None,
             ) -> TransformerThermalResult:
    """The thermal tool over one cycle at peak ``k`` [pu], or over ``days`` of the cycle grown at the scenario's rate."""
    n = cycle.size if days is None else math.ceil(days * 1440 / spec.interval_min)
    growth = (1 + spec.load_growth_pct_per_day / 100) ** (np.arange(n) * spec.interval_min / 1440)
    load = np.resize(cycle, n) * k * (growth if days is not None else 1.0)
    rating = spec.model_dump(include={"cooling", "loading_type", "rated_top_oil_rise_k", "rated_hot_spot_rise_k"},
                             exclude_none=True)
    return transformer_thermal(load_pu=load.tolist(), ambient_c=_ambient(spec, n), interval_min=spec.interval_min,
                               rated_mva=rated_mva, **rating)


def _branch(pf: PowerFlowResult, element: str, index: int) -> BranchResult | None:
    return next((b for b in pf.branches if b.element == element and b.index == index), None)


def _value(pf: PowerFlowResult, element: str, index: int) -> float | None:
    """Voltage [pu] of a bus or loading [%] of a branch in a power-flow result."""
    if element == "bus":
        return next((b.vm_pu for b in pf.buses if b.bus == index), None)
    row = _branch(pf, element, index)
    return row.loading_percent if row else None


def _keys(pf: PowerFlowResult) -> set[tuple[str, int, str]]:
    return {(v.element, v.index, v.kind) for v in pf.violations}


class Tie(NamedTuple):
    """An open switch whose closing joins the hot transformer's feeder (at ``near_bus``) to ``trafo``'s feeder."""

    switch: int
    near_bus: int
    trafo: int


class Transfer(NamedTuple):
    """One radial transfer studied: ``tie`` closed and ``line`` opened, moving the buses ``moved``."""

    tie: Tie
    line: int
    moved: set[int]
    applied: DerivedGridResult
    pf: PowerFlowResult
    valid: bool


def _topology(net):
    """The in-service network without transformers, switches respected, and the buses each transformer feeds."""
    import networkx as nx
    from pandapower.topology import create_nxgraph

    g = create_nxgraph(net, respect_switches=True, include_trafos=False, include_trafo3ws=False)
    live = net.trafo[net.trafo.in_service]
    return g, {int(t): {int(b) for b in nx.node_connected_component(g, lv)} for t, lv in live.lv_bus.items()}


def _ties(net, areas: dict[int, set[int]], hot: int) -> tuple[list[Tie], list[int]]:
    """Open line and bus-bus switches reaching another transformer's feeder, and those closing loops inside the hot one."""
    ties, loops = [], []
    for s, row in net.switch[~net.switch.closed.astype(bool)].iterrows():
        if row.et == "l" and bool(net.line.at[row.element, "in_service"]):
            ends = (int(net.line.at[row.element, "from_bus"]), int(net.line.at[row.element, "to_bus"]))
        elif row.et == "b":
            ends = (int(row.bus), int(row.element))
        else:
            continue
        inside = [b for b in ends if b in areas[hot]]
        if len(inside) == 2:
            loops.append(int(s))
        elif inside:
            far = ends[1 - ends.index(inside[0])]
            other = next((t for t, buses in areas.items() if t != hot and far in buses), None)
            if other is not None:
                ties.append(Tie(int(s), inside[0], other))
    return ties, loops


def _sections(g, tie: Tie, lv_bus: int) -> list[tuple[int, set[int]]]:
    """(line, buses it transfers) for each single line on the path from the tie back to the transformer, tie first."""
    import networkx as nx

    path = nx.shortest_path(g, tie.near_bus, lv_bus)
    out = []
    for a, b in pairwise(path):
        keys = list(g.get_edge_data(a, b))
        if len(keys) == 1 and keys[0][0] == "line":
            cut = g.copy()
            cut.remove_edge(a, b, keys[0])
            out.append((int(keys[0][1]), {int(x) for x in nx.node_connected_component(g, lv_bus)}
                        - {int(x) for x in nx.node_connected_component(cut, lv_bus)}))
    return out


def _study_transfers(post_id: str, g, ties: list[Tie], lv_bus: int, hot: int, pf: PowerFlowResult,
                     limits: dict) -> list[Transfer]:
    """Apply and solve each radial transfer; valid when it converges, relieves ``hot`` and adds no violation."""
    net = current_workspace().get(post_id).net
    before = _value(pf, "trafo", hot)
    studied = []
    for tie in ties:
        for line, moved in _sections(g, tie, lv_bus):
            if len(studied) == MAX_CANDIDATES:
                return studied
            applied = apply_actions(post_id, [LoadTransfer(close_switch=tie.switch, open_line=line)],
                                    new_grid_id=f"{post_id}:close-{_switch_name(net, tie.switch)}-open-line{line}")
            after = run_power_flow(applied.grid_id, **limits, max_rows=EVIDENCE_ROWS)
            valid = after.status == "converged" and _value(after, "trafo", hot) < before and not _keys(after) - _keys(pf)
            studied.append(Transfer(tie, line, moved, applied, after, valid))
    return studied


def _rejections(studied: list[Transfer], pf: PowerFlowResult, hot: int) -> str:
    """Why each rejected transfer failed, e.g. ``'line 1 rejected: new violation at bus 9'``."""
    out = []
    for s in (s for s in studied if not s.valid):
        new = [v.name.split(" (")[0] for v in s.pf.violations if (v.element, v.index, v.kind) not in _keys(pf)]
        if s.pf.status != "converged":
            why = "no solution"
        elif new:
            why = f"new violation at {', '.join(new[:3])}" + (f" and {len(new) - 3} more" if len(new) > 3 else "")
        else:
            why = f"no relief of trafo {hot}"
        out.append(f"opening line {s.line} rejected: {why}")
    return "; ".join(out) or "none rejected"


def _effects(pf: PowerFlowResult, after: PowerFlowResult, trafos: list[int]) -> list[ElementEffect]:
    """Before/after of the transformers and of every element violated before."""
    thermal = next(lim for lim in pf.limits if lim.quantity == "loading_percent").upper
    rows = [(ElementRef(element="trafo", index=t, name=_branch(pf, "trafo", t).name), "thermal",
             _value(pf, "trafo", t), thermal, "%") for t in trafos]
    rows += [(ElementRef(element=v.element, index=v.index, name=v.name), v.kind, v.value, v.limit, v.unit)
             for v in pf.violations if not (v.element == "trafo" and v.index in trafos)]
    out = []
    for ref, kind, was, limit, unit in rows:
        now = _value(after, ref.element, ref.index)
        ok = now is not None and (now >= limit if kind == "undervoltage" else now <= limit)
        out.append(ElementEffect(element=ref, kind=kind, before=was, after=now, limit=limit, unit=unit, cleared=ok))
    return out


def _limit_text(th: TransformerThermalResult, spec: TransformerStudy) -> str:
    """``'will pass its hot-spot limit (120 °C, normal loading) in 9.3 days'``, or the horizon it stays within."""
    if th.time_to_limit_h is None:
        return f"stays within its hot-spot and top-oil limits over the {spec.horizon_days:g}-day horizon"
    limit = next(lim for lim in th.limits if lim.name == th.limit_reached)
    kind = "hot-spot" if limit.quantity == "theta_h_c" else "top-oil"
    when = f"in {th.time_to_limit_h / 24:.1f} days" if th.time_to_limit_h >= 24 else f"within {th.time_to_limit_h:g} h"
    return f"will pass its {kind} limit ({limit.upper:g} °C, {spec.loading_type.replace('_', '-')} loading) {when}"


def _citations(th: TransformerThermalResult, *entries: str) -> list[Citation]:
    return [c for c in th.citations if c.entry_id in entries]


def _no_solution(scenario: Scenario, post: DerivedGridResult, pf: PowerFlowResult, workspace: Workspace) -> Assessment:
    """The assessment when the study grid's power flow has no solution: no loading, so no thermal study."""
    citation = cite(INSTABILITY_ENTRY, "A power flow without a solution signals voltage instability or loss of loadability.")
    return Assessment(
        kind=TransformerOverheating.kind, playbook=TransformerOverheating.name, scenario=scenario.name,
        title=scenario.title, question=scenario.question, grid_id=post.grid_id,
        source=scenario.grid.source, verdict="no_solution", events=post.changes, contingency_risks=[], action_plan=[],
        situation=f"{scenario.title or scenario.name}: the study grid's AC power flow has no solution after "
                  f"{len(pf.attempts)} attempts [{pf.evidence_id}], so the transformer's loading is unknown.",
        findings=[Finding(severity="critical", title="Study power flow has no solution (possible voltage collapse)",
                          evidence_ids=[pf.evidence_id], citations=[citation])],
        contingency_summary="N-1 is not part of the overheating playbook.",
        plan_outcome="No transfer studied: the study grid has no power-flow solution.", final_grid_id=post.grid_id,
        assumptions=list(workspace.get(post.grid_id).notes), confidence="low",
        confidence_reason="the study power flow did not converge", citations=[citation],
        evidence={r.evidence_id: r for r in workspace.ledger.since(None)}, generated_utc=datetime.now(timezone.utc))


def _root_cause(scenario: Scenario, net, grid_id: str, base_dir: Path | None):
    """The causal root cause of the transformer's hot-spot reading in the scenario's history."""
    from gridsage.reasoning.causal import explain_reading
    from gridsage.reasoning.study import thermal_history

    spec = scenario.transformer
    try:
        history = thermal_history(scenario, net, base_dir)
        return explain_reading(history, grid_id, spec.trafo, f"trafo_{spec.trafo}_theta_h_c", spec.history.anomaly_time,
                               _trafo_name(net, spec.trafo))
    except InputError as exc:
        field = exc.field if exc.field.startswith("transformer.") else f"transformer.history.{exc.field}"
        raise ScenarioError(exc.message, field=f"scenario.{field}", fix=exc.fix) from None


class TransformerOverheating(Playbook):
    """Time to one transformer's hot-spot limit (IEEE C57.91 cl. 7) and a validated radial load transfer.

    Handles scenarios with a ``transformer:`` block.
    """

    name = "transformer_overheating"
    kind = "grid"
    steps = ("load grid", "apply events", "post-event power flow", "thermal projection", "root cause", "topology context",
             "remedial actions", "verify plan")

    def handles(self, scenario: Scenario) -> bool:
        return scenario.transformer is not None

    def assess(self, scenario: Scenario, base_dir: Path | None = None, *, top: int = 10, workspace: Workspace | None = None,
               progress: Progress | None = None, graph: bool = True) -> Assessment:
        """Run the transformer-overheating playbook on a scenario with a ``transformer:`` block.

        Parameters
        ----------
        scenario : Scenario
            Its ``transformer`` block names the transformer and the thermal study.
        base_dir : pathlib.Path, optional
            Folder relative grid and CSV paths are resolved against.
        workspace : Workspace, optional
            Default a fresh one (so the evidence is this run's only).
        graph : bool, default True
            Read what the transformer feeds from the topology graph; when the graph is off or unavailable,
            the pandapower switch and line tables give it and the assessment says so.
        progress : callable, optional
            Called with a short message at each step (:attr:`steps`).
        top
            Unused: N-1 is not part of this playbook.

        Returns
        -------
        Assessment
            Situation with the time to limit [days], findings (limit, ageing, study power flow, feeder
            topology), the validated transfer as a one-step action plan, assumptions and evidence.

        Raises
        ------
        ScenarioError
            If the scenario has no ``transformer`` block, names a missing or out-of-service transformer, or a
            grid, event or CSV that cannot be used (field ``scenario.<path>``).

        References
        ----------
        .. [1] IEEE C57.91-2011, Clauses 5 and 7, suggested limits by loading type.
        .. [2] Corpus entry ``practice-feeder-load-transfer``.
        """
        spec = scenario.transformer
        if spec is None:
            raise ScenarioError("the scenario has no transformer block", field="scenario.transformer",
                                fix="add 'transformer: {trafo: <index>}' to study a transformer's overheating.")
        say = progress or (lambda message: None)
        workspace = workspace or Workspace()
        limits = scenario.limits.model_dump()
        with use_workspace(workspace):
            try:
                say("load grid")
                loaded = load_scenario_grid(scenario, base_dir)
                say("apply events")
                post, _ = apply_scenario(scenario, loaded.grid_id, base_dir)
            except InputError as exc:
                field = "scenario.grid.source" if exc.field == "source" else f"scenario.{exc.field}"
                raise ScenarioError(exc.message, field=field, fix=exc.fix) from None
            net = workspace.get(post.grid_id).net
            hot = spec.trafo
            if hot not in net.trafo.index or not bool(net.trafo.at[hot, "in_service"]):
                raise ScenarioError(f"trafo {hot} is not an in-service transformer of this grid ({len(net.trafo)} trafos)",
                                    field="scenario.transformer.trafo", fix="use an in-service trafo index (see grid_summary).")
            cycle = load_cycle(spec, base_dir)
            if not isinstance(spec.ambient_c, float) and len(spec.ambient_c) != cycle.size:
                raise ScenarioError(f"ambient_c has {len(spec.ambient_c)} values for a {cycle.size}-interval load cycle",
                                    field="scenario.transformer.ambient_c", fix="give one value, or one per cycle interval.")
            if math.ceil(spec.horizon_days * 1440 / spec.interval_min) > MAX_INTERVALS:
                raise ScenarioError(f"the horizon holds more than {MAX_INTERVALS} intervals", field="scenario.transformer.horizon_days",
                                    fix="shorten horizon_days or lengthen interval_min.")
            say("post-event power flow")
            pf = run_power_flow(post.grid_id, **limits, max_rows=EVIDENCE_ROWS)
            if pf.status != "converged":
                return _no_solution(scenario, post, pf, workspace)
            sn = {t: float(net.trafo.at[t, "sn_mva"]) for t in net.trafo.index}
            k = _value(pf, "trafo", hot) / 100
            say("thermal projection")
            today = _thermal(spec, cycle, k, sn[hot])
            horizon = _thermal(spec, cycle, k, sn[hot], spec.horizon_days)

            root = None
            if spec.history is not None:
                say("root cause")
                root = _root_cause(scenario, net, post.grid_id, base_dir)
            say("topology context")
            g, areas = _topology(net)
            graph_ids, graph_note, fed_mw = [], None, None
            if graph:
                from gridsage.tools.grid import graph_downstream

                try:
                    down = {t: graph_downstream(post.grid_id, "trafo", t, max_results=10_000) for t in areas}
                    areas = {t: set(d.buses) for t, d in down.items()}
                    graph_ids, fed_mw = [d.evidence_id for d in down.values()], down[hot].load_lost_mw
                except GraphUnavailableError as exc:
                    graph_note = f"Topology graph unavailable ({exc.message})"
            else:
                graph_note = "Topology graph not used"
            ties, loops = _ties(net, areas, hot)

            say("remedial actions")
            needed = horizon.time_to_limit_h is not None or (("trafo", hot, "thermal") in _keys(pf))
            lv_bus = int(net.trafo.at[hot, "lv_bus"])
            studied = _study_transfers(post.grid_id, g, ties, lv_bus, hot, pf, limits) if needed else []
            valid = [s for s in studied if s.valid]
            best = min(valid, key=lambda s: max(_value(s.pf, "trafo", t) for t in (hot, s.tie.trafo)), default=None)
            if best:
                say("verify plan")
                parallel = apply_actions(post.grid_id, [LoadTransfer(close_switch=best.tie.switch)],
                                         new_grid_id=f"{post.grid_id}:parallel-{_switch_name(net, best.tie.switch)}")
                parallel_pf = run_power_flow(parallel.grid_id, **limits, max_rows=EVIDENCE_ROWS)
                hot_after = _thermal(spec, cycle, _value(best.pf, "trafo", hot) / 100, sn[hot], spec.horizon_days)
                other_after = _thermal(spec, cycle, _value(best.pf, "trafo", best.tie.trafo) / 100, sn[best.tie.trafo],
                                       spec.horizon_days)

        name = _trafo_name(net, hot)
        days, g_pct = spec.horizon_days, spec.load_growth_pct_per_day
        hot_limit = horizon.limits[0]
        limit_cites = _citations(horizon, EQUATIONS, LOADING_LIMITS)
        transfer_cite = cite(TRANSFER_ENTRY, "Load moves between feeders by shifting the normally-open point; the closed "
                                             "loop and the receiving feeder are checked by power flow first.")
        situation = (f"{scenario.title or scenario.name}: {'; '.join(post.changes) or 'no events'}. {name} "
                     f"{_limit_text(horizon, spec)} [{horizon.evidence_id}] {'because of' if needed else 'at'} its "
                     f"{k * 100:.1f} % loading ({_branch(pf, 'trafo', hot).p_from_mw:.1f} MW, {sn[hot]:g} MVA rating) at "
                     f"the study peak [{pf.evidence_id}] and {g_pct:g} %/day load growth ({hot_limit.citation.brief()}); "
                     f"today's peak hot spot is {today.peak_hot_spot_c:.1f} °C [{today.evidence_id}].")
        findings = [
            Finding(severity="info" if horizon.time_to_limit_h is None else "critical" if horizon.time_to_limit_h <= 24 else "high",
                    title=f"{name} {_limit_text(horizon, spec)} at {g_pct:g} %/day load growth; today's peak hot spot "
                          f"{today.peak_hot_spot_c:.1f} °C, top oil {today.peak_top_oil_c:.1f} °C",
                    elements=[ElementRef(element="trafo", index=hot, name=_branch(pf, "trafo", hot).name)],
                    value=today.peak_hot_spot_c, limit=hot_limit.upper, unit="°C",
                    evidence_ids=[pf.evidence_id, today.evidence_id, horizon.evidence_id], citations=limit_cites),
            Finding(severity="medium" if horizon.feqa > 1 else "low",
                    title=f"Insulation ageing ({name}): F_EQA {today.feqa:.2f} over today's cycle (F_AA up to "
                          f"{today.faa_max:.2f}, {today.hours_faa_above_1:g} h above 1); {horizon.feqa:.2f} over the "
                          f"{days:g}-day projection, {horizon.loss_of_life_percent:.3f} % loss of life",
                    elements=[ElementRef(element="trafo", index=hot, name=_branch(pf, "trafo", hot).name)],
                    evidence_ids=[today.evidence_id, horizon.evidence_id], citations=_citations(today, AGEING, LIFE)),
            Finding(severity="medium" if pf.violations else "info", evidence_ids=[pf.evidence_id],
                    title=f"Study power flow: {name} at {k * 100:.1f} % of rating; {len(pf.violations)} violation(s), "
                          f"max loading {pf.max_loading_percent} %, voltages {pf.vm_min_pu}-{pf.vm_max_pu} pu",
                    citations=[lim.citation for lim in pf.limits]),
        ]
        reach = "; ".join(f"tie {_switch_name(net, t.switch)} (bus {t.near_bus}) reaches {_trafo_name(net, t.trafo)}'s feeder"
                          for t in ties) or "no open tie reaches another transformer's feeder"
        fed = f" and {fed_mw:.1f} MW of load" if fed_mw is not None else ""
        if needed:  # the feeder and its ties are what a transfer works with; with no transfer needed they are context only
            findings.append(Finding(
                severity="info", title=f"{name} alone feeds {len(areas[hot])} bus(es){fed}; {reach}",
                evidence_ids=graph_ids or [pf.evidence_id], citations=[transfer_cite],
                context=f"buses {_bus_list(areas[hot])}" + (f"; {', '.join(_switch_name(net, s) for s in loops)} close "
                                                            f"loops within the feeder" if loops else "")
                + ("; from graph_downstream" if graph_ids else f"; from the pandapower switch and line tables ({graph_note})")))

        steps, final_id = [], post.grid_id
        if best:
            other = _trafo_name(net, best.tie.trafo)
            mw = _branch(pf, "trafo", hot).p_from_mw - _branch(best.pf, "trafo", hot).p_from_mw
            sw, line = _switch_name(net, best.tie.switch), element_name(net, "line", best.line)
            make_first = parallel_pf.status == "converged" and not _keys(parallel_pf) - _keys(pf)
            order = (f"Close tie switch {sw}, then open {line} (make-before-break)" if make_first else
                     f"Open {line}, then close tie switch {sw} (break-before-make: the parallel adds violations)")
            clears = not best.pf.violations and hot_after.time_to_limit_h is None and other_after.time_to_limit_h is None
            steps.append(ActionStep(
                order=1, action={"type": "load_transfer", "close_switch": best.tie.switch, "open_line": best.line},
                description=f"{order}: moves {mw:.1f} MW (buses {_bus_list(best.moved)}) from {name} to {other}",
                outcome="clears_all" if clears else "partial", effects=_effects(pf, best.pf, [hot, best.tie.trafo]),
                new_violation_count=0, remaining_violation_count=len(best.pf.violations),
                rationale=f"Of {len(studied)} radial transfers studied ({_rejections(studied, pf, hot)}) it leaves the "
                          f"higher transformer loading lowest: {name} "
                          f"{_value(best.pf, 'trafo', hot):.1f} %, {other} {_value(best.pf, 'trafo', best.tie.trafo):.1f} %; "
                          f"the parallel ({sw} closed, {line} in) " + (f"peaks at {parallel_pf.max_loading_percent} % loading."
                          if parallel_pf.status == "converged" else "has no power-flow solution."),
                evidence_ids=[best.applied.evidence_id, best.pf.evidence_id, parallel.evidence_id, parallel_pf.evidence_id,
                              hot_after.evidence_id, other_after.evidence_id],
                citations=[transfer_cite] + _citations(horizon, LOADING_LIMITS),
                context=f"new open point {line}; {other} then feeds buses {_bus_list(best.moved)} through {sw}"))
            final_id = best.applied.grid_id
            situation += (f" Transfer {mw:.1f} MW to {other}'s feeder by closing tie switch {sw} and opening {line} "
                          f"[{best.applied.evidence_id}, {best.pf.evidence_id}]: {name} then runs at "
                          f"{_value(best.pf, 'trafo', hot):.1f} % and {_limit_text(hot_after, spec)} [{hot_after.evidence_id}].")
            plan_outcome = (f"After the transfer: {name} at {_value(best.pf, 'trafo', hot):.1f} % ({_limit_text(hot_after, spec)}), "
                            f"{other} at {_value(best.pf, 'trafo', best.tie.trafo):.1f} % ({_limit_text(other_after, spec)}) "
                            f"[{hot_after.evidence_id}, {other_after.evidence_id}]; {len(best.pf.violations)} violation(s), "
                            f"voltages {best.pf.vm_min_pu}-{best.pf.vm_max_pu} pu [{best.pf.evidence_id}].")
        elif not needed:
            plan_outcome = f"No action needed on the grid: {name} {_limit_text(horizon, spec)} [{horizon.evidence_id}]."
        else:
            why = f"all {len(studied)} studied fail validation" if studied else "no open tie reaches another transformer's feeder"
            situation += f" No validated load transfer relieves it ({why})."
            plan_outcome = f"No validated tie-switch transfer ({why}); reduce the load or plan a transformer upgrade."

        if root is not None:
            findings += root.findings
            if root.advice:
                situation += f" Why: {root.advice}"
                plan_outcome = f"{root.advice} {plan_outcome}"
        rated = horizon.rating
        shape = (f"the {spec.load_profile_csv} series normalised to its maximum" if spec.load_profile_csv else
                 f"the default cosine day (trough {CYCLE_TROUGH_PU:g} pu at 06:00, peak at {CYCLE_PEAK_H:g}:00)")
        ambient = f"{spec.ambient_c:g}" if isinstance(spec.ambient_c, float) else \
            f"{min(spec.ambient_c):g}-{max(spec.ambient_c):g} over the cycle"
        defaults = spec.load_profile_csv is None or spec.rated_top_oil_rise_k is None or spec.rated_hot_spot_rise_k is None
        assumptions = list(workspace.get(post.grid_id).notes) + [
            f"Load cycle: {shape}, every {spec.interval_min:g} min, scaled so that its peak is the power-flow loading "
            f"K = {k:.3f} pu [{pf.evidence_id}]; ambient {ambient} °C.",
            f"Load grows {g_pct:g} %/day, compounded; after a transfer both transformers are projected with it.",
            f"Thermal constants ({rated.cooling}): top-oil rise {rated.rated_top_oil_rise_k:g} K, hot-spot rise "
            f"{rated.rated_hot_spot_rise_k:g} K, loss ratio {rated.loss_ratio:g}, τ_TO {rated.tau_top_oil_min:g} min, "
            f"τ_W {rated.tau_winding_min:g} min, n {horizon.n_exponent:g}, m {horizon.m_exponent:g} [{horizon.evidence_id}]"
            + ("; typical values where no heat-run data was given." if defaults else "."),
            "Opening a line stands for opening its sectionalising switch or breaker; each transfer keeps the network radial.",
            "Actions are proposals for an operator; GridSage changes nothing in a real system.",
        ] + ([f"{graph_note}; the feeder topology comes from the pandapower switch and line tables."] if graph_note else []) \
            + (root.assumptions if root is not None else [])
        confidence, confidence_reason = ("medium", "the load cycle or thermal constants are assumed (typical values)") \
            if defaults else ("high", "measured load cycle and heat-run rises, converged AC power flows")
        if root is not None and root.refuted:
            confidence = "low" if confidence == "medium" else "medium"
            confidence_reason += f"; the root-cause estimate failed {', '.join(root.refuted)} [{root.effect.evidence_id}]"
        elif root is not None:
            confidence_reason += "; the causal graph's edges and the absence of hidden common causes are assumed"
        findings.sort(key=lambda f: ["critical", "high", "medium", "low", "info"].index(f.severity))
        citations = {c.short(): c for group in [f.citations for f in findings] + [s.citations for s in steps] for c in group}
        return Assessment(
            kind=self.kind, playbook=self.name, scenario=scenario.name, title=scenario.title, question=scenario.question,
            grid_id=post.grid_id,
            source=scenario.grid.source, situation=situation, events=post.changes,
            verdict="violations" if pf.violations else "at_risk" if horizon.time_to_limit_h is not None else "secure", findings=findings, contingency_risks=[],
            contingency_summary="N-1 is not part of the overheating playbook (run the scenario without its transformer block).",
            action_plan=steps, plan_outcome=plan_outcome, final_grid_id=final_id, assumptions=assumptions,
            causes=root.causes if root is not None else [], confidence=confidence, confidence_reason=confidence_reason,
            citations=list(citations.values()), evidence={r.evidence_id: r for r in workspace.ledger.since(None)},
            generated_utc=datetime.now(timezone.utc))
