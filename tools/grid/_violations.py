"""Limit checks on solved power-flow results: voltage band and thermal loading.

Every violation carries the value, the limit, and the citation of the limit
(from :mod:`gridsage.knowledge.limits`, which reads them from the standards corpus).  Buses with no result (isolated or
out of service) are never reported as 0 pu; callers list them separately.

References
----------
.. [1] ANSI C84.1-2020, Table 1, Range A (voltage band).
.. [2] NERC TPL-001-5.1, Table 1 (facility ratings, steady state).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import Limit
from gridsage.tools.grid._elements import BRANCH_TABLES, branch_loading_percent, element_name
from gridsage.tools.views import Brief, label


class Violation(BaseModel):
    """One element outside one limit."""

    kind: Literal["undervoltage", "overvoltage", "thermal"]
    element: Literal["bus", "line", "trafo", "trafo3w", "impedance", "dcline"]
    index: int
    name: str = Field(description="Readable label of the element.")
    value: float = Field(description="Measured value [unit].")
    limit: float = Field(description="The limit it breaks [unit].")
    unit: Literal["pu", "%"]
    excess: float = Field(description="How far beyond the limit [unit], always > 0.")
    citation: Citation


class ViolationBrief(Brief):
    """A violation in a compact view: the limit it breaks is the view's ``limits`` entry for its kind."""

    kind: Literal["undervoltage", "overvoltage", "thermal"]
    name: str = Field(description="The element's short label, e.g. 'line 7' or 'bus 12'.")
    value: float = Field(description="Measured value [pu for voltage, % of rating for thermal].")


def brief(violation: Violation | None) -> ViolationBrief | None:
    """``violation`` as a :class:`ViolationBrief` (None stays None)."""
    return None if violation is None else ViolationBrief(kind=violation.kind, name=label(violation.element, violation.index),
                                                         value=violation.value)


def worst_briefs(violations: list[Violation], n: int) -> tuple[list[ViolationBrief], int]:
    """Up to ``n`` violations for a compact view, the worst of each kind among them, and how many are left out.

    Parameters
    ----------
    violations : list of Violation
        Worst first within each kind (as the tools list them).
    n : int

    Returns
    -------
    (list of ViolationBrief, int)
        The first violation of each kind, then the next ones in order, kept in the input's order.
    """
    first: dict[str, int] = {}
    for k, v in enumerate(violations):
        first.setdefault(v.kind, k)
    chosen = set(sorted(first.values())[:n])
    rest = [k for k in range(len(violations)) if k not in chosen]
    keep = sorted(chosen | set(rest[:max(0, n - len(chosen))]))
    return [brief(violations[k]) for k in keep], len(violations) - len(keep)


def voltage_violations(net, vm_pu: np.ndarray, band: Limit, most: int | None = None) -> list[Violation]:
    """Buses outside the voltage band.

    Parameters
    ----------
    net : pandapower.pandapowerNet
    vm_pu : numpy.ndarray
        Voltage magnitude per row of ``net.bus`` [pu]; NaN for buses without
        a result (skipped).
    band : Limit
        Voltage band with ``lower`` and ``upper`` [pu].
    most : int, optional
        Build only the ``most`` worst violations (counting is the caller's).

    Returns
    -------
    list of Violation
        Worst excursion first.
    """
    index = net.bus.index.to_numpy()
    with np.errstate(invalid="ignore"):
        excess = np.nan_to_num(np.maximum(band.lower - vm_pu, vm_pu - band.upper), nan=-1.0)
    positions = np.flatnonzero(excess > 1e-9)
    positions = positions[np.argsort(-excess[positions], kind="stable")][:most]
    out = []
    for pos in positions:
        value = float(vm_pu[pos])
        low = value < band.lower
        out.append(
            Violation(
                kind="undervoltage" if low else "overvoltage", element="bus", index=int(index[pos]),
                name=element_name(net, "bus", int(index[pos])), value=round(value, 4),
                limit=band.lower if low else band.upper, unit="pu", excess=round(float(excess[pos]), 4),
                citation=band.citation,
            )
        )
    return out


def thermal_violations(net, element: str, loading_percent: np.ndarray, limit: Limit, most: int | None = None) -> list[Violation]:
    """Branches of one table loaded above the thermal limit.

    Parameters
    ----------
    net : pandapower.pandapowerNet
    element : {'line', 'trafo', 'trafo3w', 'impedance', 'dcline'}
    loading_percent : numpy.ndarray
        Loading per row of ``net[element]`` [% of rating]; NaN is skipped.
    limit : Limit
        Thermal limit with ``upper`` [%].
    most : int, optional
        Build only the ``most`` highest-loaded violations.

    Returns
    -------
    list of Violation
        Highest loading first.
    """
    index = net[element].index.to_numpy()
    out = []
    loading = np.nan_to_num(loading_percent, nan=-1.0)
    positions = np.flatnonzero(loading > limit.upper + 1e-6)
    for pos in positions[np.argsort(-loading[positions], kind="stable")][:most]:
        value = float(loading_percent[pos])
        out.append(
            Violation(
                kind="thermal", element=element, index=int(index[pos]), name=element_name(net, element, int(index[pos])),
                value=round(value, 2), limit=limit.upper, unit="%", excess=round(value - limit.upper, 2),
                citation=limit.citation,
            )
        )
    return out


def solved_violations(net, band: Limit, thermal: Limit) -> list[Violation]:
    """All violations in a solved network's ``res_*`` tables.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        Network after a converged power flow.
    band, thermal : Limit
        Voltage band [pu] and thermal limit [%].

    Returns
    -------
    list of Violation
        Thermal violations of every branch kind (highest loading first), then voltage violations.
    """
    found = []
    for element in BRANCH_TABLES:
        if len(net[element]):
            found += thermal_violations(net, element, branch_loading_percent(net, element), thermal)
    found.sort(key=lambda v: -v.value)
    vm = net.res_bus.vm_pu.reindex(net.bus.index).to_numpy(dtype=float)
    return found + voltage_violations(net, vm, band)
