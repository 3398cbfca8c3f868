"""Telemetry readings: a typed reading, and vectorised ingestion of CSV, JSON-lines or DataFrame batches.

A reading is one value of one sensor of one device at one time (long format).
:func:`read_telemetry` validates a whole batch with pandas/numpy column
operations (no Python loop per row) and never drops a row silently: each row
is either accepted, converted to the canonical unit of its sensor type, or
listed in ``rejected`` with its row number, the field at fault and why.  The
tool :func:`ingest_telemetry` reports the counts, the streams and the first
rejected rows.

Columns (names matched case-insensitively, others ignored and listed):
``device_id``, ``sensor_type``, ``value``, ``unit``, ``timestamp`` and,
optionally, ``quality`` (``good``, ``suspect`` or ``bad``; blank is ``good``).

Canonical units (:data:`UNITS`; units are matched case-insensitively, so 'mW' reads as MW):

- voltage: V, kV -> V; pu, p.u. -> pu (kept as given: a value is in V or in pu, as its ``unit`` says)
- voltage_angle (PMU phase angle, IEEE C37.118.1): deg, degree, ° -> deg; rad -> deg (x 180/pi); -360 to 360 deg
- current: A, kA -> A
- frequency: Hz
- active_power: W, kW, MW -> MW; reactive_power: var, kvar, Mvar -> Mvar
- power_factor: '-' (signed, -1 to 1)
- temperature, top_oil_temperature, hot_spot_temperature: °C, degC, C -> °C
- loading, voltage_unbalance, current_unbalance: %
- gas_ppm: ppm

Time: ISO 8601 text with a UTC offset (``Z``, ``+01:00``) or timezone-aware
datetimes, held in UTC.  A naive time is rejected unless ``tz`` names the
IANA zone it is local to (a DST-ambiguous or nonexistent local time is then
rejected).  Within a stream (``device_id``, ``sensor_type``) times must
increase in input order: a reading earlier than, or at the same time as, an
earlier reading of its stream is rejected (other streams may interleave freely).

References
----------
.. [1] ISO 8601-1:2019, "Date and time - Representations for information
   interchange", clause 5.3.4 (time shift from UTC).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from gridsage.errors import InputError, RequestTooLargeError
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.paths import parse_problem, readable_file

#: most rows read in one batch (file, DataFrame or list)
MAX_ROWS = 5_000_000
#: suffixes of a readings file
READINGS_SUFFIXES = (".csv", ".txt", ".jsonl", ".ndjson", ".json")
#: most streams listed by :func:`ingest_telemetry` (all are counted)
MAX_STREAMS = 500

SensorType = Literal["voltage", "voltage_angle", "current", "frequency", "active_power", "reactive_power", "power_factor",
                     "temperature", "top_oil_temperature", "hot_spot_temperature", "loading",
                     "voltage_unbalance", "current_unbalance", "gas_ppm"]
Quality = Literal["good", "suspect", "bad"]
SENSOR_TYPES: tuple[str, ...] = get_args(SensorType)
QUALITIES: tuple[str, ...] = get_args(Quality)
COLUMNS = ("device_id", "sensor_type", "value", "unit", "timestamp", "quality")

_TEMP = {"°c": ("°C", 1.0), "degc": ("°C", 1.0), "c": ("°C", 1.0)}
_PERCENT = {"%": ("%", 1.0)}
#: accepted unit spellings (lower case) of each sensor type -> (canonical unit, factor to it)
UNITS: dict[str, dict[str, tuple[str, float]]] = {
    "voltage": {"v": ("V", 1.0), "kv": ("V", 1e3), "pu": ("pu", 1.0), "p.u.": ("pu", 1.0)},
    "voltage_angle": {"deg": ("deg", 1.0), "degree": ("deg", 1.0), "°": ("deg", 1.0), "rad": ("deg", 180.0 / math.pi)},
    "current": {"a": ("A", 1.0), "ka": ("A", 1e3)},
    "frequency": {"hz": ("Hz", 1.0)},
    "active_power": {"w": ("MW", 1e-6), "kw": ("MW", 1e-3), "mw": ("MW", 1.0)},
    "reactive_power": {"var": ("Mvar", 1e-6), "kvar": ("Mvar", 1e-3), "mvar": ("Mvar", 1.0)},
    "power_factor": {"-": ("-", 1.0)},
    "temperature": _TEMP, "top_oil_temperature": _TEMP, "hot_spot_temperature": _TEMP,
    "loading": _PERCENT, "voltage_unbalance": _PERCENT, "current_unbalance": _PERCENT,
    "gas_ppm": {"ppm": ("ppm", 1.0)},
}
CANONICAL_UNITS: tuple[str, ...] = tuple(dict.fromkeys(c for units in UNITS.values() for c, _ in units.values()))
_INF = float("inf")
#: physically possible range of each sensor type, in its canonical unit (bounds included)
RANGES: dict[str, tuple[float, float]] = {
    **{s: (0.0, _INF) for s in SENSOR_TYPES},
    "active_power": (-_INF, _INF), "reactive_power": (-_INF, _INF), "power_factor": (-1.0, 1.0),
    "voltage_angle": (-360.0, 360.0),
    **{s: (-273.15, _INF) for s in ("temperature", "top_oil_temperature", "hot_spot_temperature")},
}


def canonical_unit(sensor_type: str, unit: str) -> tuple[str, float]:
    """The canonical unit of a reading and the factor from ``unit`` to it.

    Raises
    ------
    ValueError
        If ``unit`` is not a unit of ``sensor_type`` (:data:`UNITS`).
    """
    found = UNITS[sensor_type].get(unit.strip().lower())
    if found is None:
        raise ValueError(f"unit {unit!r} is not a unit of {sensor_type} (use {_unit_list(sensor_type)})")
    return found


def _unit_list(sensor_type: str) -> str:
    return ", ".join(dict.fromkeys(c for c, _ in UNITS[sensor_type].values()))


class TelemetryReading(BaseModel):
    """One reading of one sensor of one device.

    A naive ``timestamp`` is rejected unless validated with
    ``context={'tz': '<IANA zone>'}``; every timestamp is held in UTC.
    """

    model_config = ConfigDict(extra="forbid")

    device_id: str = Field(min_length=1, description="Device (meter, transformer, feeder) id, e.g. 'T1'.")
    sensor_type: SensorType = Field(description="Quantity measured.")
    value: float = Field(allow_inf_nan=False, description="Measured value [unit].")
    unit: str = Field(description="Unit of value, one of the sensor type's units (e.g. V, kV or pu for voltage).")
    timestamp: datetime = Field(description="Time of the reading, ISO 8601 with a UTC offset, e.g. 2024-05-01T12:00:00Z.")
    quality: Quality = Field(default="good", description="Data quality flag of the source.")

    @field_validator("timestamp")
    @classmethod
    def _utc(cls, ts: datetime, info: ValidationInfo) -> datetime:
        if ts.tzinfo is None or ts.utcoffset() is None:
            tz = (info.context or {}).get("tz")
            if not tz:
                raise ValueError("timestamp has no UTC offset; give one (e.g. 2024-05-01T12:00:00Z) or a default tz")
            ts = ts.replace(tzinfo=_zone(tz))
        return ts.astimezone(timezone.utc)

    @model_validator(mode="after")
    def _unit_and_range(self) -> TelemetryReading:
        canonical, factor = canonical_unit(self.sensor_type, self.unit)
        low, high = RANGES[self.sensor_type]
        if not low <= self.value * factor <= high:
            raise ValueError(f"value {self.value:g} {self.unit} is outside the physical range of {self.sensor_type} "
                             f"[{low:g}, {high:g}] {canonical}")
        return self


class RejectedRow(BaseModel):
    """One input row that was not accepted, and why."""

    row: int = Field(description="Record number, 1-based, header excluded: CSV file line row + 1, JSON-lines line row, "
                                 "DataFrame position row - 1.")
    field: str = Field(description="Field at fault (the first one, in column order), e.g. 'unit'.")
    reason: str
    raw: dict[str, str | None] = Field(description="The row as read, as text (None where empty).")


class IngestCounts(BaseModel):
    """What one ingestion read, kept and rejected."""

    source: str = Field(description="File name, 'DataFrame' or 'records'.")
    rows_read: int
    accepted: int
    rejected: int
    rejected_by_field: dict[str, int] = Field(default_factory=dict, description="Rejected rows per field at fault.")
    streams: int = Field(description="Accepted (device_id, sensor_type, unit) streams.")


@dataclass
class IngestResult:
    """A validated batch of readings.

    Attributes
    ----------
    accepted : pandas.DataFrame
        Long format, columns exactly :data:`COLUMNS`: ``device_id`` (str),
        ``sensor_type``, ``unit``, ``quality`` (categoricals), ``value``
        (float, in the canonical ``unit``) and ``timestamp``
        (``datetime64[ns, UTC]``); indexed by the record number ``row``, in input order.
    rejected : list of RejectedRow
        Every other row, in input order.
    rows_read : int
    source : str
    ignored_columns : list of str
    """

    accepted: Any
    rejected: list[RejectedRow]
    rows_read: int
    source: str
    ignored_columns: list[str] = dc_field(default_factory=list)

    def counts(self) -> IngestCounts:
        """The counts of this batch."""
        by_field: dict[str, int] = {}
        for r in self.rejected:
            by_field[r.field] = by_field.get(r.field, 0) + 1
        streams = len(self.accepted.groupby(["device_id", "sensor_type", "unit"], observed=True, sort=False).size())
        return IngestCounts(source=self.source, rows_read=self.rows_read, accepted=len(self.accepted),
                            rejected=len(self.rejected), rejected_by_field=by_field, streams=streams)

    def summary(self) -> str:
        """One line: rows read, accepted (in how many streams), rejected by field."""
        c = self.counts()
        why = ", ".join(f"{k}: {v:,}" for k, v in c.rejected_by_field.items())
        ignored = f"; ignored columns: {', '.join(self.ignored_columns)}" if self.ignored_columns else ""
        return (f"{c.rows_read:,} rows read from {c.source}: {c.accepted:,} accepted in {c.streams:,} streams, "
                f"{c.rejected:,} rejected" + (f" ({why})" if why else "") + ignored)


def _zone(tz: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"unknown time zone {tz!r}", field="tz",
                         fix="use an IANA zone name such as 'Europe/Paris', or give UTC offsets in the data.") from None


def _too_many(n: int) -> None:
    if n > MAX_ROWS:
        raise RequestTooLargeError(f"more than {MAX_ROWS:,} rows", field="source",
                                   fix=f"split the data into batches of at most {MAX_ROWS:,} rows.")


def _load(source, fmt: str | None):
    """The raw table (columns renamed to lower case) and the source's name."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        _too_many(len(source))
        return source, "DataFrame"
    if isinstance(source, (list, tuple)):
        _too_many(len(source))
        frame = pd.DataFrame([r.model_dump() for r in source], columns=list(COLUMNS))
        return frame, "records"
    path = readable_file(source, "path", suffixes=READINGS_SUFFIXES)
    fmt = fmt or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv")
    try:
        if fmt == "csv":
            header = [str(c).strip().lower() for c in pd.read_csv(path, nrows=0).columns]
            dtype = {c: "category" if c in ("device_id", "sensor_type", "unit", "quality") else str for c in header}
            with warnings.catch_warnings():  # a row longer than the header: an error, never silently cut
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(path, header=0, names=header, dtype=dtype, keep_default_na=False, index_col=False,
                                    nrows=MAX_ROWS + 1)
        elif fmt == "jsonl":
            frame = pd.read_json(path, lines=True, dtype=False, convert_dates=False, keep_default_dates=False,
                                 precise_float=True, nrows=MAX_ROWS + 1)
        else:
            raise InputError(f"unknown format {fmt!r}", field="fmt", fix="use 'csv' or 'jsonl'.")
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name} is empty", field="path", fix="give a file with a header row and readings.") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning, UnicodeDecodeError, ValueError) as exc:
        if fmt == "jsonl":
            _bad_json_line(path)
        raise InputError(f"{path.name} is not readable as {fmt} ({parse_problem(exc)})", field="path",
                         fix="save one reading per line: CSV with a header row, or one JSON object per line.") from None
    _too_many(len(frame))
    return frame, path.name


