"""Distribution reliability indices per IEEE 1366 from an outage record: SAIFI, SAIDI, CAIDI, ASAI, MAIFI, CEMI_n,
Major Event Days by the 2.5-beta method, and breakdowns by cause, feeder and month.

:func:`reliability_indices` (the tool) reads an outage CSV (:func:`gridsage.tools.reliability.outages.read_outages`)
and, optionally, a daily SAIDI history CSV; :func:`reliability_frame` is the same computation on a DataFrame (the
entry the playbooks and tests share); :func:`med_threshold` is the 2.5-beta threshold of a daily SAIDI series.

Definitions (N_T customers served, N_i customers interrupted by interruption i, r_i its duration [min]):

- an interruption lasting at most ``momentary_minutes`` (5 min) is momentary, a longer one sustained (IEEE 1366,
  definitions of momentary and sustained interruption: "5 min or less" / "more than 5 min");
- SAIFI = sum(N_i) / N_T, SAIDI = sum(r_i N_i) / N_T [min], CAIDI = SAIDI / SAIFI [min] (None when SAIFI = 0),
  ASAI = (N_T T_h - sum(r_i N_i) / 60) / (N_T T_h), over sustained interruptions;
- MAIFI = sum(N_mi) / N_T over momentary interruptions, each counted on its own (the record does not group reclose
  operations into events, so this is MAIFI, not MAIFI_E);
- CEMI_n = CN(k > n) / N_T, customers with more than n sustained interruptions.  The record names no customer, so
  on each feeder the interrupted customers are assumed nested (every interruption hits the customers of the
  smaller ones): CN(k > n) on a feeder is then the (n+1)-th largest N_i among its sustained interruptions (0 if it
  has at most n).  This is an upper bound of the true CEMI_n.

The reporting period is one calendar year (default the latest with records) in the zone ``tz`` (default UTC);
an interruption belongs to the day, month and year it began.

References
----------
.. [1] IEEE Std 1366-2022, "IEEE Guide for Electric Power Distribution Reliability Indices": definitions
   (momentary and sustained interruption), sustained interruption indices (SAIFI, SAIDI, CAIDI, ASAI, CEMI_n),
   momentary interruption indices (MAIFI, MAIFI_E), Major Event Day classification (2.5-beta method) and the
   separate reporting of Major Event Days.  Standards-corpus entries: ieee-1366-saifi, ieee-1366-saidi,
   ieee-1366-caidi, ieee-1366-asai, ieee-1366-maifi-momentary-interruptions, ieee-1366-cemin-celid,
   ieee-1366-major-event-day-2-5-beta, ieee-1366-major-event-day-reporting.
.. [2] Christie, R. D. (2001). Statistical classification of major reliability event days in distribution
   systems. University of Washington white paper (the basis of the 2.5-beta method).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from gridsage.errors import InputError
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.paths import parse_problem, readable_file
from gridsage.tools.reliability.outages import OutageRecord, RejectedOutage, read_outages, zone
from gridsage.tools.views import Brief, CompactView, head

__all__ = ["Breakdown", "IndexSet", "MajorEventDay", "MedAnalysis", "MedThreshold", "ReliabilityResult",
           "ReliabilityView", "daily_saidi_series", "med_threshold", "read_daily_saidi", "reliability_frame",
           "reliability_indices", "K_BETA", "HISTORY_YEARS", "CITATIONS"]

#: the 2.5 of the 2.5-beta method (IEEE 1366, Major Event Day classification)
K_BETA = 2.5
#: years of daily SAIDI history the 2.5-beta method uses (IEEE 1366, Major Event Day classification)
HISTORY_YEARS = 5
#: standards-corpus entries the result rests on
CITATIONS = ("ieee-1366-saifi", "ieee-1366-saidi", "ieee-1366-caidi", "ieee-1366-asai",
             "ieee-1366-maifi-momentary-interruptions", "ieee-1366-cemin-celid", "ieee-1366-major-event-day-2-5-beta",
             "ieee-1366-major-event-day-reporting")
#: most causes and feeders a result lists (worst first; all are counted), most MEDs, most rejected rows
MAX_BREAKDOWN, MAX_MEDS, MAX_REJECTED = 25, 60, 50
#: a compact view lists this many MEDs, causes and feeders
BRIEF_ITEMS = 5
#: suffixes and size cap of a daily SAIDI file [bytes]
DAILY_SUFFIXES, MAX_DAILY_BYTES = (".csv", ".txt"), 16 * 2**20


class IndexSet(BaseModel):
    """IEEE 1366 indices of one set of interruptions over the reporting period."""

    saifi: float = Field(description="SAIFI = sum(N_i) / N_T over sustained interruptions [interruptions/customer].")
    saidi_min: float = Field(description="SAIDI = sum(r_i N_i) / N_T [min/customer].")
    caidi_min: float | None = Field(description="CAIDI = SAIDI / SAIFI [min/interruption]; None when SAIFI = 0.")
    asai: float = Field(description="ASAI = (N_T T_h - sum(r_i N_i)/60) / (N_T T_h) [per unit].")
    maifi: float = Field(description="MAIFI = sum(N_mi) / N_T over momentary interruptions, each counted "
                                     "(not MAIFI_E) [interruptions/customer].")
    cemi_n: float = Field(description="CEMI_n = CN(k>n) / N_T under the nested-customers assumption (an upper "
                                      "bound) [per unit]; n is the result's cemi_n.")
    customers_more_than_n: int = Field(description="CN(k>n) [customers].")
    customer_interruptions: int = Field(description="sum(N_i), sustained [customer interruptions].")
    customer_minutes: float = Field(description="sum(r_i N_i), sustained [customer-minutes].")
    customer_momentary_interruptions: int = Field(description="sum(N_mi) [customer interruptions].")
    sustained_interruptions: int
    momentary_interruptions: int


class Breakdown(BaseModel):
    """Contribution of one cause, feeder or month to the period's indices (all days)."""

    key: str = Field(description="Cause, feeder, or month 'YYYY-MM'.")
    saidi_min: float = Field(description="Its share of SAIDI [min/customer].")
    saifi: float = Field(description="Its share of SAIFI [interruptions/customer].")
    saidi_med_min: float = Field(description="Part of saidi_min on Major Event Days [min/customer] (0 if none).")
    sustained_interruptions: int
    momentary_interruptions: int


