"""Shape: import direction between layers, no import cycles, lazy heavy imports, one toolset that holds every tool."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the folders mapped into the gridsage namespace (pyproject.toml package-dir)
FOLDERS = {"gridsage": "gridsage", "tools": "gridsage.tools", "reasoning": "gridsage.reasoning",
           "knowledge": "gridsage.knowledge", "graph_store": "gridsage.graph_store", "evals": "gridsage.evals",
           "scenarios": "gridsage.scenarios", "prompts": "gridsage.prompts"}
ENTRY_POINTS = ("gridsage.cli", "gridsage.mcp_server", "gridsage.chat", "gridsage.console")
#: only the entry points talk to users and clients: the CLI framework, terminal rendering and the MCP SDK stay there
ADAPTER_LIBRARIES = ("typer", "rich", "mcp")
#: module prefix -> imports it must never make
FORBIDDEN = {
    "gridsage.tools": ("gridsage.reasoning", "gridsage.evals", "gridsage.config", *ENTRY_POINTS, *ADAPTER_LIBRARIES),
    "gridsage.knowledge": ("gridsage.reasoning", "gridsage.tools", "gridsage.graph_store", *ENTRY_POINTS, *ADAPTER_LIBRARIES),
    "gridsage.graph_store": ("gridsage.reasoning", "gridsage.tools", "gridsage.config", *ENTRY_POINTS, *ADAPTER_LIBRARIES),
    "gridsage.reasoning": ("gridsage.config", "gridsage.evals", *ENTRY_POINTS, *ADAPTER_LIBRARIES),
    "gridsage.reasoning.playbooks": ("gridsage.reasoning.agent",),
    "gridsage.evals": (*ENTRY_POINTS, *ADAPTER_LIBRARIES),
    "gridsage.errors": ("gridsage.", *ADAPTER_LIBRARIES),
    "gridsage.config": ("gridsage.", *ADAPTER_LIBRARIES),
}


def _modules() -> dict[str, Path]:
    """Every Python module of GridSage by its gridsage.* name."""
    found = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path, top_level_only: bool = False) -> set[str]:
    """Modules ``name`` imports (absolute names; ``from p import m`` counts as ``p.m`` when that is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names}
    return found


@pytest.mark.parametrize("prefix", sorted(FORBIDDEN))
def test_layers_import_in_one_direction(prefix):
    for name, path in MODULES.items():
        if name == prefix or name.startswith(prefix + "."):
            for imported in _imports(name, path):
                assert not imported.startswith(FORBIDDEN[prefix]), f"{name} imports {imported}"


def test_no_import_cycles():
    """Module-level imports between GridSage modules form no cycle (a cycle breaks depending on import order)."""
    import networkx as nx

    graph = nx.DiGraph()
    for name, path in MODULES.items():
        for imported in _imports(name, path, top_level_only=True):
            if imported in MODULES and imported != name:
                graph.add_edge(name, imported)
    cycles = list(nx.simple_cycles(graph, length_bound=6))
    assert not cycles, cycles[:5]


def test_internal_modules_are_not_imported_from_other_layers():
    """A ``_``-prefixed module is its package's own: other packages use what the package re-exports."""
    for name, path in MODULES.items():
        for imported in _imports(name, path):
            private = [i for i, part in enumerate(imported.split(".")) if part.startswith("_") and part != "__init__"]
            if private and imported.startswith("gridsage."):
                owner = ".".join(imported.split(".")[: private[0]])
                assert name.startswith(owner), f"{name} imports {imported}, internal to {owner}"


HEAVY = ("pandapower", "lightsim2grid", "scipy", "pandas", "matplotlib", "jpype", "neo4j", "networkx", "chromadb", "onnxruntime",
         "tokenizers", "pydantic_ai", "openai", "fastmcp", "pydantic_evals", "sklearn", "holidays",
         "openmeteo_requests", "niquests", "diskcache")


def test_startup_does_not_import_heavy_libraries():
    code = ("import sys, gridsage.cli, gridsage.mcp_server, gridsage.reasoning.playbooks, gridsage.plotting, "
            "gridsage.tools.grid, gridsage.tools.forecast, gridsage.tools.telemetry, gridsage.tools.equipment, "
            "gridsage.tools.standards, gridsage.evals.retrieval, gridsage.reasoning.agent, gridsage.tools.forecast._weather; "
            "from gridsage.tools.toolset import toolset; toolset(); "
            "print(sorted(m for m in HEAVY if m in sys.modules))").replace("HEAVY", repr(HEAVY))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_every_tool_function_is_in_the_toolset():
    """A ``@tool`` function missing from the toolset would be published by no adapter."""
    from gridsage import tools
    from gridsage.tools.toolset import toolset

    marked = set()
    for info in pkgutil.walk_packages(tools.__path__, "gridsage.tools."):
        module = importlib.import_module(info.name)
        marked |= {f"{info.name}.{k}" for k, v in vars(module).items()
                   if getattr(v, "__gridsage_tool__", False) and v.__module__ == info.name}
    published = {f"{spec.function.__module__}.{spec.name}" for spec in toolset()}
    assert marked == published, {"missing from the toolset": marked - published, "not a @tool": published - marked}


def test_each_tool_package_exports_its_tools():
    from gridsage.tools.toolset import toolset

    for spec in toolset():
        package = importlib.import_module(spec.function.__module__.rpartition(".")[0])
        if package.__name__ != "gridsage.tools":  # shared infrastructure (standards lookup) sits at the top
            assert spec.name in package.__all__ and getattr(package, spec.name) is spec.function, spec.name
