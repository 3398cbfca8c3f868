"""Telemetry checked against cited limits: voltage, frequency, unbalance, power factor and loading.

:func:`check_readings` takes the accepted readings of
:func:`~gridsage.tools.telemetry.ingest.read_telemetry` and returns one
:class:`MonitorFinding` per *run*: consecutive readings of one stream
(``device_id``, ``sensor_type``, in time order) outside the normal band on
the same side.  A run's severity is that of the outermost band it breaks,
and it reports that band's limit and citation.  Every limit is read from the
standards corpus (:mod:`gridsage.knowledge.limits`); where the corpus has no
figure (power factor, current unbalance) the caller must give the limit, and
until then the check is not run and a notice says so.  Readings flagged
``bad`` are not checked; ``suspect`` ones are.

Checks (sensor type [unit]: bands from inner to outer, with their severity and corpus entry):

- voltage_band (voltage [pu]): ANSI C84.1 Range A 0.95-1.05, medium (``ansi-c84-1-range-a``; the caller's
  band if given); Range B 0.917-1.058, high (``ansi-c84-1-range-b``).
- frequency_band at 50 Hz (frequency [Hz]): SO GL standard range 49.95-50.05, low (the caller's band if
  given); maximum steady-state deviation 50 +/- 0.2, medium; maximum instantaneous deviation 50 +/- 0.8,
  high (all ``eu-2017-1485-frequency-quality-continental-europe``); RfG unlimited operation 49.0-51.0,
  critical (``eu-2016-631-rfg-frequency-ranges``).
- frequency_band at 60 Hz (frequency [Hz]): ERCOT's normal operating band, scheduled 60 +/- 0.03, low (the
  caller's band if given; it is ERCOT's practice, so give the band of another interconnection); a frequency
  event, 60 +/- 0.10, medium (both ``ercot-frequency-control-normal-band``); NERC PRC-006's UFLS design band
  59.3-60.7, critical (``nerc-prc-006-ufls``): not an operating limit but the band an island's UFLS must
  bring frequency back into, so a reading outside it is beyond where UFLS designs let frequency settle.
- voltage_unbalance [%]: ANSI C84.1 Annex D, 3 %, medium (``ansi-c84-1-voltage-unbalance``).
- current_unbalance [%]: the caller's limit, medium (no corpus figure; required to check).
- power_factor [|pf|]: the caller's minimum, medium (IEEE 1459 sets none, tariffs do; required to check).
- thermal_loading (loading [%]): 100 % of rating, high (``nerc-tpl-001-facility-ratings``).

References
----------
.. [1] ANSI C84.1-2020, Table 1 (Ranges A and B) and Annex D (voltage unbalance).
.. [2] Regulation (EU) 2017/1485 (SO GL), Article 127 and Annex III, Tables 1 and 2.
.. [3] Regulation (EU) 2016/631 (RfG), Article 13(1)(a), Table 2.
.. [4] NERC PRC-006-5, R3 and Attachment 1 (UFLS design criterion).
.. [5] NERC TPL-001-5.1, Table 1 (facility ratings).
.. [6] IEEE Std 1459-2010 (power factor definitions).
.. [7] ERCOT Operating Procedure Manual, Real-Time Desk, Section 3.1 Frequency Control Operating Procedure
   (revision 22, 2017).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple, get_args

from pydantic import BaseModel, Field

from gridsage.errors import InputError, RequestTooLargeError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import cite, figure, thermal_limit, voltage_band, with_note
from gridsage.tools.base import MaxLoadingPercent, ToolResult, VmMaxPu, VmMinPu, tool
from gridsage.tools.telemetry.ingest import COLUMNS, IngestCounts, TelemetryReading, read_telemetry

#: inline readings accepted per call
MAX_RECORDS = 100_000
RANGE_B = "ansi-c84-1-range-b"
SO_GL = "eu-2017-1485-frequency-quality-continental-europe"
RFG = "eu-2016-631-rfg-frequency-ranges"
PRC_006 = "nerc-prc-006-ufls"
ERCOT_NORMAL = "ercot-frequency-control-normal-band"
UNBALANCE = "ansi-c84-1-voltage-unbalance"
POWER_FACTOR = "ieee-1459-power-factor-and-tariff-practice"

Check = Literal["voltage_band", "frequency_band", "voltage_unbalance", "current_unbalance", "power_factor",
                "thermal_loading"]
Severity = Literal["low", "medium", "high", "critical"]
CHECKS: tuple[str, ...] = get_args(Check)
_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
#: the sensor type each check reads
SENSOR_OF = {"voltage_band": "voltage", "frequency_band": "frequency", "voltage_unbalance": "voltage_unbalance",
             "current_unbalance": "current_unbalance", "power_factor": "power_factor", "thermal_loading": "loading"}


class Band(NamedTuple):
    """One tier of a check: readings outside [lower, upper] break it."""

    lower: float | None
    upper: float | None
    severity: str
    citation: Citation


class MonitorFinding(BaseModel):
    """A run of consecutive readings of one stream beyond a limit."""

    check: Check
    device_id: str
    sensor_type: str
    start_utc: datetime = Field(description="First reading of the run [UTC].")
    end_utc: datetime = Field(description="Last reading of the run [UTC].")
    n: int = Field(description="Readings in the run.")
    direction: Literal["below", "above"]
    worst_value: float = Field(description="Reading furthest beyond the band [unit]; voltage in V is shown in pu.")
    unit: str
    limit: float = Field(description="Bound of the outermost band the run breaks [limit_unit].")
    limit_unit: str
    severity: Severity
    citation: Citation
    evidence: IngestCounts | None = Field(default=None, description="Counts of the ingestion the readings came from.")


class MonitorReport(BaseModel):
    """Findings (most severe first), readings checked per check, and what was not checked."""

    findings: list[MonitorFinding] = Field(default_factory=list)
    findings_total: int = Field(0, description="All findings; findings lists at most max_findings.")
    findings_by_check: dict[str, int] = Field(default_factory=dict)
    checked: dict[str, int] = Field(default_factory=dict, description="Readings checked per check.")
    notices: list[str] = Field(default_factory=list, description="What was not checked, and why.")


class GridMonitorResult(MonitorReport, ToolResult):
    """Telemetry checked against cited limits; ``status`` is 'ok' or 'violations'."""

    counts: IngestCounts | None = Field(default=None, description="What ingestion read, kept and rejected.")


def _figures(entry_id: str, names: tuple[str, ...], note: str) -> tuple[list[float], Citation]:
    """Figures of one entry and its citation, noting any configured override."""
    found = [figure(entry_id, name) for name in names]
    return [f[0] for f in found], with_note(found[0][1], note, [f[2] for f in found if f[2]])


def voltage_tiers(vm_min_pu: float | None = None, vm_max_pu: float | None = None) -> list[Band]:
    """ANSI C84.1 Range A (medium; caller's band if given), then Range B (high) [pu]."""
    a = voltage_band(vm_min_pu, vm_max_pu)
    (low, high), citation = _figures(RANGE_B, ("vm_pu_min", "vm_pu_max"),
                                     "Outside Range B calls for prompt corrective action.")
    return [Band(a.lower, a.upper, "medium", a.citation), Band(low, high, "high", citation)]


def frequency_tiers(nominal_hz: int, normal_band_hz: tuple[float, float] | None = None) -> list[Band]:
    """Frequency bands [Hz], inner to outer, for a 50 Hz (Continental Europe) or 60 Hz (ERCOT, NERC) system.

    Parameters
    ----------
    nominal_hz : {50, 60}
    normal_band_hz : (float, float), optional
        The caller's normal band [Hz]: replaces the SO GL standard range at
        50 Hz, and ERCOT's +/-0.03 Hz operating band at 60 Hz.

    Returns
    -------
    list of Band
        Inner to outer; a reading's severity is that of the outermost band it breaks.

    Notes
    -----
    50 Hz: ``f_n +/- delta_f`` with ``f_n`` and the deviations of SO GL Annex
    III (standard range 50 mHz, steady state 200 mHz, instantaneous 800 mHz),
    then RfG Table 2's unlimited-operation range.  60 Hz: ``f_n +/- delta_f``
    with ERCOT's operating objective (``delta_f`` 0.03 Hz, low) and its
    frequency-event threshold (0.10 Hz, medium), then NERC PRC-006's
    59.3-60.7 Hz band (critical).  PRC-006 is a UFLS design criterion, the
    band a simulated island's load shedding must bring frequency back into,
    not an operating limit: it is the outer tier only, as RfG's range is at
    50 Hz (ERCOT's first UFLS stage is 59.3 Hz, as LFDD starts at 49.0 Hz).

    References
    ----------
    .. [1] Regulation (EU) 2017/1485, Annex III; Regulation (EU) 2016/631, Table 2.
    .. [2] ERCOT Operating Procedure Manual, Real-Time Desk, Section 3.1 (revision 22, 2017).
    .. [3] NERC PRC-006-5, R3 and Attachment 1.
    """
    if nominal_hz == 50:
        (f_n, lo, hi, steady, instant), so_gl = _figures(
            SO_GL, ("f_hz_nominal", "f_hz_min", "f_hz_max", "delta_f_mhz_max_steady_state",
                    "delta_f_mhz_max_instantaneous"), "Continental Europe (50 Hz) frequency quality parameters.")
        (rfg_lo, rfg_hi), rfg = _figures(RFG, ("f_hz_min_unlimited", "f_hz_max_unlimited"),
                                         "Outside 49.0-51.0 Hz generating modules need only stay connected for "
                                         "limited times; LFDD starts at 49.0 Hz.")
        normal = so_gl.model_copy(update={"note": "SO GL standard frequency range: the normal band."})
        if normal_band_hz is not None and tuple(normal_band_hz) != (lo, hi):
            normal = so_gl.model_copy(update={"note": f"User band {normal_band_hz[0]:g}-{normal_band_hz[1]:g} Hz in "
                                                      f"place of the standard range {lo:g}-{hi:g} Hz."})
            lo, hi = normal_band_hz
        return [Band(lo, hi, "low", normal),
                Band(f_n - steady / 1000, f_n + steady / 1000, "medium",
                     so_gl.model_copy(update={"note": f"Maximum steady-state deviation +/-{steady:g} mHz."})),
                Band(f_n - instant / 1000, f_n + instant / 1000, "high",
                     so_gl.model_copy(update={"note": f"Maximum instantaneous deviation +/-{instant:g} mHz."})),
                Band(rfg_lo, rfg_hi, "critical", rfg)]
    (f_n, lo, hi, event, t_recover), ercot = _figures(
        ERCOT_NORMAL, ("f_hz_nominal", "f_hz_min", "f_hz_max", "delta_f_hz_event", "t_min_recovery_after_event"),
        "ERCOT's normal operating band (scheduled frequency +/-0.03 Hz); other interconnections set their own.")
    (prc_lo, prc_hi), prc = _figures(PRC_006, ("f_hz_steady_state_min", "f_hz_steady_state_max"),
                                     "UFLS design criterion, not an operating limit: the band a simulated island's "
                                     "load shedding must bring frequency back into; frequency outside it is beyond "
                                     "where UFLS designs let it settle.")
    normal = ercot
    if normal_band_hz is not None and tuple(normal_band_hz) != (lo, hi):
        normal = ercot.model_copy(update={"note": f"User band {normal_band_hz[0]:g}-{normal_band_hz[1]:g} Hz in place "
                                                  f"of ERCOT's operating band {lo:g}-{hi:g} Hz."})
        lo, hi = normal_band_hz
    return [Band(lo, hi, "low", normal),
            Band(f_n - event, f_n + event, "medium", ercot.model_copy(update={
                "note": f"Frequency event: deviation of {event:g} Hz or more, to be recovered within "
                        f"{t_recover:g} min."})),
            Band(prc_lo, prc_hi, "critical", prc)]


def _runs(check: str, part, x, tiers: list[Band], unit: str):
    """One row per run of consecutive readings of a stream beyond the bands, on one side (None if none).

    Notes
    -----
    Per reading outside the normal band (tier 1), side = -1 below / +1 above
    and level = the outermost tier broken (0: inside the normal band; an
    outer tier the caller's normal band already contains never counts).
    After sorting by stream and time, a run starts where
    ``(stream, side if level > 0 else 0)`` changes; its worst reading is the
    one furthest out (``max(side * x)``) and its level the highest in the run.
    """
    import numpy as np
    import pandas as pd

    x = np.asarray(x, dtype=float)
    level = np.zeros(len(x), dtype=np.int64)
    side = np.zeros(len(x), dtype=np.int8)
    for k, band in enumerate(tiers, 1):
        below = x < band.lower if band.lower is not None else np.zeros(len(x), dtype=bool)
        above = x > band.upper if band.upper is not None else np.zeros(len(x), dtype=bool)
        if k == 1:  # the normal band: a reading outside it is in a run, on its side
            side[below], side[above] = -1, 1
        level = np.maximum(level, np.where((below | above) & (side != 0), k, 0))
    if not level.any():
        return None
    stream = part.groupby(["device_id", "sensor_type"], observed=True, sort=False).ngroup().to_numpy()
    ts = pd.DatetimeIndex(part["timestamp"]).asi8
    order = np.lexsort((ts, stream))
    state = np.where(level > 0, side, 0)[order]
    new = np.r_[True, (state[1:] != state[:-1]) | (stream[order][1:] != stream[order][:-1])]
    hit = state != 0
    runs = pd.DataFrame({"run": np.cumsum(new)[hit], "ts": ts[order][hit], "level": level[order][hit],
                         "score": (x * side)[order][hit], "pos": order[hit]})
    grouped = runs.groupby("run", sort=False)
    out = grouped.agg(start=("ts", "min"), end=("ts", "max"), n=("ts", "size"), level=("level", "max"))
    worst = runs.loc[grouped["score"].idxmax(), "pos"].to_numpy()
    tier = out["level"].to_numpy() - 1
    below = side[worst] < 0
    return pd.DataFrame({
        "check": check, "device_id": part["device_id"].to_numpy()[worst].astype(str),
        "sensor_type": SENSOR_OF[check], "start": out["start"].to_numpy(), "end": out["end"].to_numpy(),
        "n": out["n"].to_numpy(), "direction": np.where(below, "below", "above"), "worst": x[worst], "unit": unit,
        "limit": [tiers[t].lower if b else tiers[t].upper for t, b in zip(tier, below)],
        "severity": [tiers[t].severity for t in tier], "citation": [tiers[t].citation for t in tier]})


def check_readings(frame, *, nominal_frequency_hz: Literal[50, 60] = 50, nominal_voltage_v: float | None = None,
                   nominal_voltage_by_device: dict[str, float] | None = None, vm_min_pu: float | None = None,
                   vm_max_pu: float | None = None, frequency_band_hz: tuple[float, float] | None = None,
                   max_loading_percent: float | None = None, min_power_factor: float | None = None,
                   max_current_unbalance_percent: float | None = None, evidence: IngestCounts | None = None,
                   max_findings: int | None = None) -> MonitorReport:
    """Check accepted readings against the cited limits (see the module docstring for the bands).

    Parameters
    ----------
    frame : pandas.DataFrame
        Readings in the format of ``read_telemetry(...).accepted`` (columns
        device_id, sensor_type, value, unit, timestamp, quality; canonical units).
    nominal_frequency_hz : {50, 60}, default 50
        System frequency: picks the 50 Hz (EU) or 60 Hz (ERCOT and NERC PRC-006) bands.
    nominal_voltage_v : float, optional
        Nominal voltage [V] of voltage readings in V (same basis: phase-to-neutral or phase-to-phase).
    nominal_voltage_by_device : dict of str to float, optional
        Per-device nominal voltage [V]; takes precedence over ``nominal_voltage_v``.
    vm_min_pu, vm_max_pu : float, optional
        Normal voltage band [pu]; default ANSI C84.1 Range A.
    frequency_band_hz : (float, float), optional
        Normal frequency band [Hz] (see :func:`frequency_tiers`).
    max_loading_percent : float, optional
        Thermal limit [% of rating]; default NERC TPL-001 (100).
    min_power_factor : float, optional
        Minimum |power factor| [-], from the tariff or contract.  No default:
        no standard sets one (IEEE 1459), so without it power factor is not checked.
    max_current_unbalance_percent : float, optional
        Current-unbalance limit [%].  No default: the corpus has no figure, so
        without it current unbalance is not checked.
    evidence : IngestCounts, optional
        Ingestion counts attached to every finding.
    max_findings : int, optional
        Findings listed (most severe, then earliest, first); all are counted.

    Returns
    -------
    MonitorReport

    Raises
    ------
    InputError
        If a column is missing, or a band is empty.

    Notes
    -----
    Voltage in V is compared as ``v_pu = v / v_nominal``; power factor as
    ``|pf|`` (the sign convention of leading/lagging differs by meter).  Runs
    are judged reading by reading: durations (e.g. SO GL's 15-min time to
    restore frequency) are left to the reader of ``start_utc``/``end_utc``.
    """
    import numpy as np
    import pandas as pd

    absent = [c for c in COLUMNS if c not in frame.columns]
    if absent:
        raise InputError(f"no column {', '.join(absent)} in the readings", field="frame",
                         fix="pass the accepted frame of read_telemetry (long format, canonical units).")
    if frequency_band_hz is not None and not frequency_band_hz[0] < frequency_band_hz[1]:
        raise InputError(f"the band {tuple(frequency_band_hz)} is empty", field="frequency_band_hz",
                         fix="give (lower, upper) with lower < upper.")
    notices: list[str] = []
    bad = (frame["quality"] == "bad").to_numpy()
    if bad.any():
        notices.append(f"{int(bad.sum())} reading(s) flagged 'bad' by the source: not checked.")
    parts = {str(s): g for s, g in frame[~bad].groupby("sensor_type", observed=True, sort=False)}
    checks: list[tuple[str, Any, Any, list[Band], str]] = []
    if "voltage" in parts:
        volts = parts["voltage"]
        nominal = volts["device_id"].map(nominal_voltage_by_device or {}).astype(float)
        if nominal_voltage_v is not None:
            nominal = nominal.fillna(nominal_voltage_v)
        in_volts = (volts["unit"] == "V").to_numpy()
        nominal = np.where(in_volts, nominal.to_numpy(), 1.0)
        lost = in_volts & np.isnan(nominal)
        if lost.any():
            devices = sorted(volts["device_id"][lost].unique())
            notices.append(f"{int(lost.sum())} voltage reading(s) in V from {len(devices)} device(s) "
                           f"({', '.join(devices[:5])}{', ...' if len(devices) > 5 else ''}) not checked: no nominal "
                           "voltage (pass nominal_voltage_v or nominal_voltage_by_device).")
        volts = volts[~lost]
        checks.append(("voltage_band", volts, volts["value"].to_numpy() / nominal[~lost],
                       voltage_tiers(vm_min_pu, vm_max_pu), "pu"))
    if "frequency" in parts:
        freq = parts["frequency"]
        median = float(freq["value"].median())
        if abs(median - nominal_frequency_hz) > 0.05 * nominal_frequency_hz:
            notices.append(f"frequency readings (median {median:g} Hz) do not look like a {nominal_frequency_hz} Hz "
                           "system: not checked (set nominal_frequency_hz).")
        else:
            checks.append(("frequency_band", freq, freq["value"], frequency_tiers(nominal_frequency_hz, frequency_band_hz),
                           "Hz"))
            if nominal_frequency_hz == 60 and frequency_band_hz is None:
                notices.append("60 Hz: the normal band is ERCOT's operating band (60 +/- 0.03 Hz; +/- 0.10 Hz is a "
                               "frequency event), NERC PRC-006's 59.3-60.7 Hz the outer, UFLS design band; for "
                               "another interconnection pass its normal band as frequency_band_hz.")
    if "voltage_unbalance" in parts:
        (limit,), citation = _figures(UNBALANCE, ("voltage_unbalance_percent_max",),
                                      "NEMA definition: largest deviation from the average line voltage over the average.")
        checks.append(("voltage_unbalance", parts["voltage_unbalance"], parts["voltage_unbalance"]["value"],
                       [Band(None, limit, "medium", citation)], "%"))
    for check, sensor, given, why in (
            ("current_unbalance", "current_unbalance", max_current_unbalance_percent,
             "the corpus has no current-unbalance figure; pass max_current_unbalance_percent"),
            ("power_factor", "power_factor", min_power_factor,
             "no standard sets a minimum (IEEE 1459): pass min_power_factor from the tariff or contract")):
        if sensor in parts and given is None:
            notices.append(f"{len(parts[sensor])} {sensor} reading(s) not checked: {why}.")
    if "current_unbalance" in parts and max_current_unbalance_percent is not None:
        citation = cite(UNBALANCE, f"Current-unbalance limit {max_current_unbalance_percent:g} % set by the caller: the "
                                   "corpus has no current-unbalance figure (ANSI C84.1 Annex D limits voltage unbalance).")
        checks.append(("current_unbalance", parts["current_unbalance"], parts["current_unbalance"]["value"],
                       [Band(None, max_current_unbalance_percent, "medium", citation)], "%"))
    if "power_factor" in parts and min_power_factor is not None:
        citation = cite(POWER_FACTOR, f"Minimum |power factor| {min_power_factor:g} set by the caller (tariff or "
                                      "contract); IEEE 1459 defines power factor but sets no minimum.")
        checks.append(("power_factor", parts["power_factor"], parts["power_factor"]["value"].abs(),
                       [Band(min_power_factor, None, "medium", citation)], "-"))
    if "loading" in parts:
        limit = thermal_limit(max_loading_percent)
        checks.append(("thermal_loading", parts["loading"], parts["loading"]["value"],
                       [Band(None, limit.upper, "high", limit.citation)], "%"))
    unchecked = sorted(set(parts) - set(SENSOR_OF.values()))
    if unchecked:
        notices.append("sensor types this monitor does not check: "
                       + ", ".join(f"{s} ({len(parts[s])})" for s in unchecked) + ".")
    found = [r for r in (_runs(c, part, x, tiers, unit) for c, part, x, tiers, unit in checks) if r is not None]
    table = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=["check", "severity", "start"])
    table = (table.assign(rank=table["severity"].map(_RANK)).sort_values(["rank", "start"], kind="stable")
             .head(max_findings if max_findings is not None else len(table)))
    findings = [MonitorFinding(check=r.check, device_id=r.device_id, sensor_type=r.sensor_type,
                               start_utc=pd.Timestamp(r.start, tz="UTC").to_pydatetime(),
                               end_utc=pd.Timestamp(r.end, tz="UTC").to_pydatetime(), n=int(r.n),
                               direction=r.direction, worst_value=float(r.worst), unit=r.unit, limit=float(r.limit),
                               limit_unit=r.unit, severity=r.severity, citation=r.citation, evidence=evidence)
                for r in table.itertuples(index=False)]
    by_check = {c: sum(len(f) for f in found if f["check"].iat[0] == c) for c in CHECKS}
    return MonitorReport(findings=findings, findings_total=sum(by_check.values()),
                         findings_by_check={c: k for c, k in by_check.items() if k},
                         checked={c: len(part) for c, part, *_ in checks}, notices=notices)


