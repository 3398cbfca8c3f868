"""Grid monitor: synthetic streams with known excursions give exactly those findings (runs, worst values, limits,
citations); a clean stream gives none; what cannot be checked is a notice, never a guess."""

from __future__ import annotations

import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.telemetry.monitor import check_readings, monitor_telemetry
from gridsage.tools.telemetry.ingest import read_telemetry

T0 = pd.Timestamp("2024-05-01T00:00Z")


def _stream(device: str, sensor: str, unit: str, values: list[float]) -> list[dict]:
    return [{"device_id": device, "sensor_type": sensor, "value": v, "unit": unit,
             "timestamp": (T0 + pd.Timedelta(minutes=i)).isoformat()} for i, v in enumerate(values)]


def _minute(i: int):
    return (T0 + pd.Timedelta(minutes=i)).to_pydatetime()


def _check(rows: list[dict], **kwargs):
    ingested = read_telemetry(pd.DataFrame(rows))
    return check_readings(ingested.accepted, evidence=ingested.counts(), **kwargs)


def test_known_excursions_give_exactly_those_findings():
    rows = (_stream("B1", "voltage", "pu", [1.0] * 3 + [0.93] * 5 + [1.01] * 4)          # undervoltage run, 5 readings
            + _stream("G1", "frequency", "Hz", [50.0, 50.02, 50.3, 50.42, 50.25, 50.01])  # over-frequency at 50 Hz
            + _stream("M1", "power_factor", "-", [0.97, -0.82, -0.85, 0.96])               # low |pf|
            + _stream("T1", "loading", "%", [95, 118, 131, 99, 100])                       # overload; 100 % is allowed
            + _stream("C1", "voltage", "pu", [0.99, 1.0, 1.02]))                           # clean
    report = _check(rows, min_power_factor=0.9)
    found = {f.check: f for f in report.findings}
    assert report.findings_total == len(report.findings) == 4 and set(found) == {
        "voltage_band", "frequency_band", "power_factor", "thermal_loading"}
    v = found["voltage_band"]
    assert (v.device_id, v.start_utc, v.end_utc, v.n) == ("B1", _minute(3), _minute(7), 5)
    assert (v.worst_value, v.limit, v.unit, v.direction, v.severity) == (0.93, 0.95, "pu", "below", "medium")
    assert v.citation.entry_id == "ansi-c84-1-range-a"
    f = found["frequency_band"]  # beyond the 200 mHz steady-state deviation, inside the 800 mHz one
    assert (f.start_utc, f.end_utc, f.n, f.worst_value, f.limit, f.severity) == (_minute(2), _minute(4), 3, 50.42, 50.2,
                                                                                   "medium")
    assert f.citation.entry_id == "eu-2017-1485-frequency-quality-continental-europe"
    p = found["power_factor"]
    assert (p.start_utc, p.end_utc, p.n, p.worst_value, p.limit) == (_minute(1), _minute(2), 2, 0.82, 0.9)
    assert p.citation.entry_id == "ieee-1459-power-factor-and-tariff-practice" and "0.9" in p.citation.note
    t = found["thermal_loading"]
    assert (t.start_utc, t.end_utc, t.n, t.worst_value, t.limit, t.severity) == (_minute(1), _minute(2), 2, 131, 100,
                                                                                   "high")
    assert t.citation.entry_id == "nerc-tpl-001-facility-ratings"
    assert all(x.evidence.rows_read == len(rows) for x in report.findings)
    assert report.checked == {"voltage_band": 15, "frequency_band": 6, "power_factor": 4, "thermal_loading": 5}
    assert [x.severity for x in report.findings] == ["high", "medium", "medium", "medium"]  # most severe first


def test_frequency_tiers_at_50_and_60_hz():
    rows = _stream("G1", "frequency", "Hz", [50.0, 49.96, 50.6, 50.0, 51.2, 50.0])
    report = _check(rows)
    assert [(f.worst_value, f.limit, f.severity, f.citation.entry_id) for f in report.findings] == [
        (51.2, 51.0, "critical", "eu-2016-631-rfg-frequency-ranges"),
        (50.6, 50.2, "medium", "eu-2017-1485-frequency-quality-continental-europe")]
    sixty = _stream("G2", "frequency", "Hz", [60.0, 60.05, 60.8, 60.75, 60.1])
    report = _check(sixty, nominal_frequency_hz=60)
    [f] = report.findings  # one run outside ERCOT's 60 +/- 0.03 Hz band, rated by the outermost band it breaks
    assert (f.start_utc, f.end_utc, f.n, f.worst_value, f.limit, f.severity) == (_minute(1), _minute(4), 4, 60.8, 60.7,
                                                                                   "critical")
    assert f.citation.entry_id == "nerc-prc-006-ufls" and any("PRC-006" in n for n in report.notices)
    banded = _check(sixty, nominal_frequency_hz=60, frequency_band_hz=(59.9, 60.2))
    [f] = banded.findings  # the caller's wider band keeps 60.05 and 60.1 Hz inside it
    assert (f.start_utc, f.end_utc, f.n, f.limit, f.severity) == (_minute(2), _minute(3), 2, 60.7, "critical")
    assert _check(sixty).notices[0].startswith("frequency readings (median 60.1 Hz) do not look like a 50 Hz")
    with pytest.raises(InputError):
        _check(sixty, nominal_frequency_hz=60, frequency_band_hz=(60.1, 59.9))


def test_voltage_in_volts_needs_a_nominal_and_clean_streams_give_nothing():
    rows = _stream("M1", "voltage", "V", [230, 212, 210, 231]) + _stream("M2", "voltage_unbalance", "%", [1.0, 2.5])
    report = _check(rows)
    assert report.findings == [] and report.checked["voltage_band"] == 0
    assert any("4 voltage reading(s) in V from 1 device(s) (M1) not checked" in n for n in report.notices)
    report = _check(rows, nominal_voltage_by_device={"M1": 230.0})
    [f] = report.findings
    assert (f.n, f.worst_value, f.unit, f.limit, f.severity) == (2, 210 / 230, "pu", 0.917, "high")  # below Range B
    assert f.citation.entry_id == "ansi-c84-1-range-b"
    assert _check(rows, nominal_voltage_v=230.0, vm_min_pu=0.9).findings == []  # the caller's band
    assert _check(_stream("M3", "voltage_unbalance", "%", [1.0, 3.4])).findings[0].citation.entry_id == \
        "ansi-c84-1-voltage-unbalance"


def test_unconfigured_checks_are_notices_and_the_tool_takes_records(workspace):
    rows = _stream("M1", "power_factor", "-", [0.5]) + _stream("M1", "current_unbalance", "%", [30.0])
    result = monitor_telemetry(records=rows + _stream("T1", "loading", "%", [80, 120]) + _stream("T1", "gas_ppm", "ppm", [5]))
    assert result.status == "violations" and result.evidence_id and result.counts.accepted == 5
    assert [f.check for f in result.findings] == ["thermal_loading"]
    notes = " ".join(result.notices)
    assert "power_factor reading(s) not checked" in notes and "current_unbalance reading(s) not checked" in notes
    assert "gas_ppm (1)" in notes
    both = monitor_telemetry(records=rows, min_power_factor=0.85, max_current_unbalance_percent=10)
    assert sorted(f.check for f in both.findings) == ["current_unbalance", "power_factor"]
    with pytest.raises(InputError):
        monitor_telemetry()
