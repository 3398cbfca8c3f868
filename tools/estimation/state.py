"""AC state estimation by weighted least squares, with an observability check and bad-data processing.

:func:`estimate_meters` is the plain-Python core the tool, the eval and the tests share: given a network and a
meter table (:class:`gridsage.tools.estimation.measurements.MeterSet`), it

1. checks numerical observability on the decoupled P-theta and Q-V models (:func:`check_observability`) and, when
   the set-up is unobservable, names the unobservable buses, their islands and a short list of meters whose
   addition restores observability (greedy rank restoration) -- without estimating;
2. estimates the state with pandapower's WLS estimator (``pandapower.estimation``) on a copy of the network;
3. runs the chi-square test of J(x) with m - n degrees of freedom and the largest normalised residual test (its
   detection threshold set so that its family-wise false-alarm probability is the chi-square test's,
   :func:`lnr_detection_threshold`); when either detects bad data, the meter with the largest normalised residual
   above ``lnr_threshold`` is named, removed and the state re-estimated, up to ``max_bad_data`` times.

The tool :func:`estimate_state` reads the readings (telemetry format) and the mapping file, calls the core, and
can add the estimated state to the workspace as a new grid; :func:`simulate_measurements` writes a simulated set.

Formulas (Abur & Exposito 2004, ch. 2 and 5)::

    J(x) = sum_i r_i^2 / sigma_i^2,  r = z - h(x)                       (WLS objective at the estimate)
    J ~ chi2(m - n):  bad data suspected when J > chi2.ppf(1 - p, m - n) (p = chi2_probability)
    Omega = R - H G^-1 H^T,  G = H^T R^-1 H                             (residual covariance)
    r_N,i = |r_i| / sqrt(Omega_ii)                                       (normalised residual)
    Omega_ii ~ 0  <=>  meter i is critical: its residual is always 0, its error can be neither detected nor
    identified; two meters whose Omega columns are collinear form a critical pair: equal r_N, not separable.

Redundancy is m / n: m meters with a usable reading, n = 2 N - s states (N buses in the estimator's model, s slack
angles fixed).  The "about 20 % redundancy" of the acceptance is m / n = 1.2.

References
----------
.. [1] F. C. Schweppe, J. Wildes, D. B. Rom, "Power system static-state estimation, parts I-III", IEEE Trans.
   PAS-89(1), 1970, pp. 120-135 (WLS state estimation, chi-square detection).
.. [2] A. Abur, A. G. Exposito, "Power System State Estimation: Theory and Implementation", Marcel Dekker, 2004:
   ch. 2 (WLS, gain matrix), ch. 4 (numerical observability, observable islands, pseudo-measurement placement),
   ch. 5 (chi-square test, largest normalised residual test, critical measurements and pairs).
.. [3] A. Monticelli, F. F. Wu, "Network observability: theory", IEEE Trans. PAS-104(5), 1985, pp. 1042-1048
   (decoupled P-theta / Q-V observability by the rank of the gain matrix).
.. [4] L. Thurner et al., "pandapower", IEEE Trans. Power Syst. 33(6), 2018; pandapower 3.5
   ``pandapower/estimation`` (WLSAlgorithm: r, H, G, R^-1; ``res_bus_est``, ``res_line_est``, ``res_trafo_est``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from gridsage.tools.base import ToolResult, tool
from gridsage.tools.estimation.measurements import (UNIT, MeterSet, _model_buses, assemble_meters, meter_label,
                                                    pandapower_measurements, read_mapping)
from gridsage.tools.telemetry.ingest import RejectedRow
from gridsage.tools.views import CompactView, head
from gridsage.tools.workspace import Grid, current_workspace

__all__ = ["StateEstimationResult", "EstimationView", "SuspectMeasurement", "MissingMeasurement", "ChiSquareTest",
           "EstimationCounts", "BusEstimate", "BranchEstimate", "ObservabilityReport", "SimulatedMeasurementsResult",
           "check_observability", "estimate_meters", "estimate_state", "simulate_measurements", "lnr_detection_threshold",
           "net_from_estimate"]

Status = Literal["estimated", "bad_data", "suspect", "unobservable", "diverged"]
#: rows listed in a full result (all are counted)
MAX_BUSES, MAX_BRANCHES, MAX_REJECTED, MAX_CRITICAL, MAX_MISSING = 2000, 4000, 50, 30, 20
#: compact view: suspects, extremes and missing measurements listed
SUSPECTS_BRIEF, EXTREMES_BRIEF, MISSING_BRIEF = 5, 3, 8
#: Omega_ii / R_ii below this: the meter is critical (its residual variance is ~0)
CRITICAL_RATIO = 1e-6
#: |corr(Omega_i, Omega_j)| above this: meters i and j form a critical pair (their normalised residuals are equal)
PAIR_CORRELATION = 0.999
#: tolerance of the structural rank tests
RANK_TOL = 1e-8


class ChiSquareTest(BaseModel):
    """The chi-square test of the WLS objective (Abur & Exposito 2004, sec. 5.4)."""

    j: float = Field(description="J(x) = sum r_i^2 / sigma_i^2 at the estimate [-].")
    dof: int = Field(description="Degrees of freedom m - n.")
    probability: float = Field(description="False-alarm probability p of the test [-].")
    threshold: float = Field(description="chi2.ppf(1 - p, m - n) [-].")
    passed: bool = Field(description="J <= threshold: no bad data detected.")


class SuspectMeasurement(BaseModel):
    """A meter the largest normalised residual test names."""

    device_id: str
    sensor_type: str
    element_type: str
    element: int
    side: str | None = None
    label: str = Field(description="e.g. 'active_power on line 5 (from side)'.")
    measured: float = Field(description="The reading used [unit].")
    estimated: float = Field(description="h(x) at the estimate that named it [unit].")
    unit: str
    normalised_residual: float = Field(description="r_N = |r| / sqrt(Omega_ii) [-].")
    removed: bool = Field(description="Removed from the set before the final estimate.")
    ambiguous_with: list[str] = Field(default_factory=list, description=(
        "Meters forming a critical pair (or set) with it: same normalised residual, so the test cannot tell which "
        "of them is wrong."))


class MissingMeasurement(BaseModel):
    """A meter whose addition (with the others listed) makes the set observable."""

    sensor_type: str
    element_type: str
    element: int
    side: str | None = None
    label: str = Field(description="e.g. 'active_power at bus 7'.")


class EstimationCounts(BaseModel):
    """What went in."""

    mapping_rows: int
    mapping_rejected: int
    readings_read: int
    readings_rejected: int
    meters_used: int = Field(description="m: meters with a usable reading after bad-data removal.")
    states: int = Field(description="n = 2 N - s (buses in the model, slack angles fixed).")
    redundancy: float = Field(description="m / n [-].")
    readings_without_mapping: int = Field(description="Streams (device_id, sensor_type) with no mapping row.")
    missing_meters: int = Field(description="Mapping rows without a usable reading (none, bad, stale, later).")
    stale_meters: int = Field(description="Of those, meters whose latest reading is older than max_age_s.")
    critical_meters: int = Field(default=0, description="Meters with residual variance ~0: errors there are "
                                                        "undetectable.")


class BusEstimate(BaseModel):
    bus: int
    vm_pu: float
    va_degree: float
    p_mw: float = Field(description="Estimated net injection of loads, gens, sgens into the grid [MW] (shunts excluded).")
    q_mvar: float = Field(description="Estimated net injection [Mvar] (shunts excluded).")


class BranchEstimate(BaseModel):
    element: Literal["line", "trafo"]
    index: int
    p_from_mw: float = Field(description="Estimated flow into the branch at the from / hv side [MW].")
    loading_percent: float | None = Field(description="Estimated loading [% of rating].")


class ObservabilityReport(BaseModel):
    """Decoupled numerical observability (Monticelli & Wu 1985; Abur & Exposito 2004 ch. 4)."""

    observable: bool
    unobservable_buses: list[int] = Field(default_factory=list)
    islands: list[list[int]] = Field(default_factory=list, description=(
        "Unobservable buses grouped by the states they share (buses of one group move together)."))
    missing: list[MissingMeasurement] = Field(default_factory=list)
    p_theta_rank_deficiency: int = 0
    q_v_rank_deficiency: int = 0


class StateEstimationResult(ToolResult):
    """The estimated state of a grid from its meters, the tests on it and what was found wrong."""

    status: Status = Field(description=(
        "'estimated' (chi-square passed), 'bad_data' (suspects removed, then passed), 'suspect' (chi-square fails "
        "and no single meter is identifiable), 'unobservable' (not estimated: see missing_measurements), "
        "'diverged' (the WLS iterations did not converge)."))
    grid_id: str
    at: datetime | None = Field(default=None, description="Readings used: the latest at or before this time (UTC).")
    counts: EstimationCounts
    chi_square: ChiSquareTest | None = None
    suspects: list[SuspectMeasurement] = Field(default_factory=list)
    critical_meters: list[str] = Field(default_factory=list, description=(
        f"Critical meters (first {MAX_CRITICAL}): an error on one of them can never be identified."))
    unobservable_buses: list[int] = Field(default_factory=list)
    unobservable_islands: list[list[int]] = Field(default_factory=list)
    missing_measurements: list[MissingMeasurement] = Field(default_factory=list, description=(
        "Meters whose addition makes the set observable (greedy rank restoration)."))
    vm_min: BusEstimate | None = None
    vm_max: BusEstimate | None = None
    max_loading: BranchEstimate | None = None
    buses: list[BusEstimate] = Field(default_factory=list, description="Every bus (up to 2000), by index.")
    branches: list[BranchEstimate] = Field(default_factory=list, description="Lines and trafos, highest loading first.")
    rows_omitted: int = 0
    mapping_rejected: list[RejectedRow] = Field(default_factory=list)
    readings_rejected: list[RejectedRow] = Field(default_factory=list)
    readings_without_mapping: list[str] = Field(default_factory=list)
    missing_meters: list[str] = Field(default_factory=list)
    lnr_detection_threshold: float | None = Field(default=None, description=(
        "Largest normalised residual that signals bad data even when chi-square passes [-] (Bonferroni at p)."))
    iterations: int | None = None
    estimates: int = Field(default=0, description="WLS runs (1 + meters removed).")
    time_ms: float = 0.0
    saved_grid_id: str | None = Field(default=None, description="Grid added with the estimated injections (save_as).")
    not_checked: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def compact(self) -> "EstimationView":
        c = self.counts
        lists = {"suspects": head(self.suspects, SUSPECTS_BRIEF, _suspect_text),
                 "missing_measurements": head(self.missing_measurements, MISSING_BRIEF, lambda m: m.label),
                 "unobservable_buses": head(self.unobservable_buses, 20),
                 "buses": ([], len(self.buses)), "branches": ([], len(self.branches)),
                 "critical_meters": head(self.critical_meters, 5),
                 "mapping_rejected": ([], len(self.mapping_rejected)),
                 "readings_rejected": ([], len(self.readings_rejected))}
        return EstimationView.of(
            self, notes=self.notes, lists=lists, grid_id=self.grid_id, meters_used=c.meters_used, states=c.states,
            redundancy=round(c.redundancy, 3), missing_meters=c.missing_meters,
            readings_without_mapping=c.readings_without_mapping, critical_meter_count=c.critical_meters,
            chi_square=(f"J {self.chi_square.j:.1f} {'<=' if self.chi_square.passed else '>'} "
                        f"{self.chi_square.threshold:.1f} (dof {self.chi_square.dof}, p {self.chi_square.probability:g})"
                        if self.chi_square else None),
            vm_min=_bus_text(self.vm_min), vm_max=_bus_text(self.vm_max),
            max_loading=(f"{self.max_loading.element} {self.max_loading.index}: {self.max_loading.loading_percent:.1f} %"
                         if self.max_loading and self.max_loading.loading_percent is not None else None),
            saved_grid_id=self.saved_grid_id)

    def one_line(self) -> str:
        return f"{self.compact().headline()} [{self.evidence_id}]"


def _bus_text(b: BusEstimate | None) -> str | None:
    return None if b is None else f"bus {b.bus}: {b.vm_pu:.4f} pu"


def _suspect_text(s: SuspectMeasurement) -> str:
    pair = f"; cannot be told apart from {', '.join(s.ambiguous_with[:3])}" if s.ambiguous_with else ""
    return (f"{s.device_id}/{s.sensor_type} ({s.label}): measured {s.measured:.4g} {s.unit}, estimated "
            f"{s.estimated:.4g} {s.unit}, r_N {s.normalised_residual:.1f}" + (", removed" if s.removed else "") + pair)


class EstimationView(CompactView):
    """``estimate_state`` as models and MCP clients receive it: status, redundancy, chi-square, suspects, extremes."""

    grid_id: str
    meters_used: int
    states: int
    redundancy: float = Field(description="m / n [-].")
    missing_meters: int
    readings_without_mapping: int
    critical_meter_count: int
    chi_square: str | None = None
    suspects: list[str] = Field(default_factory=list)
    unobservable_buses: list[int] = Field(default_factory=list)
    missing_measurements: list[str] = Field(default_factory=list)
    critical_meters: list[str] = Field(default_factory=list)
    vm_min: str | None = None
    vm_max: str | None = None
    max_loading: str | None = None
    saved_grid_id: str | None = None

    def headline(self) -> str:
        if self.status == "unobservable":
            return f"unobservable: {len(self.unobservable_buses)}+ bus(es); add {', '.join(self.missing_measurements[:3])}"
        extra = f", {len(self.suspects)} suspect(s)" if self.suspects else ""
        return f"{self.status}: m/n {self.redundancy:.2f}{extra}"


# ---------------------------------------------------------------------------------------------------- observability

def _structural_rows(meters, buses, edges, quantity: str, rep: dict | None = None):
    """Rows of the decoupled structural model for the meters of one half: 'p' (P-theta) or 'q' (Q-V)."""
    import numpy as np

    rep = rep or {}

    pos = {b: i for i, b in enumerate(buses)}
    n = len(buses)
    incident: dict[int, list[tuple[int, int]]] = {b: [] for b in buses}
    branch_ends = {}
    for table, idx, a, b in edges:
        incident[a].append((a, b))
        incident[b].append((b, a))
        branch_ends[(table, idx)] = (a, b)
    sensors = ("active_power", "voltage_angle") if quantity == "p" else ("reactive_power", "voltage")
    rows, which = [], []
    for i, m in enumerate(meters):
        s, et, e = m["sensor_type"], m["element_type"], int(m["element"])
        if s not in sensors:
            continue
        r = np.zeros(n)
        if et == "bus":
            e = rep.get(e, e)
            if e not in pos:
                continue
            if s in ("voltage_angle", "voltage"):
                r[pos[e]] = 1.0
            else:
                for a, b in incident[e]:
                    r[pos[a]] += 1.0
                    r[pos[b]] -= 1.0
        else:
            ends = branch_ends.get((et, e))
            if ends is None:
                continue
            r[pos[ends[0]]], r[pos[ends[1]]] = 1.0, -1.0
        rows.append(r)
        which.append(i)
    return (np.array(rows) if rows else np.zeros((0, n))), which


def _null_space(H, n):
    import numpy as np

    if H.shape[0] == 0:
        return np.eye(n)
    _, s, vt = np.linalg.svd(H, full_matrices=True)
    rank = int((s > RANK_TOL * max(1.0, s[0] if len(s) else 1.0)).sum())
    return vt[rank:].T


def _candidates(buses, edges, quantity: str, have: set):
    """Candidate meters (sensor_type, element_type, element, side) for one half, in order of preference."""
    sensor = "active_power" if quantity == "p" else "reactive_power"
    out = []
    for b in buses:
        if (sensor, "bus", b, "") not in have:
            out.append((sensor, "bus", b, ""))
    sides = {"line": ("from", "to"), "trafo": ("hv", "lv")}
    for table, idx, a, b in edges:
        if table in sides:
            for side in sides[table]:
                if (sensor, table, idx, side) not in have:
                    out.append((sensor, table, idx, side))
    # first the other reading of devices that already report P (or Q), then (for Q-V) voltage magnitudes
    other = "reactive_power" if quantity == "p" else "active_power"
    twins = sorted((sensor, et, e, side) for s, et, e, side in have if s == other and (sensor, et, e, side) not in have)
    volts = [("voltage", "bus", b, "") for b in buses if ("voltage", "bus", b, "") not in have] if quantity == "q" else []
    return twins + volts + [c for c in out if c not in set(twins)]


def check_observability(net, meters) -> ObservabilityReport:
    """Numerical observability of a meter set on the decoupled P-theta and Q-V models, and what would restore it.

    Parameters
    ----------
    net : pandapower.pandapowerNet
    meters : list of dict
        Meters with ``sensor_type``, ``element_type``, ``element``, ``side`` (current magnitudes are ignored: they
        do not make a set observable).

    Returns
    -------
    ObservabilityReport
        ``observable`` when rank H_Ptheta (with the slack angle as reference) = N and rank H_QV = N; else the
        unobservable buses (those whose state lies in the null space of the gain matrix), grouped in islands, and
        ``missing``: meters added greedily, each one raising the rank by one, until both models are of full rank.

    Notes
    -----
    Structural decoupled model (flat start, unit branch admittances): a P (Q) flow on branch i-j is the row
    e_i - e_j, a P (Q) injection at bus i is sum over branches i-k of (e_i - e_k), a PMU angle (a voltage
    magnitude) at i is e_i.  A bus i is observable when the null space Z of the model has a zero row i; a
    candidate row a raises the rank when ||Z^T a|| > 0.

    References
    ----------
    .. [1] A. Monticelli, F. F. Wu, IEEE Trans. PAS-104(5), 1985 (network observability: theory).
    .. [2] Abur & Exposito 2004, sec. 4.6-4.7 (observable islands; measurement placement to restore observability).
    """
    import numpy as np

    buses, slacks, edges, rep = _model_buses(net)
    n = len(buses)
    pos = {b: i for i, b in enumerate(buses)}
    meters = list(meters)
    have = {(m["sensor_type"], m["element_type"], int(m["element"]), m["side"] or "") for m in meters}
    report = ObservabilityReport(observable=True)
    unobservable: set[int] = set()
    islands: list[list[int]] = []
    added: list[tuple] = []
    for quantity in ("p", "q"):
        H, _ = _structural_rows(meters, buses, edges, quantity, rep)
        if quantity == "p":
            ref = np.zeros((len(slacks), n))
            for k, s in enumerate(slacks):
                ref[k, pos[s]] = 1.0
            H = np.vstack([H, ref])
        if quantity == "q" and added:  # the devices added for P-theta measure Q too
            extra = [{"sensor_type": "reactive_power", "element_type": et, "element": e, "side": side}
                     for s, et, e, side in added if s == "active_power"]
            H = np.vstack([H, _structural_rows(extra, buses, edges, "q")[0]])
        Z = _null_space(H, n)
        deficiency = Z.shape[1]
        if quantity == "p":
            report.p_theta_rank_deficiency = deficiency
        else:
            report.q_v_rank_deficiency = deficiency
        if not deficiency:
            continue
        report.observable = False
        loose = np.linalg.norm(Z, axis=1) > 1e-7
        groups: dict[tuple, list[int]] = {}
        for i in np.flatnonzero(loose):
            unobservable.add(buses[i])
            groups.setdefault(tuple(np.round(Z[i] / (np.abs(Z[i]).max() or 1.0), 6)), []).append(buses[i])
        islands += [sorted(g) for g in groups.values()]
        # greedy rank restoration: candidates touching unobservable buses first
        cands = _candidates(buses, edges, quantity, have | {(s, et, e, sd) for s, et, e, sd in added})
        rows, _ = _structural_rows([{"sensor_type": s, "element_type": et, "element": e, "side": sd}
                                    for s, et, e, sd in cands], buses, edges, quantity)
        touches = (np.abs(rows) > 0) @ loose.astype(float) > 0
        order = [i for i in range(len(cands)) if touches[i]] + [i for i in range(len(cands)) if not touches[i]]
        for i in order:
            if Z.shape[1] == 0:
                break
            if np.linalg.norm(Z.T @ rows[i]) > 1e-7:
                added.append(cands[i])
                H = np.vstack([H, rows[i]])
                Z = _null_space(H, n)
    # a device measuring P measures Q as well: list both for each flow / injection device
    listed: list[tuple] = []
    for s, et, e, side in added:
        pair = [(s, et, e, side)]
        if s == "active_power":
            pair.append(("reactive_power", et, e, side))
        for item in pair:
            if item not in listed and (item[0], item[1], item[2], item[3]) not in have:
                listed.append(item)
    report.unobservable_buses = sorted(unobservable)
    report.islands = sorted({tuple(i) for i in islands})
    report.islands = [list(i) for i in report.islands]
    report.missing = [MissingMeasurement(sensor_type=s, element_type=et, element=e, side=side or None,
                                         label=meter_label(s, et, e, side or None)) for s, et, e, side in listed]
    return report


# -------------------------------------------------------------------------------------------------------- the core

@dataclass
class EstimateOutcome:
    """What :func:`estimate_meters` found (the tool turns it into a :class:`StateEstimationResult`)."""

    status: str
    states: int = 0
    meters_used: int = 0
    chi_square: ChiSquareTest | None = None
    suspects: list[SuspectMeasurement] = field(default_factory=list)
    critical: list[str] = field(default_factory=list)
    critical_count: int = 0
    observability: ObservabilityReport | None = None
    net: Any = None
    buses: Any = None
    branches: Any = None
    iterations: int | None = None
    estimates: int = 0
    notes: list[str] = field(default_factory=list)
    lnr_detection: float | None = None
    #: with diagnostics: per meter 'device/sensor' of the first estimate, (Omega_ii / R_ii, in a critical pair or set)
    redundancy_of: dict = field(default_factory=dict)


def _pandapower():
    import logging
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower as pp
        from pandapower.estimation.state_estimation import StateEstimation
    for name in ("pandapower", "lightsim2grid"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return pp, StateEstimation


def _wls(net, StateEstimation, tolerance: float, max_iterations: int):
    """One WLS run; the solver (r, H, Gm, R_inv, pp_meas_indices) or None when it did not converge."""
    import warnings

    from pandapower.estimation.util import estimate_voltage_vector

    for init in ("flat", "slack"):
        se = StateEstimation(net, tolerance, max_iterations, algorithm="wls")
        if init == "flat":
            v_start, delta_start = None, None
        else:
            start = estimate_voltage_vector(net)
            v_start, delta_start = start.vm_pu.values, start.va_degree.values
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = se.estimate(v_start=v_start, delta_start=delta_start, zero_injection=None)
        except Exception:  # noqa: BLE001 - pandapower raises bare Exception/UserWarning/LinAlgError: not converged
            continue
        if out["success"]:
            return se.solver, out
    return None, None


def _scales(net, meters, base_mva: float):
    """Factor from pandapower's per-unit residual to the estimator unit, per meter row."""
    import numpy as np

    out = np.ones(len(meters))
    for i, m in enumerate(meters.itertuples(index=False)):
        if m.sensor_type in ("active_power", "reactive_power"):
            out[i] = base_mva
        elif m.sensor_type == "voltage_angle":
            out[i] = 180.0 / math.pi
        elif m.sensor_type == "current":
            col = {"from": "from_bus", "to": "to_bus", "hv": "hv_bus", "lv": "lv_bus"}[m.side]
            vn = float(net.bus.at[int(net[m.element_type].at[m.element, col]), "vn_kv"])
            out[i] = base_mva / (math.sqrt(3) * vn) * 1e3
    return out


