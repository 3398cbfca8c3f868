"""Independent oracle: meter values straight from a plain pandapower ``runpp`` (no GridSage code)."""

from __future__ import annotations

import copy
import warnings


def solved(net):
    """A solved copy of ``net`` (pandapower runpp, no numba, no lightsim2grid)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower as pp
    net = copy.deepcopy(net)
    pp.runpp(net, numba=False, lightsim2grid=False)
    return net


def injection(net, bus: int, q: bool = False) -> float:
    """Net injection of loads, sgens, gens and ext_grids at ``bus`` [MW or Mvar], summed element by element."""
    col = "q_mvar" if q else "p_mw"
    total = 0.0
    for table, sign in (("gen", 1.0), ("ext_grid", 1.0), ("sgen", 1.0), ("load", -1.0)):
        elements = net[table]
        if len(elements):
            at = elements.index[(elements.bus == bus) & elements.in_service]
            total += sign * float(net[f"res_{table}"].loc[at, col].sum())
    return total


def value(net, sensor_type: str, element_type: str, element: int, side: str) -> float:
    """The exact value a meter would read, in the mapping's units (pu, deg, MW, Mvar, A)."""
    if element_type == "bus":
        if sensor_type == "voltage":
            return float(net.res_bus.at[element, "vm_pu"])
        if sensor_type == "voltage_angle":
            return float(net.res_bus.at[element, "va_degree"])
        return injection(net, element, q=sensor_type == "reactive_power")
    column = {"active_power": f"p_{side}_mw", "reactive_power": f"q_{side}_mvar", "current": f"i_{side}_ka"}[sensor_type]
    v = float(net[f"res_{element_type}"].at[element, column])
    return v * 1e3 if sensor_type == "current" else v


def readings_for(net, mapping, timestamp: str = "2026-01-15T12:00:00Z"):
    """Noise-free readings (telemetry format) of every mapping row."""
    import pandas as pd

    units = {"voltage": "pu", "voltage_angle": "deg", "active_power": "MW", "reactive_power": "Mvar", "current": "A"}
    rows = [{"device_id": m["device_id"], "sensor_type": m["sensor_type"],
             "value": value(net, m["sensor_type"], m["element_type"], int(m["element"]), m["side"]),
             "unit": units[m["sensor_type"]], "timestamp": timestamp, "quality": "good"}
            for m in mapping.to_dict("records")]
    return pd.DataFrame(rows)
