"""Measurements for state estimation: the device-to-element mapping file, the meter set assembled from telemetry
readings, meter accuracy classes, and a measurement simulator with planted gross errors and missing meters.

Mapping file (CSV, one row per meter, columns matched case-insensitively)::

    device_id, sensor_type, element_type, element, side, std_dev

- ``sensor_type`` (the telemetry names of :mod:`gridsage.tools.telemetry.ingest`):

  ============== ============ ================= ==============================================================
  sensor_type    element_type estimator unit    meaning
  ============== ============ ================= ==============================================================
  voltage        bus          pu                bus voltage magnitude; a reading in V is divided by the bus's
                                                ``vn_kv`` x 1000
  voltage_angle  bus          deg               PMU phase angle against the grid's reference (IEEE C37.118.1)
  active_power   bus          MW                net injection INTO the grid of the bus's loads, gens, sgens and
                                                ext_grids (generation positive); shunts (capacitor banks,
                                                reactors) are part of the network model, not of the injection
  active_power   line, trafo  MW                flow at ``side`` INTO the branch (pandapower ``p_from_mw``,
                                                ``p_hv_mw``...)
  reactive_power same          Mvar             as active_power
  current        line, trafo  A                 current magnitude at ``side`` (telemetry A; kA for pandapower)
  ============== ============ ================= ==============================================================

- ``element``: the pandapower index (int) in the ``element_type`` table; ``side``: ``from``/``to`` for a line,
  ``hv``/``lv`` for a trafo, blank for a bus.
- ``std_dev`` (optional): the meter's standard deviation in the estimator unit of the table above (pu for a
  voltage however its readings come, deg, MW, Mvar, A).  Blank: the meter class default of :func:`default_std_dev`.

pandapower's bus ``p``/``q`` measurements use the load (consumer) reference: ``ppc_conversion`` multiplies them by
-1 before the estimator compares them with the bus injection ``V conj(Ybus V)``, which excludes the shunts that
``Ybus`` holds.  :func:`pandapower_measurements` therefore passes ``-injection``.  Branch ``p``/``q`` are power
into the branch at the given side in both conventions.

Meter classes (a class limit is taken as 3 sigma: 99.7 % of readings within it):

- SCADA voltage: voltage transformer class 0.5 (IEC 61869-3:2011, Table 3: +-0.5 % ratio error) -> sigma
  0.5/3 % of the reading.
- SCADA active and reactive power: CT class 0.5 (IEC 61869-2:2012, Table 202) and VT class 0.5 with a class 0.5
  transducer (IEC 60688:2012) -> about 1 % overall, sigma 1/3 % of the reading plus a floor of 0.2 % of the
  grid's base ``sn_mva`` (the transducer's full-scale error).
- PMU phase angle: total vector error 1 % (IEEE C37.118.1-2011, clause 5.3, Table 3) is an angle error of
  0.01 rad = 0.573 deg alone -> sigma 0.191 deg.
- Current: CT class 0.5 and a transducer: sigma 1/3 % of the reading plus 1 A.

References
----------
.. [1] A. Abur, A. G. Exposito, "Power System State Estimation: Theory and Implementation", Marcel Dekker, 2004,
   ch. 2 (measurement model z = h(x) + e, e ~ N(0, R)), ch. 4 (observability), ch. 6 (meter placement).
.. [2] IEC 61869-2:2012 / IEC 61869-3:2011, instrument transformers, accuracy classes; IEC 60688:2012, transducers.
.. [3] IEEE C37.118.1-2011, synchrophasor measurements, clause 5.3 (TVE <= 1 %).
.. [4] pandapower 3.5, ``pandapower/estimation/ppc_conversion.py`` (``_add_measurements_to_bus``: bus p, q sign).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gridsage.errors import InputError, RequestTooLargeError
from gridsage.tools.paths import parse_problem, readable_file
from gridsage.tools.telemetry.ingest import RejectedRow

__all__ = ["MAPPING_COLUMNS", "ESTIMATION_SENSOR_TYPES", "SIDES", "MEAS_TYPE", "UNIT", "MeterSet", "MappingResult",
           "MeasurementSet", "GrossError", "PlantedError", "default_std_dev", "read_mapping", "assemble_meters",
           "pandapower_measurements", "simulate_measurement_set", "true_values", "device_id_of", "meter_label"]

#: columns of a mapping file (side and std_dev optional)
MAPPING_COLUMNS = ("device_id", "sensor_type", "element_type", "element", "side", "std_dev")
#: sensor types the estimator uses -> element types they may be mapped to
ESTIMATION_SENSOR_TYPES: dict[str, tuple[str, ...]] = {
    "voltage": ("bus",), "voltage_angle": ("bus",), "active_power": ("bus", "line", "trafo"),
    "reactive_power": ("bus", "line", "trafo"), "current": ("line", "trafo")}
#: valid sides per branch element type
SIDES: dict[str, tuple[str, ...]] = {"line": ("from", "to"), "trafo": ("hv", "lv")}
#: pandapower measurement type per sensor type
MEAS_TYPE = {"voltage": "v", "voltage_angle": "va", "active_power": "p", "reactive_power": "q", "current": "i"}
#: estimator unit per sensor type (the unit of a mapping's std_dev and of measured/estimated values in results)
UNIT = {"voltage": "pu", "voltage_angle": "deg", "active_power": "MW", "reactive_power": "Mvar", "current": "A"}
#: most mapping rows read
MAX_MAPPING_ROWS = 200_000
#: most names listed in a bounded list (unmapped readings, missing meters)
NAMES_LISTED = 20

#: class limit / sigma (3: 99.7 % of readings inside the class limit)
CLASS_SIGMAS = 3.0
#: voltage transformer class [%] (IEC 61869-3 class 0.5)
VOLTAGE_CLASS_PERCENT = 0.5
#: overall SCADA P/Q chain class [%] (CT 0.5, VT 0.5, transducer 0.5)
POWER_CLASS_PERCENT = 1.0
#: P/Q floor as a fraction of the grid's sn_mva (transducer full-scale error)
POWER_FLOOR_FRACTION = 0.002
#: PMU total vector error [%] (IEEE C37.118.1 clause 5.3)
PMU_TVE_PERCENT = 1.0
#: current chain class [%] and floor [A]
CURRENT_CLASS_PERCENT, CURRENT_FLOOR_A = 1.0, 1.0
#: smallest std_dev accepted for any meter [estimator unit]; pandapower floors sigma at 1e-5 pu internally
MIN_STD_DEV = 1e-6


def default_std_dev(sensor_type: str, value: float, sn_mva: float = 100.0) -> float:
    """The meter-class standard deviation of a reading, in its estimator unit.

    Parameters
    ----------
    sensor_type : str
        One of :data:`ESTIMATION_SENSOR_TYPES`.
    value : float
        The reading [pu, deg, MW, Mvar or A: :data:`UNIT`].
    sn_mva : float, default 100
        The grid's base power [MVA] (for the P/Q floor).

    Returns
    -------
    float
        sigma [unit of ``value``].

    Notes
    -----
    sigma_V = 0.5 % / 3 |V|; sigma_P,Q = 1 % / 3 |P| + 0.002 sn_mva; sigma_angle = 0.01 rad / 3 = 0.191 deg;
    sigma_I = 1 % / 3 |I| + 1 A (module docstring).

    References
    ----------
    .. [1] IEC 61869-2:2012 Table 202, IEC 61869-3:2011 Table 3 (class 0.5); IEEE C37.118.1-2011 clause 5.3.
    """
    v = abs(float(value))
    if sensor_type == "voltage":
        return max(VOLTAGE_CLASS_PERCENT / 100 / CLASS_SIGMAS * max(v, 0.5), MIN_STD_DEV)
    if sensor_type == "voltage_angle":
        return math.degrees(PMU_TVE_PERCENT / 100) / CLASS_SIGMAS
    if sensor_type in ("active_power", "reactive_power"):
        return POWER_CLASS_PERCENT / 100 / CLASS_SIGMAS * v + POWER_FLOOR_FRACTION * sn_mva
    if sensor_type == "current":
        return CURRENT_CLASS_PERCENT / 100 / CLASS_SIGMAS * v + CURRENT_FLOOR_A
    raise ValueError(f"no meter class for sensor type {sensor_type!r}")


def device_id_of(element_type: str, element: int, side: str | None) -> str:
    """The simulator's readable device id: ``'bus7'``, ``'line5-from'``, ``'trafo2-hv'``."""
    return f"{element_type}{int(element)}" + (f"-{side}" if side else "")