def lnr_detection_threshold(probability: float, m: int, lnr_threshold: float = 3.0) -> float:
    """The largest normalised residual that signals bad data on its own, even when the chi-square test passes.

    Parameters
    ----------
    probability : float
        Family-wise false-alarm probability p [-] (the chi-square test's).
    m : int
        Non-critical meters tested.
    lnr_threshold : float, default 3.0
        The identification threshold; the result is never below it.

    Returns
    -------
    float
        max(lnr_threshold, Phi^-1(1 - p / (2 m))) [-].

    Notes
    -----
    Each r_N,i ~ N(0, 1) without bad data; by the Bonferroni inequality, P(max_i |r_N,i| > t) <= 2 m (1 - Phi(t)) =
    p for t = Phi^-1(1 - p / (2 m)) (4.1 for m = 282 and p = 0.01).  A single-meter threshold of 3 would raise a
    false alarm on about half of the clean sets of 230 meters (1 - 0.9973^230).

    References
    ----------
    .. [1] Abur & Exposito 2004, sec. 5.7 (r_N ~ N(0, 1), largest normalised residual test).
    .. [2] C. E. Bonferroni, 1936 (union bound on the family-wise error).
    """
    from scipy.stats import norm

    if m <= 0:
        return lnr_threshold
    return max(float(lnr_threshold), float(norm.ppf(1.0 - probability / (2.0 * m))))


