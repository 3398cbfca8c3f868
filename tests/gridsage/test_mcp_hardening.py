"""Hardening of the MCP server (issue 16), through the MCP SDK's own clients on real tools.

- sessions: two streamable-HTTP sessions of one server never see each other's grids or evidence, and one cannot
  fill the other's grid limit;
- arguments: unknown names, over-long strings and out-of-range numbers are refused on every tool, fast, with a short
  typed error, before the tool runs; a crash inside a tool is a short typed tool error, never a protocol error;
- annotations: every tool's hints against a table, and the behaviour behind them where it is cheap to check;
- stdio: lines that are not JSON-RPC messages are answered with the standard error codes;
- concurrency: a cheap call completes while a long power-system study runs.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client

from gridsage import config, mcp_server
from tests.servers import free_port, serving
from gridsage.errors import InputError, RequestTooLargeError
from gridsage.tools.toolset import toolset
from gridsage.tools.workspace import Workspace, WorkspacePool, use_workspace

SUBPROCESS_CWD = tempfile.gettempdir()
STDIO_SERVER = [sys.executable, "-m", "gridsage", "mcp", "--transport", "stdio"]
SERVER_START_S = 30


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def workspace():
    with use_workspace(Workspace()) as ws:
        yield ws


def text_of(result) -> str:
    return "".join(block.text for block in result.content if getattr(block, "type", "") == "text")


# ------------------------------------------------------------------------ HTTP server


@contextlib.contextmanager
def http_server(max_sessions: int = 8):
    """``gridsage mcp --transport http`` (the CLI) on a free loopback port; yields its /mcp URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != config.TOKEN_ENV}
    command = [sys.executable, "-m", "gridsage", "mcp", "--transport", "http", "--port", str(port),
               "--max-sessions", str(max_sessions)]
    with serving(command, port, cwd=SUBPROCESS_CWD, env=env, start_s=SERVER_START_S):
        yield f"http://127.0.0.1:{port}{config.MCP_HTTP_PATH}"


@pytest.fixture(scope="module")
def http_url():
    with http_server() as url:
        yield url


