"""Multi-horizon load forecasting: leak-free features, gradient boosting, MSTL/ETS, naive baselines, conformal bands.

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

Candidates (:data:`METHODS`):

- ``gbm``: scikit-learn's ``HistGradientBoostingRegressor`` [1]_ on those features;
- ``mstl``: statsmodels' MSTL decomposition [5]_ (daily and weekly seasonality) of
  the last :data:`MSTL_WINDOW_DAYS` days before each origin, the seasonal parts
  carried forward, the rest forecast by damped-trend exponential smoothing (ETS
  [2]_ section 8.2).  It refits at every origin, at about 75 µs per point of
  its window on one core (measured: 0.1 s per origin for 28 half-hourly
  days), so under ``'auto'`` it is a candidate only while the points it would
  process stay under :data:`MSTL_BUDGET_POINTS` (about 20 s); longer runs
  (e.g. a year of half-hourly backtest origins) and finer series drop it,
  with a notice.  Chosen explicitly, it always runs;
- *seasonal naive* (same time on the last observed day) and *weekly naive*
  (same time a week before) [2]_ section 5.2, always available.

Method choice and bands come from **rolling-origin cross-validation** [6]_:
the last :data:`CV_SHARE` of the training origins are split into
:data:`CV_FOLDS` consecutive folds; for each fold every candidate is refitted,
with the configuration used in the end, on the origins whose whole horizon
ends before the fold starts, and forecasts the fold.  Under ``method='auto'``:

1. ``gbm``, the model that sees weather, calendar and recent load, is kept
   unless the candidate with the lowest MAPE over all folds (on the origins
   every candidate forecast) beats it significantly: one-sided
   Diebold-Mariano test [9]_ on the per-origin errors at :data:`SWITCH_P_VALUE`;
2. the equal-weight mean of the two best, ``mean(a,b)``, replaces that choice
   under the same test (combining is robust when the fold winner may not stay
   the winner [8]_);
3. a :data:`BLOCK_HOURS`-hour horizon block takes another candidate where its
   fold MAPE there is lower by more than :data:`BLOCK_SWITCH_MARGIN` and the
   same test holds (e.g. seasonal naive for the first hours of a series
   without weather); the method is then named per block, e.g.
   ``seasonal_naive[0-6 h]+gbm[6-48 h]``.

Every choice not taken for want of significance is reported as a notice.
The chosen models are then refitted on all training origins.

Quantiles are split-conformal [3]_ on those out-of-sample errors of the
chosen configuration: per :data:`BLOCK_HOURS`-hour horizon block, the
empirical quantiles of the relative error ``e = y / ŷ − 1`` scale the point
forecast, ``q_τ = ŷ (1 + Q_τ(e))``.  The point forecast is the P50: the
levels below 0.5 use ``min(Q_τ(e), 0)`` and those above ``max(Q_τ(e), 0)``,
so every band contains the point forecast; they are sorted, so they never
cross [4]_.  In a backtest the pool of errors rolls forward with the test
origins whose horizon has fully elapsed (sequential split conformal, as a
daily re-run in operation would see them), keeping the most recent ones.

References
----------
.. [1] Ke, G. et al. (2017). LightGBM: a highly efficient gradient boosting
   decision tree. NeurIPS 30 (the histogram algorithm scikit-learn implements).
.. [2] Hyndman, R. J. and Athanasopoulos, G. (2021). Forecasting: principles
   and practice, 3rd ed., sections 5.2 (simple forecasting methods) and 8.2
   (damped trend methods). OTexts.
.. [3] Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J. and Wasserman, L.
   (2018). Distribution-free predictive inference for regression. JASA
   113(523), 1094-1111 (split conformal).
.. [4] Chernozhukov, V., Fernández-Val, I. and Galichon, A. (2010). Quantile
   and probability curves without crossing. Econometrica 78(3), 1093-1125.
.. [5] Bandara, K., Hyndman, R. J. and Bergmeir, C. (2021). MSTL: a
   seasonal-trend decomposition algorithm for time series with multiple
   seasonal patterns. arXiv:2107.13462 (statsmodels ``MSTL``).
.. [6] Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an
   analysis and review. Int. J. Forecasting 16(4), 437-450 (rolling origins).
.. [8] Smith, J. and Wallis, K. F. (2009). A simple explanation of the forecast
   combination puzzle. Oxford Bull. Econ. Stat. 71(3), 331-355 (equal weights).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METHODS = ("gbm", "mstl", "seasonal_naive", "weekly_naive")
#: share of the training origins forecast out of sample by the rolling-origin folds
CV_SHARE = 0.3
#: rolling-origin folds (each refits every candidate)
CV_FOLDS = 3
#: under 'auto', another candidate (or the mean of the two best) replaces gradient boosting only if the
#: Diebold-Mariano test finds it better in cross-validation at this one-sided level [-]
SWITCH_P_VALUE = 0.1
#: under 'auto', a horizon block switches to another candidate only if its cross-validation MAPE there is lower by
#: more than this share than the overall winner's [-]
BLOCK_SWITCH_MARGIN = 0.1
#: horizon block of the quantile calibration [h]
BLOCK_HOURS = 6
#: half-life of the weight of an out-of-sample error in the conformal quantiles [d]
CONFORMAL_HALF_LIFE_DAYS = 30
#: bound on training rows (origins are thinned evenly beyond it)
MAX_TRAIN_ROWS = 160_000
GBM_PARAMS = dict(max_iter=400, learning_rate=0.06, max_leaf_nodes=63, min_samples_leaf=40, l2_regularization=1.0,
                  early_stopping=False, random_state=0)
#: history each MSTL fit sees [d]
MSTL_WINDOW_DAYS = 28
#: most cross-validation origins MSTL forecasts (evenly thinned); the choice compares candidates on these
MSTL_CV_ORIGINS = 60
#: window points MSTL may process in one run (CV and later origins) before ``auto`` drops it [-]
MSTL_BUDGET_POINTS = 300_000


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


def mstl_forecast(ctx: SeriesContext, origins, steps: int):
    """MSTL + damped-trend ETS forecasts, refitted at each origin on the :data:`MSTL_WINDOW_DAYS` days before it.

    Parameters
    ----------
    ctx : SeriesContext
    origins : numpy.ndarray of int, shape (n,)
        Origin positions.
    steps : int
        Steps ahead, 1..steps.

    Returns
    -------
    numpy.ndarray, shape (n, steps)
        Forecast load [MW]; the seasonal-naive forecast where the window holds under two days or over 20 % gaps.

    Notes
    -----
    ``y_t = T_t + S^{day}_t + S^{week}_t + R_t`` (MSTL [5]_, weekly part only with more
    than 14 days); each seasonal part is carried forward from its last period,
    ``T + R`` is forecast by additive damped-trend exponential smoothing fitted on
    its last 7 days.  STL smoothers skip ahead by ``ceil(spd / 10)`` points in the
    trend and low-pass passes (the ``*_jump`` speed-up of Cleveland et al. 1990,
    section 3.4), with one MSTL iteration.
    """
    import math
    import warnings

    import numpy as np
    import pandas as pd
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    from statsmodels.tsa.seasonal import MSTL

    spd, origins = ctx.spd, np.asarray(origins, dtype=int)
    fallback = naive(ctx, origins, steps, 1)
    out = fallback.copy()
    jump = max(1, math.ceil(spd / 10))
    k = np.arange(steps)
    for i, o in enumerate(origins):
        start = max(0, o + 1 - MSTL_WINDOW_DAYS * spd)
        seg = ctx.y[start:o + 1]
        if len(seg) < 2 * spd or np.isnan(seg).mean() > 0.2:
            continue
        seg = pd.Series(seg).interpolate(limit_direction="both").to_numpy()
        periods = (spd, 7 * spd) if len(seg) > 14 * spd else (spd,)  # MSTL needs two whole periods and more
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = MSTL(seg, periods=periods, iterate=1,
                       stl_kwargs=dict(trend_jump=jump, low_pass_jump=jump)).fit()
            seasonal = np.asarray(res.seasonal).reshape(len(seg), -1)
            periods = periods[:seasonal.shape[1]]
            ahead = sum(seasonal[len(seg) - p + (k % p), c] for c, p in enumerate(periods))
            rest = (np.asarray(res.trend) + np.asarray(res.resid))[-7 * spd:]
            try:
                level = ExponentialSmoothing(rest, trend="add", damped_trend=True).fit().forecast(steps)
            except (ValueError, np.linalg.LinAlgError):
                level = np.full(steps, rest[-1])
        fc = np.asarray(level) + ahead
        out[i] = np.where(np.isfinite(fc), fc, fallback[i])
    return out


@dataclass
class Forecaster:
    """A fitted forecaster: the method, its out-of-sample relative errors (the conformal pool) and the selection record.

    Attributes
    ----------
    method : str
        One of :data:`METHODS`.
    quantiles : tuple of float
        Probability levels [-], e.g. (0.1, 0.5, 0.9).
    steps : int
        Horizon [steps].
    spd : int
        Steps per day.
    residuals : numpy.ndarray, shape (n_cv, steps)
        Relative out-of-sample errors ``y / ŷ − 1`` [-] of this configuration at the rolling origins.
    residual_origins : numpy.ndarray of int, shape (n_cv,)
        Their origin positions.
    calibration_mape : dict of str to float
        Each candidate's rolling-origin MAPE [%].
    train_origins : int
        Origins (days) the final model learnt from.
    model : object
        The fitted regressor (``gbm``), else None.
    block_methods : list of str, optional
        Per horizon block, the candidate whose forecast it takes (a per-block choice under ``'auto'``).
    components : dict of str to Forecaster
        Those candidates, fitted; without ``block_methods``, the forecast is their equal-weight mean.
    """

    method: str
    quantiles: tuple
    steps: int
    spd: int
    residuals: Any
    residual_origins: Any
    calibration_mape: dict = field(default_factory=dict)
    train_origins: int = 0
    model: Any = None
    block_methods: Any = None
    components: dict = field(default_factory=dict)
    _last: Any = field(default=None, repr=False, compare=False)

    def point(self, ctx: SeriesContext, origins):
        """Point forecasts [MW], shape (n_origins, steps); the last call's are reused (a combination and its parts)."""
        import numpy as np

        origins = np.asarray(origins, dtype=int)
        key = (id(ctx), origins.tobytes())
        if self._last is None or self._last[0] != key:
            self._last = (key, self._point(ctx, origins))
        return self._last[1].copy()

    def _point(self, ctx: SeriesContext, origins):
        import numpy as np

        if self.block_methods is not None:
            block = _blocks(self.steps, self.spd)
            out = np.empty((len(origins), self.steps))
            for name, part in self.components.items():
                cols = np.isin(block, [b for b, m in enumerate(self.block_methods) if m == name])
                out[:, cols] = part.point(ctx, origins)[:, cols]
            return out
        if self.components:  # an equal-weight combination
            return np.mean([part.point(ctx, origins) for part in self.components.values()], axis=0)
        if self.method == "gbm":
            X, _, _ = design(ctx, origins, self.steps)
            return self.model.predict(X).reshape(len(origins), self.steps)
        if self.method == "mstl":
            return mstl_forecast(ctx, origins, self.steps)
        return naive(ctx, origins, self.steps, 1 if self.method == "seasonal_naive" else 7)

    @property
    def error_quantiles(self):
        """Relative error quantiles [-] per horizon block, shape (blocks, len(quantiles)), from the stored pool."""
        return conformal_table(self.residuals, self.quantiles, self.steps, self.spd, self.residual_origins)

    def predict(self, ctx: SeriesContext, origins, rolling: bool = False, point=None):
        """Point forecasts and quantiles [MW]; the point is the P50 and lies inside every band.

        Parameters
        ----------
        ctx : SeriesContext
        origins : numpy.ndarray of int, shape (n,)
            Origin positions, ascending when ``rolling``.
        rolling : bool, default False
            Backtests: at each origin, add to the error pool the errors of earlier
            origins whose horizon has fully elapsed (only load up to the origin is
            used) and keep the newest ``len(residuals)`` of them.
        point : numpy.ndarray, shape (n, steps), optional
            Point forecasts already computed.

        Returns
        -------
        point : numpy.ndarray, shape (n_origins, steps)
        bands : numpy.ndarray, shape (n_origins, steps, len(quantiles)), sorted along the last axis
        """
        import numpy as np

        origins = np.asarray(origins, dtype=int)
        point = self.point(ctx, origins) if point is None else point
        block = _blocks(self.steps, self.spd)
        if not rolling:
            rel = self.error_quantiles[block][None, :, :]
        else:
            rel = np.empty((len(origins), self.steps, len(self.quantiles)))
            keep = len(self.residuals)
            truth = ctx.y[origins[:, None] + np.arange(1, self.steps + 1)[None, :]]
            with np.errstate(divide="ignore", invalid="ignore"):
                fresh = truth / point - 1
            pool, at, used, table = self.residuals, self.residual_origins, 0, self.error_quantiles
            for i, o in enumerate(origins):
                done = int(np.searchsorted(origins, o - self.steps, side="right"))  # o_j + steps <= o
                if done > used:
                    pool = np.vstack([pool, fresh[used:done]])[-keep:]
                    at = np.concatenate([at, origins[used:done]])[-keep:]
                    used = done
                    table = conformal_table(pool, self.quantiles, self.steps, self.spd, at)
                rel[i] = table[block]
        bands = point[:, :, None] * (1 + rel)
        return point, np.sort(bands, axis=-1)