def estimate_meters(net, meters, *, chi2_probability: float = 0.01, lnr_threshold: float = 3.0,
                    max_bad_data: int = 5, tolerance: float = 1e-6, max_iterations: int = 50,
                    check: bool = True, diagnostics: bool = False) -> EstimateOutcome:
    """Observability check, WLS estimate, chi-square test and largest-normalised-residual removal on ``meters``.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid; it is copied, never changed.
    meters : pandas.DataFrame
        :attr:`gridsage.tools.estimation.measurements.MeterSet.meters` (values and std_dev in estimator units).
    chi2_probability : float, default 0.01
        False-alarm probability p of the chi-square test [-].
    lnr_threshold : float, default 3.0
        A normalised residual above this names its meter as bad [-] (Abur & Exposito 2004, sec. 5.7).
    max_bad_data : int, default 5
        Most meters removed.
    tolerance : float, default 1e-6
        WLS convergence on the state update [pu, rad].
    max_iterations : int, default 50
    check : bool, default True
        Run :func:`check_observability` first (False: the caller already did).
    diagnostics : bool, default False
        Fill ``redundancy_of`` from the first estimate (the eval uses it to tell critical meters and pairs).

    Returns
    -------
    EstimateOutcome
        ``net`` is the copy holding ``res_bus_est``, ``res_line_est``, ``res_trafo_est``.

    Notes
    -----
    Loop: estimate; J = r^T R^-1 r; Omega = R - H G^-1 H^T; meters with Omega_ii <= 1e-6 R_ii are critical
    (skipped); r_N = |r_i| / sqrt(Omega_ii).  Bad data is detected when J > chi2.ppf(1 - p, m - n) or when
    max r_N exceeds :func:`lnr_detection_threshold` (the family-wise false alarm of the r_N test held at p).  Then
    the meter with the largest r_N above ``lnr_threshold`` is removed and the state re-estimated; when none
    exceeds it, the status is 'suspect'.

    References
    ----------
    .. [1] Abur & Exposito 2004, sec. 5.4 (chi-square test), 5.7 (largest normalised residual test), 5.8
       (critical measurements and pairs); Schweppe et al. 1970.
    """
    import copy

    import numpy as np
    from scipy.stats import chi2

    pp, StateEstimation = _pandapower()
    meters = meters.reset_index(drop=True)
    records = meters.to_dict("records")
    outcome = EstimateOutcome(status="estimated")
    if check:
        report = check_observability(net, records)
        outcome.observability = report
        if not report.observable:
            outcome.status = "unobservable"
            outcome.meters_used = len(meters)
            return outcome
    work = copy.deepcopy(net)
    base_mva = float(work.sn_mva)
    scales = _scales(work, meters, base_mva)
    active = np.ones(len(meters), dtype=bool)
    removed: list[SuspectMeasurement] = []
    undone, last_row = False, -1
    while True:
        pandapower_measurements(work, meters[active])
        positions = np.flatnonzero(active)
        solver, out = _wls(work, StateEstimation, tolerance, max_iterations)
        outcome.estimates += 1
        if solver is None and removed and removed[-1].removed and not undone:
            # removing the last suspect left a set the WLS cannot solve: put it back, report it as a suspect
            last = removed[-1]
            last.removed = False
            active[last_row] = True
            undone = True
            outcome.status = "suspect"
            outcome.notes.append(f"removing {last.device_id}/{last.sensor_type} made the WLS diverge: it was kept, "
                                 "and the estimate is the one before its removal (the error may be elsewhere, e.g. "
                                 "on a critical meter).")
            continue
        if solver is None:
            outcome.status = "diverged"
            outcome.notes.append("the WLS iterations did not converge from a flat or a slack start; check the "
                                 "mapping (element, side, sign of injections) and the units of the readings.")
            outcome.suspects = removed
            return outcome
        outcome.iterations = out["num_iterations"]
        r = solver.r.ravel()
        w = np.diag(solver.R_inv)
        H, G = solver.H, solver.Gm
        # row of ``meters`` for each residual; pandapower's virtual zero-injection rows of the auxiliary buses it
        # adds at open line switches have no meter (index NaN -> negative): they and their 2 states are not counted
        index = np.asarray(solver.pp_meas_indices).astype(np.int64)
        real = index >= 0
        rows = np.full(len(index), -1, dtype=np.int64)
        rows[real] = positions[index[real]]
        m, n = H.shape
        outcome.states, outcome.meters_used = n - int((~real).sum()), int(real.sum())
        J = float(r @ (w * r))
        dof = m - n
        X = np.linalg.solve(G, H.T)                       # n x m
        R = 1.0 / w
        omega = R - np.einsum("ij,ji->i", H, X)
        critical = (omega <= CRITICAL_RATIO * R) & real
        outcome.critical_count = int(critical.sum())
        outcome.critical = [f"{meters.device_id[k]}/{meters.sensor_type[k]}" for k in rows[critical]][:MAX_CRITICAL]
        if diagnostics and outcome.estimates == 1:
            full = np.diag(R) - H @ X
            scale = np.sqrt(np.maximum(np.outer(omega, omega), 1e-300))
            corr = np.abs(full) / scale
            np.fill_diagonal(corr, 0.0)
            corr[critical, :] = 0.0
            corr[:, critical] = 0.0
            paired = (corr > PAIR_CORRELATION).any(axis=1)
            outcome.redundancy_of = {f"{meters.device_id[k]}/{meters.sensor_type[k]}": (float(omega[i] / R[i]),
                                                                                        bool(paired[i]))
                                     for i, k in enumerate(rows) if k >= 0}
        if dof <= 0:
            outcome.chi_square = None
            outcome.notes.append(f"m = n = {n}: no redundancy, every meter is critical; bad data can be neither "
                                 "detected nor identified.")
            break
        threshold = float(chi2.ppf(1.0 - chi2_probability, dof))
        passed = J <= threshold
        outcome.chi_square = ChiSquareTest(j=J, dof=dof, probability=chi2_probability, threshold=threshold,
                                           passed=bool(passed))
        rn = np.where(critical | ~real, 0.0, np.abs(r) / np.sqrt(np.maximum(omega, 1e-300)))
        worst = int(np.argmax(rn))
        detect = lnr_detection_threshold(chi2_probability, int((real & ~critical).sum()), lnr_threshold)
        outcome.lnr_detection = detect
        if undone or (passed and rn[worst] <= detect):  # clean, or the estimate after putting a suspect back
            break
        if rn[worst] <= lnr_threshold or len(removed) >= max_bad_data:
            outcome.status = "suspect"
            why = (f"no non-critical meter has a normalised residual above {lnr_threshold:g}"
                   if rn[worst] <= lnr_threshold else f"max_bad_data = {max_bad_data} meters already removed")
            crit = (f"; the error may sit on one of the {int(critical.sum())} critical meters "
                    f"({', '.join(outcome.critical[:5])}), whose errors can never be identified" if critical.any() else "")
            found = (f"chi-square test failed (J {J:.1f} > {threshold:.1f})" if not passed else
                     f"largest normalised residual {rn[worst]:.1f} > {detect:.2f}")
            outcome.notes.append(f"bad data detected ({found}) but {why}{crit}.")
            # name the largest normalised residual as the leading suspect, not removed
            if rn[worst] > 0:
                removed.append(_suspect(meters, rows[worst], r[worst], rn[worst], scales, False, []))
            break
        # critical pair / set: columns of Omega collinear with the worst one
        col = -H @ X[:, worst]
        col[worst] += R[worst]
        corr = np.abs(col) / np.sqrt(np.maximum(omega * omega[worst], 1e-300))
        twins = [f"{meters.device_id[rows[k]]}/{meters.sensor_type[rows[k]]}" for k in np.flatnonzero(
            (corr > PAIR_CORRELATION) & ~critical & real) if k != worst]
        removed.append(_suspect(meters, rows[worst], r[worst], rn[worst], scales, True, twins))
        last_row = rows[worst]
        active[last_row] = False
    outcome.suspects = removed
    if outcome.status == "estimated" and any(s.removed for s in removed):
        outcome.status = "bad_data"
    outcome.net = work
    outcome.buses, outcome.branches = _estimates(work)
    return outcome