@tool
def monitor_telemetry(
    path: Annotated[str | None, Field(description="CSV or JSON-lines file of readings under a data root (as for ingest_telemetry).")] = None,
    records: Annotated[list[TelemetryReading] | None, Field(description="Readings, for callers without a file.")] = None,
    tz: Annotated[str | None, Field(description="IANA zone of naive timestamps in the file; default: rejected.")] = None,
    nominal_frequency_hz: Annotated[Literal[50, 60], Field(description="System frequency [Hz]: 50 (EU network code "
                                                                       "bands) or 60 (ERCOT band, NERC PRC-006).")] = 50,
    nominal_voltage_v: Annotated[float | None, Field(gt=0, allow_inf_nan=False, description="Nominal voltage of voltage "
                                 "readings in V [V]; without it (or a per-device value) they are not checked.")] = None,
    nominal_voltage_by_device: Annotated[dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]] | None, Field(
        description="Nominal voltage per device_id [V]; takes precedence over nominal_voltage_v.")] = None,
    vm_min_pu: VmMinPu = None,
    vm_max_pu: VmMaxPu = None,
    frequency_band_hz: Annotated[tuple[float, float] | None, Field(description="Normal frequency band (lower, upper) "
                                 "[Hz]; default the SO GL standard range at 50 Hz, ERCOT's 59.97-60.03 at 60 Hz.")] = None,
    max_loading_percent: MaxLoadingPercent = None,
    min_power_factor: Annotated[float | None, Field(gt=0, le=1, description="Minimum |power factor| [-] from the tariff "
                                "or contract; no default (no standard sets one), so without it power factor is not checked.")] = None,
    max_current_unbalance_percent: Annotated[float | None, Field(gt=0, le=100, description="Current-unbalance limit [%]; "
                                             "no default (no corpus figure), so without it it is not checked.")] = None,
    max_findings: Annotated[int, Field(ge=0, le=10_000, description="Findings listed (all are counted).")] = 100,
) -> GridMonitorResult:
    """Check telemetry against cited limits: voltage band, frequency band, unbalance, power factor, thermal loading.

    Parameters
    ----------
    path : str, optional
        File of readings under a data root (:func:`gridsage.tools.paths.readable_file`); give it or ``records``.
    records : list of TelemetryReading, optional
        At most :data:`MAX_RECORDS` readings.
    tz, nominal_frequency_hz, nominal_voltage_v, nominal_voltage_by_device, vm_min_pu, vm_max_pu,
    frequency_band_hz, max_loading_percent, min_power_factor, max_current_unbalance_percent, max_findings
        As for :func:`check_readings`.

    Returns
    -------
    GridMonitorResult
        ``status`` 'violations' when there are findings, else 'ok'; each
        finding carries its citation and the ingestion counts.

    Raises
    ------
    InputError
        If neither or both of ``path`` and ``records`` are given, or as for
        :func:`~gridsage.tools.telemetry.ingest.read_telemetry`.
    RequestTooLargeError
        If ``records`` has more than :data:`MAX_RECORDS` readings, or the file
        more than :data:`~gridsage.tools.telemetry.ingest.MAX_ROWS` rows.
    """
    if (path is None) == (records is None):
        raise InputError("give the readings either as path or as records", field="path",
                         fix="pass a CSV or JSON-lines file path, or a list of readings.")
    if records is not None and len(records) > MAX_RECORDS:
        raise RequestTooLargeError(f"{len(records):,} records exceed {MAX_RECORDS:,}", field="records",
                                   fix="write the readings to a CSV or JSON-lines file and pass its path.")
    ingested = read_telemetry(path if path is not None else records, tz=tz)
    counts = ingested.counts()
    report = check_readings(ingested.accepted, nominal_frequency_hz=nominal_frequency_hz,
                            nominal_voltage_v=nominal_voltage_v, nominal_voltage_by_device=nominal_voltage_by_device,
                            vm_min_pu=vm_min_pu, vm_max_pu=vm_max_pu, frequency_band_hz=frequency_band_hz,
                            max_loading_percent=max_loading_percent, min_power_factor=min_power_factor,
                            max_current_unbalance_percent=max_current_unbalance_percent, evidence=counts,
                            max_findings=max_findings)
    if counts.rejected:
        report.notices.insert(0, f"{counts.rejected} row(s) rejected at ingestion and not checked: {ingested.summary()}.")
    return GridMonitorResult(status="violations" if report.findings_total else "ok", counts=counts,
                             **dict(report))
