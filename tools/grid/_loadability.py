"""Why an AC power flow has no solution, in plain words: demand against capacity and the loadability limit.

References
----------
.. [1] T. Van Cutsem and C. Vournas, "Voltage Stability of Electric Power
   Systems", Springer, 1998, ch. 2 (loadability limit, maximum deliverable power).
.. [2] pandapower documentation, ``runpp`` (``enforce_q_lims``, ``init``) and ``diagnostic``.
"""

from __future__ import annotations

import copy
import re

import numpy as np
from pydantic import BaseModel, Field

from gridsage.errors import InputError
from gridsage.tools.grid._pandapower import pandapower


class LoadabilityDiagnosis(BaseModel):
    """Why a case has no AC power-flow solution, with the load that must go to regain one."""

    converges: bool = Field(description="The case as given solves (AC, generator Q limits enforced).")
    load_p_mw: float = Field(description="In-service load, p_mw x scaling [MW].")
    load_q_mvar: float = Field(description="In-service load, q_mvar x scaling [Mvar].")
    capacity_p_mw: float = Field(description="Limited active capacity: gen max_p_mw (p_mw where missing) + sgen p_mw + ext_grid max_p_mw [MW].")
    capacity_p_unlimited: bool = Field(description="An in-service ext_grid has no max_p_mw: an unlimited upstream supply.")
    shortfall_p_mw: float = Field(description="Demand minus capacity where positive and capacity is limited, else 0 [MW].")
    capacity_q_mvar: float = Field(description="Limited reactive capability: gen and ext_grid max_q_mvar + sgen q_mvar + capacitive shunts at 1 pu [Mvar].")
    capacity_q_unlimited: bool = Field(description="A gen or ext_grid has no max_q_mvar: unlimited reactive capability.")
    shortfall_q_mvar: float = Field(description="Reactive demand minus capability where positive and limited, else 0 [Mvar].")
    load_factor: float | None = Field(description="Largest uniform load factor lambda found to solve [-]; None if none did.")
    load_factor_tolerance: float = Field(description="Width of the final bisection bracket: lambda solves, lambda + tolerance failed [-].")
    served_p_mw: float | None = Field(description="Load served at lambda [MW].")
    min_shed_p_mw: float | None = Field(description="(1 - lambda) x demand: least uniform load shed that restores a solution [MW].")
    solves_without_q_lims: bool | None = Field(description="Full load solves with generator Q limits off (None: not tried).")
    solves_from_dc_init: bool | None = Field(description="Full load solves from a DC-initialised start, Q limits on (None: not tried).")
    data_problem: bool = Field(description="No solution even at a near-zero load: the data need a check.")
    ac_solves: int = Field(description="AC power flows run for this diagnosis.")
    findings: list[str] = Field(description="Plain-English sentences, numbers formatted.")


def _solve(net, **kwargs) -> str | None:
    """Run one AC power flow; None when it converges, else the reason in words."""
    pp = pandapower()
    try:
        pp.runpp(net, numba=False, **kwargs)
        return None
    except pp.LoadflowNotConverged:
        return "not converged"
    except Exception as exc:  # no reference bus, singular matrix ...: a data problem, reported in words
        return _clean(str(exc)) or type(exc).__name__


def _clean(text: str) -> str:
    text = re.sub(r"np\.\w+\(([^()]*)\)", r"\1", text)
    return re.sub(r"[{}]", "", text).strip()[:300]


def _live(table, column: str, fallback: str | None = None) -> np.ndarray:
    """Values of ``column`` over in-service rows [column unit], NaN where missing (``fallback`` fills them)."""
    rows = table[table.in_service.astype(bool)] if len(table) else table
    values = rows[column].to_numpy(dtype=float) if column in rows else np.full(len(rows), np.nan)
    if fallback is not None and fallback in rows:
        values = np.where(np.isnan(values), rows[fallback].to_numpy(dtype=float), values)
    return values


def _scaled(table, column: str) -> float:
    scale = _live(table, "scaling") if "scaling" in table else 1.0
    return float(np.nansum(_live(table, column) * np.nan_to_num(scale, nan=1.0)))


