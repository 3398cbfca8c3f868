"""A secure base dispatch, derived by AC optimal power flow.

PGLib-OPF files carry real thermal ratings but set-points that are not a
secure dispatch (on pglib case118 a plain power flow loads lines to ~197 %).
GridSage derives the base case with pandapower's AC OPF, constrained to a
thermal margin below the rating and to the voltage band, so that the events
of a study, not the base case, cause any overloads.

References
----------
.. [1] pandapower ``runopp`` (PYPOWER interior-point AC OPF).
.. [2] S. Babaeinejadsarookolaee et al., "The Power Grid Library for
   Benchmarking AC Optimal Power Flow Algorithms", arXiv:1908.02788, 2019.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, Field

from gridsage.errors import SolverError
from gridsage.tools.grid._pandapower import pandapower


class DispatchReport(BaseModel):
    """How the base dispatch was derived."""

    method: str = Field(description="'opf' (AC OPF) or 'file' (set-points as stored).")
    converged: bool
    max_loading_percent: float = Field(description="Thermal bound given to the OPF [% of rating].")
    vm_min_pu: float = Field(description="Lower voltage bound given to the OPF [pu].")
    vm_max_pu: float = Field(description="Upper voltage bound given to the OPF [pu].")
    cost: float | None = Field(default=None, description="OPF objective (case cost units).")
    time_s: float = Field(description="OPF wall time [s].")


def derive_opf_dispatch(net, max_loading_percent: float = 85.0, vm_min_pu: float = 0.95, vm_max_pu: float = 1.05) -> DispatchReport:
    """Replace the generator set-points of ``net`` by an AC-OPF dispatch, in place.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        Network with generator cost data (``poly_cost``) and limits.
    max_loading_percent : float, default 85
        Branch thermal bound for the OPF [% of rating]; the margin leaves room
        for study events.
    vm_min_pu, vm_max_pu : float, default 0.95, 1.05
        Bus voltage bounds for the OPF [pu] (ANSI C84.1-2020 Table 1, Range A).
        If the OPF is infeasible within them, it is retried within the
        case's own bus limits, and the report says which band was used.

    Returns
    -------
    DispatchReport

    Raises
    ------
    SolverError
        If the OPF does not converge.
    """
    pp = pandapower()
    for element in ("line", "trafo"):
        net[element]["max_loading_percent"] = max_loading_percent
    case_band = (float(net.bus.min_vm_pu.min()), float(net.bus.max_vm_pu.max())) if "min_vm_pu" in net.bus else None
    bands = [(vm_min_pu, vm_max_pu)] + ([case_band] if case_band and case_band != (vm_min_pu, vm_max_pu) else [])
    start = time.perf_counter()
    for lower, upper in bands:
        net.bus["min_vm_pu"], net.bus["max_vm_pu"] = lower, upper
        try:
            pp.runopp(net, numba=False)
            break
        except Exception as exc:  # pandapower raises OPFNotConverged and others
            failure = exc
    else:
        raise SolverError(
            f"the AC OPF that derives the base dispatch did not converge with voltage bands {bands} pu ({failure})",
            field="base_dispatch",
            fix="load with base_dispatch='file' to keep the case's own set-points, or raise opf_max_loading_percent.",
        )
    vm_min_pu, vm_max_pu = lower, upper
    elapsed = time.perf_counter() - start
    net.gen["p_mw"] = net.res_gen.p_mw.to_numpy()
    net.gen["vm_pu"] = net.res_bus.vm_pu.loc[net.gen.bus].to_numpy()
    net.ext_grid["vm_pu"] = net.res_bus.vm_pu.loc[net.ext_grid.bus].to_numpy()
    if len(net.sgen) and "controllable" in net.sgen and net.sgen.controllable.any():
        net.sgen["p_mw"] = net.res_sgen.p_mw.to_numpy()
    return DispatchReport(method="opf", converged=True, max_loading_percent=max_loading_percent,
                          vm_min_pu=vm_min_pu, vm_max_pu=vm_max_pu,
                          cost=round(float(net.res_cost), 2) if net.get("res_cost") is not None else None,
                          time_s=round(elapsed, 3))