def _bad_json_line(path: Path) -> None:
    """Raise an InputError naming the first line of a JSON-lines file that is not a JSON object."""
    import json

    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                try:
                    ok = isinstance(json.loads(line), dict)
                except ValueError:
                    ok = False
                if not ok:  # the line itself is never quoted: the file may be one the caller must not read
                    raise InputError(f"line {number} of {path.name} is not a JSON object", field="path",
                                     fix="write one JSON object per line, e.g. {\"device_id\": \"T1\", ...}.")


def _labels(column):
    """Row codes (-1 where missing) and the stripped text of each code, for a low-cardinality column."""
    import numpy as np
    import pandas as pd

    cat = column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")
    text = cat.cat.categories.astype(str).str.strip().to_numpy(dtype=object)
    codes = cat.cat.codes.to_numpy()
    return np.where(codes >= 0, codes, len(text)), np.append(text, "")  # missing -> the trailing ''


def _lookup(codes, text, table: dict[str, int]):
    """Per row: the index of its stripped, lower-cased text in ``table`` (-1 if absent)."""
    import numpy as np

    per_code = np.array([table.get(t.lower(), -1) for t in text], dtype=np.int64)
    return per_code[codes]


def parse_times(column, tz: str | None):
    """Times of a column as UTC, and a per-row problem code (telemetry readings, outage records).

    Parameters
    ----------
    column : pandas.Series
        ISO 8601 text (with a UTC offset, or naive) or datetimes, length n.
    tz : str, optional
        IANA zone of naive times; without it a naive time is a problem.

    Returns
    -------
    stamps : pandas.DatetimeIndex
        (n,) UTC times, NaT where unusable.
    problem : numpy.ndarray
        (n,) int8: 0 ok, 1 missing, 2 not ISO 8601, 3 naive without ``tz``, 4 nonexistent or ambiguous in ``tz``
        (a DST change).

    References
    ----------
    .. [1] ISO 8601-1:2019, clause 5.3.4 (time shift from UTC).
    """
    import numpy as np
    import pandas as pd

    n = len(column)
    problem = np.zeros(n, dtype=np.int8)
    if pd.api.types.is_datetime64_any_dtype(column):
        stamps = pd.DatetimeIndex(column)
        problem[stamps.isna()] = 1
        if stamps.tz is not None:
            return stamps.tz_convert("UTC"), problem
        if not tz:
            problem[problem == 0] = 3
            return pd.DatetimeIndex(np.full(n, np.datetime64("NaT", "ns")), tz="UTC"), problem
        local = stamps.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        problem[(problem == 0) & local.isna()] = 4
        return local.tz_convert("UTC"), problem
    text = np.strings.strip(column.astype(str).to_numpy(dtype=str))
    problem[column.isna().to_numpy() | (text == "")] = 1
    parse = text.astype(object)  # pandas parses Python strings faster than a numpy unicode array
    aware = (np.strings.endswith(text, "Z") | np.strings.endswith(text, "z") | (np.strings.rfind(text, "+") > 9)
             | (np.strings.rfind(text, "-") > 9))  # an offset: '-' after the date part (YYYY-MM-DD)
    out = np.full(n, np.datetime64("NaT", "ns"))
    if aware.any():  # aware and naive apart: pandas' ISO 8601 parser would give a naive time a neighbour's offset
        out[aware] = pd.to_datetime(parse[aware], format="ISO8601", utc=True, errors="coerce").tz_localize(None).to_numpy()
    naive = ~aware & (problem == 0)
    if naive.any():
        local = pd.to_datetime(parse[naive], format="ISO8601", errors="coerce")
        parsed = ~local.isna()
        if tz:
            utc = local.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC").tz_localize(None)
            out[naive] = utc.to_numpy()
            problem[np.flatnonzero(naive)[parsed & utc.isna()]] = 4
        else:
            problem[np.flatnonzero(naive)[parsed]] = 3
    stamps = pd.DatetimeIndex(out).tz_localize("UTC")
    problem[(problem == 0) & stamps.isna()] = 2
    return stamps, problem


