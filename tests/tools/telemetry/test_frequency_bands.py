"""Frequency bands fit their use: at 60 Hz a sourced normal operating band (ERCOT, 60 +/- 0.03 Hz) flags small
excursions, and NERC PRC-006's 59.3-60.7 Hz stays the outer, UFLS design band; the 50 Hz bands are unchanged.

Oracle: the band edges are written here by hand from the sources, not read from GridSage:
* ERCOT Operating Procedure Manual, Real-Time Desk, Section 3.1 (rev. 22, 2017): hold frequency within 0.03 Hz of
  the 60 Hz schedule; a deviation of 0.10 Hz or more is a frequency event.
* NERC PRC-006-5 R3: UFLS must bring an island back between 59.3 and 60.7 Hz.
* SO GL Annex III (Continental Europe): 50 +/- 0.05 / 0.2 / 0.8 Hz; RfG Table 2: 49.0-51.0 Hz.
"""

from __future__ import annotations

import pandas as pd
import pytest

from gridsage.tools.telemetry.ingest import read_telemetry
from gridsage.tools.telemetry.monitor import check_readings, frequency_tiers, monitor_telemetry

T0 = pd.Timestamp("2026-07-01T12:00Z")
ERCOT = "ercot-frequency-control-normal-band"
PRC_006 = "nerc-prc-006-ufls"


def _rows(values: list[float], device: str = "PMU1") -> list[dict]:
    return [{"device_id": device, "sensor_type": "frequency", "value": v, "unit": "Hz",
             "timestamp": (T0 + pd.Timedelta(seconds=10 * i)).isoformat()} for i, v in enumerate(values)]


def _check(values: list[float], **kwargs):
    ingested = read_telemetry(pd.DataFrame(_rows(values)))
    return check_readings(ingested.accepted, **kwargs)


def _at(i: int):
    return (T0 + pd.Timedelta(seconds=10 * i)).to_pydatetime()


def test_small_60_hz_excursions_are_flagged_with_the_normal_band_citation():
    #            0      1      2      3      4      5     6      7
    values = [60.00, 59.95, 60.00, 60.08, 60.00, 59.2, 60.00, 60.12]
    report = _check(values, nominal_frequency_hz=60)
    got = sorted((f.start_utc, f.worst_value, f.direction, f.limit, f.severity, f.citation.entry_id)
                 for f in report.findings)
    assert got == [
        (_at(1), 59.95, "below", pytest.approx(60 - 0.03), "low", ERCOT),       # outside 59.97-60.03 only
        (_at(3), 60.08, "above", pytest.approx(60 + 0.03), "low", ERCOT),
        (_at(5), 59.2, "below", 59.3, "critical", PRC_006),                    # beyond the UFLS design band
        (_at(7), 60.12, "above", pytest.approx(60 + 0.10), "medium", ERCOT),   # a frequency event (>= 0.10 Hz)
    ]
    assert report.findings_total == 4 and report.checked == {"frequency_band": len(values)}
    assert [f.severity for f in report.findings][0] == "critical"  # most severe first


def test_nominal_60_hz_is_not_flagged_and_the_notice_names_the_bands():
    report = _check([60.0, 60.0, 60.02, 59.98, 60.03, 59.97], nominal_frequency_hz=60)  # edges are inside
    assert report.findings == [] and report.findings_total == 0
    [notice] = report.notices
    assert "ERCOT" in notice and "59.3-60.7" in notice and "PRC-006" in notice and "frequency_band_hz" in notice
    assert "no normal 60 Hz band" not in notice


def test_the_60_hz_tiers_and_what_prc_006_is_said_to_be():
    tiers = frequency_tiers(60)
    assert [(t.lower, t.upper, t.severity, t.citation.entry_id) for t in tiers] == [
        (59.97, 60.03, "low", ERCOT),
        (pytest.approx(59.9), pytest.approx(60.1), "medium", ERCOT),
        (59.3, 60.7, "critical", PRC_006)]
    prc = tiers[-1].citation
    assert "design criterion" in prc.note and "not an operating limit" in prc.note
    assert prc.standard == "NERC PRC-006" and tiers[0].citation.clause.startswith("Section 3.1")


def test_a_caller_band_at_60_hz_replaces_the_normal_band_and_keeps_the_outer_ones():
    tiers = frequency_tiers(60, (59.95, 60.05))
    assert (tiers[0].lower, tiers[0].upper, tiers[0].severity) == (59.95, 60.05, "low")
    assert "User band 59.95-60.05 Hz" in tiers[0].citation.note and "59.97-60.03" in tiers[0].citation.note
    assert [(t.lower, t.upper) for t in tiers[1:]] == [(pytest.approx(59.9), pytest.approx(60.1)), (59.3, 60.7)]
    report = _check([60.0, 59.96, 60.04, 60.0], nominal_frequency_hz=60, frequency_band_hz=(59.95, 60.05))
    assert report.findings == [] and report.notices == []


def test_the_50_hz_bands_are_unchanged():
    tiers = frequency_tiers(50)
    assert [(t.lower, t.upper, t.severity) for t in tiers] == [
        (49.95, 50.05, "low"), (pytest.approx(49.8), pytest.approx(50.2), "medium"),
        (pytest.approx(49.2), pytest.approx(50.8), "high"), (49.0, 51.0, "critical")]
    assert [t.citation.entry_id for t in tiers] == ["eu-2017-1485-frequency-quality-continental-europe"] * 3 + [
        "eu-2016-631-rfg-frequency-ranges"]
    report = _check([50.0, 49.96, 50.0, 50.03, 50.0])
    assert report.findings == []  # 49.96 and 50.03 Hz are inside the SO GL standard range
    report = _check([50.0, 49.94, 50.0])
    [f] = report.findings
    assert (f.limit, f.severity, f.citation.entry_id) == (49.95, "low",
                                                          "eu-2017-1485-frequency-quality-continental-europe")


def test_the_tool_flags_a_60_hz_excursion_from_records():
    result = monitor_telemetry(records=_rows([60.0, 60.0, 60.06, 60.05, 60.0]), nominal_frequency_hz=60)
    assert result.status == "violations" and result.findings_total == 1
    [f] = result.findings
    assert (f.start_utc, f.end_utc, f.n, f.worst_value, f.severity) == (_at(2), _at(3), 2, 60.06, "low")
    assert f.citation.entry_id == ERCOT and f.citation.standard.startswith("ERCOT")
