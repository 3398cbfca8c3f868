"""AC and DC power flow with violations, a retry ladder, and diagnostics.

A solve that fails is reported, never hidden: the result has status
``diverged``, the list of strategies tried, and pandapower's diagnostic
summary.

References
----------
.. [1] L. Thurner et al., "pandapower", IEEE Trans. Power Syst. 33(6), 2018:
   Newton-Raphson AC power flow (``runpp``), DC power flow (``rundcpp``),
   ``diagnostic``.
.. [2] ANSI C84.1-2020 Table 1 Range A; NERC TPL-001-5.1 Table 1 (limits).
"""

from __future__ import annotations

import copy
import time
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field

from gridsage.knowledge.limits import Limit, thermal_limit, voltage_band
from gridsage.tools.base import MaxLoadingPercent, ToolResult, VmMaxPu, VmMinPu, tool
from gridsage.tools.grid._elements import BRANCH_TABLES, element_name
from gridsage.tools.grid._pandapower import pandapower
from gridsage.tools.grid._violations import (
    Violation,
    solved_violations,
)
from gridsage.tools.workspace import Grid, current_workspace

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
    element: Literal["line", "trafo", "trafo3w"]
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


class PowerFlowResult(ToolResult):
    """Outcome of one power flow."""

    status: Literal["converged", "diverged"]
    grid_id: str
    mode: Literal["ac", "dc"]
    attempts: list[SolveAttempt]
    diagnostics: list[DiagnosticItem] = Field(default_factory=list, description="Why it diverged (empty when converged).")
    load_p_mw: float | None = Field(default=None, description="Total load served [MW].")
    generation_p_mw: float | None = Field(default=None, description="Total generation incl. ext_grid [MW].")
    losses_p_mw: float | None = Field(default=None, description="Active losses [MW].")
    vm_min_pu: float | None = Field(default=None, description="Lowest bus voltage [pu].")
    vm_max_pu: float | None = Field(default=None, description="Highest bus voltage [pu].")
    max_loading_percent: float | None = Field(default=None, description="Highest branch loading [%].")
    violations: list[Violation] = Field(default_factory=list)
    unsupplied_buses: list[int] = Field(default_factory=list, description="In-service buses with no result (isolated).")
    slack: list[SlackOutput] = Field(default_factory=list, description=(
        "The units that balanced the power flow: each one's output against its P limits (NERC MOD-025 capability)."))
    limits: list[Limit] = Field(default_factory=list, description="Limits applied, with citations.")
    buses: list[BusResult] = Field(default_factory=list, description="Bus results, worst voltage first.")
    branches: list[BranchResult] = Field(default_factory=list, description="Branch results, highest loading first.")
    rows_omitted: int = Field(default=0, description="Bus and branch rows left out by max_rows.")
    notes: list[str] = Field(default_factory=list)


