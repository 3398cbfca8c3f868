"""An independent check of remedial actions: plain pandapower edits and solves, no GridSage code.

Each action (as the JSON GridSage proposes) is applied to a pandapower net by direct table edits, the net is solved
with ``runpp(enforce_q_lims=True)``, and the result is judged: branch loading [%] (lines and trafos by pandapower's
``loading_percent``, ``impedance`` branches by their terminal currents against ``sn_mva``), bus voltages [pu], and
every unit's P and Q against its limits.
"""

from __future__ import annotations

import math

import numpy as np
import pandapower as pp


def apply(net, action: dict) -> None:
    """Apply one action to ``net`` in place with plain pandapower edits."""
    kind = action["type"]
    if kind == "redispatch":
        net.gen.at[action["decrease_gen"], "p_mw"] -= action["p_mw"]
        if action["increase_element"] == "gen":
            net.gen.at[action["increase_index"], "p_mw"] += action["p_mw"]
    elif kind == "gen_output":
        net.gen.at[action["gen"], "p_mw"] = action["p_mw"]
    elif kind == "dispatch":
        for point in action["setpoints"]:
            if point.get("p_mw") is not None:
                net.gen.at[point["gen"], "p_mw"] = point["p_mw"]
            if point.get("vm_pu") is not None:
                net.gen.at[point["gen"], "vm_pu"] = point["vm_pu"]
    elif kind == "gen_voltage":
        net.gen.at[action["gen"], "vm_pu"] = action["vm_pu"]
    elif kind == "load_shed":
        share = min(1.0, action["p_mw"] / net.load.at[action["load"], "p_mw"])
        net.load.loc[action["load"], ["p_mw", "q_mvar"]] *= 1 - share
    elif kind == "load_transfer":
        net.switch.at[action["close_switch"], "closed"] = True
        if action.get("open_line") is not None:
            net.line.at[action["open_line"], "in_service"] = False
    elif kind == "line_switching":
        net[action["element"]].at[action["index"], "closed" if action["element"] == "switch" else "in_service"] = \
            action["close"]
    else:
        raise ValueError(f"unknown action type {kind}")


def solve(net) -> None:
    """AC power flow with generator Q limits enforced (pandapower's own solver, lightsim2grid off)."""
    pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)


def loading(net) -> dict[tuple[str, int], float]:
    """Loading of every in-service branch with a result [%]."""
    out = {}
    for element in ("line", "trafo", "trafo3w"):
        if len(net[element]):
            for i, value in net[f"res_{element}"].loading_percent.items():
                if np.isfinite(value):
                    out[(element, int(i))] = float(value)
    if len(net.impedance):
        vn = net.bus.vn_kv
        for i, row in net.impedance.iterrows():
            res = net.res_impedance.loc[i]
            current = max(res.i_from_ka * vn[row.from_bus], res.i_to_ka * vn[row.to_bus])
            if np.isfinite(current) and row.sn_mva > 0:
                out[("impedance", int(i))] = current * math.sqrt(3) / row.sn_mva * 100
    return out


def unit_excess(net) -> dict[tuple[str, int, str], float]:
    """How far each in-service gen and ext_grid lies beyond its P or Q limits [MW or Mvar] (NaN limits: none)."""
    out = {}
    for element in ("gen", "ext_grid"):
        for i, row in net[element][net[element].in_service].iterrows():
            for q, unit in (("p", "mw"), ("q", "mvar")):
                value = net[f"res_{element}"].at[i, f"{q}_{unit}"]
                high, low = row.get(f"max_{q}_{unit}", np.nan), row.get(f"min_{q}_{unit}", np.nan)
                excess = max(0.0, value - high if np.isfinite(high) else 0.0, low - value if np.isfinite(low) else 0.0)
                out[(element, int(i), q)] = float(excess) if np.isfinite(value) else 0.0
    return out


def judge(before, action: dict, thermal_limit: float = 100.0, band: tuple[float, float] = (0.95, 1.05)) -> dict:
    """Apply ``action`` to a copy of ``before`` (a net) and solve both; what the action really does.

    Returns
    -------
    dict
        ``loading`` and ``vm_pu`` after, ``breaches``: units pushed further beyond a limit than before (by more than
        0.5 MW or Mvar), ``overloaded`` and ``off_band``: violations after.
    """
    import copy

    base, after = copy.deepcopy(before), copy.deepcopy(before)
    solve(base)
    apply(after, action)
    solve(after)
    was, now = unit_excess(base), unit_excess(after)
    vm = after.res_bus.vm_pu
    return {
        "loading": loading(after),
        "vm_pu": vm,
        "breaches": {k: v for k, v in now.items() if v > was.get(k, 0.0) + 0.5},
        "overloaded": {k for k, v in loading(after).items() if v > thermal_limit + 1e-6},
        "off_band": {int(b) for b, v in vm.items() if np.isfinite(v) and not band[0] - 1e-9 <= v <= band[1] + 1e-9},
    }