def meter_label(sensor_type: str, element_type: str, element: int, side: str | None) -> str:
    """``'active_power at bus 7'``, ``'reactive_power on line 5 (from side)'``."""
    if element_type == "bus":
        return f"{sensor_type} at bus {int(element)}"
    return f"{sensor_type} on {element_type} {int(element)} ({side} side)"


# --------------------------------------------------------------------------------------------------- mapping file

@dataclass
class MappingResult:
    """A validated mapping: the rows kept and the rows rejected (row number, field, reason).

    Attributes
    ----------
    accepted : pandas.DataFrame
        Columns :data:`MAPPING_COLUMNS` (``element`` int, ``side`` str or '' for a bus, ``std_dev`` float or NaN),
        indexed by the record number ``row`` (CSV line = row + 1).
    rejected : list of RejectedRow
    rows_read : int
    source : str
    """

    accepted: Any
    rejected: list[RejectedRow]
    rows_read: int
    source: str


def _load_mapping(source):
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame, name = source.copy(), "DataFrame"
    else:
        path = readable_file(source, "mapping", suffixes=(".csv", ".txt"))
        name = path.name
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False, nrows=MAX_MAPPING_ROWS + 1)
        except pd.errors.EmptyDataError:
            raise InputError(f"{name} is empty", field="mapping",
                             fix="give a CSV with the header " + ", ".join(MAPPING_COLUMNS) + " and one row per meter.") from None
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"{name} is not readable as CSV ({parse_problem(exc)})", field="mapping",
                             fix="save the mapping as CSV with a header row, one meter per line.") from None
    if len(frame) > MAX_MAPPING_ROWS:
        raise RequestTooLargeError(f"more than {MAX_MAPPING_ROWS:,} mapping rows", field="mapping",
                                   fix=f"give at most {MAX_MAPPING_ROWS:,} meters.")
    frame = frame.set_axis([str(c).strip().lower() for c in frame.columns], axis=1)
    missing = [c for c in MAPPING_COLUMNS[:4] if c not in frame.columns]
    if missing:
        raise InputError(f"no column {', '.join(missing)} in {name}", field="mapping",
                         fix="name the columns " + ", ".join(MAPPING_COLUMNS) + " (side and std_dev optional).")
    return frame, name


def _text(value) -> str:
    if value is None:
        return ""
    try:
        if value != value:  # NaN
            return ""
    except TypeError:
        pass
    return str(value).strip()


