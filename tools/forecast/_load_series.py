"""A load series from a CSV file, a DataFrame or records, with a data-quality report that hides nothing.

Messy input is described, never silently fixed: gaps, duplicate timestamps,
non-numeric values, timestamps off the regular step, unparseable times and
DST-ambiguous local times each become a :class:`QualityIssue` that says how
many rows, which ones (examples) and what was done with them.  Only data
that cannot be used at all (no time or load column, fewer than
:data:`MIN_HISTORY_DAYS` days, no regular step, more than
:data:`MAX_UNREADABLE_SHARE` of the load unreadable, an ambiguous date order
or number format) raises an :class:`~gridsage.errors.InputError` whose fix
names the option that resolves it.

How the text is read (:class:`CsvFormat`, reported in the quality report):

- field separator: given (``sep``) or detected with :class:`csv.Sniffer`
  among :data:`SEPARATORS`, then read by :func:`pandas.read_csv`;
- numbers: decimal mark (``decimal``) and thousands separator (``thousands``)
  given or detected as the format that reads the most values; refused when two
  formats read the same text as different numbers (``1,234``: 1234 or 1.234);
- dates: the order of ``dd/mm/yyyy`` versus ``mm/dd/yyyy`` given (``dayfirst``)
  or proven by a first field above 12 (day first) or a second field above 12
  (month first); refused when nothing proves it.  Year-first (ISO 8601) dates
  are never ambiguous;
- units: a unit row under the header (``MW``, ``[kW]``, ``(GW)``) is skipped and
  listed; a unit in the load column's name (``load [kW]``, ``demand_kw``) or
  its unit row converts the load to MW (:data:`UNIT_TO_MW`).

Time handling: timestamps are held in UTC.  Strings with an offset (``Z``,
``+10:00``) are read as such; naive strings are local time in ``tz`` (DST
fall-back hours resolved from the order of the rows; spring-forward hours that
do not exist are dropped and listed) or UTC when no ``tz`` is given.  Calendar
features use local time (:mod:`gridsage.tools.forecast._model`).
Rows after the last load value that carry covariates (temperature) are kept
as the covariate forecast for the horizon.

References
----------
.. [1] ISO 8601-1:2019, Date and time -- Representations for information interchange, clause 5.4 (calendar date and
   time of day, year first: never ambiguous).
.. [2] RFC 4180 (2005), Common Format and MIME Type for Comma-Separated Values (CSV) Files, clause 2 (fields,
   quoting: a field holding the separator must be quoted).
.. [3] IEC 80000-1:2022, Quantities and units, clause 7.3.2 (decimal sign: comma or point; digits may be grouped in
   threes, separated by a small space, never by a point or comma) and ISO/IEC 80000 SI prefixes k, M, G.
"""

from __future__ import annotations

import re
import warnings
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
#: largest share of the non-blank load values that may be unreadable as numbers; above it the data is refused [-].
#: A GridSage choice, not a standard's figure: a few stray cells ('n/a', '#VALUE!') are listed and treated as gaps;
#: more means the column or its number format is wrong (the issue-17 file: 4,940 of 6,216 = 79 % unreadable).
MAX_UNREADABLE_SHARE = 0.05
#: field separators detected and accepted (comma, semicolon, tab, pipe), in the order preferred on a tie
SEPARATORS = (",", ";", "\t", "|")
#: decimal marks accepted
DECIMALS = (".", ",")
#: thousands separators accepted; 'none': the numbers have none. No-break spaces (U+00A0, U+202F) count as ' '
THOUSANDS = (",", ".", " ", "'", "none")
#: leading data rows checked for a second header row (units)
MAX_UNIT_ROWS = 3
#: power units a unit row or a column name may give the load, and their factor to MW [MW per unit]
UNIT_TO_MW = {"W": 1e-6, "kW": 1e-3, "MW": 1.0, "GW": 1e3}
#: characters of a file sampled to detect its field separator
SNIFF_CHARS = 64 * 1024
TIME_NAMES = ("time", "timestamp", "datetime", "date_time", "ds", "time_utc", "settlementdate")
LOAD_NAMES = ("load_mw", "load", "demand_mw", "demand", "system_load", "y", "p_mw", "mw")
TEMP_NAMES = ("temperature_c", "temperature", "temp_c", "temp", "t2m")

IssueKind = Literal["missing_value", "non_numeric", "duplicate_time", "unparsed_time", "irregular_step", "gap",
                    "non_positive", "dst_ambiguous", "dst_nonexistent", "unsorted", "unit_row"]
DateOrder = Literal["year_first", "day_first", "month_first", "not_numeric", "none"]

