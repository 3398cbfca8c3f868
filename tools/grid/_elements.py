"""Element references: labels, branch tables, thermal ratings and branch loading.

Branches are lines, two-winding transformers (``trafo``), three-winding
transformers (``trafo3w``), ``impedance`` branches (pandapower's MATPOWER
converter stores transformer branches with TAP = 1 between kV levels this
way; series reactors are also impedances) and DC lines (``dcline``), named and
indexed as in pandapower.  Where the grid came from a MATPOWER file, labels
also give the file's own bus numbers and table rows.

References
----------
.. [1] pandapower documentation, "Datastructure and Elements": line
   (``max_i_ka``, ``df``, ``parallel``), trafo (``sn_mva``), trafo3w,
   impedance (``sn_mva``: rating, MATPOWER RATE_A), dcline (``max_p_mw``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

BranchElement = Literal["line", "trafo", "trafo3w", "impedance", "dcline"]
ElementKind = Literal["bus", "line", "trafo", "trafo3w", "impedance", "dcline", "gen", "sgen", "load", "ext_grid"]

#: a branch whose rating is at least this is a placeholder ("unlimited"), e.g. MATPOWER RATE_A 9900 MVA
PLACEHOLDER_RATING_MVA = 9000.0

#: (table, from-bus column, to-bus column) of each branch element
BRANCH_TABLES: dict[str, tuple[str, str]] = {"line": ("from_bus", "to_bus"), "trafo": ("hv_bus", "lv_bus"),
                                             "trafo3w": ("hv_bus", "lv_bus"), "impedance": ("from_bus", "to_bus"),
                                             "dcline": ("from_bus", "to_bus")}


class ElementRef(BaseModel):
    """A reference to one network element."""

    element: ElementKind = Field(description="pandapower table, e.g. 'line'.")
    index: int = Field(description="Index in that table.")
    name: str = Field(description="Readable label, e.g. 'line 7 (bus 8-bus 9)'.")


def element_name(net, element: str, index: int) -> str:
    """A readable label for an element: its own name, or a built one.

    Parameters
    ----------
    net : pandapower.pandapowerNet
    element : str
        pandapower table, e.g. ``'line'``.
    index : int
        Index in that table.

    Returns
    -------
    str
        e.g. ``'line 7 (bus 8-bus 9)'``, ``'bus 12 "Bus 13" (20 kV)'``, ``'switch 3 "S1" (bus 8, line 14)'``,
        ``'impedance 63 (transformer, bus 14-bus 137; MATPOWER branch 90: 15-138)'``,
        ``'gen 0 at bus 2106 "2107"'``: the table and index first, then what the source file calls it.
    """
    table = net[element]
    own = f' "{_own_name(table, index)}"' if _own_name(table, index) else ""
    source_row = _source_number(table, index, "source_row")
    if element in BRANCH_TABLES:
        f, t = (int(table.at[index, end]) for end in BRANCH_TABLES[element])
        kind = "transformer, " if element == "impedance" and _vn_kv(net, f) != _vn_kv(net, t) else ""
        source = ""
        if source_row is not None:
            ends = [_source_number(net.bus, b, "source_bus") for b in (f, t)]
            source = f"; MATPOWER branch {source_row}" + (f": {ends[0]}-{ends[1]}" if None not in ends else "")
        return f"{element} {index}{own} ({kind}bus {f}-bus {t}{source})"
    if element == "bus":
        source_bus = _source_number(table, index, "source_bus")
        source = f"; MATPOWER bus {source_bus}" if source_bus is not None else ""
        return f"bus {index}{own} ({float(table.at[index, 'vn_kv']):g} kV{source})"
    if element == "switch":
        et = {"l": "line", "t": "trafo", "t3": "trafo3w", "b": "bus"}.get(table.at[index, "et"], table.at[index, "et"])
        return f"switch {index}{own} (bus {int(table.at[index, 'bus'])}, {et} {int(table.at[index, 'element'])})"
    if "bus" in table:
        bus = int(table.at[index, "bus"])
        bus_name = f' "{_own_name(net.bus, bus)}"' if bus in net.bus.index and _own_name(net.bus, bus) else ""
        source = ""
        if source_row is not None:
            source_bus = _source_number(net.bus, bus, "source_bus")
            source = f" (MATPOWER gen row {source_row}" + (f", bus {source_bus})" if source_bus is not None else ")")
        return f"{element} {index}{own} at bus {bus}{bus_name}{source}"
    return f"{element} {index}{own}"


def _own_name(table, index: int) -> str | None:
    """The element's own ``name``, or None when it has none."""
    own = table.at[index, "name"] if "name" in table else None
    if isinstance(own, (int, np.integer)) and not isinstance(own, bool):
        return str(own)  # e.g. the PEGASE cases keep the MATPOWER bus number as the bus name
    return own if isinstance(own, str) and own and own not in ("None", "nan") else None