def conformal_table(residuals, quantiles, steps: int, spd: int, origins=None):
    """Weighted split-conformal relative error quantiles per horizon block [-], shape (blocks, len(quantiles)).

    Parameters
    ----------
    residuals : numpy.ndarray, shape (n, steps)
        Relative errors ``e = y / ŷ − 1`` [-] (NaN where unknown), one row per origin.
    quantiles : sequence of float
        Levels τ in (0, 1).
    steps, spd : int
        Horizon [steps] and steps per day.
    origins : numpy.ndarray of int, shape (n,), optional
        The rows' origin positions; when given, rows are weighted by recency.

    Returns
    -------
    numpy.ndarray, shape (blocks, len(quantiles))

    Notes
    -----
    Each error of a row from origin ``o_i`` weighs ``w_i = 2^{-(o_max − o_i) / H}``,
    ``H`` = :data:`CONFORMAL_HALF_LIFE_DAYS` days (all 1 without ``origins``), so the
    bands follow seasonal changes of the error scale (non-exchangeable conformal
    prediction [7]_).  Level τ > 0.5 takes the smallest error ``e`` with
    ``Σ_{e_j <= e} w_j >= τ (Σ w_j + w_max)`` (the test point's own weight ``w_max``
    sits at +∞: the finite-sample conformal correction [3]_); τ < 0.5 mirrors it
    from below.  Then ``min(·, 0)`` below 0.5, ``max(·, 0)`` above and 0 at
    τ = 0.5: the point forecast is the P50 and lies inside every band.

    References
    ----------
    .. [7] Barber, R. F., Candès, E. J., Ramdas, A. and Tibshirani, R. J. (2023).
       Conformal prediction beyond exchangeability. Ann. Statist. 51(2), 816-845.
    """
    import numpy as np

    block = _blocks(steps, spd)
    if origins is None:
        weight_row = np.ones(len(residuals))
    else:
        age = (np.max(origins) - np.asarray(origins, dtype=float)) / (CONFORMAL_HALF_LIFE_DAYS * spd)
        weight_row = 0.5 ** age
    table = np.zeros((block.max() + 1, len(quantiles)))
    for b in range(block.max() + 1):
        e = residuals[:, block == b]
        w = np.broadcast_to(weight_row[:, None], e.shape)
        ok = np.isfinite(e)
        e, w = e[ok], w[ok]
        if len(e) == 0:
            continue
        order = np.argsort(e)
        e, w = e[order], w[order]
        total = w.sum() + w.max()
        below = np.cumsum(w)  # weight at or below each error
        above = np.cumsum(w[::-1])[::-1]  # weight at or above each error
        for j, q in enumerate(quantiles):
            if q > 0.5:
                i = int(np.searchsorted(below, q * total - 1e-12))
                table[b, j] = max(e[min(i, len(e) - 1)], 0.0)
            elif q < 0.5:
                enough = np.flatnonzero(above >= (1 - q) * total - 1e-12)
                table[b, j] = min(e[enough[-1] if len(enough) else 0], 0.0)
    return table


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

    from gridsage.tools._threads import limited_threads

    X, t, _ = design(ctx, origins, steps)
    keep = ~np.isnan(ctx.y[t])
    with limited_threads():
        return HistGradientBoostingRegressor(**GBM_PARAMS).fit(X[keep], ctx.y[t][keep])