#: names of the separators in messages, and as the CLI takes them
SEP_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", ".": "dot", " ": "space", "'": "apostrophe"}
#: number formats tried when detecting: (decimal mark, thousands separator), preferred first on a tie
_FORMATS = ((".", None), (",", None), (".", ","), (",", "."), (".", " "), (",", " "), (".", "'"), (",", "'"))
_BLANKS = ("", "NA", "NaN", "nan", "null", "None")
#: a numeric calendar date with two leading fields: dd/mm/yyyy or mm/dd/yyyy (also with '.' or '-')
_NUMERIC_DATE = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})(?!\d)"
_YEAR_FIRST = r"^\s*\d{4}[/.\-]\d{1,2}[/.\-]\d{1,2}"
_UNIT_CELL = re.compile(r"^[\[(]?\s*([kKmMgG]?)[wW]\s*[\])]?$")
_UNIT_IN_NAME = re.compile(r"(?:[\[(]\s*([kKmMgG]?)[wW]\s*[\])]|[_\s]([kKmMgG]?)[wW])\s*$")


def _unit(prefix: str) -> str:
    """'k' -> 'kW', 'm' or 'M' -> 'MW' (a lower-case m means mega in load files, never milli), 'G' -> 'GW', '' -> 'W'."""
    return {"": "W", "k": "kW", "m": "MW", "g": "GW"}[prefix.lower()]


def _cli(option: str, value: str | bool | None) -> str:
    """An option as the CLI takes it, with its Python/MCP spelling: ``--decimal , (decimal=',')``."""
    if option == "dayfirst":
        return "--dayfirst (dayfirst=True)" if value else "--monthfirst (dayfirst=False)"
    if value is None:
        shown = "none"
    elif option == "sep" or value in ("\t", " ", "'", "|"):
        shown = SEP_NAMES[value]
    else:
        shown = value
    python = "'none'" if value is None else repr(value)
    return f"--{option} {shown} ({option}={python})"


class QualityIssue(BaseModel):
    """One kind of problem found in the input, how often, where, and what was done about it."""

    kind: IssueKind
    column: str = Field(description="Column the issue is in.")
    count: int = Field(description="Rows (or missing steps, for 'gap') affected.")
    examples: list[str] = Field(default_factory=list, description=f"Up to {EXAMPLES} examples: row number or time.")
    handling: str = Field(description="What GridSage did: e.g. 'treated as missing', 'averaged'.")


class CsvFormat(BaseModel):
    """How the text was read: field separator, number format, date order and load unit, each detected or given."""

    sep: str | None = Field(None, description="Field separator: ',', ';', '\\t' or '|' (None: not read from a file).")
    decimal: str = Field(".", description="Decimal mark of the numbers: '.' or ','.")
    thousands: str | None = Field(None, description="Thousands separator removed from the numbers (None: they had none).")
    date_order: DateOrder = Field("none", description="year_first (ISO 8601, never ambiguous), day_first (31/01/2024), "
                                                      "month_first (01/31/2024), not_numeric (e.g. month names) or none.")
    detected: list[str] = Field(default_factory=list,
                                description="Settings detected from the data (e.g. 'sep', 'decimal', 'date_order'); "
                                            "the others were given or did not apply.")
    load_unit: str = Field("MW", description="Unit of the load as the file gives it (column name or unit row; MW when none).")
    load_scale: float = Field(1.0, description="Factor applied to the load values to get MW [MW per unit].")
    unit_rows: list[int] = Field(default_factory=list, description="File rows skipped as unit rows (the header is row 1).")

    def summary(self) -> str:
        """One line: ``read as: sep ';' (detected), decimal ',' (detected), thousands '.', dates day_first, load MW``."""
        def tag(name: str) -> str:
            return " (detected)" if name in self.detected else ""

        parts = ([f"sep {self.sep!r}{tag('sep')}"] if self.sep else []) + [
            f"decimal {self.decimal!r}{tag('decimal')}",
            f"thousands {self.thousands!r}{tag('thousands')}" if self.thousands else f"no thousands separator{tag('thousands')}",
            f"dates {self.date_order}{tag('date_order')}",
            f"load in {self.load_unit}" + (f" x {self.load_scale:g} -> MW" if self.load_scale != 1 else "")]
        return "read as: " + ", ".join(parts)