def read_mapping(source, net) -> MappingResult:
    """Read and validate a device-to-element mapping against a network, keeping every valid row.

    Parameters
    ----------
    source : str, pathlib.Path or pandas.DataFrame
        CSV file under a data root (:func:`gridsage.tools.paths.readable_file`), or a DataFrame with the columns
        :data:`MAPPING_COLUMNS`.
    net : pandapower.pandapowerNet
        The grid the elements are looked up in.

    Returns
    -------
    MappingResult
        Valid rows, and every other row with its number, field and reason: a missing device id, a sensor type the
        estimator does not use, an element type that sensor cannot measure, an element index that is not an
        integer or not in the table (or out of service), a side that is not valid for the element type, a
        std_dev that is not a positive number, a repeated (device_id, sensor_type), or a second meter of a
        quantity another row already measures (pandapower would silently merge the two).

    Raises
    ------
    InputError
        If the file is outside the data roots, missing, unreadable or lacks a required column.
    RequestTooLargeError
        If it has more than :data:`MAX_MAPPING_ROWS` rows.
    """
    import numpy as np
    import pandas as pd

    frame, name = _load_mapping(source)
    kept, rejected = [], []
    seen_device: dict[tuple[str, str], int] = {}
    seen_quantity: dict[tuple, int] = {}
    for number, record in enumerate(frame.to_dict("records"), 1):
        raw = {k: (None if _text(v) == "" else _text(v)) for k, v in record.items()}

        def reject(field: str, reason: str) -> None:
            rejected.append(RejectedRow.model_construct(row=number, field=field, reason=reason, raw=raw))

        device = _text(record.get("device_id"))
        sensor = _text(record.get("sensor_type")).lower()
        etype = _text(record.get("element_type")).lower()
        element_text = _text(record.get("element"))
        side = _text(record.get("side")).lower()
        std_text = _text(record.get("std_dev"))
        if not device:
            reject("device_id", "missing")
            continue
        if sensor not in ESTIMATION_SENSOR_TYPES:
            reject("sensor_type", f"{sensor or 'missing'!r} is not a sensor type the estimator uses "
                                  f"({', '.join(ESTIMATION_SENSOR_TYPES)})")
            continue
        if etype not in ESTIMATION_SENSOR_TYPES[sensor]:
            reject("element_type", f"{etype or 'missing'!r}: {sensor} is mapped to "
                                   f"{' or '.join(ESTIMATION_SENSOR_TYPES[sensor])}")
            continue
        try:
            as_float = float(element_text)
            if not as_float.is_integer():
                raise ValueError
            element = int(as_float)
        except (ValueError, OverflowError):
            reject("element", f"{element_text or 'missing'!r} is not an integer {etype} index")
            continue
        table = net[etype]
        if element not in table.index:
            span = f"{table.index.min()}-{table.index.max()}" if len(table) else "none"
            reject("element", f"{etype} {element} does not exist in this grid (indices {span})")
            continue
        if not bool(table.at[element, "in_service"]):
            reject("element", f"{etype} {element} is out of service")
            continue
        if etype == "bus":
            if side:
                reject("side", f"{side!r} given for a bus meter; leave side blank for a bus")
                continue
        elif side not in SIDES[etype]:
            reject("side", f"{side or 'missing'!r} is not a side of a {etype} (use {' or '.join(SIDES[etype])})")
            continue
        std = math.nan
        if std_text:
            try:
                std = float(std_text)
            except ValueError:
                std = math.nan
                reject("std_dev", f"{std_text!r} is not a number")
                continue
            if not (math.isfinite(std) and std >= MIN_STD_DEV):
                reject("std_dev", f"{std_text} is not a finite number >= {MIN_STD_DEV:g} {UNIT[sensor]}")
                continue
        key = (device, sensor)
        if key in seen_device:
            reject("device_id", f"{device} {sensor} is already mapped on row {seen_device[key]}")
            continue
        quantity = (MEAS_TYPE[sensor], etype, element, side)
        if quantity in seen_quantity:
            reject("element", f"{meter_label(sensor, etype, element, side or None)} is already measured by the meter "
                              f"on row {seen_quantity[quantity]} (one meter per quantity: pandapower would merge them)")
            continue
        seen_device[key] = number
        seen_quantity[quantity] = number
        kept.append({"row": number, "device_id": device, "sensor_type": sensor, "element_type": etype,
                     "element": element, "side": side, "std_dev": std})
    accepted = pd.DataFrame(kept, columns=["row", *MAPPING_COLUMNS]).set_index("row")
    accepted["element"] = accepted["element"].astype(np.int64)
    accepted["std_dev"] = accepted["std_dev"].astype(float)
    return MappingResult(accepted=accepted, rejected=rejected, rows_read=len(frame), source=name)


# ------------------------------------------------------------------------------------------------ meter assembly

@dataclass
class MeterSet:
    """The meters the estimator uses: one reading per mapped meter, in estimator units.

    Attributes
    ----------
    meters : pandas.DataFrame
        One row per meter: device_id, sensor_type, element_type, element, side ('' for a bus), value
        [:data:`UNIT`], std_dev [same], timestamp (UTC), label.
    at : pandas.Timestamp or None
        The time the readings were taken at or before (UTC).
    unmapped : list of str
        ``'device/sensor_type'`` of readings with no mapping row (first :data:`NAMES_LISTED`).
    unmapped_count : int
    missing : list of str
        Mapping rows without a usable reading, with why (none, bad quality only, stale, after ``at``).
    missing_count : int
    stale_count : int
        Of the missing meters, those whose latest reading is older than ``max_age_s``.
    """

    meters: Any
    at: Any
    unmapped: list[str] = field(default_factory=list)
    unmapped_count: int = 0
    missing: list[str] = field(default_factory=list)
    missing_count: int = 0
    stale_count: int = 0