@contextlib.asynccontextmanager
async def http_client(url: str):
    async with (
        httpx2.AsyncClient(timeout=httpx2.Timeout(120.0)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


# ---------------------------------------------------------------------------- sessions


@pytest.mark.anyio
async def test_http_sessions_have_their_own_grids_evidence_and_limit(http_url):
    with anyio.fail_after(240):
        async with http_client(http_url) as a, http_client(http_url) as b:
            loaded = await a.call_tool("load_grid", {"source": "case14", "grid_id": "a14"})
            assert not loaded.is_error, text_of(loaded)
            pf = (await a.call_tool("run_power_flow", {"grid_id": "a14"})).structured_content
            a_evidence = pf["evidence_id"]

            b_list = (await b.call_tool("list_grids", {})).structured_content
            b_summary = await b.call_tool("grid_summary", {"grid_id": "a14"})
            b_unload = await b.call_tool("unload_grid", {"grid_id": "a14"})
            b_evidence = await b.call_tool("read_evidence", {"evidence_id": a_evidence})
            with pytest.raises(MCPError, match="grid_id"):
                await b.read_resource("grid://a14/summary")

            # B fills its own grid limit ...
            b_loads = [await b.call_tool("load_grid", {"source": "case9", "grid_id": f"b{i}"}) for i in range(33)]
            # ... and A still loads, reads its grid, its evidence and its resources
            a_again = await a.call_tool("load_grid", {"source": "case9", "grid_id": "a9"})
            a_list = (await a.call_tool("list_grids", {})).structured_content
            a_summary = json.loads((await a.read_resource("grid://a14/summary")).contents[0].text)
            a_record = json.loads((await a.read_resource(f"evidence://{a_evidence}")).contents[0].text)

    assert b_list["loaded"] == []
    assert b_summary.is_error and "a14" in text_of(b_summary) and text_of(b_summary).startswith("grid_id: ")
    assert b_unload.is_error
    # B's ledger is its own: A's id names nothing there, or B's own list_grids record, never A's power flow
    assert b_evidence.is_error or b_evidence.structured_content["tool"] != "run_power_flow"
    assert all(not r.is_error for r in b_loads[:32]) and b_loads[32].is_error
    assert "limit 32" in text_of(b_loads[32])
    assert not a_again.is_error, text_of(a_again)
    assert [g["grid_id"] for g in a_list["loaded"]] == ["a14", "a9"]
    assert a_summary["grid_id"] == "a14" and {"element": "bus", "total": 14, "in_service": 14} in a_summary["elements"]
    assert a_record["tool"] == "run_power_flow" and a_record["inputs"]["grid_id"] == "a14"


def test_workspace_pool_is_bounded_and_expires_idle_workspaces():
    now = [0.0]
    pool = WorkspacePool(max_workspaces=2, idle_timeout_s=100, clock=lambda: now[0])
    a = pool.acquire("a")
    assert pool.acquire("a") is a  # the same key, the same workspace
    pool.release("a")
    pool.release("a")
    now[0] = 10
    b = pool.acquire("b")  # in use from here on
    c = pool.acquire("c")  # full: evicts the idle one, 'a'
    assert len({id(a), id(b), id(c)}) == 3 and "a" not in pool and pool.evicted == 1
    with pytest.raises(RequestTooLargeError, match="all busy"):  # full, and every workspace in use
        pool.acquire("d")
    now[0] = 20
    pool.release("b")
    now[0] = 30
    pool.release("c")
    now[0] = 40
    with pool.session("a") as again:  # full again: evicts the least recently used, 'b'
        assert again is not a and "b" not in pool and pool.evicted == 2
    now[0] = 135  # 'c' idle for 105 s > 100 s: expired on the next touch; 'a' idle for 95 s stays
    pool.acquire("e")
    assert "c" not in pool and "a" in pool and pool.expired == 1
    pool.discard("a")
    pool.discard("e")
    assert len(pool) == 0


# --------------------------------------------------------------------------- arguments

#: the tools' required arguments, each valid, so that only the argument under test is wrong
REQUIRED = {
    "load_grid": {"source": "case9"}, "grid_summary": {"grid_id": "g"}, "unload_grid": {"grid_id": "g"},
    "run_power_flow": {"grid_id": "g"}, "run_contingency_analysis": {"grid_id": "g"},
    "apply_events": {"grid_id": "g", "events": [{"type": "line_outage", "line": 0}]},
    "propose_remedial_actions": {"grid_id": "g"}, "simulate_cascade": {"grid_id": "g", "outages": ["line:0"]},
    "cascade_risk": {"grid_id": "g"}, "plan_restoration": {"grid_id": "g", "outages": ["line:0"]},
    "apply_actions": {"grid_id": "g", "actions": [{"type": "candidate", "evidence_id": "ev-1", "rank": 1}]},
    "sync_graph": {"grid_id": "g"}, "graph_neighbourhood": {"grid_id": "g", "bus": 0},
    "graph_elements_at_bus": {"grid_id": "g", "bus": 0}, "graph_path": {"grid_id": "g", "from_bus": 0, "to_bus": 1},
    "graph_outage_impact": {"grid_id": "g", "element": "line", "index": 0},
    "graph_downstream": {"grid_id": "g", "element": "line", "index": 0},
    "search_standards": {"query": "voltage"}, "read_standard": {"entry_id": "ansi-c84-1-range-a"},
    "read_evidence": {"evidence_id": "ev-1"},
    "dga_assessment": {"h2_ppm": 1.0, "ch4_ppm": 1.0, "c2h6_ppm": 1.0, "c2h4_ppm": 1.0, "c2h2_ppm": 1.0},
    "transformer_thermal": {"load_pu": [1.0]}, "transformer_health": {"load_pu": [1.0]},
    "ingest_telemetry": {"path": "x.csv"}, "monitor_telemetry": {"path": "x.csv"}, "score_telemetry": {"path": "x.csv"},
    "simulate_telemetry": {"scenario_path": "x.json", "out_dir": "out"}, "ingest_logs": {"path": "x.log"},
    "triage_logs": {"paths": ["x.log"]},
    "attribute_anomaly": {"data_csv": "x.csv", "target": "y"},
    "estimate_effect": {"data_csv": "x.csv", "treatment": "x", "outcome": "y"},
    "explain_change": {"data_csv": "x.csv", "target": "y", "period_a": ["2026-01-01", "2026-01-02"],
                       "period_b": ["2026-01-02", "2026-01-03"]},
    "estimate_state": {"grid_id": "g", "measurements": "x.csv", "mapping": "m.csv"},
    "simulate_measurements": {"grid_id": "g", "out_dir": "out"},
    "reliability_indices": {"outages": "x.csv", "customers_served": 100},
    "energy_losses": {"grid_id": "g", "profile": "x.csv"},
}


@pytest.mark.anyio
async def test_unknown_arguments_are_refused_on_every_tool_before_it_runs(workspace):
    with anyio.fail_after(60):
        async with Client(mcp_server.build_server()) as client:
            tools = (await client.list_tools()).tools
            results = {t.name: await client.call_tool(t.name, {**REQUIRED.get(t.name, {}), "gird_id": "x"})
                       for t in tools}
    assert len(tools) == len(toolset()) and len(workspace.ledger) == 0  # no tool ran
    for tool in tools:
        assert tool.input_schema.get("additionalProperties") is False, tool.name  # published, too
        text = text_of(results[tool.name])
        assert results[tool.name].is_error and text.startswith("gird_id: unknown argument 'gird_id'"), (tool.name, text)
        assert "Fix:" in text and len(text) < 600


@pytest.mark.anyio
async def test_strings_are_bounded_on_every_tool_and_a_huge_one_is_refused_fast(workspace):
    huge = "x" * 10_000_000
    with anyio.fail_after(60):
        async with Client(mcp_server.build_server()) as client:
            tools = (await client.list_tools()).tools
            began = time.perf_counter()
            result = await client.call_tool("run_power_flow", {"grid_id": huge})
            elapsed = time.perf_counter() - began
            long_id = await client.call_tool("grid_summary", {"grid_id": "g" * (config.MCP_MAX_ID_CHARS + 1)})
            long_path = await client.call_tool("score_telemetry", {"path": "p" * (config.MCP_MAX_STRING_CHARS + 1)})

    def strings(schema, defs):
        if "$ref" in schema:
            yield from strings(defs[schema["$ref"].rsplit("/", 1)[1]], defs)
            return
        if schema.get("type") == "string" and "enum" not in schema and "const" not in schema:
            yield schema
        for key in ("anyOf", "oneOf", "allOf"):
            for branch in schema.get(key, []):
                yield from strings(branch, defs)
        for sub in schema.get("properties", {}).values():
            yield from strings(sub, defs)
        if isinstance(schema.get("items"), dict):
            yield from strings(schema["items"], defs)

    for tool in tools:
        for schema in strings(tool.input_schema, tool.input_schema.get("$defs", {})):
            assert 0 < schema["maxLength"] <= config.MCP_MAX_STRING_CHARS, tool.name
    assert result.is_error and elapsed < 2.0, elapsed
    assert text_of(result).startswith("grid_id: is 10,000,000 characters long") and len(text_of(result)) < 300
    assert long_id.is_error and text_of(long_id).startswith(f"grid_id: is {config.MCP_MAX_ID_CHARS + 1} characters")
    assert long_path.is_error and text_of(long_path).startswith("path: is 4,097 characters long; at most 4,096")
    assert len(workspace.ledger) == 0


@pytest.mark.anyio
async def test_numbers_must_be_finite_and_bounded(workspace):
    dga = REQUIRED["dga_assessment"]
    calls = [
        ("dga_assessment", {**dga, "h2_ppm": 1e308}, "h2_ppm: 1e+308 is out of range"),
        ("dga_assessment", {**dga, "c2h2_ppm": "Infinity"}, "c2h2_ppm: 'Infinity' is not a finite number"),
        ("dga_assessment", {**dga, "co_ppm": "-Infinity"}, "co_ppm: '-Infinity' is not a finite number"),
        ("run_power_flow", {"grid_id": "g", "vm_min_pu": "NaN"}, "vm_min_pu: 'NaN' is not a finite number"),
        ("graph_neighbourhood", {"grid_id": "g", "bus": 2**80}, "bus: 1208925819614629174706176 is out of range"),
        ("graph_path", {"grid_id": "g", "from_bus": 0, "to_bus": -(2**60)}, "to_bus: "),
        ("transformer_thermal", {"load_pu": [1.0, 1e300]}, "load_pu[1]: 1e+300 is out of range"),
        ("apply_events", {"grid_id": "g", "events": [{"type": "load_change", "load": 0, "q_mvar": -1e20}]},
         "events[0].q_mvar: "),
    ]
    with anyio.fail_after(60):
        async with Client(mcp_server.build_server()) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            results = [await client.call_tool(name, args) for name, args, _ in calls]
    for (name, _, expected), result in zip(calls, results):
        assert result.is_error and text_of(result).startswith(expected), (name, text_of(result))
        assert "Fix:" in text_of(result)
    assert len(workspace.ledger) == 0
    # NaN and Infinity as JSON literals (Python's json and pydantic read them; the SDK's in-memory client sends
    # null instead, so the server's checker is called directly here; stdio gets a NaN literal below)
    checker = mcp_server.build_server().checkers["dga_assessment"]
    for value in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(InputError, match=r"^c2h2_ppm: -?(nan|inf) is not a finite number"):
            checker.check({**dga, "c2h2_ppm": value})
    # every number in every published schema carries both bounds
    c2h2 = tools["dga_assessment"].input_schema["properties"]["c2h2_ppm"]
    assert c2h2["maximum"] == config.MCP_MAX_NUMBER and c2h2["minimum"] == 0


@pytest.mark.anyio
async def test_a_crash_in_a_tool_is_a_short_typed_tool_error(workspace, caplog):
    server = mcp_server.build_server()

    def crash(value: float) -> str:
        """A tool with a bug."""
        raise ZeroDivisionError("internal detail /secret/path")

    server.add_tool(crash)
    with anyio.fail_after(60):
        async with Client(server) as client:
            result = await client.call_tool("crash", {"value": 1.0})
            ok = await client.call_tool("dga_assessment", {"h2_ppm": 9e15, "ch4_ppm": 9e15, "c2h6_ppm": 9e15,
                                                           "c2h4_ppm": 9e15, "c2h2_ppm": 9e15})
    text = text_of(result)
    assert result.is_error and text.startswith("internal error in crash (ZeroDivisionError); the input was")
    assert '{"value": 1.0}' in text and "/secret/path" not in text and len(text) < 500
    assert any("ZeroDivisionError" in (r.exc_text or "") or r.exc_info for r in caplog.records)
    # the largest gas concentrations the bounds let through give a result or a typed error, never a protocol error
    assert not ok.is_error or text_of(ok).startswith(("internal error in dga_assessment", "h2_ppm", "ch4_ppm"))


# ------------------------------------------------------------------------- annotations

#: tool: (readOnlyHint, destructiveHint, idempotentHint, openWorldHint), decided from what each tool does
HINTS = {
    "list_grids": (True, False, True, False), "load_grid": (False, False, False, False),
    "grid_summary": (True, False, True, False), "unload_grid": (False, True, True, False),
    "run_power_flow": (True, False, True, False), "run_contingency_analysis": (True, False, True, False),
    "simulate_cascade": (True, False, True, False), "plan_restoration": (True, False, True, False),
    "cascade_risk": (True, False, True, True),  # a configured DASK_SCHEDULER_ADDRESS receives the grid
    "apply_events": (False, False, False, False), "propose_remedial_actions": (True, False, True, False),
    "apply_actions": (False, False, False, False), "sync_graph": (False, False, True, False),
    "graph_neighbourhood": (True, False, True, False), "graph_elements_at_bus": (True, False, True, False),
    "graph_path": (True, False, True, False), "graph_outage_impact": (True, False, True, False),
    "graph_downstream": (True, False, True, False), "search_standards": (True, False, True, False),
    "read_standard": (True, False, True, False), "read_evidence": (True, False, True, False),
    "forecast_load": (True, False, True, True),  # fetches Open-Meteo weather when given latitude and longitude
    "backtest_load_forecast": (True, False, True, False), "transformer_thermal": (True, False, True, False),
    "dga_assessment": (True, False, True, False), "transformer_health": (True, False, True, False),
    "ingest_telemetry": (True, False, True, False), "monitor_telemetry": (True, False, True, False),
    "score_telemetry": (True, False, True, False),
    "simulate_telemetry": (False, True, True, False),  # writes its files into out_dir, replacing those there
    "ingest_logs": (True, False, True, False),
    "triage_logs": (True, False, True, False),
    "attribute_anomaly": (True, False, True, False), "estimate_effect": (True, False, True, False),
    "explain_change": (True, False, True, False),
    "estimate_state": (False, False, False, False),  # save_as adds the estimated state as a new grid (a copy)
    "simulate_measurements": (False, True, True, False),  # writes readings.csv and mapping.csv into out_dir
    "reliability_indices": (True, False, True, False), "energy_losses": (True, False, True, False),
}


def grid_ids(ws: Workspace) -> list[str]:
    return [g.grid_id for g in ws.grids()]


@pytest.mark.anyio
async def test_annotations_match_the_table_and_the_behaviour(workspace, tmp_path):
    scenario = importlib.resources.files("gridsage.scenarios") / "telemetry" / "feeder_voltage_sag_oscillation.json"
    with anyio.fail_after(240):
        async with Client(mcp_server.build_server()) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            await client.call_tool("load_grid", {"source": "case14", "grid_id": "g"})
            before = grid_ids(workspace)
            read_only = {name: await client.call_tool(name, args) for name, args in [
                ("list_grids", {}), ("grid_summary", {"grid_id": "g"}), ("run_power_flow", {"grid_id": "g"}),
                ("run_contingency_analysis", {"grid_id": "g"}), ("read_evidence", {"evidence_id": "ev-0001"}),
                ("simulate_cascade", {"grid_id": "g", "outages": ["line:3"]}),
                ("dga_assessment", {"h2_ppm": 200, "ch4_ppm": 60, "c2h6_ppm": 20, "c2h4_ppm": 150, "c2h2_ppm": 90}),
                ("transformer_thermal", {"load_pu": [1.0] * 8, "ambient_c": 30, "interval_min": 30})]}
            after_reads = grid_ids(workspace)
            net = workspace.get("g").net
            solved_twice = [(await client.call_tool("run_power_flow", {"grid_id": "g"})).structured_content
                            for _ in range(2)]
            net_after = workspace.get("g").net
            what_if = [await client.call_tool("load_grid", {"source": "case9"}) for _ in range(2)]
            after_what_if = grid_ids(workspace)
            unloaded = await client.call_tool("unload_grid", {"grid_id": "g"})
            after_unload = grid_ids(workspace)
            written = [await client.call_tool("simulate_telemetry", {"scenario_path": str(scenario),
                                                                      "out_dir": str(tmp_path)}) for _ in range(2)]

    assert set(tools) == set(HINTS) == set(toolset().names())
    for name, tool in tools.items():
        a = tool.annotations
        assert (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint) == HINTS[name], name
    # read-only tools leave the workspace's grids as they were, and the grid itself unchanged
    assert all(not r.is_error for r in read_only.values()), {n: text_of(r) for n, r in read_only.items() if r.is_error}
    assert before == after_reads == ["g"] and net_after is net and len(net_after.bus) == 14
    # idempotent: the same call gives the same answer (but its own evidence record)
    strip = [{k: v for k, v in r.items() if k != "evidence_id"} for r in solved_twice]
    assert strip[0] == strip[1] and solved_twice[0]["evidence_id"] != solved_twice[1]["evidence_id"]
    # what_if (not idempotent): each call adds a grid
    assert [r.structured_content["grid_id"] for r in what_if] == ["case9", "case9-2"] and len(after_what_if) == 3
    # destructive: unload removes the grid
    assert not unloaded.is_error and "g" not in after_unload
    # writes_files: the call writes files, and writing again replaces them with the same content
    assert all(not r.is_error for r in written), [text_of(r) for r in written]
    path = Path(written[0].structured_content["telemetry_path"])
    assert path.is_file() and path.parent == tmp_path
    assert written[1].structured_content["telemetry_path"] == str(path)


# ------------------------------------------------------------------------------ stdio


def test_stdio_answers_malformed_json_rpc_with_standard_errors():
    """Raw pipes: each malformed line gets its JSON-RPC error; the session then goes on."""
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}}
    lines = [
        json.dumps(init),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        '{"jsonrpc": "2.0", "id": 2, "method": "tools/li',  # truncated
        json.dumps({"jsonrpc": "2.0", "id": 3}),  # no method
        json.dumps({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": [1, 2]}),  # list params
        json.dumps([{"jsonrpc": "2.0", "id": 5, "method": "ping"}]),  # a batch
        json.dumps({"jsonrpc": "2.0", "id": 6, "method": 7}),  # method not a string
        json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                    "params": {"name": "run_power_flow", "arguments": {"grid_id": "x" * 10_000_000}}}),
        '{"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "dga_assessment", '
        '"arguments": {"h2_ppm": NaN}}}',  # a NaN literal
        json.dumps({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "list_grids", "arguments": {}}}),
    ]
    expected_ids = {1, None, 3, 4, 6, 7, 8, 9}
    with tempfile.TemporaryFile(mode="w+") as errlog:
        proc = subprocess.Popen(STDIO_SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog,
                                text=True, cwd=SUBPROCESS_CWD)
        watchdog = threading.Timer(120, proc.kill)
        watchdog.start()
        answers: list[dict] = []
        times: dict[object, float] = {}
        try:
            for line in lines:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                sent = time.perf_counter()
                if line.startswith('{"jsonrpc": "2.0", "method": "notifications/'):
                    continue
                answer = json.loads(proc.stdout.readline())
                answers.append(answer)
                times[answer.get("id")] = times.get(answer.get("id"), 0) + time.perf_counter() - sent
            proc.stdin.close()
            proc.wait(timeout=30)
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        errlog.seek(0)
        stderr = errlog.read()

    by_id: dict[object, list[dict]] = {}
    for answer in answers:
        assert answer["jsonrpc"] == "2.0"
        by_id.setdefault(answer.get("id"), []).append(answer)
    assert set(by_id) == expected_ids
    codes_without_id = sorted(a["error"]["code"] for a in by_id[None])
    assert codes_without_id == [-32700, -32600]  # the truncated line, the batch
    assert by_id[3][0]["error"]["code"] == -32600 and "method" in by_id[3][0]["error"]["message"]
    assert by_id[4][0]["error"]["code"] == -32602
    assert by_id[6][0]["error"]["code"] == -32600
    huge = by_id[7][0]["result"]
    assert huge["isError"] is True and huge["content"][0]["text"].startswith("grid_id: is 10,000,000 characters")
    assert len(json.dumps(huge)) < 600 and times[7] < 5.0
    nan = by_id[8][0]
    assert nan.get("result", {}).get("isError") is True or nan.get("error", {}).get("code") in (-32700, -32602)
    assert by_id[9][0]["result"]["structuredContent"]["status"] == "ok"
    assert proc.returncode == 0, stderr[-2000:]
    assert "Traceback" not in stderr


