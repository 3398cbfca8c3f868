"""Outage records: vectorised reading of an outage CSV (or DataFrame), and a seeded outage-record simulator.

An outage record lists one customer interruption per row (IEEE 1366 counts an interruption by the customers it
interrupted, N_i, and its duration, r_i).  Columns (names matched case-insensitively; other columns are ignored and
named in ``ignored_columns``):

- ``start``, ``end``: ISO 8601 times with a UTC offset (``2025-07-01T14:05:00Z``, ``...+02:00``), or naive times
  local to the IANA zone ``tz``; ``end`` after ``start``;
- ``customers_interrupted``: a positive integer, at most the customers served N_T;
- ``feeder``: the circuit (blank: ``'unknown'``);
- ``cause``: free text, lower-cased (blank: ``'unknown'``).

:func:`read_outages` checks every row with column operations (no Python loop per row) and never drops a row
silently: each row is kept, or listed in ``rejected`` with its row number, the field at fault and why (no cell of
the file is quoted).  :func:`simulate_outage_record` writes a record with planted storm days for tests and public
scenarios.

References
----------
.. [1] IEEE Std 1366-2022, "IEEE Guide for Electric Power Distribution Reliability Indices": definitions of
   interruption, momentary and sustained interruption, customers interrupted (N_i), customers served (N_T).
.. [2] ISO 8601-1:2019, "Date and time - Representations for information interchange", clause 5.3.4 (time shift
   from UTC).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field as dc_field
from typing import Any

from pydantic import BaseModel, Field

from gridsage.errors import InputError, RequestTooLargeError
from gridsage.tools.paths import parse_problem, readable_file

__all__ = ["COLUMNS", "CAUSES", "MAX_ROWS", "MAX_FILE_BYTES", "OutageRecord", "RejectedOutage", "read_outages",
           "simulate_outage_record", "zone"]

#: the columns of an outage record (names matched case-insensitively)
COLUMNS = ("start", "end", "customers_interrupted", "feeder", "cause")
#: most rows read from one record
MAX_ROWS = 2_000_000
#: largest outage file read [bytes]
MAX_FILE_BYTES = 256 * 2**20
#: suffixes of an outage file
OUTAGE_SUFFIXES = (".csv", ".txt")
#: longest interruption accepted [days]: a longer one is almost surely a data-entry error (a wrong year)
MAX_DURATION_DAYS = 366
#: causes the simulator draws (ordinary days), with their shares
CAUSES = {"vegetation": 0.25, "equipment": 0.30, "animal": 0.15, "weather": 0.15, "public": 0.07, "unknown": 0.08}


class RejectedOutage(BaseModel):
    """One input row that was not used, and why (nothing of the row is quoted)."""

    row: int = Field(description="Record number, 1-based, header excluded: CSV file line row + 1, DataFrame "
                                 "position row - 1.")
    field: str = Field(description="Field at fault (the first one, in column order), e.g. 'end'.")
    reason: str


@dataclass
class OutageRecord:
    """A validated outage record.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per accepted interruption, indexed by the record number ``row``, in input order: ``start``, ``end``
        (``datetime64[ns, UTC]``), ``customers_interrupted`` (int64) [customers], ``feeder``, ``cause`` (str),
        ``duration_min`` (float) [min].
    rejected : list of RejectedOutage
        Every other row, in input order.
    rows_read : int
    source : str
        File name or ``'DataFrame'``.
    ignored_columns : list of str
    blank_feeder, blank_cause : int
        Accepted rows whose feeder or cause was blank (set to ``'unknown'``).
    """

    frame: Any
    rejected: list[RejectedOutage]
    rows_read: int
    source: str
    ignored_columns: list[str] = dc_field(default_factory=list)
    blank_feeder: int = 0
    blank_cause: int = 0

    def summary(self) -> str:
        """One line: rows read, kept, rejected by field."""
        by: dict[str, int] = {}
        for r in self.rejected:
            by[r.field] = by.get(r.field, 0) + 1
        why = ", ".join(f"{k}: {v:,}" for k, v in by.items())
        ignored = f"; ignored columns: {', '.join(self.ignored_columns)}" if self.ignored_columns else ""
        return (f"{self.rows_read:,} rows read from {self.source}: {len(self.frame):,} interruptions kept, "
                f"{len(self.rejected):,} rejected" + (f" ({why})" if why else "") + ignored)


def zone(tz: str | None, field: str = "tz"):
    """The ``zoneinfo.ZoneInfo`` of an IANA zone name (None for None).

    Raises
    ------
    InputError
        If ``tz`` is not a known IANA zone.
    """
    if tz is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError(f"unknown time zone {str(tz)[:60]!r}", field=field,
                         fix="use an IANA zone name such as 'America/Chicago', or give UTC offsets in the data.") from None


def _too_many(n: int) -> None:
    if n > MAX_ROWS:
        raise RequestTooLargeError(f"more than {MAX_ROWS:,} rows", field="outages",
                                   fix=f"split the record into periods of at most {MAX_ROWS:,} rows.")


def _load(source, field: str):
    """The raw table and the source's name (a file under the data roots, or a DataFrame)."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        _too_many(len(source))
        return source, "DataFrame"
    path = readable_file(source, field, suffixes=OUTAGE_SUFFIXES)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise RequestTooLargeError(f"{path.name} is {size:,} bytes; at most {MAX_FILE_BYTES:,} are read", field=field,
                                   fix="split the record into smaller files (e.g. one per year).")
    try:
        header = [str(c).strip().lower() for c in pd.read_csv(path, nrows=0).columns]
        with warnings.catch_warnings():  # a row longer than the header: an error, never silently cut
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, header=0, names=header, dtype=str, keep_default_na=False, index_col=False,
                                nrows=MAX_ROWS + 1)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name} is empty", field=field,
                         fix="give a CSV with a header row (start,end,customers_interrupted,feeder,cause) and "
                             "one interruption per row.") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path.name} is not readable as CSV ({parse_problem(exc)})", field=field,
                         fix="save the record as UTF-8 CSV with a header row and one interruption per line.") from None
    _too_many(len(frame))
    return frame, path.name


