"""Hourly 2 m air temperature from Open-Meteo, cached on disk.

GridSage works offline: nothing here touches the network unless a caller asks
for the weather at a location with :func:`fetch_temperature`.  Days older than
five days come from the historical-weather (archive) API, the rest from the
forecast API; both base URLs can be pointed elsewhere (a mirror, a
self-hosted Open-Meteo, a test server) with the environment variables
``GRIDSAGE_OPENMETEO_URL`` and ``GRIDSAGE_OPENMETEO_ARCHIVE_URL``.  Answers
are kept in a disk cache (``GRIDSAGE_WEATHER_CACHE_DIR``): history for good,
forecasts for an hour, so a repeated question makes no request.

References
----------
.. [1] Open-Meteo, "Weather Forecast API", https://open-meteo.com/en/docs
.. [2] Open-Meteo, "Historical Weather API",
   https://open-meteo.com/en/docs/historical-weather-api
"""

from __future__ import annotations

import logging
import os
from datetime import date, timedelta
from typing import TYPE_CHECKING

from gridsage.errors import GridSageError, InputError

if TYPE_CHECKING:
    import pandas

WEATHER_URL_ENV = "GRIDSAGE_OPENMETEO_URL"
ARCHIVE_URL_ENV = "GRIDSAGE_OPENMETEO_ARCHIVE_URL"
CACHE_DIR_ENV = "GRIDSAGE_WEATHER_CACHE_DIR"

DEFAULT_WEATHER_URL = "https://api.open-meteo.com/v1/forecast"
DEFAULT_ARCHIVE_URL = "https://archive-api.open-meteo.com/v1/archive"

#: days before today (UTC) from which on the forecast API answers; older days come from the archive
ARCHIVE_LAG_DAYS = 5
#: the forecast API covers today and the next 15 days (16 forecast days)
FORECAST_DAYS = 16
#: longest span one call may ask for [days] (three years)
MAX_SPAN_DAYS = 3 * 365 + 1
#: lifetime of a cached forecast [s]; archive answers never expire
FORECAST_TTL_S = 3600

logger = logging.getLogger(__name__)


class WeatherUnavailable(GridSageError):
    """Open-Meteo could not be reached, refused the request, or sent an unreadable answer."""

    def __init__(self, message: str, *, field: str | None = "weather", fix: str | None = None):
        super().__init__(
            message,
            field=field,
            fix=fix or f"check the network and the URLs in {WEATHER_URL_ENV} / {ARCHIVE_URL_ENV}, "
            "or supply a temperature column with the load data instead.",
        )


def fetch_temperature(latitude: float, longitude: float, start, end, *, timeout_s: float = 10.0) -> pandas.Series:
    """Hourly 2 m air temperature at a location, from Open-Meteo.

    Parameters
    ----------
    latitude : float
        Latitude of the site [deg], -90..90 (WGS84); rounded to 4 decimals.
    longitude : float
        Longitude of the site [deg], -180..180 (WGS84); rounded to 4 decimals.
    start, end : pandas.Timestamp or datetime.datetime
        First and last instant wanted (both inclusive), timezone-aware; converted
        to UTC.  At most three years apart; ``end`` at most the 16th forecast day.
    timeout_s : float, default 10.0
        Connect and read timeout of each HTTP request [s].

    Returns
    -------
    pandas.Series
        ``temperature_2m`` [°C] as float, named ``temperature_c``, indexed by a
        tz-aware UTC :class:`pandas.DatetimeIndex` of hourly stamps from
        ``start`` to ``end``, sorted and without duplicates.

    Raises
    ------
    InputError
        A coordinate is out of range, ``start``/``end`` is not a timezone-aware
        instant, ``start > end``, the span exceeds three years, or ``end`` lies
        beyond the forecast horizon.
    WeatherUnavailable
        The API could not be reached within ``timeout_s``, answered with an
        error, or its FlatBuffers answer could not be decoded.

    References
    ----------
    .. [1] Open-Meteo, "Weather Forecast API", https://open-meteo.com/en/docs
    .. [2] Open-Meteo, "Historical Weather API",
       https://open-meteo.com/en/docs/historical-weather-api
    """
    import pandas as pd

    latitude = _coordinate(latitude, "latitude", 90.0)
    longitude = _coordinate(longitude, "longitude", 180.0)
    start, end = _instant(start, "start"), _instant(end, "end")
    if start > end:
        raise InputError(f"start {start} is after end {end}", field="start", fix="give start <= end.")
    if end - start > pd.Timedelta(days=MAX_SPAN_DAYS):
        raise InputError(f"the span {start} .. {end} is longer than three years", field="end",
                         fix="ask for at most three years per call.")
    today = pd.Timestamp.now(tz="UTC").date()
    horizon = today + timedelta(days=FORECAST_DAYS - 1)
    if end.date() > horizon:
        raise InputError(f"end {end} is beyond the {FORECAST_DAYS}-day forecast horizon (last day {horizon})",
                         field="end", fix=f"give an end on or before {horizon}.")

    cutoff = today - timedelta(days=ARCHIVE_LAG_DAYS)
    parts = []
    if start.date() < cutoff:
        url = os.environ.get(ARCHIVE_URL_ENV) or DEFAULT_ARCHIVE_URL
        parts.append(_cached(url, latitude, longitude, start.date(), min(end.date(), cutoff - timedelta(days=1)), None, timeout_s))
    if end.date() >= cutoff:
        url = os.environ.get(WEATHER_URL_ENV) or DEFAULT_WEATHER_URL
        parts.append(_cached(url, latitude, longitude, max(start.date(), cutoff), end.date(), FORECAST_TTL_S, timeout_s))
    series = pd.concat(parts).sort_index()
    series = series[~series.index.duplicated(keep="last")]
    return series.loc[start:end].astype(float).rename("temperature_c")


