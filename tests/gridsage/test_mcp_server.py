"""Tests of the MCP adapter, through the MCP SDK's own clients, on real engines.

- in memory: the SDK ``Client`` connected to the server object;
- stdio: the server in a subprocess, via the SDK's stdio client and via raw pipes;
- streamable HTTP: the server in a subprocess on a free loopback port, with and
  without a bearer token.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

import anyio
import httpx2
import pytest
import yaml
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from gridsage import config, mcp_server
from tests.servers import free_port, serving
from gridsage.errors import InputError
from gridsage.tools.workspace import Workspace, use_workspace

ANALYSIS_TOOLS = {"list_grids", "grid_summary", "run_power_flow", "run_contingency_analysis", "propose_remedial_actions"}
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
CALL_TIMEOUT_S = 60  # bound on each in-memory test (case14 solves in milliseconds)
SERVER_START_S = 20  # bound on a subprocess server starting to accept connections

STDIO_SERVER = [sys.executable, "-m", "gridsage", "mcp", "--transport", "stdio"]
#: Subprocess servers start outside the repository, as an MCP client would launch them,
#: so that they import the installed package, not the working directory.
SUBPROCESS_CWD = tempfile.gettempdir()


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def workspace():
    """A fresh workspace for the in-memory server (tool threads inherit the context)."""
    with use_workspace(Workspace()) as ws:
        yield ws


def text_of(result) -> str:
    return "".join(block.text for block in result.content if getattr(block, "type", "") == "text")


# ----------------------------------------------------------------------- in memory


@pytest.mark.anyio
async def test_tools_are_listed_with_schemas_and_annotations(workspace):
    with anyio.fail_after(CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}

    assert set(tools) >= ANALYSIS_TOOLS | {"load_grid", "unload_grid"}
    for name in ANALYSIS_TOOLS:
        assert tools[name].annotations.read_only_hint is True, name
        assert tools[name].annotations.open_world_hint is False, name
    assert tools["load_grid"].annotations.read_only_hint is False
    assert tools["load_grid"].annotations.destructive_hint is False
    assert tools["unload_grid"].annotations.read_only_hint is False
    assert tools["unload_grid"].annotations.destructive_hint is True

    pf = tools["run_power_flow"]
    assert pf.output_schema and "vm_min_pu" in pf.output_schema["properties"]
    assert "evidence_id" in pf.output_schema["properties"]
    assert pf.input_schema["required"] == ["grid_id"]
    assert "vm_min_pu" in pf.input_schema["properties"]
    for tool in tools.values():  # short descriptions: the docstring's first paragraph only
        assert tool.description and "\n" not in tool.description and "Parameters" not in tool.description
        assert len(tool.description) < 300, tool.name
    assert pf.description.startswith("Solve the power flow of a loaded grid")


def test_annotations_say_which_tool_may_reach_the_network():
    from gridsage.tools.toolset import toolset

    # forecast_load fetches Open-Meteo weather when given a latitude and longitude; cascade_risk sends the grid to the
    # dask scheduler the operator names in DASK_SCHEDULER_ADDRESS; nothing else leaves the machine
    open_world = {spec.name for spec in toolset() if mcp_server.annotations(spec).open_world_hint}
    assert open_world == {"forecast_load", "cascade_risk"}


@pytest.mark.anyio
async def test_power_flow_over_mcp_matches_pandapower(workspace):
    import pandapower as pp
    import pandapower.networks as pn

    with anyio.fail_after(CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            loaded = await client.call_tool("load_grid", {"source": "case14"})
            assert not loaded.is_error, text_of(loaded)
            grid_id = loaded.structured_content["grid_id"]
            result = await client.call_tool("run_power_flow", {"grid_id": grid_id})

    assert not result.is_error, text_of(result)
    pf = result.structured_content
    assert pf["status"] == "converged"
    assert pf["evidence_id"].startswith("ev-")
    text = text_of(result)  # one line beside the structure, not a second copy of it
    assert pf["evidence_id"] in text and text.startswith("converged") and "\n" not in text and len(text) < 100

    net = pn.case14()
    pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)
    ref_min, ref_max = float(net.res_bus.vm_pu.min()), float(net.res_bus.vm_pu.max())
    # the compact view reports voltages to 1e-4 pu and totals to 0.1 MW: compare with the reference so rounded
    assert pf["vm_min_pu"] == pytest.approx(round(ref_min, 4), abs=1e-6)
    assert pf["vm_max_pu"] == pytest.approx(round(ref_max, 4), abs=1e-6)
    assert pf["load_p_mw"] == pytest.approx(float(net.res_load.p_mw.sum()), abs=0.05)


@pytest.mark.anyio
async def test_errors_reach_the_client_with_the_typed_message(workspace):
    with anyio.fail_after(CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            await client.call_tool("load_grid", {"source": "case14"})
            unknown = await client.call_tool("run_power_flow", {"grid_id": "no-such-grid"})
            as_text = await client.call_tool("run_power_flow", {"grid_id": "case14", "vm_min_pu": "abc"})
            as_nan = await client.call_tool("run_power_flow", {"grid_id": "case14", "vm_min_pu": "NaN"})
            out_of_range = await client.call_tool("run_power_flow", {"grid_id": "case14", "vm_min_pu": 2.0})
            missing = await client.call_tool("run_power_flow", {})
            bad_source = await client.call_tool("load_grid", {"source": "no_such_case_xyz"})
            no_tool = await client.call_tool("no_such_tool", {})

    assert unknown.is_error
    message = text_of(unknown)
    assert "grid_id" in message and "load_grid" in message and "no-such-grid" in message
    assert message.startswith("grid_id: ")  # exactly str(GridSageError): no SDK prefix, no traceback
    assert "Traceback" not in message

    for result in (as_text, as_nan, out_of_range):
        assert result.is_error
        assert text_of(result).startswith("vm_min_pu: "), text_of(result)
        assert "Fix:" in text_of(result)
    assert "finite" in text_of(as_nan)
    assert missing.is_error and text_of(missing).startswith("grid_id: ")
    assert bad_source.is_error and "source" in text_of(bad_source)
    assert no_tool.is_error and "no_such_tool" in text_of(no_tool)


@pytest.mark.anyio
async def test_unexpected_exceptions_become_errors_without_details(workspace):
    server = mcp_server.build_server()

    def crash() -> str:
        """A tool with a bug."""
        raise RuntimeError("internal detail /secret/path")

    server.add_tool(crash)
    with anyio.fail_after(CALL_TIMEOUT_S):
        async with Client(server) as client:
            result = await client.call_tool("crash", {})
    assert result.is_error
    # a short typed message naming the tool and the exception type; the exception's text stays in the server log
    assert text_of(result).startswith("internal error in crash (RuntimeError); the input was")
    assert "/secret/path" not in text_of(result) and "Traceback" not in text_of(result)


@pytest.mark.anyio
async def test_resources(workspace):
    with anyio.fail_after(CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
            statics = {str(r.uri) for r in (await client.list_resources()).resources}
            pf = await client.call_tool("run_power_flow", {"grid_id": "case14"})  # not loaded yet
            assert pf.is_error
            loaded = (await client.call_tool("load_grid", {"source": "case14", "grid_id": "g14"})).structured_content
            pf = (await client.call_tool("run_power_flow", {"grid_id": "g14"})).structured_content

            summary = await client.read_resource("grid://g14/summary")
            evidence = await client.read_resource(f"evidence://{pf['evidence_id']}")
            library = await client.read_resource("scenario://library")
            scenarios = json.loads(library.contents[0].text)
            texts = {s["name"]: (await client.read_resource(s["uri"])).contents[0].text for s in scenarios}

            with pytest.raises(MCPError, match="grid_id") as unknown_grid:
                await client.read_resource("grid://nope/summary")
            with pytest.raises(MCPError, match="evidence_id"):
                await client.read_resource("evidence://ev-9999")
            with pytest.raises(MCPError, match="scenario://library"):
                await client.read_resource("scenario://no_such_scenario")

    assert {"grid://{grid_id}/summary", "evidence://{evidence_id}{?path,offset,limit}", "scenario://{name}"} <= templates
    assert "scenario://library" in statics

    assert summary.contents[0].mime_type == "application/json"
    body = json.loads(summary.contents[0].text)
    assert body["grid_id"] == "g14" == loaded["grid_id"]
    assert body["load_p_mw"] == loaded["summary"]["load_p_mw"]
    assert {"element": "bus", "total": 14, "in_service": 14} in body["elements"]

    record = json.loads(evidence.contents[0].text)
    assert record["evidence_id"] == pf["evidence_id"]
    assert record["tool"] == "run_power_flow" and record["inputs"]["grid_id"] == "g14"
    assert round(record["result"]["vm_min_pu"], 4) == pf["vm_min_pu"]  # the full result, small enough to come whole
    assert len(record["result"]["buses"]) == 14 == pf["omitted"]["buses"]

    assert "load_grid" in str(unknown_grid.value)
    assert isinstance(scenarios, list)
    for item in scenarios:
        assert set(item) == {"name", "uri", "file", "description"}
        assert item["uri"] == f"scenario://{item['name']}"
        assert yaml.safe_load(texts[item["name"]]) is not None
        # the answer key and the comments that explain it never reach a client
        assert "expect" not in yaml.safe_load(texts[item["name"]]) and not re.search(r"(?m)^\s*#", texts[item["name"]])
    assert any("expect:" in p.read_text() for p in SCENARIO_DIR.glob("*.yaml"))  # the shipped files do have keys


@pytest.mark.anyio
async def test_assess_contingency_prompt(workspace):
    with anyio.fail_after(CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            prompts = {p.name: p for p in (await client.list_prompts()).prompts}
            got = await client.get_prompt("assess_contingency", {"grid_id": "case118", "outage": "line 7"})

    args = {a.name: a for a in prompts["assess_contingency"].arguments}
    assert args["grid_id"].required and args["outage"].required
    assert args["outage"].description
    text = got.messages[0].content.text
    assert got.messages[0].role == "user"
    assert "case118" in text and "line 7" in text
    assert "{grid_id}" not in text and "{outage}" not in text
    for name in ("run_power_flow", "run_contingency_analysis", "propose_remedial_actions", "evidence_id", "citation"):
        assert name in text


def test_configuration_errors_are_typed():
    with pytest.raises(InputError, match="token"):
        mcp_server.build_server(token="  ")
    with pytest.raises(InputError, match="host") as exc:
        mcp_server.run("http", host="0.0.0.0", token=None)
    assert config.TOKEN_ENV in str(exc.value)
    with pytest.raises(InputError, match="transport"):
        mcp_server.run("carrier-pigeon")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- stdio


@pytest.mark.slow
@pytest.mark.anyio
async def test_stdio_subprocess_via_sdk_client():
    stream_faults: list[Exception] = []

    async def on_message(message) -> None:
        if isinstance(message, Exception):  # a stdout line the SDK could not parse as JSON-RPC
            stream_faults.append(message)

    params = StdioServerParameters(command=STDIO_SERVER[0], args=STDIO_SERVER[1:], cwd=SUBPROCESS_CWD)
    with tempfile.TemporaryFile(mode="w+") as errlog:
        with anyio.fail_after(90):
            async with Client(stdio_client(params, errlog=errlog), message_handler=on_message) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                listed = await client.call_tool("list_grids", {})
                bad = await client.call_tool("grid_summary", {"grid_id": "nope"})
        errlog.seek(0)
        stderr = errlog.read()

    assert ANALYSIS_TOOLS <= names
    assert not listed.is_error and listed.structured_content["status"] == "ok"
    assert any(entry["name"] == "case14" for entry in listed.structured_content["catalog"])
    assert bad.is_error and text_of(bad).startswith("grid_id: ")
    assert stream_faults == []
    assert "Traceback" not in stderr  # stderr may carry logs, never a crash


@pytest.mark.slow
def test_stdio_stdout_carries_only_json_rpc(standards_index):
    """Raw pipes: every line the server writes to stdout, to exit, is a JSON-RPC message (also while the embedder loads)."""
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                    "clientInfo": {"name": "raw-test", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "list_grids", "arguments": {}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
         "params": {"name": "run_power_flow", "arguments": {"grid_id": "nope"}}},
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
         "params": {"name": "search_standards", "arguments": {"query": "SAIFI definition", "k": 2}}},
    ]
    with tempfile.TemporaryFile(mode="w+") as errlog:
        proc = subprocess.Popen(STDIO_SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errlog,
                                text=True, cwd=SUBPROCESS_CWD)
        watchdog = threading.Timer(90, proc.kill)  # a hung server fails the test instead of hanging it
        watchdog.start()
        try:
            responses = {}
            for request in requests:
                proc.stdin.write(json.dumps(request) + "\n")
                proc.stdin.flush()
                while "id" in request and request["id"] not in responses:  # wait for its answer
                    line = proc.stdout.readline()
                    assert line, "server closed stdout early"
                    message = json.loads(line)  # raises on any non-JSON output
                    assert message.get("jsonrpc") == "2.0"
                    if "id" in message:
                        responses[message["id"]] = message
            rest, _ = proc.communicate(timeout=30)  # closes stdin: the server must exit
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        errlog.seek(0)
        stderr = errlog.read()

    for line in rest.splitlines():
        assert json.loads(line).get("jsonrpc") == "2.0", line
    assert proc.returncode == 0, stderr
    assert responses[1]["result"]["serverInfo"]["name"] == config.MCP_SERVER_NAME
    assert {t["name"] for t in responses[2]["result"]["tools"]} >= ANALYSIS_TOOLS
    assert responses[3]["result"]["structuredContent"]["status"] == "ok"
    assert responses[4]["result"]["isError"] is True
    assert responses[4]["result"]["content"][0]["text"].startswith("grid_id: ")
    assert responses[5]["result"]["structuredContent"]["hits"][0]["entry_id"] == "ieee-1366-saifi"


# ----------------------------------------------------------------------------- HTTP


@contextlib.contextmanager
def http_server(token: str | None):
    """Run ``run('http', ...)`` in a subprocess; yield its /mcp URL once it accepts connections."""
    port = free_port()
    code = f"from gridsage.mcp_server import run; run('http', port={port}, token={token!r})"
    with serving([sys.executable, "-c", code], port, cwd=SUBPROCESS_CWD, start_s=SERVER_START_S):
        yield f"http://127.0.0.1:{port}{config.MCP_HTTP_PATH}"


def raw_post(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    """POST an initialize request with urllib; return (status, response headers)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                       "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                                  "clientInfo": {"name": "raw", "version": "0"}}}).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


