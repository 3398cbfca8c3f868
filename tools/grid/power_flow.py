"""AC and DC power flow with violations, a retry ladder, and diagnostics.

A solve that fails is reported, never hidden: the result has status
``diverged``, the list of strategies tried, and a diagnosis in plain words.

Every AC solve that judges violations enforces generator reactive limits
(pandapower ``enforce_q_lims``: a unit at its Q limit becomes a PQ bus and
stops holding its voltage set-point); the units that reached a limit are
reported, and so is every slack unit's output against its P and Q limits
(the slack balances the grid without limit in the solver).

References
----------
.. [1] L. Thurner et al., "pandapower", IEEE Trans. Power Syst. 33(6), 2018:
   Newton-Raphson AC power flow (``runpp``), DC power flow (``rundcpp``),
   ``diagnostic``.
.. [2] ANSI C84.1-2020 Table 1 Range A; NERC TPL-001-5.1 Table 1 (limits).
.. [3] NERC MOD-025-2, R1-R2: verified real and reactive capability of
   generating units.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field

from gridsage.knowledge.limits import Limit, thermal_limit, voltage_band
from gridsage.tools.base import MaxLoadingPercent, ToolResult, VmMaxPu, VmMinPu, tool
from gridsage.tools.grid._elements import BRANCH_TABLES, BranchElement, branch_loading_percent, element_name
from gridsage.tools.grid._pandapower import pandapower
from gridsage.tools.grid._violations import Violation, ViolationBrief, solved_violations, worst_briefs
from gridsage.tools.views import CompactView, head
from gridsage.tools.workspace import Grid, current_workspace

#: violations a compact power flow lists (the worst of each kind first); slack units and diagnostics it lists
VIOLATIONS_BRIEF, SLACK_BRIEF, DIAGNOSTICS_BRIEF = 5, 2, 2

#: the retry ladder: (label, runpp keyword arguments)
AC_LADDER: list[tuple[str, dict]] = [
    ("default (init=auto, max_iteration=10)", {"init": "auto"}),
    ("flat start (init=flat)", {"init": "flat"}),
    ("DC-initialised (init=dc)", {"init": "dc"}),
    ("relaxed iteration limit (init=dc, max_iteration=50)", {"init": "dc", "max_iteration": 50}),
]


class SolveAttempt(BaseModel):
    """One try at solving the power flow."""

    strategy: str
    converged: bool
    iterations: int | None = Field(default=None, description="Newton-Raphson iterations used.")
    time_ms: float = Field(description="Wall time of the attempt [ms].")
    message: str | None = Field(default=None, description="Solver message when it failed.")


class DiagnosticItem(BaseModel):
    """One finding of pandapower's network diagnostic."""

    check: str = Field(description="pandapower diagnostic check name.")
    finding: str = Field(description="What it found, in short.")


class BusResult(BaseModel):
    bus: int
    name: str
    vn_kv: float = Field(description="Nominal voltage [kV].")
    vm_pu: float | None = Field(description="Voltage magnitude [pu]; None when the bus has no result.")
    va_degree: float | None = Field(description="Voltage angle [degree].")


class BranchResult(BaseModel):
    element: BranchElement
    index: int
    name: str
    p_from_mw: float | None = Field(description="Active power into the branch at the from/hv side [MW].")
    q_from_mvar: float | None = Field(description="Reactive power into the branch at the from/hv side [Mvar].")
    i_ka: float | None = Field(description="Largest terminal current [kA].")
    loading_percent: float | None = Field(description="Loading [% of rating].")


