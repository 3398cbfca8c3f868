"""Load forecasting tools: multi-horizon forecasts with quantiles, rolling-origin backtests, exceedance risk.

The series comes from a CSV file or inline records (:mod:`._load_series`,
which reports every data problem); the models are in :mod:`._model`.
Weather, in order of preference: the temperature column supplied with the
data (rows after the last load value are the forecast); Open-Meteo, only
when the caller gives a latitude and longitude (:mod:`._weather`); else none,
with a notice saying so.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from gridsage.errors import InputError
from gridsage.tools._threads import limited_threads
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.forecast._load_series import DataQualityReport

#: inline records accepted per call
MAX_RECORDS = 60_000
#: longest horizon [h]
MAX_HORIZON_H = 168
#: history returned with a forecast, for plots and charts [h]
RECENT_HOURS = 72
#: days of history whose daily peaks are summarised [d]
RECENT_DAYS = 28
Method = Literal["auto", "gbm", "mstl", "seasonal_naive", "weekly_naive"]


#: how a CSV is written, when detection is not wanted or cannot decide (see tools/forecast/_load_series.py)
CsvSep = Annotated[Literal[",", ";", "\t", "|"] | None, Field(description="Field separator of the CSV: ',', ';', tab or '|' (default: detected).")]
CsvDecimal = Annotated[Literal[".", ","] | None, Field(description="Decimal mark of the numbers: '.' or ',' (default: detected).")]
CsvThousands = Annotated[Literal[",", ".", " ", "'", "none"] | None, Field(description="Thousands separator of the numbers: ',', '.', ' ', \"'\" or 'none' (default: detected).")]
DayFirst = Annotated[bool | None, Field(description="True: 01/02/2024 is 1 February (dd/mm/yyyy); False: January 2 (mm/dd/yyyy). Default: detected; refused when the dates do not prove it. ISO dates need none.")]


class LoadRecord(BaseModel):
    """One load reading, for callers without a file."""

    time: str = Field(description="ISO 8601 time; with an offset (Z, +10:00) or local time in tz.")
    load_mw: float | str | None = Field(description="Load [MW].")
    temperature_c: float | str | None = Field(default=None, description="Air temperature [°C].")


class ForecastPoint(BaseModel):
    """The forecast for one time step."""

    time_utc: datetime
    time_local: str
    load_mw: float = Field(description="Point forecast [MW].")
    quantiles_mw: dict[str, float] = Field(description="Forecast quantiles [MW] by level, e.g. {'p10': ..., 'p90': ...}.")
    exceedance_probability: float | None = Field(default=None, description="P(load > capacity_mw) [-], when a capacity is given.")


class LoadReading(BaseModel):
    """An observed load value."""

    time_utc: datetime
    load_mw: float | None = Field(description="Observed load [MW]; None where missing.")


class RecentPeaks(BaseModel):
    """Daily peaks of the recent history (local days), the yardstick for the forecast peak."""

    days: int = Field(description="Whole local days summarised.")
    median_mw: float = Field(description="Median daily peak [MW].")
    max_mw: float = Field(description="Highest daily peak [MW].")


class PeakSummary(BaseModel):
    """The forecast peak over the horizon."""

    time_utc: datetime
    time_local: str
    load_mw: float = Field(description="Point forecast at the peak [MW].")
    quantiles_mw: dict[str, float]


class TrainingWindow(BaseModel):
    """What the model learnt from."""

    start_utc: datetime
    end_utc: datetime
    origins: int = Field(description="Daily forecast origins in the training set.")


class ForecastResult(ToolResult):
    """A multi-horizon load forecast with quantiles, the model used, its training window and the data report."""

    method: str = Field(description="Model used: gbm, mstl, seasonal_naive or weekly_naive, or one per horizon block, e.g. 'seasonal_naive[0-6 h]+gbm[6-48 h]'.")
    candidates_mape: dict[str, float] = Field(description="Each candidate's rolling-origin cross-validation MAPE [%]; 'auto' keeps gbm unless another is significantly better (see fit_forecaster).")
    horizon_h: float
    step_minutes: float
    quantiles: list[float]
    training_window: TrainingWindow
    weather: str = Field(description="Where the temperature came from, or 'none'.")
    notices: list[str] = Field(default_factory=list, description="What the caller should know (e.g. forecasting without weather).")
    quality: DataQualityReport
    peak: PeakSummary
    capacity_mw: float | None = None
    hours_at_risk: float | None = Field(default=None, description="Hours with P(load > capacity) >= 0.1 [h].")
    recent: list[LoadReading] = Field(description=f"The last {RECENT_HOURS} h of observed load, for plots.")
    recent_peaks: RecentPeaks = Field(description=f"Daily peaks of the last {RECENT_DAYS} days of history.")
    points: list[ForecastPoint]


class BacktestRow(BaseModel):
    """Scores of one method over one horizon band."""

    method: str
    horizon_band: str = Field(description="e.g. '24-48 h' (day-ahead).")
    mape_percent: float
    mae_mw: float
    pinball_mw: float = Field(description="Mean pinball loss over the quantile levels [MW].")
    coverage: float = Field(description="Share of actuals inside the outermost quantile pair [-].")
    point_inside_band: float = Field(default=1.0, description="Share of steps whose point forecast lies inside the outermost quantile pair [-].")
    n: int = Field(description="Forecast-actual pairs scored.")


class BacktestResult(ToolResult):
    """Rolling-origin backtest of the model and the naive baselines."""

    method: str
    train_window: TrainingWindow
    test_origins: int
    first_origin_utc: datetime
    last_origin_utc: datetime
    horizon_h: float
    quantiles: list[float]
    weather: str
    notices: list[str] = Field(default_factory=list)
    quality: DataQualityReport
    candidates_mape: dict[str, float] = Field(default_factory=dict, description="Each candidate's rolling-origin cross-validation MAPE on the training window [%]; 'auto' keeps gbm unless another is significantly better.")
    rows: list[BacktestRow] = Field(description="Scores per method and horizon band: the model chosen and every other candidate that ran (the naive baselines always).")


SeriesArgs = dict[str, Any]


def _series(csv_path: str | None, records: list[LoadRecord] | None, args: SeriesArgs):
    from gridsage.tools.forecast._load_series import load_series_from_frame, read_load_csv

    if (csv_path is None) == (records is None):
        raise InputError("give the load either as csv_path or as records", field="csv_path",
                         fix="pass a CSV path (with a header row), or a list of {time, load_mw, temperature_c} records.")
    if csv_path is not None:
        return read_load_csv(csv_path, **args)
    if not records:
        raise InputError("records is empty", field="records",
                         fix="give hourly {time, load_mw, temperature_c} records (the history to learn from), or a csv_path.")
    import pandas as pd

    frame = pd.DataFrame([r.model_dump() for r in records]).astype(object)
    if frame["temperature_c"].isna().all():
        frame = frame.drop(columns="temperature_c")
    return load_series_from_frame(frame, "time", "load_mw", "temperature_c" if "temperature_c" in frame else None,
                                  args.get("tz"), decimal=args.get("decimal"), thousands=args.get("thousands"),
                                  dayfirst=args.get("dayfirst"))


def _weather(series, steps: int, latitude: float | None, longitude: float | None) -> tuple[Any, str, list[str]]:
    """Covariates to use, where they came from, and notices (never fails: no weather is a notice)."""
    import pandas as pd

    from gridsage.tools.forecast._weather import WeatherUnavailable, fetch_temperature

    cov, notices = series.covariates, []
    has_temp = "temperature_c" in cov and cov["temperature_c"].notna().any()
    ahead = series.quality.covariate_steps_ahead
    if has_temp and ahead >= steps:
        return cov, "supplied temperature column (history and forecast rows)", notices
    if latitude is not None and longitude is not None:
        end = series.load_mw.index[-1] + steps * series.step
        start = end - pd.Timedelta(days=3 * 365) if not has_temp else series.load_mw.index[-1]
        start = max(start, series.load_mw.index[0])
        try:
            fetched = fetch_temperature(latitude, longitude, start, end)
        except WeatherUnavailable as exc:
            notices.append(f"Open-Meteo unavailable ({exc.message}); forecasting without weather.")
        else:
            grid = pd.date_range(series.load_mw.index[0], end, freq=series.step)
            fetched = fetched.reindex(grid).interpolate(limit=int(pd.Timedelta(hours=1) / series.step))
            merged = cov.reindex(grid) if len(cov.columns) else pd.DataFrame(index=grid)
            merged["temperature_c"] = merged["temperature_c"].fillna(fetched) if has_temp else fetched
            return merged, f"Open-Meteo at {latitude:.4f}, {longitude:.4f}" + (" (horizon only)" if has_temp else ""), notices
    if has_temp:
        notices.append(f"the temperature column covers {ahead} of the {steps} forecast steps; forecasting without "
                       "weather (add future temperature rows, or pass latitude and longitude for Open-Meteo).")
    else:
        notices.append("no temperature supplied: forecasting from calendar and load history only (add a temperature "
                       "column, or pass latitude and longitude for Open-Meteo).")
    return None, "none", notices


def _labels(quantiles) -> list[str]:
    return [f"p{round(q * 100):g}" for q in quantiles]


def _exceedance(bands, quantiles, capacity_mw: float):
    """P(load > capacity) per step [-] from the quantiles: linear between them, normal tails beyond.

    Notes
    -----
    Between two forecast quantiles the CDF is interpolated linearly; beyond the
    outermost pair a normal tail with sigma = (q_hi - q_lo) / (z_hi - z_lo) is used,
    so the probability decays smoothly instead of jumping to 0 or 1.
    """
    import numpy as np
    from scipy.stats import norm

    qs = np.asarray(quantiles)
    z_lo, z_hi = norm.ppf(qs[0]), norm.ppf(qs[-1])
    lo, hi = bands[..., 0], bands[..., -1]
    sigma = np.maximum((hi - lo) / (z_hi - z_lo), 1e-9)
    inside = np.array([np.interp(capacity_mw, row, qs) for row in bands.reshape(-1, len(qs))]).reshape(lo.shape)
    cdf = np.where(capacity_mw <= lo, norm.cdf(z_lo + (capacity_mw - lo) / sigma),
                   np.where(capacity_mw >= hi, norm.cdf(z_hi + (capacity_mw - hi) / sigma), inside))
    return 1 - cdf


def _recent_peaks(data) -> RecentPeaks:
    import pandas as pd

    load = data.load_mw
    local = load[load.index > load.index[-1] - pd.Timedelta(days=RECENT_DAYS)].tz_convert(data.tz)
    daily = local.groupby(local.index.date).max().dropna()
    return RecentPeaks(days=len(daily), median_mw=round(float(daily.median()), 3), max_mw=round(float(daily.max()), 3))


def _check_quantiles(quantiles: list[float]) -> tuple[float, ...]:
    qs = tuple(sorted(set(quantiles)))
    if len(qs) < 2 or qs[0] >= 0.5 or qs[-1] <= 0.5:
        raise InputError(f"quantiles {list(quantiles)} need levels below and above 0.5", field="quantiles",
                         fix="e.g. [0.1, 0.5, 0.9].")
    return qs


@tool
def forecast_load(
    csv_path: Annotated[str | None, Field(max_length=4096, description="CSV file with a header row: time, load [MW], optional temperature [°C]; under a data root (GRIDSAGE_DATA_DIRS), relative paths are looked up there.")] = None,
    records: Annotated[list[LoadRecord] | None, Field(max_length=MAX_RECORDS, description="Inline readings instead of a file.")] = None,
    time_col: Annotated[str | None, Field(description="Time column (default: guessed, e.g. 'time').")] = None,
    load_col: Annotated[str | None, Field(description="Load column [MW] (default: guessed, e.g. 'load_mw', 'demand').")] = None,
    temp_col: Annotated[str | None, Field(description="Temperature column [°C] (default: guessed, e.g. 'temperature').")] = None,
    tz: Annotated[str | None, Field(description="IANA zone for calendar features and naive times, e.g. 'Australia/Melbourne'. Default UTC.")] = None,
    series_col: Annotated[str | None, Field(description="Column naming the series in a long file, e.g. 'unique_id'.")] = None,
    series: Annotated[str | None, Field(description="Series to keep when series_col is given, e.g. 'FR'.")] = None,
    sep: CsvSep = None,
    decimal: CsvDecimal = None,
    thousands: CsvThousands = None,
    dayfirst: DayFirst = None,
    horizon_h: Annotated[float, Field(gt=0, le=MAX_HORIZON_H, description="Hours ahead [h].")] = 48,
    quantiles: Annotated[list[float], Field(min_length=2, max_length=9, description="Levels in (0, 1), e.g. [0.1, 0.5, 0.9].")] = [0.1, 0.5, 0.9],
    method: Annotated[Method, Field(description="'auto' picks the lowest rolling-origin cross-validation MAPE among gbm, mstl (when fast enough) and the naive baselines.")] = "auto",
    country: Annotated[str | None, Field(max_length=8, description="Holiday calendar country (ISO 3166), e.g. 'AU'.")] = None,
    subdiv: Annotated[str | None, Field(max_length=16, description="Holiday subdivision, e.g. 'VIC'.")] = None,
    latitude: Annotated[float | None, Field(ge=-90, le=90, description="Site latitude for Open-Meteo weather [deg].")] = None,
    longitude: Annotated[float | None, Field(ge=-180, le=180, description="Site longitude for Open-Meteo weather [deg].")] = None,
    capacity_mw: Annotated[float | None, Field(gt=0, allow_inf_nan=False, description="Capacity to test against [MW]: gives P(load > capacity) per step.")] = None,
) -> ForecastResult:
    """Forecast load 1 h to 168 h ahead with quantiles, from a load history and optional temperature.

    Parameters
    ----------
    csv_path : str, optional
        CSV file (``.csv``) under a data root (:func:`gridsage.tools.paths.readable_file`: absolute, or relative to
        a root; ``~`` is not expanded); or ``records``.
    records : list of LoadRecord, optional
        Inline readings (at most :data:`MAX_RECORDS`).
    time_col, load_col, temp_col : str, optional
        Column names; guessed from common names when omitted.
    tz : str, optional
        IANA time zone of the site (calendar features, naive times). Default UTC.
    series_col, series : str, optional
        Pick one series from a long file.
    sep : {',', ';', '\\t', '|'}, optional
        Field separator of the CSV file.  Default: detected (:func:`csv.Sniffer`); reported in
        ``quality.reading``.
    decimal : {'.', ','}, optional
        Decimal mark of the numbers.  Default: detected (the format that reads the most values; refused when two
        formats read a value differently, e.g. ``1,234``).
    thousands : {',', '.', ' ', "'", 'none'}, optional
        Thousands separator of the numbers ('none': they have none).  Default: detected.
    dayfirst : bool, optional
        Date order of numeric dates: True for dd/mm/yyyy, False for mm/dd/yyyy.  Default: detected (a first field
        above 12 proves day first, a second one month first); refused when nothing proves it.  Year-first (ISO 8601)
        dates are never ambiguous.
    horizon_h : float, default 48
        Forecast horizon [h], at most :data:`MAX_HORIZON_H`.
    quantiles : list of float, default [0.1, 0.5, 0.9]
        Probability levels [-]; need one below and one above 0.5.
    method : {'auto', 'gbm', 'mstl', 'seasonal_naive', 'weekly_naive'}, default 'auto'
        ``'auto'`` picks the lowest MAPE over :data:`~gridsage.tools.forecast._model.CV_FOLDS` rolling-origin
        folds, and per 6-h horizon block another candidate where it is clearly better there (the method is then
        named per block, e.g. ``seasonal_naive[0-6 h]+gbm[6-48 h]``); ``mstl`` takes part only while the work it
        needs stays under :data:`~gridsage.tools.forecast._model.MSTL_BUDGET_POINTS` (a notice says when it was
        left out).
    country, subdiv : str, optional
        Public-holiday calendar.
    latitude, longitude : float, optional
        Site location [deg]; Open-Meteo is asked only when these are given
        and the data has no temperature for the horizon.
    capacity_mw : float, optional
        Capacity [MW]; adds P(load > capacity) per step and the hours at risk.

    Returns
    -------
    ForecastResult
        Point and quantile forecasts [MW] per step (the point forecast is the
        P50 and lies inside every band; the bands are split-conformal on the
        chosen model's rolling-origin errors), the peak, the method and every
        candidate's cross-validation MAPE [%], the training window, the
        weather source and the data-quality report.

    Raises
    ------
    InputError
        If the data cannot be used (no such file under the data roots, a path
        outside them, no such column, under two weeks of history, no regular
        step), or the arguments are inconsistent.  No message quotes the file.

    References
    ----------
    See :mod:`gridsage.tools.forecast._model` (models, conformal quantiles) and
    :func:`_exceedance` (exceedance probability).
    """
    import numpy as np

    from gridsage.tools.forecast import _model as fm

    qs = _check_quantiles(quantiles)
    data = _series(csv_path, records, dict(time_col=time_col, load_col=load_col, temp_col=temp_col, tz=tz,
                                           decimal=decimal, thousands=thousands, dayfirst=dayfirst,
                                           **({"series_col": series_col, "series": series, "sep": sep}
                                              if csv_path else {})))
    steps = max(1, int(round(horizon_h * 60 / data.quality.step_minutes)))
    cov, weather, notices = _weather(data, steps, latitude, longitude)
    ctx = fm.build_context(data.load_mw, cov, data.tz, steps, country, subdiv, use_weather=cov is not None)
    if not country:
        notices.append("no holiday calendar: pass country (and subdiv) so public holidays are features.")
    with limited_threads():
        chosen, models, cv = fm.fit_candidates(ctx, steps, qs, method)
        model = models[chosen]
        point, bands = model.predict(ctx, np.array([ctx.last]))
    notices.extend(cv.notices)
    point, bands = point[0], bands[0]
    times = ctx.index[ctx.last + 1: ctx.last + 1 + steps]
    local = times.tz_convert(data.tz)
    labels = _labels(qs)
    risk = _exceedance(bands, qs, capacity_mw) if capacity_mw else None
    points = [ForecastPoint(time_utc=t.to_pydatetime(), time_local=loc.isoformat(), load_mw=round(float(p), 3),
                            quantiles_mw={lab: round(float(v), 3) for lab, v in zip(labels, b)},
                            exceedance_probability=None if risk is None else round(float(risk[i]), 4))
              for i, (t, loc, p, b) in enumerate(zip(times, local, point, bands))]
    top = int(np.argmax(point))
    first_origin = fm.training_origins(ctx, ctx.last + 1, steps)[0]
    return ForecastResult(
        status="ok", method=model.method, candidates_mape=model.calibration_mape, horizon_h=steps * ctx.step_h,
        step_minutes=data.quality.step_minutes, quantiles=list(qs),
        training_window=TrainingWindow(start_utc=ctx.index[first_origin].to_pydatetime(),
                                       end_utc=ctx.index[ctx.last].to_pydatetime(), origins=model.train_origins),
        weather=weather, notices=notices, quality=data.quality,
        peak=PeakSummary(time_utc=points[top].time_utc, time_local=points[top].time_local, load_mw=points[top].load_mw,
                         quantiles_mw=points[top].quantiles_mw),
        capacity_mw=capacity_mw,
        hours_at_risk=None if risk is None else round(float((risk >= 0.1).sum() * ctx.step_h), 2),
        recent_peaks=_recent_peaks(data),
        recent=[LoadReading(time_utc=t.to_pydatetime(), load_mw=None if np.isnan(v) else round(float(v), 3))
                for t, v in data.load_mw.iloc[-int(RECENT_HOURS / ctx.step_h):].items()], points=points)


#: horizon bands the backtest reports [h]
BANDS = ((0, 6), (6, 12), (12, 24), (24, 48), (48, 96), (96, 168))


@tool
def backtest_load_forecast(
    csv_path: Annotated[str | None, Field(max_length=4096, description="CSV file, as for forecast_load.")] = None,
    records: Annotated[list[LoadRecord] | None, Field(max_length=MAX_RECORDS, description="Inline readings instead of a file.")] = None,
    time_col: Annotated[str | None, Field(description="Time column.")] = None,
    load_col: Annotated[str | None, Field(description="Load column [MW].")] = None,
    temp_col: Annotated[str | None, Field(description="Temperature column [°C].")] = None,
    tz: Annotated[str | None, Field(description="IANA zone, e.g. 'Australia/Melbourne'. Default UTC.")] = None,
    series_col: Annotated[str | None, Field(description="Column naming the series in a long file.")] = None,
    series: Annotated[str | None, Field(description="Series to keep.")] = None,
    sep: CsvSep = None,
    decimal: CsvDecimal = None,
    thousands: CsvThousands = None,
    dayfirst: DayFirst = None,
    train_end: Annotated[datetime | None, Field(description="End of training (exclusive; naive = local time in tz); default: before the last `origins` days.")] = None,
    origins: Annotated[int | None, Field(ge=1, le=2000, description="Daily origins to test (default: every day after train_end, or 28).")] = None,
    origin_hour: Annotated[int, Field(ge=0, le=23, description="Local hour of each origin (forecasts start there).")] = 0,
    horizon_h: Annotated[float, Field(gt=0, le=MAX_HORIZON_H, description="Hours ahead scored [h].")] = 48,
    quantiles: Annotated[list[float], Field(min_length=2, max_length=9, description="Levels in (0, 1).")] = [0.1, 0.5, 0.9],
    method: Annotated[Method, Field(description="Model to score beside the baselines ('auto' picks by rolling-origin cross-validation and scores every candidate).")] = "auto",
    country: Annotated[str | None, Field(max_length=8, description="Holiday calendar country, e.g. 'AU'.")] = None,
    subdiv: Annotated[str | None, Field(max_length=16, description="Holiday subdivision, e.g. 'VIC'.")] = None,
) -> BacktestResult:
    """Score the model and the naive baselines on rolling daily origins after a training window.

    The candidates are cross-validated on rolling origins and the model is
    fitted once on data before ``train_end``; at each origin it sees the load
    up to that origin only (and the observed temperature as a stand-in for
    the weather forecast, which flatters the errors a little).  The bands
    start from the cross-validation errors and roll forward with the errors
    of test origins whose horizon has fully elapsed, as a daily re-run in
    operation would (:meth:`~gridsage.tools.forecast._model.Forecaster.predict`).
    Under ``'auto'`` every candidate that ran is scored, so the choice can be
    judged against the best one.

    Parameters
    ----------
    csv_path, records, time_col, load_col, temp_col, tz, series_col, series, sep, decimal, thousands, dayfirst
        As for :func:`forecast_load`.
    train_end : datetime, optional
        First time the model may not learn from.
    origins : int, optional
        Daily origins scored.
    origin_hour : int, default 0
        Local hour at which each forecast starts.
    horizon_h : float, default 48
        Hours ahead [h].
    quantiles : list of float, default [0.1, 0.5, 0.9]
    method : {'auto', 'gbm', 'mstl', 'seasonal_naive', 'weekly_naive'}, default 'auto'
    country, subdiv : str, optional
        Public-holiday calendar.

    Returns
    -------
    BacktestResult
        Per method and horizon band (:data:`BANDS`): MAPE [%], MAE [MW],
        mean pinball loss [MW], coverage of the outer quantile pair [-] and
        the share of steps whose point forecast lies inside it [-]; each
        candidate's cross-validation MAPE [%].

    Raises
    ------
    InputError
        If the data cannot be used (as for :func:`forecast_load`), or the test window is empty.

    References
    ----------
    .. [1] Hong, T. et al. (2016). Probabilistic energy forecasting: GEFCom2014 and beyond.
       Int. J. Forecasting 32(3), 896-913 (pinball loss).
    .. [2] Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an analysis and
       review. Int. J. Forecasting 16(4), 437-450 (rolling origins).
    """
    import numpy as np
    import pandas as pd

    from gridsage.tools.forecast import _model as fm

    qs = _check_quantiles(quantiles)
    data = _series(csv_path, records, dict(time_col=time_col, load_col=load_col, temp_col=temp_col, tz=tz,
                                           decimal=decimal, thousands=thousands, dayfirst=dayfirst,
                                           **({"series_col": series_col, "series": series, "sep": sep}
                                              if csv_path else {})))
    steps = max(1, int(round(horizon_h * 60 / data.quality.step_minutes)))
    cov = data.covariates if "temperature_c" in data.covariates else None
    weather = "observed temperature column (stands in for a forecast)" if cov is not None else "none"
    notices = [] if cov is not None else ["no temperature column: the model uses calendar and load history only."]
    ctx = fm.build_context(data.load_mw, cov, data.tz, 0, country, subdiv, use_weather=cov is not None)
    local = ctx.index.tz_convert(data.tz)
    starts = np.flatnonzero((local.hour == origin_hour) & (local.minute == 0)) - 1  # origin: the step before
    starts = starts[(starts >= 0) & (starts + steps <= ctx.last)]
    if train_end is not None:
        stamp = pd.Timestamp(train_end)
        stamp = stamp.tz_localize(data.tz) if stamp.tzinfo is None else stamp
        starts = starts[ctx.index[starts + 1] >= stamp]
        starts = starts[:origins] if origins else starts
    else:
        starts = starts[-(origins or 28):]
    if len(starts) == 0:
        raise InputError("no test origin with a full horizon after the training window", field="train_end",
                         fix="move train_end earlier, or shorten the horizon.")
    end = int(starts[0]) + 1  # training origins share the first test origin's time of day
    rows = []
    others = fm.METHODS if method == "auto" else (method, "seasonal_naive", "weekly_naive")
    truth = ctx.y[starts[:, None] + np.arange(1, steps + 1)[None, :]]
    hours = np.arange(1, steps + 1) * ctx.step_h
    with limited_threads():
        if method == "auto":
            chosen, models, cv = fm.fit_candidates(ctx, steps, qs, "auto", end=end, phase=end - 1, final=others,
                                                   later_origins=len(starts))
            scores = cv.scores
            notices.extend(cv.notices)
        else:
            chosen, models, scores = method, {}, {}
            for name in others:
                _, fitted, cv = fm.fit_candidates(ctx, steps, qs, name, end=end, phase=end - 1)
                models.update(fitted)
                scores.update(cv.scores)
        main = models[chosen]
        for name in dict.fromkeys([chosen, *others]):
            if name not in models:
                continue
            point, bands = models[name].predict(ctx, starts, rolling=True)
            for lo, hi in BANDS:
                cols = (hours > lo) & (hours <= hi)
                if not cols.any():
                    continue
                y, p, b = truth[:, cols], point[:, cols], bands[:, cols]
                ok = ~np.isnan(y) & np.isfinite(p) & np.isfinite(b).all(axis=-1)  # observed, and forecast by the method
                if not (ok & (y > 0)).any():
                    notices.append(f"{name}, {lo}-{hi} h: no step with both an observed load above 0 and a forecast; "
                                   "the band is not scored.")
                    continue
                y, p, b = y[ok], p[ok], b[ok]
                rows.append(BacktestRow(
                    method=name, horizon_band=f"{lo}-{hi} h",
                    mape_percent=round(float(np.mean(np.abs(p - y)[y > 0] / y[y > 0] * 100)), 3),
                    mae_mw=round(float(np.mean(np.abs(p - y))), 3),
                    pinball_mw=round(float(np.mean([fm.pinball(y, b[..., i], q) for i, q in enumerate(qs)])), 3),
                    coverage=round(float(((y >= b[..., 0]) & (y <= b[..., -1])).mean()), 4),
                    point_inside_band=round(float(((p >= b[..., 0]) & (p <= b[..., -1])).mean()), 4),
                    n=int(ok.sum())))
    first_origin = fm.training_origins(ctx, end, steps, phase=end - 1)[0]
    return BacktestResult(
        status="ok", method=main.method, quantiles=list(qs), horizon_h=steps * ctx.step_h, weather=weather,
        notices=notices, quality=data.quality, candidates_mape=scores,
        train_window=TrainingWindow(start_utc=ctx.index[first_origin].to_pydatetime(),
                                    end_utc=ctx.index[end - 1].to_pydatetime(), origins=main.train_origins),
        test_origins=len(starts), first_origin_utc=ctx.index[starts[0]].to_pydatetime(),
        last_origin_utc=ctx.index[starts[-1]].to_pydatetime(), rows=rows)
