"""``gridsage causal``: why a reading deviates, what an intervention would change, and what changed between periods.

A thin adapter over the causal tools of :mod:`gridsage.tools.causal` (DoWhy, imported only when a command runs):
``attribute_anomaly``, ``estimate_effect`` and ``explain_change``, on a history CSV whose columns are the nodes of a
causal graph, built from a grid's topology around a transformer (``--grid``, ``--trafo``) or given as edges
(``--edges``); and ``simulate``, which writes such a history with causes planted, to try them on.

References
----------
.. [1] Janzing, D. et al. (2019). Causal structure based root cause analysis of outliers. arXiv:1912.02724.
.. [2] Budhathoki, K. et al. (2021). Why did the distribution change? AISTATS, PMLR 130:1666-1674.
.. [3] Sharma, A., Kiciman, E. (2020). DoWhy: an end-to-end library for causal inference. arXiv:2011.04216.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from gridsage.cli._shared import Dispatch, GridOption, OutputFormat as Format, as_json, err, fail, load_grid_id, out
from gridsage.errors import GridSageError, InputError

causal_app = typer.Typer(
    name="causal",
    help=(
        "Root cause by causal analysis (DoWhy) on a history of readings: why a value deviated, what an intervention "
        "would change, and what changed between two periods.\n\n"
        "The history is a CSV with a `time` column (ISO 8601) and one numeric column per node of a causal graph. With "
        "`--grid` and `--trafo` the graph is built from physics and the grid's topology around that transformer: "
        "`ambient_c` and `irradiance_w_m2` drive the feeder loads (`feeder_<line>_load_p_mw`, "
        "`busbar_<bus>_load_p_mw`) and the PV (`feeder_<line>_sgen_p_mw`); loads, PV and the transfers through open "
        "ties (`switch_<s>_transfer_p_mw`) make the transformer's flow (`trafo_<t>_p_mw`); flow and ambient set the "
        "top oil (`trafo_<t>_theta_to_c`) and the hot spot (`trafo_<t>_theta_h_c`), whose own term is its sensor. "
        "Or give the edges yourself (`--edges`, a CSV of cause,effect rows).\n\n"
        "`attribute`: the contribution of each upstream cause to one anomalous value, with bootstrap intervals. "
        "`effect`: the effect on an outcome of shifting a treatment (e.g. -1 MW of a feeder load, +5 K ambient), "
        "identified by the back-door criterion, with refuters (placebo treatment, random common cause, data subset) "
        "and a test of the graph's conditional independences. `change`: which causes moved a target's mean between "
        "two periods. `simulate`: a history with planted causes, from a grid's transformer.\n\n"
        "Files are read only under the data roots (GRIDSAGE_DATA_DIRS, default ./data) and the output folder, and "
        "written only under the output folder (GRIDSAGE_OUTPUT_DIR, default ./gridsage-output).\n\n"
        "Example: `gridsage causal simulate --grid cigre_mv --trafo 0 --plant trafo_0_theta_h_c=20 --out why`, then "
        "`gridsage causal attribute gridsage-output/why/history.csv --target trafo_0_theta_h_c --grid cigre_mv --trafo 0`."
    ),
    no_args_is_help=True,
)

HistoryArg = Annotated[Path, typer.Argument(help="History CSV: a `time` column and one column per graph node.", metavar="CSV", show_default=False)]
EdgesOption = Annotated[Optional[Path], typer.Option("--edges", help=escape("CSV of cause,effect rows (a header row `cause,effect`): the causal graph, instead of --grid/--trafo."))]
GridOpt = Annotated[Optional[str], typer.Option("--grid", "-g", help=escape("Grid the graph is built from (with --trafo): a built-in name (`gridsage grids`), PGLib-OPF name, or a .m / .mat / pandapower .json file."))]
TrafoOption = Annotated[Optional[int], typer.Option("--trafo", min=0, help=escape("pandapower trafo index whose causal graph is built (with --grid)."))]
SeedOption = Annotated[int, typer.Option("--seed", min=0, help="Seed of the bootstrap and the refuters.")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help=escape("`text`, or `json`: the tool result."))]


#: edges read from an --edges file at most (the tools' own bound)
MAX_EDGES = 200


def _read_edges(path: Path) -> list[list[str]]:
    """The ``cause,effect`` rows of an edges CSV under a data root (a header row ``cause,effect`` is skipped)."""
    import csv

    from gridsage.tools.paths import parse_problem, readable_file

    path = readable_file(path, "--edges", suffixes=(".csv", ".txt"))
    fix = "write one cause,effect pair of column names per row."
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [[cell.strip() for cell in row] for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path.name} cannot be read as edges ({parse_problem(exc)})", field="--edges", fix=fix) from None
    if rows and [c.lower() for c in rows[0]] == ["cause", "effect"]:
        rows = rows[1:]
    bad = next((i for i, row in enumerate(rows) if len(row) != 2 or not all(row)), None)
    if bad is not None or not rows or len(rows) > MAX_EDGES:
        why = f"row {bad + 1} is not a cause,effect pair" if bad is not None else \
            "it holds no edge" if not rows else f"it holds more than {MAX_EDGES} edges"
        raise InputError(f"{path.name}: {why}", field="--edges", fix=fix)
    return rows


def _graph_args(edges: Path | None, grid: str | None, trafo: int | None) -> dict:
    """The tools' graph arguments: ``edges`` read from the CSV, or ``grid_id`` and ``trafo``."""
    if edges is not None and grid is not None:
        raise InputError("give the graph once", field="--edges", fix="use --edges, or --grid with --trafo, not both.")
    if edges is not None:
        return {"edges": _read_edges(edges)}
    if grid is None or trafo is None:
        raise InputError("the causal graph is missing", field="--grid" if grid is None else "--trafo",
                         fix="give --grid and --trafo (the graph built from the topology), or --edges FILE.")
    return {"grid_id": load_grid_id(grid, Dispatch.file), "trafo": trafo}


