"""Energy losses of a grid over a load profile: one AC power flow per interval.

A profile is a CSV file (under a data root, :func:`gridsage.tools.paths.readable_file`) with one row per interval:

* ``timestamp``: ISO 8601 time *with* a UTC offset (``2026-01-01T00:00:00+01:00``, ``...Z``), the interval's start;
* ``load_scaling`` [-]: multiplier of every in-service load's ``p_mw`` and ``q_mvar`` (on top of the load's own
  pandapower ``scaling``);
* ``sgen_scaling`` [-], optional: the same for every static generator (``sgen``); default 1;
* ``gen_scaling`` [-], optional: multiplier of every voltage-controlled generator's (``gen``) ``p_mw`` (a slack
  unit's output stays what balances the grid); default 1, i.e. the generators keep their set-points and the slack
  (``ext_grid``) takes up every change of load.

Interval length: the time from a row to the next accepted row; the last interval takes the length of the one
before it.  Steps need not be regular (a 15-minute block after hourly rows is fine).  A rejected row in the middle
is held over by the accepted row before it (zero-order hold), and the result says so in ``notes``.  Rows whose
``timestamp`` is missing, unparsed, without an offset or not after the previous accepted row, and rows whose
scalings are missing, not finite, negative or above :data:`MAX_SCALING`, are rejected with their row number, field
and reason; the other rows are kept and used.

Each interval is an AC power flow (Newton-Raphson, pandapower's equations; generator reactive limits are *not*
enforced, as in a plain ``runpp``) of a copy of the workspace grid with the scalings applied; the loaded grid is
never changed.  Losses of an interval are

.. math:: P_{loss} = \\sum_{line} p_{l} + \\sum_{trafo} p_{l} + \\sum_{trafo3w} p_{l} + \\sum_{impedance} p_{l}
   \\quad [MW]

with :math:`p_l` the branch's active loss (pandapower ``pl_mw``: the sum of the active power entering it at every
terminal, series and shunt losses alike).  Energy: :math:`E = \\sum_i P_i \\, \\Delta t_i` [MWh] over the solved
intervals.

Engine: lightsim2grid's C++ batch solver (``InjectionSweepCPP``: every interval starts from the base-case voltages,
so one interval's failure never spoils the next) on a grid model built from pandapower's own internal case
(``net._ppc``) of the copy, one model per energised part of the grid, so both engines solve exactly the same
equations (branch shunt conductance, which lightsim2grid's MATPOWER reader has no column for, is carried as bus
shunts and added back to each branch's loss).  An interval lightsim2grid does not solve is re-solved with pandapower
(up to :data:`RESOLVE_MAX`); grids lightsim2grid cannot model (voltage-dependent loads, asymmetric impedances, an
energised part with several slack buses) use a plain pandapower ``runpp`` loop.

Intervals whose power flow fails are named (count and first timestamps) and left out of every total; the load
energy they would have served is reported as not covered (``energy_load_not_covered_mwh``).  Buses cut off from
every source (islanded, for the whole profile) are counted, and their load energy is reported as unsupplied.

References
----------
.. [1] W. H. Kersting, *Distribution System Modeling and Analysis*, 4th ed., CRC Press, 2017, Chapter 2 (load factor
   :math:`F_{LD}` = average / maximum demand; loss factor :math:`F_{LS}` = average / maximum power loss, and its
   estimate :math:`F_{LS} \\approx 0.16 F_{LD} + 0.84 F_{LD}^2`).
.. [2] CEER, "2nd CEER Report on Power Losses", Ref. C17-EQS-80-03, 2017 (losses as a share of the energy entering
   the network).
.. [3] L. Thurner et al., "pandapower", IEEE Trans. Power Syst. 33(6), 2018 (``runpp``; ``pl_mw`` of every branch).
.. [4] B. Donnot, "LightSim2Grid: a c++ backend for grid2op", 2020, https://github.com/Grid2Op/lightsim2grid.
"""

from __future__ import annotations

import copy
import re
import time
import warnings
from dataclasses import dataclass, field as dc_field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from gridsage.errors import InputError, RequestTooLargeError
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.grid import element_name
from gridsage.tools.paths import parse_problem, readable_file
from gridsage.tools.views import CompactView, head, label
from gridsage.tools.workspace import current_workspace

__all__ = ["BranchLoss", "EnergyLossResult", "EnergyLossView", "IntervalLoss", "ProfileRejectedRow", "energy_losses",
           "losses_over_profile", "read_profile"]

#: most rows a profile may have (a leap year at 5-minute resolution)
MAX_PROFILE_ROWS = 105_408
#: largest scaling accepted [-]: a bigger multiplier is a unit error, not a load level
MAX_SCALING = 1000.0
#: intervals lightsim2grid did not solve that are re-solved with pandapower
RESOLVE_MAX = 50
#: failed intervals named by their timestamp (all are counted)
FAILED_LISTED = 10
#: rejected rows listed in the full result (all are counted)
REJECTED_LISTED = 50
#: memory bound of one lightsim2grid batch of branch results [bytes]
BATCH_BYTES = 64 * 2 ** 20
#: Newton-Raphson tolerance of the lightsim2grid solves [pu], as pandapower's default tolerance_mva = 1e-8
LS_TOL, LS_MAX_ITER = 1e-8, 10
#: what a compact view lists: top branches, failed intervals, rejected rows
BRANCHES_BRIEF, FAILED_BRIEF, REJECTED_BRIEF = 5, 3, 3
#: branch tables whose pl_mw makes the losses
LOSS_TABLES = ("line", "trafo", "trafo3w", "impedance")

REFERENCES = [
    "W. H. Kersting, Distribution System Modeling and Analysis, 4th ed., CRC Press, 2017, Chapter 2 (load factor, "
    "loss factor)",
    "CEER, 2nd CEER Report on Power Losses, C17-EQS-80-03, 2017 (losses as a share of energy entering the network)",
    "L. Thurner et al., pandapower, IEEE Trans. Power Syst. 33(6), 2018 (runpp, branch pl_mw)",
]