class DataQualityReport(BaseModel):
    """What was read, how it was read, what was used, and every problem found on the way."""

    rows_read: int
    points_used: int = Field(description="Load values on the regular time grid that models may learn from.")
    step_minutes: float = Field(description="Regular time step inferred from the data [min].")
    start_utc: datetime
    end_utc: datetime = Field(description="Last load value (the forecast origin) [UTC].")
    time_zone: str = Field(description="Zone of the calendar features (and of naive timestamps).")
    missing_steps: int = Field(description="Steps on the regular grid with no usable load value.")
    covariates: list[str] = Field(default_factory=list, description="Covariate columns used, e.g. temperature_c.")
    covariate_steps_ahead: int = Field(0, description="Steps after the last load value that carry covariates (a forecast).")
    reading: CsvFormat | None = Field(None, description="Separator, number format, date order and unit used to read the data.")
    issues: list[QualityIssue] = Field(default_factory=list)

    def summary(self) -> str:
        """The reading, then one line per issue, for text reports."""
        lines = [self.reading.summary()] if self.reading else []
        lines += [f"{i.kind} in {i.column}: {i.count} ({i.handling}); e.g. {', '.join(i.examples)}"
                  for i in self.issues] or ["no issues found"]
        return "\n".join(lines)


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


def _number_pattern(decimal: str, thousands: str | None) -> str:
    """Regular expression of a number written with ``decimal`` and optional ``thousands`` groups of three digits."""
    mark = re.escape(decimal)
    # digit groups: a first group of 1-3 digits not starting with 0, then groups of exactly 3
    whole = r"\d+" if thousands is None else rf"(?:[1-9]\d{{0,2}}(?:{re.escape(thousands)}\d{{3}})+|\d+)"
    return rf"^[+-]?(?:{whole}(?:{mark}\d*)?|{mark}\d+)(?:[eE][+-]?\d+)?$"


def _as_numbers(text, decimal: str, thousands: str | None):
    """Numbers from stripped text (a pandas Series of str) in one format; NaN where the text is not such a number."""
    import pandas as pd

    if (decimal, thousands) == (".", None):  # plain numbers: pandas' own parser (it accepts just these, and inf)
        return pd.to_numeric(text, errors="coerce").astype(float)
    ok = text.str.match(_number_pattern(decimal, thousands)).fillna(False).astype(bool)
    clean = text[ok]
    if thousands is not None:
        clean = clean.str.replace(thousands, "", regex=False)
    if decimal != ".":
        clean = clean.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(clean, errors="coerce").astype(float).reindex(text.index)


def _cells(raw):
    """A column split into numbers given as numbers (records, typed frames) and text (stripped; no-break spaces as
    ' '); each is NaN / NA where the other holds the cell."""
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.astype(float), pd.Series(pd.NA, index=raw.index, dtype="string")
    if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"):  # a CSV's cells: text only
        text = raw.astype("string")
        if text.str.contains("[\u00a0\u202f]", regex=True, na=False).any():
            text = text.str.replace("[\u00a0\u202f]", " ", regex=True)
        return pd.Series(np.nan, index=raw.index), text.str.strip()
    native = raw.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))
                     and not isinstance(v, (bool, np.bool_))).astype(bool)
    numbers = pd.Series(np.nan, index=raw.index)
    if native.any():
        numbers[native] = raw[native].astype(float)
    text = raw.where(~native).astype("string").str.replace("[\u00a0\u202f]", " ", regex=True).str.strip()
    text[native] = pd.NA
    return numbers, text


def _blank(text):
    return (text.isna() | text.isin(_BLANKS)).fillna(True).astype(bool)