class MajorEventDay(BaseModel):
    """A day of the reporting period whose daily SAIDI exceeds T_MED."""

    date: dt.date = Field(description="Day (in the result's time zone).")
    saidi_min: float = Field(description="Daily SAIDI [min/customer].")
    customers_interrupted: int = Field(description="sum(N_i) of the day's sustained interruptions [customers].")
    sustained_interruptions: int
    main_cause: str = Field(description="Cause with the most customer-minutes that day.")


class MedThreshold(BaseModel):
    """The 2.5-beta threshold of a daily SAIDI history."""

    alpha: float = Field(description="Mean of ln(daily SAIDI [min]) over the days with SAIDI > 0.")
    beta: float = Field(description="Sample standard deviation (n - 1) of the same logarithms.")
    t_med_min: float = Field(description="T_MED = exp(alpha + 2.5 beta) [min/customer/day].")
    days_used: int = Field(description="Days with daily SAIDI > 0 in the history.")


class MedAnalysis(BaseModel):
    """How Major Event Days were (or were not) identified."""

    identified: bool = Field(description="True when T_MED was computed from five years of history.")
    reason: str = Field(description="Why not, or the history used.")
    source: Literal["outage_record", "daily_saidi"] = Field(description="Where the daily SAIDI history came from.")
    history_start: dt.date = Field(description="First day of the five-year window before the period.")
    history_end: dt.date = Field(description="Last day of that window.")
    years_available: int = Field(description="Calendar years of the window the history covers (from its first year).")
    years_required: int = HISTORY_YEARS
    threshold: MedThreshold | None = None