class SlackOutput(BaseModel):
    """A unit that balanced the power flow (ext_grid or slack gen): its output against the P limits the case gives."""

    element: Literal["ext_grid", "gen"]
    index: int
    bus: int
    p_mw: float = Field(description="Output [MW].")
    min_p_mw: float | None = Field(default=None, description="Lowest output the case allows [MW]; None if it gives none.")
    max_p_mw: float | None = Field(default=None, description="Highest output the case allows [MW]; None if it gives none.")
    within_limits: bool | None = Field(default=None, description="None when the case gives no limit (e.g. an upstream grid supply).")
    q_mvar: float | None = Field(default=None, description="Reactive output [Mvar].")
    min_q_mvar: float | None = Field(default=None, description="Lowest reactive output the case allows [Mvar].")
    max_q_mvar: float | None = Field(default=None, description="Highest reactive output the case allows [Mvar].")
    q_within_limits: bool | None = Field(default=None, description=(
        "None when the case gives no Q limit; the solver never limits a slack's Q, so False is a finding."))


class QLimitedUnit(BaseModel):
    """A generator that reached a reactive-power limit: it no longer holds its voltage set-point."""

    element: Literal["gen"] = "gen"
    index: int
    name: str
    bus: int
    q_mvar: float = Field(description="Reactive output, at the limit [Mvar].")
    limit: Literal["max_q_mvar", "min_q_mvar"]
    limit_mvar: float = Field(description="The limit reached [Mvar].")
    vm_set_pu: float = Field(description="Voltage set-point it can no longer hold [pu].")
    vm_pu: float | None = Field(default=None, description="Voltage reached at its bus [pu].")


class PowerFlowFigures(ToolResult):
    """A power flow's status, totals and extremes (its full result and its compact view share these)."""

    status: Literal["converged", "diverged"]
    grid_id: str
    mode: Literal["ac", "dc"]
    load_p_mw: float | None = Field(default=None, description="Total load served [MW].")
    generation_p_mw: float | None = Field(default=None, description="Total generation incl. ext_grid [MW].")
    losses_p_mw: float | None = Field(default=None, description="Active losses [MW].")
    vm_min_pu: float | None = Field(default=None, description="Lowest bus voltage [pu].")
    vm_max_pu: float | None = Field(default=None, description="Highest bus voltage [pu].")
    max_loading_percent: float | None = Field(default=None, description="Highest branch loading [%].")


class PowerFlowResult(PowerFlowFigures):
    """Outcome of one power flow."""

    attempts: list[SolveAttempt]
    diagnostics: list[DiagnosticItem] = Field(default_factory=list, description="Why it diverged (empty when converged).")
    violations: list[Violation] = Field(default_factory=list)
    unsupplied_buses: list[int] = Field(default_factory=list, description="In-service buses with no result (isolated).")
    unsupplied_load_mw: float = Field(default=0.0, description="In-service load at the unsupplied buses: de-energised [MW].")
    slack: list[SlackOutput] = Field(default_factory=list, description=(
        "The units that balanced the power flow: each one's output against its P and Q limits (NERC MOD-025 capability)."))
    q_limited: list[QLimitedUnit] = Field(default_factory=list, description=(
        "Generators at a reactive limit (solved with Q limits enforced): they no longer hold their voltage set-point."))
    limits: list[Limit] = Field(default_factory=list, description="Limits applied, with citations.")
    buses: list[BusResult] = Field(default_factory=list, description="Bus results, worst voltage first.")
    branches: list[BranchResult] = Field(default_factory=list, description="Branch results, highest loading first.")
    rows_omitted: int = Field(default=0, description="Bus and branch rows left out by max_rows.")
    notes: list[str] = Field(default_factory=list)

    def compact(self) -> "PowerFlowView":
        """Counts, extremes, the worst violations, the slack units (see :class:`PowerFlowView`)."""
        return PowerFlowView.of(
            self, self.limits, self.notes, grid_id=self.grid_id, mode=self.mode, load_p_mw=_round(self.load_p_mw, 1),
            generation_p_mw=_round(self.generation_p_mw, 1), losses_p_mw=_round(self.losses_p_mw, 1),
            vm_min_pu=_round(self.vm_min_pu, 4), vm_max_pu=_round(self.vm_max_pu, 4),
            max_loading_percent=self.max_loading_percent,
            violation_counts=dict(Counter(v.kind for v in self.violations)), unsupplied_bus_count=len(self.unsupplied_buses) or None,
            unsupplied_load_mw=self.unsupplied_load_mw if self.unsupplied_buses else None, q_limited_count=len(self.q_limited),
            lists={"violations": worst_briefs(self.violations, VIOLATIONS_BRIEF),
                   "slack": head(self.slack, SLACK_BRIEF, slack_text),
                   "diagnostics": head([d.finding for d in self.diagnostics], DIAGNOSTICS_BRIEF),
                   "buses": ([], len(self.buses)), "branches": ([], len(self.branches))})


