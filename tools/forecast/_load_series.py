"""A load series from a CSV file, a DataFrame or records, with a data-quality report that hides nothing.

Messy input is described, never silently fixed: gaps, duplicate timestamps,
non-numeric values, timestamps off the regular step, unparseable times and
DST-ambiguous local times each become a :class:`QualityIssue` that says how
many rows, which ones (examples) and what was done with them.  Only data
that cannot be used at all (no time or load column, fewer than
:data:`MIN_HISTORY_DAYS` days, no regular step) raises an
:class:`~gridsage.errors.InputError`.

Time handling: timestamps are held in UTC.  Strings with an offset (``Z``,
``+10:00``) are read as such; naive strings are local time in ``tz`` (DST
fall-back hours resolved from the order of the rows) or UTC when no ``tz``
is given.  Calendar features use local time (:mod:`gridsage.tools.forecast._model`).
Rows after the last load value that carry covariates (temperature) are kept
as the covariate forecast for the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from gridsage.errors import InputError
from gridsage.tools.paths import parse_problem, readable_file

#: shortest usable history [days]: the weekly lag needs one week, and calibration another
MIN_HISTORY_DAYS = 14
#: bound on a load file's size [bytes]
MAX_FILE_BYTES = 200 * 2**20
#: suffixes of a load file
CSV_SUFFIXES = (".csv", ".txt")
#: examples listed per quality issue
EXAMPLES = 5
TIME_NAMES = ("time", "timestamp", "datetime", "date_time", "ds", "time_utc", "settlementdate")
LOAD_NAMES = ("load_mw", "load", "demand_mw", "demand", "system_load", "y", "p_mw", "mw")
TEMP_NAMES = ("temperature_c", "temperature", "temp_c", "temp", "t2m")

IssueKind = Literal["missing_value", "non_numeric", "duplicate_time", "unparsed_time", "irregular_step", "gap",
                    "non_positive", "dst_ambiguous", "dst_nonexistent", "unsorted"]


class QualityIssue(BaseModel):
    """One kind of problem found in the input, how often, where, and what was done about it."""

    kind: IssueKind
    column: str = Field(description="Column the issue is in.")
    count: int = Field(description="Rows (or missing steps, for 'gap') affected.")
    examples: list[str] = Field(default_factory=list, description=f"Up to {EXAMPLES} examples: row number or time.")
    handling: str = Field(description="What GridSage did: e.g. 'treated as missing', 'averaged'.")


class DataQualityReport(BaseModel):
    """What was read, what was used, and every problem found on the way."""

    rows_read: int
    points_used: int = Field(description="Load values on the regular time grid that models may learn from.")
    step_minutes: float = Field(description="Regular time step inferred from the data [min].")
    start_utc: datetime
    end_utc: datetime = Field(description="Last load value (the forecast origin) [UTC].")
    time_zone: str = Field(description="Zone of the calendar features (and of naive timestamps).")
    missing_steps: int = Field(description="Steps on the regular grid with no usable load value.")
    covariates: list[str] = Field(default_factory=list, description="Covariate columns used, e.g. temperature_c.")
    covariate_steps_ahead: int = Field(0, description="Steps after the last load value that carry covariates (a forecast).")
    issues: list[QualityIssue] = Field(default_factory=list)

    def summary(self) -> str:
        """One line per issue, for text reports."""
        return "\n".join(f"{i.kind} in {i.column}: {i.count} ({i.handling}); e.g. {', '.join(i.examples)}"
                         for i in self.issues) or "no issues found"


@dataclass
class LoadSeries:
    """A load series on a regular UTC time grid.

    Attributes
    ----------
    load_mw : pandas.Series
        Load [MW] on the regular grid from the first to the last load value; NaN where missing.
    covariates : pandas.DataFrame
        Covariates (e.g. ``temperature_c`` [°C]) on the grid from the first value to the last
        covariate row (may run past ``load_mw``: a weather forecast); NaN where missing.
    tz : str
        IANA zone of the calendar features.
    quality : DataQualityReport
    """

    load_mw: Any
    covariates: Any
    tz: str
    quality: DataQualityReport

    @property
    def step(self):
        """The regular time step (a pandas Timedelta)."""
        import pandas as pd

        return pd.Timedelta(minutes=self.quality.step_minutes)


def _pick(columns: list[str], given: str | None, names: tuple[str, ...], field: str, required: bool = True) -> str | None:
    """The column named ``given``, else the first of ``names`` present (case-insensitively).

    Errors give the number of columns and the names looked for, never the data's own column names (the data may be
    a file the caller must not read).
    """
    if given is not None:
        if given not in columns:
            raise InputError(f"no column {given!r} among the data's {len(columns)} column(s)", field=field,
                             fix=f"pass the name of a column of the header row as --{field.replace('_', '-')} "
                                 "(names are case-sensitive).")
        return given
    lowered = {c.lower(): c for c in columns}
    for name in names:
        if name in lowered:
            return lowered[name]
    if required:
        what = field.split('_')[0]
        raise InputError(f"cannot tell which column is the {what}: {len(columns)} column(s), none named like a {what} "
                         f"({', '.join(names)})", field=field, fix=f"name it with --{field.replace('_', '-')}.")
    return None


def _numeric(raw, column: str, issues: list[QualityIssue], rows, ahead=None):
    """Numbers from text; blanks are missing, anything else unreadable is non-numeric (both listed, both NaN).

    Blanks in ``ahead`` rows (covariate-only rows after the last load value) are expected, not listed.
    """
    import pandas as pd

    import numpy as np

    text = raw.astype("string").str.strip()
    values = pd.to_numeric(text, errors="coerce").astype(float)
    blank = text.isna() | text.isin(["", "NA", "NaN", "nan", "null", "None"])
    bad = (values.isna() & ~blank) | np.isinf(values)
    values[bad] = np.nan
    if ahead is not None:
        blank &= ~ahead
    for mask, kind, handling in ((blank, "missing_value", "treated as missing"),
                                 (bad, "non_numeric", "treated as missing")):
        if mask.any():
            examples = [f"row {r}: {t!r}" if kind == "non_numeric" else f"row {r}"
                        for r, t in zip(rows[mask][:EXAMPLES], text[mask][:EXAMPLES])]
            issues.append(QualityIssue(kind=kind, column=column, count=int(mask.sum()), examples=examples,
                                       handling=handling))
    return values


def _times(raw, column: str, tz: str | None, issues: list[QualityIssue], rows):
    """UTC timestamps from text (offset-aware, or naive local in ``tz``); NaT where unusable (listed)."""
    import pandas as pd

    text = raw.astype("string").str.strip()
    aware = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False)
    times = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        times[aware] = pd.to_datetime(text[aware], errors="coerce", utc=True, format="ISO8601")
    naive = ~aware & text.notna()
    dst_lost = pd.Series(False, index=raw.index)
    if naive.any():
        local = pd.to_datetime(text[naive], errors="coerce", format="mixed")
        if tz:
            try:  # a repeated fall-back hour is resolved from the order of the rows
                stamped = local.dt.tz_localize(tz, ambiguous="infer", nonexistent="NaT")
            except Exception:  # the order does not resolve it (pytz's AmbiguousTimeError)
                stamped = local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
            lost = local.notna() & stamped.isna()
            gap = lost & local.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").notna()
            for mask, kind, handling in (
                    (gap, "dst_nonexistent", f"dropped: the local time does not exist in {tz} (DST gap)"),
                    (lost & ~gap, "dst_ambiguous", "dropped: the local time repeats at the DST change and the row "
                                                   "order does not say which; give UTC offsets")):
                if mask.any():
                    issues.append(QualityIssue(kind=kind, column=column, count=int(mask.sum()), handling=handling,
                                               examples=[f"row {r}: {t}" for r, t in
                                                         zip(rows[naive][mask][:EXAMPLES], text[naive][mask][:EXAMPLES])]))
            times[naive] = stamped.dt.tz_convert("UTC")
            dst_lost[naive] = lost
        else:
            times[naive] = local.dt.tz_localize("UTC")
    unparsed = times.isna() & ~dst_lost
    if unparsed.any():
        issues.append(QualityIssue(kind="unparsed_time", column=column, count=int(unparsed.sum()),
                                   examples=[f"row {r}: {t!r}" for r, t in zip(rows[unparsed][:EXAMPLES],
                                                                               text[unparsed][:EXAMPLES])],
                                   handling="dropped: the row has no usable time"))
    return times


def load_series_from_frame(frame, time_col: str | None = None, load_col: str | None = None,
                           temp_col: str | None = None, tz: str | None = None,
                           covariate_cols: tuple[str, ...] = ()) -> LoadSeries:
    """Validate a table of timestamps and load values into a :class:`LoadSeries`.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per time; any column types (read as text, then checked).
    time_col, load_col, temp_col : str, optional
        Column names; default: guessed from common names (``time``, ``load_mw``,
        ``demand``, ``temperature``, ...).  Load in [MW], temperature in [°C].
    tz : str, optional
        IANA time zone of the site, e.g. ``'Australia/Melbourne'``; naive
        timestamps are local time there.  Default UTC.
    covariate_cols : tuple of str
        Further numeric covariates to use as features (must be known for the horizon too).

    Returns
    -------
    LoadSeries

    Raises
    ------
    InputError
        If a column is missing, ``tz`` is unknown, the time step cannot be
        inferred or is irregular beyond use, or fewer than
        :data:`MIN_HISTORY_DAYS` days of load remain.
    """
    import numpy as np
    import pandas as pd

    if tz:
        try:
            pd.Timestamp("2020-01-01").tz_localize(tz)
        except Exception:
            raise InputError(f"unknown time zone {tz!r}", field="tz",
                             fix="use an IANA zone name such as 'Europe/Paris' or 'Australia/Melbourne'.") from None
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    time_col = _pick(columns, time_col, TIME_NAMES, "time_col")
    load_col = _pick(columns, load_col, LOAD_NAMES, "load_col")
    temp_col = _pick(columns, temp_col, TEMP_NAMES, "temp_col", required=False)
    for col in covariate_cols:
        _pick(columns, col, (), "covariate_cols")
    issues: list[QualityIssue] = []
    # file row numbers (header is row 1) from a CSV's own index, else positions
    numbered = pd.api.types.is_integer_dtype(frame.index)
    rows = pd.Series((frame.index if numbered else np.arange(len(frame))) + 2, index=frame.index)
    times = _times(frame[time_col], time_col, tz, issues, rows)
    numbers = pd.to_numeric(frame[load_col].astype("string").str.strip(), errors="coerce")
    ahead = times > times[numbers.notna()].max()  # covariate-only rows: a weather forecast
    load = _numeric(frame[load_col], load_col, issues, rows, ahead)
    covs = {"temperature_c" if c == temp_col else c: _numeric(frame[c], c, issues, rows)
            for c in ([temp_col] if temp_col else []) + list(covariate_cols)}
    data = pd.DataFrame({"load_mw": load.to_numpy(), **{k: v.to_numpy() for k, v in covs.items()}},
                        index=pd.DatetimeIndex(times.to_numpy()))
    data = data[data.index.notna()]
    if not data.index.is_monotonic_increasing:
        late = int((np.diff(data.index.asi8) < 0).sum())
        issues.append(QualityIssue(kind="unsorted", column=time_col, count=late, handling="sorted by time"))
        data = data.sort_index(kind="stable")
    dup = data.index.duplicated(keep=False)
    if dup.any():
        differing = data[dup].groupby(level=0)["load_mw"].nunique(dropna=True).gt(1).sum()
        issues.append(QualityIssue(kind="duplicate_time", column=time_col, count=int(dup.sum()),
                                   examples=[str(t) for t in data.index[dup].unique()[:EXAMPLES]],
                                   handling=f"averaged per time ({int(differing)} time(s) had differing values)"))
        data = data.groupby(level=0).mean()
    if len(data) < 3:
        raise InputError(f"only {len(data)} row(s) with a usable time", field=time_col,
                         fix="check the time column and its format (ISO 8601, e.g. 2014-01-31T13:30:00Z).")
    step = pd.Series(data.index).diff().dropna().median()
    minutes = step.total_seconds() / 60
    if not (1 <= minutes <= 1440) or 1440 % minutes:
        raise InputError(f"the median time step is {step}, not a whole fraction of a day", field=time_col,
                         fix="resample to a regular step such as 15 min, 30 min or 1 h.")
    off = (data.index - data.index[0]) % step != pd.Timedelta(0)
    if off.any():
        issues.append(QualityIssue(kind="irregular_step", column=time_col, count=int(off.sum()),
                                   examples=[str(t) for t in data.index[off][:EXAMPLES]],
                                   handling=f"dropped: not on the {minutes:g}-min grid"))
        if off.mean() > 0.1:
            raise InputError(f"{int(off.sum())} of {len(data)} timestamps are off the {minutes:g}-min grid",
                             field=time_col, fix="resample the series to a regular step first.")
        data = data[~off]
    loaded = data["load_mw"].dropna()
    if loaded.empty:
        raise InputError(f"no numeric value in load column {load_col!r}", field="load_col",
                         fix="point --load-col at the column with the load in MW.")
    grid = pd.date_range(data.index[0], data.index[-1], freq=step)
    data = data.reindex(grid)
    load_mw = data["load_mw"].loc[loaded.index[0]:loaded.index[-1]]
    span_days = (load_mw.index[-1] - load_mw.index[0]) / pd.Timedelta(days=1)
    if span_days < MIN_HISTORY_DAYS:
        raise InputError(f"only {span_days:.1f} days of load; at least {MIN_HISTORY_DAYS} are needed", field="load_col",
                         fix="supply a longer history (weeks to years).")
    missing = load_mw.isna()
    if missing.any():
        runs = (missing != missing.shift()).cumsum()[missing]
        spans = [f"{g.index[0]} .. {g.index[-1]} ({len(g)} steps)" for _, g in runs.groupby(runs)]
        issues.append(QualityIssue(kind="gap", column=load_col, count=int(missing.sum()), examples=spans[:EXAMPLES],
                                   handling="left missing: no model learns from or is scored on them"))
    low = load_mw <= 0
    if low.any():
        issues.append(QualityIssue(kind="non_positive", column=load_col, count=int(low.sum()),
                                   examples=[str(t) for t in load_mw.index[low][:EXAMPLES]],
                                   handling="kept; percentage errors skip them"))
    covariates = data.drop(columns="load_mw").loc[load_mw.index[0]:]
    if len(covariates.columns):
        covariates = covariates.loc[:covariates.dropna(how="all").index.max()]
    ahead = int((covariates.index > load_mw.index[-1]).sum()) if len(covariates.columns) else 0
    report = DataQualityReport(rows_read=len(frame), points_used=int((~missing).sum()), step_minutes=minutes,
                               start_utc=load_mw.index[0].to_pydatetime(), end_utc=load_mw.index[-1].to_pydatetime(),
                               time_zone=tz or "UTC", missing_steps=int(missing.sum()),
                               covariates=list(covariates.columns), covariate_steps_ahead=ahead, issues=issues)
    return LoadSeries(load_mw=load_mw, covariates=covariates, tz=tz or "UTC", quality=report)


def read_load_csv(path: str | Path, time_col: str | None = None, load_col: str | None = None,
                  temp_col: str | None = None, tz: str | None = None, series_col: str | None = None,
                  series: str | None = None, covariate_cols: tuple[str, ...] = ()) -> LoadSeries:
    """Read a CSV file of load (and optionally temperature) into a :class:`LoadSeries`.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV file with a header row.
    time_col, load_col, temp_col, tz, covariate_cols
        As for :func:`load_series_from_frame`.
    series_col, series : str, optional
        For long files holding several series (e.g. ``unique_id`` = ``FR``,
        ``BE``): keep the rows where ``series_col`` equals ``series``.

    Returns
    -------
    LoadSeries

    Raises
    ------
    InputError
        If the file is missing, too large or not CSV, or as for :func:`load_series_from_frame`.
    """
    import pandas as pd

    path = readable_file(path, "csv_path", suffixes=CSV_SUFFIXES)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(f"{path.name} is {size / 2**20:.0f} MB; the bound is {MAX_FILE_BYTES // 2**20} MB",
                         field="csv_path", fix="cut the file to the history you need (a few years at most).")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name} is empty", field="csv_path", fix="give a CSV file with a header row.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path.name} is not readable as CSV ({parse_problem(exc)})", field="csv_path",
                         fix="save the data as comma-separated UTF-8 text with a header row.") from None
    if (series_col is None) != (series is None):
        raise InputError("--series-col and --series go together", field="series",
                         fix="pass both (e.g. --series-col unique_id --series FR) or neither.")
    if series_col is not None:
        _pick([str(c) for c in frame.columns], series_col, (), "series_col")
        picked = frame[frame[series_col] == series]
        if picked.empty:
            raise InputError(f"no rows with {series_col} = {series!r}; the column holds "
                             f"{frame[series_col].nunique()} other value(s)", field="series",
                             fix=f"pass a value of column {series_col!r} exactly as written in the file.")
        frame = picked  # keeps the file's row numbers for the report
    return load_series_from_frame(frame, time_col, load_col, temp_col, tz, covariate_cols)
