"""A picture of a load forecast: recent history, the point forecast, the quantile bands and the capacity.

Every value drawn comes from the :class:`~gridsage.tools.forecasting.ForecastResult`;
nothing is computed here.  Needs matplotlib (``pip install 'gridsage[plot]'``),
imported only when a plot is drawn.
"""

from __future__ import annotations

from pathlib import Path

from gridsage.plotting import pyplot_for


def plot_forecast(result, path: str | Path) -> Path:
    """Draw ``result`` to ``path`` (.png, .svg or .pdf) and return the path.

    Parameters
    ----------
    result : gridsage.tools.forecasting.ForecastResult
    path : str or pathlib.Path

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        If matplotlib is missing or the suffix is not .png, .svg or .pdf.
    """
    path, plt = pyplot_for(path)
    import pandas as pd

    tz = result.quality.time_zone
    hist_t = pd.DatetimeIndex([r.time_utc for r in result.recent]).tz_convert(tz)
    t = pd.DatetimeIndex([p.time_utc for p in result.points]).tz_convert(tz)
    labels = list(result.points[0].quantiles_mw)
    fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    ax.plot(hist_t, [r.load_mw for r in result.recent], color="black", lw=1.2, label="observed load")
    for i in range(len(labels) // 2):  # outer pair first, lighter
        lo, hi = labels[i], labels[-1 - i]
        ax.fill_between(t, [p.quantiles_mw[lo] for p in result.points], [p.quantiles_mw[hi] for p in result.points],
                        color="tab:blue", alpha=0.15 + 0.15 * i, lw=0, label=f"{lo.upper()}-{hi.upper()}")
    ax.plot(t, [p.load_mw for p in result.points], color="tab:blue", lw=1.6, label=f"forecast ({result.method})")
    if result.capacity_mw:
        ax.axhline(result.capacity_mw, color="tab:red", ls="--", lw=1, label=f"capacity {result.capacity_mw:g} MW")
    peak = pd.Timestamp(result.peak.time_utc).tz_convert(tz)
    ax.annotate(f"peak {result.peak.load_mw:.0f} MW", (peak, result.peak.load_mw), textcoords="offset points",
                xytext=(0, 12), ha="center", fontsize=9)
    ax.axvline(hist_t[-1], color="grey", lw=0.8, ls=":")
    ax.set_ylabel("load [MW]")
    ax.set_xlabel(f"local time ({tz})")
    ax.set_title(f"Load forecast, {result.horizon_h:g} h ahead [{result.evidence_id}]; weather: {result.weather}",
                 fontsize=10)
    ax.legend(loc="upper left", fontsize=8, ncols=2)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