def _number_format(text, decimal: str | None, thousands: str | None) -> tuple[str, str | None, list[str]]:
    """The number format of the text cells: (decimal mark, thousands separator or None, names detected).

    Detected as the format (:data:`_FORMATS`, restricted to the given parts) that reads the most cells; refused
    when two formats that read as many read some cell as different numbers.
    """
    import pandas as pd

    given_th = thousands is not None
    th = None if thousands in (None, "none") else thousands
    if decimal is not None and given_th:
        if th == decimal:
            raise InputError(f"decimal and thousands are both {decimal!r}", field="thousands",
                             fix="give different marks, e.g. --decimal , --thousands . (decimal=',', thousands='.').")
        return decimal, th, []
    detected = [name for name, value in (("decimal", decimal), ("thousands", thousands)) if value is None]
    formats = [(d, t) for d, t in _FORMATS if (decimal is None or d == decimal) and (not given_th or t == th)]
    if not formats:  # thousands given, decimal detected: the other mark
        formats = [("," if th == "." else ".", th)]
    text = text[~_blank(text)].astype(str)
    if text.empty or len(formats) == 1:
        return (*formats[0], detected)
    if formats[0] == (".", None) and text.str.fullmatch(r"[+-]?\d*\.?\d*(?:[eE][+-]?\d+)?").all() and not \
            text.str.fullmatch(r"[+-]?[1-9]\d{0,2}\.\d{3}").any():  # plain numbers, none that could be 1.234 (1234)
        return ".", None, detected
    # one representative per shape (digits as 9: '9.999,9'), weighted by how many cells have that shape
    shapes = text.str.replace(r"\d", "9", regex=True)
    counts = shapes.value_counts()
    unique = pd.Series(text.groupby(shapes.to_numpy()).first().reindex(counts.index).to_numpy())
    weights = counts.to_numpy()
    readings = [(f, _as_numbers(unique, *f)) for f in formats]
    scores = [int(weights[v.notna().to_numpy()].sum()) for _, v in readings]
    top = [r for r, s in zip(readings, scores) if s == max(scores)]
    (d0, t0), first = top[0]
    for (d1, t1), other in top[1:]:
        differ = (first.notna() & other.notna() & (first != other)).to_numpy()
        if differ.any():
            shape = counts.index[differ.argmax()]  # the shape of a value, never the value
            raise InputError(
                f"the numbers can be read two ways: {int(weights[differ].sum())} value(s) shaped like {shape!r} are "
                f"one number with decimal {d0!r} and thousands {t0 or 'none'!r}, another with decimal {d1!r} and "
                f"thousands {t1 or 'none'!r}, and no value in the data tells which", field="decimal",
                fix=f"say which: {_cli('decimal', d0)} {_cli('thousands', t0)}, or {_cli('decimal', d1)} "
                    f"{_cli('thousands', t1)}.")
    return d0, t0, detected


def _parse_numbers(raw, decimal: str, thousands: str | None, cells=None):
    """(values, blank mask, unreadable mask, cells as text) of a column in one number format (``cells``: its
    :func:`_cells`, when known)."""
    import numpy as np

    numbers, text = cells or _cells(raw)
    blank = _blank(text) & numbers.isna()
    values = numbers.copy()
    written = text.notna().to_numpy() & ~blank.to_numpy()
    if written.any():
        values[written] = _as_numbers(text[written].astype(str), decimal, thousands)
    bad = (values.isna() & ~blank) | np.isinf(values)
    values[bad] = np.nan
    return values, blank, bad, text.fillna(numbers.astype(str))


def _numeric(raw, column: str, issues: list[QualityIssue], rows, decimal: str, thousands: str | None, ahead=None,
             scale: float = 1.0, parsed=None, cells=None):
    """Numbers from a column in the given number format; blanks are missing, anything else unreadable is
    non-numeric (both listed, both NaN).  Returns the values (times ``scale``) and the mask of non-numeric cells.

    Blanks in ``ahead`` rows (covariate-only rows after the last load value) are expected, not listed.
    """
    values, blank, bad, shown = parsed or _parse_numbers(raw, decimal, thousands, cells)
    if ahead is not None:
        blank &= ~ahead
    for mask, kind, handling in ((blank, "missing_value", "treated as missing"),
                                 (bad, "non_numeric", "treated as missing")):
        if mask.any():
            examples = [f"row {r}: {t!r}" if kind == "non_numeric" else f"row {r}"
                        for r, t in zip(rows[mask][:EXAMPLES], shown[mask][:EXAMPLES])]
            issues.append(QualityIssue(kind=kind, column=column, count=int(mask.sum()), examples=examples,
                                       handling=handling))
    return values * scale, bad


def _refuse_unreadable(raw, column: str, bad: int, rows_bad: list, decimal: str, thousands: str | None) -> None:
    """Refuse a load column with more than :data:`MAX_UNREADABLE_SHARE` of its non-blank values unreadable, with the
    number format that reads them when there is one."""
    numbers, text = _cells(raw)
    written = int((~(_blank(text) & numbers.isna())).sum())
    if not written or bad / written <= MAX_UNREADABLE_SHARE:
        return
    fix = (f"check that --load-col names the load column [MW]; correct or blank the values that are not numbers "
           f"(e.g. rows {', '.join(map(str, rows_bad[:EXAMPLES]))}).")
    try:
        d, t, _ = _number_format(text, None, None)
    except InputError as exc:  # two formats read them: name both
        fix = exc.fix
    else:
        readable = int(_as_numbers(text[~_blank(text)].astype(str), d, t).notna().sum() + numbers.notna().sum())
        if (d, t) != (decimal, thousands) and 1 - readable / written <= MAX_UNREADABLE_SHARE:
            fix = f"pass {_cli('decimal', d)} {_cli('thousands', t)}: that format reads {readable} of them."
    raise InputError(f"{bad} of {written} values in load column {column!r} ({bad / written:.0%}) are not numbers "
                     f"with decimal {decimal!r} and thousands {thousands or 'none'!r}; at most "
                     f"{MAX_UNREADABLE_SHARE:.0%} may be unreadable", field="load_col", fix=fix)