def slack_text(u: SlackOutput) -> str:
    """``'ext_grid 0 at bus 30: 677.858 MW, 221.48 Mvar; P above its max 646.0 MW'``: output, and any limit broken."""
    broken = [f"{q} {side} its {bound} {limit} {unit}" for q, value, low, high, unit in
              (("P", u.p_mw, u.min_p_mw, u.max_p_mw, "MW"), ("Q", u.q_mvar, u.min_q_mvar, u.max_q_mvar, "Mvar"))
              for side, bound, limit in (("below", "min", low), ("above", "max", high))
              if value is not None and limit is not None and (value < limit if side == "below" else value > limit)
              and not _within(value, *((limit, None) if side == "below" else (None, limit)))]
    return (f"{u.element} {u.index} at bus {u.bus}: {_round(u.p_mw, 1)} MW, {_round(u.q_mvar, 1)} Mvar; "
            + ("; ".join(broken) or "within its limits"))


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


class PowerFlowView(CompactView, PowerFlowFigures):
    """A power flow as models and MCP clients receive it: counts, extremes, the worst violations.

    Totals are given to 0.1 MW and voltage extremes to 1e-4 pu.  The full :class:`PowerFlowResult` (every violation,
    unit and bus and branch row) is the evidence behind ``evidence_id``; ``omitted`` counts what this view leaves out
    of each of its lists.
    """

    violation_counts: dict[str, int] = Field(default_factory=dict, description="Violations by kind, all of them.")
    violations: list[ViolationBrief] = Field(default_factory=list, description=(
        f"The worst {VIOLATIONS_BRIEF}: the worst of each kind, then the next; thermal (highest loading) first."))
    unsupplied_bus_count: int | None = Field(default=None, description="In-service buses with no result (isolated); absent: none.")
    unsupplied_load_mw: float | None = Field(default=None, description="Load at them: de-energised [MW].")
    slack: list[str] = Field(default_factory=list, description="Units that balanced the power flow, against their limits.")
    q_limited_count: int = Field(default=0, description="Generators at a reactive limit (the full result's q_limited).")
    diagnostics: list[str] = Field(default_factory=list, description="Why it diverged, in plain words.")

    def headline(self) -> str:
        if self.status == "diverged":
            return "diverged: no power-flow solution (see diagnostics)"
        return f"converged, {sum(self.violation_counts.values())} violations"


def solve(net, mode: Literal["ac", "dc"] = "ac", ladder: bool = True, q_limits: bool = True) -> list[SolveAttempt]:
    """Run pandapower's power flow on ``net`` in place, retrying when it fails.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        Network; its ``res_*`` tables hold the result when the last attempt converged.
    mode : {'ac', 'dc'}, default 'ac'
        Newton-Raphson AC (``runpp``) or linear DC (``rundcpp``).
    ladder : bool, default True
        For AC, try the strategies of :data:`AC_LADDER` in turn until one converges.
    q_limits : bool, default True
        For AC, enforce generator reactive limits (``enforce_q_lims``; NaN limits are unlimited).

    Returns
    -------
    list of SolveAttempt
        Every attempt; the last one converged if any did.
    """
    pp = pandapower()
    attempts = []
    steps = [("DC power flow (rundcpp)", None)] if mode == "dc" else (AC_LADDER if ladder else AC_LADDER[:1])
    for label, kwargs in steps:
        start = time.perf_counter()
        try:
            if kwargs is None:
                pp.rundcpp(net)
            else:
                pp.runpp(net, numba=False, enforce_q_lims=q_limits, **_auto_start(net, kwargs))
            ok, message = True, None
        except (pp.powerflow.LoadflowNotConverged, np.linalg.LinAlgError, ValueError) as exc:
            ok, message = False, str(exc)
        iterations = net._ppc.get("iterations") if ok and getattr(net, "_ppc", None) else None
        attempts.append(
            SolveAttempt(strategy=label, converged=ok, iterations=iterations, message=message,
                         time_ms=round((time.perf_counter() - start) * 1e3, 2))
        )
        if ok:
            break
    return attempts