class ReliabilityResult(ToolResult):
    """IEEE 1366 reliability indices of one reporting year, with and without Major Event Days."""

    status: Literal["ok", "no_interruptions"] = Field(description="'no_interruptions' when the period has none.")
    year: int = Field(description="Reporting year (calendar year in time_zone).")
    period_start: dt.date
    period_end: dt.date = Field(description="Last day of the period.")
    period_hours: float = Field(description="T_h [h] (8760, or 8784 in a leap year).")
    time_zone: str = Field(description="Zone of days, months and years ('UTC' unless tz was given).")
    customers_served: int = Field(description="N_T [customers].")
    momentary_minutes: float = Field(description="Longest momentary interruption [min].")
    cemi_n: int = Field(description="n of CEMI_n.")
    indices: IndexSet = Field(description="All days of the period.")
    indices_excluding_meds: IndexSet | None = Field(default=None, description="Days other than MEDs (None when MEDs "
                                                                              "were not identified).")
    indices_meds: IndexSet | None = Field(default=None, description="The MEDs alone (None without MEDs).")
    med: MedAnalysis
    major_event_days: list[MajorEventDay] = Field(default_factory=list, description="Worst first.")
    major_event_days_omitted: int = 0
    by_cause: list[Breakdown] = Field(default_factory=list, description="Largest SAIDI first.")
    by_cause_omitted: int = 0
    by_feeder: list[Breakdown] = Field(default_factory=list, description="Largest SAIDI first.")
    by_feeder_omitted: int = 0
    by_month: list[Breakdown] = Field(default_factory=list, description="January to December (12 items).")
    rows_read: int
    rows_in_period: int = Field(description="Accepted interruptions that began in the period.")
    rows_rejected: int
    rejected_rows: list[RejectedOutage] = Field(default_factory=list, description=f"The first {MAX_REJECTED}.")
    daily_saidi_rejected: list[RejectedOutage] = Field(default_factory=list, description="Rejected rows of the daily "
                                                                                         "SAIDI file (first ones).")
    ignored_columns: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    citations: list[str] = Field(default_factory=lambda: list(CITATIONS))
    summary: str

    def one_line(self) -> str:
        return f"{self.summary.split(';')[0]} [{self.evidence_id}]"

    def compact(self) -> "ReliabilityView":
        """Indices, T_MED, the worst MEDs, causes and feeders (see :class:`ReliabilityView`)."""
        meds, m_left = head(self.major_event_days, BRIEF_ITEMS, MedBrief.of)
        causes, c_left = head(self.by_cause, BRIEF_ITEMS, BreakdownBrief.of)
        feeders, f_left = head(self.by_feeder, BRIEF_ITEMS, BreakdownBrief.of)
        return ReliabilityView(
            status=self.status, evidence_id=self.evidence_id, year=self.year, customers_served=self.customers_served,
            indices=_rounded(self.indices), indices_excluding_meds=_rounded(self.indices_excluding_meds),
            med_identified=self.med.identified,
            t_med_min=None if self.med.threshold is None else round(self.med.threshold.t_med_min, 3),
            med_reason=None if self.med.identified else self.med.reason, major_event_days=meds, by_cause=causes,
            by_feeder=feeders, rows_rejected=self.rows_rejected or None, summary=self.summary,
            citations=list(self.citations), notes=[n if len(n) <= 120 else n[:119] + "…" for n in self.notes[:2]],
            omitted={k: v for k, v in {"major_event_days": m_left + self.major_event_days_omitted,
                                       "by_cause": c_left + self.by_cause_omitted,
                                       "by_feeder": f_left + self.by_feeder_omitted, "by_month": len(self.by_month),
                                       "rejected_rows": len(self.rejected_rows),
                                       "notes": max(0, len(self.notes) - 2)}.items() if v})


def _rounded(s: IndexSet | None) -> dict[str, float | None] | None:
    if s is None:
        return None
    return {"saifi": round(s.saifi, 4), "saidi_min": round(s.saidi_min, 3),
            "caidi_min": None if s.caidi_min is None else round(s.caidi_min, 3), "asai": round(s.asai, 7),
            "maifi": round(s.maifi, 4), "cemi_n": round(s.cemi_n, 5)}


class MedBrief(Brief):
    """A Major Event Day in a compact view."""

    date: dt.date
    saidi_min: float
    main_cause: str

    @classmethod
    def of(cls, m: MajorEventDay) -> "MedBrief":
        return cls(date=m.date, saidi_min=round(m.saidi_min, 2), main_cause=m.main_cause)


class BreakdownBrief(Brief):
    """A cause's or feeder's share in a compact view."""

    key: str
    saidi_min: float
    saifi: float

    @classmethod
    def of(cls, b: Breakdown) -> "BreakdownBrief":
        return cls(key=b.key, saidi_min=round(b.saidi_min, 3), saifi=round(b.saifi, 4))


class ReliabilityView(CompactView):
    """A reliability result as models and MCP clients receive it: the indices with and without MEDs, T_MED, the
    worst MEDs, causes and feeders.  The full :class:`ReliabilityResult` is the evidence behind ``evidence_id``."""

    year: int
    customers_served: int
    indices: dict[str, float | None] = Field(description="SAIFI, SAIDI [min], CAIDI [min], ASAI, MAIFI, CEMI_n.")
    indices_excluding_meds: dict[str, float | None] | None = None
    med_identified: bool
    t_med_min: float | None = Field(default=None, description="T_MED [min/customer/day].")
    med_reason: str | None = None
    major_event_days: list[MedBrief] = Field(default_factory=list)
    by_cause: list[BreakdownBrief] = Field(default_factory=list)
    by_feeder: list[BreakdownBrief] = Field(default_factory=list)
    rows_rejected: int | None = None
    summary: str

    def headline(self) -> str:
        return self.summary.split(";")[0]


# ------------------------------------------------------------------ the computations