def _date_order(text, dayfirst: bool | None, column: str) -> tuple[str, bool, bool]:
    """(date order, dayfirst to parse with, detected?) of the time text.

    A numeric date ``a/b/yyyy`` with a > 12 proves day first, with b > 12 month first; with neither anywhere the
    order is ambiguous and refused unless ``dayfirst`` says it.  Year-first (ISO 8601) dates need nothing.
    """
    import pandas as pd

    text = text.dropna()
    if text.empty:
        return "none", False, False
    text = pd.Series(text.str.replace(r"[T\s].*$", "", regex=True).unique())  # each date once, not once per time
    parts = text.str.extract(_NUMERIC_DATE)
    numeric = parts[0].notna()
    if not numeric.any():
        return ("year_first" if text.str.match(_YEAR_FIRST).any() else "not_numeric"), False, dayfirst is None
    first, second = parts[0][numeric].astype(int), parts[1][numeric].astype(int)
    day_first, month_first, n = int((first > 12).sum()), int((second > 12).sum()), int(numeric.sum())
    if dayfirst is not None:
        against = month_first if dayfirst else day_first
        if against:
            raise InputError(
                f"dayfirst={dayfirst} is set, but {against} of {n} distinct dates in column {column!r} have their "
                f"{'second' if dayfirst else 'first'} field above 12, so they are "
                f"{'month' if dayfirst else 'day'} first", field="dayfirst",
                fix=f"pass {_cli('dayfirst', not dayfirst)}, or leave both out to detect the order.")
        return ("day_first" if dayfirst else "month_first"), dayfirst, False
    if day_first and month_first:
        raise InputError(f"column {column!r} mixes date orders: {day_first} of {n} distinct dates have their first "
                         f"field above 12 (day first), {month_first} their second (month first)", field="time_col",
                         fix="re-export the times in one order, best ISO 8601 (2024-01-31 13:00).")
    if day_first or month_first:
        return ("day_first" if day_first else "month_first"), bool(day_first), True
    raise InputError(f"the date order of column {column!r} is ambiguous: in all {n} distinct dates both leading "
                     "fields are 12 or less, so 01/02/2024 may be 1 February or January 2", field="dayfirst",
                     fix=f"say which: {_cli('dayfirst', True)} if the day comes first (dd/mm/yyyy), or "
                         f"{_cli('dayfirst', False)} if the month does (mm/dd/yyyy).")


def _to_datetime(text, dayfirst: bool, utc: bool = False, iso: bool = False):
    """Timestamps from text: one inferred format (fast, strict), then element by element for the rest; NaT if none."""
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = pd.to_datetime(text, errors="coerce", utc=utc, **({"format": "ISO8601"} if iso else
                                                                     {"dayfirst": dayfirst}))
        except (ValueError, TypeError, OverflowError):
            out = pd.to_datetime(pd.Series(pd.NaT, index=text.index), utc=utc)
        left = out.isna() & text.notna()
        if left.any():
            out[left] = pd.to_datetime(text[left], errors="coerce", utc=utc, format="mixed", dayfirst=dayfirst)
    return out


def _times(text, column: str, tz: str | None, issues: list[QualityIssue], rows, dayfirst: bool = False):
    """UTC timestamps from stripped text (offset-aware, or naive local in ``tz``); NaT where unusable (listed)."""
    import pandas as pd

    aware = text.str.contains(r"[T\s]\d{1,2}(?::\d\d){0,2}(?:\.\d+)?\s*(?:Z|[+-]\d\d:?\d\d)$", regex=True,
                              na=False).astype(bool)
    times = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    if aware.any():
        times[aware] = _to_datetime(text[aware], dayfirst, utc=True, iso=True)
    naive = ~aware & text.notna()
    dst_lost = pd.Series(False, index=text.index)
    if naive.any():
        local = _to_datetime(text[naive], dayfirst)
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


def _cell(frame, label, column) -> str:
    value = frame.at[label, column]
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()


_UNIT_LIKE = re.compile(r"^(?:\[.*\]|\(.*\)|[kKmMgG]?(?:W|w|Wh|VA|var|A)|°\s?[CFK]|deg\s?[CF]|[CFK]|%|UTC|utc|local)$")


