"""Reading a utility's load export right, or refusing it with a fix that works (issue 17, part 2).

Every file here is written from one small hand-made frame: 30 days of hourly load [MW] that rises by 0.5 MW an hour
from 1000 MW, so every value has a thousands group and names its own hour (the oracle: value = 1000 + 0.5 * hours
since the first row; by hand, 2024-01-20 13:00 UTC is 19 * 24 + 13 = 469 h in, so 1234.5 MW).  Each messy layout
(day-first dates, semicolons, decimal commas, thousands separators, unit rows, DST) must read back to that frame, or
be refused with a fix whose option, run as suggested, then reads it back.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.forecast._load_series import MAX_UNREADABLE_SHARE, load_series_from_frame, read_load_csv
from gridsage.tools.forecast.load_forecast import forecast_load

ROOT = Path(__file__).resolve().parents[3]
START = pd.Timestamp("2024-01-01 00:00", tz="UTC")
KNOWN_TIME, KNOWN_MW = pd.Timestamp("2024-01-20 13:00", tz="UTC"), 1234.5  # worked out by hand in the docstring


def truth(start: pd.Timestamp = START, hours: int = 30 * 24) -> pd.Series:
    """Hourly load [MW]: 1000 MW at ``start``, 0.5 MW more every hour."""
    return pd.Series(1000 + 0.5 * np.arange(hours), index=pd.date_range(start, periods=hours, freq="h"))


def us(v: float) -> str:
    return f"{v:,.1f}"  # 1,234.5


def european(v: float) -> str:
    return f"{v:,.1f}".translate(str.maketrans(",.", ".,"))  # 1.234,5


def write(path: Path, load: pd.Series, time_format: str, number, sep: str = ",", header: str = "time{s}load_mw",
          unit_row: str | None = None, quote: bool = False, local_tz: str | None = None) -> Path:
    """The frame as a file: times in ``time_format`` (local in ``local_tz`` if given), numbers by ``number``."""
    times = load.index.tz_convert(local_tz) if local_tz else load.index
    q = '"' if quote else ""
    lines = [header.format(s=sep)] + ([unit_row.format(s=sep)] if unit_row else [])
    lines += [f"{t}{sep}{q}{number(v)}{q}" for t, v in zip(times.strftime(time_format), load)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def assert_reads_back(series, load: pd.Series, known: float = KNOWN_MW) -> None:
    """The series read is ``load``: same UTC times, same values, and the hand-computed value at KNOWN_TIME."""
    got = series.load_mw.dropna()
    assert got.index.equals(load.index), (got.index[:3], load.index[:3])
    np.testing.assert_allclose(got.to_numpy(), load.to_numpy(), rtol=0, atol=1e-9)
    if KNOWN_TIME in load.index:
        assert series.load_mw[KNOWN_TIME] == known


def test_the_hand_oracle_is_what_the_frame_holds():
    assert truth()[KNOWN_TIME] == KNOWN_MW and us(KNOWN_MW) == "1,234.5" and european(KNOWN_MW) == "1.234,5"


# --- dates ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("time_format, order", [("%d/%m/%Y %H:%M", "day_first"), ("%m/%d/%Y %H:%M", "month_first"),
                                                ("%d.%m.%Y %H:%M", "day_first"), ("%Y-%m-%d %H:%M", "year_first")])
def test_a_date_order_the_dates_prove_is_read_right(tmp_path, time_format, order):
    """Days 13 to 30 in the first field prove day first (the issue: 38 % of hours had landed on the wrong date)."""
    path = write(tmp_path / "load.csv", truth(), time_format, lambda v: f"{v:.1f}")
    data = read_load_csv(path)
    assert_reads_back(data, truth())
    assert data.quality.reading.date_order == order and "date_order" in data.quality.reading.detected
    assert data.quality.issues == []


def test_an_ambiguous_date_order_is_refused_and_the_suggested_option_reads_it_right(tmp_path):
    """Only days 1-12 of each month: 01/02/2024 could be 1 February or January 2, and nothing says which."""
    load = truth(hours=72 * 24)
    load = load[load.index.day <= 12]
    path = write(tmp_path / "ambiguous.csv", load, "%d/%m/%Y %H:%M", lambda v: f"{v:.1f}")
    with pytest.raises(InputError) as caught:
        read_load_csv(path)
    assert caught.value.field == "dayfirst" and "ambiguous" in caught.value.message
    assert "--dayfirst (dayfirst=True)" in caught.value.fix and "--monthfirst (dayfirst=False)" in caught.value.fix
    data = read_load_csv(path, dayfirst=True)  # the fix, as it says
    assert_reads_back(data, load)
    assert data.quality.reading.date_order == "day_first" and "date_order" not in data.quality.reading.detected
    # the other reading of the same text, asked for explicitly: 01/02 is January 2 (so the first row after
    # 2024-01-12 23:00 is 2024-02-01 00:00 read as January 2)
    other = read_load_csv(path, dayfirst=False).load_mw.dropna()
    assert other[pd.Timestamp("2024-01-02 00:00", tz="UTC")] == 1000 + 0.5 * (31 * 24)
    # ISO dates of the same days are never ambiguous
    iso = read_load_csv(write(tmp_path / "iso.csv", load, "%Y-%m-%dT%H:%M:%SZ", lambda v: f"{v:.1f}"))
    assert_reads_back(iso, load)


def test_a_dayfirst_that_the_dates_contradict_is_refused_with_the_other_option(tmp_path):
    path = write(tmp_path / "load.csv", truth(), "%d/%m/%Y %H:%M", lambda v: f"{v:.1f}")
    with pytest.raises(InputError) as caught:
        read_load_csv(path, dayfirst=False)
    assert caught.value.field == "dayfirst" and "--dayfirst (dayfirst=True)" in caught.value.fix
    assert_reads_back(read_load_csv(path, dayfirst=True), truth())


def test_a_column_mixing_both_date_orders_is_refused_and_iso_times_read_right(tmp_path):
    """A file pasted together from two exports: the first half dd/mm, the second mm/dd (both provably so)."""
    load = truth()
    half = len(load) // 2
    times = list(load.index[:half].strftime("%d/%m/%Y %H:%M")) + list(load.index[half:].strftime("%m/%d/%Y %H:%M"))
    path = tmp_path / "mixed.csv"
    pd.DataFrame({"time": times, "load_mw": load.to_numpy()}).to_csv(path, index=False)
    with pytest.raises(InputError) as caught:
        read_load_csv(path)
    assert caught.value.field == "time_col" and "mixes date orders" in caught.value.message
    assert "ISO 8601" in caught.value.fix
    assert_reads_back(read_load_csv(write(path, load, "%Y-%m-%d %H:%M", lambda v: f"{v:.1f}")), load)


# --- separators and numbers ---------------------------------------------------------------------------------------


def test_semicolons_and_decimal_commas_are_detected_and_reported(tmp_path):
    load = truth()
    temperature = pd.Series(np.round(10 + 5 * np.sin(np.arange(len(load)) / 24 * 2 * np.pi), 1), index=load.index)
    lines = ["Datum;Last_MW;Temperatur_C"] + [f"{t};{str(v).replace('.', ',')};{str(c).replace('.', ',')}"
                                              for t, v, c in zip(load.index.strftime("%Y-%m-%d %H:%M"), load, temperature)]
    path = tmp_path / "semicolon.csv"
    path.write_text("\n".join(lines) + "\n")
    data = read_load_csv(path, time_col="Datum", load_col="Last_MW", temp_col="Temperatur_C")
    assert_reads_back(data, load)
    np.testing.assert_allclose(data.covariates["temperature_c"].to_numpy(), temperature.to_numpy())
    reading = data.quality.reading
    assert (reading.sep, reading.decimal, reading.thousands) == (";", ",", None)
    assert {"sep", "decimal", "thousands"} <= set(reading.detected)
    assert "sep ';' (detected)" in data.quality.summary() and "decimal ',' (detected)" in data.quality.summary()


def test_a_semicolon_file_with_commas_in_its_header_and_numbers_is_still_read_by_semicolons(tmp_path):
    """Every line holds one ';' and one ',': both split it evenly, and the comma is the decimal mark (csv.Sniffer
    alone prefers the comma here)."""
    path = write(tmp_path / "both.csv", truth(), "%d.%m.%Y %H:%M", lambda v: f"{v:.1f}".replace(".", ","), sep=";",
                 header="Zeit{s}Last, MW")
    data = read_load_csv(path, time_col="Zeit", load_col="Last, MW")
    assert_reads_back(data, truth())
    assert (data.quality.reading.sep, data.quality.reading.decimal) == (";", ",")


@pytest.mark.parametrize("sep, number, quote, expected", [
    (",", us, True, (".", ",")),  # "1,234.5" quoted, as RFC 4180 requires in a comma-separated file
    (";", european, False, (",", ".")),  # 1.234,5
    ("\t", us, False, (".", ",")),  # 1,234.5 between tabs
    (";", lambda v: european(v).replace(".", "\u202f"), False, (",", " ")),  # 1 234,5 with a narrow no-break space
    ("|", lambda v: f"{v:,.1f}".replace(",", "'"), False, (".", "'")),  # 1'234.5 (Swiss)
])
def test_thousands_separators_are_detected_reported_and_read(tmp_path, sep, number, quote, expected):
    """The issue: 4,940 of 6,216 such values were unreadable, yet status ok, NaN forecasts and 'Peak nan MW'."""
    path = write(tmp_path / "thousands.csv", truth(), "%Y-%m-%d %H:%M", number, sep=sep, quote=quote)
    data = read_load_csv(path)
    assert_reads_back(data, truth())
    reading = data.quality.reading
    assert (reading.sep, reading.decimal, reading.thousands) == (sep, *expected)
    assert "thousands" in reading.detected and not any(i.kind == "non_numeric" for i in data.quality.issues)


def test_a_forecast_from_thousands_separated_load_is_finite(tmp_path):
    path = write(tmp_path / "eu.csv", truth(), "%d.%m.%Y %H:%M", european, sep=";")
    result = forecast_load(csv_path=str(path), horizon_h=24, method="weekly_naive")
    assert result.status == "ok" and len(result.points) == 24
    assert all(np.isfinite(p.load_mw) for p in result.points) and np.isfinite(result.peak.load_mw)
    assert result.quality.reading.thousands == "." and result.quality.reading.date_order == "day_first"
    assert result.quality.points_used == 30 * 24


def test_a_wrong_separator_is_refused_naming_the_right_one(tmp_path):
    path = write(tmp_path / "semicolon.csv", truth(), "%Y-%m-%d %H:%M", lambda v: f"{v:.1f}", sep=";")
    with pytest.raises(InputError) as caught:
        read_load_csv(path, sep=",")
    assert caught.value.field == "sep" and "--sep semicolon (sep=';')" in caught.value.fix
    assert_reads_back(read_load_csv(path, sep=";"), truth())


def test_unquoted_thousands_in_a_comma_file_are_refused_and_quoting_them_works(tmp_path):
    """1,234.5 unquoted between commas: pandas would cut the row (or shift it into the index), never silently here."""
    path = write(tmp_path / "unquoted.csv", truth(), "%Y-%m-%d %H:%M", us)
    with pytest.raises(InputError) as caught:
        read_load_csv(path)
    assert caught.value.field == "csv_path" and "more fields than the header" in caught.value.message
    assert '"1,234.5"' in caught.value.fix and "quoted" in caught.value.fix
    assert_reads_back(read_load_csv(write(path, truth(), "%Y-%m-%d %H:%M", us, quote=True)), truth())


def test_numbers_two_formats_read_differently_are_refused_and_each_option_reads_as_it_says(tmp_path):
    """Whole megawatts written 1,234: 1234 with thousands ',' or 1.234 with decimal ','; nothing in the file says."""
    load = truth().round()  # 1000, 1000, 1001, 1001, ...: every value has the shape 9,999
    path = write(tmp_path / "whole.csv", load, "%Y-%m-%d %H:%M", lambda v: f"{v:,.0f}", sep=";")
    with pytest.raises(InputError) as caught:
        read_load_csv(path)
    assert caught.value.field == "decimal" and "'9,999'" in caught.value.message
    fix = caught.value.fix
    assert "--decimal . (decimal='.') --thousands , (thousands=',')" in fix
    assert "--decimal , (decimal=',') --thousands none (thousands='none')" in fix
    assert_reads_back(read_load_csv(path, decimal=".", thousands=","), load, known=1234.0)  # 1234.5 rounds to even
    as_decimals = read_load_csv(path, decimal=",", thousands="none").load_mw
    assert as_decimals[START] == 1.0 and as_decimals[KNOWN_TIME] == 1.234  # '1,234' with a decimal comma, by hand


def test_unreadable_load_above_the_share_is_refused_never_forecast_as_nan(tmp_path):
    """MAX_UNREADABLE_SHARE = 5 %: of 720 values, 36 unreadable (5.0 %) pass with a report, 37 (5.1 %) are refused."""
    assert MAX_UNREADABLE_SHARE == 0.05
    numbers = pd.Series([f"{v:.1f}" for v in truth()], index=truth().index)
    for bad, refused in ((36, False), (37, True)):
        messy = numbers.copy()
        messy.iloc[24:24 + bad] = "n/a"
        path = tmp_path / f"bad{bad}.csv"
        pd.DataFrame({"time": truth().index.strftime("%Y-%m-%dT%H:%MZ"), "load_mw": messy}).to_csv(path, index=False)
        if not refused:
            issues = {i.kind: i for i in read_load_csv(path).quality.issues}
            assert issues["non_numeric"].count == 36
            continue
        with pytest.raises(InputError) as caught:
            read_load_csv(path)
        err = caught.value
        assert err.field == "load_col" and "'load_mw'" in err.message and "37 of 720" in err.message
        assert "n/a" not in str(err)  # counts and row numbers, never the cells
        assert "rows 26, 27, 28" in err.fix and "blank the values" in err.fix
        messy.iloc[24:24 + bad] = ""  # the fix: blank them
        pd.DataFrame({"time": truth().index.strftime("%Y-%m-%dT%H:%MZ"), "load_mw": messy}).to_csv(path, index=False)
        data = read_load_csv(path)
        gaps = {i.kind: i.count for i in data.quality.issues}
        assert gaps["gap"] == 37 and data.quality.points_used == 720 - 37


def test_a_number_format_given_wrong_is_refused_with_the_format_that_reads_the_values(tmp_path):
    path = write(tmp_path / "eu.csv", truth(), "%d/%m/%Y %H:%M", european, sep=";")
    with pytest.raises(InputError) as caught:
        read_load_csv(path, decimal=".")
    assert caught.value.field == "load_col" and "720 of 720" in caught.value.message
    assert "--decimal , (decimal=',') --thousands . (thousands='.')" in caught.value.fix
    assert_reads_back(read_load_csv(path, decimal=",", thousands="."), truth())


def test_numbers_given_as_numbers_are_never_reinterpreted():
    """Records and typed frames: 1.234 (a float) is 1.234 MW, whatever a text '1.234' might mean."""
    t = pd.date_range(START, periods=20 * 24, freq="h")
    loads = 1.234 + 0.001 * np.arange(len(t))
    frame = pd.DataFrame({"time": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "load_mw": loads}).astype(object)
    data = load_series_from_frame(frame)
    np.testing.assert_allclose(data.load_mw.to_numpy(), loads)
    assert (data.quality.reading.decimal, data.quality.reading.thousands) == (".", None)  # no text to read


# --- unit rows ----------------------------------------------------------------------------------------------------


def test_a_kw_unit_row_is_skipped_listed_and_converted_to_mw(tmp_path):
    path = write(tmp_path / "kw.csv", truth() * 1000, "%Y-%m-%d %H:%M", lambda v: f"{v:.0f}", sep=";",
                 header="Zeit{s}Last", unit_row="[UTC]{s}[kW]")
    data = read_load_csv(path, time_col="Zeit", load_col="Last")
    assert_reads_back(data, truth())  # 1 234 500 kW = 1234.5 MW
    reading = data.quality.reading
    assert (reading.load_unit, reading.load_scale, reading.unit_rows) == ("kW", 1e-3, [2])
    unit = next(i for i in data.quality.issues if i.kind == "unit_row")
    assert unit.count == 1 and unit.examples == ["row 2"] and "converted to MW" in unit.handling
    assert [i.kind for i in data.quality.issues] == ["unit_row"]


def test_an_mw_unit_row_is_skipped_and_the_column_name_unit_converts(tmp_path):
    data = read_load_csv(write(tmp_path / "mw.csv", truth(), "%Y-%m-%d %H:%M", lambda v: f"{v:.1f}",
                               header="time{s}load_mw{s}temperature_c", unit_row="{s}MW{s}°C"))
    assert_reads_back(data, truth())
    assert data.quality.reading.unit_rows == [2] and data.quality.reading.load_scale == 1
    named = read_load_csv(write(tmp_path / "named.csv", truth() * 1000, "%Y-%m-%d %H:%M", lambda v: f"{v:.0f}",
                                header="time{s}demand [kW]"), load_col="demand [kW]")
    assert_reads_back(named, truth())
    assert named.quality.reading.load_unit == "kW"


def test_a_unit_row_with_a_unit_that_is_not_power_is_refused_and_deleting_it_works(tmp_path):
    path = write(tmp_path / "mwh.csv", truth(), "%Y-%m-%d %H:%M", lambda v: f"{v:.1f}", header="time{s}load",
                 unit_row="{s}MWh")
    with pytest.raises(InputError) as caught:
        read_load_csv(path)
    assert caught.value.field == "load_col" and "delete the unit row if the values are in MW" in caught.value.fix
    assert_reads_back(read_load_csv(write(path, truth(), "%Y-%m-%d %H:%M", lambda v: f"{v:.1f}", header="time{s}load")),
                      truth())


# --- DST ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start, day, local_hours", [
    ("2024-03-20", "31/03/2024", 23),  # spring: 02:00-02:59 does not exist in Paris
    ("2024-10-15", "27/10/2024", 25),  # autumn: 02:00-02:59 happens twice
])
def test_local_time_exports_across_dst_read_every_hour_once(tmp_path, start, day, local_hours):
    """A French export: local wall-clock time, day first, semicolons, decimal commas, a unit row."""
    load = truth(pd.Timestamp(start, tz="UTC"))
    path = write(tmp_path / "paris.csv", load, "%d/%m/%Y %H:%M", lambda v: f"{v:.1f}".replace(".", ","), sep=";",
                 header="Horodate{s}Consommation", unit_row="{s}[MW]", local_tz="Europe/Paris")
    text = path.read_text()
    assert text.count(f"\n{day} ") == local_hours  # the file itself: 23 or 25 local hours that day
    data = read_load_csv(path, time_col="Horodate", load_col="Consommation", tz="Europe/Paris")
    assert_reads_back(data, load)
    assert [i.kind for i in data.quality.issues] == ["unit_row"]
    assert data.quality.reading.date_order == "day_first" and data.quality.reading.decimal == ","
    if local_hours == 25:  # both 02:00 rows, in file order: 00:00 UTC (CEST, +2) then 01:00 UTC (CET, +1)
        first = int((pd.Timestamp("2024-10-27 00:00", tz="UTC") - load.index[0]) / pd.Timedelta(hours=1))
        assert data.load_mw[pd.Timestamp("2024-10-27 00:00", tz="UTC")] == 1000 + 0.5 * first
        assert data.load_mw[pd.Timestamp("2024-10-27 01:00", tz="UTC")] == 1000 + 0.5 * (first + 1)


def test_a_local_hour_that_does_not_exist_is_dropped_and_listed(tmp_path):
    """Some meters log 02:00 on the spring day anyway: that row cannot be placed, so it is dropped and reported."""
    load = truth(pd.Timestamp("2024-03-20", tz="UTC"))
    path = write(tmp_path / "paris.csv", load, "%d/%m/%Y %H:%M", lambda v: f"{v:.1f}", local_tz="Europe/Paris")
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("31/03/2024 03:00"))
    lines.insert(at, "31/03/2024 02:00,999.0")
    path.write_text("\n".join(lines) + "\n")
    data = read_load_csv(path, tz="Europe/Paris")
    assert_reads_back(data, load)
    issue = next(i for i in data.quality.issues if i.kind == "dst_nonexistent")
    assert issue.count == 1 and issue.examples == [f"row {at + 1}: 31/03/2024 02:00"]


# --- through the CLI ----------------------------------------------------------------------------------------------


def gridsage(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridsage", *args], capture_output=True, text=True, timeout=300,
                          cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS="1"))


def test_cli_refuses_an_ambiguous_date_order_and_its_suggested_option_reads_the_file_right(tmp_path):
    load = truth(hours=72 * 24)
    load = load[load.index.day <= 12]
    path = write(tmp_path / "ambiguous.csv", load, "%d/%m/%Y %H:%M", lambda v: f"{v:.1f}")
    refused = gridsage("forecast", "--csv", str(path), "--horizon", "24", "--method", "weekly_naive")
    assert refused.returncode == 2, refused.stderr
    message = " ".join(refused.stderr.split())  # rich wraps long lines
    assert "dayfirst: the date order of column 'time' is ambiguous" in message and "Fix:" in message
    suggested = re.search(r"(--dayfirst) \(dayfirst=True\) if the day comes first", message)
    assert suggested, message
    done = gridsage("forecast", "--csv", str(path), "--horizon", "24", "--method", "weekly_naive", "-f", "json",
                    suggested[1])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "ok" and result["quality"]["reading"]["date_order"] == "day_first"
    assert pd.Timestamp(result["quality"]["end_utc"]) == load.index[-1]  # 2024-03-12 23:00 UTC, not some December
    recent = {pd.Timestamp(r["time_utc"]): r["load_mw"] for r in result["recent"] if r["load_mw"] is not None}
    assert recent and all(load[t] == v for t, v in recent.items())
    assert all(np.isfinite(p["load_mw"]) for p in result["points"])


def test_cli_backtest_takes_every_reading_option(tmp_path):
    from typer.testing import CliRunner

    from gridsage.cli import app

    path = write(tmp_path / "eu.csv", truth(), "%d.%m.%Y %H:%M", european, sep=";")
    done = CliRunner().invoke(app, ["forecast", "backtest", "--csv", str(path), "--sep", "semicolon", "--decimal", ",",
                                    "--thousands", "dot", "--dayfirst", "--origins", "2", "--horizon", "6",
                                    "--method", "weekly_naive"])
    assert done.exit_code == 0, done.output
    assert "read as: sep ';', decimal ',', thousands '.', dates day_first, load in MW" in " ".join(done.output.split())
    bad = CliRunner().invoke(app, ["forecast", "backtest", "--csv", str(path), "--sep", "colon"])
    assert bad.exit_code == 2 and "comma, semicolon, tab, pipe" in bad.output