# ------------------------------------------------------------------------- concurrency


@pytest.mark.anyio
async def test_a_cheap_call_completes_while_a_long_study_runs(http_url):
    done: dict[str, float] = {}
    with anyio.fail_after(300):
        async with http_client(http_url) as a, http_client(http_url) as b:
            loaded = await a.call_tool("load_grid", {"source": "case118", "grid_id": "big"})
            assert not loaded.is_error, text_of(loaded)
            await b.call_tool("list_grids", {})  # warm

            async def long_study() -> None:
                result = await a.call_tool("run_contingency_analysis", {"grid_id": "big", "method": "pandapower"})
                assert not result.is_error, text_of(result)
                done["long"] = time.perf_counter()

            cheap: list[float] = []
            async with anyio.create_task_group() as tg:
                began = time.perf_counter()
                tg.start_soon(long_study)
                await anyio.sleep(0.5)  # the study is running
                for _ in range(3):
                    t0 = time.perf_counter()
                    listed = await b.call_tool("list_grids", {})
                    cheap.append(time.perf_counter() - t0)
                    assert not listed.is_error
                done["cheap"] = time.perf_counter()
    assert done["cheap"] < done["long"], f"the study took {done['long'] - began:.1f} s; list_grids waited for it"
    assert max(cheap) < 1.0, cheap