def med_threshold(daily_saidi) -> MedThreshold:
    """The IEEE 1366 2.5-beta Major Event Day threshold of a daily SAIDI history.

    Parameters
    ----------
    daily_saidi : pandas.Series or array_like
        (d,) daily SAIDI [min/customer/day] of the history days (normally five years); days with SAIDI = 0 may be
        included (they are dropped).

    Returns
    -------
    MedThreshold
        alpha, beta, T_MED [min] and the days used.

    Raises
    ------
    InputError
        If a value is negative or not finite, or fewer than two days have SAIDI > 0.

    Notes
    -----
    alpha = mean(ln SAIDI_d), beta = std(ln SAIDI_d) over the days with SAIDI_d > 0 (the logarithm of 0 is
    undefined; the standard drops those days), T_MED = exp(alpha + 2.5 beta).  beta is the sample standard
    deviation (divisor d - 1, as a spreadsheet's STDEV); over five years (about 1,800 days) it differs from the
    population one by a factor sqrt(d / (d - 1)), under 0.03 %.

    References
    ----------
    .. [1] IEEE Std 1366-2022, Major Event Day classification (2.5-beta method); corpus entry
       ieee-1366-major-event-day-2-5-beta.
    """
    import numpy as np

    values = np.asarray(daily_saidi, dtype=float).ravel()
    if not np.isfinite(values).all() or (values < 0).any():
        raise InputError("daily SAIDI has a negative or non-finite value", field="daily_saidi",
                         fix="give finite daily SAIDI values >= 0 [min].")
    logs = np.log(values[values > 0])
    if logs.size < 2:
        raise InputError(f"{logs.size} day(s) with SAIDI > 0; the 2.5-beta method needs a history of them",
                         field="daily_saidi", fix="give five years of daily SAIDI history.")
    alpha, beta = float(logs.mean()), float(logs.std(ddof=1))
    return MedThreshold(alpha=alpha, beta=beta, t_med_min=float(np.exp(alpha + K_BETA * beta)), days_used=int(logs.size))


def _local(frame, tz: str | None):
    """Per row: local start day (naive Timestamp, midnight), year and month, in ``tz`` (UTC when None)."""
    local = frame["start"].dt.tz_convert(tz or "UTC").dt.tz_localize(None)
    return local.dt.normalize(), local.dt.year.to_numpy(), local.dt.month.to_numpy()


def daily_saidi_series(frame, customers_served: int, *, momentary_minutes: float = 5.0, tz: str | None = None):
    """Daily SAIDI of an outage record: customer-minutes of the sustained interruptions begun each day / N_T.

    Parameters
    ----------
    frame : pandas.DataFrame
        Accepted interruptions (:attr:`OutageRecord.frame`): ``start`` (UTC), ``customers_interrupted``,
        ``duration_min`` [min].
    customers_served : int
        N_T [customers].
    momentary_minutes : float, default 5
        Longest momentary interruption [min]; only longer ones count.
    tz : str, optional
        Zone of the day boundaries (default UTC).

    Returns
    -------
    pandas.Series
        Daily SAIDI [min/customer] indexed by day (naive midnight Timestamps), days with a sustained interruption
        only (other days have SAIDI 0).

    Notes
    -----
    An interruption spanning midnight accrues wholly to the day it began (IEEE 1366, Major Event Day
    classification).
    """
    day, _, _ = _local(frame, tz)
    sustained = frame["duration_min"].to_numpy() > momentary_minutes
    cmi = frame["customers_interrupted"].to_numpy() * frame["duration_min"].to_numpy()
    import pandas as pd

    return (pd.Series(cmi[sustained], index=day[sustained].to_numpy()).groupby(level=0).sum() / customers_served
            ).rename("saidi_min")


def read_daily_saidi(source, field: str = "daily_saidi"):
    """Read a daily SAIDI history: a CSV with columns ``date`` (ISO 8601 day) and ``saidi_minutes`` [min].

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        File under a data root (at most 16 MiB), or a DataFrame with those columns.
    field : str, default 'daily_saidi'

    Returns
    -------
    series : pandas.Series
        Daily SAIDI [min] indexed by day (naive midnight Timestamps), sorted.
    rejected : list of RejectedOutage
        Rows with a missing or unparsable date, a repeated date, or a value that is missing, negative or not finite.
    rows_read : int

    Raises
    ------
    InputError
        If the file is outside the data roots, unreadable, too large or lacks a column (nothing of it is quoted).
    """
    import numpy as np
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame, name = source, "DataFrame"
    else:
        path = readable_file(source, field, suffixes=DAILY_SUFFIXES)
        if path.stat().st_size > MAX_DAILY_BYTES:
            raise InputError(f"{path.name} is larger than {MAX_DAILY_BYTES // 2**20} MiB", field=field,
                             fix="give one row per day (date,saidi_minutes) for the five history years.")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False)
        except pd.errors.EmptyDataError:
            raise InputError(f"{path.name} is empty", field=field, fix="give a header row date,saidi_minutes.") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{path.name} is not readable as CSV ({parse_problem(exc)})", field=field,
                             fix="save it as UTF-8 CSV with a header row date,saidi_minutes.") from None
        name = path.name
    frame = frame.set_axis([str(c).strip().lower() for c in frame.columns], axis=1)
    missing = [c for c in ("date", "saidi_minutes") if c not in frame.columns]
    if missing:
        raise InputError(f"no column {', '.join(missing)} in {name}", field=field,
                         fix="name the columns date and saidi_minutes.")
    n = len(frame)
    days = pd.to_datetime(frame["date"].astype(str).str.strip().str[:10], format="%Y-%m-%d", errors="coerce")
    values = pd.to_numeric(frame["saidi_minutes"], errors="coerce").to_numpy(dtype=float)
    bad = np.zeros(n, dtype=bool)
    rejected: list[RejectedOutage] = []
    checks = [(days.isna().to_numpy(), "date", "missing or not an ISO 8601 day (YYYY-MM-DD)"),
              (~np.isfinite(values), "saidi_minutes", "missing or not a number"),
              (values < 0, "saidi_minutes", "is negative")]
    reasons = {}
    for mask, where, why in checks:
        with np.errstate(invalid="ignore"):
            new = np.flatnonzero(mask & ~bad)
        bad[new] = True
        reasons.update({int(i): (where, why) for i in new})
    dup = days.duplicated(keep="first").to_numpy() & ~bad
    for i in np.flatnonzero(dup):
        reasons[int(i)] = ("date", "repeats an earlier row's day")
    bad |= dup
    rejected = [RejectedOutage(row=i + 1, field=reasons[i][0], reason=reasons[i][1]) for i in sorted(reasons)]
    series = pd.Series(values[~bad], index=pd.DatetimeIndex(days[~bad])).sort_index().rename("saidi_min")
    return series, rejected, n