def _plot(result, plot: Path | None) -> None:
    """Draw the attribution to ``plot`` when one is asked for (:func:`gridsage.plotting.plot_attribution`)."""
    if plot:
        from gridsage.plotting import plot_attribution

        err.print(f"plot written to {plot_attribution(result, plot)}")


def _contributions(result, title: str) -> None:
    table = Table("cause", "role", "contribution", "share %", "interval", "what", title=title, title_justify="left")
    for c in result.contributions:
        interval = "" if c.ci_low is None or c.ci_high is None else f"{c.ci_low:+.2f}..{c.ci_high:+.2f}"
        table.add_row(c.node, c.role or "", f"{c.contribution:+.2f} {result.unit}", f"{c.share_percent:.1f}", interval,
                      escape(c.description or ""))
    out.print(table)
    if result.contributions_omitted:
        out.print(f"... and {result.contributions_omitted} smaller cause(s) in the evidence [{result.evidence_id}]")
    for note in result.notes:
        out.print(f"[yellow]note[/] {escape(note)}", highlight=False)


@causal_app.command("attribute")
def attribute(
    history: HistoryArg,
    target: Annotated[str, typer.Option("--target", "-t", help="The node whose value is explained, e.g. trafo_0_theta_h_c.", show_default=False)],
    time: Annotated[Optional[str], typer.Option("--time", help="ISO 8601 time of the value; default where the target deviates most from its median.")] = None,
    edges: EdgesOption = None,
    grid: GridOpt = None,
    trafo: TrafoOption = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=1, max=50, help="Bootstrap refits for the intervals [1-50].")] = 10,
    seed: SeedOption = 0,
    plot: Annotated[Optional[Path], typer.Option("--plot", help=escape("Draw the contributions with their intervals to this .png/.svg/.pdf (needs `pip install 'gridsage[plot]'`)."))] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Attribute one anomalous value to its upstream causes (DoWhy GCM), each share with a bootstrap interval.

    The contributions are in the target's unit and add up to the value's deviation from the target's typical value;
    the target's own share is the reading itself (for a sensor reading: the sensor). Example:
    `gridsage causal attribute history.csv --target trafo_0_theta_h_c --grid cigre_mv --trafo 0 --plot why.png`.
    """
    from gridsage.tools.causal import attribute_anomaly

    try:
        graph = _graph_args(edges, grid, trafo)
        with err.status("fitting the causal model and attributing ..."):
            result = attribute_anomaly(data_csv=str(history), target=target, anomaly_time=time, num_bootstrap=bootstrap,
                                       seed=seed, **graph)
        _plot(result, plot)
    except GridSageError as exc:
        fail(exc)
    if as_json(result, fmt):
        return
    out.print(f"[bold]{result.target}[/] = {result.value:.2f} {result.unit} at {result.anomaly_time}: "
              f"{result.excess:+.2f} {result.unit} from its typical {result.expected:.2f} ({result.status}) "
              f"\\[{result.evidence_id}]", highlight=False)
    if result.root_cause:
        out.print(f"root cause: [bold]{result.root_cause}[/]", highlight=False)
    _contributions(result, f"Contributions ({result.method})")


@causal_app.command("effect")
def effect(
    history: HistoryArg,
    treatment: Annotated[str, typer.Option("--treatment", help="The node shifted, e.g. switch_4_transfer_p_mw or ambient_c.", show_default=False)],
    outcome: Annotated[str, typer.Option("--outcome", help="The node whose change is estimated, e.g. trafo_0_theta_h_c.", show_default=False)],
    delta: Annotated[float, typer.Option("--delta", help="Shift of the treatment [its unit], e.g. -1 (MW moved off) or 5 (K).")] = 1.0,
    edges: EdgesOption = None,
    grid: GridOpt = None,
    trafo: TrafoOption = None,
    seed: SeedOption = 0,
    fmt: FormatOption = Format.text,
) -> None:
    """Estimate the effect on an outcome of shifting a treatment, with refuters.

    Identification by the back-door criterion on the causal graph, a regression estimate, and refuters: a placebo
    treatment (the effect must vanish), a random common cause and a data subset (it must not move), and the
    graph's implied conditional independences tested on the data. A failed refuter sets the status `refuted`.
    Example: `gridsage causal effect history.csv --treatment ambient_c --outcome trafo_0_theta_h_c --delta 5
    --grid cigre_mv --trafo 0`.
    """
    from gridsage.tools.causal import estimate_effect

    try:
        graph = _graph_args(edges, grid, trafo)
        with err.status("identifying, estimating and refuting ..."):
            result = estimate_effect(data_csv=str(history), treatment=treatment, outcome=outcome, treatment_delta=delta,
                                     seed=seed, **graph)
    except GridSageError as exc:
        fail(exc)
    if as_json(result, fmt):
        return
    interval = "" if result.ci_low is None or result.ci_high is None else f" (interval {result.ci_low:+.3f}..{result.ci_high:+.3f})"
    colour = "green" if result.status == "ok" else "yellow"
    out.print(f"[{colour}]{result.status}[/]: {delta:+g} of {result.treatment} changes {result.outcome} by "
              f"[bold]{result.estimate:+.3f}[/]{interval} \\[{result.evidence_id}]", highlight=False)
    out.print(escape(f"{result.estimand}; {result.method}; {result.rows_used} rows"), highlight=False)
    table = Table("refuter", "passed", "new effect", "p-value", "detail", title="Refutations", title_justify="left")
    for r in result.refutations:
        table.add_row(r.refuter, "[green]yes[/]" if r.passed else "[red]no[/]",
                      "" if r.new_effect is None else f"{r.new_effect:+.3f}", "" if r.p_value is None else f"{r.p_value:.3f}",
                      escape(r.detail))
    out.print(table)
    for note in result.notes:
        out.print(f"[yellow]note[/] {escape(note)}", highlight=False)


@causal_app.command("change")
def change(
    history: HistoryArg,
    target: Annotated[str, typer.Option("--target", "-t", help="The node whose change of mean is explained.", show_default=False)],
    before: Annotated[str, typer.Option("--before", help="First period: START,END (ISO 8601).", show_default=False)],
    after: Annotated[str, typer.Option("--after", help="Second period: START,END (ISO 8601).", show_default=False)],
    edges: EdgesOption = None,
    grid: GridOpt = None,
    trafo: TrafoOption = None,
    seed: SeedOption = 0,
    plot: Annotated[Optional[Path], typer.Option("--plot", help=escape("Draw the contributions to this .png/.svg/.pdf."))] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Attribute the change of a target's mean between two periods to the causal mechanisms that changed (DoWhy
    `distribution_change`). Example: `gridsage causal change history.csv --target trafo_0_theta_h_c --before
    2026-07-01,2026-07-08 --after 2026-07-08,2026-07-15 --grid cigre_mv --trafo 0`."""
    from gridsage.tools.causal import explain_change

    try:
        periods = [[t.strip() for t in p.split(",")] for p in (before, after)]
        for field, p in zip(("--before", "--after"), periods):
            if len(p) != 2 or not all(p):
                raise InputError("a period needs a start and an end", field=field, fix="write START,END, e.g. 2026-07-01,2026-07-08.")
        graph = _graph_args(edges, grid, trafo)
        with err.status("fitting both periods and attributing the change ..."):
            result = explain_change(data_csv=str(history), target=target, period_a=periods[0], period_b=periods[1],
                                    seed=seed, **graph)
        _plot(result, plot)
    except GridSageError as exc:
        fail(exc)
    if as_json(result, fmt):
        return
    out.print(f"[bold]{result.target}[/]: mean {result.mean_a:.2f} -> {result.mean_b:.2f} {result.unit} "
              f"({result.change:+.2f}; {result.rows_a} and {result.rows_b} rows) \\[{result.evidence_id}]", highlight=False)
    _contributions(result, "Contributions to the change of mean")