def read_telemetry(source, *, fmt: Literal["csv", "jsonl"] | None = None, tz: str | None = None) -> IngestResult:
    """Read and validate a batch of readings, keeping every good row and listing every other.

    Parameters
    ----------
    source : str, pathlib.Path, pandas.DataFrame or list of TelemetryReading
        A CSV file (header row), a JSON-lines file (one object per line), a
        DataFrame, or readings.  Columns as in the module docstring.  A file
        must lie under a data root (:func:`gridsage.tools.paths.readable_file`:
        absolute, or relative to a root; ``~`` is not expanded).
    fmt : {'csv', 'jsonl'}, optional
        File format; default from the suffix (``.jsonl``, ``.ndjson``, ``.json``: JSON lines; else CSV).
    tz : str, optional
        IANA zone of naive timestamps, e.g. ``'Europe/Paris'``; default none: naive rows are rejected.

    Returns
    -------
    IngestResult
        ``accepted`` (values in canonical units, see the module docstring)
        and ``rejected``; ``len(accepted) + len(rejected) == rows_read``.

    Raises
    ------
    InputError
        If the file is outside the data roots, missing or unreadable, a line is
        not a JSON object, a required column is absent, or ``tz`` is unknown
        (no message quotes the file).
    RequestTooLargeError
        If the batch has more than :data:`MAX_ROWS` rows.

    Notes
    -----
    Each rejected row names the first failing field in the order device_id,
    sensor_type, unit, value, timestamp, quality, then stream order.  Values
    are converted as ``value_canonical = value * factor`` (:data:`UNITS`, e.g.
    kV -> V: 1000) and must lie in the physical range :data:`RANGES` (e.g.
    power factor within [-1, 1]).  All checks are column operations (about
    1 M CSV rows in a few seconds).
    """
    import numpy as np
    import pandas as pd

    if tz:
        _zone(tz)
    frame, name = _load(source, fmt)
    frame = frame.set_axis([str(c).strip().lower() for c in frame.columns], axis=1)
    missing = [c for c in COLUMNS[:5] if c not in frame.columns]
    if missing:
        raise InputError(f"no column {', '.join(missing)} in {name}: {len(frame.columns)} column(s), "
                         f"{len(COLUMNS[:5]) - len(missing)} of the {len(COLUMNS[:5])} required",
                         field=missing[0], fix=f"name the columns {', '.join(COLUMNS)} (quality optional).")
    n = len(frame)
    rows = np.arange(1, n + 1)
    bad = np.zeros(n, dtype=bool)
    fields = np.empty(n, dtype=object)
    reasons = np.empty(n, dtype=object)

    def reject(mask, field: str, reason) -> None:
        new = np.flatnonzero(mask & ~bad)
        if new.size:
            bad[new], fields[new] = True, field
            reasons[new] = reason if isinstance(reason, str) else reason(new)

    def quoted(column: str, template: str):
        return lambda i: [template.format(repr(str(v))) for v in frame[column].iloc[i]]

    dev_codes, dev_text = _labels(frame["device_id"])
    reject(dev_text[dev_codes] == "", "device_id", "missing")
    sen_codes, sen_text = _labels(frame["sensor_type"])
    sensor = _lookup(sen_codes, sen_text, {s: i for i, s in enumerate(SENSOR_TYPES)})
    reject(sen_text[sen_codes] == "", "sensor_type", "missing")
    reject(sensor < 0, "sensor_type", quoted("sensor_type", "unknown sensor type {} (use one of: "
                                             + ", ".join(SENSOR_TYPES) + ")"))
    # unit: per distinct (sensor, unit) pair
    unit_codes, unit_text = _labels(frame["unit"])
    inverse, pairs = pd.factorize(np.maximum(sensor, 0) * len(unit_text) + unit_codes)
    found = [UNITS[SENSOR_TYPES[p // len(unit_text)]].get(unit_text[p % len(unit_text)].lower()) for p in pairs]
    factor = np.array([f[1] if f else np.nan for f in found])[inverse]
    unit = np.array([CANONICAL_UNITS.index(f[0]) if f else -1 for f in found], dtype=np.int64)[inverse]
    reject(unit_text[unit_codes] == "", "unit", "missing")
    reject(unit < 0, "unit", lambda i: [f"unit {str(u)!r} is not a unit of {SENSOR_TYPES[s]} (use {_unit_list(SENSOR_TYPES[s])})"
                                       for u, s in zip(frame["unit"].iloc[i], sensor[i])])
    # value
    raw_value = frame["value"]
    if pd.api.types.is_numeric_dtype(raw_value) and not pd.api.types.is_bool_dtype(raw_value):
        number = raw_value.to_numpy(dtype=float)
        absent = np.isnan(number)
    else:
        number = pd.to_numeric(raw_value.astype(object), errors="coerce").to_numpy(dtype=float)
        absent = np.isnan(number)
        absent[absent] = raw_value[absent].isna().to_numpy() | (raw_value[absent].astype(str).str.strip() == "").to_numpy()

    def not_number(i) -> list[str]:
        out = []
        for v in raw_value.iloc[i]:
            try:
                out.append(f"value {float(v)!r} is not finite")
            except (TypeError, ValueError):
                out.append(f"value {str(v)!r} is not a number")
        return out

    reject(absent, "value", "missing")
    reject(~np.isfinite(number), "value", not_number)
    value = number * factor
    low = np.array([RANGES[s][0] for s in SENSOR_TYPES])[sensor]
    high = np.array([RANGES[s][1] for s in SENSOR_TYPES])[sensor]
    with np.errstate(invalid="ignore"):
        reject(~((value >= low) & (value <= high)), "value", lambda i: [
            f"value {v:g} {CANONICAL_UNITS[u]} is outside the physical range of {SENSOR_TYPES[s]} [{RANGES[SENSOR_TYPES[s]][0]:g}, "
            f"{RANGES[SENSOR_TYPES[s]][1]:g}]" for v, u, s in zip(value[i], unit[i], sensor[i])])
    # timestamp
    stamps, problem = parse_times(frame["timestamp"], tz)
    reject(problem == 1, "timestamp", "missing")
    reject(problem == 2, "timestamp", quoted("timestamp", "{} is not an ISO 8601 time (e.g. 2024-05-01T12:00:00Z)"))
    reject(problem == 3, "timestamp", quoted("timestamp", "{} has no UTC offset: add one (Z, +01:00) or pass tz"))
    reject(problem == 4, "timestamp", quoted("timestamp", f"{{}} does not exist or is ambiguous in {tz} (DST change)"))
    # quality
    if "quality" in frame.columns:
        q_codes, q_text = _labels(frame["quality"])
        quality = _lookup(q_codes, q_text, {"": 0, **{q: i for i, q in enumerate(QUALITIES)}})
        reject(quality < 0, "quality", quoted("quality", "quality {} is not one of good, suspect, bad"))
    else:
        quality = np.zeros(n, dtype=np.int64)
    # order within each stream, among the rows still good
    ok = np.flatnonzero(~bad)
    device = pd.factorize(dev_text)[0][dev_codes]  # ids equal after stripping share a stream
    stream = device[ok].astype(np.int64) * len(SENSOR_TYPES) + sensor[ok]
    ns = pd.Series(stamps.asi8[ok])
    first = np.iinfo(np.int64).min  # before any time: the first reading of a stream is never late
    previous = ns.groupby(stream, sort=False).cummax().groupby(stream, sort=False).shift(fill_value=first).to_numpy()
    late = np.zeros(n, dtype=bool)
    late[ok] = ns.to_numpy() <= previous
    reject(late, "timestamp", lambda i: [
        f"{t.isoformat()} is not after the stream's latest earlier reading ({pd.Timestamp(int(p), tz='UTC').isoformat()})"
        for t, p in zip(stamps[i], previous[np.searchsorted(ok, i)])])

    keep = ~bad
    accepted = pd.DataFrame({
        "device_id": dev_text[dev_codes[keep]],
        "sensor_type": pd.Categorical.from_codes(sensor[keep], SENSOR_TYPES),
        "value": value[keep],
        "unit": pd.Categorical.from_codes(unit[keep], CANONICAL_UNITS),
        "timestamp": stamps[keep],
        "quality": pd.Categorical.from_codes(np.maximum(quality[keep], 0), QUALITIES),
    }, index=pd.Index(rows[keep], name="row"))
    gone = np.flatnonzero(bad)
    raw = frame.iloc[gone]
    raw = raw.astype(str).where(raw.notna().to_numpy(), None).to_dict("records") if gone.size else []
    rejected = [RejectedRow.model_construct(row=int(rows[i]), field=fields[i], reason=reasons[i], raw=r)
                for i, r in zip(gone, raw)]
    ignored = [c for c in frame.columns if c not in COLUMNS]
    return IngestResult(accepted=accepted, rejected=rejected, rows_read=n, source=name, ignored_columns=ignored)


class StreamSummary(BaseModel):
    """The accepted readings of one stream."""

    device_id: str
    sensor_type: str
    unit: str = Field(description="Canonical unit of the stream's values.")
    n: int = Field(description="Accepted readings.")
    first_utc: datetime
    last_utc: datetime


class TelemetryIngestResult(ToolResult):
    """Counts, streams and rejected rows of one telemetry file."""

    counts: IngestCounts
    summary: str
    ignored_columns: list[str] = Field(default_factory=list, description="Columns that are not reading fields.")
    streams: list[StreamSummary] = Field(description=f"Per device, sensor type and unit; at most {MAX_STREAMS} "
                                                     "(counts.streams has the total).")
    rejected_rows: list[RejectedRow] = Field(description="The first max_rejected rejected rows, in file order.")


def stream_table(accepted):
    """Per (device_id, sensor_type, unit): n, first and last timestamp (a DataFrame, sorted)."""
    return (accepted.groupby(["device_id", "sensor_type", "unit"], observed=True, sort=True)["timestamp"]
            .agg(n="size", first_utc="min", last_utc="max").reset_index())


@tool
def ingest_telemetry(
    path: Annotated[str, Field(description="CSV (header row) or JSON-lines file of readings: device_id, sensor_type, "
                                           "value, unit, timestamp, [quality]; under a data root (GRIDSAGE_DATA_DIRS).")],
    tz: Annotated[str | None, Field(description="IANA zone of naive timestamps, e.g. 'Europe/Paris'; default: "
                                                "naive timestamps are rejected.")] = None,
    max_rejected: Annotated[int, Field(ge=0, le=10_000, description="Rejected rows to list (all are counted).")] = 100,
) -> TelemetryIngestResult:
    """Validate a telemetry file: how many readings were kept, in which streams, and why the others were rejected.

    Parameters
    ----------
    path : str
        CSV or JSON-lines file under a data root (``GRIDSAGE_DATA_DIRS``), at most :data:`MAX_ROWS` rows.
    tz : str, optional
        Zone of naive timestamps.
    max_rejected : int, default 100
        Rejected rows listed.

    Returns
    -------
    TelemetryIngestResult
        ``status`` is ``'ok'`` (every row accepted), ``'rows_rejected'`` or ``'all_rejected'``.

    Raises
    ------
    InputError
        If the file is outside the data roots, missing, unreadable, or lacks a required column.
    RequestTooLargeError
        If it has more than :data:`MAX_ROWS` rows.
    """
    result = read_telemetry(path, tz=tz)
    counts = result.counts()
    table = stream_table(result.accepted).head(MAX_STREAMS)
    streams = [StreamSummary(device_id=r.device_id, sensor_type=r.sensor_type, unit=r.unit, n=r.n,
                             first_utc=r.first_utc.to_pydatetime(), last_utc=r.last_utc.to_pydatetime())
               for r in table.itertuples(index=False)]
    status = "ok" if not counts.rejected else ("all_rejected" if not counts.accepted else "rows_rejected")
    return TelemetryIngestResult(status=status, counts=counts, summary=result.summary(),
                                 ignored_columns=result.ignored_columns, streams=streams,
                                 rejected_rows=result.rejected[:max_rejected])