def _index_set(sub, n_t: int, hours: float, n: int) -> IndexSet:
    """IEEE 1366 indices of the interruptions in ``sub`` (columns customers_interrupted, duration_min, sustained,
    feeder)."""
    sus = sub[sub["sustained"]]
    mom = sub[~sub["sustained"]]
    ci = int(sus["customers_interrupted"].sum())
    cmi = float((sus["customers_interrupted"] * sus["duration_min"]).sum())
    cmo = int(mom["customers_interrupted"].sum())
    # CN(k>n): per feeder, the (n+1)-th largest N_i (nested customers), i.e. rank n in descending order
    ranked = sus.sort_values(["feeder", "customers_interrupted"], ascending=[True, False], kind="stable")
    rank = ranked.groupby("feeder", sort=False).cumcount().to_numpy()
    cn = min(int(ranked["customers_interrupted"].to_numpy()[rank == n].sum()), n_t)
    saifi, saidi = ci / n_t, cmi / n_t
    return IndexSet(saifi=saifi, saidi_min=saidi, caidi_min=saidi / saifi if ci else None,
                    asai=(n_t * hours - cmi / 60.0) / (n_t * hours), maifi=cmo / n_t, cemi_n=cn / n_t,
                    customers_more_than_n=cn, customer_interruptions=ci, customer_minutes=cmi,
                    customer_momentary_interruptions=cmo, sustained_interruptions=len(sus),
                    momentary_interruptions=len(mom))


def _breakdown(sub, key: str, n_t: int, order: list | None = None) -> list[Breakdown]:
    import pandas as pd

    cmi = (sub["customers_interrupted"] * sub["duration_min"]).where(sub["sustained"], 0.0)
    table = pd.DataFrame({
        "key": sub[key].astype(str), "cmi": cmi, "ci": sub["customers_interrupted"].where(sub["sustained"], 0),
        "med_cmi": cmi.where(sub["med"], 0.0), "sus": sub["sustained"].astype(int), "mom": (~sub["sustained"]).astype(int),
    }).groupby("key", sort=False).sum()
    if order is not None:
        table = table.reindex(order, fill_value=0)
    else:
        table = table.sort_values(["cmi", "ci"], ascending=False, kind="stable")
    return [Breakdown(key=str(k), saidi_min=float(r.cmi) / n_t, saifi=float(r.ci) / n_t,
                      saidi_med_min=float(r.med_cmi) / n_t, sustained_interruptions=int(r.sus),
                      momentary_interruptions=int(r.mom)) for k, r in table.iterrows()]


def _history(frame, year: int, daily, days, years, tz, momentary_minutes: float, n_t: int):
    """(daily SAIDI series of the five-year window, years available, source, where the history starts)."""
    import pandas as pd

    lo, hi = pd.Timestamp(year - HISTORY_YEARS, 1, 1), pd.Timestamp(year, 1, 1)
    if daily is not None:
        first_year = int(daily.index.min().year) if len(daily) else year
        window = daily[(daily.index >= lo) & (daily.index < hi)]
        return window, year - max(first_year, year - HISTORY_YEARS), "daily_saidi"
    first_year = int(years.min()) if len(years) else year
    in_window = ((days >= lo) & (days < hi)).to_numpy()
    window = daily_saidi_series(frame[in_window], n_t, momentary_minutes=momentary_minutes, tz=tz)
    return window, year - max(first_year, year - HISTORY_YEARS), "outage_record"