_TIME_REASONS = {1: "missing", 2: "not an ISO 8601 time (e.g. 2025-07-01T14:05:00Z)",
                 3: "has no UTC offset: add one (Z, -05:00) or pass tz"}


def read_outages(source, *, customers_served: int | None = None, tz: str | None = None,
                 field: str = "outages") -> OutageRecord:
    """Read and validate an outage record, keeping every good row and listing every other.

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        A CSV file with a header row under a data root (:func:`gridsage.tools.paths.readable_file`), at most
        :data:`MAX_FILE_BYTES` and :data:`MAX_ROWS` rows, or a DataFrame with the same columns (times as text or
        datetimes).
    customers_served : int, optional
        N_T [customers]: a row interrupting more customers is rejected.
    tz : str, optional
        IANA zone of naive times, e.g. ``'America/Chicago'``; default none: naive times are rejected.
    field : str, default 'outages'
        Argument name for errors about the file as a whole.

    Returns
    -------
    OutageRecord
        ``len(frame) + len(rejected) == rows_read``.

    Raises
    ------
    InputError
        If the file is outside the data roots, missing, empty or not CSV, a required column is absent, or ``tz``
        is unknown (no message quotes the file).
    RequestTooLargeError
        If the file is larger than :data:`MAX_FILE_BYTES` or has more than :data:`MAX_ROWS` rows.

    Notes
    -----
    Each rejected row names its first failing field in the order start, end, customers_interrupted: a missing or
    unparsable time, a naive time without ``tz`` (or one a DST change makes nonexistent or ambiguous), ``end`` not
    after ``start`` or more than :data:`MAX_DURATION_DAYS` days after it, a count that is missing, not a whole
    number, below 1 or above ``customers_served``.  Duration r_i = end - start [min].
    """
    import numpy as np
    import pandas as pd

    zone(tz)
    frame, name = _load(source, field)
    frame = frame.set_axis([str(c).strip().lower() for c in frame.columns], axis=1)
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise InputError(f"column {dup!r} appears twice in {name}", field=field, fix="name each column once.")
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"no column {', '.join(missing)} in {name}", field=field,
                         fix=f"name the columns {', '.join(COLUMNS)} (any order, any case).")
    n = len(frame)
    rows = np.arange(1, n + 1)
    bad = np.zeros(n, dtype=bool)
    fields = np.empty(n, dtype=object)
    reasons = np.empty(n, dtype=object)

    def reject(mask, where: str, reason: str) -> None:
        new = np.flatnonzero(mask & ~bad)
        if new.size:
            bad[new], fields[new], reasons[new] = True, where, reason

    from gridsage.tools.telemetry.ingest import parse_times

    start, p_start = parse_times(frame["start"], tz)
    end, p_end = parse_times(frame["end"], tz)
    dst = f"does not exist or is ambiguous in {tz} (a DST change): give a UTC offset"
    for where, problem in (("start", p_start), ("end", p_end)):
        for code, reason in {**_TIME_REASONS, 4: dst}.items():
            reject(problem == code, where, reason)
    duration = ((end.asi8 - start.asi8) / 6e10)  # [min]
    reject(duration <= 0, "end", "is not after start")
    reject(duration > MAX_DURATION_DAYS * 1440, "end", f"is more than {MAX_DURATION_DAYS} days after start")
    raw = frame["customers_interrupted"]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        count = raw.to_numpy(dtype=float)
        absent = np.isnan(count)
    else:
        text = raw.astype(str).str.strip()
        count = pd.to_numeric(raw.astype(object), errors="coerce").to_numpy(dtype=float)
        absent = (raw.isna() | (text == "") | text.str.lower().isin(["nan", "none", "null", "na"])).to_numpy()
    reject(absent, "customers_interrupted", "missing")
    reject(~np.isfinite(count), "customers_interrupted", "is not a number")
    with np.errstate(invalid="ignore"):
        reject(count != np.round(count), "customers_interrupted", "is not a whole number of customers")
        reject(count < 1, "customers_interrupted", "is below 1 (an interruption interrupts at least one customer)")
        if customers_served is not None:
            reject(count > customers_served, "customers_interrupted",
                   f"exceeds the customers served ({customers_served:,})")

    def labels(column) -> tuple[Any, int]:
        text = column.astype(object).where(column.notna(), "").astype(str).str.strip()
        blank = (text == "") | text.str.lower().isin(["nan", "none"])
        return text.where(~blank, "unknown").to_numpy(dtype=object), blank.to_numpy()

    feeder, feeder_blank = labels(frame["feeder"])
    cause, cause_blank = labels(frame["cause"])
    cause = pd.Series(cause, dtype=object).str.lower().to_numpy(dtype=object)
    keep = ~bad
    accepted = pd.DataFrame({
        "start": start[keep], "end": end[keep],
        "customers_interrupted": np.where(keep, np.nan_to_num(count, nan=0.0), 0)[keep].astype(np.int64),
        "feeder": feeder[keep], "cause": cause[keep], "duration_min": duration[keep],
    }, index=pd.Index(rows[keep], name="row"))
    gone = np.flatnonzero(bad)
    rejected = [RejectedOutage.model_construct(row=int(rows[i]), field=fields[i], reason=reasons[i]) for i in gone]
    ignored = [c for c in frame.columns if c not in COLUMNS]
    return OutageRecord(frame=accepted, rejected=rejected, rows_read=n, source=name, ignored_columns=ignored,
                        blank_feeder=int((feeder_blank & keep).sum()), blank_cause=int((cause_blank & keep).sum()))


