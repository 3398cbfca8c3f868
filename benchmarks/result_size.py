"""Result sizes: tokens per tool result as an MCP client receives it, per built-in grid, against the budgets.

For each grid (pandapower built-ins, by ``load_grid`` name) the GridSage MCP server is called in memory through the
SDK's own ``Client`` (``Client(build_server())``), and each result is measured as a client receives it: the text
block plus the ``structuredContent`` JSON (as the SDK sends it, no spaces).  Beside it, the full result the evidence
ledger keeps (what Python callers get), and the payload the server sent before issue 15 (that full result twice:
indented text and ``structuredContent``), both measured in the same run.  Budgets (DESIGN.md section 7): power flow
400 tokens, N-1 900, remedial candidates 650, and no result over 25,000 tokens; the pages of ``read_evidence`` count
too (the top level of the N-1 result and its largest list page).  A second table counts the tokens of the tool
schemas a model reads in a scenario study (``--tools study``): the minimal profile against the same tools with
every parameter (the schemas before issue 15).

Tokens are the Qwen2.5 tokenizer's (the local test model's, built from its GGUF by
``tests/local_model.py:qwen_tokenizer``; identical to llama.cpp's count); when the model file is absent the table
says so and shows a labelled estimate, characters / 3.  Times are medians of ``--repeats`` calls (``--repeats-big``
on grids over 3000 buses).  N-1 on grids over ``--n1-full-buses`` buses (default 5000: case9241pegase) outages only
``--n1-big-elements`` (default transformers), so the run stays within minutes on 2 cores; the table's note says where.

Run from the repository root::

    python benchmarks/result_size.py
    python benchmarks/result_size.py --grids case9 case39 case118 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

import anyio
from mcp import Client
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/local_model.py: the test model's tokenizer
from tests.local_model import qwen_tokenizer  # noqa: E402

from gridsage import mcp_server  # noqa: E402
from gridsage.tools.workspace import Workspace, current_workspace, use_workspace  # noqa: E402

warnings.filterwarnings("ignore")
logging.getLogger("pandapower").setLevel(logging.ERROR)
logging.getLogger("mcp").setLevel(logging.ERROR)

GRIDS = ("case9", "case30", "case39", "case118", "case300", "case2869pegase", "case9241pegase")
BUDGETS = {"run_power_flow": 400, "run_contingency_analysis": 900, "propose_remedial_actions": 650}
CAP = 25_000
console = Console()
if not console.is_terminal:
    console = Console(width=200)


def counter():
    """(count function, label): the Qwen2.5 tokenizer, or the labelled characters / 3 estimate."""
    tok = qwen_tokenizer()
    if tok is None:
        return (lambda text: -(-len(text) // 3)), "ESTIMATE: characters / 3 (the test model's GGUF is absent)"
    return (lambda text: len(tok.encode(text, add_special_tokens=False).ids)), "Qwen2.5 tokenizer (test model GGUF)"


def received(result) -> str:
    """What a client receives of a tool result: its text blocks and its structuredContent as the SDK sends it."""
    text = "".join(b.text for b in result.content if getattr(b, "type", "") == "text")
    return text + (json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
                   if result.structured_content is not None else "")


async def measure(grid: str, count, repeats: int, n1_args: dict) -> list[dict]:
    """One row per tool on ``grid``: compact tokens, full-result tokens, the old payload's tokens, median time."""
    rows = []
    async with Client(mcp_server.build_server()) as client:
        loaded = await client.call_tool("load_grid", {"source": grid})
        grid_id = loaded.structured_content["grid_id"]
        rows.append({"grid": grid, "tool": "load_grid", "compact": count(received(loaded)), "note": ""})
        for tool, args in (("run_power_flow", {}), ("run_contingency_analysis", n1_args), ("propose_remedial_actions", {})):
            times, result = [], None
            for _ in range(repeats):
                started = time.perf_counter()
                result = await client.call_tool(tool, {"grid_id": grid_id, **args})
                times.append(time.perf_counter() - started)
            if result.is_error:
                rows.append({"grid": grid, "tool": tool, "note": f"error: {received(result)[:80]}"})
                continue
            full = current_workspace().ledger.get(result.structured_content["evidence_id"]).result
            rows.append({"grid": grid, "tool": tool, "compact": count(received(result)),
                         "full": count(json.dumps(full, separators=(",", ":"), ensure_ascii=False)),
                         "before": count(json.dumps(full, indent=2, ensure_ascii=False))
                         + count(json.dumps(full, separators=(",", ":"), ensure_ascii=False)),
                         "time_s": statistics.median(times), "note": ", ".join(f"{k}={v}" for k, v in args.items())})
            if tool == "run_contingency_analysis":  # the evidence pages a client reads next
                evidence = result.structured_content["evidence_id"]
                for path in ("", "/top"):
                    page = await client.call_tool("read_evidence", {"evidence_id": evidence, "path": path, "limit": 200})
                    rows.append({"grid": grid, "tool": f"read_evidence {path or '/'} (limit 200)",
                                 "compact": count(received(page)), "note": ""})
    return rows


