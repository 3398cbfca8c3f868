"""IEEE 1366 indices and the 2.5-beta Major Event Day threshold against hand computations written here.

Every expected value is computed in the test from the rows it writes (sums of N_i and r_i N_i, the nested-customer
rule for CEMI_n, numpy's log/mean/std/exp for T_MED), never taken from GridSage's output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.reliability import med_threshold, reliability_frame, reliability_indices
from gridsage.tools.workspace import Workspace, use_workspace

N_T = 1000
#: six interruptions of 2025 on two feeders: two momentary, four sustained, one across midnight, one with an offset
SMALL = [
    # start, end, customers, feeder, cause            duration
    ("2025-03-01T10:00:00Z", "2025-03-01T10:02:00Z", 200, "F1", "animal"),      # 2 min, momentary
    ("2025-03-05T08:00:00Z", "2025-03-05T08:04:30Z", 300, "F2", "Equipment"),   # 4.5 min, momentary
    ("2025-04-10T12:00:00Z", "2025-04-10T13:30:00Z", 100, "F1", "vegetation"),  # 90 min
    ("2025-06-20T23:00:00Z", "2025-06-21T01:00:00Z", 250, "F1", "weather"),     # 120 min, across midnight
    ("2025-07-04T09:00:00+02:00", "2025-07-04T10:00:00+02:00", 400, "F2", "equipment"),  # 60 min
    ("2025-08-01T00:00:00Z", "2025-08-01T00:30:00Z", 50, "F1", ""),             # 30 min, blank cause
]


def small_frame() -> pd.DataFrame:
    return pd.DataFrame(SMALL, columns=["start", "end", "customers_interrupted", "feeder", "cause"])


@pytest.fixture(scope="module", autouse=True)
def workspace():
    with use_workspace(Workspace()) as ws:
        yield ws


def test_small_record_equals_the_hand_computation():
    res = reliability_frame(small_frame(), N_T, cemi_n=1)
    sustained = [(100, 90), (250, 120), (400, 60), (50, 30)]  # (N_i, r_i [min])
    ci = sum(n for n, _ in sustained)  # 800
    cmi = sum(n * r for n, r in sustained)  # 64,500 customer-minutes
    saifi, saidi = ci / N_T, cmi / N_T
    s = res.indices
    assert res.year == 2025 and res.status == "ok" and res.period_hours == 8760
    assert s.sustained_interruptions == 4 and s.momentary_interruptions == 2
    assert s.saifi == pytest.approx(0.8) and saifi == pytest.approx(0.8)
    assert s.saidi_min == pytest.approx(saidi) and saidi == pytest.approx(64.5)
    assert s.caidi_min == pytest.approx(saidi / saifi) and s.caidi_min == pytest.approx(80.625)
    assert s.asai == pytest.approx((N_T * 8760 - cmi / 60) / (N_T * 8760), rel=1e-12)
    assert s.maifi == pytest.approx((200 + 300) / N_T)
    # CEMI_1, nested customers: F1's sustained N_i are 250, 100, 50 -> the 2nd largest, 100; F2 has one (400) -> 0
    assert s.customers_more_than_n == 100 and s.cemi_n == pytest.approx(0.1)
    # no history before 2025: MEDs are not identified, and the reason says how many years there are
    assert not res.med.identified and res.indices_excluding_meds is None
    assert "0 of the 5 years" in res.med.reason
    # breakdowns: worst cause first, causes lower-cased, blank cause 'unknown'; the midnight crossing stays in June
    assert [b.key for b in res.by_cause] == ["weather", "equipment", "vegetation", "unknown", "animal"]
    equipment = next(b for b in res.by_cause if b.key == "equipment")
    assert equipment.saidi_min == pytest.approx(400 * 60 / N_T)
    assert equipment.sustained_interruptions == 1 and equipment.momentary_interruptions == 1
    months = {b.key: b.saidi_min for b in res.by_month}
    assert len(months) == 12 and months["2025-06"] == pytest.approx(250 * 120 / N_T)
    assert months["2025-07"] == pytest.approx(24.0) and months["2025-01"] == 0
    assert [b.key for b in res.by_feeder] == ["F1", "F2"]
    assert res.by_feeder[0].saidi_min == pytest.approx((9000 + 30000 + 1500) / N_T)


def test_cemi_0_and_3_follow_the_nested_rule():
    assert reliability_frame(small_frame(), N_T, cemi_n=0).indices.cemi_n == pytest.approx((250 + 400) / N_T)
    assert reliability_frame(small_frame(), N_T, cemi_n=3).indices.cemi_n == 0.0


def test_five_minutes_is_momentary_and_longer_is_sustained():
    rows = [("2025-01-01T00:00:00Z", "2025-01-01T00:05:00Z", 10, "F1", "x"),   # exactly 5 min: momentary
            ("2025-01-02T00:00:00Z", "2025-01-02T00:05:01Z", 20, "F1", "x")]   # 5 min 1 s: sustained
    res = reliability_frame(pd.DataFrame(rows, columns=["start", "end", "customers_interrupted", "feeder", "cause"]), 100)
    assert res.indices.maifi == pytest.approx(0.1) and res.indices.saifi == pytest.approx(0.2)
    assert res.indices.saidi_min == pytest.approx(20 * (5 + 1 / 60) / 100)
    # a longer momentary limit moves the second one to MAIFI
    res = reliability_frame(pd.DataFrame(rows, columns=["start", "end", "customers_interrupted", "feeder", "cause"]), 100,
                            momentary_minutes=6)
    assert res.indices.saifi == 0 and res.indices.caidi_min is None and res.indices.maifi == pytest.approx(0.3)


def synthetic_daily_saidi(seed: int = 7) -> pd.Series:
    """Five years (2020-2024) of daily SAIDI [min]: lognormal on about 40 % of days, 0 on the rest."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2020-01-01", "2024-12-31", freq="D")
    values = np.exp(rng.normal(1.0, 0.9, len(days)))
    values[rng.uniform(size=len(days)) > 0.4] = 0.0
    return pd.Series(values, index=days)