def reliability_frame(outages, customers_served: int, *, year: int | None = None, daily_saidi=None,
                      momentary_minutes: float = 5.0, cemi_n: int = 3, tz: str | None = None,
                      daily_saidi_rejected: list[RejectedOutage] | None = None) -> ReliabilityResult:
    """IEEE 1366 indices of one year of an outage record, with and without Major Event Days (not recorded).

    Parameters
    ----------
    outages : pandas.DataFrame or OutageRecord
        The record: a DataFrame with columns start, end, customers_interrupted, feeder, cause (validated here by
        :func:`~gridsage.tools.reliability.outages.read_outages`), or a record already read.
    customers_served : int
        N_T [customers], >= 1.
    year : int, optional
        Reporting calendar year (in ``tz``); default the latest year in which an interruption began.
    daily_saidi : pandas.Series or pandas.DataFrame, optional
        Daily SAIDI history [min] indexed by day (or columns ``date``, ``saidi_minutes``); default: computed from
        the record itself.  Only the five years before ``year`` are used.
    momentary_minutes : float, default 5
        Longest momentary interruption [min] (IEEE 1366: 5 min).
    cemi_n : int, default 3
        n of CEMI_n.
    tz : str, optional
        IANA zone of naive times and of day/month/year boundaries; default UTC.
    daily_saidi_rejected : list of RejectedOutage, optional
        Rows of a daily SAIDI file already rejected (reported in the result).

    Returns
    -------
    ReliabilityResult
        ``status`` 'ok', or 'no_interruptions' when no interruption began in the period.

    Raises
    ------
    InputError
        If ``customers_served`` < 1, ``momentary_minutes`` <= 0, ``cemi_n`` < 0, ``tz`` is unknown, the record
        has no valid row and no ``year`` is given, or the daily SAIDI history is malformed.

    Notes
    -----
    With N_T customers served and T_h the hours of the year: SAIFI = sum(N_i)/N_T, SAIDI = sum(r_i N_i)/N_T [min],
    CAIDI = SAIDI/SAIFI [min], ASAI = (N_T T_h - sum(r_i N_i)/60)/(N_T T_h), MAIFI = sum(N_mi)/N_T,
    CEMI_n = CN(k>n)/N_T (nested customers per feeder, an upper bound).  Major Event Days: daily SAIDI of the
    five calendar years before ``year`` gives T_MED = exp(alpha + 2.5 beta) (:func:`med_threshold`); a day of the
    year whose daily SAIDI exceeds T_MED is an MED.  With fewer than five years of history no MED is identified
    and ``med.reason`` says why.  Interruptions (sustained and momentary) begun on an MED are left out of
    ``indices_excluding_meds`` and make up ``indices_meds``; T_h is the whole year's in all three.

    References
    ----------
    .. [1] IEEE Std 1366-2022: SAIFI, SAIDI, CAIDI, ASAI, CEMI_n (sustained interruption indices), MAIFI
       (momentary interruption indices), Major Event Day classification (2.5-beta method) and their reporting.
    """
    import numpy as np
    import pandas as pd

    if customers_served < 1:
        raise InputError(f"customers_served={customers_served} is below 1", field="customers_served",
                         fix="give the number of customers served N_T (>= 1).")
    if not momentary_minutes > 0:
        raise InputError("momentary_minutes must be > 0", field="momentary_minutes", fix="IEEE 1366 uses 5 min.")
    if cemi_n < 0:
        raise InputError("cemi_n must be >= 0", field="cemi_n", fix="give n of CEMI_n, e.g. 3.")
    zone(tz)
    record = outages if isinstance(outages, OutageRecord) else read_outages(outages, customers_served=customers_served,
                                                                            tz=tz)
    n_t = int(customers_served)
    frame = record.frame.copy()
    rejected = list(record.rejected)
    too_many = frame["customers_interrupted"].to_numpy() > n_t  # a record read without N_T
    if too_many.any():
        rows = frame.index[too_many]
        rejected = sorted(rejected + [RejectedOutage(row=int(r), field="customers_interrupted",
                                                     reason=f"exceeds the customers served ({n_t:,})") for r in rows],
                          key=lambda r: r.row)
        frame = frame[~too_many]
    days, years, months = _local(frame, tz)
    if year is None:
        if not len(frame):
            raise InputError(f"no valid interruption in the record ({record.summary()})", field="outages",
                             fix="correct the rejected rows, or give year to report a year without interruptions.")
        year = int(years.max())
    frame["sustained"] = frame["duration_min"].to_numpy() > momentary_minutes
    frame["day"] = days.to_numpy()
    frame["month"] = [f"{y}-{m:02d}" for y, m in zip(years, months)]
    in_period = years == year
    period = frame[in_period].copy()
    p_start, p_end = pd.Timestamp(year, 1, 1), pd.Timestamp(year + 1, 1, 1)
    hours = float((p_end.tz_localize(tz or "UTC") - p_start.tz_localize(tz or "UTC")).total_seconds() / 3600)

    # --- Major Event Days (2.5 beta)
    if daily_saidi is not None and isinstance(daily_saidi, pd.DataFrame):
        daily_saidi, more, _ = read_daily_saidi(daily_saidi)
        daily_saidi_rejected = list(daily_saidi_rejected or []) + more
    elif daily_saidi is not None:
        daily_saidi = pd.Series(daily_saidi, dtype=float)
        index = pd.DatetimeIndex(daily_saidi.index)
        daily_saidi.index = (index.tz_localize(None) if index.tz is not None else index).normalize()
    window, years_available, source = _history(frame, year, daily_saidi, days, years, tz, momentary_minutes, n_t)
    h_start, h_end = dt.date(year - HISTORY_YEARS, 1, 1), dt.date(year - 1, 12, 31)
    threshold = None
    if years_available < HISTORY_YEARS:
        first = (f"first day {daily_saidi.index.min():%Y-%m-%d}" if source == "daily_saidi" and len(daily_saidi)
                 else f"first interruption in {int(years.min())}" if len(years) else "no history")
        reason = (f"only {max(years_available, 0)} of the {HISTORY_YEARS} years of daily SAIDI before {year} are "
                  f"available ({source.replace('_', ' ')}, {first}); the IEEE 1366 2.5-beta method needs "
                  f"{HISTORY_YEARS}: Major Event Days are not identified")
    elif int((window.to_numpy() > 0).sum()) < 2:
        reason = f"fewer than two days with SAIDI > 0 in {h_start.year}-{h_end.year}: T_MED cannot be computed"
    else:
        threshold = med_threshold(window.to_numpy())
        reason = (f"T_MED = exp({threshold.alpha:.4f} + 2.5 x {threshold.beta:.4f}) = {threshold.t_med_min:.3f} min "
                  f"from {threshold.days_used} days with SAIDI > 0 in {h_start.year}-{h_end.year} "
                  f"({source.replace('_', ' ')})")
    med = MedAnalysis(identified=threshold is not None, reason=reason, source=source, history_start=h_start,
                      history_end=h_end, years_available=max(years_available, 0), threshold=threshold)
    daily = daily_saidi_series(period, n_t, momentary_minutes=momentary_minutes, tz=tz)
    med_days = daily[daily > threshold.t_med_min] if threshold is not None else daily.iloc[:0]
    period["med"] = period["day"].isin(med_days.index).to_numpy() if len(period) else np.zeros(0, dtype=bool)

    indices = _index_set(period, n_t, hours, cemi_n)
    without = _index_set(period[~period["med"]], n_t, hours, cemi_n) if threshold is not None else None
    only = _index_set(period[period["med"]], n_t, hours, cemi_n) if threshold is not None and len(med_days) else None
    meds = []
    for day, saidi in med_days.sort_values(ascending=False).items():
        rows = period[(period["day"] == day) & period["sustained"]]
        cmi = (rows["customers_interrupted"] * rows["duration_min"]).groupby(rows["cause"]).sum()
        meds.append(MajorEventDay(date=day.date(), saidi_min=float(saidi),
                                  customers_interrupted=int(rows["customers_interrupted"].sum()),
                                  sustained_interruptions=len(rows), main_cause=str(cmi.idxmax())))
    by_cause = _breakdown(period, "cause", n_t)
    by_feeder = _breakdown(period, "feeder", n_t)
    by_month = _breakdown(period, "month", n_t, order=[f"{year}-{m:02d}" for m in range(1, 13)])

    notes = [f"CEMI_{cemi_n} assumes that on each feeder the same customers are hit (nested sets), so CN(k>{cemi_n}) "
             f"is the {_ordinal(cemi_n + 1)} largest customers_interrupted of its sustained interruptions: an upper bound.",
             "MAIFI counts each momentary interruption (the record does not group reclose operations into events: "
             "not MAIFI_E).",
             f"Interruptions of at most {momentary_minutes:g} min are momentary, longer ones sustained; each belongs "
             f"to the day it began ({tz or 'UTC'} days)."]
    outside = int((~in_period).sum())
    if outside:
        notes.append(f"{outside:,} interruptions began outside {year} (used only as MED history when in "
                     f"{h_start.year}-{h_end.year}).")
    if len(period) and period["day"].max() < pd.Timestamp(year, 12, 1):
        notes.append(f"the last interruption of {year} began on {period['day'].max():%Y-%m-%d}: if the record ends "
                     f"there, the indices cover part of the year while T_h counts all {hours:.0f} h.")
    if record.blank_feeder or record.blank_cause:
        notes.append(f"{record.blank_feeder:,} rows without feeder and {record.blank_cause:,} without cause are "
                     "counted as 'unknown'.")
    if rejected:
        notes.append(f"{len(rejected):,} of {record.rows_read:,} rows rejected (rejected_rows lists the first "
                     f"{MAX_REJECTED}); the others are used.")
    status = "ok" if len(period) else "no_interruptions"
    summary = _summary(year, indices, without, med, len(meds), cemi_n)
    return ReliabilityResult(
        status=status, year=year, period_start=dt.date(year, 1, 1), period_end=dt.date(year, 12, 31), period_hours=hours,
        time_zone=tz or "UTC", customers_served=n_t, momentary_minutes=float(momentary_minutes), cemi_n=cemi_n,
        indices=indices, indices_excluding_meds=without, indices_meds=only, med=med,
        major_event_days=meds[:MAX_MEDS], major_event_days_omitted=max(0, len(meds) - MAX_MEDS),
        by_cause=by_cause[:MAX_BREAKDOWN], by_cause_omitted=max(0, len(by_cause) - MAX_BREAKDOWN),
        by_feeder=by_feeder[:MAX_BREAKDOWN], by_feeder_omitted=max(0, len(by_feeder) - MAX_BREAKDOWN),
        by_month=by_month, rows_read=record.rows_read, rows_in_period=len(period), rows_rejected=len(rejected),
        rejected_rows=rejected[:MAX_REJECTED], daily_saidi_rejected=list(daily_saidi_rejected or [])[:MAX_REJECTED],
        ignored_columns=record.ignored_columns, notes=notes, summary=summary)


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def _fmt(s: IndexSet, n: int) -> str:
    caidi = "n/a" if s.caidi_min is None else f"{s.caidi_min:.1f} min"
    return (f"SAIFI {s.saifi:.3f}, SAIDI {s.saidi_min:.1f} min, CAIDI {caidi}, ASAI {s.asai:.6f}, "
            f"MAIFI {s.maifi:.3f}, CEMI{n} {s.cemi_n:.4f}")


