"""``gridsage analyze | scenarios | schema | eval``: the main job, the scenario library, the schemas, the evaluation."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from gridsage.cli._shared import JsonOption, OutputFormat, ToolsOption, app, as_json, err, fail, out
from gridsage.errors import GridSageError


class ReportFormat(str, Enum):
    text = "text"
    markdown = "markdown"
    json = "json"


@app.command()
def analyze(
    scenario: Annotated[str, typer.Argument(help="The name of a shipped scenario (`gridsage scenarios`), or a scenario YAML file under a data root (GRIDSAGE_DATA_DIRS, default ./data).")],
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="`text` report, `markdown`, or `json` (the Assessment with its evidence ledger).")] = ReportFormat.text,
    top: Annotated[int, typer.Option("--top", "-n", help="N-1 risks to report.")] = 10,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report to this file instead of stdout.")] = None,
    graph: Annotated[bool, typer.Option("--graph/--no-graph", help="Add topology context (zone, neighbours, load at risk) from the graph; the shared graph server (gridsage graph status) is started in the background if it isn't running.")] = True,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Also draw branch loadings [%] before/after the events and the plan, and the N-1 risks (a telemetry scenario: the stream with the most anomalies, each marked), to this .png/.svg/.pdf (needs `pip install 'gridsage[plot]'`).")] = None,
) -> None:
    """The main job: assess a scenario like a senior grid engineer.

    Runs the base power flow, applies the scenario's events, runs the post-event power flow and N-1,
    proposes remedial actions and validates each one by AC power flow, then reports what happened,
    what is at risk, and what to do first, every number tagged with its evidence id.
    Example: `gridsage analyze scenarios/ieee118_summer_line_trip.yaml`.
    """
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from gridsage.reasoning.playbooks import playbook_for
    from gridsage.reasoning.render import render
    from gridsage.reasoning.scenario import load_scenario

    try:
        parsed, base_dir = load_scenario(scenario)
        playbook = playbook_for(parsed)
        if graph:  # the shared graph server starts (if it isn't running) while the power flows run
            from gridsage.graph_store.store import get_store

            get_store().prestart()
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task(f"{parsed.name}: starting", total=len(playbook.steps))

            def step(message: str) -> None:
                if message in playbook.steps:
                    bar.update(task, description=f"{parsed.name}: {message}", completed=playbook.steps.index(message))

            assessment = playbook.assess(parsed, base_dir, top=top, progress=step, graph=graph)
        if plot:
            from gridsage.plotting import plot_assessment

            err.print(f"plot written to {plot_assessment(assessment, plot)}")
    except GridSageError as exc:
        fail(exc)
    report = render(assessment, fmt.value)
    if output:
        output.write_text(report)
        err.print(f"report written to {output}")
    else:
        sys.stdout.write(report)


@app.command()
def scenarios() -> None:
    """List the scenarios shipped with GridSage (run one with `gridsage analyze NAME`)."""
    from gridsage.reasoning.scenario import library, parse_scenario

    table = Table("name", "studies", "title", title="Shipped scenarios", title_justify="left")
    for name, text in sorted(library().items()):
        s = parse_scenario(text, name)
        table.add_row(name, s.subject(), s.title or "")
    out.print(table)


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="`scenario` (the YAML format) or `assessment` (the JSON output).")] = "scenario",
) -> None:
    """Print a JSON Schema: the scenario format or the Assessment."""
    if kind == "scenario":
        from gridsage.reasoning.scenario import scenario_json_schema as make
    elif kind == "assessment":
        from gridsage.reasoning.assessment import assessment_json_schema as make
    else:
        fail(GridSageError(f"unknown schema {kind!r}", field="kind", fix="use 'scenario' or 'assessment'."))
    sys.stdout.write(make())


@app.command("eval", help=(
    "Score answerers on scenarios with `expect:` blocks: the deterministic planner, and each `--model` side by side "
    "(pydantic-evals). Prints a table and writes eval.json and eval.md (summary, and per case: precision, recall, "
    "severity regret, plan outcome) to `--out`.\n\n"
    "Headline: the mean case score in [-1, 1]; a false-safe case (a problem called secure) scores -1, any other the "
    "weighted mean of verdict, precision/recall F1 of the violated and at-risk elements named in evidence-backed claims, "
    "telemetry event recall, ATT&CK technique F1, the root cause named, action validity (the plan re-solved on the scenario's own post-event grid by plain "
    "pandapower; no plan where one is needed scores 0), severity regret, citation coverage and precision, grounding "
    "rate, N-1 top risk and finding count (formula: gridsage.evals.harness). Metrics: invalid and repeated tool calls, "
    "latency, tokens.\n\n"
    "`--scenarios DIR` scores any folder of scenario YAML files; keep a hidden set outside the repository, e.g. "
    "`gridsage eval --scenarios ~/hidden-scenarios --model ollama:qwen2.5`."))
def eval_command(
    scenarios: Annotated[Optional[Path], typer.Option("--scenarios", help="Folder of scenario YAML files; those with an `expect:` block are scored (default: the shipped library).")] = None,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="A model to score beside the planner (repeatable): ollama:NAME, openai-compatible:NAME, local-gguf:PATH.")] = None,
    planner: Annotated[bool, typer.Option("--planner/--no-planner", help="Score the deterministic planner too.")] = True,
    tools: ToolsOption = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for eval.json and eval.md.")] = Path("gridsage-eval"),
    fmt: JsonOption = OutputFormat.text,
) -> None:
    from gridsage.evals.harness import CASE_COLUMNS, COLUMNS, case_rows, run_eval, scenario_files, write_reports
    from gridsage.tools.toolset import TOOLS_ENV, check_profile
    from gridsage.reasoning.agent import build_model, parse_model_spec

    try:
        if scenarios is not None and not scenarios.is_dir():
            raise GridSageError(f"{scenarios} is not a folder", field="scenarios",
                                fix="point --scenarios at a folder of scenario YAML files with expect: blocks.")
        files = scenario_files(scenarios)
        if not files:
            raise GridSageError(f"no scenario with an expect: block in {scenarios or 'the shipped library'}",
                                field="scenarios", fix="point --scenarios at a folder of scenario YAML files with expect: blocks.")
        answerers = [("planner", None)] if planner else []
        for spec_text in model or []:
            spec = parse_model_spec(spec_text)
            if spec:
                answerers.append((spec.label, build_model(spec)))
        tools = tools or os.environ.get(TOOLS_ENV, "all")
        check_profile(tools)
        run = run_eval(files, answerers, progress=err.is_terminal, tools=tools)
    except GridSageError as exc:
        fail(exc)
    data, text = write_reports(run, out_dir)
    if as_json(run, fmt):
        return
    table = Table("", *(row.answerer for row in run.summary), title=f"GridSage evaluation: {len(files)} scenarios",
                  caption="headline in [-1, 1]; a false-safe case scores -1", title_justify="left")
    for column in COLUMNS[1:]:
        table.add_row(column, *("–" if getattr(row, column) is None else str(getattr(row, column)) for row in run.summary))
    out.print(table)
    cases = Table(*CASE_COLUMNS[:12], title="Per case (tool calls and notes: eval.md)", title_justify="left")
    for row in case_rows(run):
        cases.add_row(*row[:12])
    out.print(cases)
    out.print(f"wrote {data} and {text}")