def no_solution_diagnosis(net, max_steps: int = 12) -> LoadabilityDiagnosis:
    """Explain a missing AC power-flow solution: demand against capacity, and the load to shed to regain one.

    Works on a deep copy; ``net`` is never changed.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The case, typically one whose ``runpp(enforce_q_lims=True)`` fails.
    max_steps : int, default 12
        Most AC solves of the load-factor bisection [-]; the bracket ends
        ``2**-max_steps`` wide (12 steps: 0.024 % of the load).

    Returns
    -------
    LoadabilityDiagnosis
        Demand [MW, Mvar] against capacity [MW, Mvar], the load factor lambda
        [-], the load served at lambda [MW], the minimum uniform shed [MW],
        the Q-limit and DC-start checks, and plain-English ``findings``.

    Raises
    ------
    InputError
        If ``max_steps`` is below 1.

    Notes
    -----
    Every solve is Newton-Raphson with ``enforce_q_lims=True`` and pandapower's
    default start unless said otherwise.  All loads are scaled by one factor
    lambda (p_mw and q_mvar together, constant power factor); generator set
    points stay put and the slack takes the difference.  lambda is found by
    bisection on [0, 1]: the midpoint is solved, the bracket keeps lo solving
    and hi failing, so after ``max_steps`` solves lambda = lo is within
    ``2**-max_steps`` of the convergence limit, assuming convergence is
    monotone in lambda.  The minimum shed is (1 - lambda) x demand, shared
    uniformly by every load; a targeted shed near the weak area may need less.
    The nose of the P-V curve [1]_ is where Newton-Raphson's Jacobian turns
    singular; a continuation power flow traces it exactly and is the textbook
    alternative.  Capacity sums ignore losses and line charging; shunt
    capability is taken at 1 pu (it scales with V squared); runpp never
    enforces the slack's own P or Q limits, so they count as declared data.  Besides the
    bisection, up to three solves at full load: as given, Q limits off and
    ``init='dc'``.

    References
    ----------
    .. [1] T. Van Cutsem and C. Vournas, "Voltage Stability of Electric Power
       Systems", Springer, 1998, ch. 2.
    .. [2] pandapower documentation, ``pandapower.runpp``.
    """
    if max_steps < 1:
        raise InputError(f"max_steps must be at least 1, got {max_steps}.", field="max_steps", fix="Pass 12 (the default) or more.")
    work = copy.deepcopy(net)
    load_p, load_q = _scaled(work.load, "p_mw"), _scaled(work.load, "q_mvar")
    gen_p, ext_p = _live(work.gen, "max_p_mw", "p_mw"), _live(work.ext_grid, "max_p_mw")
    cap_p = float(np.nansum(gen_p) + np.nansum(ext_p)) + _scaled(work.sgen, "p_mw")
    free_p = int(np.isnan(ext_p).sum())
    gen_q, ext_q = _live(work.gen, "max_q_mvar"), _live(work.ext_grid, "max_q_mvar")
    shunt_q = -float(np.nansum(_live(work.shunt, "q_mvar") * np.nan_to_num(_live(work.shunt, "step"), nan=1.0)))
    cap_q = float(np.nansum(gen_q) + np.nansum(ext_q)) + _scaled(work.sgen, "q_mvar") + shunt_q
    free_q = int(np.isnan(gen_q).sum() + np.isnan(ext_q).sum())
    short_p = 0.0 if free_p else max(load_p - cap_p, 0.0)
    short_q = 0.0 if free_q else max(load_q - cap_q, 0.0)
    findings = []
    if free_p:
        findings.append(f"Demand is {load_p:,.1f} MW against {cap_p:,.1f} MW of limited generating capacity plus {free_p} "
                        "ext_grid without max_p_mw, treated as an unlimited upstream supply: active capacity is not the limit.")
    else:
        gap = f"{short_p:,.1f} MW short." if short_p > 0 else f"{cap_p - load_p:,.1f} MW of headroom, so active capacity alone is not the cause."
        findings.append(f"Demand is {load_p:,.1f} MW against {cap_p:,.1f} MW of generating capacity: {gap}")
    if free_q:
        findings.append(f"Reactive demand is {load_q:,.1f} Mvar; {free_q} gen or ext_grid without max_q_mvar gives unlimited reactive capability.")
    else:
        gap = f"{short_q:,.1f} Mvar short." if short_q > 0 else f"{cap_q - load_q:,.1f} Mvar of margin system-wide (a local shortage can still bind)."
        findings.append(f"Reactive demand is {load_q:,.1f} Mvar against {cap_q:,.1f} Mvar of reactive capability: {gap}")

    error, solves = _solve(work, enforce_q_lims=True), 1
    result = dict(load_p_mw=round(load_p, 3), load_q_mvar=round(load_q, 3), capacity_p_mw=round(cap_p, 3),
                  capacity_p_unlimited=bool(free_p), shortfall_p_mw=round(short_p, 3), capacity_q_mvar=round(cap_q, 3),
                  capacity_q_unlimited=bool(free_q), shortfall_q_mvar=round(short_q, 3), load_factor_tolerance=2.0 ** -max_steps,
                  solves_without_q_lims=None, solves_from_dc_init=None)
    if error is None:
        findings.append(f"The AC power flow solves at today's load ({load_p:,.1f} MW, generator Q limits on): no load needs to be shed.")
        return LoadabilityDiagnosis(converges=True, load_factor=1.0, served_p_mw=round(load_p, 3), min_shed_p_mw=0.0,
                                    data_problem=False, ac_solves=solves, findings=findings, **result)
    if error != "not converged":  # scaling the load cannot fix this
        findings.append(f"pandapower cannot run this case ({error}); no load level solves. The grid data need a check.")
        return LoadabilityDiagnosis(converges=False, load_factor=None, served_p_mw=None, min_shed_p_mw=None,
                                    data_problem=True, ac_solves=solves, findings=findings, **result)
    result["solves_without_q_lims"] = _solve(copy.deepcopy(work), enforce_q_lims=False) is None
    result["solves_from_dc_init"] = _solve(copy.deepcopy(work), enforce_q_lims=True, init="dc") is None
    solves += 2
    base_p, base_q = work.load.p_mw.to_numpy(dtype=float), work.load.q_mvar.to_numpy(dtype=float)
    lo, hi, found = 0.0, 1.0, False
    for _ in range(max_steps):
        mid = (lo + hi) / 2
        work.load["p_mw"], work.load["q_mvar"] = base_p * mid, base_q * mid
        solves += 1
        if _solve(work, enforce_q_lims=True) is None:
            lo, found = mid, True
        else:
            hi = mid
    if found:
        served, shed = lo * load_p, (1 - lo) * load_p
        findings.append(f"The power flow solves with {lo * 100:.1f} % of today's load ({served:,.1f} MW); shedding at least "
                        f"{shed:,.1f} MW uniformly (every load by the same share) restores a solution.")
    else:
        served = shed = None
        findings.append(f"The power flow has no solution even at {hi * 100:.2g} % of today's load (generator set points unchanged): "
                        "not a loading problem but a data problem (e.g. a part of the grid without a source, or an implausible impedance); the grid data need a check.")
    if result["solves_without_q_lims"]:
        findings.append("It solves without generator reactive limits: reactive capability, not active power, is the binding limit.")
    else:
        findings.append("It does not solve without generator reactive limits either: reactive limits alone are not the cause.")
    if result["solves_from_dc_init"]:
        findings.append("It solves from a DC-initialised start (init='dc'): a solution exists and the default start missed it; "
                        "the load factor above is for the default start.")
    return LoadabilityDiagnosis(converges=False, load_factor=lo if found else None, data_problem=not found,
                                served_p_mw=None if served is None else round(served, 3),
                                min_shed_p_mw=None if shed is None else round(shed, 3),
                                ac_solves=solves, findings=findings, **result)


