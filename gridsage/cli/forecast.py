"""``gridsage forecast``: load forecasts with quantiles, and rolling-origin backtests, from any CSV.

A thin adapter over :func:`gridsage.tools.forecast.load_forecast.forecast_load` and
:func:`~gridsage.tools.forecast.load_forecast.backtest_load_forecast`.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from gridsage.cli._shared import OutputFormat as Format, err, fail, out
from gridsage.errors import GridSageError


class Method(str, Enum):
    auto = "auto"
    gbm = "gbm"
    mstl = "mstl"
    seasonal_naive = "seasonal_naive"
    weekly_naive = "weekly_naive"


CsvOption = Annotated[Optional[Path], typer.Option("--csv", help="CSV file with a header row: a time column, load [MW], optionally temperature [°C].")]
TimeCol = Annotated[Optional[str], typer.Option("--time-col", help="Time column (default: guessed: time, timestamp, ds, ...). ISO 8601; with an offset or local time in --tz.")]
LoadCol = Annotated[Optional[str], typer.Option("--load-col", help="Load column [MW] (default: guessed: load_mw, load, demand, ...).")]
TempCol = Annotated[Optional[str], typer.Option("--temp-col", help="Temperature column [°C] (default: guessed: temperature, temp, ...; none is fine).")]
TzOption = Annotated[Optional[str], typer.Option("--tz", help="IANA zone of the site, e.g. Australia/Melbourne: calendar features use local time, naive times are read as local. Default UTC.")]
SeriesCol = Annotated[Optional[str], typer.Option("--series-col", help="Column naming the series in a long file (e.g. unique_id); use with --series.")]
SeriesOption = Annotated[Optional[str], typer.Option("--series", help="Series to keep, e.g. FR.")]
SepOption = Annotated[Optional[str], typer.Option("--sep", help="Field separator: comma, semicolon, tab or pipe (or the character itself). Default: detected.")]
DecimalOption = Annotated[Optional[str], typer.Option("--decimal", help="Decimal mark of the numbers: . or , (or dot, comma). Default: detected.")]
ThousandsOption = Annotated[Optional[str], typer.Option("--thousands", help="Thousands separator of the numbers: , or . (or comma, dot), space, apostrophe, or none. Default: detected.")]
DayfirstOption = Annotated[Optional[bool], typer.Option("--dayfirst/--monthfirst", help="Date order of numeric dates: --dayfirst reads 01/02/2024 as 1 February (dd/mm/yyyy), --monthfirst as January 2 (mm/dd/yyyy). Default: detected (a field above 12 proves it); refused when the dates do not say. ISO dates (2024-02-01) need neither.")]
HorizonOption = Annotated[float, typer.Option("--horizon", help="Hours ahead, 1 to 168 [h].")]
QuantOption = Annotated[str, typer.Option("--quantiles", help="Comma-separated levels, e.g. 0.1,0.5,0.9 (P10/P50/P90).")]
MethodOption = Annotated[Method, typer.Option("--method", help="`auto` scores gbm, mstl (statsmodels MSTL + ETS, when its cost allows), seasonal_naive and weekly_naive by rolling-origin cross-validation and keeps gbm unless another candidate, the mean of the two best, or another candidate on a 6-h horizon block, beats it significantly (Diebold-Mariano); the chosen name says which, e.g. `mean(mstl,gbm)`.")]
CountryOption = Annotated[Optional[str], typer.Option("--country", help="Public holidays of this country (ISO 3166, e.g. AU, FR, US).")]
SubdivOption = Annotated[Optional[str], typer.Option("--subdiv", help="Holiday subdivision, e.g. VIC, NSW, CA.")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="`text` or `json` (the tool result).")]

forecast_app = typer.Typer(
    name="forecast",
    help=(
        "Forecast load 1 h to 168 h ahead with P10/P50/P90 bands, from any CSV of load (and temperature).\n\n"
        "The model (gradient boosting on calendar, holiday, weather and recent-load features, an MSTL decomposition "
        "with ETS, or the seasonal-naive and same-time-last-week baselines) is chosen by rolling-origin "
        "cross-validation over the last 30 % of the history; its P10-P90 bands are conformal quantiles of the chosen "
        "model's own cross-validation errors, and the point forecast is the P50. Data problems (gaps, duplicates, bad values, DST) are listed, never hidden.\n\n"
        "Reading: the field separator, decimal comma, thousands separators, date order (dd/mm vs mm/dd) and a unit "
        "row under the header (MW, kW) are detected and reported; --sep, --decimal, --thousands and "
        "--dayfirst/--monthfirst set them. An ambiguous date order or number format is refused with the option "
        "that resolves it.\n\n"
        "Example: `gridsage forecast --csv vic_elec.csv --time-col Time --load-col Demand --temp-col Temperature "
        "--tz Australia/Melbourne --country AU --subdiv VIC --horizon 48 --plot forecast.png`.\n\n"
        "Weather: the temperature column (rows after the last load value are its forecast); else Open-Meteo when "
        "--latitude/--longitude are given (network); else none, with a notice. "
        "`gridsage forecast backtest --csv ...` scores the model and the baselines on rolling daily origins."
    ),
    invoke_without_command=True,
    no_args_is_help=True,
)


#: names the CLI takes for separators and marks, beside the characters themselves
MARKS = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|", "dot": ".", "point": ".",
         "period": ".", "space": " ", "apostrophe": "'", "none": "none"}


def _mark(text: Optional[str], option: str, allowed: tuple[str, ...]) -> Optional[str]:
    """The character an option names (``semicolon`` -> ``;``), checked against ``allowed``."""
    if text is None:
        return None
    value = MARKS.get(text.strip().lower(), text)
    if value not in allowed:
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", ".": "dot", " ": "space", "'": "apostrophe"}
        raise typer.BadParameter(f"{text!r} is not one of: {', '.join(names.get(a, a) for a in allowed)}",
                                 param_hint=option)
    return value


def _reading(sep: Optional[str], decimal: Optional[str], thousands: Optional[str], dayfirst: Optional[bool]) -> dict:
    """The reading options as the tools take them."""
    return dict(sep=_mark(sep, "--sep", (",", ";", "\t", "|")), decimal=_mark(decimal, "--decimal", (".", ",")),
                thousands=_mark(thousands, "--thousands", (",", ".", " ", "'", "none")), dayfirst=dayfirst)


def _quantiles(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of numbers, e.g. 0.1,0.5,0.9",
                                 param_hint="--quantiles") from None


def _print_quality(quality) -> None:
    if quality.reading:
        out.print(quality.reading.summary(), highlight=False)
    if quality.issues:
        out.print("[bold]Data quality[/] (nothing was fixed silently):")
        for issue in quality.issues:
            out.print(f"  {issue.kind} in {issue.column}: {issue.count} — {issue.handling}; e.g. {', '.join(issue.examples)}")
    else:
        out.print(f"[bold]Data quality[/]: no issues in {quality.rows_read} rows.")


@forecast_app.callback()
def forecast(
    ctx: typer.Context,
    csv: CsvOption = None,
    time_col: TimeCol = None,
    load_col: LoadCol = None,
    temp_col: TempCol = None,
    tz: TzOption = None,
    series_col: SeriesCol = None,
    series: SeriesOption = None,
    sep: SepOption = None,
    decimal: DecimalOption = None,
    thousands: ThousandsOption = None,
    dayfirst: DayfirstOption = None,
    horizon: HorizonOption = 48,
    quantiles: QuantOption = "0.1,0.5,0.9",
    method: MethodOption = Method.auto,
    country: CountryOption = None,
    subdiv: SubdivOption = None,
    latitude: Annotated[Optional[float], typer.Option("--latitude", help="Site latitude [deg], for Open-Meteo weather when the CSV has none for the horizon.")] = None,
    longitude: Annotated[Optional[float], typer.Option("--longitude", help="Site longitude [deg].")] = None,
    capacity: Annotated[Optional[float], typer.Option("--capacity", help="Capacity [MW]: adds P(load > capacity) per step and the hours at risk.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Draw history, forecast and bands to this .png/.svg/.pdf (needs `pip install 'gridsage[plot]'`).")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    if ctx.invoked_subcommand:
        return
    from gridsage.tools.forecast import forecast_load

    if csv is None:
        err.print("[bold red]error[/] --csv is required: the load history to forecast from. See `gridsage forecast --help`.")
        raise typer.Exit(code=2)
    try:
        with err.status("fitting and forecasting ..."):
            result = forecast_load(csv_path=str(csv), time_col=time_col, load_col=load_col, temp_col=temp_col, tz=tz,
                                   series_col=series_col, series=series, horizon_h=horizon,
                                   **_reading(sep, decimal, thousands, dayfirst),
                                   quantiles=_quantiles(quantiles), method=method.value, country=country,
                                   subdiv=subdiv, latitude=latitude, longitude=longitude, capacity_mw=capacity)
        if plot:
            from gridsage.plotting import plot_forecast

            err.print(f"plot written to {plot_forecast(result, plot)}")
    except GridSageError as exc:
        fail(exc)
    if fmt is Format.json:
        out.print_json(result.model_dump_json())
        return
    w = result.training_window
    out.print(f"[bold]Load forecast[/] {result.horizon_h:g} h ahead, {result.method} "
              f"(cross-validation MAPE: {', '.join(f'{k} {v:.2f} %' for k, v in result.candidates_mape.items())}) "
              f"\\[{result.evidence_id}]")
    out.print(f"trained on {w.start_utc:%Y-%m-%d %H:%M} .. {w.end_utc:%Y-%m-%d %H:%M} UTC ({w.origins} daily origins); "
              f"weather: {result.weather}")
    for notice in result.notices:
        out.print(f"[yellow]notice[/] {notice}")
    _print_quality(result.quality)
    labels = list(result.peak.quantiles_mw)
    peak = result.peak
    out.print(f"[bold]Peak[/] {peak.time_local}: {peak.load_mw:.1f} MW "
              f"({', '.join(f'{k.upper()} {v:.1f}' for k, v in peak.quantiles_mw.items())} MW)")
    table = Table("local time", *(k.upper() + " [MW]" for k in labels),
                  *(["P(> capacity)"] if result.capacity_mw else []), title="Hourly forecast", title_justify="left")
    for p in (p for p in result.points if p.time_local[14:16] == "00"):  # on the hour
        table.add_row(p.time_local[:16].replace("T", " "), *(f"{p.quantiles_mw[k]:.1f}" for k in labels),
                      *([f"{p.exceedance_probability:.3f}"] if result.capacity_mw else []))
    out.print(table)
    if result.capacity_mw:
        out.print(f"{result.hours_at_risk:g} h with P(load > {result.capacity_mw:g} MW) >= 0.1")


@forecast_app.command("backtest")
def backtest(
    csv: Annotated[Path, typer.Option("--csv", help="CSV file with a header row (as for `gridsage forecast`).")],
    time_col: TimeCol = None,
    load_col: LoadCol = None,
    temp_col: TempCol = None,
    tz: TzOption = None,
    series_col: SeriesCol = None,
    series: SeriesOption = None,
    sep: SepOption = None,
    decimal: DecimalOption = None,
    thousands: ThousandsOption = None,
    dayfirst: DayfirstOption = None,
    train_end: Annotated[Optional[datetime], typer.Option("--train-end", help="End of training (local time in --tz), e.g. 2014-01-01; every day after it is a test origin (or the first --origins).")] = None,
    origins: Annotated[Optional[int], typer.Option("--origins", help="Daily origins to score (default: every day after --train-end, else the last 28).")] = None,
    origin_hour: Annotated[int, typer.Option("--origin-hour", help="Local hour each forecast starts at.")] = 0,
    horizon: HorizonOption = 48,
    quantiles: QuantOption = "0.1,0.5,0.9",
    method: MethodOption = Method.auto,
    country: CountryOption = None,
    subdiv: SubdivOption = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Score the model and both naive baselines on rolling daily origins: MAPE, MAE, pinball loss, P10-P90 coverage.

    The model is fitted once on the data before the first origin and sees, at each origin, the load up to that
    origin only; the observed temperature stands in for a weather forecast. Example:
    `gridsage forecast backtest --csv vic_elec.csv --tz Australia/Melbourne --country AU --subdiv VIC
    --train-end 2014-01-01`.
    """
    from gridsage.tools.forecast import backtest_load_forecast

    try:
        with err.status("backtesting ..."):
            result = backtest_load_forecast(csv_path=str(csv), time_col=time_col, load_col=load_col, temp_col=temp_col,
                                            tz=tz, series_col=series_col, series=series, train_end=train_end,
                                            **_reading(sep, decimal, thousands, dayfirst),
                                            origins=origins, origin_hour=origin_hour, horizon_h=horizon,
                                            quantiles=_quantiles(quantiles), method=method.value, country=country,
                                            subdiv=subdiv)
    except GridSageError as exc:
        fail(exc)
    if fmt is Format.json:
        out.print_json(result.model_dump_json())
        return
    w = result.train_window
    out.print(f"[bold]Backtest[/] {result.test_origins} daily origins {result.first_origin_utc:%Y-%m-%d} .. "
              f"{result.last_origin_utc:%Y-%m-%d}, {result.horizon_h:g} h ahead \\[{result.evidence_id}]")
    out.print(f"trained on {w.start_utc:%Y-%m-%d} .. {w.end_utc:%Y-%m-%d} ({w.origins} origins); weather: {result.weather}")
    for notice in result.notices:
        out.print(f"[yellow]notice[/] {notice}")
    _print_quality(result.quality)
    if result.candidates_mape:
        out.print("cross-validation MAPE on the training window: "
                  + ", ".join(f"{k} {v:.2f} %" for k, v in result.candidates_mape.items()), highlight=False)
    lo, hi = result.quantiles[0], result.quantiles[-1]
    table = Table("method", "horizon", "MAPE [%]", "MAE [MW]", "pinball [MW]", f"P{lo * 100:g}-P{hi * 100:g} coverage",
                  "point in band", "n", title="Scores per horizon band", title_justify="left")
    for row in result.rows:
        table.add_row(row.method, row.horizon_band, f"{row.mape_percent:.2f}", f"{row.mae_mw:.1f}",
                      f"{row.pinball_mw:.1f}", f"{row.coverage:.3f}", f"{row.point_inside_band:.3f}", str(row.n))
    out.print(table)