_OFFSET = re.compile(r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$")


class ProfileRejectedRow(BaseModel):
    """One profile row that was not used, and why (no cell of the file is quoted)."""

    row: int = Field(description="Record number, 1-based, header excluded (file line row + 1).")
    field: str = Field(description="Column at fault (the first one, in the order timestamp, load_scaling, "
                                   "sgen_scaling, gen_scaling).")
    reason: str


class BranchLoss(BaseModel):
    """One branch's share of the energy losses."""

    element: Literal["line", "trafo", "trafo3w", "impedance"]
    index: int = Field(description="Index in that pandapower table.")
    name: str = Field(description="Readable label, e.g. 'line 3 (bus 4-bus 5)'.")
    energy_loss_mwh: float = Field(description="Energy lost in it over the solved intervals [MWh].")
    share_percent: float = Field(description="Its share of energy_loss_mwh of the grid [%].")
    peak_loss_mw: float = Field(description="Its largest loss in one interval [MW].")


class IntervalLoss(BaseModel):
    """One interval of the profile."""

    timestamp: str = Field(description="Start of the interval, ISO 8601 with its offset as given.")
    hours: float = Field(description="Length [h].")
    load_scaling: float = Field(description="[-]")
    sgen_scaling: float = Field(description="[-]")
    gen_scaling: float = Field(description="[-]")
    solved: bool
    load_mw: float | None = Field(description="Load served [MW]; None when the power flow failed.")
    loss_mw: float | None = Field(description="Losses [MW]; None when the power flow failed.")


class EnergyLossResult(ToolResult):
    """Energy losses of a grid over a load profile, from one AC power flow per interval."""

    status: Literal["ok", "partial", "failed"] = Field(description=(
        "'ok' every interval solved; 'partial' some failed (named, left out of the totals); 'failed' none solved."))
    grid_id: str
    profile: str = Field(description="File name of the profile.")
    method: Literal["lightsim2grid", "pandapower"] = Field(description="Engine of the power flows.")
    intervals_total: int = Field(description="Intervals of the profile (accepted rows).")
    intervals_solved: int
    intervals_failed: int = Field(description="Intervals whose power flow failed: left out of every total.")
    failed_first: list[str] = Field(default_factory=list, description=(
        f"Timestamps of the first {FAILED_LISTED} failed intervals."))
    resolved_with_pandapower: int = Field(default=0, description=(
        "Intervals lightsim2grid did not solve and pandapower did (counted as solved)."))
    start: str | None = Field(default=None, description="Start of the first interval (ISO 8601).")
    end: str | None = Field(default=None, description="End of the last interval (ISO 8601).")
    hours_total: float = Field(description="Length of the profile [h].")
    hours_solved: float = Field(description="Length of the solved intervals [h].")
    energy_loss_mwh: float = Field(description="Energy losses over the solved intervals [MWh]: sum of P_loss dt.")
    energy_load_mwh: float = Field(description="Load energy served over the solved intervals [MWh].")
    energy_load_not_covered_mwh: float = Field(description=(
        "Load energy of the failed intervals (scaled loads times their length), not in energy_load_mwh [MWh]."))
    energy_load_unsupplied_mwh: float = Field(description=(
        "Load energy at buses cut off from every source over the solved intervals: islanded, not served [MWh]."))
    islanded_buses: int = Field(default=0, description="In-service buses with no source (no result) [-].")
    loss_percent: float | None = Field(description=(
        "energy_loss / (energy_load + energy_loss) * 100: losses as a share of the energy entering the network [%] "
        "(CEER 2017); None without served load."))
    peak_loss_mw: float | None = Field(description="Largest loss of one interval [MW].")
    peak_loss_time: str | None = Field(description="Start of that interval.")
    peak_load_mw: float | None = Field(description="Largest load served in one interval [MW].")
    peak_load_time: str | None = Field(description="Start of that interval.")
    mean_loss_mw: float | None = Field(description="energy_loss_mwh / hours_solved [MW].")
    mean_load_mw: float | None = Field(description="energy_load_mwh / hours_solved [MW].")
    loss_load_factor: float | None = Field(description=(
        "Loss factor F_LS = mean_loss_mw / peak_loss_mw [-] (Kersting, Chapter 2)."))
    load_factor: float | None = Field(description="Load factor F_LD = mean_load_mw / peak_load_mw [-] (Kersting, "
                                                  "Chapter 2).")
    loss_factor_estimate: float | None = Field(description=(
        "Kersting's estimate of F_LS from the load factor, 0.16 F_LD + 0.84 F_LD^2 [-], to compare with "
        "loss_load_factor."))
    top_branches: list[BranchLoss] = Field(default_factory=list, description="Branches by energy loss, largest first.")
    branches_omitted: int = Field(default=0, description="Branches with losses not listed in top_branches.")
    rows_read: int
    rows_rejected: int
    rejected_rows: list[ProfileRejectedRow] = Field(default_factory=list, description=(
        f"The first {REJECTED_LISTED} rejected rows, in file order."))
    series: list[IntervalLoss] = Field(default_factory=list, description="The first max_series intervals.")
    series_omitted: int = Field(default=0, description="Intervals not in series.")
    elapsed_s: float = Field(description="Wall time of the power flows [s].")
    notes: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=lambda: list(REFERENCES))

    def compact(self) -> "EnergyLossView":
        """Totals, peak, factors, the top branches, the first failed intervals and rejected rows; no series."""
        return EnergyLossView.of(
            self, notes=self.notes,
            lists={"top_branches": head(self.top_branches, BRANCHES_BRIEF, branch_text),
                   "failed_first": head(self.failed_first, FAILED_BRIEF),
                   "rejected_rows": head(self.rejected_rows, REJECTED_BRIEF, lambda r: f"row {r.row} {r.field}: {r.reason}"),
                   "series": ([], len(self.series))},
            **{k: getattr(self, k) for k in _VIEW_FIELDS})

    def one_line(self) -> str:
        """``'ok: 12.3 MWh lost over 24.0 h (3.1 %), peak 0.8 MW at 2026-...' [ev-0004]``."""
        return f"{headline(self)} [{self.evidence_id}]"


_VIEW_FIELDS = ("grid_id", "profile", "method", "intervals_total", "intervals_solved", "intervals_failed", "start",
                "end", "hours_total", "hours_solved", "energy_loss_mwh", "energy_load_mwh",
                "energy_load_not_covered_mwh", "energy_load_unsupplied_mwh", "islanded_buses", "loss_percent",
                "peak_loss_mw", "peak_loss_time", "mean_loss_mw", "loss_load_factor", "load_factor", "rows_rejected")