def assemble_meters(readings, mapping, net, at=None, max_age_s: float = 900.0) -> MeterSet:
    """Join readings with the mapping: the latest good reading of each meter at or before ``at``.

    Parameters
    ----------
    readings : pandas.DataFrame
        Accepted readings of :func:`gridsage.tools.telemetry.ingest.read_telemetry` (canonical units: voltage in V
        or pu as its ``unit`` says, voltage_angle deg, MW, Mvar, A; UTC timestamps).
    mapping : pandas.DataFrame
        ``accepted`` of :func:`read_mapping`.
    net : pandapower.pandapowerNet
        For a voltage in V: the bus's ``vn_kv``; for default std_devs: ``sn_mva``.
    at : str, datetime or pandas.Timestamp, optional
        ISO 8601 time with a UTC offset; default the latest timestamp among the readings.
    max_age_s : float, default 900
        Oldest reading used [s] before ``at``; an older one makes the meter missing (stale).

    Returns
    -------
    MeterSet

    Raises
    ------
    InputError
        If ``at`` is not an ISO 8601 time with a UTC offset.
    """
    import numpy as np
    import pandas as pd

    frame = readings.reset_index(drop=True)
    if at is None or (isinstance(at, str) and not at.strip()):
        when = frame["timestamp"].max() if len(frame) else None
    else:
        try:
            when = pd.Timestamp(at)
        except (ValueError, TypeError):
            raise InputError(f"{str(at)[:60]!r} is not an ISO 8601 time", field="at",
                             fix="give a time with a UTC offset, e.g. 2026-01-15T12:00:00Z.") from None
        if when.tzinfo is None:
            raise InputError(f"{str(at)[:60]!r} has no UTC offset", field="at",
                             fix="add an offset, e.g. 2026-01-15T12:00:00Z or +01:00.")
        when = when.tz_convert("UTC")
    frame = frame[frame["sensor_type"].astype(str).isin(ESTIMATION_SENSOR_TYPES)]
    keys = mapping[["device_id", "sensor_type"]].astype(str)
    mapped = set(zip(keys["device_id"], keys["sensor_type"]))
    streams = set(zip(frame["device_id"].astype(str), frame["sensor_type"].astype(str)))
    unmapped = sorted(f"{d}/{s}" for d, s in streams - mapped)
    usable = frame[(frame["quality"].astype(str) != "bad")]
    if when is not None:
        usable = usable[usable["timestamp"] <= when]
    latest = (usable.sort_values("timestamp", kind="stable")
              .groupby([usable["device_id"].astype(str), usable["sensor_type"].astype(str)], sort=False).tail(1))
    by_key = {(str(r.device_id), str(r.sensor_type)): r for r in latest.itertuples(index=False)}
    all_keys = set(streams)
    sn_mva = float(net.sn_mva)
    rows, missing, stale = [], [], 0
    for m in mapping.itertuples():
        key = (m.device_id, m.sensor_type)
        side = m.side or None
        label = meter_label(m.sensor_type, m.element_type, m.element, side)
        r = by_key.get(key)
        if r is None:
            why = "no reading" if key not in all_keys else "no good reading at or before the estimation time"
            missing.append(f"{m.device_id}/{m.sensor_type} ({label}): {why}")
            continue
        age = (when - r.timestamp).total_seconds()
        if age > max_age_s:
            stale += 1
            missing.append(f"{m.device_id}/{m.sensor_type} ({label}): latest reading {age:.0f} s old (> {max_age_s:g} s)")
            continue
        value = float(r.value)
        if m.sensor_type == "voltage" and str(r.unit) == "V":
            value = value / (float(net.bus.at[m.element, "vn_kv"]) * 1e3)
        std = m.std_dev if np.isfinite(m.std_dev) else default_std_dev(m.sensor_type, value, sn_mva)
        rows.append({"device_id": m.device_id, "sensor_type": m.sensor_type, "element_type": m.element_type,
                     "element": int(m.element), "side": m.side, "value": value, "std_dev": float(std),
                     "timestamp": r.timestamp, "label": label})
    meters = pd.DataFrame(rows, columns=["device_id", "sensor_type", "element_type", "element", "side", "value",
                                         "std_dev", "timestamp", "label"])
    return MeterSet(meters=meters, at=when, unmapped=unmapped[:NAMES_LISTED], unmapped_count=len(unmapped),
                    missing=missing[:NAMES_LISTED], missing_count=len(missing), stale_count=stale)


def pandapower_measurements(net, meters) -> None:
    """Replace ``net.measurement`` with ``meters`` as pandapower measurements (index = position in ``meters``).

    Parameters
    ----------
    net : pandapower.pandapowerNet
        A copy: its measurement table is overwritten.
    meters : pandas.DataFrame
        :attr:`MeterSet.meters`.

    Notes
    -----
    Bus active/reactive power: value = -injection (pandapower's load reference, see the module docstring); current:
    A -> kA; others as they are (pu, deg, MW, Mvar).
    """
    import numpy as np
    import pandas as pd

    sign = np.where((meters["element_type"] == "bus") & meters["sensor_type"].isin(["active_power", "reactive_power"]),
                    -1.0, 1.0)
    scale = np.where(meters["sensor_type"] == "current", 1e-3, 1.0)
    side = [s if s else None for s in meters["side"]]
    table = pd.DataFrame({
        "name": (meters["device_id"] + "/" + meters["sensor_type"]).to_numpy(dtype=object),
        "measurement_type": meters["sensor_type"].map(MEAS_TYPE).to_numpy(dtype=object),
        "element_type": meters["element_type"].to_numpy(dtype=object),
        "element": meters["element"].to_numpy(dtype=np.int64),
        "value": meters["value"].to_numpy(dtype=float) * sign * scale,
        "std_dev": meters["std_dev"].to_numpy(dtype=float) * scale,
        "side": pd.Series(side, dtype=object).to_numpy(),
    }, index=pd.RangeIndex(len(meters)))
    columns = list(net.measurement.columns) if len(net.measurement.columns) else list(table.columns)
    for c in columns:
        if c not in table:
            table[c] = None
    net.measurement = table[columns].astype({"value": float, "std_dev": float, "element": np.int64})