def simulate_outage_record(years: int = 6, customers_served: int = 20_000, feeders: int | list[str] = 8, seed: int = 0,
                           major_events: list | tuple = (), start_year: int = 2020,
                           interruptions_per_feeder_year: float = 6.0, momentary_share: float = 0.3,
                           storm_customers_share: float = 0.6):
    """A synthetic outage record with planted storm days (deterministic for a seed), for tests and scenarios.

    Parameters
    ----------
    years : int, default 6
        Calendar years simulated, from ``start_year`` [years]; 6 gives five years of history before the last.
    customers_served : int, default 20000
        N_T [customers], split evenly among the feeders.
    feeders : int or list of str, default 8
        Number of feeders (named ``F01``, ``F02``, ...) or their names.
    seed : int, default 0
    major_events : sequence of date-like, default ()
        Storm days (``'2025-06-14'``, ``datetime.date``): on each, every feeder has several simultaneous long
        interruptions (cause ``'weather'``) that together interrupt about ``storm_customers_share`` of its
        customers for several hours.
    start_year : int, default 2020
    interruptions_per_feeder_year : float, default 6
        Poisson rate of ordinary interruptions per feeder [1/year] (momentary and sustained).
    momentary_share : float, default 0.3
        Share of ordinary interruptions that are momentary (0.2 - 4.5 min, recloser operations).
    storm_customers_share : float, default 0.6
        Customers of each feeder interrupted on a storm day [-].

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``start``, ``end`` (``datetime64[ns, UTC]``), ``customers_interrupted`` (int),
        ``feeder``, ``cause``; sorted by ``start``.  Day boundaries are UTC (read it with ``tz=None``).

    Raises
    ------
    InputError
        If a count or share is out of range, or a major event day lies outside the simulated years.

    Notes
    -----
    Ordinary interruptions arrive as a Poisson process per feeder, uniform over the years; each interrupts a share
    u^1.5 of its feeder's customers (u uniform on [0.01, 1], so most interruptions are small: a lateral fuse, a
    transformer) and lasts a lognormal time (median 75 min, sigma 0.5) clipped to 6-240 min, or 0.2-4.5 min when
    momentary.  An ordinary day's SAIDI is then bounded (an interruption adds at most 240 min x its feeder's share
    of N_T) while ln(daily SAIDI) spreads over several units, so the IEEE 1366 2.5-beta threshold
    T_MED = exp(alpha + 2.5 beta) lies above every ordinary day.  A storm day interrupts ``storm_customers_share``
    of every feeder for 6-18 h: measured 380-480 min of daily SAIDI against T_MED 85-137 min (20,000 customers,
    8 feeders, the defaults, seeds 0-11), ordinary days at most 29 min.  These are the planted truths a test or a
    scenario's answer key checks: the storm days, and only they, are Major Event Days.

    That holds while ordinary interruptions are rare per day (feeders x rate / 365 of about 0.3 or less; the
    defaults give 0.13): most days with an outage then have one, whose size spreads ln(daily SAIDI) widely.  With
    many interruptions a day (e.g. 1,000 feeders at 30 a year) daily SAIDI concentrates, beta shrinks, and ordinary
    days cross T_MED at about the rate the standard expects of log-normal daily SAIDI (2.3 days a year; measured:
    one ordinary day in 2025 besides the storm).
    """
    import numpy as np
    import pandas as pd

    if not 1 <= years <= 50:
        raise InputError(f"years={years} is out of range", field="years", fix="give 1 to 50 years.")
    names = [f"F{i + 1:02d}" for i in range(feeders)] if isinstance(feeders, int) else [str(f) for f in feeders]
    if not 1 <= len(names) <= 1000 or customers_served < len(names):
        raise InputError("need 1 to 1000 feeders and at least one customer per feeder", field="feeders",
                         fix="give fewer feeders or more customers_served.")
    if not 0 <= momentary_share < 1 or not 0 < storm_customers_share <= 1 or interruptions_per_feeder_year < 0:
        raise InputError("a share or rate is out of range", field="momentary_share",
                         fix="momentary_share in [0, 1), storm_customers_share in (0, 1], a rate >= 0.")
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(f"{start_year}-01-01", tz="UTC")
    t1 = pd.Timestamp(f"{start_year + years}-01-01", tz="UTC")
    span_s = (t1 - t0).total_seconds()
    per_feeder = np.full(len(names), customers_served // len(names))
    per_feeder[: customers_served % len(names)] += 1
    causes, shares = list(CAUSES), np.array(list(CAUSES.values()))
    parts = []
    for f, name in enumerate(names):
        k = rng.poisson(interruptions_per_feeder_year * years)
        start = t0 + pd.to_timedelta(np.sort(rng.uniform(0, span_s, k)), unit="s")
        momentary = rng.uniform(size=k) < momentary_share
        minutes = np.where(momentary, rng.uniform(0.2, 4.5, k), np.clip(rng.lognormal(np.log(75), 0.5, k), 6, 240))
        customers = np.maximum(1, np.round(per_feeder[f] * rng.uniform(0.01, 1, k) ** 1.5)).astype(int)
        parts.append(pd.DataFrame({"start": start, "end": start + pd.to_timedelta(minutes * 60, unit="s"),
                                   "customers_interrupted": customers, "feeder": name,
                                   "cause": rng.choice(causes, size=k, p=shares / shares.sum())}))
    for day in major_events:
        d = pd.Timestamp(day)
        d = (d.tz_localize("UTC") if d.tzinfo is None else d.tz_convert("UTC")).normalize()
        if not t0 <= d < t1:
            raise InputError(f"major event day {d.date()} is outside {start_year}-{start_year + years - 1}",
                             field="major_events", fix="give days inside the simulated years.")
        for f, name in enumerate(names):
            k = int(rng.integers(3, 7))
            share = rng.dirichlet(np.ones(k)) * storm_customers_share
            start = d + pd.to_timedelta(rng.uniform(2, 20, k) * 3600, unit="s")
            minutes = rng.uniform(360, 1080, k)
            parts.append(pd.DataFrame({"start": start, "end": start + pd.to_timedelta(minutes * 60, unit="s"),
                                       "customers_interrupted": np.maximum(1, np.round(share * per_feeder[f])).astype(int),
                                       "feeder": name, "cause": "weather"}))
    record = pd.concat(parts, ignore_index=True).sort_values("start", kind="stable").reset_index(drop=True)
    record["start"] = record["start"].dt.round("s")
    record["end"] = record["end"].dt.round("s")
    return record[list(COLUMNS)]