# ------------------------------------------------------------------------------ CLI


def test_cli_refuses_a_public_bind_without_a_token_in_one_paragraph():
    env = {k: v for k, v in os.environ.items() if k != config.TOKEN_ENV}
    done = subprocess.run([sys.executable, "-m", "gridsage", "mcp", "--transport", "http", "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=120, cwd=SUBPROCESS_CWD, env=env)
    assert done.returncode == 2 and done.stdout == ""
    message = " ".join(done.stderr.split())
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) <= 4
    assert message.startswith("error host: refusing to serve on '0.0.0.0' without a bearer token")
    assert config.TOKEN_ENV in message


def test_dns_rebinding_protection_stays_on_for_any_bind():
    public = mcp_server.transport_security("0.0.0.0", ["grid.example.org", "10.1.2.3"])
    named = mcp_server.transport_security("192.168.7.7")
    for settings in (public, named):
        assert settings.enable_dns_rebinding_protection
        assert {"127.0.0.1:*", "localhost:*", "[::1]:*"} <= set(settings.allowed_hosts)
        assert "0.0.0.0:*" not in settings.allowed_hosts and "*" not in settings.allowed_hosts
    assert {"grid.example.org:*", "10.1.2.3:*", f"{socket.gethostname()}:*"} <= set(public.allowed_hosts)
    assert "http://grid.example.org:*" in public.allowed_origins
    assert "192.168.7.7:*" in named.allowed_hosts and "http://192.168.7.7:*" in named.allowed_origins