def _summary(year: int, all_days: IndexSet, without: IndexSet | None, med: MedAnalysis, n_meds: int, n: int) -> str:
    text = f"{year}: {_fmt(all_days, n)} (all days)"
    if med.threshold is None:
        return text + "; Major Event Days not identified: " + med.reason
    return (text + f"; {n_meds} Major Event Day(s) above T_MED {med.threshold.t_med_min:.2f} min; excluding them: "
            + _fmt(without, n))


# ------------------------------------------------------------------ the tool


@tool
def reliability_indices(
    outages: Annotated[str, Field(description="Outage record CSV: start, end (ISO 8601 with offset), "
                                              "customers_interrupted, feeder, cause; under a data root.")],
    customers_served: Annotated[int, Field(ge=1, le=1_000_000_000, description="N_T, customers served [customers].")],
    year: Annotated[int | None, Field(ge=1900, le=2200, description="Reporting calendar year; default the latest "
                                                                     "with records.")] = None,
    daily_saidi: Annotated[str | None, Field(description="Optional CSV of daily SAIDI history (date, saidi_minutes "
                                                         "[min]); default: computed from the outage record.")] = None,
    momentary_minutes: Annotated[float, Field(gt=0, le=60, allow_inf_nan=False, description=(
        "Longest momentary interruption [min]; IEEE 1366: 5."))] = 5.0,
    cemi_n: Annotated[int, Field(ge=0, le=100, description="n of CEMI_n (customers with more than n sustained "
                                                           "interruptions).")] = 3,
    tz: Annotated[str | None, Field(description="IANA zone of naive times and of day boundaries, e.g. "
                                                "'America/Chicago'; default UTC.")] = None,
) -> ReliabilityResult:
    """IEEE 1366 reliability indices of a year (SAIFI, SAIDI, CAIDI, ASAI, MAIFI, CEMI_n), with and without Major
    Event Days (2.5-beta method), by cause, feeder and month, from an outage record.

    Parameters
    ----------
    outages : str
        Outage CSV under a data root (:func:`gridsage.tools.reliability.outages.read_outages`).
    customers_served : int
        N_T [customers].
    year : int, optional
        Reporting calendar year; default the latest in which an interruption began.
    daily_saidi : str, optional
        Daily SAIDI history CSV (``date``, ``saidi_minutes`` [min]) under a data root.
    momentary_minutes : float, default 5
        [min]
    cemi_n : int, default 3
    tz : str, optional

    Returns
    -------
    ReliabilityResult
        See :func:`reliability_frame`; bad rows are listed (row, field, reason) and the good ones used.

    Raises
    ------
    InputError
        If a file is outside the data roots, unreadable or lacks a column, ``tz`` is unknown, or no row is valid.
    RequestTooLargeError
        If the outage file is too large.

    References
    ----------
    .. [1] IEEE Std 1366-2022, Guide for Electric Power Distribution Reliability Indices.
    """
    record = read_outages(outages, customers_served=customers_served, tz=tz)
    history, rejected = None, []
    if daily_saidi is not None:
        history, rejected, _ = read_daily_saidi(daily_saidi)
    return reliability_frame(record, customers_served, year=year, daily_saidi=history,
                             momentary_minutes=momentary_minutes, cemi_n=cemi_n, tz=tz, daily_saidi_rejected=rejected)