def hand_t_med(values: np.ndarray) -> tuple[float, float, float]:
    logs = np.log(values[values > 0])
    alpha, beta = logs.mean(), logs.std(ddof=1)
    return alpha, beta, float(np.exp(alpha + 2.5 * beta))


def test_med_threshold_equals_numpy_by_hand():
    history = synthetic_daily_saidi()
    alpha, beta, t_med = hand_t_med(history.to_numpy())
    got = med_threshold(history)
    assert got.alpha == pytest.approx(alpha, rel=1e-12) and got.beta == pytest.approx(beta, rel=1e-12)
    assert got.t_med_min == pytest.approx(t_med, rel=1e-12)
    assert got.days_used == int((history > 0).sum())
    with pytest.raises(InputError) as info:
        med_threshold([0.0, 0.0, 1.0])
    assert info.value.field == "daily_saidi"


def year_2025(t_med: float) -> list[tuple]:
    """Two 2025 days: an ordinary one (3 min) and a storm day (500 customers x 600 min / 1000 = 300 min)."""
    assert 3.0 < t_med < 300.0  # the planted days sit on either side of the threshold
    return [("2025-02-01T10:00:00Z", "2025-02-01T10:30:00Z", 100, "F1", "equipment"),
            ("2025-05-01T06:00:00Z", "2025-05-01T16:00:00Z", 300, "F1", "weather"),
            ("2025-05-01T18:00:00Z", "2025-05-02T04:00:00Z", 200, "F2", "vegetation"),  # into May 2: still May 1
            ("2025-05-01T08:00:00Z", "2025-05-01T08:01:00Z", 50, "F2", "weather")]  # momentary on the MED


def test_a_day_above_t_med_from_a_daily_saidi_file_is_an_med_and_excluded(tmp_path):
    history = synthetic_daily_saidi()
    _, _, t_med = hand_t_med(history.to_numpy())
    daily = tmp_path / "daily.csv"
    pd.DataFrame({"date": history.index.strftime("%Y-%m-%d"), "saidi_minutes": history.to_numpy()}).to_csv(
        daily, index=False, float_format="%.17g")
    outages = tmp_path / "outages.csv"
    small_frame().iloc[:0].pipe(lambda f: pd.DataFrame(year_2025(t_med), columns=f.columns)).to_csv(outages, index=False)
    res = reliability_indices(str(outages), N_T, daily_saidi=str(daily))
    assert res.evidence_id.startswith("ev-")
    assert res.med.identified and res.med.source == "daily_saidi" and res.med.years_available == 5
    assert res.med.threshold.t_med_min == pytest.approx(t_med, rel=1e-12)
    assert [m.date.isoformat() for m in res.major_event_days] == ["2025-05-01"]
    med = res.major_event_days[0]
    assert med.saidi_min == pytest.approx(300.0) and med.customers_interrupted == 500 and med.main_cause == "weather"
    # all days: 600 customer interruptions, 3,000 + 300,000 customer-minutes; without the MED only Feb 1 is left
    assert res.indices.saifi == pytest.approx(0.6) and res.indices.saidi_min == pytest.approx(303.0)
    assert res.indices.maifi == pytest.approx(0.05)
    wo = res.indices_excluding_meds
    assert wo.saifi == pytest.approx(0.1) and wo.saidi_min == pytest.approx(3.0) and wo.caidi_min == pytest.approx(30)
    assert wo.maifi == 0 and wo.asai == pytest.approx(1 - 3000 / 60 / (N_T * 8760), rel=1e-12)
    assert res.indices_meds.saidi_min == pytest.approx(300.0) and res.indices_meds.maifi == pytest.approx(0.05)
    may = next(b for b in res.by_month if b.key == "2025-05")
    assert may.saidi_med_min == pytest.approx(300.0)
    view = res.compact()
    assert view.t_med_min == pytest.approx(t_med, abs=1e-3) and view.major_event_days[0].saidi_min == 300.0
    assert len(view.model_dump_json()) < 3000