@causal_app.command("simulate")
def simulate(
    grid: GridOption,
    trafo: Annotated[int, typer.Option("--trafo", min=0, help="pandapower trafo index.", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder under the output folder to write history.csv to.", show_default=False)],
    days: Annotated[float, typer.Option("--days", min=2, max=120, help="Span [days].")] = 14.0,
    interval_min: Annotated[float, typer.Option("--interval", min=5, max=240, help="Interval [min].")] = 60.0,
    ambient_mean_c: Annotated[float, typer.Option("--ambient", min=-40, max=50, help="Mean ambient [°C].")] = 25.0,
    plant: Annotated[Optional[list[str]], typer.Option("--plant", help="NODE=SHIFT added to that node's own term at the last interval (repeat), e.g. trafo_0_theta_h_c=20 (a sensor fault).")] = None,
    seed: SeedOption = 0,
) -> None:
    """Write a history with planted causes, simulated from physics on a grid's transformer (try the other commands
    on it). The planted causes are printed, not written: the file carries no answer key."""
    from gridsage.reasoning.study import write_history
    from gridsage.tools.causal import PlantedCause, simulate_feeder_history
    from gridsage.tools.paths import output_root, writable_dir
    from gridsage.tools.workspace import current_workspace

    try:
        planted = []
        for i, text in enumerate(plant or []):
            node, sep, shift = text.partition("=")
            try:
                planted.append(PlantedCause(node=node.strip(), shift=float(shift)))
            except ValueError:
                raise InputError(f"--plant #{i + 1} is not NODE=SHIFT", field="--plant",
                                 fix="write e.g. --plant trafo_0_theta_h_c=20 (a node and a number).") from None
        grid_id = load_grid_id(grid, Dispatch.file)
        with err.status("simulating ..."):
            history = simulate_feeder_history(current_workspace().get(grid_id).net, trafo, days=days,
                                              interval_min=interval_min, seed=seed, ambient_mean_c=ambient_mean_c,
                                              planted=planted)
        folder = writable_dir(out_dir if out_dir.is_absolute() else output_root() / out_dir, "--out")
        path = write_history(history.data, folder, "--out")
    except GridSageError as exc:
        fail(exc)
    frame = history.data
    out.print(f"{len(frame):,} intervals x {len(frame.columns) - 1} nodes written to {path}")
    out.print(f"planted at {frame['time'].iloc[-1]:%Y-%m-%dT%H:%M:%SZ}: " +
              (", ".join(f"{c.node} {c.shift:+g}" for c in planted) or "nothing"), highlight=False)
