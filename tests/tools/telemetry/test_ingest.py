"""Telemetry ingestion: per-row rejection with row number and field, identical results from CSV, JSON lines and
DataFrames, unit conversion, time zones, bounds, the typed reading and the ingest tool."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pandas as pd
import pytest
from pydantic import ValidationError

from gridsage.errors import InputError, RequestTooLargeError
from gridsage.tools.telemetry import ingest as telemetry
from gridsage.tools.telemetry.ingest import COLUMNS, TelemetryReading, ingest_telemetry, read_telemetry

HEADER = "device_id,sensor_type,value,unit,timestamp,quality"
ROWS = [  # (csv line, expected: None if accepted, else the field at fault)
    ("M1,voltage,230.0,V,2024-05-01T00:00:00Z,good", None),
    ("M1,voltage,231.5,V,2024-05-01T00:01:00Z,good", None),
    ("M1,voltage,229.0,furlong,2024-05-01T00:02:00Z,good", "unit"),
    ("M1,voltage,NaN,V,2024-05-01T00:03:00Z,good", "value"),
    ("M1,voltage,abc,V,2024-05-01T00:04:00Z,good", "value"),
    ("M1,voltage,230.2,V,2024-05-01T00:05:00,good", "timestamp"),        # naive
    ("M1,voltage,230.4,V,2024-05-01T00:00:30Z,good", "timestamp"),       # before row 2 of its stream
    ("M1,vibration,1.0,mm/s,2024-05-01T00:06:00Z,good", "sensor_type"),
    ("M2,frequency,50.01,Hz,2024-05-01T00:00:00Z,", None),              # earlier than M1's rows: another stream
    ("M1,current,12.5,A,2024-04-30T23:00:00Z,suspect", None),            # earlier again, another stream
    ("M1,voltage,0.4,kV,2024-05-01T00:07:00Z,good", None),
    ("M2,frequency,49.99,Hz,2024-05-01T02:01:00+02:00,good", None),      # 00:01 UTC
]
GOOD = [i + 1 for i, (_, bad) in enumerate(ROWS) if bad is None]


def _records() -> list[dict]:
    """The rows as JSON-like objects: numbers where numeric, no quality key where it is blank."""
    out = []
    for line, _ in ROWS:
        record = dict(zip(HEADER.split(","), line.split(",")))
        try:
            record["value"] = float(record["value"]) if record["value"] != "NaN" else record["value"]
        except ValueError:
            pass
        if not record["quality"]:
            del record["quality"]
        out.append(record)
    return out


@pytest.fixture
def csv_path(tmp_path):
    path = tmp_path / "readings.csv"
    path.write_text("\n".join([HEADER] + [line for line, _ in ROWS]) + "\n", encoding="utf-8")
    return path


def test_csv_rejects_each_bad_row_with_its_number_and_field_and_keeps_every_good_row(csv_path):
    result = read_telemetry(csv_path)
    assert result.rows_read == len(ROWS) == len(result.accepted) + len(result.rejected)
    assert [(r.row, r.field) for r in result.rejected] == [(i + 1, bad) for i, (_, bad) in enumerate(ROWS) if bad]
    reasons = {r.row: r.reason for r in result.rejected}
    assert "furlong" in reasons[3] and "not finite" in reasons[4] and "'abc' is not a number" in reasons[5]
    assert "no UTC offset" in reasons[6] and "not after" in reasons[7] and "vibration" in reasons[8]
    assert result.rejected[0].raw["unit"] == "furlong"
    accepted = result.accepted
    assert list(accepted.columns) == list(COLUMNS) and list(accepted.index) == GOOD
    assert str(accepted["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert accepted["value"].tolist() == [230.0, 231.5, 50.01, 12.5, 400.0, 49.99]  # 0.4 kV -> 400 V
    assert accepted["unit"].astype(str).tolist() == ["V", "V", "Hz", "A", "V", "Hz"]
    assert accepted["quality"].astype(str).tolist() == ["good", "good", "good", "suspect", "good", "good"]
    assert accepted["timestamp"].iloc[-1] == pd.Timestamp("2024-05-01T00:01:00Z")
    counts = result.counts()
    assert (counts.accepted, counts.rejected, counts.streams) == (6, 6, 3)
    assert counts.rejected_by_field == {"unit": 1, "value": 2, "timestamp": 2, "sensor_type": 1}
    assert "6 accepted in 3 streams, 6 rejected" in result.summary()


def test_json_lines_and_dataframe_give_the_same_result(csv_path, tmp_path):
    expected = read_telemetry(csv_path)
    jsonl = tmp_path / "readings.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    frames = [read_telemetry(jsonl), read_telemetry(pd.DataFrame(_records())),
              read_telemetry(pd.read_csv(csv_path, dtype=str, keep_default_na=False))]
    for got in frames:
        pd.testing.assert_frame_equal(got.accepted, expected.accepted)
        assert [(r.row, r.field) for r in got.rejected] == [(r.row, r.field) for r in expected.rejected]


def test_naive_times_are_local_to_tz_and_dst_gaps_are_rejected(tmp_path):
    path = tmp_path / "local.csv"
    path.write_text(f"{HEADER}\nT1,loading,80,%,2024-03-31 01:30:00,\nT1,loading,81,%,2024-03-31 02:30:00,\n"
                    "T1,loading,82,%,2024-03-31 03:30:00,good\n", encoding="utf-8")
    result = read_telemetry(path, tz="Europe/Paris")
    assert [(r.row, r.field) for r in result.rejected] == [(2, "timestamp")]  # 02:30 does not exist that night
    assert "DST" in result.rejected[0].reason
    assert result.accepted["timestamp"].tolist() == [pd.Timestamp("2024-03-31T00:30Z"), pd.Timestamp("2024-03-31T01:30Z")]
    with pytest.raises(InputError) as err:
        read_telemetry(path, tz="Mars/Olympus")
    assert err.value.field == "tz"


def test_missing_fields_physical_range_and_duplicates_are_rejected():
    frame = pd.DataFrame({"device_id": ["A", "", "A", "A", "A"],
                          "sensor_type": ["power_factor"] * 5,
                          "value": ["0.9", "0.9", "1.2", "0.95", "0.96"],
                          "unit": ["-"] * 5,
                          "timestamp": ["2024-01-01T00:00Z", "2024-01-01T00:01Z", "2024-01-01T00:02Z",
                                        "2024-01-01T00:00Z", "2024-01-01T00:03Z"]})
    result = read_telemetry(frame)
    assert [(r.row, r.field) for r in result.rejected] == [(2, "device_id"), (3, "value"), (4, "timestamp")]
    assert "physical range" in result.rejected[1].reason
    assert result.accepted.index.tolist() == [1, 5]
    with pytest.raises(InputError) as err:
        read_telemetry(frame.drop(columns="unit"))
    assert err.value.field == "unit"


def test_too_many_rows_is_refused(monkeypatch):
    monkeypatch.setattr(telemetry, "MAX_ROWS", 3)
    with pytest.raises(RequestTooLargeError):
        read_telemetry(pd.DataFrame(_records()))


def test_malformed_lines_are_errors_not_dropped(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_records()[0]) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 2"):
        read_telemetry(path)
    path = tmp_path / "long.csv"
    path.write_text(f"{HEADER}\n{ROWS[0][0]}\n{ROWS[1][0]},extra\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 3"):
        read_telemetry(path)


def test_reading_model_validates_unit_time_and_value():
    reading = TelemetryReading(device_id="T1", sensor_type="voltage", value=11.2, unit="kV",
                               timestamp="2024-05-01T12:00:00+02:00")
    assert reading.timestamp == datetime(2024, 5, 1, 10, tzinfo=timezone.utc) and reading.quality == "good"
    for bad in ({"unit": "Hz"}, {"timestamp": "2024-05-01T12:00:00"}, {"value": float("nan")}, {"value": -1.0}):
        with pytest.raises(ValidationError):
            TelemetryReading(**{"device_id": "T1", "sensor_type": "voltage", "value": 11.2, "unit": "kV",
                                "timestamp": "2024-05-01T12:00:00Z", **bad})
    local = TelemetryReading.model_validate({"device_id": "T1", "sensor_type": "frequency", "value": 50, "unit": "Hz",
                                             "timestamp": "2024-01-01T01:00:00"}, context={"tz": "Europe/Paris"})
    assert local.timestamp == datetime(2024, 1, 1, tzinfo=timezone.utc)
    frame = read_telemetry([reading, local]).accepted
    assert frame["value"].tolist() == [11200.0, 50.0] and frame["unit"].astype(str).tolist() == ["V", "Hz"]


def test_ingest_tool_reports_counts_streams_and_first_rejected_rows(csv_path, workspace):
    result = ingest_telemetry(str(csv_path), max_rejected=2)
    assert result.status == "rows_rejected" and result.evidence_id
    assert (result.counts.rows_read, result.counts.accepted, result.counts.rejected) == (12, 6, 6)
    assert [(r.row, r.field) for r in result.rejected_rows] == [(3, "unit"), (4, "value")]
    streams = {(s.device_id, s.sensor_type): s for s in result.streams}
    assert set(streams) == {("M1", "voltage"), ("M1", "current"), ("M2", "frequency")}
    assert streams[("M1", "voltage")].n == 3 and streams[("M2", "frequency")].last_utc == datetime(2024, 5, 1, 0, 1,
                                                                                                  tzinfo=timezone.utc)
    with pytest.raises(InputError):
        ingest_telemetry(str(csv_path.with_name("missing.csv")))