def _auto_start(net, kwargs: dict) -> dict:
    """``kwargs`` with ``init='auto'``'s voltage start computed here, as pandapower would, without its pandas queries.

    pandapower starts an ``init='auto'`` solve at the mean voltage set-point of the in-service ext_grids and gens
    (and slack VSCs), found with ``DataFrame.query`` calls that cost about 15 ms per solve on IEEE-118, more than
    its Newton-Raphson iterations.  The same mean from the arrays gives the same start; grids with VSCs or no
    voltage source are left to pandapower.
    """
    if kwargs.get("init") != "auto" or "init_vm_pu" in kwargs or ("vsc" in net and len(net.vsc)):
        return kwargs
    setpoints = [net[e].vm_pu.to_numpy(dtype=float)[net[e].in_service.to_numpy(dtype=bool)]
                 for e in ("ext_grid", "gen") if len(net[e])]
    values = np.concatenate(setpoints) if setpoints else np.empty(0)
    if not len(values) or not np.isfinite(values).all():
        return kwargs
    return {**kwargs, "init_vm_pu": float(values.mean())}


def solved_base(grid: Grid):
    """The grid's AC base case, solved once and then shared.

    Parameters
    ----------
    grid : Grid
        A workspace grid.

    Returns
    -------
    (pandapower.pandapowerNet, list of SolveAttempt)
        ``grid.net`` with its result tables filled (read-only: copy it before
        changing it; a grid never changes after it is added, so solving it
        in place only adds results) and the attempts that solved it; the last
        attempt says whether it converged.
    """
    with grid.lock:
        if "ac" not in grid.cache:
            grid.cache["ac"] = solve(grid.net, "ac")
        return grid.net, grid.cache["ac"]


def diagnose(net) -> list[DiagnosticItem]:
    """Why an AC power flow has no solution, in plain words.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        A network whose AC power flow did not converge (left unchanged).

    Returns
    -------
    list of DiagnosticItem
        ``loadability``: demand against generating and reactive capacity, the largest uniform load factor that
        still solves (bisection, Q limits enforced) and the least uniform load shed that restores a solution; and,
        when no load level solves, ``data``: what pandapower's network diagnostic found, one sentence per check.

    References
    ----------
    .. [1] T. Van Cutsem, C. Vournas, "Voltage Stability of Electric Power Systems", Springer, 1998, ch. 2
       (loadability limit).
    """
    from gridsage.tools.grid._loadability import no_solution_diagnosis, plain_diagnostic

    found = no_solution_diagnosis(net)
    items = [DiagnosticItem(check="loadability", finding=text) for text in found.findings]
    if found.data_problem or found.load_factor is None:  # no load level solves: look at the data
        items += [DiagnosticItem(check="data", finding=text) for text in plain_diagnostic(net)]
    return items or [DiagnosticItem(check="diagnostic", finding="no data problem found; the operating point may be "
                                                                 "beyond the network's loadability")]


def _rounded(values, digits: int) -> list[float | None]:
    """``values`` rounded to ``digits``, NaN as None."""
    return [None if np.isnan(x) else round(x, digits) for x in np.asarray(values, dtype=float).tolist()]