async def use_http(url: str, headers: dict[str, str] | None = None) -> tuple[set[str], dict]:
    """List tools and call list_grids through the SDK's streamable HTTP client."""
    async with (
        httpx2.AsyncClient(headers=headers or {}, timeout=httpx2.Timeout(30.0)) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        names = {t.name for t in (await client.list_tools()).tools}
        listed = await client.call_tool("list_grids", {})
    assert not listed.is_error, text_of(listed)
    return names, listed.structured_content


@pytest.fixture(scope="module")
def token_server():
    token = "test-" + os.urandom(16).hex()
    with http_server(token) as url:
        yield url, token


@pytest.mark.slow
def test_http_without_the_token_gets_401(token_server):
    url, token = token_server
    status, headers = raw_post(url)
    assert status == 401
    assert headers.get("www-authenticate", headers.get("WWW-Authenticate", "")).startswith("Bearer")
    assert raw_post(url, {"Authorization": "Bearer wrong-" + token})[0] == 401
    assert raw_post(url, {"Authorization": token})[0] == 401  # scheme missing
    assert raw_post(url, {"Authorization": f"Bearer {token}"})[0] == 200


@pytest.mark.slow
@pytest.mark.anyio
async def test_http_sdk_client_with_the_token(token_server):
    url, token = token_server
    with anyio.fail_after(60):
        names, listed = await use_http(url, {"Authorization": f"Bearer {token}"})
    assert ANALYSIS_TOOLS <= names and listed["status"] == "ok"


@pytest.mark.slow
def test_http_rejects_foreign_host_and_origin(token_server):
    """DNS-rebinding protection: another Host or Origin is refused even with the token."""
    url, token = token_server
    auth = {"Authorization": f"Bearer {token}"}
    assert raw_post(url, {**auth, "Host": "attacker.example"})[0] == 421
    assert raw_post(url, {**auth, "Origin": "http://attacker.example"})[0] == 403
    assert raw_post(url, {**auth, "Origin": url.rsplit("/", 1)[0]})[0] == 200


@pytest.mark.slow
@pytest.mark.anyio
async def test_http_without_auth_configured():
    with http_server(token=None) as url:
        assert raw_post(url)[0] == 200
        with anyio.fail_after(60):
            names, listed = await use_http(url)
    assert ANALYSIS_TOOLS <= names and listed["status"] == "ok"



@pytest.mark.anyio
async def test_what_if_and_remedial_actions_over_mcp(workspace):
    with anyio.fail_after(4 * CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            loaded = await client.call_tool("load_grid", {"source": "pglib_opf_case118_ieee"})
            grid_id = loaded.structured_content["grid_id"]
            event = {"type": "line_outage", "line": 34}
            post = await client.call_tool("apply_events", {"grid_id": grid_id, "events": [event], "load_scale": 1.05, "gen_scale": 1.05})
            remedial = await client.call_tool("propose_remedial_actions", {"grid_id": post.structured_content["grid_id"]})
            best = remedial.structured_content["candidates"][0]
            applied = await client.call_tool("apply_actions", {"grid_id": post.structured_content["grid_id"],
                                                               "actions": [best["action"]]})
            after = await client.call_tool("run_power_flow", {"grid_id": applied.structured_content["grid_id"]})
            wrong_rank = await client.call_tool("apply_actions", {"grid_id": grid_id, "actions": [
                {"type": "candidate", "evidence_id": best["action"]["evidence_id"], "rank": 99}]})
            bad = await client.call_tool("apply_events", {"grid_id": grid_id, "events": [{"type": "line_outage", "line": 999}]})

    result = remedial.structured_content
    assert not remedial.is_error and result["status"] == "ok"
    assert result["violations_before"][0] == {"kind": "thermal", "name": "line 29", "value": result["violations_before"][0]["value"]}
    element, before, _, after_value = best["effect"].rsplit(" ", 3)  # 'line 29 184.34 -> 86.57'
    assert element == "line 29" and float(after_value) < float(before)
    # the candidate, applied by reference, is the full result's action: the overload it was built for is relieved
    assert not applied.is_error and best["description"].split(" (")[0] in applied.structured_content["changes"][0]
    assert after.structured_content["max_loading_percent"] < result["violations_before"][0]["value"]
    assert wrong_rank.is_error and text_of(wrong_rank).startswith("actions[0].rank: ") and "ranks 1-" in text_of(wrong_rank)
    assert bad.is_error and "events[0].line" in text_of(bad) and "Fix:" in text_of(bad)


@pytest.mark.slow
@pytest.mark.anyio
async def test_graph_tools_over_mcp(workspace, graph):
    with anyio.fail_after(4 * CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            loaded = await client.call_tool("load_grid", {"source": "case14"})
            grid_id = loaded.structured_content["grid_id"]
            outage = await client.call_tool("graph_outage_impact", {"grid_id": grid_id, "element": "trafo", "index": 3})
            bad = await client.call_tool("graph_neighbourhood", {"grid_id": grid_id, "bus": 99})
    assert tools["graph_neighbourhood"].annotations.read_only_hint is True
    assert tools["sync_graph"].annotations.read_only_hint is False and tools["sync_graph"].annotations.idempotent_hint
    assert "cypher" not in str(tools["graph_path"].input_schema).lower()  # no free-form Cypher anywhere
    assert outage.structured_content["buses"] == [7] and outage.structured_content["evidence_id"].startswith("ev-")
    assert bad.is_error and text_of(bad).startswith("bus: ")


@pytest.mark.anyio
async def test_standards_over_mcp(workspace, standards_index):
    with anyio.fail_after(4 * CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            found = await client.call_tool("search_standards", {"query": "how long can the transformer run with a 140 C hot spot",
                                                                "k": 3, "tag": "transformer"})
            unknown_tag = await client.call_tool("search_standards", {"query": "hot spot", "tag": "trafo-hotspot"})
            read = await client.call_tool("read_standard", {"entry_id": "ieee-1366-saidi"})
            index = json.loads((await client.read_resource("standards://index")).contents[0].text)
            entry = (await client.read_resource("standards://ansi-c84-1-range-a")).contents[0]
            with pytest.raises(MCPError, match="no standards entry"):
                await client.read_resource("standards://no-such-entry")
    assert tools["search_standards"].annotations.read_only_hint is True
    hits = found.structured_content["hits"]
    assert len(hits) == 3 and all("transformer" in h["tags"] and h["citation"]["entry_id"] == h["entry_id"] for h in hits)
    assert found.structured_content["evidence_id"].startswith("ev-")
    assert unknown_tag.is_error and text_of(unknown_tag).startswith("tag: ")
    assert read.structured_content["standard"] == "IEEE 1366" and "saidi" in read.structured_content["tags"]
    assert len(index) == len(standards_index.entry_ids) and index[0]["uri"] == f"standards://{index[0]['id']}"
    assert entry.mime_type == "text/markdown" and "vm_pu_min" in entry.text and "ANSI C84.1-2020" in entry.text


@pytest.mark.anyio
async def test_load_forecasting_over_mcp(workspace, tmp_path):
    from importlib.resources import files

    vic = files("tsdata") / "fpp3" / "vic_elec.csv"
    lines = vic.read_text().splitlines()
    path = tmp_path / "vic_2014q4.csv"
    path.write_text("\n".join([lines[0]] + lines[-24 * 2 * 60:]) + "\n")  # the last 60 days, half-hourly
    records = [{"time": t, "load_mw": float(d)} for t, d, *_ in (line.split(",") for line in lines[-24 * 2 * 30:])]
    with anyio.fail_after(4 * CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            from_file = await client.call_tool("forecast_load", {"csv_path": str(path), "tz": "Australia/Melbourne",
                                                                 "horizon_h": 12, "capacity_mw": 4500})
            inline = await client.call_tool("forecast_load", {"records": records, "horizon_h": 6, "method": "weekly_naive"})
            backtest = await client.call_tool("backtest_load_forecast", {"csv_path": str(path), "origins": 7,
                                                                         "horizon_h": 24})
            bad = await client.call_tool("forecast_load", {"csv_path": str(path), "load_col": "MW"})
    assert tools["forecast_load"].annotations.read_only_hint is True
    assert "quantiles" in tools["forecast_load"].output_schema["properties"]
    result = from_file.structured_content
    assert not from_file.is_error and len(result["points"]) == 24 and result["evidence_id"].startswith("ev-")
    assert result["weather"] == "none" and result["quality"]["covariates"] == ["temperature_c"]  # no future temperature
    assert all(0 <= p["exceedance_probability"] <= 1 for p in result["points"])
    assert inline.structured_content["method"] == "weekly_naive" and len(inline.structured_content["points"]) == 12
    assert {r["method"] for r in backtest.structured_content["rows"]} >= {"seasonal_naive", "weekly_naive"}
    assert bad.is_error and text_of(bad).startswith("load_col: ")


@pytest.mark.anyio
async def test_equipment_health_and_telemetry_over_mcp(workspace, tmp_path):
    from gridsage.tools.telemetry.simulator import simulate_telemetry

    scenario = mcp_server.importlib.resources.files("gridsage.scenarios") / "telemetry" / "feeder_voltage_sag_oscillation.json"
    simulated = simulate_telemetry(str(scenario), str(tmp_path))
    with anyio.fail_after(4 * CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            dga = await client.call_tool("dga_assessment", {"h2_ppm": 200, "ch4_ppm": 60, "c2h6_ppm": 20,
                                                            "c2h4_ppm": 150, "c2h2_ppm": 90})
            thermal = await client.call_tool("transformer_thermal", {"load_pu": [1.0] * 48, "ambient_c": 30,
                                                                     "interval_min": 30})
            scored = await client.call_tool("score_telemetry", {"path": simulated.telemetry_path})
            bad = await client.call_tool("transformer_thermal", {"load_pu": [1.0, -1.0], "interval_min": 30})
    assert {"dga_assessment", "transformer_thermal", "transformer_health", "ingest_telemetry", "monitor_telemetry",
            "score_telemetry", "simulate_telemetry"} <= tools
    assert dga.structured_content["duval_zone"] == "D2" and dga.structured_content["evidence_id"].startswith("ev-")
    assert abs(thermal.structured_content["peak_hot_spot_c"] - 110.0) < 0.01
    assert scored.structured_content["counts"].get("oscillation", 0) >= 1
    assert bad.is_error and "load_pu" in text_of(bad)


# ------------------------------------------------------ compact results, and the full result behind them

BUDGETS = {"run_power_flow": 400, "run_contingency_analysis": 900, "propose_remedial_actions": 650}  # DESIGN.md 7
LIMIT_ENTRIES = ("ansi-c84-1-range-a", "nerc-tpl-001-facility-ratings")


@pytest.fixture(scope="module")
def qwen_tokens():
    """Tokens of a text by the Qwen2.5 tokenizer: the local test model's, exactly as llama.cpp counts them.

    Without the model file the budget checks skip: a character estimate is no bound on these digit-heavy views
    (every digit is a Qwen token; measured 2.35-2.76 characters per token, so characters / 3 undercounts).
    """
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from local_model import qwen_tokenizer  # tests/local_model.py

    tok = qwen_tokenizer()
    if tok is None:
        pytest.skip("the Qwen2.5 tokenizer is built from the test model's GGUF: python tests/local_model.py fetches it")
    return lambda text: len(tok.encode(text, add_special_tokens=False).ids)


def received(result) -> str:
    """A tool result as a client receives it: its text block and its structuredContent as the SDK sends it."""
    return text_of(result) + json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("grid", ["case9", "case39", "case118"])
@pytest.mark.anyio
async def test_compact_results_stay_within_their_budgets_and_count_what_they_leave_out(workspace, qwen_tokens, grid):
    import jsonschema

    with anyio.fail_after(4 * CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            grid_id = (await client.call_tool("load_grid", {"source": grid})).structured_content["grid_id"]
            results = {name: await client.call_tool(name, {"grid_id": grid_id}) for name in BUDGETS}

    for name, result in results.items():
        view = result.structured_content
        assert not result.is_error, text_of(result)
        assert qwen_tokens(received(result)) <= BUDGETS[name], (name, qwen_tokens(received(result)))
        jsonschema.validate(view, tools[name].output_schema)  # the published schema is the view's
        assert "buses" not in tools[name].output_schema["properties"]
        # every list is bounded, and with its count left out covers the full result's list of that name
        full = workspace.ledger.get(view["evidence_id"]).result
        for key, items in full.items():
            if isinstance(items, list) and (isinstance(view.get(key), list) or key in view.get("omitted", {})):
                assert len(view.get(key, [])) + view.get("omitted", {}).get(key, 0) == len(items), (name, key)
        # each citation once, by its entry id (never a citation object per violation)
        text = json.dumps(view)
        assert '"standard"' not in text and all(text.count(entry) <= 1 for entry in LIMIT_ENTRIES), name
    pf = results["run_power_flow"].structured_content
    assert pf["omitted"]["buses"] == len(workspace.get(grid_id).net.bus)


@pytest.mark.anyio
async def test_the_evidence_pages_hold_what_the_compact_view_left_out(workspace):
    """case2869pegase: 706 violations, 5 in the view; paging the evidence recovers every one, and the count of buses
    outside 0.95-1.05 pu matches an independent plain pandapower power flow (generator Q limits enforced)."""
    import pandapower as pp
    import pandapower.networks as pn

    with anyio.fail_after(4 * CALL_TIMEOUT_S):
        async with Client(mcp_server.build_server()) as client:
            grid_id = (await client.call_tool("load_grid", {"source": "case2869pegase"})).structured_content["grid_id"]
            pf = (await client.call_tool("run_power_flow", {"grid_id": grid_id})).structured_content
            evidence = pf["evidence_id"]
            top = await client.call_tool("read_evidence", {"evidence_id": evidence})
            pages, offset = [], 0
            while offset is not None:
                page = (await client.call_tool("read_evidence", {"evidence_id": evidence, "path": "/violations",
                                                                  "offset": offset, "limit": 200})).structured_content
                pages.append(page)
                offset = page["next_offset"]
            resource = json.loads((await client.read_resource(
                f"evidence://{evidence}?path=/violations&offset=5&limit=50")).contents[0].text)
            bad_path = await client.call_tool("read_evidence", {"evidence_id": evidence, "path": "/violation"})

    read = [v for page in pages for v in page["value"]]
    assert len(pages) > 1 and all(page["total"] == len(read) for page in pages)
    assert len(read) == sum(pf["violation_counts"].values()) == len(pf["violations"]) + pf["omitted"]["violations"]
    listed = {(v["kind"], v["name"]) for v in pf["violations"]}
    short = {(v["kind"], f"{v['element']} {v['index']}") for v in read}
    assert listed <= short and len(short - listed) == pf["omitted"]["violations"]
    net = pn.case2869pegase()
    pp.runpp(net, numba=False, lightsim2grid=False, enforce_q_lims=True)
    vm = net.res_bus.vm_pu[net.bus.in_service]
    outside = int(((vm < 0.95) | (vm > 1.05)).sum())
    assert outside == sum(v["kind"] != "thermal" for v in read) == pf["violation_counts"].get("undervoltage", 0) + \
        pf["violation_counts"].get("overvoltage", 0)
    # the top level outlines its long lists; the MCP resource pages the same list
    assert top.structured_content["value"]["violations"] == f"<list of {len(read)} items: path /violations>"
    assert len(received(top)) < 30_000 and evidence in text_of(top)
    assert resource["tool"] == "run_power_flow" and resource["inputs"]["grid_id"] == grid_id
    assert 5 < resource["next_offset"] <= 55 and resource["total"] == len(read)  # 50 items, or fewer in 20,000 characters
    assert resource["result"] == read[5:resource["next_offset"]]
    assert bad_path.is_error and text_of(bad_path).startswith("path: ") and "violations" in text_of(bad_path)