def _units(frame, time_col: str, load_col: str, issues: list[QualityIssue], rows) -> tuple[list, str, float]:
    """Unit rows under the header (skipped, listed) and the load unit: (row labels, unit, factor to MW).

    A unit row is one of the first :data:`MAX_UNIT_ROWS` rows whose time cell holds no date, whose load cell holds
    no digit, and with a cell like a unit (``MW``, ``[kW]``, ``°C``, ``UTC``).
    """
    skipped, row_units = [], []
    for label in frame.index[:MAX_UNIT_ROWS]:
        when, load = _cell(frame, label, time_col), _cell(frame, label, load_col)
        cells = [_cell(frame, label, c) for c in frame.columns]
        if re.search(r"\d{1,4}[/.\-]\d{1,2}", when) or re.search(r"\d", load) or not any(
                _UNIT_LIKE.match(c) for c in cells):
            break
        skipped.append(label)
        if load:
            found = _UNIT_CELL.match(load)
            if not found:
                raise InputError(f"the unit row (row {rows[label]}) gives load column {load_col!r} a unit that is not "
                                 f"a power unit GridSage converts ({', '.join(UNIT_TO_MW)})", field="load_col",
                                 fix="convert the load column to MW (or W, kW, GW) and say so in the unit row, or "
                                     "delete the unit row if the values are in MW.")
            row_units.append(_unit(found[1]))
    named = _UNIT_IN_NAME.search(load_col)
    name_unit = _unit(named[1] if named[1] is not None else named[2]) if named else None
    units = set(row_units) | ({name_unit} if name_unit else set())
    if len(units) > 1:
        raise InputError(f"the load column's name and its unit row give different units ({', '.join(sorted(units))})",
                         field="load_col", fix="correct the header or the unit row so both give the values' unit.")
    unit = units.pop() if units else "MW"
    scale = UNIT_TO_MW[unit]
    if skipped:
        converted = f": converted to MW (x {scale:g})" if scale != 1 else ""
        what = (f"load in {unit}{converted}" if row_units else
                f"no load unit in it; the column name says {unit}{converted}" if name_unit else
                "no load unit in it: MW assumed")
        issues.append(QualityIssue(kind="unit_row", column=load_col, count=len(skipped),
                                   examples=[f"row {rows[label]}" for label in skipped[:EXAMPLES]],
                                   handling=f"skipped as a unit row; {what}"))
    return skipped, unit, scale


