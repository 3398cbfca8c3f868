"""Shape: import direction between layers, and lazy heavy imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"tools": ("gridsage.reasoning", "gridsage.cli", "gridsage.mcp_server", "gridsage.chat", "gridsage.config", "mcp", "typer"),
             "knowledge": ("gridsage.reasoning", "gridsage.tools", "gridsage.cli", "gridsage.mcp_server"),
             "graph_store": ("gridsage.reasoning", "gridsage.cli", "gridsage.mcp_server", "gridsage.config", "mcp", "typer"),
             "reasoning": ("gridsage.cli", "gridsage.mcp_server", "gridsage.config", "mcp", "typer"),
             "evals": ("gridsage.cli", "gridsage.mcp_server", "mcp", "typer")}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the folder's gridsage.* name
                base = ["gridsage", path.parent.name][: 3 - node.level]
                names.add(".".join(base + ([node.module] if node.module else [])))
            else:
                names.add(node.module)
    return names


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_layers_import_in_one_direction(folder):
    for path in (ROOT / folder).glob("*.py"):
        for name in _imports(path):
            assert not name.startswith(FORBIDDEN[folder]), f"{path.name} imports {name}"


HEAVY = ("pandapower", "lightsim2grid", "scipy", "pandas", "matplotlib", "jpype", "neo4j", "networkx", "chromadb", "torch",
         "sentence_transformers", "transformers", "pydantic_ai", "openai", "fastmcp", "pydantic_evals", "sklearn", "holidays",
         "openmeteo_requests", "niquests", "diskcache")


def test_startup_does_not_import_heavy_libraries():
    code = ("import sys, gridsage.cli, gridsage.mcp_server, gridsage.reasoning.planner, gridsage.reasoning.plot, gridsage.tools.graph, "
            "gridsage.tools.standards, gridsage.evals.retrieval, gridsage.reasoning.agent, gridsage.reasoning.history, "
            "gridsage.tools.forecasting, gridsage.tools.weather, gridsage.forecast_plot; "
            "print(sorted(m for m in HEAVY if m in sys.modules))").replace("HEAVY", repr(HEAVY))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr
