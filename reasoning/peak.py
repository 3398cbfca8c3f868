"""The "tomorrow's peak" step of the playbook: forecast the peak and turn it into load-scaling factors.

The grid's base case stands for a reference load of the series (by default the
median daily peak of the last 28 days of history, from the forecast result); the study grids are the
base case with every load scaled by forecast peak / reference, at the P50 and
at the P90 peak.  The forecast is a tool call, so its numbers are evidence.

References
----------
.. [1] NERC TOP-002-5, R1: next-day Operational Planning Analysis against the
   expected conditions, here the forecast daily peak.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gridsage.tools.forecasting import ForecastResult, forecast_load

from .scenario import PeakForecast

#: the quantiles studied: the median and the high case
LEVELS = (0.1, 0.5, 0.9)


@dataclass
class PeakStudy:
    """The forecast and the load-scaling factors derived from it.

    Attributes
    ----------
    forecast : ForecastResult
    reference_mw : float
        Series load the grid's base case represents [MW].
    p50_mw, p90_mw : float
        Forecast peak, median and 90 % quantile [MW].
    """

    forecast: ForecastResult
    reference_mw: float

    @property
    def p50_mw(self) -> float:
        return max(p.quantiles_mw["p50"] for p in self.forecast.points)

    @property
    def p90_mw(self) -> float:
        return max(p.quantiles_mw["p90"] for p in self.forecast.points)

    def factor(self, level: str) -> float:
        """Load-scaling factor [-] for ``'p50'`` or ``'p90'``: peak / reference."""
        return (self.p50_mw if level == "p50" else self.p90_mw) / self.reference_mw


def forecast_peak(spec: PeakForecast, base_dir: Path | None = None) -> PeakStudy:
    """Run the forecast tool for a scenario's ``forecast:`` block and fix the reference load.

    Parameters
    ----------
    spec : PeakForecast
    base_dir : pathlib.Path, optional
        Folder relative CSV paths are resolved against.

    Returns
    -------
    PeakStudy

    Raises
    ------
    InputError
        If the CSV cannot be used (see :func:`gridsage.tools.forecasting.forecast_load`).
    """
    path = Path(spec.csv)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    result = forecast_load(csv_path=str(path), time_col=spec.time_col, load_col=spec.load_col, temp_col=spec.temp_col,
                           tz=spec.tz, country=spec.country, subdiv=spec.subdiv, horizon_h=spec.horizon_h,
                           quantiles=list(LEVELS))
    return PeakStudy(forecast=result, reference_mw=spec.reference_mw or result.recent_peaks.median_mw)