def bus_results(net) -> list[BusResult]:
    """Per-bus results of a solved network, worst deviation from 1 pu first."""
    res = net.res_bus.reindex(net.bus.index)
    vm = res.vm_pu.to_numpy(dtype=float)
    order = np.argsort(-np.nan_to_num(np.abs(vm - 1.0), nan=-1.0), kind="stable")
    index, vn_kv = net.bus.index.to_numpy()[order], net.bus.vn_kv.to_numpy(dtype=float)[order]
    vm_pu, va_degree = _rounded(vm[order], 5), _rounded(res.va_degree.to_numpy(dtype=float)[order], 4)
    return [BusResult(bus=int(idx), name=element_name(net, "bus", int(idx)), vn_kv=float(kv), vm_pu=v, va_degree=a)
            for idx, kv, v, a in zip(index, vn_kv, vm_pu, va_degree)]


def branch_results(net) -> list[BranchResult]:
    """Per-branch results of a solved network (every branch kind), highest loading first."""
    rows = []
    for element in BRANCH_TABLES:
        if not len(net[element]) or f"res_{element}" not in net:
            continue
        res = net[f"res_{element}"].reindex(net[element].index)
        p_col, q_col = ("p_hv_mw", "q_hv_mvar") if element in ("trafo", "trafo3w") else ("p_from_mw", "q_from_mvar")
        i_cols = [c for c in ("i_from_ka", "i_to_ka", "i_hv_ka", "i_mv_ka", "i_lv_ka") if c in res]
        i_ka = res[i_cols].max(axis=1, skipna=True) if i_cols else res.get("i_ka", res[p_col] * np.nan)
        columns = zip(net[element].index, _rounded(res[p_col], 3), _rounded(res[q_col], 3), _rounded(i_ka, 4),
                      _rounded(branch_loading_percent(net, element), 2))
        rows += [BranchResult(element=element, index=int(idx), name=element_name(net, element, int(idx)), p_from_mw=p,
                              q_from_mvar=q, i_ka=i, loading_percent=loading) for idx, p, q, i, loading in columns]
    return sorted(rows, key=lambda r: -(r.loading_percent if r.loading_percent is not None else -1))


#: tolerance on a slack's P limits [MW]
SLACK_TOLERANCE_MW = 0.01


def _limit(row, column: str) -> float | None:
    value = row.get(column)
    return None if value is None or not np.isfinite(value) else round(float(value), 3)


def slack_outputs(net) -> list[SlackOutput]:
    """Output [MW] of every in-service ext_grid and slack gen of a solved network, against its P limits.

    Returns
    -------
    list of SlackOutput
        ``within_limits`` is None where the case gives neither ``min_p_mw`` nor ``max_p_mw``.

    References
    ----------
    .. [1] NERC MOD-025-2, R1: verified real-power capability of generating units.
    """
    found = []
    for element in ("ext_grid", "gen"):
        table = net[element]
        if not len(table) or f"res_{element}" not in net or not len(net[f"res_{element}"]):
            continue
        live = table.in_service.astype(bool) & (table.slack.astype(bool) if element == "gen" and "slack" in table else element == "ext_grid")
        for index, row in table[live].iterrows():
            p = float(net[f"res_{element}"].p_mw.get(index, np.nan))
            if not np.isfinite(p):
                continue
            q = float(net[f"res_{element}"].q_mvar.get(index, np.nan))
            low, high = _limit(row, "min_p_mw"), _limit(row, "max_p_mw")
            q_low, q_high = _limit(row, "min_q_mvar"), _limit(row, "max_q_mvar")
            found.append(SlackOutput(element=element, index=int(index), bus=int(row.bus), p_mw=round(p, 3), min_p_mw=low,
                                     max_p_mw=high, within_limits=_within(p, low, high),
                                     q_mvar=round(q, 3) if np.isfinite(q) else None, min_q_mvar=q_low, max_q_mvar=q_high,
                                     q_within_limits=_within(q, q_low, q_high) if np.isfinite(q) else None))
    return found