def _suspect(meters, k, residual_pu, rn, scales, removed: bool, twins: list[str]) -> SuspectMeasurement:
    m = meters.iloc[int(k)]
    measured = float(m.value)
    estimated = measured - float(residual_pu) * float(scales[int(k)])
    return SuspectMeasurement(device_id=m.device_id, sensor_type=m.sensor_type, element_type=m.element_type,
                              element=int(m.element), side=m.side or None, label=m.label, measured=measured,
                              estimated=estimated, unit=UNIT[m.sensor_type], normalised_residual=float(rn),
                              removed=removed, ambiguous_with=twins[:5])


def _estimates(net):
    """Per-bus (vm, va, injections without shunts) and per-branch estimates as DataFrames."""
    import pandas as pd

    bus = net.res_bus_est[["vm_pu", "va_degree", "p_mw", "q_mvar"]].copy()
    if len(net.shunt) and "res_shunt_est" in net and len(net.res_shunt_est):
        sp = net.res_shunt_est.p_mw.groupby(net.shunt.bus).sum()
        sq = net.res_shunt_est.q_mvar.groupby(net.shunt.bus).sum()
        bus["p_mw"] = bus["p_mw"] - sp.reindex(bus.index).fillna(0.0)
        bus["q_mvar"] = bus["q_mvar"] - sq.reindex(bus.index).fillna(0.0)
    bus["p_mw"], bus["q_mvar"] = -bus["p_mw"], -bus["q_mvar"]  # demand -> injection into the grid
    bus = bus[bus.vm_pu.notna()]
    frames = []
    for table, col in (("line", "p_from_mw"), ("trafo", "p_hv_mw")):
        res = net.get(f"res_{table}_est")
        if res is not None and len(res):
            frames.append(pd.DataFrame({"element": table, "index": res.index, "p_from_mw": res[col].to_numpy(),
                                        "loading_percent": res["loading_percent"].to_numpy()}))
    branches = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["element", "index", "p_from_mw", "loading_percent"])
    return bus, branches