def _plain(value, most: int = 10) -> str:
    """A diagnostic value in words: numbers formatted, lists joined, no braces or numpy reprs."""
    if isinstance(value, dict):
        return "; ".join(f"{_plain(k)} {_plain(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set)):
        items = [_plain(v) for v in value]
        more = f" and {len(items) - most} more" if len(items) > most else ""
        return (" " if isinstance(value, tuple) else ", ").join(items[:most]) + more
    value = value.item() if isinstance(value, np.generic) else value
    return f"{value:,.6g}" if isinstance(value, float) else _clean(str(value))


def _listed(check: str, found) -> str | None:
    """The sentence for a check whose result lists elements; None for checks not handled here."""
    rows = lambda found: "; ".join(f"{el} {_plain(r[0])}: " + " ".join(_plain(x) for x in r[1:]) for el, rs in found.items() for r in rs)
    if check == "missing_bus_indices":
        return f"Elements refer to buses that do not exist: {rows(found)}."
    if check == "invalid_values":
        return f"Invalid values (element: column, value, rule): {rows(found)}."
    if check == "disconnected_elements":
        parts = [_plain({k: v for k, v in part.items()}) for part in found]
        return f"{len(parts)} part(s) of the grid have no path to an ext_grid or slack gen: " + " | ".join(parts) + "."
    if check == "implausible_impedance_values":
        elements = "; ".join(_plain(part) for part in found if "loadflow_converges_with_switch_replacement" not in part)
        fixed = any(part.get("loadflow_converges_with_switch_replacement") for part in found)
        return (f"Branches with impedance outside pandapower's plausibility range (0.001 to 100 ohm): {elements}"
                + ("; replacing them by closed switches gives a solution." if fixed else "."))
    if check == "test_subnet_from_zone":
        return f"Zones that do not solve on their own: {_plain([z for z, ok in found.items() if not ok])}."
    intro = {"different_voltage_levels_connected": "Lines or bus-bus switches join buses of different nominal voltage",
             "nominal_voltages_dont_match": "Transformer rated voltages differ by more than 30 % from their buses' nominal voltage",
             "multiple_voltage_controlling_elements_per_bus": "Several voltage-controlling elements sit on one bus",
             "wrong_reference_system": "Elements with negative p_mw (loads consume, generators inject)",
             "deviation_from_std_type": "Elements that deviate from their standard type",
             "parallel_switches": "Parallel switches"}.get(check)
    return None if intro is None else f"{intro}: {_plain(found)}."


#: checks that find something when their result is True, with what it means
_WHEN_TRUE = {
    "wrong_line_capacitance": "It solves with line capacitance cut to 1 %: check line c_nf_per_km.",
    "wrong_line_resistance": "It solves with line resistance cut to 1 %: check line r_ohm_per_km.",
    "wrong_line_reactance": "It solves with line reactance cut to 1 %: check line x_ohm_per_km.",
    "wrong_switch_configuration": "It solves with every switch closed: check the switch positions.",
    "no_ext_grid": "There is no ext_grid and no slack gen: nothing sets the reference voltage and angle.",
}


def plain_diagnostic(net) -> list[str]:
    """pandapower's network diagnostic as plain sentences (run on a deep copy).

    Parameters
    ----------
    net : pandapower.pandapowerNet

    Returns
    -------
    list of str
        One sentence per check that found something; no numpy reprs, no dicts.

    References
    ----------
    .. [1] pandapower documentation, ``pandapower.diagnostic`` (checks and result formats).
    """
    pp = pandapower()
    try:
        report = pp.diagnostic(copy.deepcopy(net), report_style=None, warnings_only=True, numba=False) or {}
    except Exception as exc:  # the diagnostic itself may fail on odd nets
        return [f"pandapower's diagnostic could not run: {_clean(str(exc))}."]
    out = []
    for check, found in report.items():
        if check in _WHEN_TRUE:
            out += [_WHEN_TRUE[check]] if found is True else []
        elif check == "overload" and isinstance(found, dict):
            load, gen = found.get("load"), found.get("generation")
            out.append("It solves with all loads scaled to 0.1 %: the load is too heavy for the grid." if load and not gen else
                       "It solves with generation scaled to 0.1 %: the generation is too large for the grid." if gen and not load else
                       "It solves only with load and generation both scaled to 0.1 %." if load and gen else
                       "Scaling load and generation down to 0.1 % does not give a solution: a data problem is likelier than overload.")
        elif check == "optimistic_powerflow" and isinstance(found, dict):
            out.append("It solves with line capacitance set to zero." if found.get("c_nf_per_km_zero") else
                       "It solves with line capacitance and transformer iron losses set to zero." if found.get("trafo_pfe_kw_zero") else
                       "It solves only with every load and sgen at zero." if found.get("load_sgen_zero") else
                       "It does not solve even with no line capacitance, no iron losses and no load: a data problem.")
        elif check == "check_dc_powerflow":
            out += ["Even the DC power flow fails: check the topology and impedances."] if found is False else []
        elif found not in (False, None, {}, []) and check not in ("test_continuous_bus_indices", "disable_voltage_dependent_loads"):
            out.append(_listed(check, found) or f"{check.replace('_', ' ').capitalize()}: {_plain(found)}.")
    return out
