"""Telemetry simulator: anomalies of known type and time injected into a real base series, with the ground truth.

A scenario (JSON) names a base CSV of real measurements (e.g. half-hourly demand and
temperature), the streams derived from its columns (value = offset + scale x column,
plus sensor noise), the sampling interval, and the anomalies to inject.  The base is
interpolated onto the regular grid with a monotone cubic (PCHIP), so it stays smooth and
never overshoots the measurements.
"""

from __future__ import annotations

import json
from datetime import timedelta, timezone
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from gridsage.errors import InputError
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.paths import readable_file, validation_error_without_values, writable_dir, writable_file
from gridsage.tools.telemetry.ingest import SensorType

InjectedType = Literal["spike", "step", "drift", "oscillation", "dropout"]
#: readings one simulation may produce
MAX_READINGS = 20_000_000
#: what each anomaly type must specify
REQUIRED = {"spike": ("amplitude_pct",), "step": ("amplitude_pct",), "drift": ("amplitude_pct",),
            "oscillation": ("amplitude_pct", "frequency_hz"), "dropout": ("drop_probability",)}


class StreamSpec(BaseModel):
    """One simulated sensor stream, derived from a base column."""

    model_config = ConfigDict(extra="forbid")

    device_id: str = Field(min_length=1, max_length=200)
    sensor_type: SensorType = Field(description="As telemetry ingestion knows it, e.g. 'voltage', 'top_oil_temperature'.")
    column: str = Field(description="Base CSV column the stream follows, e.g. 'Demand'.")
    unit: str = Field("", max_length=32, description="Unit of the stream's values, e.g. 'kV'.")
    scale: float = Field(1.0, allow_inf_nan=False, description="value = offset + scale x column [unit / column unit].")
    offset: float = Field(0.0, allow_inf_nan=False, description="[unit].")
    noise_pct: float = Field(0.2, ge=0, le=50, description="Sensor noise sd [% of the stream's median |value|].")


class BaseSpec(BaseModel):
    """The real series the anomalies are injected into."""

    model_config = ConfigDict(extra="forbid")

    csv: str = Field(description="Base CSV; a relative path is relative to the scenario file; it must lie under a data root.")
    time_column: str = Field("Time", description="Column of ISO 8601 times (naive times are UTC).")
    start: AwareDatetime | None = Field(None, description="First time simulated (default: the CSV's first).")
    end: AwareDatetime | None = Field(None, description="End of the simulation, exclusive (default: the CSV's last).")
    interval_seconds: float = Field(1.0, gt=0, le=3600, description="Sampling interval of the streams [s].")
    streams: list[StreamSpec] = Field(min_length=1, max_length=1000)


class AnomalySpec(BaseModel):
    """One anomaly to inject; amplitudes are relative to the clean value at each reading."""

    model_config = ConfigDict(extra="forbid")

    type: InjectedType
    device_id: str
    sensor_type: str
    start_time: AwareDatetime
    duration_seconds: float = Field(gt=0, le=30 * 86400, description="[s].")
    amplitude_pct: float | None = Field(None, ge=-100, le=1000, description="Deviation [% of the clean value]; for drift the end value, then held.")
    frequency_hz: float | None = Field(None, gt=0, description="Oscillation frequency [Hz], below the Nyquist frequency 1 / (2 interval).")
    drop_probability: float | None = Field(None, gt=0, le=1, description="Probability that a reading in the window is lost [-].")