# ---------------------------------------------------------------------------------------------------------- save_as

def net_from_estimate(net, buses):
    """A copy of ``net`` whose set-points make an AC power flow reproduce the estimated state.

    Parameters
    ----------
    net : pandapower.pandapowerNet
    buses : pandas.DataFrame
        Estimated vm_pu, va_degree, p_mw, q_mvar (injections without shunts) by bus.

    Returns
    -------
    pandapower.pandapowerNet
        ext_grids and slack gens hold the estimated vm_pu and va_degree at their bus; other gens hold the
        estimated vm_pu and inject P so that the bus's net injection equals the estimate, within the unit's
        min_p_mw..max_p_mw (what the estimate puts beyond them, mostly meter noise at a unit on its limit, goes to a
        load named 'SE balance' at that bus, so no unit is set outside its limits); at every other bus the
        first in-service load (or a new load named 'SE balance') takes the difference between the estimated net
        injection and the present one, in P and Q.  Loads at gen buses keep their P and Q (the gen's Q follows from
        the voltage it holds).
    """
    import copy

    import numpy as np

    pp, _ = _pandapower()
    out = copy.deepcopy(net)
    est = buses
    slack_buses = set(int(b) for b in out.ext_grid.bus[out.ext_grid.in_service])
    for i in out.ext_grid.index[out.ext_grid.in_service]:
        b = int(out.ext_grid.at[i, "bus"])
        out.ext_grid.at[i, "vm_pu"] = float(est.at[b, "vm_pu"])
        out.ext_grid.at[i, "va_degree"] = float(est.at[b, "va_degree"])

    def net_p(b, q=False):
        col = "q_mvar" if q else "p_mw"
        total = 0.0
        for table, sign in (("load", -1.0), ("sgen", 1.0), ("storage", -1.0)):
            t = out[table] if table in out else None
            if t is not None and len(t):
                sel = t[(t.bus == b) & t.in_service]
                total += sign * float((sel[col] * sel.get("scaling", 1.0)).sum())
        return total

    gen_live = out.gen[out.gen.in_service] if len(out.gen) else out.gen
    gen_buses = set()
    for b, group in (gen_live.groupby("bus") if len(gen_live) else []):
        b = int(b)
        gen_buses.add(b)
        first = group.index[0]
        others = float(group.p_mw.iloc[1:].sum())
        slack = "slack" in group and bool(group.at[first, "slack"])
        for g in group.index:
            out.gen.at[g, "vm_pu"] = float(est.at[b, "vm_pu"])
        if slack or b in slack_buses:
            if slack:
                out.gen.at[first, "va_degree"] = float(est.at[b, "va_degree"]) if "va_degree" in out.gen else None
            continue
        scaling = (float(out.gen.at[first, "scaling"]) if "scaling" in out.gen else 1.0) or 1.0
        wanted = (float(est.at[b, "p_mw"]) - net_p(b) - others) / scaling
        low, high = (float(out.gen.at[first, c]) if c in out.gen and np.isfinite(out.gen.at[first, c]) else w
                     for c, w in (("min_p_mw", -np.inf), ("max_p_mw", np.inf)))
        out.gen.at[first, "p_mw"] = min(max(wanted, low), high)  # a unit stays within its P limits
        beyond = (wanted - out.gen.at[first, "p_mw"]) * scaling
        if abs(beyond) > 1e-9:  # the estimate's excess over the unit's limits: an injection at its bus, not the unit
            pp.create_load(out, bus=b, p_mw=-beyond, q_mvar=0.0, name="SE balance")
    for b in est.index:
        b = int(b)
        if b in gen_buses or b in slack_buses:
            continue
        dp = float(est.at[b, "p_mw"]) - net_p(b)
        dq = float(est.at[b, "q_mvar"]) - net_p(b, q=True)
        if abs(dp) < 1e-9 and abs(dq) < 1e-9:
            continue
        loads = out.load[(out.load.bus == b) & out.load.in_service] if len(out.load) else out.load
        if len(loads):
            i = loads.index[0]
            s = float(out.load.at[i, "scaling"]) if "scaling" in out.load else 1.0
            out.load.at[i, "p_mw"] = float(out.load.at[i, "p_mw"]) - dp / (s or 1.0)
            out.load.at[i, "q_mvar"] = float(out.load.at[i, "q_mvar"]) - dq / (s or 1.0)
        else:
            pp.create_load(out, bus=b, p_mw=-dp, q_mvar=-dq, name="SE balance")
    return out