def load_series_from_frame(frame, time_col: str | None = None, load_col: str | None = None,
                           temp_col: str | None = None, tz: str | None = None,
                           covariate_cols: tuple[str, ...] = (), *, decimal: str | None = None,
                           thousands: str | None = None, dayfirst: bool | None = None) -> LoadSeries:
    """Validate a table of timestamps and load values into a :class:`LoadSeries`.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per time; any column types (text is read in the number format and date order below, numbers are
        taken as they are).
    time_col, load_col, temp_col : str, optional
        Column names; default: guessed from common names (``time``, ``load_mw``,
        ``demand``, ``temperature``, ...).  Load in [MW] (or in the unit its name or a unit row gives:
        :data:`UNIT_TO_MW`), temperature in [°C].
    tz : str, optional
        IANA time zone of the site, e.g. ``'Australia/Melbourne'``; naive
        timestamps are local time there.  Default UTC.
    covariate_cols : tuple of str
        Further numeric covariates to use as features (must be known for the horizon too).
    decimal : {'.', ','}, optional
        Decimal mark of numbers written as text.  Default: detected (see :func:`_number_format`).
    thousands : {',', '.', ' ', "'", 'none'}, optional
        Thousands separator of numbers written as text ('none': they have none).  Default: detected.
    dayfirst : bool, optional
        True: ``01/02/2024`` is 1 February (dd/mm/yyyy); False: January 2 (mm/dd/yyyy).  Default: detected from
        the dates (a leading field above 12 proves the order); year-first dates ignore it.

    Returns
    -------
    LoadSeries
        With the :class:`DataQualityReport`, whose ``reading`` says how the text was read.

    Raises
    ------
    InputError
        If a column is missing, ``tz`` is unknown, the date order or the number format is ambiguous or
        contradicts ``dayfirst``, more than :data:`MAX_UNREADABLE_SHARE` of the non-blank load values are not
        numbers, a unit row names a unit that is not a power unit, the time step cannot be inferred or is
        irregular beyond use, or fewer than :data:`MIN_HISTORY_DAYS` days of load remain.  The fix names the
        option that resolves it (``--dayfirst``/``--monthfirst``, ``--decimal``, ``--thousands``, ...).

    Notes
    -----
    The load in MW is :math:`P_{MW} = k \\cdot P_{file}` with :math:`k` from :data:`UNIT_TO_MW` (kW: 10^-3).
    The unreadable share is (non-numeric load cells) / (non-blank load cells), refused above
    :data:`MAX_UNREADABLE_SHARE`.

    References
    ----------
    See the module's references: ISO 8601-1 (dates), IEC 80000-1 clause 7.3.2 (decimal sign, digit groups),
    SI prefixes (units).
    """
    import numpy as np
    import pandas as pd

    if tz:
        try:
            pd.Timestamp("2020-01-01").tz_localize(tz)
        except Exception:
            raise InputError(f"unknown time zone {tz!r}", field="tz",
                             fix="use an IANA zone name such as 'Europe/Paris' or 'Australia/Melbourne'.") from None
    if decimal is not None and decimal not in DECIMALS:
        raise InputError(f"unknown decimal mark {decimal!r}", field="decimal", fix="use '.' or ','.")
    if thousands is not None and thousands not in THOUSANDS:
        raise InputError(f"unknown thousands separator {thousands!r}", field="thousands",
                         fix="use ',', '.', ' ', \"'\" or 'none'.")
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    time_col = _pick(columns, time_col, TIME_NAMES, "time_col")
    load_col = _pick(columns, load_col, LOAD_NAMES, "load_col")
    temp_col = _pick(columns, temp_col, TEMP_NAMES, "temp_col", required=False)
    for col in covariate_cols:
        _pick(columns, col, (), "covariate_cols")
    issues: list[QualityIssue] = []
    rows_read = len(frame)
    # file row numbers (header is row 1) from a CSV's own index, else positions
    numbered = pd.api.types.is_integer_dtype(frame.index)
    rows = pd.Series((frame.index if numbered else np.arange(len(frame))) + 2, index=frame.index)
    unit_rows, load_unit, scale = _units(frame, time_col, load_col, issues, rows)
    unit_row_numbers = [int(rows[label]) for label in unit_rows]
    if unit_rows:
        frame, rows = frame.drop(index=unit_rows), rows.drop(index=unit_rows)
    # how the text is written: one number format for all numeric columns, the date order of the time column
    value_cols = list(dict.fromkeys([load_col] + ([temp_col] if temp_col else []) + list(covariate_cols)))
    cells = {c: _cells(frame[c]) for c in value_cols}
    text = pd.concat([cells[c][1] for c in value_cols], ignore_index=True)
    decimal, thousands, detected = _number_format(text, decimal, thousands)
    time_text = frame[time_col].astype("string").str.strip()
    time_text = time_text.where(~_blank(time_text))
    order, first_is_day, order_detected = _date_order(time_text, dayfirst, time_col)
    detected += ["date_order"] if order_detected else []
    times = _times(time_text, time_col, tz, issues, rows, first_is_day)
    parsed = _parse_numbers(frame[load_col], decimal, thousands, cells[load_col])
    ahead = times > times[parsed[0].notna()].max()  # covariate-only rows: a weather forecast
    load, bad = _numeric(frame[load_col], load_col, issues, rows, decimal, thousands, ahead, scale, parsed)
    if bad.any():
        _refuse_unreadable(frame[load_col], load_col, int(bad.sum()), [int(r) for r in rows[bad]], decimal, thousands)
    covs = {"temperature_c" if c == temp_col else c: _numeric(frame[c], c, issues, rows, decimal, thousands,
                                                              cells=cells[c])[0]
            for c in ([temp_col] if temp_col else []) + list(covariate_cols)}
    reading = CsvFormat(decimal=decimal, thousands=thousands, date_order=order, detected=detected,
                        load_unit=load_unit, load_scale=scale, unit_rows=unit_row_numbers)
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
    report = DataQualityReport(rows_read=rows_read, points_used=int((~missing).sum()), step_minutes=minutes,
                               start_utc=load_mw.index[0].to_pydatetime(), end_utc=load_mw.index[-1].to_pydatetime(),
                               time_zone=tz or "UTC", missing_steps=int(missing.sum()),
                               covariates=list(covariates.columns), covariate_steps_ahead=ahead, reading=reading,
                               issues=issues)
    return LoadSeries(load_mw=load_mw, covariates=covariates, tz=tz or "UTC", quality=report)