def schema_rows(count) -> list[tuple[str, int, int, int]]:
    """(scenario, tools, tokens of the minimal study schemas, tokens of the same tools with every parameter)."""
    from pydantic_ai import Tool

    from gridsage.reasoning.agent import ChatSession
    from gridsage.reasoning.agent.session import session_tools
    from gridsage.reasoning.scenario import load_scenario

    def tokens(tools) -> int:
        return count(json.dumps([{"name": t.tool_def.name, "description": t.tool_def.description,
                                  "parameters": t.tool_def.parameters_json_schema} for t in tools]))

    rows = []
    for name in ("case9_unit_trip_secure", "ieee118_summer_line_trip", "substation_sensor_dropout"):
        scenario, folder = load_scenario(name)
        minimal = list(session_tools(ChatSession(scenario=scenario, scenario_dir=folder, tools="study")))
        everything = session_tools(ChatSession(scenario=scenario, scenario_dir=folder, tools="all"))
        before = [spec for spec in everything if "study" in spec.profiles]  # the study profile before issue 15
        rows.append((name, len(minimal), tokens(Tool(s.published, name=s.name, description=s.description) for s in minimal),
                     tokens(Tool(s.function) for s in before)))  # as the agent described tools before: docstrings
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--grids", nargs="+", default=list(GRIDS))
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per tool on grids up to 3000 buses")
    parser.add_argument("--repeats-big", type=int, default=1, help="timed calls per tool on bigger grids")
    parser.add_argument("--n1-full-buses", type=int, default=5000, help="grids up to this many buses get a full N-1")
    parser.add_argument("--n1-big-elements", nargs="+", default=["trafo"], help="outage kinds on bigger grids")
    args = parser.parse_args()
    count, label = counter()
    import pandapower.networks as pn

    rows = []
    with use_workspace(Workspace()):
        for grid in args.grids:
            buses = len(getattr(pn, grid)().bus)
            n1 = {"elements": args.n1_big_elements} if buses > args.n1_full_buses else {}
            console.print(f"[dim]{grid} ...[/]")
            rows += anyio.run(measure, grid, count, args.repeats_big if buses > 3000 else args.repeats, n1)

    table = Table("grid", "tool", "tokens received", "budget", "within", "full result", "before (full x2)",
                  "ratio", "median [s]", "note", title=f"Tool results over MCP, tokens ({label})")
    for r in rows:
        budget = BUDGETS.get(r["tool"], CAP)
        ok = r.get("compact") is not None and r["compact"] <= budget
        table.add_row(r["grid"], r["tool"], f"{r.get('compact', '-'):,}" if "compact" in r else "-",
                      f"{budget:,}", "yes" if ok else "[red]NO[/]", f"{r['full']:,}" if "full" in r else "",
                      f"{r['before']:,}" if "before" in r else "",
                      f"{r['before'] / r['compact']:,.0f}x" if "before" in r else "",
                      f"{r['time_s']:.2f}" if "time_s" in r else "", r["note"])
    console.print(table)
    schemas = Table("scenario", "tools", "minimal study profile", "same tools, every parameter", "ratio",
                    title=f"Tool schemas a model reads in a scenario study with --tools study ({label})")
    for name, n, minimal, before in schema_rows(count):
        schemas.add_row(name, str(n), f"{minimal:,}", f"{before:,}", f"{before / minimal:.1f}x")
    console.print(schemas)


if __name__ == "__main__":
    main()