def branch_text(b: BranchLoss) -> str:
    """``'line 3: 1.234 MWh (12.3 %)'``."""
    return f"{label(b.element, b.index)}: {b.energy_loss_mwh:.4g} MWh ({b.share_percent:.1f} %)"


def headline(r) -> str:
    """The result in a few words."""
    if r.status == "failed":
        return f"failed: none of {r.intervals_total} intervals solved"
    failed = f", {r.intervals_failed} intervals failed" if r.intervals_failed else ""
    share = f" ({r.loss_percent:.2f} %)" if r.loss_percent is not None else ""
    return (f"{r.status}: {r.energy_loss_mwh:.4g} MWh lost over {r.hours_solved:.4g} h{share}, peak "
            f"{r.peak_loss_mw:.4g} MW at {r.peak_loss_time}{failed}")


class EnergyLossView(CompactView):
    """Energy losses as models and MCP clients receive them: totals, peak, factors, the top branches.

    The full :class:`EnergyLossResult` (every listed branch, failed interval and rejected row, and the
    per-interval series) is the evidence behind ``evidence_id``.
    """

    grid_id: str
    profile: str
    method: str
    intervals_total: int
    intervals_solved: int
    intervals_failed: int
    start: str | None = None
    end: str | None = None
    hours_total: float
    hours_solved: float
    energy_loss_mwh: float = Field(description="[MWh]")
    energy_load_mwh: float = Field(description="[MWh]")
    energy_load_not_covered_mwh: float = Field(description="Load energy of failed intervals [MWh].")
    energy_load_unsupplied_mwh: float = Field(description="Load energy at islanded buses [MWh].")
    islanded_buses: int
    loss_percent: float | None = Field(default=None, description="loss / (load + loss) [%].")
    peak_loss_mw: float | None = None
    peak_loss_time: str | None = None
    mean_loss_mw: float | None = None
    loss_load_factor: float | None = Field(default=None, description="mean / peak loss [-].")
    load_factor: float | None = Field(default=None, description="mean / peak load [-].")
    rows_rejected: int
    top_branches: list[str] = Field(default_factory=list, description=f"The {BRANCHES_BRIEF} largest, 'line 3: ...'.")
    failed_first: list[str] = Field(default_factory=list, description="First failed intervals' timestamps.")
    rejected_rows: list[str] = Field(default_factory=list, description="First rejected rows.")

    def headline(self) -> str:
        return headline(self)


# ----------------------------------------------------------------------------------------------------------- profile

@dataclass
class Profile:
    """Accepted profile rows (numpy arrays, one entry per interval) and the rejected ones.

    Attributes
    ----------
    timestamps : list of str
        Each interval's start as given (stripped).
    start_ns : numpy.ndarray of int64
        Each interval's start [ns since the epoch, UTC].
    hours : numpy.ndarray
        Each interval's length [h].
    load_scaling, sgen_scaling, gen_scaling : numpy.ndarray
        [-]
    rejected : list of ProfileRejectedRow
    rows_read : int
    name : str
    """

    timestamps: list[str]
    start_ns: Any
    hours: Any
    load_scaling: Any
    sgen_scaling: Any
    gen_scaling: Any
    rejected: list[ProfileRejectedRow] = dc_field(default_factory=list)
    rows_read: int = 0
    name: str = "profile"


