"""Reading outage records (bad rows rejected and named, good rows used; files confined to the data roots) and the
outage simulator (its planted storm days are the oracle: they, and only they, must come out as Major Event Days)."""

from __future__ import annotations

import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.reliability import (read_outages, reliability_frame, reliability_indices,
                                        simulate_outage_record)
from gridsage.tools.workspace import Workspace, use_workspace

HEADER = "Start,END,customers_interrupted,feeder,cause,crew\n"


@pytest.fixture(scope="module", autouse=True)
def workspace():
    with use_workspace(Workspace()) as ws:
        yield ws


def test_bad_rows_are_rejected_with_row_field_and_reason_and_good_rows_used(tmp_path):
    path = tmp_path / "outages.csv"
    path.write_text(HEADER + "\n".join([
        "2025-01-10T08:00:00Z,2025-01-10T09:00:00Z,100,F1,vegetation,A",   # 1 good: 60 min x 100
        "2025-01-11T08:00:00Z,2025-01-11T07:00:00Z,100,F1,animal,A",       # 2 end before start
        "2025-01-12T08:00:00Z,2025-01-12T09:00:00Z,,F1,animal,A",          # 3 customers missing
        "yesterday,2025-01-13T09:00:00Z,100,F1,animal,A",                  # 4 start not a time
        "2025-01-14T08:00:00Z,2025-01-14T09:00:00Z,5000,F1,animal,A",      # 5 more than served
        "2025-01-15T08:00:00,2025-01-15T09:00:00,100,F1,animal,A",         # 6 naive times, no tz
        "2025-01-16T08:00:00Z,2025-01-16T08:30:00Z,12.5,F2,animal,A",      # 7 not a whole number
        "2025-01-17T08:00:00Z,2025-01-17T08:30:00Z,200,,,B",               # 8 good: blank feeder and cause
    ]) + "\n")
    res = reliability_indices(str(path), 1000)
    assert res.rows_read == 8 and res.rows_rejected == 6 and res.rows_in_period == 2
    assert [(r.row, r.field) for r in res.rejected_rows] == [
        (2, "end"), (3, "customers_interrupted"), (4, "start"), (5, "customers_interrupted"), (6, "start"),
        (7, "customers_interrupted")]
    reasons = {r.row: r.reason for r in res.rejected_rows}
    assert "not after start" in reasons[2] and reasons[3] == "missing" and "ISO 8601" in reasons[4]
    assert "customers served" in reasons[5] and "UTC offset" in reasons[6] and "whole number" in reasons[7]
    assert not any("yesterday" in r for r in reasons.values())  # nothing of the file is quoted
    assert res.ignored_columns == ["crew"]
    # the two good rows, by hand: 100 x 60 + 200 x 30 customer-minutes over 1000 customers
    assert res.indices.saifi == pytest.approx(0.3) and res.indices.saidi_min == pytest.approx(12.0)
    assert {b.key for b in res.by_cause} == {"vegetation", "unknown"} and "unknown" in {b.key for b in res.by_feeder}
    assert res.status == "ok" and any("rejected" in n for n in res.notes)


def test_naive_times_are_read_in_tz_and_a_dst_gap_is_rejected():
    frame = pd.DataFrame({"start": ["2025-03-09T02:30:00", "2025-07-01T10:00:00"],
                          "end": ["2025-03-09T04:00:00", "2025-07-01T11:00:00"],
                          "customers_interrupted": [5, 7], "feeder": ["F1", "F1"], "cause": ["x", "y"]})
    record = read_outages(frame, tz="America/Chicago")
    assert [(r.row, r.field) for r in record.rejected] == [(1, "start")] and "DST" in record.rejected[0].reason
    kept = record.frame.iloc[0]
    assert kept.start == pd.Timestamp("2025-07-01T15:00:00Z") and kept.duration_min == 60.0