class SimulationSpec(BaseModel):
    """A named telemetry scenario: base series, streams, anomalies."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    base: BaseSpec
    anomalies: list[AnomalySpec] = Field(default_factory=list, max_length=100_000)


class SimulationReport(ToolResult):
    """Where the labelled telemetry and the ground truth were written."""

    scenario: str
    seed: int
    telemetry_path: str = Field(description="CSV: device_id, sensor_type, value, unit, timestamp, quality, label.")
    truth_path: str = Field(description="CSV: type, device_id, sensor_type, start, end and the anomaly's parameters.")
    readings: int
    streams: int
    lost_readings: int = Field(description="Readings removed by dropouts.")
    events: dict[str, int] = Field(description="Injected anomalies by type.")


def load_simulation(path: str | Path) -> SimulationSpec:
    """Read and validate a scenario file; its base CSV path is resolved against the file's folder.

    Parameters
    ----------
    path : str or pathlib.Path
        Scenario JSON under a data root (:func:`gridsage.tools.paths.readable_file`: absolute, or relative to a
        root; the shipped ``telemetry/`` scenarios are under one).

    Returns
    -------
    SimulationSpec
        With ``base.csv`` made absolute (it is checked against the data roots when it is read).

    Raises
    ------
    InputError
        If the file is outside the data roots, missing or not JSON, or a field is invalid (named as e.g.
        ``anomalies[2].amplitude_pct``); no message quotes the file.
    """
    path = readable_file(path, "scenario_path", suffixes=(".json",))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name} is not UTF-8 text (byte {exc.start})", field="scenario_path",
                         fix="give a scenario JSON file.") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name} is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                         field="scenario_path", fix="fix the JSON syntax at that place.") from None
    scenario = _validate(data)
    csv = Path(scenario.base.csv)
    if not csv.is_absolute():
        scenario.base.csv = str(path.parent / csv)
    return scenario


def _validate(data) -> SimulationSpec:
    try:
        return SimulationSpec.model_validate(data)
    except ValidationError as exc:  # the data may come from a file: its values are never quoted
        raise validation_error_without_values(exc, data, SimulationSpec,
                                              fix="correct the named field(s); see SimulationSpec for the schema.") from None


def _base_frame(base: BaseSpec):
    """The base CSV as float columns on a UTC DatetimeIndex (errors count columns, never name the file's own)."""
    import pandas as pd

    path = readable_file(base.csv, "base.csv", suffixes=(".csv", ".txt"))
    try:
        raw = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise InputError(f"the base CSV {path.name} is empty", field="base.csv",
                         fix="give a CSV file with a header row.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError):
        raise InputError(f"the base CSV {path.name} is not readable as CSV", field="base.csv",
                         fix="save it as comma-separated UTF-8 text with a header row.") from None
    columns = f"{len(raw.columns)} column(s) in its header"
    if base.time_column not in raw:
        raise InputError(f"the base CSV has no column {base.time_column!r} ({columns})", field="base.time_column",
                         fix="name the time column of the base CSV's header row, exactly as written there.")
    for i, s in enumerate(base.streams):
        if s.column not in raw:
            raise InputError(f"the base CSV has no column {s.column!r} ({columns})", field=f"base.streams[{i}].column",
                             fix="name a column of the base CSV's header row, exactly as written there.")
    try:
        raw.index = pd.to_datetime(raw.pop(base.time_column), utc=True, format="ISO8601")
    except (ValueError, TypeError):
        raise InputError(f"column {base.time_column!r} of the base CSV holds values that are not ISO 8601 times",
                         field="base.time_column", fix="use a column of times such as 2014-01-15T03:00:00Z.") from None
    for i, s in enumerate(base.streams):
        numbers = pd.to_numeric(raw[s.column], errors="coerce")
        bad = int((numbers.isna() & raw[s.column].notna()).sum())
        if bad:
            raise InputError(f"column {s.column!r} of the base CSV has {bad} value(s) that are not numbers",
                             field=f"base.streams[{i}].column", fix="use a numeric column, or clean those rows.")
        raw[s.column] = numbers.astype(float)
    if raw.index.isna().any():
        raise InputError(f"{int(raw.index.isna().sum())} row(s) of the base CSV have no time", field="base.time_column",
                         fix="give every row a time.")
    return raw.sort_index()


def _grid(base: BaseSpec, index):
    """Regular sampling times [ns] inside the base's span."""
    import numpy as np

    start = base.start or index[0].to_pydatetime()
    end = base.end or index[-1].to_pydatetime()
    if not index[0] <= start < end <= index[-1]:
        raise InputError(f"the simulated span {start} .. {end} is not inside the base CSV's {index[0]} .. {index[-1]}",
                         field="base.start" if not index[0] <= start < index[-1] else "base.end",
                         fix="choose start < end within the base CSV's times.")
    step = int(round(base.interval_seconds * 1e9))
    first = int(start.timestamp() * 1e6) * 1000
    count = (int(end.timestamp() * 1e6) * 1000 - first + step - 1) // step
    if count * len(base.streams) > MAX_READINGS:
        raise InputError(f"{count * len(base.streams)} readings exceed the limit of {MAX_READINGS}", field="base.interval_seconds",
                         fix="shorten the span or lengthen the interval.")
    return first + step * np.arange(count, dtype=np.int64)


def _check(i: int, a: AnomalySpec, streams: dict, grid, interval: float) -> tuple[int, int]:
    """Cross-field checks of anomaly i; returns its reading range [i0, i1)."""
    import numpy as np

    where = f"anomalies[{i}]"
    for name in REQUIRED[a.type]:
        if getattr(a, name) is None:
            raise InputError(f"a {a.type} needs {name}", field=f"{where}.{name}", fix=f"add {name} to the anomaly.")
    if a.type == "oscillation" and a.frequency_hz >= 0.5 / interval:
        raise InputError(f"{a.frequency_hz} Hz is not below the Nyquist frequency {0.5 / interval:g} Hz of a {interval:g} s interval",
                         field=f"{where}.frequency_hz", fix="lower the frequency or shorten base.interval_seconds.")
    if (a.device_id, a.sensor_type) not in streams:
        field = "device_id" if a.device_id not in {d for d, _ in streams} else "sensor_type"
        raise InputError(f"the anomaly's device_id and sensor_type match none of the {len(streams)} stream(s) of "
                         "base.streams", field=f"{where}.{field}",
                         fix="use the device_id and sensor_type of a stream listed in base.streams.")
    start = int(a.start_time.timestamp() * 1e6) * 1000
    i0 = int(np.searchsorted(grid, start))
    i1 = int(np.searchsorted(grid, start + int(a.duration_seconds * 1e9)))
    if start < grid[0] or i0 >= len(grid):
        raise InputError(f"{a.start_time} is outside the simulated span", field=f"{where}.start_time",
                         fix="start the anomaly within base.start .. base.end.")
    if i1 == i0:
        raise InputError(f"{a.duration_seconds} s covers no reading", field=f"{where}.duration_seconds",
                         fix=f"make it at least the interval, {interval:g} s.")
    return i0, i1


def simulate(scenario: SimulationSpec | dict | str | Path, seed: int = 0):
    """Simulate labelled telemetry for a scenario.

    Parameters
    ----------
    scenario : SimulationSpec, dict or path
        The scenario (a dict's relative base CSV path is looked up under the data roots, see
        :func:`gridsage.tools.paths.readable_file`).
    seed : int, default 0
        Seed of the sensor noise, the dropped readings and the oscillation phases.

    Returns
    -------
    frame : pandas.DataFrame
        Long telemetry: device_id, sensor_type, value, unit, timestamp (UTC), quality, and
        ``label`` (the anomaly type covering the reading, '' for normal readings).
    truth : pandas.DataFrame
        One row per anomaly, in scenario order: type, device_id, sensor_type, start, end (UTC),
        amplitude_pct, frequency_hz, drop_probability.

    Raises
    ------
    InputError
        If the scenario is invalid, naming the field (e.g. ``anomalies[1].frequency_hz``).

    Notes
    -----
    With c the clean value (base interpolated by PCHIP [1]_, then offset + scale x column) and
    a = amplitude_pct / 100, over the window [start_time, start_time + duration):
    spike and step add a c; drift adds a c r with r rising linearly from 1/n to 1 over the
    window's n readings, and a c after it (a drifted sensor stays off until recalibrated);
    oscillation adds a c sin(2 pi f (t - start) + phi) with a random phase phi; dropout
    removes each reading with probability drop_probability.  The noise is white Gaussian.

    References
    ----------
    .. [1] Fritsch, F. N., Carlson, R. E. (1980). Monotone piecewise cubic interpolation.
       SIAM J. Numer. Anal. 17(2), 238-246.
    """
    frame, truth, _ = _simulate(scenario, seed)
    return frame, truth


def _simulate(scenario: SimulationSpec | dict | str | Path, seed: int):
    """:func:`simulate`, also returning the number of readings the dropouts removed."""
    import numpy as np
    import pandas as pd
    from scipy.interpolate import PchipInterpolator

    if isinstance(scenario, (str, Path)):
        scenario = load_simulation(scenario)
    elif isinstance(scenario, dict):
        scenario = _validate(scenario)
    base = scenario.base
    raw = _base_frame(base)
    grid = _grid(base, raw.index)
    known = raw.index.as_unit("ns").asi8
    rng = np.random.default_rng(seed)
    streams = {(s.device_id, s.sensor_type): k for k, s in enumerate(base.streams)}
    clean, values = [], []
    for s in base.streams:
        col = raw[s.column].astype(float)
        ok = col.notna().to_numpy()
        c = s.offset + s.scale * PchipInterpolator((known[ok] - known[0]) / 1e9, col.to_numpy()[ok])((grid - known[0]) / 1e9)
        clean.append(c)
        values.append(c + rng.normal(0, s.noise_pct / 100 * float(np.median(np.abs(c))), len(grid)))
    keep = np.ones((len(base.streams), len(grid)), bool)
    labels = np.zeros((len(base.streams), len(grid)), np.int8)
    kinds = ("",) + tuple(REQUIRED)
    times = (grid - grid[0]) / 1e9
    truth = []
    for i, a in enumerate(scenario.anomalies):
        i0, i1 = _check(i, a, streams, grid, base.interval_seconds)
        k = streams[(a.device_id, a.sensor_type)]
        c, x = clean[k], values[k]
        amp = (a.amplitude_pct or 0) / 100
        if a.type in ("spike", "step"):
            x[i0:i1] += amp * c[i0:i1]
        elif a.type == "drift":
            x[i0:i1] += amp * c[i0:i1] * np.arange(1, i1 - i0 + 1) / (i1 - i0)
            x[i1:] += amp * c[i1:]
        elif a.type == "oscillation":
            x[i0:i1] += amp * c[i0:i1] * np.sin(2 * np.pi * a.frequency_hz * (times[i0:i1] - times[i0]) + rng.uniform(0, 2 * np.pi))
        else:
            keep[k, i0:i1] &= rng.random(i1 - i0) >= a.drop_probability
        labels[k, i0:i1] = kinds.index(a.type)
        end = a.start_time + timedelta(seconds=a.duration_seconds)
        truth.append({"type": a.type, "device_id": a.device_id, "sensor_type": a.sensor_type,
                      "start": a.start_time.astimezone(timezone.utc), "end": end.astimezone(timezone.utc),
                      "amplitude_pct": a.amplitude_pct, "frequency_hz": a.frequency_hz, "drop_probability": a.drop_probability})
    flat = keep.ravel()

    def cat(items):
        return pd.Categorical(np.repeat(items, len(grid))[flat])

    frame = pd.DataFrame({
        "device_id": cat([s.device_id for s in base.streams]),
        "sensor_type": cat([s.sensor_type for s in base.streams]),
        "value": np.concatenate(values)[flat],
        "unit": cat([s.unit for s in base.streams]),
        "timestamp": pd.to_datetime(np.tile(grid, len(base.streams))[flat], utc=True),
        "quality": pd.Categorical(np.repeat("good", flat.sum())),
        "label": pd.Categorical.from_codes(labels.ravel()[flat], categories=list(kinds)),
    })
    columns = ["type", "device_id", "sensor_type", "start", "end", "amplitude_pct", "frequency_hz", "drop_probability"]
    return frame, pd.DataFrame(truth, columns=columns), int(flat.size - flat.sum())


def write_csv(frame, path: Path, interval_seconds: float) -> Path:
    """Write a simulated frame as CSV with UTC ISO 8601 timestamps (fractional seconds only when the interval
    [s] has them); returns ``path``."""
    fmt = "%Y-%m-%dT%H:%M:%SZ" if float(interval_seconds).is_integer() else "%Y-%m-%dT%H:%M:%S.%fZ"
    frame.to_csv(path, index=False, date_format=fmt)
    return path


@tool
def simulate_telemetry(
    scenario_path: Annotated[str, Field(max_length=4096, description="Scenario JSON under a data root (GRIDSAGE_DATA_DIRS; the shipped ones too): base CSV, streams, anomalies.")],
    out_dir: Annotated[str, Field(max_length=4096, description="Folder for telemetry.csv and truth.csv, relative to the output folder (GRIDSAGE_OUTPUT_DIR) or inside it; created if missing.")],
    seed: Annotated[int, Field(ge=0, description="Seed of the noise, lost readings and oscillation phases.")] = 0,
) -> SimulationReport:
    """Simulate labelled telemetry with injected anomalies and write it with its ground truth.

    Parameters
    ----------
    scenario_path : str
        Simulation scenario JSON (see :class:`SimulationSpec`) under a data root
        (:func:`gridsage.tools.paths.readable_file`).
    out_dir : str
        Output folder: relative to the output folder (``GRIDSAGE_OUTPUT_DIR``,
        default ``./gridsage-output``) or an absolute path inside it
        (:func:`gridsage.tools.paths.writable_dir`); telemetry.csv and
        truth.csv there are overwritten.
    seed : int, default 0

    Returns
    -------
    SimulationReport
        The two files' paths, the readings written, the lost readings and the anomalies by type.

    Raises
    ------
    InputError
        If the scenario is invalid (the field is named), outside the data roots, or its base CSV cannot be used;
        if ``out_dir`` is empty or outside the output folder.  No message quotes a file.

    References
    ----------
    See :func:`simulate`.
    """
    scenario = load_simulation(scenario_path)
    writable_dir(out_dir, "out_dir", create=False)  # a folder outside the output folder is refused before any work
    frame, truth, lost = _simulate(scenario, seed)
    out = writable_dir(out_dir, "out_dir")
    telemetry_path = writable_file(out, "telemetry.csv", "out_dir")
    truth_path = writable_file(out, "truth.csv", "out_dir")
    write_csv(frame, telemetry_path, scenario.base.interval_seconds)
    write_csv(truth, truth_path, scenario.base.interval_seconds)
    return SimulationReport(status="ok", scenario=scenario.name, seed=seed, telemetry_path=str(telemetry_path),
                            truth_path=str(truth_path), readings=len(frame), streams=len(scenario.base.streams),
                            lost_readings=lost, events=truth["type"].value_counts().to_dict())