def _sniff(path: Path) -> str:
    """The field separator of a CSV file among :data:`SEPARATORS`, from its first :data:`SNIFF_CHARS` characters.

    Separators that split every sampled line (read by :func:`csv.reader`, so quoted fields count as one) into the
    same number (> 1) of fields are candidates; of several, tab, then ';', then '|' win over ',' (a comma inside
    fields is usually a decimal comma).  With none, :class:`csv.Sniffer` decides, checked against the header row;
    ',' when the header holds no separator at all (a one-column file).
    """
    import csv

    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        sample = handle.read(SNIFF_CHARS)
    lines = [line for line in sample.splitlines() if line.strip()]
    if not lines:
        return ","
    if len(sample) == SNIFF_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    header = lines[0]
    consistent = []
    for sep in SEPARATORS:
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=sep)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() > 1:
            consistent.append(sep)
    for sep in ("\t", ";", "|", ","):
        if sep in consistent:
            return sep
    try:
        found = csv.Sniffer().sniff("\n".join(lines), delimiters="".join(SEPARATORS)).delimiter
    except csv.Error:
        found = None
    if found is None or found not in header:
        counts = {sep: header.count(sep) for sep in SEPARATORS}
        found = max(SEPARATORS, key=counts.get) if max(counts.values()) else ","
    return found


def read_load_csv(path: str | Path, time_col: str | None = None, load_col: str | None = None,
                  temp_col: str | None = None, tz: str | None = None, series_col: str | None = None,
                  series: str | None = None, covariate_cols: tuple[str, ...] = (), *, sep: str | None = None,
                  decimal: str | None = None, thousands: str | None = None,
                  dayfirst: bool | None = None) -> LoadSeries:
    """Read a CSV file of load (and optionally temperature) into a :class:`LoadSeries`.

    Parameters
    ----------
    path : str or pathlib.Path
        CSV file (UTF-8, with or without a byte-order mark) with a header row, optionally a unit row under it.
    time_col, load_col, temp_col, tz, covariate_cols
        As for :func:`load_series_from_frame`.
    series_col, series : str, optional
        For long files holding several series (e.g. ``unique_id`` = ``FR``,
        ``BE``): keep the rows where ``series_col`` equals ``series``.
    sep : {',', ';', '\\t', '|'}, optional
        Field separator.  Default: detected (:func:`_sniff`).
    decimal, thousands, dayfirst
        As for :func:`load_series_from_frame` (default: detected).

    Returns
    -------
    LoadSeries
        Its ``quality.reading`` gives the separator, number format, date order and unit used, and which were
        detected.

    Raises
    ------
    InputError
        If the file is missing, too large or not CSV, a row has more fields than the header (e.g. thousands
        separators equal to the field separator, unquoted), the header is one field holding another separator
        than ``sep``, or as for :func:`load_series_from_frame`.

    References
    ----------
    .. [1] RFC 4180 (2005), clause 2 items 4-6: fields holding the separator are quoted.
    """
    import pandas as pd

    path = readable_file(path, "csv_path", suffixes=CSV_SUFFIXES)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(f"{path.name} is {size / 2**20:.0f} MB; the bound is {MAX_FILE_BYTES // 2**20} MB",
                         field="csv_path", fix="cut the file to the history you need (a few years at most).")
    if sep is not None and sep not in SEPARATORS:
        raise InputError(f"unknown field separator {sep!r}", field="sep",
                         fix="use one of ',', ';', '\\t' (tab) or '|': --sep comma, semicolon, tab or pipe.")
    detected = [] if sep else ["sep"]
    sep = sep or _sniff(path)
    try:
        with warnings.catch_warnings():  # a row longer than the header: an error, never silently cut
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, index_col=False,
                                encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name} is empty", field="csv_path", fix="give a CSV file with a header row.") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise InputError(f"{path.name} is not readable as CSV with field separator {SEP_NAMES[sep]} "
                         f"({parse_problem(exc)})", field="csv_path",
                         fix=f"if the numbers have thousands separators equal to the field separator (1,234.5 in a "
                             f"comma-separated file), save the file with those values quoted (\"1,234.5\"), or "
                             f"without thousands separators, or with {SEP_NAMES[';']}s between fields; otherwise "
                             f"give every row as many fields as the header.") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path.name} is not readable as CSV ({parse_problem(exc)})", field="csv_path",
                         fix="save the data as UTF-8 text with a header row.") from None
    if len(frame.columns) == 1:
        others = [s for s in SEPARATORS if s != sep and s in str(frame.columns[0])]
        if others:
            raise InputError(f"the header row is one field with field separator {SEP_NAMES[sep]}, and it holds "
                             f"{SEP_NAMES[others[0]]}s", field="sep",
                             fix=f"pass {_cli('sep', others[0])}" + (", or leave --sep out to detect it."
                                                                     if "sep" not in detected else "."))
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
    loaded = load_series_from_frame(frame, time_col, load_col, temp_col, tz, covariate_cols, decimal=decimal,
                                    thousands=thousands, dayfirst=dayfirst)
    loaded.quality.reading.sep = sep
    loaded.quality.reading.detected[:0] = detected
    return loaded