def _coordinate(value, name: str, limit: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not -limit <= number <= limit:
        raise InputError(f"{name} must be a number in [-{limit:g}, {limit:g}] degrees (got {value!r})", field=name,
                         fix=f"give the site's {name} in decimal degrees (WGS84).")
    return round(number, 4)


def _instant(value, name: str) -> pandas.Timestamp:
    import pandas as pd

    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} is not a date-time (got {value!r}): {exc}", field=name,
                         fix="give an ISO 8601 date-time with a timezone, e.g. 2024-06-01T00:00Z.") from exc
    if stamp is pd.NaT or stamp.tzinfo is None:
        raise InputError(f"{name} must be a timezone-aware date-time (got {value!r})", field=name,
                         fix="give a timezone, e.g. 2024-06-01T00:00Z or a tz-aware pandas Timestamp.")
    return stamp.tz_convert("UTC")


def _cached(url: str, latitude: float, longitude: float, first: date, last: date, expire_s: float | None,
            timeout_s: float) -> pandas.Series:
    """One API's answer for whole UTC days ``first`` .. ``last``, from the disk cache when there."""
    import diskcache

    key = (url, latitude, longitude, first.isoformat(), last.isoformat())
    with diskcache.Cache(str(_cache_dir())) as cache:
        series = cache.get(key)
        if series is None:
            series = _request(url, latitude, longitude, first, last, timeout_s)
            cache.set(key, series, expire=expire_s)
        else:
            logger.debug("weather cache hit: %s", key)
    return series


def _cache_dir():
    folder = os.environ.get(CACHE_DIR_ENV)
    if folder:
        return folder
    import platformdirs

    return platformdirs.user_cache_path("gridsage") / "weather"


def _request(url: str, latitude: float, longitude: float, first: date, last: date, timeout_s: float) -> pandas.Series:
    """One request through the official client (one attempt), decoded from FlatBuffers."""
    import niquests
    import openmeteo_requests
    import pandas as pd

    params = {"latitude": latitude, "longitude": longitude, "hourly": "temperature_2m", "timezone": "GMT",
              "start_date": first.isoformat(), "end_date": last.isoformat()}
    logger.info("Open-Meteo request: %s %s", url, params)
    try:
        with niquests.Session() as session:
            response = openmeteo_requests.Client(session=session).weather_api(url, params=params, timeout=timeout_s)[0]
        hourly = response.Hourly()
        values = hourly.Variables(0).ValuesAsNumpy()
        index = pd.date_range(start=pd.Timestamp(hourly.Time(), unit="s", tz="UTC"),
                              end=pd.Timestamp(hourly.TimeEnd(), unit="s", tz="UTC"),
                              freq=pd.Timedelta(seconds=hourly.Interval()), inclusive="left")
        if len(values) != len(index):
            raise ValueError(f"{len(values)} values for {len(index)} time stamps")
    except Exception as exc:  # any network, HTTP or decoding failure
        raise WeatherUnavailable(f"no usable answer from Open-Meteo at {url}: {_reason(exc)}") from exc
    return pd.Series(values.astype(float), index=index)


def _reason(exc: BaseException) -> str:
    """The API's own ``reason`` for a 400/429 answer, else the innermost error's text."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    body = exc.args[0] if exc.args else None
    if isinstance(body, dict) and "reason" in body:
        return str(body["reason"])
    return f"{type(exc).__name__}: {exc}"
