"""``gridsage reliability``: IEEE 1366 reliability indices of a year from an outage record, with and without Major
Event Days (2.5-beta method).

A thin adapter over :func:`gridsage.tools.reliability.reliability_indices`, with the plot of
:func:`gridsage.plotting_reliability.plot_reliability`.

References
----------
.. [1] IEEE Std 1366-2022, "IEEE Guide for Electric Power Distribution Reliability Indices".
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from gridsage.cli._shared import OutputFormat, app, as_json, err, fail, out
from gridsage.errors import GridSageError, InputError

#: rows of each breakdown table in the text report (json has the result's lists)
TEXT_ROWS = 5


def _index_table(result) -> Table:
    n = result.cemi_n
    table = Table("index", "all days", "excluding MEDs", "MEDs only", title=f"IEEE 1366 indices, {result.year} "
                  f"(N_T = {result.customers_served:,}) \\[{result.evidence_id}]", title_justify="left")
    sets = [result.indices, result.indices_excluding_meds, result.indices_meds]
    rows = [("SAIFI [int/cust]", "saifi", "{:.3f}"), ("SAIDI [min]", "saidi_min", "{:.1f}"),
            ("CAIDI [min]", "caidi_min", "{:.1f}"), ("ASAI [pu]", "asai", "{:.6f}"),
            ("MAIFI [int/cust]", "maifi", "{:.3f}"), (f"CEMI{n} [pu]", "cemi_n", "{:.4f}")]
    for label, name, fmt in rows:
        cells = []
        for s in sets:
            value = None if s is None else getattr(s, name)
            cells.append("-" if s is None else "n/a" if value is None else fmt.format(value))
        table.add_row(escape(label), *cells)
    table.add_row("sustained / momentary", *("-" if s is None else f"{s.sustained_interruptions} / "
                                             f"{s.momentary_interruptions}" for s in sets))
    return table


def _breakdown_table(title: str, rows, omitted: int) -> Table:
    table = Table("", escape("SAIDI [min]"), "of which MEDs", "SAIFI", "sustained", "momentary", title=title,
                  title_justify="left")
    for b in rows[:TEXT_ROWS]:
        table.add_row(escape(b.key), f"{b.saidi_min:.2f}", f"{b.saidi_med_min:.2f}", f"{b.saifi:.4f}",
                      str(b.sustained_interruptions), str(b.momentary_interruptions))
    more = max(0, len(rows) - TEXT_ROWS) + omitted
    if more:
        table.caption = f"... and {more} more (--format json lists them)"
    return table


def _print(result) -> None:
    out.print(f"[bold]Reliability {result.year}[/] ({result.status}): {result.rows_in_period:,} interruptions in the "
              f"year, {result.rows_read:,} rows read, {result.rows_rejected:,} rejected", highlight=False)
    out.print(_index_table(result))
    med = result.med
    if med.identified:
        out.print(f"Major Event Days (2.5-beta): {escape(med.reason)}", highlight=False)
        if result.major_event_days:
            table = Table("day", escape("SAIDI [min]"), "customers interrupted", "interruptions", "main cause",
                          title=f"{len(result.major_event_days) + result.major_event_days_omitted} Major Event Day(s)",
                          title_justify="left")
            for m in result.major_event_days[:10]:
                table.add_row(str(m.date), f"{m.saidi_min:.1f}", f"{m.customers_interrupted:,}",
                              str(m.sustained_interruptions), escape(m.main_cause))
            out.print(table)
        else:
            out.print("No day of the year exceeded T_MED: no Major Event Day.")
    else:
        out.print(f"[yellow]Major Event Days not identified[/]: {escape(med.reason)}", highlight=False)
    out.print(_breakdown_table("Worst causes", result.by_cause, result.by_cause_omitted))
    out.print(_breakdown_table("Worst feeders", result.by_feeder, result.by_feeder_omitted))
    if result.rejected_rows:
        table = Table("row", "field", "reason", title=f"Rejected rows ({result.rows_rejected})", title_justify="left")
        for r in result.rejected_rows[:10]:
            table.add_row(str(r.row), r.field, escape(r.reason))
        out.print(table)
    if result.ignored_columns:
        out.print(f"ignored columns: {escape(', '.join(result.ignored_columns))}", highlight=False)
    for note in result.notes:
        out.print(f"[yellow]note[/] {escape(note)}", highlight=False)


@app.command(help=(
    "Reliability indices of a year per IEEE 1366 from an outage record: SAIFI, SAIDI, CAIDI, ASAI, MAIFI and CEMIn, "
    "for all days and excluding Major Event Days (2.5-beta method on the five years before the year), with the "
    "worst causes, feeders and months.\n\n"
    "The record is a CSV with one interruption per row: `start`, `end` (ISO 8601 with a UTC offset, or naive with "
    "`--tz`), `customers_interrupted`, `feeder`, `cause`. Interruptions of at most 5 min (`--momentary-minutes`) "
    "are momentary (MAIFI), longer ones sustained. Bad rows are listed with their row number and reason; the others "
    "are used. Files are read only under the data roots (GRIDSAGE_DATA_DIRS, default ./data).\n\n"
    "Example: `gridsage reliability --csv outages.csv --customers 20000 --year 2025 --plot saidi.png`; with a "
    "separate history: `--daily-saidi daily_saidi.csv` (columns date, saidi_minutes)."))
def reliability(
    csv: Annotated[Path, typer.Option("--csv", help="Outage record CSV (start, end, customers_interrupted, feeder, cause).", show_default=False)],
    customers: Annotated[int, typer.Option("--customers", "-n", min=1, help="Customers served N_T.", show_default=False)],
    year: Annotated[Optional[int], typer.Option("--year", min=1900, max=2200, help="Reporting calendar year; default the latest with records.")] = None,
    daily_saidi: Annotated[Optional[Path], typer.Option("--daily-saidi", help="Daily SAIDI history CSV (date, saidi_minutes [min]) for the Major Event Day threshold; default: computed from the record.")] = None,
    momentary_minutes: Annotated[float, typer.Option("--momentary-minutes", min=0.01, max=60, help="Longest momentary interruption [min] (IEEE 1366: 5).")] = 5.0,
    cemi_n: Annotated[int, typer.Option("--cemi-n", min=0, max=100, help="n of CEMIn (customers with more than n sustained interruptions).")] = 3,
    tz: Annotated[Optional[str], typer.Option("--tz", help="IANA zone of naive times and of day boundaries, e.g. America/Chicago (default UTC).")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Draw SAIDI by month (MEDs hatched) and by cause to this .png/.svg/.pdf.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", "-f", help="`text` (an engineer's summary) or `json` (the tool result).")] = OutputFormat.text,
) -> None:
    from gridsage.tools.reliability import reliability_indices

    try:
        if plot is not None:
            from gridsage.plotting import SUFFIXES

            if plot.suffix.lower() not in SUFFIXES:
                raise InputError(f"cannot draw to {plot.name!r}", field="--plot", fix="name a .png, .svg or .pdf file.")
        try:
            result = reliability_indices(str(csv), customers, year=year,
                                         daily_saidi=None if daily_saidi is None else str(daily_saidi),
                                         momentary_minutes=momentary_minutes, cemi_n=cemi_n, tz=tz)
        except GridSageError as exc:
            option = {"outages": "--csv", "daily_saidi": "--daily-saidi", "tz": "--tz",
                      "customers_served": "--customers"}.get(exc.field or "", exc.field)
            raise type(exc)(exc.message, field=option, fix=exc.fix) from None
        if plot is not None:
            from gridsage.plotting_reliability import plot_reliability

            err.print(f"plot written to {plot_reliability(result, plot)}")
    except GridSageError as exc:
        fail(exc)
    if as_json(result, fmt):
        return
    _print(result)
