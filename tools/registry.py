"""The tools every adapter publishes: one line per tool.

The MCP server, the chat agent and any other adapter read this list, so a new
tool is one function plus one line here.  ``kind`` says what a call does to
GridSage's state; each adapter maps it to its own hints (MCP annotations, for
example).
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Literal

from gridsage.errors import InputError

ToolKind = Literal["analysis", "adds_grid", "drops_grid", "writes_graph"]

#: ``("<module>.<function>" under gridsage.tools, kind)``; the tool's name is the function's name
TOOLS: list[tuple[str, ToolKind]] = [
    ("grids.list_grids", "analysis"),
    ("grids.load_grid", "adds_grid"),
    ("grids.grid_summary", "analysis"),
    ("grids.unload_grid", "drops_grid"),
    ("power_flow.run_power_flow", "analysis"),
    ("contingency.run_contingency_analysis", "analysis"),
    ("events.apply_events", "adds_grid"),
    ("remedial.propose_remedial_actions", "analysis"),
    ("remedial.apply_actions", "adds_grid"),
    ("graph.sync_graph", "writes_graph"),
    ("graph.graph_neighbourhood", "analysis"),
    ("graph.graph_elements_at_bus", "analysis"),
    ("graph.graph_path", "analysis"),
    ("graph.graph_outage_impact", "analysis"),
    ("graph.graph_downstream", "analysis"),
    ("standards.search_standards", "analysis"),
    ("standards.read_standard", "analysis"),
    ("forecasting.forecast_load", "analysis"),
    ("forecasting.backtest_load_forecast", "analysis"),
    ("transformer_thermal.transformer_thermal", "analysis"),
    ("dga.dga_assessment", "analysis"),
    ("transformer_health.transformer_health", "analysis"),
    ("telemetry.ingest_telemetry", "analysis"),
    ("grid_monitor.monitor_telemetry", "analysis"),
    ("anomaly.score_telemetry", "analysis"),
    ("telemetry_simulator.simulate_telemetry", "analysis"),
]


#: environment variable naming the default tool profile of the chat agent
TOOLS_ENV = "GRIDSAGE_TOOLS"
#: named subsets of the tools, for models that cannot read every schema (a small local model reads
#: every schema, ~6,700 prompt tokens for 17 tools, in minutes on 2 cores, and then loses its way)
TOOL_PROFILES: dict[str, tuple[str, ...] | None] = {
    "all": None,
    # load_study is the chat agent's own tool (in process, with a scenario): the study grid, or the study's
    # telemetry, in one call
    "study": ("load_study", "load_grid", "apply_events", "run_power_flow", "run_contingency_analysis",
              "propose_remedial_actions", "apply_actions", "monitor_telemetry", "score_telemetry"),
}


def profile_tools(profile: str) -> tuple[str, ...] | None:
    """The tool names of a profile of :data:`TOOL_PROFILES` (``None``: every tool).

    Raises
    ------
    InputError
        If ``profile`` is not a known profile.
    """
    if profile not in TOOL_PROFILES:
        raise InputError(f"unknown tool profile {profile!r}", field="tools",
                         fix=f"use one of: {', '.join(TOOL_PROFILES)}.")
    return TOOL_PROFILES[profile]


def resolve_tool(target: str) -> Callable[..., Any]:
    """The tool function named ``'<module>.<function>'`` under :mod:`gridsage.tools` (imports its module)."""
    module, _, name = target.rpartition(".")
    return getattr(importlib.import_module(f"gridsage.tools.{module}"), name)


def tool_functions(kinds: tuple[ToolKind, ...] | None = None) -> list[Callable[..., Any]]:
    """The tool functions of :data:`TOOLS`, optionally only those of the given kinds."""
    return [resolve_tool(target) for target, kind in TOOLS if kinds is None or kind in kinds]