def _source_number(table, index: int, column: str) -> int | None:
    """A MATPOWER number recorded at load time (``source_bus``, ``source_row``), or None."""
    if column not in table or index not in table.index:
        return None
    value = table.at[index, column]
    try:
        return int(value) if value is not None and np.isfinite(float(value)) else None
    except (TypeError, ValueError):
        return None


def _vn_kv(net, bus: int) -> float:
    return float(net.bus.at[bus, "vn_kv"])


def element_ref(net, element: str, index: int) -> ElementRef:
    """An :class:`ElementRef` with its label."""
    return ElementRef(element=element, index=int(index), name=element_name(net, element, int(index)))


def branch_rating_mva(net, element: str) -> np.ndarray:
    """Thermal rating of each branch of one table [MVA].

    Parameters
    ----------
    net : pandapower.pandapowerNet
    element : {'line', 'trafo', 'trafo3w', 'impedance', 'dcline'}

    Returns
    -------
    numpy.ndarray
        Line: ``sqrt(3) * max_i_ka * df * parallel * vn_kv(from bus)``;
        trafo and impedance: ``sn_mva``; trafo3w: ``sn_hv_mva``; dcline: ``max_p_mw`` [MVA].
    """
    table = net[element]
    if element == "line":
        vn = net.bus.vn_kv.loc[table.from_bus].to_numpy()
        return np.sqrt(3) * table.max_i_ka.to_numpy() * table.df.to_numpy() * table.parallel.to_numpy() * vn
    if element in ("trafo", "impedance"):
        return table.sn_mva.to_numpy(dtype=float)
    if element == "dcline":
        return table.max_p_mw.to_numpy(dtype=float)
    return table.sn_hv_mva.to_numpy(dtype=float)


def branch_loading_percent(net, element: str) -> np.ndarray:
    """Loading of each branch of one table in a solved network [% of rating]; NaN where it has no result.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        After a converged power flow.
    element : {'line', 'trafo', 'trafo3w', 'impedance', 'dcline'}

    Returns
    -------
    numpy.ndarray
        One value per row of ``net[element]`` [%].  Lines and transformers: pandapower's ``loading_percent``.
        Impedance: :math:`\\max(I_f V_{n,f}, I_t V_{n,t}) \\sqrt{3} / S_n \\cdot 100`, the terminal currents
        [kA] at nominal voltage [kV] against ``sn_mva`` (how pandapower loads a trafo); NaN where ``sn_mva`` is
        missing.  DC line: :math:`\\max(|P_f|, |P_t|) / P_{max} \\cdot 100`.

    References
    ----------
    .. [1] pandapower documentation, "trafo" result table (loading from terminal current and rated power).
    """
    table = net[element]
    res = net[f"res_{element}"].reindex(table.index) if f"res_{element}" in net else None
    if res is None or not len(table):
        return np.full(len(table), np.nan)
    if element == "impedance":
        vn_from = net.bus.vn_kv.reindex(table.from_bus).to_numpy(dtype=float)
        vn_to = net.bus.vn_kv.reindex(table.to_bus).to_numpy(dtype=float)
        terminal = np.fmax(res.i_from_ka.to_numpy(dtype=float) * vn_from, res.i_to_ka.to_numpy(dtype=float) * vn_to)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(table.sn_mva.to_numpy(dtype=float) > 0,
                            terminal * np.sqrt(3) / table.sn_mva.to_numpy(dtype=float) * 100, np.nan)
    if element == "dcline":
        flow = np.fmax(res.p_from_mw.abs().to_numpy(dtype=float), res.p_to_mw.abs().to_numpy(dtype=float))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(table.max_p_mw.to_numpy(dtype=float) > 0, flow / table.max_p_mw.to_numpy(dtype=float) * 100,
                            np.nan)
    return res.loading_percent.to_numpy(dtype=float) if "loading_percent" in res else np.full(len(table), np.nan)


def placeholder_rating_count(net) -> tuple[int, int]:
    """Count branches whose rating is a placeholder (>= 9000 MVA).

    Returns
    -------
    (int, int)
        Placeholder-rated branches, and all branches.
    """
    placeholder = total = 0
    for element in BRANCH_TABLES:
        if len(net[element]) and element != "dcline":
            rating = branch_rating_mva(net, element)
            placeholder += int(np.sum(rating >= PLACEHOLDER_RATING_MVA))
            total += len(rating)
    return placeholder, total