def _within(value: float, low: float | None, high: float | None) -> bool | None:
    """Whether ``value`` lies within [low, high] (either may be None), to :data:`SLACK_TOLERANCE_MW`; None if both are."""
    if low is None and high is None:
        return None
    return (low is None or value >= low - SLACK_TOLERANCE_MW) and (high is None or value <= high + SLACK_TOLERANCE_MW)


#: a unit within this of a reactive limit is at it [Mvar]
Q_LIMIT_TOLERANCE_MVAR = 0.01


def q_limited_units(net) -> list[QLimitedUnit]:
    """Non-slack generators of a solved network whose reactive output sits at ``max_q_mvar`` or ``min_q_mvar``.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        After an AC power flow with ``enforce_q_lims=True``.

    Returns
    -------
    list of QLimitedUnit
        Largest voltage shortfall from the set-point first.

    References
    ----------
    .. [1] NERC MOD-025-2, R2: verified reactive capability of generating units.
    """
    gen = net.gen
    if not len(gen) or "res_gen" not in net or not len(net.res_gen) or "max_q_mvar" not in gen:
        return []
    res = net.res_gen.reindex(gen.index)
    live = gen.in_service.astype(bool) & ~(gen.slack.astype(bool) if "slack" in gen else False) & res.q_mvar.notna()
    found = []
    for index in gen.index[live]:
        q = float(res.at[index, "q_mvar"])
        for column in ("max_q_mvar", "min_q_mvar"):
            limit = gen.at[index, column] if column in gen else np.nan
            if np.isfinite(limit) and abs(q - limit) <= Q_LIMIT_TOLERANCE_MVAR:
                bus = int(gen.at[index, "bus"])
                vm = float(net.res_bus.vm_pu.get(bus, np.nan))
                found.append(QLimitedUnit(index=int(index), name=element_name(net, "gen", int(index)), bus=bus,
                                          q_mvar=round(q, 3), limit=column, limit_mvar=round(float(limit), 3),
                                          vm_set_pu=round(float(gen.at[index, "vm_pu"]), 4),
                                          vm_pu=round(vm, 5) if np.isfinite(vm) else None))
                break
    return sorted(found, key=lambda u: -abs(u.vm_set_pu - (u.vm_pu if u.vm_pu is not None else u.vm_set_pu)))


def summarize_solved(net, mode: str, band: Limit, thermal: Limit) -> dict:
    """Totals, extremes, violations and unsupplied buses of a solved network.

    Returns
    -------
    dict
        Keys ``load_p_mw``, ``generation_p_mw``, ``losses_p_mw`` [MW],
        ``vm_min_pu``, ``vm_max_pu`` [pu], ``max_loading_percent`` [%],
        ``violations``, ``unsupplied_buses``, ``unsupplied_load_mw`` [MW], ``slack`` (see :func:`slack_outputs`), ``q_limited``
        (see :func:`q_limited_units`; empty for DC).
    """
    vm = net.res_bus.vm_pu.reindex(net.bus.index)
    unsupplied = [int(b) for b in net.bus.index[net.bus.in_service.to_numpy() & vm.isna().to_numpy()]]
    gen = sum(float(net[f"res_{e}"].p_mw.sum()) for e in ("gen", "sgen", "ext_grid", "storage") if len(net[e]))
    load = float(net.res_load.p_mw.sum()) if len(net.load) else 0.0
    loadings = [np.nanmax(x) for e in BRANCH_TABLES if len(net[e]) for x in [branch_loading_percent(net, e)]
                if np.isfinite(x).any()]
    violations = solved_violations(net, band, thermal)
    if mode == "dc":
        violations = [v for v in violations if v.kind == "thermal"]
    return {
        "load_p_mw": round(load, 3),
        "generation_p_mw": round(gen, 3),
        "losses_p_mw": round(gen - load, 3),
        "vm_min_pu": None if vm.isna().all() else round(float(vm.min()), 5),
        "vm_max_pu": None if vm.isna().all() else round(float(vm.max()), 5),
        "max_loading_percent": round(float(max(loadings)), 2) if loadings else None,
        "violations": violations,
        "unsupplied_buses": unsupplied,
        "unsupplied_load_mw": round(float(net.load.p_mw[net.load.in_service.astype(bool) & net.load.bus.isin(unsupplied)].sum()), 3)
        if len(net.load) else 0.0,
        "slack": slack_outputs(net),
        "q_limited": q_limited_units(net) if mode == "ac" else [],
    }