def read_profile(source, field: str = "profile") -> Profile:
    """Read and validate a load profile, keeping every good row and naming every other.

    Parameters
    ----------
    source : str or pandas.DataFrame
        A CSV file under a data root (header row; columns ``timestamp``, ``load_scaling``, optional
        ``sgen_scaling``, ``gen_scaling``; names case-insensitive; other columns ignored), or a DataFrame with those columns.
    field : str, default 'profile'
        Argument name for errors.

    Returns
    -------
    Profile

    Raises
    ------
    InputError
        If the file is outside the data roots, missing, not CSV, unreadable, lacks a required column, or fewer than
        two rows are valid (an interval's length needs the next row).  Messages never quote the file.
    RequestTooLargeError
        If it has more than :data:`MAX_PROFILE_ROWS` rows.
    """
    import numpy as np
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame, name = source.astype(str).where(source.notna(), ""), "DataFrame"
    else:
        path = readable_file(source, field, suffixes=(".csv", ".txt"))
        name = path.name
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False,
                                    nrows=MAX_PROFILE_ROWS + 1)
        except pd.errors.EmptyDataError:
            raise InputError(f"{name} is empty", field=field, fix="give a CSV with a header row "
                             "(timestamp,load_scaling[,sgen_scaling][,gen_scaling]) and one row per interval.") from None
        except (pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{name} is not readable as CSV ({parse_problem(exc)})", field=field,
                             fix="save the profile as UTF-8 CSV with a header row and one row per interval.") from None
    if len(frame) > MAX_PROFILE_ROWS:
        raise RequestTooLargeError(f"more than {MAX_PROFILE_ROWS:,} rows in {name}", field=field,
                                   fix=f"split the profile into parts of at most {MAX_PROFILE_ROWS:,} rows.")
    frame = frame.set_axis([str(c).strip().lower() for c in frame.columns], axis=1)
    missing = [c for c in ("timestamp", "load_scaling") if c not in frame.columns]
    if missing:
        raise InputError(f"no column {', '.join(missing)} in {name}", field=f"{field}.{missing[0]}",
                         fix="name the columns timestamp (ISO 8601 with offset), load_scaling [-] and optionally "
                             "sgen_scaling [-] and gen_scaling [-].")
    n = len(frame)
    bad = np.zeros(n, dtype=bool)
    fields = np.empty(n, dtype=object)
    reasons = np.empty(n, dtype=object)

    def reject(mask, column: str, reason: str) -> None:
        new = np.flatnonzero(mask & ~bad)
        bad[new], fields[new], reasons[new] = True, column, reason

    text = frame["timestamp"].astype(str).str.strip()
    reject((text == "").to_numpy(), "timestamp", "missing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(text.where(text != "", None), format="ISO8601", utc=True, errors="coerce")
    reject(parsed.isna().to_numpy(), "timestamp", "not an ISO 8601 time (e.g. 2026-01-01T00:00:00+01:00)")
    reject(~text.str.contains(_OFFSET).to_numpy(), "timestamp", "no UTC offset: add one (Z, +01:00)")

    def scaling(column: str):
        if column not in frame.columns:
            return np.ones(n)
        raw = frame[column].astype(str).str.strip()
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        reject((raw == "").to_numpy(), column, "missing")
        reject(np.isnan(values), column, "not a number")
        reject(~np.isfinite(values), column, "not finite")
        reject(values < 0, column, "negative (a scaling is >= 0)")
        reject(values > MAX_SCALING, column, f"above {MAX_SCALING:g} (a unit error?)")
        return values

    load_s, sgen_s, gen_s = scaling("load_scaling"), scaling("sgen_scaling"), scaling("gen_scaling")
    ns = parsed.astype("int64", copy=False).to_numpy() if len(parsed) else np.empty(0, np.int64)
    ns = np.where(parsed.isna().to_numpy(), np.iinfo(np.int64).min, ns)
    latest = np.iinfo(np.int64).min
    for i in np.flatnonzero(~bad):  # times must increase among the accepted rows
        if ns[i] <= latest:
            bad[i], fields[i], reasons[i] = True, "timestamp", "not after the previous accepted row's time"
        else:
            latest = ns[i]
    keep = np.flatnonzero(~bad)
    rejected = [ProfileRejectedRow(row=int(i) + 1, field=fields[i], reason=reasons[i]) for i in np.flatnonzero(bad)]
    if len(keep) < 2:
        raise InputError(f"{len(keep)} valid row(s) in {name} ({len(rejected)} rejected"
                         + (f"; first: row {rejected[0].row} {rejected[0].field}: {rejected[0].reason}" if rejected else "")
                         + ")", field=field, fix="give at least two valid rows: an interval's length is the time to "
                                                 "the next row.")
    start = ns[keep]
    hours = np.diff(start) / 3.6e12
    hours = np.append(hours, hours[-1])
    return Profile(timestamps=text.to_numpy()[keep].tolist(), start_ns=start, hours=hours,
                   load_scaling=load_s[keep], sgen_scaling=sgen_s[keep], gen_scaling=gen_s[keep], rejected=rejected, rows_read=n, name=name)


# ----------------------------------------------------------------------------------------------------------- engines

def _pandapower():
    """pandapower, imported quietly (its loggers set to CRITICAL: nothing may reach stdout in MCP stdio mode)."""
    import logging

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower as pp
    for name in ("pandapower", "lightsim2grid"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return pp


@dataclass
class _Setup:
    """Per-element base injections of the copy [MW, Mvar] (in-service, own scaling applied) and the branch list."""

    load_p: Any
    load_q: Any
    sgen_p: Any
    sgen_q: Any
    gen_p: Any
    branches: list[tuple[str, int]]  # (table, index) of every loss branch, in the order of the loss columns


def _setup(net) -> _Setup:
    import numpy as np

    def base(table: str):
        t = net[table]
        if not len(t):
            return np.empty(0), np.empty(0)
        on = t.in_service.to_numpy(dtype=bool) * t.scaling.to_numpy(dtype=float)
        return t.p_mw.to_numpy(dtype=float) * on, t.q_mvar.to_numpy(dtype=float) * on

    (lp, lq), (sp, sq) = base("load"), base("sgen")
    gp = (net.gen.p_mw.to_numpy(dtype=float) * net.gen.scaling.to_numpy(dtype=float)) if len(net.gen) else np.empty(0)
    branches = [(e, int(i)) for e in LOSS_TABLES if e in net and len(net[e]) for i in net[e].index]
    return _Setup(lp, lq, sp, sq, gp, branches)


def _apply(net, setup: _Setup, load_scaling: float, sgen_scaling: float, gen_scaling: float) -> None:
    """Set the copy's loads, sgens and gens to the scaled base (their own scaling column set to 1)."""
    if len(net.load):
        net.load["p_mw"], net.load["q_mvar"], net.load["scaling"] = setup.load_p * load_scaling, setup.load_q * load_scaling, 1.0
    if len(net.sgen):
        net.sgen["p_mw"], net.sgen["q_mvar"], net.sgen["scaling"] = setup.sgen_p * sgen_scaling, setup.sgen_q * sgen_scaling, 1.0
    if len(net.gen):
        net.gen["p_mw"], net.gen["scaling"] = setup.gen_p * gen_scaling, 1.0


def _runpp(pp, net) -> bool:
    """One plain AC power flow (no Q limits, lightsim2grid off, no numba JIT); True when it converged."""
    import numpy as np

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(net, numba=False, lightsim2grid=False)
        return bool(net.converged)
    except (pp.powerflow.LoadflowNotConverged, np.linalg.LinAlgError, ValueError, UserWarning, KeyError, IndexError,
            RuntimeError, ZeroDivisionError):
        return False


def _branch_losses_pp(net, setup: _Setup):
    """Loss of every loss branch [MW] (NaN -> 0: a de-energised branch loses nothing) and load served [MW]."""
    import numpy as np

    parts = [np.nan_to_num(net[f"res_{e}"].pl_mw.reindex(net[e].index).to_numpy(dtype=float))
             for e in LOSS_TABLES if e in net and len(net[e])]
    served = float(np.nansum(net.res_load.p_mw.to_numpy(dtype=float))) if len(net.load) else 0.0
    return (np.concatenate(parts) if parts else np.empty(0)), served


class _Unsupported(Exception):
    """The grid needs something lightsim2grid's batch solver does not model."""


class _Lightsim2gridBatch:
    """lightsim2grid ``InjectionSweepCPP`` models of the energised parts of ``net._ppc``, loads set per interval."""

    def __init__(self, net, setup: _Setup, base_scaling: tuple[float, float, float]):
        import numpy as np
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        from lightsim2grid.lightsim2grid_cpp import InjectionSweepCPP  # noqa: F401  (import error -> fallback)

        for table in ("load",):
            for column in [c for c in net[table].columns if c.startswith("const_") and c.endswith("percent")]:
                if (net[table][column].fillna(0).to_numpy(dtype=float) != 0).any():
                    raise _Unsupported("voltage-dependent loads")
        ppc, lookup = net._ppc, net._pd2ppc_lookups
        br = ppc["branch"]
        if any(np.abs(br[:, c].real).max(initial=0) > 0 for c in (21, 22, 24, 25)):  # BR_R/X/G/B_ASYM
            raise _Unsupported("asymmetric branch impedances")
        bus = ppc["bus"][:, :13].real.copy()
        nb = bus.shape[0]
        self.base_mva = float(ppc["baseMVA"])
        rows = lookup["bus"]
        self.load_rows = rows[net.load.bus.to_numpy(dtype=int)] if len(net.load) else np.empty(0, int)
        self.sgen_rows = rows[net.sgen.bus.to_numpy(dtype=int)] if len(net.sgen) else np.empty(0, int)
        pl = np.bincount(self.load_rows, setup.load_p, nb) if len(net.load) else np.zeros(nb)
        ql = np.bincount(self.load_rows, setup.load_q, nb) if len(net.load) else np.zeros(nb)
        ps = np.bincount(self.sgen_rows, setup.sgen_p, nb) if len(net.sgen) else np.zeros(nb)
        qs = np.bincount(self.sgen_rows, setup.sgen_q, nb) if len(net.sgen) else np.zeros(nb)
        # the copy was solved at base_scaling: bus demand = a (loads) - b (sgens) + the rest (wards, storage, ...)
        a, b, c = base_scaling
        self.pl, self.ql, self.ps, self.qs = pl, ql, ps, qs
        self.other_p, self.other_q = bus[:, 2] - a * pl + b * ps, bus[:, 3] - a * ql + b * qs
        # branch shunt conductance (BR_G): no MATPOWER column; carried as bus shunts, added back to the branch losses
        status = br[:, 10].real
        tap = br[:, 8].real.copy()
        tap[tap == 0] = 1.0
        g = br[:, 23].real * status
        self.f_bus, self.t_bus = br[:, 0].real.astype(int), br[:, 1].real.astype(int)
        self.g_from, self.g_to = g / 2 / tap ** 2, g / 2
        bus[:, 4] += (np.bincount(self.f_bus, self.g_from, nb) + np.bincount(self.t_bus, self.g_to, nb)) * self.base_mva
        live = bus[:, 1] != 4
        self.live = live
        # energised parts: buses joined by in-service branches
        on = (status > 0) & live[self.f_bus] & live[self.t_bus]
        graph = coo_matrix((np.ones(on.sum()), (self.f_bus[on], self.t_bus[on])), shape=(nb, nb))
        count, part = connected_components(graph, directed=False)
        self.parts = []
        gen = ppc["gen"][:, :21].real.copy()
        gen_bus = gen[:, 0].astype(int)
        # active set-point per internal gen row: fixed, or gen_scaling times the base for the rows of pandapower gens
        self.pg_fixed, self.pg_scaled = gen[:, 1].copy(), np.zeros(len(gen))
        if len(net.gen):
            table = np.asarray(lookup.get("gen", np.empty(0)), dtype=int)
            for k, (idx, at, in_service) in enumerate(zip(net.gen.index, net.gen.bus, net.gen.in_service)):
                row = int(table[idx]) if 0 <= idx < len(table) else -1
                if 0 <= row < len(gen) and gen_bus[row] == rows[int(at)]:
                    self.pg_fixed[row], self.pg_scaled[row] = 0.0, setup.gen_p[k]
                elif in_service and bus[rows[int(at)], 1] != 4:  # an energised unit must have its row
                    raise _Unsupported("a generator without a row of the internal case")
        for k in range(count):
            members = np.flatnonzero((part == k) & live)
            if not len(members):
                continue
            refs = int((bus[members, 1] == 3).sum())
            if refs != 1:
                raise _Unsupported(f"an energised part with {refs} slack buses")
            new = np.full(nb, -1)
            new[members] = np.arange(len(members))
            b = bus[members].copy()
            b[:, 0] = np.arange(len(members))
            demand = (pl + ps + np.abs(self.other_p) + ql + qs + np.abs(self.other_q))[members] != 0
            b[demand & (b[:, 2] == 0) & (b[:, 3] == 0), 3] = 1e-9  # every bus that may carry demand gets a load
            keep_br = np.flatnonzero(on & (new[self.f_bus] >= 0))
            if not len(keep_br):  # a lone energised bus: no branch, no loss
                continue
            branch = br[keep_br, :13].real.copy()
            branch[:, 0], branch[:, 1] = new[self.f_bus[keep_br]], new[self.t_bus[keep_br]]
            keep_gen = np.flatnonzero(new[gen_bus] >= 0)
            g_rows = gen[keep_gen].copy()
            g_rows[:, 0] = new[gen_bus[keep_gen]]
            mpc = {"bus": b, "gen": g_rows, "branch": branch, "baseMVA": self.base_mva}
            self.parts.append(_Part(mpc, members, keep_br, ppc, keep_gen))
        # loss branches: ppc rows of each (table, index), trafo3w as its three windings
        self.branch_rows = []
        for e, idx in setup.branches:
            start, _ = lookup["branch"][e]
            pos = int(net[e].index.get_loc(idx))
            if e == "trafo3w":
                m = len(net.trafo3w)
                self.branch_rows.append([start + pos, start + m + pos, start + 2 * m + pos])
            else:
                self.branch_rows.append([start + pos])
        self.nb, self.nbr = nb, br.shape[0]

    def solve(self, load_scaling, sgen_scaling, gen_scaling):
        """Branch losses ``(T, n_loss_branches)`` [MW] and converged ``(T,)`` of one batch of intervals."""
        import numpy as np

        t = len(load_scaling)
        p = np.outer(load_scaling, self.pl) - np.outer(sgen_scaling, self.ps) + self.other_p
        q = np.outer(load_scaling, self.ql) - np.outer(sgen_scaling, self.qs) + self.other_q
        pg = np.outer(gen_scaling, self.pg_scaled) + self.pg_fixed
        loss_rows = np.zeros((t, self.nbr))
        ok = np.ones(t, dtype=bool)
        for part in self.parts:
            rows_loss, done = part.solve(p, q, pg, self)
            loss_rows[:, part.branch_rows] = rows_loss
            ok &= done
        losses = np.stack([loss_rows[:, r].sum(axis=1) for r in self.branch_rows], axis=1) if self.branch_rows \
            else np.zeros((t, 0))
        losses[~ok] = np.nan
        return losses, ok

    def batch_size(self) -> int:
        return max(1, BATCH_BYTES // (8 * (self.nbr * 5 + self.nb * 4)))


class _Part:
    """One energised part of the grid: its lightsim2grid model and its rows of the internal case."""

    def __init__(self, mpc, members, branch_rows, ppc, gen_rows):
        import numpy as np
        from lightsim2grid.lightsim2grid_cpp import InjectionSweepCPP
        from lightsim2grid.network import init_from_matpower

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = init_from_matpower(mpc)
            self.sweep = InjectionSweepCPP(model)
        self.members, self.branch_rows, self.gen_rows, self.rows = members, branch_rows, gen_rows, None
        if len(model.get_generators()) != len(gen_rows):
            raise _Unsupported("generators merged by the grid model")
        n_load = len(model.get_loads())
        if not n_load:
            raise _Unsupported("an energised part without load")
        self.load_bus = np.array([model.get_bus_load(i) for i in range(n_load)], dtype=int)  # part's bus rows
        vm, va = ppc["bus"][members, 7].real, ppc["bus"][members, 8].real
        self.v_init = (vm * np.exp(1j * np.deg2rad(va))).astype(complex)
        self.f_local, self.t_local = mpc["branch"][:, 0].astype(int), mpc["branch"][:, 1].astype(int)

    def solve(self, p, q, pg, batch: _Lightsim2gridBatch):
        import numpy as np

        s = self.sweep
        if self.rows not in (None, len(p)):  # the sweep fixes its number of rows at the first modify_* call
            s.clear()
        self.rows = len(p)
        s.modify_load_p(np.ascontiguousarray(p[:, self.members][:, self.load_bus]))
        s.modify_load_q(np.ascontiguousarray(q[:, self.members][:, self.load_bus]))
        if len(self.gen_rows):
            s.modify_gen_p(np.ascontiguousarray(pg[:, self.gen_rows]))
        s.compute(self.v_init, LS_MAX_ITER, LS_TOL)
        flows = s.compute_branch_results()  # (T, n_branch, 4): P1 [MW], Q1, P2, Q2
        vm = np.abs(s.get_voltages())
        done = np.asarray(s.converged_mask(), dtype=bool)
        rows = self.branch_rows
        shunt = (batch.g_from[rows] * vm[:, self.f_local] ** 2 + batch.g_to[rows] * vm[:, self.t_local] ** 2) * batch.base_mva
        return flows[..., 0] + flows[..., 2] + shunt, done


# ----------------------------------------------------------------------------------------------------------- analysis

@dataclass
class LossSeries:
    """Per-interval figures of a profile run (numpy arrays) and what the run found."""

    loss_mw: Any  # (T,) NaN where failed
    load_mw: Any  # (T,) load served, NaN where failed
    branch_mwh: Any  # (n_branches,) energy per loss branch over solved intervals
    branch_peak_mw: Any
    solved: Any  # (T,) bool
    method: str
    resolved: int = 0
    islanded_buses: int = 0
    unsupplied_load_mw: Any = None  # (T,) scaled load at islanded buses
    branches: list = dc_field(default_factory=list)
    notes: list[str] = dc_field(default_factory=list)


def losses_over_profile(net, profile: Profile, method: Literal["auto", "lightsim2grid", "pandapower"] = "auto") -> LossSeries:
    """Losses of every interval of ``profile`` on a copy of ``net``.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        Left unchanged (a deep copy is solved).
    profile : Profile
        From :func:`read_profile`.
    method : {'auto', 'lightsim2grid', 'pandapower'}, default 'auto'
        'auto': lightsim2grid when installed and the grid fits it, else pandapower.

    Returns
    -------
    LossSeries

    Raises
    ------
    InputError
        If ``method='lightsim2grid'`` and lightsim2grid cannot be used for this grid.
    """
    import numpy as np

    pp = _pandapower()
    work = copy.deepcopy(net)
    setup = _setup(work)
    t = len(profile.hours)
    notes: list[str] = []
    series = LossSeries(loss_mw=np.full(t, np.nan), load_mw=np.full(t, np.nan), branch_mwh=np.zeros(len(setup.branches)),
                        branch_peak_mw=np.zeros(len(setup.branches)), solved=np.zeros(t, dtype=bool),
                        method="pandapower", branches=setup.branches, unsupplied_load_mw=np.zeros(t), notes=notes)
    slack = ((work.ext_grid.in_service.astype(bool).any() if len(work.ext_grid) else False)
             or (len(work.gen) and "slack" in work.gen and (work.gen.slack.astype(bool) & work.gen.in_service.astype(bool)).any()))
    if not slack:
        notes.append("no in-service ext_grid or slack gen: no power flow can be solved, every interval failed.")
        return series
    # base solve at scaling 1 (the ppc and the islanded buses), else at the first interval's scaling
    base_scaling = (1.0, 1.0, 1.0)
    _apply(work, setup, *base_scaling)
    base_ok = _runpp(pp, work)
    if not base_ok:
        base_scaling = _scalings(profile, 0)
        _apply(work, setup, *base_scaling)
        base_ok = _runpp(pp, work)
    if base_ok:
        vm = work.res_bus.vm_pu.reindex(work.bus.index)
        dark = work.bus.in_service.to_numpy(dtype=bool) & vm.isna().to_numpy()
        series.islanded_buses = int(dark.sum())
        if dark.any() and len(work.load):
            at_dark = work.load.bus.isin(work.bus.index[dark]).to_numpy()
            series.unsupplied_load_mw = profile.load_scaling * float(setup.load_p[at_dark].sum())
    batch = None
    if method != "pandapower" and base_ok:
        try:
            batch = _Lightsim2gridBatch(work, setup, base_scaling)
        except ImportError:
            if method == "lightsim2grid":
                raise InputError("lightsim2grid is not installed", field="method",
                                 fix="pip install lightsim2grid, or use method='pandapower'.") from None
            notes.append("pandapower runpp loop: lightsim2grid is not installed.")
        except _Unsupported as exc:
            if method == "lightsim2grid":
                raise InputError(f"lightsim2grid cannot model this grid ({exc})", field="method",
                                 fix="use method='pandapower' or 'auto'.") from None
            notes.append(f"pandapower runpp loop: lightsim2grid cannot model this grid ({exc}).")
    elif method == "lightsim2grid":
        raise InputError("the grid's base case does not converge, so no lightsim2grid model can be built",
                         field="method", fix="use method='pandapower' or 'auto'.")
    hours = profile.hours
    if batch is not None:
        series.method = "lightsim2grid"
        size = batch.batch_size()
        for s0 in range(0, t, size):
            sl = slice(s0, min(t, s0 + size))
            losses, ok = batch.solve(profile.load_scaling[sl], profile.sgen_scaling[sl], profile.gen_scaling[sl])
            _accumulate(series, sl, losses, ok, hours)
        supplied = float(setup.load_p.sum()) if len(setup.load_p) else 0.0
        series.load_mw = np.where(series.solved, profile.load_scaling * supplied - series.unsupplied_load_mw, np.nan)
        failed = np.flatnonzero(~series.solved)
        for i in failed[:RESOLVE_MAX]:  # a second chance with pandapower's own start
            _apply(work, setup, *_scalings(profile, i))
            if _runpp(pp, work):
                losses, served = _branch_losses_pp(work, setup)
                _accumulate(series, slice(i, i + 1), losses[None, :], np.array([True]), hours)
                series.load_mw[i] = served
                series.resolved += 1
        if len(failed) > RESOLVE_MAX:
            notes.append(f"{len(failed)} intervals not solved by lightsim2grid; the first {RESOLVE_MAX} were re-solved "
                         "with pandapower, the others count as failed.")
        return series
    for i in range(t):
        _apply(work, setup, *_scalings(profile, i))
        if _runpp(pp, work):
            losses, served = _branch_losses_pp(work, setup)
            _accumulate(series, slice(i, i + 1), losses[None, :], np.array([True]), hours)
            series.load_mw[i] = served
    return series


def _scalings(profile: Profile, i: int) -> tuple[float, float, float]:
    return float(profile.load_scaling[i]), float(profile.sgen_scaling[i]), float(profile.gen_scaling[i])


def _accumulate(series: LossSeries, sl: slice, losses, ok, hours) -> None:
    import numpy as np

    if not ok.any():
        return
    idx = np.arange(sl.start, sl.stop)[ok]
    rows = losses[ok]
    series.solved[idx] = True
    series.loss_mw[idx] = rows.sum(axis=1)
    if rows.shape[1]:
        series.branch_mwh += (rows * hours[idx, None]).sum(axis=0)
        series.branch_peak_mw = np.maximum(series.branch_peak_mw, rows.max(axis=0))


def _iso_end(profile: Profile) -> str:
    import pandas as pd

    last = pd.Timestamp(profile.timestamps[-1])  # keeps the row's own offset
    return (last + pd.Timedelta(hours=float(profile.hours[-1]))).isoformat()


def _r(value, digits: int = 10):
    """``value`` to ``digits`` significant digits (None for None or a non-finite value)."""
    import math

    return None if value is None or not math.isfinite(value) else float(f"{float(value):.{digits}g}")


@tool
def energy_losses(
    grid_id: Annotated[str, Field(max_length=128, description="Grid in the workspace, as returned by load_grid.")],
    profile: Annotated[str, Field(min_length=1, max_length=4096, description=(
        "CSV under a data root (GRIDSAGE_DATA_DIRS): timestamp (ISO 8601 with offset), load_scaling [-], optional "
        "sgen_scaling [-] and gen_scaling [-]; one row per interval."))],
    max_branches: Annotated[int, Field(ge=0, le=1000, description="Branches listed by energy loss [-].")] = 10,
    max_series: Annotated[int, Field(ge=0, le=MAX_PROFILE_ROWS, description=(
        "Intervals listed in the full result's series [-].")) ] = 168,
    method: Annotated[Literal["auto", "lightsim2grid", "pandapower"], Field(description=(
        "'auto': lightsim2grid batch solver when installed and the grid fits it, else a pandapower runpp loop."))] = "auto",
) -> EnergyLossResult:
    """Energy losses of a loaded grid over a load profile: one AC power flow per interval.

    Parameters
    ----------
    grid_id : str
        Grid in the workspace (never changed: a copy is solved).
    profile : str
        CSV file under a data root, at most :data:`MAX_PROFILE_ROWS` rows: ``timestamp`` (ISO 8601 with a UTC
        offset), ``load_scaling`` [-] (multiplier of every load's ``p_mw`` and ``q_mvar``), optional
        ``sgen_scaling`` [-] (the same for every sgen), optional ``gen_scaling`` [-] (every gen's ``p_mw``; the
        slack balances).  An interval lasts until the next accepted row; the last
        one as long as the one before.
    max_branches : int, default 10
        Branches listed in ``top_branches`` [-].
    max_series : int, default 168
        Intervals listed in ``series`` of the full result [-] (the compact view has none).
    method : {'auto', 'lightsim2grid', 'pandapower'}, default 'auto'

    Returns
    -------
    EnergyLossResult
        ``energy_loss_mwh`` = :math:`\\sum_i P_{loss,i} \\Delta t_i` [MWh] over the solved intervals, with
        :math:`P_{loss}` the sum of ``pl_mw`` of every line, trafo, trafo3w and impedance [MW];
        ``energy_load_mwh`` [MWh] the load served; ``loss_percent`` = loss / (load + loss) * 100 [%];
        ``peak_loss_mw`` [MW] and its time; ``mean_loss_mw`` [MW]; ``loss_load_factor`` = mean / peak loss [-];
        ``top_branches`` by energy loss [MWh].  Failed intervals are counted and named, and left out of every
        total; their load energy is ``energy_load_not_covered_mwh`` [MWh].  Models and MCP clients receive the
        compact view :class:`EnergyLossView` (no series).

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    InputError
        If the profile is outside the data roots, unreadable, lacks a column, or has fewer than two valid rows; or
        ``method='lightsim2grid'`` cannot be used.
    RequestTooLargeError
        If the profile has more than :data:`MAX_PROFILE_ROWS` rows.

    Notes
    -----
    Loss factor (Kersting [1]_): :math:`F_{LS} = \\bar P_{loss} / P_{loss,max}`; load factor
    :math:`F_{LD} = \\bar P_{load} / P_{load,max}`; Kersting's estimate
    :math:`F_{LS} \\approx 0.16 F_{LD} + 0.84 F_{LD}^2` is given beside the computed value.  Loss share of the energy
    entering the network: :math:`E_{loss} / (E_{load} + E_{loss})` (CEER [2]_).

    References
    ----------
    .. [1] W. H. Kersting, *Distribution System Modeling and Analysis*, 4th ed., CRC Press, 2017, Chapter 2.
    .. [2] CEER, "2nd CEER Report on Power Losses", C17-EQS-80-03, 2017.
    .. [3] L. Thurner et al., "pandapower", IEEE Trans. Power Syst. 33(6), 2018.
    """
    grid = current_workspace().get(grid_id)
    prof = read_profile(profile)
    with grid.lock:
        net = copy.deepcopy(grid.net)
    started = time.perf_counter()
    series = losses_over_profile(net, prof, method)
    elapsed = time.perf_counter() - started
    return _result(grid_id, grid.notes, net, prof, series, max_branches, max_series, elapsed)


def _result(grid_id, grid_notes, net, prof: Profile, series: LossSeries, max_branches, max_series, elapsed):
    import numpy as np

    hours, ok = prof.hours, series.solved
    t = len(hours)
    e_loss = float(np.sum(series.loss_mw[ok] * hours[ok]))
    e_load = float(np.sum(series.load_mw[ok] * hours[ok]))
    base_load = float(sum(net.load.p_mw * net.load.scaling * net.load.in_service)) if len(net.load) else 0.0
    not_covered = float(np.sum(prof.load_scaling[~ok] * base_load * hours[~ok]))
    unsupplied = float(np.sum(series.unsupplied_load_mw[ok] * hours[ok])) if series.unsupplied_load_mw is not None else 0.0
    h_solved = float(hours[ok].sum())
    peak_loss = peak_load = mean_loss = mean_load = None
    peak_loss_t = peak_load_t = None
    if ok.any():
        k = int(np.nanargmax(np.where(ok, series.loss_mw, -np.inf)))
        peak_loss, peak_loss_t = float(series.loss_mw[k]), prof.timestamps[k]
        k = int(np.nanargmax(np.where(ok, series.load_mw, -np.inf)))
        peak_load, peak_load_t = float(series.load_mw[k]), prof.timestamps[k]
        mean_loss, mean_load = e_loss / h_solved, e_load / h_solved
    lf = mean_load / peak_load if peak_load else None
    order = np.argsort(-series.branch_mwh, kind="stable")
    lossy = [int(i) for i in order if series.branch_mwh[i] > 0]
    top = [BranchLoss(element=series.branches[i][0], index=series.branches[i][1],
                      name=element_name(net, *series.branches[i]), energy_loss_mwh=_r(series.branch_mwh[i]),
                      share_percent=_r(100 * series.branch_mwh[i] / e_loss if e_loss else 0.0, 4),
                      peak_loss_mw=_r(series.branch_peak_mw[i])) for i in lossy[:max_branches]]
    failed = np.flatnonzero(~ok)
    notes = list(grid_notes) + series.notes
    if prof.rejected:
        notes.append(f"{len(prof.rejected)} profile row(s) rejected (rejected_rows); each accepted row's interval runs "
                     "to the next accepted row, so a rejected row's time is held at the row before it.")
    if len(failed):
        notes.append(f"{len(failed)} interval(s) failed (power flow not converged): left out of every total; their "
                     f"load energy {not_covered:.6g} MWh is not covered.")
    if series.islanded_buses:
        notes.append(f"{series.islanded_buses} in-service bus(es) have no source (islanded): their load is not served "
                     f"({unsupplied:.6g} MWh over the solved intervals).")
    notes.append("AC power flows without generator reactive limits (as a plain pandapower runpp).")
    status = "ok" if not len(failed) else ("failed" if not ok.any() else "partial")
    shown = [IntervalLoss(timestamp=prof.timestamps[i], hours=_r(hours[i]), load_scaling=float(prof.load_scaling[i]),
                          sgen_scaling=float(prof.sgen_scaling[i]), gen_scaling=float(prof.gen_scaling[i]),
                          solved=bool(ok[i]),
                          load_mw=_r(series.load_mw[i]) if ok[i] else None,
                          loss_mw=_r(series.loss_mw[i]) if ok[i] else None) for i in range(min(t, max_series))]
    return EnergyLossResult(
        status=status, grid_id=grid_id, profile=prof.name, method=series.method, intervals_total=t,
        intervals_solved=int(ok.sum()), intervals_failed=len(failed),
        failed_first=[prof.timestamps[i] for i in failed[:FAILED_LISTED]], resolved_with_pandapower=series.resolved,
        start=prof.timestamps[0], end=_iso_end(prof), hours_total=_r(float(hours.sum())), hours_solved=_r(h_solved),
        energy_loss_mwh=_r(e_loss), energy_load_mwh=_r(e_load), energy_load_not_covered_mwh=_r(not_covered),
        energy_load_unsupplied_mwh=_r(unsupplied), islanded_buses=series.islanded_buses,
        loss_percent=_r(100 * e_loss / (e_load + e_loss)) if e_load + e_loss > 0 else None,
        peak_loss_mw=_r(peak_loss), peak_loss_time=peak_loss_t, peak_load_mw=_r(peak_load), peak_load_time=peak_load_t,
        mean_loss_mw=_r(mean_loss), mean_load_mw=_r(mean_load),
        loss_load_factor=_r(mean_loss / peak_loss, 6) if peak_loss else None, load_factor=_r(lf, 6),
        loss_factor_estimate=_r(0.16 * lf + 0.84 * lf * lf, 6) if lf is not None else None,
        top_branches=top, branches_omitted=max(0, len(lossy) - max_branches), rows_read=prof.rows_read,
        rows_rejected=len(prof.rejected), rejected_rows=prof.rejected[:REJECTED_LISTED], series=shown,
        series_omitted=max(0, t - max_series), elapsed_s=round(elapsed, 3), notes=notes)
