"""Element references: labels, branch tables and thermal ratings.

Branches are lines, two-winding transformers (``trafo``) and three-winding
transformers (``trafo3w``), named and indexed as in pandapower.

References
----------
.. [1] pandapower documentation, "Datastructure and Elements": line
   (``max_i_ka``, ``df``, ``parallel``), trafo (``sn_mva``), trafo3w.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

BranchElement = Literal["line", "trafo", "trafo3w"]
ElementKind = Literal["bus", "line", "trafo", "trafo3w", "gen", "sgen", "load", "ext_grid"]

#: a branch whose rating is at least this is a placeholder ("unlimited"), e.g. MATPOWER RATE_A 9900 MVA
PLACEHOLDER_RATING_MVA = 9000.0

#: (table, from-bus column, to-bus column) of each branch element
BRANCH_TABLES: dict[str, tuple[str, str]] = {"line": ("from_bus", "to_bus"), "trafo": ("hv_bus", "lv_bus"), "trafo3w": ("hv_bus", "lv_bus")}


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
        e.g. ``'line 7 (bus 8-bus 9)'``, ``'bus 12 "Bus 13" (20 kV)'``, ``'switch 3 "S1" (bus 8, line 14)'``.
    """
    table = net[element]
    own = table.at[index, "name"] if "name" in table else None
    own = f' "{own}"' if isinstance(own, str) and own and own != "None" else ""
    if element in BRANCH_TABLES:
        f, t = BRANCH_TABLES[element]
        return f"{element} {index}{own} (bus {int(table.at[index, f])}-bus {int(table.at[index, t])})"
    if element == "bus":
        return f"bus {index}{own} ({float(table.at[index, 'vn_kv']):g} kV)"
    if element == "switch":
        et = {"l": "line", "t": "trafo", "t3": "trafo3w", "b": "bus"}.get(table.at[index, "et"], table.at[index, "et"])
        return f"switch {index}{own} (bus {int(table.at[index, 'bus'])}, {et} {int(table.at[index, 'element'])})"
    if "bus" in table:
        return f"{element} {index}{own} at bus {int(table.at[index, 'bus'])}"
    return f"{element} {index}{own}"


def element_ref(net, element: str, index: int) -> ElementRef:
    """An :class:`ElementRef` with its label."""
    return ElementRef(element=element, index=int(index), name=element_name(net, element, int(index)))


def branch_rating_mva(net, element: str) -> np.ndarray:
    """Thermal rating of each branch of one table [MVA].

    Parameters
    ----------
    net : pandapower.pandapowerNet
    element : {'line', 'trafo', 'trafo3w'}

    Returns
    -------
    numpy.ndarray
        Line: ``sqrt(3) * max_i_ka * df * parallel * vn_kv(from bus)``;
        trafo: ``sn_mva``; trafo3w: ``sn_hv_mva`` [MVA].
    """
    table = net[element]
    if element == "line":
        vn = net.bus.vn_kv.loc[table.from_bus].to_numpy()
        return np.sqrt(3) * table.max_i_ka.to_numpy() * table.df.to_numpy() * table.parallel.to_numpy() * vn
    if element == "trafo":
        return table.sn_mva.to_numpy(dtype=float)
    return table.sn_hv_mva.to_numpy(dtype=float)


def placeholder_rating_count(net) -> tuple[int, int]:
    """Count branches whose rating is a placeholder (>= 9000 MVA).

    Returns
    -------
    (int, int)
        Placeholder-rated branches, and all branches.
    """
    placeholder = total = 0
    for element in BRANCH_TABLES:
        if len(net[element]):
            rating = branch_rating_mva(net, element)
            placeholder += int(np.sum(rating >= PLACEHOLDER_RATING_MVA))
            total += len(rating)
    return placeholder, total