def test_history_taken_from_the_outage_record_itself_gives_the_same_threshold():
    """Each history day with SAIDI x becomes one interruption of 10 customers lasting 100 x min (daily SAIDI x)."""
    history = synthetic_daily_saidi(seed=11)
    history = history[history > 0]
    assert (history * 100 > 5).all()  # every history interruption is sustained
    start = history.index.tz_localize("UTC") + pd.Timedelta(hours=9)
    end = start + pd.to_timedelta(history.to_numpy() * 100 * 60e9, unit="ns")
    past = pd.DataFrame({"start": start, "end": end, "customers_interrupted": 10, "feeder": "F1", "cause": "x"})
    _, _, t_med = hand_t_med(history.to_numpy())
    now = pd.DataFrame(year_2025(t_med), columns=past.columns)
    now[["start", "end"]] = now[["start", "end"]].apply(lambda c: pd.to_datetime(c, utc=True))
    res = reliability_frame(pd.concat([past, now], ignore_index=True), N_T)
    assert res.year == 2025 and res.med.source == "outage_record"
    assert res.med.threshold.t_med_min == pytest.approx(t_med, rel=1e-6)  # times are held to the nanosecond
    assert [str(m.date) for m in res.major_event_days] == ["2025-05-01"]
    assert res.indices_excluding_meds.saidi_min == pytest.approx(3.0)


def test_fewer_than_five_years_identify_no_med_and_say_why(tmp_path):
    history = synthetic_daily_saidi()
    short = history[history.index >= "2022-01-01"]
    res = reliability_frame(pd.DataFrame(year_2025(hand_t_med(history.to_numpy())[2]),
                                         columns=small_frame().columns), N_T, daily_saidi=short)
    assert not res.med.identified and res.med.threshold is None and res.major_event_days == []
    assert res.med.years_available == 3 and "only 3 of the 5 years" in res.med.reason
    assert res.indices_excluding_meds is None and res.indices.saidi_min == pytest.approx(303.0)
    assert "not identified" in res.summary


def test_a_year_without_interruptions_reports_no_interruptions():
    res = reliability_frame(small_frame(), N_T, year=2024)
    assert res.status == "no_interruptions" and res.indices.saifi == 0 and res.indices.caidi_min is None
    assert res.indices.asai == 1.0 and res.period_hours == 8784  # 2024 is a leap year


def test_local_days_follow_tz():
    """23:30 local in Chicago on 31 Dec 2024 is 05:30 UTC on 1 Jan 2025: the year follows the zone asked for."""
    rows = [("2024-12-31T23:30:00", "2025-01-01T01:30:00", 10, "F1", "x")]
    frame = pd.DataFrame(rows, columns=small_frame().columns)
    assert reliability_frame(frame, 100, tz="America/Chicago").year == 2024
    assert reliability_frame(frame.assign(start=frame.start + "-06:00", end=frame.end + "-06:00"), 100).year == 2025
    with pytest.raises(InputError) as info:
        reliability_frame(frame, 100, tz="Mars/Olympus")
    assert info.value.field == "tz"


def test_tool_arguments_are_validated():
    with pytest.raises(InputError) as info:
        reliability_indices("x.csv", 0)
    assert info.value.field == "customers_served"


def test_daily_saidi_rows_are_checked_and_bad_ones_named(tmp_path):
    history = synthetic_daily_saidi()
    frame = pd.DataFrame({"date": history.index.strftime("%Y-%m-%d"), "saidi_minutes": history.to_numpy()})
    frame.loc[3, "saidi_minutes"] = -1.0
    frame.loc[5, "date"] = "not a day"
    frame = pd.concat([frame, frame.iloc[[10]]], ignore_index=True)  # a repeated day
    path = tmp_path / "daily_bad.csv"
    frame.to_csv(path, index=False, float_format="%.17g")
    outages = tmp_path / "o.csv"
    pd.DataFrame(year_2025(hand_t_med(history.to_numpy())[2]), columns=small_frame().columns).to_csv(outages, index=False)
    res = reliability_indices(str(outages), N_T, daily_saidi=str(path))
    assert [(r.row, r.field) for r in res.daily_saidi_rejected] == [(4, "saidi_minutes"), (6, "date"),
                                                                      (len(frame), "date")]
    kept = history.drop(history.index[[3, 5]])
    assert res.med.threshold.t_med_min == pytest.approx(hand_t_med(kept.to_numpy())[2], rel=1e-12)


def test_breakdowns_are_bounded_worst_first_with_counts():
    rows = [(f"2025-01-{1 + i % 28:02d}T00:00:00Z", f"2025-01-{1 + i % 28:02d}T01:00:00Z", 1 + i, f"F{i}", f"cause{i}")
            for i in range(40)]
    res = reliability_frame(pd.DataFrame(rows, columns=small_frame().columns), 10_000)
    assert len(res.by_cause) == 25 and res.by_cause_omitted == 15 and res.by_feeder_omitted == 15
    assert res.by_cause[0].key == "cause39" and res.by_cause[0].saidi_min == pytest.approx(40 * 60 / 10_000)
    view = res.compact()
    assert len(view.by_cause) == 5 and view.omitted["by_cause"] == 35