def _mape(point, truth) -> float:
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.where(truth > 0, np.abs(point - truth) / truth * 100, np.nan)
    return round(float(np.nanmean(ape)), 3) if np.isfinite(ape).any() else float("inf")


@dataclass
class CrossValidation:
    """Rolling-origin out-of-sample forecasts of each candidate.

    Attributes
    ----------
    origins : numpy.ndarray of int, shape (n,)
        All training origins.
    cv_origins : numpy.ndarray of int, shape (m,)
        The origins forecast out of sample (the last :data:`CV_SHARE`).
    points : dict of str to numpy.ndarray, shape (m, steps)
        Each candidate's forecasts [MW] (NaN rows where it was not run).
    scores : dict of str to float
        MAPE [%] on the origins every candidate forecast.
    notices : list of str
    """

    origins: Any
    cv_origins: Any
    points: dict
    scores: dict
    notices: list = field(default_factory=list)


def cross_validate(ctx: SeriesContext, steps: int, candidates, end: int | None = None,
                   phase: int | None = None, later_origins: int = 1) -> CrossValidation:
    """Rolling-origin cross-validation of the candidates on data before ``end``.

    Parameters
    ----------
    ctx : SeriesContext
    steps : int
        Horizon [steps].
    candidates : sequence of str
        Methods from :data:`METHODS`.
    end : int, optional
        First position no model may learn from; default all history.
    phase : int, optional
        A position whose time of day the origins share; default ``ctx.last``.
    later_origins : int, default 1
        Origins the fitted model will forecast afterwards (a backtest's test origins), for the MSTL time estimate.

    Returns
    -------
    CrossValidation

    Raises
    ------
    InputError
        If the history is too short for the folds.

    Notes
    -----
    Fold ``f`` forecasts origins ``o`` in its slice of the last :data:`CV_SHARE`
    of origins with a model fitted on origins ``o'`` with ``o' + steps <= o_f``
    (``o_f`` the fold's first origin), so no target it learnt from lies after
    the data available at ``o_f``.  ``mstl`` refits per origin on data up to it;
    it forecasts at most :data:`MSTL_CV_ORIGINS` origins and, among several
    candidates, is dropped when ``(origins forecast) x (window points)`` would
    exceed :data:`MSTL_BUDGET_POINTS` (a deterministic time bound, so the same
    data always gives the same candidates).
    """
    import numpy as np

    from gridsage.errors import InputError

    end = ctx.last + 1 if end is None else end
    origins = training_origins(ctx, end, steps, phase)
    n_cv = max(CV_FOLDS, int(round(len(origins) * CV_SHARE)))
    needed = n_cv + 5 + int(np.ceil(steps / ctx.spd))  # the first fold learns from >= 5 origins before its horizon
    if len(origins) < needed:
        raise InputError(f"{len(origins)} training days for a {steps * ctx.step_h:g}-h horizon; at least {needed} "
                         "are needed", field="horizon", fix="shorten the horizon or supply a longer history.")
    cv = origins[-n_cv:]
    folds = np.array_split(np.arange(n_cv), CV_FOLDS)
    truth = ctx.y[cv[:, None] + np.arange(1, steps + 1)[None, :]]
    points, notices = {}, []
    for name in candidates:
        pred = np.full((n_cv, steps), np.nan)
        if name == "gbm":
            for idx in folds:
                fit_on = origins[origins + steps <= cv[idx[0]]]
                model = _fit_gbm(ctx, fit_on, steps)
                X, _, _ = design(ctx, cv[idx], steps)
                pred[idx] = model.predict(X).reshape(len(idx), steps)
        elif name == "mstl":
            sub = np.unique(np.linspace(0, n_cv - 1, min(n_cv, MSTL_CV_ORIGINS)).round().astype(int))
            work = (len(sub) + max(1, int(later_origins))) * MSTL_WINDOW_DAYS * ctx.spd
            if len(candidates) > 1 and work > MSTL_BUDGET_POINTS:
                notices.append(f"mstl left out of the candidates: {work:,} window points to decompose (about "
                               f"{work * 75e-6:.0f} s on one core) exceed the bound of {MSTL_BUDGET_POINTS:,}; "
                               "choose method 'mstl' to run it anyway.")
                continue
            pred[sub] = mstl_forecast(ctx, cv[sub], steps)
        else:
            pred = naive(ctx, cv, steps, 1 if name == "seasonal_naive" else 7)
        points[name] = pred
    common = np.all([~np.isnan(p).all(axis=1) for p in points.values()], axis=0)
    scores = {name: _mape(p[common], truth[common]) for name, p in points.items()}
    return CrossValidation(origins, cv, points, scores, notices)