# ------------------------------------------------------------------------------------------------------------ tools

def _rows_of(frame, limit):
    return frame.head(limit), max(0, len(frame) - limit)


@tool
def estimate_state(
    grid_id: Annotated[str, Field(description="Grid whose state is estimated (left unchanged).")],
    measurements: Annotated[str, Field(min_length=1, max_length=4096, description=(
        "Readings file (telemetry format: device_id, sensor_type, value, unit, timestamp, [quality]) under a data "
        "root. Sensor types used: voltage (V or pu), voltage_angle (deg), active_power (MW), reactive_power (Mvar), "
        "current (A)."))],
    mapping: Annotated[str, Field(min_length=1, max_length=4096, description=(
        "Mapping CSV under a data root: device_id, sensor_type, element_type (bus|line|trafo), element (index), "
        "side (from|to, hv|lv, blank for a bus), std_dev (optional, pu/deg/MW/Mvar/A)."))],
    at: Annotated[str | None, Field(max_length=64, description=(
        "Use the latest reading at or before this ISO 8601 time with offset; default the latest in the file."))] = None,
    max_age_s: Annotated[float, Field(gt=0, le=30 * 86400, description="Oldest reading used before 'at' [s].")] = 900.0,
    chi2_probability: Annotated[float, Field(gt=0, lt=0.5, description="False-alarm probability of the chi-square test [-].")] = 0.01,
    lnr_threshold: Annotated[float, Field(gt=0, le=100, description="Largest normalised residual above which a meter is named bad [-].")] = 3.0,
    max_bad_data: Annotated[int, Field(ge=0, le=50, description="Most meters removed as bad data.")] = 5,
    save_as: Annotated[str | None, Field(max_length=128, description=(
        "Add the estimated state to the workspace as a new grid with this id (loads/gens set to the estimated "
        "injections), for studies to start from."))] = None,
) -> StateEstimationResult:
    """Estimate a grid's state from SCADA/PMU readings by weighted least squares, and name bad meters.

    Parameters
    ----------
    grid_id : str
        Grid in the workspace (its network model: topology, impedances).
    measurements : str
        Readings file under a data root (telemetry format, :func:`gridsage.tools.telemetry.ingest.read_telemetry`).
    mapping : str
        Device-to-element mapping CSV under a data root (:mod:`gridsage.tools.estimation.measurements`).
    at : str, optional
        Estimation time (ISO 8601 with offset); default the latest reading.
    max_age_s : float, default 900
        Oldest reading used [s].
    chi2_probability : float, default 0.01
        False-alarm probability p of the chi-square test [-].
    lnr_threshold : float, default 3.0
        Normalised residual threshold [-].
    max_bad_data : int, default 5
        Most meters removed.
    save_as : str, optional
        Id of a new grid holding the estimated state.

    Returns
    -------
    StateEstimationResult
        Status, counts (m, n, m / n), chi-square test, suspects named with measured and estimated values and their
        normalised residual, critical meters, per-bus estimates (vm_pu, va_degree, p_mw, q_mvar) and per-branch
        loading, the extremes; when unobservable, the buses and the missing measurements.

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    InputError
        If a file is outside the data roots, missing, unreadable or lacks a required column, or ``at`` is not an
        ISO 8601 time with an offset.  Bad rows are not errors: they are listed (row, field, reason).

    References
    ----------
    .. [1] Schweppe et al. 1970; Abur & Exposito 2004 ch. 2, 4, 5; Monticelli & Wu 1985 (module docstring).
    """
    from gridsage.tools.telemetry.ingest import read_telemetry

    start = time.perf_counter()
    grid = current_workspace().get(grid_id)
    net = grid.net
    mapped = read_mapping(mapping, net)
    ingest = read_telemetry(measurements)
    meter_set = assemble_meters(ingest.accepted, mapped.accepted, net, at=at, max_age_s=max_age_s)
    outcome = estimate_meters(net, meter_set.meters, chi2_probability=chi2_probability,
                              lnr_threshold=lnr_threshold, max_bad_data=max_bad_data)
    result = _result(grid_id, outcome, mapped, ingest, meter_set)
    if save_as and outcome.net is not None and outcome.status in ("estimated", "bad_data", "suspect"):
        saved = net_from_estimate(grid.net, outcome.buses)
        removed = ", ".join(f"{s.device_id}/{s.sensor_type}" for s in outcome.suspects if s.removed)
        new = current_workspace().add(Grid(
            grid_id=save_as, source=grid_id, net=saved, base_dispatch=grid.base_dispatch, parent_id=grid_id,
            changes=grid.changes + [f"loads and gens set to the state estimated from {meter_set.meters.shape[0]} meters"
                                    + (f" ({removed} removed as bad data)" if removed else "")],
            notes=list(grid.notes) + ["Injections are estimated values (WLS state estimation), not forecasts."]))
        result.saved_grid_id = new.grid_id
    elif save_as:
        result.notes.append(f"save_as ignored: no estimated state (status {outcome.status}).")
    result.time_ms = round((time.perf_counter() - start) * 1e3, 1)
    return result


