"""Multi-horizon load forecasting: leak-free features, gradient boosting, naive baselines, calibrated quantiles.

One model serves every horizon ("direct" strategy): each training row is
an (origin, step) pair whose features are

- **calendar** at the target time, in local time: hour of day, weekday,
  public holiday (``holidays`` package, for a country and subdivision),
  day of year (sine and cosine);
- **weather** at the target time: temperature, its trailing 24-h mean and
  the local day's maximum (a weather forecast at run time; in a backtest the
  observed temperature stands in for it, which flatters the errors a little);
- **load known at the origin only**: the last value, the mean of the last
  24 h, the value at the same time of day on the last observed day, and the
  value a week before the target (horizons up to one week);
- the **horizon** [h].

Point model: scikit-learn's ``HistGradientBoostingRegressor`` [1]_.
Baselines, always available: *seasonal naive* (same time on the last
observed day) and *weekly naive* (same time a week before) [2]_.
``method='auto'`` picks the lowest MAPE on a calibration split (the last
:data:`CALIBRATION_SHARE` of the training origins), then refits on all of it.

Quantiles come from split-conformal calibration [3]_: the empirical
quantiles of the relative out-of-sample error ``y / ŷ − 1`` on the
calibration split, per 6-hour horizon block, scale the point forecast.
They are sorted per time, so they never cross [4]_.

References
----------
.. [1] Ke, G. et al. (2017). LightGBM: a highly efficient gradient boosting
   decision tree. NeurIPS 30 (the histogram algorithm scikit-learn implements).
.. [2] Hyndman, R. J. and Athanasopoulos, G. (2021). Forecasting: principles
   and practice, 3rd ed., section 5.2 (simple forecasting methods). OTexts.
.. [3] Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J. and Wasserman, L.
   (2018). Distribution-free predictive inference for regression. JASA
   113(523), 1094-1111 (split conformal).
.. [4] Chernozhukov, V., Fernández-Val, I. and Galichon, A. (2010). Quantile
   and probability curves without crossing. Econometrica 78(3), 1093-1125.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METHODS = ("gbm", "seasonal_naive", "weekly_naive")
#: share of training origins held out to calibrate quantiles and pick the method
CALIBRATION_SHARE = 0.2
#: horizon block of the quantile calibration [h]
BLOCK_HOURS = 6
#: bound on training rows (origins are thinned evenly beyond it)
MAX_TRAIN_ROWS = 160_000
GBM_PARAMS = dict(max_iter=400, learning_rate=0.06, max_leaf_nodes=63, min_samples_leaf=40, l2_regularization=1.0,
                  early_stopping=False, random_state=0)


@dataclass
class SeriesContext:
    """A series on one regular UTC grid running past its last load value by the horizon.

    Attributes
    ----------
    index : pandas.DatetimeIndex
        UTC times, history then horizon.
    y : numpy.ndarray
        Load [MW]; NaN where missing and over the horizon.
    features : dict of str to numpy.ndarray
        Calendar and weather arrays on ``index``.
    spd : int
        Steps per day.
    last : int
        Position of the last load value (the forecast origin).
    """

    index: Any
    y: Any
    features: dict
    spd: int
    last: int

    @property
    def step_h(self) -> float:
        """The time step [h]."""
        return 24 / self.spd


def build_context(load_mw, covariates, tz: str, horizon_steps: int, country: str | None = None,
                  subdiv: str | None = None, use_weather: bool = True) -> SeriesContext:
    """Lay the load, covariates and calendar on one grid that reaches ``horizon_steps`` past the last load value.

    Parameters
    ----------
    load_mw : pandas.Series
        Load [MW] on a regular UTC grid.
    covariates : pandas.DataFrame
        Covariates on the same grid (``temperature_c`` [°C] and others); may run past the load.
    tz : str
        IANA zone of the calendar features.
    horizon_steps : int
        Steps to forecast.
    country, subdiv : str, optional
        Holiday calendar (``holidays.country_holidays(country, subdiv=...)``), e.g. ``'AU'``, ``'VIC'``.
    use_weather : bool, default True
        Include the covariates.

    Returns
    -------
    SeriesContext
    """
    import numpy as np
    import pandas as pd

    step = load_mw.index[1] - load_mw.index[0]
    index = pd.date_range(load_mw.index[0], periods=len(load_mw) + horizon_steps, freq=step)
    y = np.full(len(index), np.nan)
    y[:len(load_mw)] = load_mw.to_numpy(dtype=float)
    local = index.tz_convert(tz)
    features = {"hour": (local.hour + local.minute / 60).to_numpy(dtype=float),
                "weekday": local.dayofweek.to_numpy(dtype=float),
                "doy_sin": np.sin(2 * np.pi * local.dayofyear.to_numpy() / 365.25),
                "doy_cos": np.cos(2 * np.pi * local.dayofyear.to_numpy() / 365.25)}
    if country:
        import holidays

        try:
            calendar = holidays.country_holidays(country, subdiv=subdiv, years=range(local[0].year, local[-1].year + 1))
        except NotImplementedError:
            from gridsage.errors import InputError

            raise InputError(f"no holiday calendar for country {country!r} subdivision {subdiv!r}", field="country",
                             fix="use an ISO 3166 code the holidays package knows (e.g. AU, FR, US) and a valid subdiv.") from None
        features["holiday"] = np.fromiter((d in calendar for d in local.date), dtype=float, count=len(local))
    spd = int(round(pd.Timedelta(days=1) / step))
    if use_weather and covariates is not None:
        cov = covariates.reindex(index)
        for name in cov.columns:
            features[name] = cov[name].to_numpy(dtype=float)
        if "temperature_c" in cov:
            temp = cov["temperature_c"]
            features["temp_mean_24h"] = temp.rolling(spd, min_periods=1).mean().to_numpy()
            features["temp_max_day"] = temp.groupby(local.date).transform("max").to_numpy()
    return SeriesContext(index=index, y=y, features=features, spd=spd, last=len(load_mw) - 1)


def design(ctx: SeriesContext, origins, steps: int):
    """Feature matrix of every (origin, step) pair, using load data up to each origin only.

    Parameters
    ----------
    ctx : SeriesContext
    origins : numpy.ndarray of int, shape (n,)
        Origin positions (the last load value each forecast may see).
    steps : int
        Steps ahead, 1..steps.

    Returns
    -------
    X : numpy.ndarray, shape (n * steps, n_features)
    target : numpy.ndarray of int, shape (n * steps,)
        Position of each row's target time.
    names : list of str
    """
    import numpy as np
    import pandas as pd

    origins = np.asarray(origins, dtype=int)
    k = np.tile(np.arange(1, steps + 1), len(origins))
    o = np.repeat(origins, steps)
    t = o + k
    y, spd, week = ctx.y, ctx.spd, 7 * ctx.spd
    mean_24h = pd.Series(y).rolling(spd, min_periods=spd // 2).mean().to_numpy()  # trailing: ends at the origin
    same_day = t - spd * np.ceil(k / spd).astype(int)  # <= origin
    week_ago = t - week
    columns = {"horizon_h": k * ctx.step_h, **{name: values[t] for name, values in ctx.features.items()},
               "load_last": y[o], "load_mean_24h": mean_24h[o],
               "load_same_time_last_day": np.where(same_day >= 0, y[np.maximum(same_day, 0)], np.nan),
               "load_week_ago": np.where((k <= week) & (week_ago >= 0), y[np.maximum(week_ago, 0)], np.nan)}
    return np.column_stack(list(columns.values())), t, list(columns)


def naive(ctx: SeriesContext, origins, steps: int, period_days: int):
    """Seasonal-naive forecasts: the value one period before the target, stepping back whole periods to the origin.

    Gaps are bridged by going back further periods (up to four).

    Returns
    -------
    numpy.ndarray, shape (n, steps)
        Forecast load [MW]; NaN if no value is found.
    """
    import numpy as np

    period = period_days * ctx.spd
    origins = np.asarray(origins, dtype=int)
    k = np.arange(1, steps + 1)[None, :]
    t = origins[:, None] + k
    out = np.full(t.shape, np.nan)
    back = period * np.ceil(k / period).astype(int)
    for extra in range(5):
        src = t - back - extra * period
        found = np.where(src >= 0, ctx.y[np.maximum(src, 0)], np.nan)
        out = np.where(np.isnan(out), found, out)
    return out


@dataclass
class Forecaster:
    """A fitted forecaster: the chosen method, its calibrated error quantiles and the selection record.

    Attributes
    ----------
    method : str
        One of :data:`METHODS`.
    quantiles : tuple of float
        Probability levels [-], e.g. (0.1, 0.5, 0.9).
    steps : int
        Horizon [steps].
    error_quantiles : numpy.ndarray, shape (blocks, len(quantiles))
        Relative error quantiles per horizon block [-].
    calibration_mape : dict of str to float
        Each candidate's MAPE on the calibration split [%].
    train_origins : int
        Origins (days) the final model learnt from.
    """

    method: str
    quantiles: tuple
    steps: int
    spd: int
    error_quantiles: Any
    calibration_mape: dict = field(default_factory=dict)
    train_origins: int = 0
    model: Any = None

    def point(self, ctx: SeriesContext, origins):
        """Point forecasts [MW], shape (n_origins, steps)."""
        if self.method == "gbm":
            X, _, _ = design(ctx, origins, self.steps)
            return self.model.predict(X).reshape(len(origins), self.steps)
        return naive(ctx, origins, self.steps, 1 if self.method == "seasonal_naive" else 7)

    def predict(self, ctx: SeriesContext, origins):
        """Point forecasts and quantiles [MW].

        Returns
        -------
        point : numpy.ndarray, shape (n_origins, steps)
        bands : numpy.ndarray, shape (n_origins, steps, len(quantiles)), sorted along the last axis
        """
        import numpy as np

        point = self.point(ctx, origins)
        block = _blocks(self.steps, self.spd)
        bands = point[:, :, None] * (1 + self.error_quantiles[block][None, :, :])
        return point, np.sort(bands, axis=-1)


def _blocks(steps: int, spd: int):
    import numpy as np

    return (np.arange(steps) * 24 / spd // BLOCK_HOURS).astype(int)


def training_origins(ctx: SeriesContext, end: int, steps: int, phase: int | None = None):
    """Daily origins whose whole horizon lies before ``end`` (exclusive), thinned to :data:`MAX_TRAIN_ROWS` rows.

    They share the time of day of position ``phase`` (default: the forecast origin, ``ctx.last``).
    """
    import numpy as np

    first = (ctx.last if phase is None else phase) % ctx.spd
    origins = np.arange(first, end - steps, ctx.spd)
    origins = origins[origins >= ctx.spd]  # a day of history before the first origin
    stride = max(1, int(np.ceil(len(origins) * steps / MAX_TRAIN_ROWS)))
    return origins[::-1][::stride][::-1]


def _fit_gbm(ctx: SeriesContext, origins, steps: int):
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, t, _ = design(ctx, origins, steps)
    keep = ~np.isnan(ctx.y[t])
    return HistGradientBoostingRegressor(**GBM_PARAMS).fit(X[keep], ctx.y[t][keep])


def fit_forecaster(ctx: SeriesContext, steps: int, quantiles=(0.1, 0.5, 0.9), method: str = "auto",
                   end: int | None = None, phase: int | None = None) -> Forecaster:
    """Fit, calibrate and (with ``method='auto'``) choose a forecaster on data before ``end``.

    Parameters
    ----------
    ctx : SeriesContext
    steps : int
        Horizon [steps].
    quantiles : sequence of float
        Probability levels in (0, 1).
    method : {'auto', 'gbm', 'seasonal_naive', 'weekly_naive'}
    end : int, optional
        First position the model may not learn from (a backtest's test start); default all history.
    phase : int, optional
        A position whose time of day the training origins share; default ``ctx.last``.

    Returns
    -------
    Forecaster

    Raises
    ------
    InputError
        If the history is too short to hold out a calibration split.
    """
    import numpy as np

    from gridsage.errors import InputError

    end = ctx.last + 1 if end is None else end
    origins = training_origins(ctx, end, steps, phase)
    n_cal = max(2, int(round(len(origins) * CALIBRATION_SHARE)))
    if len(origins) < n_cal + 5:
        raise InputError(f"{len(origins)} training days for a {steps * ctx.step_h:g}-h horizon; at least {n_cal + 5} "
                         "are needed", field="horizon", fix="shorten the horizon or supply a longer history.")
    fit_part, cal = origins[:-n_cal], origins[-n_cal:]
    truth = ctx.y[cal[:, None] + np.arange(1, steps + 1)[None, :]]
    candidates = METHODS if method == "auto" else (method,)
    cal_points, scores = {}, {}
    for name in candidates:
        trial = Forecaster(name, tuple(quantiles), steps, ctx.spd, None,
                           model=_fit_gbm(ctx, fit_part, steps) if name == "gbm" else None)
        cal_points[name] = trial.point(ctx, cal)
        with np.errstate(divide="ignore", invalid="ignore"):
            ape = np.abs(cal_points[name] - truth) / truth * 100
        scores[name] = round(float(np.nanmean(np.where(truth > 0, ape, np.nan))), 3)
    chosen = min(scores, key=scores.get)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = truth / cal_points[chosen] - 1
    block = _blocks(steps, ctx.spd)
    table = np.array([[np.nanquantile(rel[:, block == b], q) for q in quantiles] for b in range(block.max() + 1)])
    model = _fit_gbm(ctx, origins, steps) if chosen == "gbm" else None
    return Forecaster(chosen, tuple(quantiles), steps, ctx.spd, np.nan_to_num(table), scores, len(origins), model)


def pinball(y, q_pred, q: float):
    """Mean pinball (quantile) loss [MW] of predictions ``q_pred`` at level ``q`` (GEFCom2014 scoring).

    References
    ----------
    .. [1] Hong, T. et al. (2016). Probabilistic energy forecasting: Global Energy Forecasting
       Competition 2014 and beyond. Int. J. Forecasting 32(3), 896-913.
    """
    import numpy as np

    d = y - q_pred
    return float(np.nanmean(np.maximum(q * d, (q - 1) * d)))