@tool
def run_power_flow(
    grid_id: Annotated[str, Field(description="Grid to solve, as returned by load_grid.")],
    mode: Annotated[Literal["ac", "dc"], Field(description="'ac' Newton-Raphson or 'dc' linear power flow.")] = "ac",
    vm_min_pu: VmMinPu = None,
    vm_max_pu: VmMaxPu = None,
    max_loading_percent: MaxLoadingPercent = None,
    max_rows: Annotated[int, Field(ge=0, le=100_000, description="Most bus rows and branch rows in the full result (worst first).")] = 200,
) -> PowerFlowResult:
    """Solve the power flow of a loaded grid and report violations.

    Runs on a copy of the grid (the AC solution is kept for later tools).  A failed AC solve is retried with a flat
    start, a DC initialisation and a relaxed iteration limit; if all fail,
    the result says ``diverged`` and carries pandapower's diagnostic.

    Parameters
    ----------
    grid_id : str
        Grid in the workspace.
    mode : {'ac', 'dc'}, default 'ac'
    vm_min_pu, vm_max_pu : float, optional
        Voltage band [pu]; default 0.95-1.05 (ANSI C84.1-2020 Table 1, Range A).
    max_loading_percent : float, optional
        Thermal limit [% of rating]; default 100 (NERC TPL-001-5.1 Table 1).
    max_rows : int, default 200
        Bound on bus rows and on branch rows in the full result, worst first;
        the count left out is in ``rows_omitted``.

    Returns
    -------
    PowerFlowResult
        Status, attempts, totals [MW], voltage extremes [pu], highest
        loading [%], violations with citations, per-element rows.  Models and
        MCP clients receive its compact view, :class:`PowerFlowView` (counts,
        extremes, the 5 worst violations, what each list leaves out); the full
        result is the evidence behind ``evidence_id`` (``read_evidence``).

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.

    References
    ----------
    .. [1] ANSI C84.1-2020, Table 1, Range A.
    .. [2] NERC TPL-001-5.1, Table 1.
    """
    grid = current_workspace().get(grid_id)
    band, thermal = voltage_band(vm_min_pu, vm_max_pu), thermal_limit(max_loading_percent)
    key = f"run_power_flow {mode} {band.model_dump_json()} {thermal.model_dump_json()} {max_rows}"
    with grid.lock:  # a grid never changes once added, so the same question has the same answer
        if key in grid.cache:
            return grid.cache[key].model_copy()
    if mode == "ac":
        net, attempts = solved_base(grid)
    else:
        net = copy.deepcopy(grid.net)
        attempts = solve(net, mode)
    notes = list(grid.notes)
    if not attempts[-1].converged:
        return PowerFlowResult(status="diverged", grid_id=grid_id, mode=mode, attempts=attempts,
                               diagnostics=diagnose(net), limits=[band, thermal], notes=notes)
    if mode == "dc":
        notes.append("DC power flow assumes 1 pu voltages and no reactive flow; only thermal limits are checked.")
    buses, branches = bus_results(net), branch_results(net)
    omitted = max(0, len(buses) - max_rows) + max(0, len(branches) - max_rows)
    result = PowerFlowResult(status="converged", grid_id=grid_id, mode=mode, attempts=attempts,
                             limits=[band, thermal], buses=buses[:max_rows], branches=branches[:max_rows],
                             rows_omitted=omitted, notes=notes, **summarize_solved(net, mode, band, thermal))
    if mode == "ac":
        with grid.lock:
            grid.cache[key] = result.model_copy()
    return result