def _result(grid_id, outcome: EstimateOutcome, mapped, ingest, meter_set: MeterSet) -> StateEstimationResult:
    n = outcome.states
    m = outcome.meters_used
    if not n:  # unobservable: no estimate, n from the model
        buses, slacks, _, _ = _model_buses(current_workspace().get(grid_id).net)
        n = 2 * len(buses) - max(1, len(slacks))
    counts = EstimationCounts(
        mapping_rows=mapped.rows_read, mapping_rejected=len(mapped.rejected), readings_read=ingest.rows_read,
        readings_rejected=len(ingest.rejected), meters_used=m, states=n, redundancy=(m / n if n else 0.0),
        readings_without_mapping=meter_set.unmapped_count, missing_meters=meter_set.missing_count,
        stale_meters=meter_set.stale_count, critical_meters=outcome.critical_count)
    res = StateEstimationResult(
        status=outcome.status, grid_id=grid_id, at=meter_set.at.to_pydatetime() if meter_set.at is not None else None,
        counts=counts, chi_square=outcome.chi_square, suspects=outcome.suspects, critical_meters=outcome.critical,
        mapping_rejected=mapped.rejected[:MAX_REJECTED], readings_rejected=ingest.rejected[:MAX_REJECTED],
        readings_without_mapping=meter_set.unmapped, missing_meters=meter_set.missing,
        iterations=outcome.iterations, estimates=outcome.estimates, notes=list(outcome.notes),
        lnr_detection_threshold=outcome.lnr_detection)
    obs = outcome.observability
    if outcome.status == "unobservable" and obs is not None:
        res.unobservable_buses = obs.unobservable_buses
        res.unobservable_islands = obs.islands[:MAX_MISSING]
        res.missing_measurements = obs.missing[:MAX_MISSING]
        res.notes.append(f"not estimated: {len(obs.unobservable_buses)} bus(es) unobservable (P-theta rank deficiency "
                         f"{obs.p_theta_rank_deficiency}, Q-V {obs.q_v_rank_deficiency}); adding the "
                         f"{len(obs.missing)} missing measurement(s) listed restores observability.")
    if outcome.buses is not None and len(outcome.buses):
        b = outcome.buses
        rows, left = _rows_of(b, MAX_BUSES)
        res.buses = [BusEstimate(bus=int(i), vm_pu=float(r.vm_pu), va_degree=float(r.va_degree), p_mw=float(r.p_mw),
                                 q_mvar=float(r.q_mvar)) for i, r in rows.iterrows()]
        lo, hi = b.vm_pu.idxmin(), b.vm_pu.idxmax()
        res.vm_min = BusEstimate(bus=int(lo), **{k: float(b.at[lo, k]) for k in ("vm_pu", "va_degree", "p_mw", "q_mvar")})
        res.vm_max = BusEstimate(bus=int(hi), **{k: float(b.at[hi, k]) for k in ("vm_pu", "va_degree", "p_mw", "q_mvar")})
        br = outcome.branches.sort_values("loading_percent", ascending=False, na_position="last")
        rows_b, left_b = _rows_of(br, MAX_BRANCHES)
        res.branches = [BranchEstimate(element=r.element, index=int(r.index), p_from_mw=float(r.p_from_mw),
                                       loading_percent=None if r.loading_percent != r.loading_percent
                                       else float(r.loading_percent)) for r in rows_b.itertuples(index=False)]
        res.max_loading = res.branches[0] if res.branches else None
        res.rows_omitted = left + left_b
    if outcome.critical_count:
        res.notes.append(f"{outcome.critical_count} critical meter(s) (residual variance ~0): an error on them "
                         "can be neither detected nor identified; add meters nearby to protect them.")
    res.not_checked = [
        "topology errors (breaker status) are not estimated: the grid's switching state is taken as true",
        "parameter errors (line impedances, transformer taps) are not estimated",
        "operating limits (voltage band, thermal) are not judged here: run run_power_flow on save_as for that",
        "current-magnitude meters do not count towards observability (Abur & Exposito 2004, sec. 4.2)",
    ]
    return res