def solve(net, mode: Literal["ac", "dc"] = "ac", ladder: bool = True) -> list[SolveAttempt]:
    """Run pandapower's power flow on ``net`` in place, retrying when it fails.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        Network; its ``res_*`` tables hold the result when the last attempt converged.
    mode : {'ac', 'dc'}, default 'ac'
        Newton-Raphson AC (``runpp``) or linear DC (``rundcpp``).
    ladder : bool, default True
        For AC, try the strategies of :data:`AC_LADDER` in turn until one converges.

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
                pp.runpp(net, numba=False, **kwargs)
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
    """pandapower's diagnostic, cut to the checks that found something.

    Parameters
    ----------
    net : pandapower.pandapowerNet

    Returns
    -------
    list of DiagnosticItem
        Each check with a finding, its result shortened to 300 characters.
    """
    pp = pandapower()
    try:
        report = pp.diagnostic(net, report_style=None, warnings_only=True)
    except Exception as exc:  # the diagnostic itself may fail on odd nets
        return [DiagnosticItem(check="diagnostic", finding=f"pandapower.diagnostic failed: {exc}")]
    items = []
    for check, found in (report or {}).items():
        if found in (False, None, {}, []):
            continue
        text = str(found)
        items.append(DiagnosticItem(check=check, finding=text if len(text) <= 300 else text[:297] + "..."))
    if not items:
        items.append(DiagnosticItem(check="diagnostic", finding="no data problem found; the operating point may be beyond the network's loadability"))
    return items


def bus_results(net) -> list[BusResult]:
    """Per-bus results of a solved network, worst deviation from 1 pu first."""
    res = net.res_bus.reindex(net.bus.index)
    vm = res.vm_pu.to_numpy(dtype=float)
    order = np.argsort(-np.nan_to_num(np.abs(vm - 1.0), nan=-1.0), kind="stable")
    out = []
    for pos in order:
        idx = int(net.bus.index[pos])
        va = res.va_degree.iloc[pos]
        out.append(BusResult(bus=idx, name=element_name(net, "bus", idx), vn_kv=float(net.bus.vn_kv.iloc[pos]),
                             vm_pu=None if np.isnan(vm[pos]) else round(float(vm[pos]), 5),
                             va_degree=None if np.isnan(va) else round(float(va), 4)))
    return out


def branch_results(net) -> list[BranchResult]:
    """Per-branch results of a solved network, highest loading first."""
    rows = []
    for element in BRANCH_TABLES:
        if not len(net[element]):
            continue
        res = net[f"res_{element}"].reindex(net[element].index)
        p_col, q_col = ("p_from_mw", "q_from_mvar") if element == "line" else ("p_hv_mw", "q_hv_mvar")
        i_cols = [c for c in ("i_from_ka", "i_to_ka", "i_hv_ka", "i_mv_ka", "i_lv_ka") if c in res]
        i_ka = res[i_cols].max(axis=1, skipna=True) if i_cols else res.get("i_ka")
        for pos, idx in enumerate(net[element].index):
            def val(series, digits):
                x = float(series.iloc[pos])
                return None if np.isnan(x) else round(x, digits)
            rows.append(BranchResult(element=element, index=int(idx), name=element_name(net, element, int(idx)),
                                     p_from_mw=val(res[p_col], 3), q_from_mvar=val(res[q_col], 3),
                                     i_ka=val(i_ka, 4), loading_percent=val(res.loading_percent, 2)))
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
            low, high = _limit(row, "min_p_mw"), _limit(row, "max_p_mw")
            within = None if low is None and high is None else \
                (low is None or p >= low - SLACK_TOLERANCE_MW) and (high is None or p <= high + SLACK_TOLERANCE_MW)
            found.append(SlackOutput(element=element, index=int(index), bus=int(row.bus), p_mw=round(p, 3), min_p_mw=low,
                                     max_p_mw=high, within_limits=within))
    return found


def summarize_solved(net, mode: str, band: Limit, thermal: Limit) -> dict:
    """Totals, extremes, violations and unsupplied buses of a solved network.

    Returns
    -------
    dict
        Keys ``load_p_mw``, ``generation_p_mw``, ``losses_p_mw`` [MW],
        ``vm_min_pu``, ``vm_max_pu`` [pu], ``max_loading_percent`` [%],
        ``violations``, ``unsupplied_buses``, ``slack`` (see :func:`slack_outputs`).
    """
    vm = net.res_bus.vm_pu.reindex(net.bus.index)
    unsupplied = [int(b) for b in net.bus.index[net.bus.in_service.to_numpy() & vm.isna().to_numpy()]]
    gen = sum(float(net[f"res_{e}"].p_mw.sum()) for e in ("gen", "sgen", "ext_grid", "storage") if len(net[e]))
    load = float(net.res_load.p_mw.sum()) if len(net.load) else 0.0
    loadings = [net[f"res_{e}"].loading_percent.max() for e in BRANCH_TABLES if len(net[e])]
    loadings = [x for x in loadings if not np.isnan(x)]
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
        "slack": slack_outputs(net),
    }


@tool
def run_power_flow(
    grid_id: Annotated[str, Field(description="Grid to solve, as returned by load_grid.")],
    mode: Annotated[Literal["ac", "dc"], Field(description="'ac' Newton-Raphson or 'dc' linear power flow.")] = "ac",
    vm_min_pu: VmMinPu = None,
    vm_max_pu: VmMaxPu = None,
    max_loading_percent: MaxLoadingPercent = None,
    max_rows: Annotated[int, Field(ge=0, le=100_000, description="Most bus rows and branch rows to return (worst first).")] = 200,
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
        Bound on bus rows and on branch rows returned, worst first; the
        count left out is in ``rows_omitted``.

    Returns
    -------
    PowerFlowResult
        Status, attempts, totals [MW], voltage extremes [pu], highest
        loading [%], violations with citations, per-element rows.

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
    return PowerFlowResult(status="converged", grid_id=grid_id, mode=mode, attempts=attempts,
                           limits=[band, thermal], buses=buses[:max_rows], branches=branches[:max_rows],
                           rows_omitted=omitted, notes=notes, **summarize_solved(net, mode, band, thermal))