def test_file_problems_are_input_errors_that_quote_nothing(tmp_path):
    with pytest.raises(InputError) as info:
        reliability_indices("/etc/passwd", 100)
    assert info.value.field == "outages" and "outside the data roots" in info.value.message
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\xff\xfe\x00secret-token\x81\x82\n\x00\x00")
    with pytest.raises(InputError) as info:
        reliability_indices(str(garbage), 100)
    assert info.value.field == "outages" and "secret-token" not in str(info.value)
    missing = tmp_path / "missing_column.csv"
    missing.write_text("start,end,customers,feeder,cause\n")
    with pytest.raises(InputError) as info:
        reliability_indices(str(missing), 100)
    assert "customers_interrupted" in info.value.message
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        reliability_indices(str(empty), 100)
    only_bad = tmp_path / "only_bad.csv"
    only_bad.write_text(HEADER + "x,y,1,F1,a,b\n")
    with pytest.raises(InputError, match="no valid interruption"):
        reliability_indices(str(only_bad), 100)


STORMS = ["2021-03-10", "2023-08-01", "2025-06-14", "2025-11-02"]


def test_simulator_is_deterministic_and_its_storm_days_are_the_meds(tmp_path):
    record = simulate_outage_record(years=6, customers_served=20_000, seed=3, major_events=STORMS, start_year=2020)
    again = simulate_outage_record(years=6, customers_served=20_000, seed=3, major_events=STORMS, start_year=2020)
    pd.testing.assert_frame_equal(record, again)
    assert list(record.columns) == ["start", "end", "customers_interrupted", "feeder", "cause"]
    duration = (record.end - record.start).dt.total_seconds() / 60
    assert 0.15 < (duration <= 5).mean() < 0.45  # a share of momentary interruptions
    assert record.start.dt.year.between(2020, 2025).all() and record.feeder.nunique() == 8
    path = tmp_path / "simulated.csv"
    record.to_csv(path, index=False)
    res = reliability_indices(str(path), 20_000)
    assert res.year == 2025 and res.med.identified and res.med.years_available == 5
    assert sorted(str(m.date) for m in res.major_event_days) == ["2025-06-14", "2025-11-02"]
    assert all(m.main_cause == "weather" for m in res.major_event_days)
    assert res.indices_excluding_meds.saidi_min < res.indices.saidi_min / 3
    # the oracle, by hand: the storm days' own customer-minutes over N_T exceed T_MED
    storm = record[(record.start.dt.strftime("%Y-%m-%d") == "2025-06-14") & (duration > 5)]
    assert (storm.customers_interrupted * duration[storm.index]).sum() / 20_000 > res.med.threshold.t_med_min


@pytest.mark.parametrize("seed", range(6))
def test_ordinary_days_are_never_meds(seed):
    record = simulate_outage_record(years=6, customers_served=12_000, feeders=6, seed=seed, major_events=["2025-02-02"])
    res = reliability_frame(record, 12_000)
    assert [str(m.date) for m in res.major_event_days] == ["2025-02-02"]


def test_simulator_refuses_a_storm_outside_its_years():
    with pytest.raises(InputError) as info:
        simulate_outage_record(years=2, start_year=2020, major_events=["2023-01-01"])
    assert info.value.field == "major_events"


def test_a_file_above_the_size_cap_is_refused(tmp_path, monkeypatch):
    from gridsage.errors import RequestTooLargeError
    from gridsage.tools.reliability import outages

    path = tmp_path / "big.csv"
    path.write_text(HEADER + "2025-01-10T08:00:00Z,2025-01-10T09:00:00Z,100,F1,vegetation,A\n" * 20)
    monkeypatch.setattr(outages, "MAX_FILE_BYTES", 1024)  # the cap itself, lowered: the file is about 1.3 kB
    with pytest.raises(RequestTooLargeError) as info:
        reliability_indices(str(path), 1000)
    assert info.value.field == "outages" and "bytes" in info.value.message