# ------------------------------------------------------------------------------------------------------ simulator

class GrossError(BaseModel):
    """A gross error to plant: the reading of one meter is shifted by ``size_sigma`` of its standard deviations."""

    device_id: str = Field(description="Meter, e.g. 'line5-from'.")
    sensor_type: str = Field(description="e.g. 'active_power'.")
    size_sigma: float = Field(description="Shift [multiples of the meter's sigma], signed, e.g. 20 or -15.")


class PlantedError(GrossError):
    """A gross error the simulator planted, with the values."""

    true_value: float = Field(description="Noise-free value [estimator unit].")
    reading: float = Field(description="The reading written, with noise and the error [estimator unit].")
    std_dev: float = Field(description="The meter's sigma [estimator unit].")


@dataclass
class MeasurementSet:
    """A simulated meter set and its truth.

    Attributes
    ----------
    readings : pandas.DataFrame
        Telemetry readings format: device_id, sensor_type, value, unit, timestamp, quality.
    mapping : pandas.DataFrame
        Mapping format: :data:`MAPPING_COLUMNS` (std_dev = the sigma the noise was drawn with).
    truth : dict
        ``vm_pu`` and ``va_degree`` (pandas Series by bus), ``values`` (true value per meter, Series indexed by
        (device_id, sensor_type)), ``gross_errors`` (list of PlantedError), ``missing`` (list of (device_id,
        sensor_type)), ``states`` (n = 2 buses - slacks), ``redundancy`` (meters with readings / n), ``net`` (the
        solved copy the truth comes from).
    """

    readings: Any
    mapping: Any
    truth: dict

    def write(self, folder: str | Path) -> tuple[Path, Path]:
        """Write ``readings.csv`` and ``mapping.csv`` (never the truth) into ``folder``; return their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        readings_path, mapping_path = folder / "readings.csv", folder / "mapping.csv"
        self.readings.to_csv(readings_path, index=False)
        self.mapping.to_csv(mapping_path, index=False, float_format="%.6g")
        return readings_path, mapping_path


def _solved_copy(net):
    """A copy of ``net`` with a converged AC power flow (pandapower ``runpp``, flat-start fallback)."""
    import copy
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower as pp
    net = copy.deepcopy(net)
    for kwargs in ({"init": "auto"}, {"init": "flat"}, {"init": "dc", "max_iteration": 50}):
        try:
            pp.runpp(net, numba=False, lightsim2grid=False, **kwargs)
            return net
        except Exception:  # noqa: BLE001 - try the next start
            continue
    raise InputError("the AC power flow of this grid does not converge, so there is no true state to measure",
                     field="grid_id", fix="simulate measurements on a grid whose power flow converges (run_power_flow).")


def true_values(net, meters) -> list[float]:
    """Noise-free values of ``meters`` (rows with sensor_type, element_type, element, side) from ``net``'s power flow.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        Solved (``res_bus``, ``res_line``, ``res_trafo``, ``res_shunt``).
    meters : iterable of mapping-like rows

    Returns
    -------
    list of float
        [estimator unit: pu, deg, MW, Mvar, A]; bus injections exclude shunts (module docstring).
    """
    shunt_p = net.res_shunt.p_mw.groupby(net.shunt.bus).sum() if len(net.shunt) and len(net.res_shunt) else None
    shunt_q = net.res_shunt.q_mvar.groupby(net.shunt.bus).sum() if shunt_p is not None else None
    out = []
    for m in meters:
        s, et, e, side = m["sensor_type"], m["element_type"], int(m["element"]), m["side"]
        if et == "bus":
            if s == "voltage":
                out.append(float(net.res_bus.at[e, "vm_pu"]))
            elif s == "voltage_angle":
                out.append(float(net.res_bus.at[e, "va_degree"]))
            else:
                col, sh = ("p_mw", shunt_p) if s == "active_power" else ("q_mvar", shunt_q)
                demand = float(net.res_bus.at[e, col]) - (float(sh.get(e, 0.0)) if sh is not None else 0.0)
                out.append(-demand)
        else:
            col = {"active_power": "p_{}_mw", "reactive_power": "q_{}_mvar", "current": "i_{}_ka"}[s].format(side)
            value = float(net[f"res_{et}"].at[e, col])
            out.append(value * 1e3 if s == "current" else value)
    return out


def _model_buses(net):
    """The estimator's buses (in service, connected to a slack; buses joined by closed bus-bus switches fused into
    one, as pandapower does), the slack buses, the branch edges between them, and each bus's representative.

    Returns
    -------
    (list of int, list of int, list of (table, index, bus, bus), dict)
        Buses (representatives), slack buses, edges (between representatives; a line with an open line switch
        is left out), and the map bus -> representative.
    """
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    live = [int(b) for b in net.bus.index[net.bus.in_service]]
    rep = {b: b for b in live}

    def find(b):
        while rep[b] != b:
            rep[b] = rep[rep[b]]
            b = rep[b]
        return b

    open_lines = set()
    if "switch" in net and len(net.switch):
        closed_bb = net.switch[(net.switch.et == "b") & net.switch.closed.astype(bool)]
        for a, b in zip(closed_bb.bus.astype(int), closed_bb.element.astype(int)):
            if a in rep and b in rep:
                ra, rb = find(a), find(b)
                if ra != rb:
                    rep[max(ra, rb)] = min(ra, rb)
        open_lines = set(net.switch.element[(net.switch.et == "l") & ~net.switch.closed.astype(bool)].astype(int))
    rep = {b: find(b) for b in live}
    buses = sorted(set(rep.values()))
    pos = {b: i for i, b in enumerate(buses)}
    edges = []
    for table, (f, t) in (("line", ("from_bus", "to_bus")), ("trafo", ("hv_bus", "lv_bus")),
                          ("impedance", ("from_bus", "to_bus"))):
        if table not in net or not len(net[table]):
            continue
        frame = net[table][net[table].in_service]
        for idx, a, b in zip(frame.index, frame[f].to_numpy(np.int64), frame[t].to_numpy(np.int64)):
            if table == "line" and int(idx) in open_lines:
                continue
            if int(a) in rep and int(b) in rep and rep[int(a)] != rep[int(b)]:
                edges.append((table, int(idx), rep[int(a)], rep[int(b)]))
    if "trafo3w" in net and len(net.trafo3w):
        for idx, r in net.trafo3w[net.trafo3w.in_service].iterrows():
            for other in ("mv_bus", "lv_bus"):
                if int(r.hv_bus) in rep and int(r[other]) in rep and rep[int(r.hv_bus)] != rep[int(r[other])]:
                    edges.append(("trafo3w", int(idx), rep[int(r.hv_bus)], rep[int(r[other])]))
    slacks = [int(b) for b in net.ext_grid.bus[net.ext_grid.in_service]]
    if "slack" in net.gen and len(net.gen):
        slacks += [int(b) for b in net.gen.bus[net.gen.in_service & net.gen.slack.astype(bool)]]
    slacks = list(dict.fromkeys(rep[b] for b in slacks if b in rep))
    n = len(buses)
    g = coo_matrix((np.ones(len(edges)), ([pos[a] for *_, a, _ in edges], [pos[b] for *_, b in edges])),
                   shape=(n, n))
    _, labels = connected_components(g, directed=False)
    live_labels = {labels[pos[s]] for s in slacks}
    kept = [b for b in buses if labels[pos[b]] in live_labels]
    keep = set(kept)
    return kept, slacks, [e for e in edges if e[2] in keep and e[3] in keep], rep


def _named_meter(net, g: "GrossError", field: str) -> tuple[str, str, int, str]:
    """The placement row ``(sensor_type, element_type, element, side)`` of the meter ``g`` names by its device id.

    Raises
    ------
    InputError
        If the device id is not ``bus<i>``, ``line<i>-from|to`` or ``trafo<i>-hv|lv`` of an element of ``net``, or the
        sensor type cannot be measured there.
    """
    import re

    m = re.fullmatch(r"(bus|line|trafo)(\d+)(?:-(from|to|hv|lv))?", g.device_id)
    sides = {"bus": (None,), "line": ("from", "to"), "trafo": ("hv", "lv")}
    fix = "name a meter as 'bus3', 'line5-from', 'line5-to', 'trafo0-hv' or 'trafo0-lv' of an element of this grid."
    if m is None or m.group(3) not in sides[m.group(1)] or int(m.group(2)) not in net[m.group(1)].index:
        raise InputError(f"{g.device_id!r} is not a meter location of this grid", field=f"{field}.device_id", fix=fix)
    element_type, element, side = m.group(1), int(m.group(2)), m.group(3) or ""
    allowed = ("voltage", "voltage_angle", "active_power", "reactive_power") if element_type == "bus" else \
        ("active_power", "reactive_power", "current")
    if g.sensor_type not in allowed:
        raise InputError(f"{g.sensor_type!r} cannot be measured at {g.device_id}", field=f"{field}.sensor_type",
                         fix=f"use one of: {', '.join(allowed)}.")
    return g.sensor_type, element_type, element, side


def _placement(net, target: int, pmu_buses, rng):
    """Meter placement: (sensor_type, element_type, element, side) rows; about ``target`` meters, observable.

    A random spanning tree of P+Q flow meters (random weights, so each seed differs) with a voltage meter at the
    slack makes the minimal observable set (2 (N - 1) + 1 = n meters); voltage meters at generator buses and PMU
    angles follow; the rest of the budget goes to P+Q meter pairs chosen greedily, each one the injection or flow
    that leaves the fewest measurements with a small residual variance Omega_ii in the decoupled P-theta model
    (a meter with Omega_ii ~ 0 is critical: its error can be neither detected nor identified).

    References
    ----------
    .. [1] Abur & Exposito 2004, ch. 6 (meter placement for bad data processing: avoid critical measurements).
    """
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

    buses, slack_buses, edges, rep = _model_buses(net)
    pos = {b: i for i, b in enumerate(buses)}
    N = len(buses)
    meterable = [e for e in edges if e[0] in SIDES]
    slack_buses = slack_buses or [buses[0]]
    # spanning forest of meterable branches, random weights
    w = rng.uniform(1.0, 2.0, len(meterable))
    rows_i = [pos[a] for _, _, a, _ in meterable]
    cols_i = [pos[b] for _, _, _, b in meterable]
    graph = coo_matrix((w, (rows_i, cols_i)), shape=(N, N)).tocsr()
    graph = graph.maximum(graph.T)
    tree = minimum_spanning_tree(graph).tocoo()
    pair_of = {}
    for k, (_, _, a, b) in enumerate(meterable):
        key = (min(pos[a], pos[b]), max(pos[a], pos[b]))
        if key not in pair_of or w[k] < w[pair_of[key]]:
            pair_of[key] = k
    chosen: list[tuple] = []  # (kind, table, idx, bus_or_side)
    p_rows: list[np.ndarray] = []

    def flow_row(a, b):
        r = np.zeros(N)
        r[pos[a]], r[pos[b]] = 1.0, -1.0
        return r

    incident: dict[int, list[tuple[int, int]]] = {b: [] for b in buses}
    for _, _, a, b in edges:
        incident[a].append((a, b))
        incident[b].append((b, a))

    def injection_row(bus):
        r = np.zeros(N)
        for a, b in incident[bus]:
            r[pos[a]] += 1.0
            r[pos[b]] -= 1.0
        return r

    for i, j in zip(tree.row, tree.col):
        k = pair_of[(min(i, j), max(i, j))]
        table, idx, a, b = meterable[k]
        side = SIDES[table][int(rng.integers(2))]
        chosen.append(("flow", table, idx, side))
        p_rows.append(flow_row(a, b))
    # components left apart by impedance-only links: an injection meter at one bus of each
    n_comp, labels = connected_components(graph, directed=False)
    if n_comp > 1:
        ref_comp = labels[pos[slack_buses[0]]]
        for c in range(n_comp):
            if c == ref_comp:
                continue
            bus = next(b for b in buses if labels[pos[b]] == c and incident[b])
            chosen.append(("injection", "bus", bus, ""))
            p_rows.append(injection_row(bus))
    v_buses = list(slack_buses[:1])
    gen_buses = [rep[int(b)] for b in net.gen.bus[net.gen.in_service] if rep.get(int(b)) in pos] if len(net.gen) else []
    budget = target - 2 * len(chosen) - len(v_buses) - 2 * len(pmu_buses)
    n_extra_v = max(0, min(len(gen_buses), int(round(0.1 * max(budget, 0)))))
    extra_v = [b for b in rng.permutation(sorted(set(gen_buses) - set(v_buses)))[:n_extra_v]]
    v_buses += [int(b) for b in extra_v]
    budget -= len(extra_v)
    # candidate P rows: injections at buses without one, flows at the unused side of every meterable branch
    used_flow = {(c[1], c[2], c[3]) for c in chosen if c[0] == "flow"}
    used_inj = {c[2] for c in chosen if c[0] == "injection"}
    cands, cand_rows = [], []
    for bus in buses:
        if bus not in used_inj and incident[bus]:
            cands.append(("injection", "bus", bus, ""))
            cand_rows.append(injection_row(bus))
    for table, idx, a, b in meterable:
        for side in SIDES[table]:
            if (table, idx, side) not in used_flow:
                cands.append(("flow", table, idx, side))
                cand_rows.append(flow_row(a, b))
    keep_cols = [i for i in range(N) if buses[i] not in slack_buses[:1]]
    H = np.array(p_rows)[:, keep_cols] if p_rows else np.zeros((0, N - 1))
    A = np.array(cand_rows)[:, keep_cols] if cand_rows else np.zeros((0, N - 1))
    pmu_rows = [np.eye(N)[pos[rep[int(b)]]][keep_cols] for b in pmu_buses if rep.get(int(b)) in pos]
    if pmu_rows:
        H = np.vstack([H, np.array(pmu_rows)])
    alive = np.ones(len(cands), dtype=bool)
    tau = 0.1  # Omega_ii below this (unit weights) counts as poorly redundant
    for _ in range(max(0, budget // 2)):
        if not alive.any():
            break
        G = H.T @ H + 1e-9 * np.eye(H.shape[1])
        Ginv = np.linalg.inv(G)
        omega = 1.0 - np.einsum("ij,jk,ik->i", H, Ginv, H)
        K = H @ Ginv                        # m x n
        U = K @ A[alive].T                  # m x c
        t = np.einsum("ij,jk,ik->i", A[alive], Ginv, A[alive])
        new_omega = omega[:, None] + U ** 2 / (1.0 + t)[None, :]
        own = 1.0 / (1.0 + t)
        poor = (new_omega < tau).sum(axis=0) + (own < tau)
        score = poor - 1e-3 * np.log(np.maximum(new_omega, 1e-9)).mean(axis=0) + 1e-6 * rng.random(len(t))
        pick = np.flatnonzero(alive)[int(np.argmin(score))]
        alive[pick] = False
        chosen.append(cands[pick])
        H = np.vstack([H, A[pick]])
    budget -= 2 * (max(0, budget // 2))
    if budget > 0:  # an odd meter left: one more voltage meter
        spare = [b for b in rng.permutation(buses) if int(b) not in v_buses]
        v_buses += [int(b) for b in spare[:budget]]
    rows = []
    for kind, table, idx, side in chosen:
        for s in ("active_power", "reactive_power"):
            rows.append((s, table, int(idx), side))
    rows += [("voltage", "bus", int(b), "") for b in v_buses]
    rows += [("voltage_angle", "bus", int(b), "") for b in pmu_buses]
    rows += [("voltage", "bus", int(b), "") for b in pmu_buses if int(b) not in v_buses]
    return rows


def simulate_measurement_set(net, *, redundancy: float = 1.2, pmu_buses=(), gross_errors=(),
                             random_gross_errors: int = 0, gross_error_sigma: tuple[float, float] = (10.0, 30.0),
                             missing: int = 0, seed: int = 0,
                             timestamp: str = "2026-01-15T12:00:00Z") -> MeasurementSet:
    """Simulate a SCADA (and optional PMU) meter set from the AC power flow of ``net``.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid; it is copied and solved with ``runpp`` (the copy's result is the truth), never changed.
    redundancy : float, default 1.2
        Target m / n: meters m over states n = 2 N - 1 (N in-service buses, one slack angle fixed) [-], 1.0 to 4.0.
        The placement is observable by construction (a spanning tree of flow meters and a slack voltage).
    pmu_buses : iterable of int
        Buses with a PMU: a ``voltage_angle`` meter (and a voltage meter) there.
    gross_errors : iterable of GrossError or dict
        Errors to plant at named meters (device_id, sensor_type, size_sigma).
    random_gross_errors : int, default 0
        Further errors at meters drawn at random, each of size U(gross_error_sigma) sigma with a random sign.
    gross_error_sigma : (float, float), default (10, 30)
        Range of the random errors' size [sigma].
    missing : int, default 0
        Meters whose readings are dropped (their mapping row is kept), drawn at random among the meters without a
        gross error.
    seed : int, default 0
        Seed of every random draw (placement, noise, errors, missing): the same seed gives the same set.
    timestamp : str, default '2026-01-15T12:00:00Z'
        Time of every reading (ISO 8601 with a UTC offset).

    Returns
    -------
    MeasurementSet

    Raises
    ------
    InputError
        If redundancy is outside [1, 4], a named gross error is not a meter of the placement, a PMU bus does not
        exist, or the power flow does not converge.

    Notes
    -----
    reading = true value + e + g, e ~ N(0, sigma^2) with sigma from :func:`default_std_dev` (meter class), g the
    planted gross error (size_sigma x sigma).

    References
    ----------
    .. [1] Abur & Exposito 2004, ch. 2 (measurement model), ch. 6 (meter placement).
    .. [2] IEC 61869-2:2012, IEC 61869-3:2011 (class 0.5); IEEE C37.118.1-2011 clause 5.3 (TVE 1 %).
    """
    import numpy as np
    import pandas as pd

    if not (1.0 <= float(redundancy) <= 4.0):
        raise InputError(f"redundancy {redundancy} is outside 1 to 4", field="redundancy",
                         fix="give m/n between 1.0 (just observable) and 4.0; utilities run about 1.5-2.5.")
    pmu_buses = [int(b) for b in pmu_buses]
    for i, b in enumerate(pmu_buses):
        if b not in net.bus.index:
            raise InputError(f"bus {b} does not exist in this grid", field=f"pmu_buses[{i}]",
                             fix="give existing bus indices.")
    rng = np.random.default_rng(seed)
    solved = _solved_copy(net)
    model_buses, model_slacks, _, _ = _model_buses(solved)
    states = 2 * len(model_buses) - max(1, len(model_slacks))
    target = int(round(float(redundancy) * states))
    placed = _placement(solved, target, pmu_buses, rng)
    specs = [g if isinstance(g, GrossError) else GrossError(**g) for g in gross_errors]
    have = {(device_id_of(et, e, side or None), s) for s, et, e, side in placed}
    for i, g in enumerate(specs):  # a meter named for a gross error is installed if the placement lacks it
        if (g.device_id, g.sensor_type) not in have:
            placed.append(_named_meter(solved, g, f"gross_errors[{i}]"))
            have.add((g.device_id, g.sensor_type))
    mapping = pd.DataFrame([{"device_id": device_id_of(et, e, side or None), "sensor_type": s, "element_type": et,
                             "element": e, "side": side} for s, et, e, side in placed])
    truth_values = np.array(true_values(solved, mapping.to_dict("records")))
    sn_mva = float(solved.sn_mva)
    sigma = np.array([default_std_dev(s, v, sn_mva) for s, v in zip(mapping.sensor_type, truth_values)])
    mapping["std_dev"] = sigma
    noisy = truth_values + rng.normal(0.0, 1.0, len(sigma)) * sigma
    key = list(zip(mapping.device_id, mapping.sensor_type))
    where = {k: i for i, k in enumerate(key)}
    planted: list[PlantedError] = []
    free = [i for i in range(len(key)) if key[i] not in {(g.device_id, g.sensor_type) for g in specs}]
    for i in rng.permutation(free)[:int(random_gross_errors)]:
        size = rng.uniform(*gross_error_sigma) * (1 if rng.random() < 0.5 else -1)
        specs.append(GrossError(device_id=key[i][0], sensor_type=key[i][1], size_sigma=float(size)))
    for g in specs:
        i = where[(g.device_id, g.sensor_type)]
        noisy[i] += g.size_sigma * sigma[i]
        planted.append(PlantedError(device_id=g.device_id, sensor_type=g.sensor_type, size_sigma=g.size_sigma,
                                    true_value=float(truth_values[i]), reading=float(noisy[i]), std_dev=float(sigma[i])))
    erred = {(g.device_id, g.sensor_type) for g in specs}
    candidates = [i for i in range(len(key)) if key[i] not in erred]
    gone = sorted(int(i) for i in rng.permutation(candidates)[:int(missing)])
    keep = np.ones(len(key), dtype=bool)
    keep[gone] = False
    unit = mapping.sensor_type.map({"voltage": "pu", "voltage_angle": "deg", "active_power": "MW",
                                    "reactive_power": "Mvar", "current": "A"})
    readings = pd.DataFrame({"device_id": mapping.device_id, "sensor_type": mapping.sensor_type, "value": noisy,
                             "unit": unit, "timestamp": timestamp, "quality": "good"})[keep].reset_index(drop=True)
    truth = {"vm_pu": solved.res_bus.vm_pu.copy(), "va_degree": solved.res_bus.va_degree.copy(),
             "values": pd.Series(truth_values, index=pd.MultiIndex.from_tuples(key, names=["device_id", "sensor_type"])),
             "gross_errors": planted, "missing": [key[i] for i in gone], "states": states,
             "redundancy": float(keep.sum()) / states, "net": solved}
    return MeasurementSet(readings=readings, mapping=mapping[list(MAPPING_COLUMNS)], truth=truth)
