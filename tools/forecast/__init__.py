"""Load forecasting with weather: P10/P50/P90 forecasts and rolling-origin backtests.

The tools live in :mod:`~gridsage.tools.forecast.load_forecast`; the CSV
reader and data-quality report (``_load_series``), the model (``_model``) and
the Open-Meteo client (``_weather``) are this package's own helpers.
"""

from gridsage.tools.forecast.load_forecast import ForecastResult, LoadRecord, backtest_load_forecast, forecast_load

__all__ = ["forecast_load", "backtest_load_forecast", "ForecastResult", "LoadRecord"]