def fit_candidates(ctx: SeriesContext, steps: int, quantiles=(0.1, 0.5, 0.9), method: str = "auto",
                   end: int | None = None, phase: int | None = None, final=None, later_origins: int = 1):
    """Cross-validate the candidates, then fit the chosen one (and those named in ``final``) on all training origins.

    Parameters
    ----------
    ctx : SeriesContext
    steps : int
        Horizon [steps].
    quantiles : sequence of float
        Probability levels in (0, 1).
    method : {'auto', 'gbm', 'mstl', 'seasonal_naive', 'weekly_naive'}
    end, phase : int, optional
        As for :func:`cross_validate`.
    final : sequence of str, optional
        Further candidates to return fitted (a backtest scores them all).
    later_origins : int, default 1
        As for :func:`cross_validate`.

    Returns
    -------
    chosen : str
        Under ``'auto'`` the lowest rolling-origin MAPE among the candidates and
        ``mean(a,b)``, the equal-weight mean of the two best, where it beats
        ``gbm`` (and then the choice) significantly, then refined per
        horizon block (label ``a[0-6 h]+b[6-48 h]``) where another is better by
        more than :data:`BLOCK_SWITCH_MARGIN`; else ``method``.
    models : dict of str to Forecaster
        The chosen one, its parts, and those in ``final`` that were cross-validated.
    cv : CrossValidation
    """
    import numpy as np

    candidates = METHODS if method == "auto" else (method,)
    cv = cross_validate(ctx, steps, candidates, end, phase, later_origins)
    truth = ctx.y[cv.cv_origins[:, None] + np.arange(1, steps + 1)[None, :]]
    pair, chosen = {}, min(cv.scores, key=cv.scores.get)
    if method == "auto" and len(cv.scores) >= 2:
        common = np.all([~np.isnan(p).all(axis=1) for p in cv.points.values()], axis=0)
        lag = int(np.ceil(steps / ctx.spd))

        def significant(challenger: str, points, incumbent: str) -> bool:
            score = _mape(points[common], truth[common])
            if score >= cv.scores[incumbent]:
                return False
            p_value = _dm_p_value(points[common], cv.points[incumbent][common], truth[common], lag)
            if p_value >= SWITCH_P_VALUE:
                cv.notices.append(f"{challenger} scored {score:.2f} % in cross-validation against "
                                  f"{cv.scores[incumbent]:.2f} % for {incumbent}, not significantly better "
                                  f"(Diebold-Mariano p = {p_value:.2f}): kept {incumbent}.")
            return p_value < SWITCH_P_VALUE

        # gradient boosting (weather, calendar, recent load) is the incumbent; another must beat it significantly
        incumbent = "gbm" if np.isfinite(cv.scores.get("gbm", np.inf)) else chosen
        if chosen != incumbent and not significant(chosen, cv.points[chosen], incumbent):
            chosen = incumbent
        a, b = sorted(cv.scores, key=cv.scores.get)[:2]  # the equal-weight mean of the two best
        combo, mean = f"mean({a},{b})", (cv.points[a] + cv.points[b]) / 2
        if significant(combo, mean, chosen):
            pair[combo], cv.points[combo], cv.scores[combo] = (a, b), mean, _mape(mean[common], truth[common])
            chosen = combo
    picks = _block_picks(cv, truth, chosen, steps, ctx.spd) if method == "auto" else [chosen]
    models = {}
    for name in dict.fromkeys([*(x for c in pair.values() for x in c), *picks, chosen, *(final or ())]):
        if name not in cv.points:
            continue
        ok = ~np.isnan(cv.points[name]).all(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = truth[ok] / cv.points[name][ok] - 1
        if name in pair:
            models[name] = Forecaster(name, tuple(quantiles), steps, ctx.spd, rel, cv.cv_origins[ok], dict(cv.scores),
                                      len(cv.origins), components={m: models[m] for m in pair[name]})
            continue
        models[name] = Forecaster(name, tuple(quantiles), steps, ctx.spd, rel, cv.cv_origins[ok], dict(cv.scores),
                                  len(cv.origins), _fit_gbm(ctx, cv.origins, steps) if name == "gbm" else None)
    if len(set(picks)) > 1:
        block = _blocks(steps, ctx.spd)
        label = "+".join(f"{m}[{_block_label(block, picks, m, ctx.spd)}]" for m in dict.fromkeys(picks))
        common = np.all([~np.isnan(cv.points[m]).all(axis=1) for m in set(picks)], axis=0)
        point = np.column_stack([cv.points[picks[b]][:, i] for i, b in enumerate(block)])[common]
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = truth[common] / point - 1
        cv.scores[label] = _mape(point, truth[common])
        models[label] = Forecaster(label, tuple(quantiles), steps, ctx.spd, rel, cv.cv_origins[common],
                                   dict(cv.scores), len(cv.origins), None, list(picks),
                                   {m: models[m] for m in dict.fromkeys(picks)})
        for m in models.values():
            m.calibration_mape = dict(cv.scores)
        chosen = label
    return chosen, models, cv


def _dm_p_value(candidate, incumbent, truth, lag: int) -> float:
    """One-sided Diebold-Mariano p-value [-] that ``candidate`` has a lower mean APE than ``incumbent``.

    Parameters
    ----------
    candidate, incumbent, truth : numpy.ndarray, shape (n_origins, steps)
        Forecasts and actuals [MW].
    lag : int
        Newey-West lag [origins]: the horizon in days, over which consecutive origins' errors overlap.

    Notes
    -----
    ``d_i`` = mean APE of origin ``i`` (candidate minus incumbent); ``DM = mean(d) / sqrt(V / n)`` with the
    Bartlett-weighted long-run variance ``V = γ_0 + 2 Σ_{l=1}^{L} (1 − l / (L + 1)) γ_l``; p = Φ(DM) [9]_.

    References
    ----------
    .. [9] Diebold, F. X. and Mariano, R. S. (1995). Comparing predictive accuracy. J. Bus. Econ. Stat.
       13(3), 253-263; Newey, W. K. and West, K. D. (1987). Econometrica 55(3), 703-708.
    """
    import numpy as np
    from scipy.stats import norm

    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.nanmean((np.abs(candidate - truth) - np.abs(incumbent - truth)) / truth, axis=1)
    d = d[np.isfinite(d)]
    if len(d) < 3:
        return 1.0
    centred = d - d.mean()
    var = centred @ centred / len(d)
    for lag_i in range(1, min(lag, len(d) - 1) + 1):
        var += 2 * (1 - lag_i / (lag + 1)) * (centred[lag_i:] @ centred[:-lag_i]) / len(d)
    if var <= 0:
        return 0.0 if d.mean() < 0 else 1.0
    return float(norm.cdf(d.mean() / np.sqrt(var / len(d))))


def _block_picks(cv: CrossValidation, truth, winner: str, steps: int, spd: int) -> list:
    """Per horizon block, the candidate with the lowest cross-validation MAPE there, if it beats ``winner`` there by
    more than :data:`BLOCK_SWITCH_MARGIN` and significantly (Diebold-Mariano at :data:`SWITCH_P_VALUE`); else
    ``winner``."""
    import numpy as np

    block = _blocks(steps, spd)
    common = np.all([~np.isnan(p).all(axis=1) for p in cv.points.values()], axis=0)
    lag = int(np.ceil(steps / spd))
    picks = []
    for b in range(block.max() + 1):
        cols, y = block == b, truth[common][:, block == b]
        mape = {name: _mape(p[common][:, cols], y) for name, p in cv.points.items()}
        best = min(mape, key=mape.get)
        better = mape[best] < (1 - BLOCK_SWITCH_MARGIN) * mape[winner] and _dm_p_value(
            cv.points[best][common][:, cols], cv.points[winner][common][:, cols], y, lag) < SWITCH_P_VALUE
        picks.append(best if better else winner)
    return picks


def _block_label(block, picks, name: str, spd: int) -> str:
    """Horizon ranges [h] of the blocks that take ``name``, e.g. '0-6 h' or '0-6,12-18 h'."""
    spans, hours = [], BLOCK_HOURS
    for b, m in enumerate(picks):
        if m != name:
            continue
        if spans and spans[-1][1] == b * hours:
            spans[-1][1] = (b + 1) * hours
        else:
            spans.append([b * hours, (b + 1) * hours])
    top = len(block) * 24 / spd
    return ",".join(f"{lo:g}-{min(hi, top):g}" for lo, hi in spans) + " h"


def fit_forecaster(ctx: SeriesContext, steps: int, quantiles=(0.1, 0.5, 0.9), method: str = "auto",
                   end: int | None = None, phase: int | None = None) -> Forecaster:
    """Choose (with ``method='auto'``) by rolling-origin MAPE, calibrate and fit a forecaster on data before ``end``.

    Parameters
    ----------
    ctx : SeriesContext
    steps : int
        Horizon [steps].
    quantiles : sequence of float
        Probability levels in (0, 1).
    method : {'auto', 'gbm', 'mstl', 'seasonal_naive', 'weekly_naive'}
    end : int, optional
        First position the model may not learn from (a backtest's test start); default all history.
    phase : int, optional
        A position whose time of day the training origins share; default ``ctx.last``.

    Returns
    -------
    Forecaster
        With ``calibration_mape`` holding every candidate's rolling-origin MAPE [%].

    Raises
    ------
    InputError
        If the history is too short for the rolling-origin folds.
    """
    chosen, models, _ = fit_candidates(ctx, steps, quantiles, method, end, phase)
    return models[chosen]


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