class SimulatedMeasurementsResult(ToolResult):
    """Where a simulated meter set was written, and what was planted (the answer key of a test)."""

    status: Literal["ok"] = "ok"
    grid_id: str
    readings_path: str
    mapping_path: str
    meters: int = Field(description="Meters placed (mapping rows).")
    readings: int = Field(description="Readings written (meters minus the missing ones).")
    states: int = Field(description="n = 2 N - s.")
    redundancy: float = Field(description="readings / n [-].")
    seed: int
    gross_errors: list[dict] = Field(default_factory=list, description=(
        "Planted: device_id, sensor_type, size_sigma, true_value, reading, std_dev."))
    missing_meters: list[str] = Field(default_factory=list, description="device_id/sensor_type of the dropped readings.")


class _GrossSpec(BaseModel):
    device_id: str = Field(min_length=1, max_length=128)
    sensor_type: Literal["voltage", "voltage_angle", "active_power", "reactive_power"]
    size_sigma: float = Field(ge=-1000, le=1000, allow_inf_nan=False)


@tool
def simulate_measurements(
    grid_id: Annotated[str, Field(description="Grid whose AC power flow is the true state.")],
    out_dir: Annotated[str, Field(min_length=1, max_length=4096, description="Folder under the output folder.")],
    redundancy: Annotated[float, Field(ge=1.0, le=4.0, description="Target m / n [-] (1.2 = about 20 % redundancy).")] = 1.2,
    pmu_buses: Annotated[list[int], Field(max_length=1000, description="Buses with a PMU angle meter.")] = [],
    gross_errors: Annotated[list[_GrossSpec], Field(max_length=100, description="Errors planted at named meters.")] = [],
    random_gross_errors: Annotated[int, Field(ge=0, le=100, description="Errors planted at random meters.")] = 0,
    missing: Annotated[int, Field(ge=0, le=10_000, description="Meters whose readings are dropped.")] = 0,
    seed: Annotated[int, Field(ge=0, le=2**32 - 1, description="Seed of every random draw.")] = 0,
) -> SimulatedMeasurementsResult:
    """Simulate noisy SCADA/PMU readings of a grid, with planted gross errors and missing meters, and write them.

    Parameters
    ----------
    grid_id : str
    out_dir : str
        Folder under the output folder (:func:`gridsage.tools.paths.writable_dir`); readings.csv and mapping.csv
        are written there (never the truth).
    redundancy : float, default 1.2
        Target m / n [-].
    pmu_buses : list of int
    gross_errors : list of {device_id, sensor_type, size_sigma}
    random_gross_errors : int, default 0
    missing : int, default 0
    seed : int, default 0

    Returns
    -------
    SimulatedMeasurementsResult
        Paths, counts, and the planted errors and missing meters.

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    InputError
        If ``out_dir`` is outside the output folder, a named meter is not placed, or the power flow diverges.

    References
    ----------
    .. [1] :func:`gridsage.tools.estimation.measurements.simulate_measurement_set` (meter classes, placement).
    """
    from gridsage.tools.estimation.measurements import simulate_measurement_set
    from gridsage.tools.paths import writable_dir, writable_file

    writable_dir(out_dir, "out_dir", create=False)
    grid = current_workspace().get(grid_id)
    sim = simulate_measurement_set(grid.net, redundancy=redundancy, pmu_buses=pmu_buses,
                                   gross_errors=[g.model_dump() for g in gross_errors],
                                   random_gross_errors=random_gross_errors, missing=missing, seed=seed)
    folder = writable_dir(out_dir, "out_dir")
    readings_path = writable_file(folder, "readings.csv", "out_dir")
    mapping_path = writable_file(folder, "mapping.csv", "out_dir")
    sim.readings.to_csv(readings_path, index=False)
    sim.mapping.to_csv(mapping_path, index=False, float_format="%.6g")
    return SimulatedMeasurementsResult(
        grid_id=grid_id, readings_path=str(readings_path), mapping_path=str(mapping_path), meters=len(sim.mapping),
        readings=len(sim.readings), states=sim.truth["states"], redundancy=round(sim.truth["redundancy"], 4), seed=seed,
        gross_errors=[g.model_dump() for g in sim.truth["gross_errors"]],
        missing_meters=[f"{d}/{s}" for d, s in sim.truth["missing"]])
