"""Every tool, driven over stdio by the MCP SDK's client with generated inputs: valid ones from its input schema
(hypothesis-jsonschema) and adversarial ones (unknown names, wrong types, non-finite and huge numbers, huge strings,
NUL bytes, path escapes, missing fields).

Each call must end, within its time bound, in a valid result or a typed error (``field: message Fix: ...``, never
the SDK's bare ``Error executing tool`` or an internal error), must not echo more than 200 characters of any input,
and the server must still answer afterwards.  The calls are counted; the suite makes at least
:data:`MIN_CALLS`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis_jsonschema import from_schema
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from gridsage.tools.toolset import toolset

MIN_CALLS = 2000
#: generated valid inputs per tool
VALID_EXAMPLES = 45
#: bound on one call: the slowest legitimate call here is a first graph sync or an N-1 of a small grid
CALL_TIMEOUT_S = 120
ECHO_LIMIT = 200
#: grids the generators pick from (small, so that valid calls run the real engines quickly)
SOURCES = ("case9", "case14", "case30")
UNTYPED = ("Error executing tool", "internal error", "Traceback")
NAMES = [spec.name for spec in toolset()]
COUNT = {"calls": 0, "errors": 0, "results": 0}


class Server:
    """A GridSage stdio server in a subprocess and an SDK client session, called synchronously through a portal."""

    def __init__(self, portal, client, root: Path):
        self.portal, self.client, self.root = portal, client, root
        self.tools = {t.name: t for t in portal.call(self._list)}
        self.grid_ids = [self.call("load_grid", {"source": s}).structured_content["grid_id"] for s in SOURCES]

    async def _list(self):
        return (await self.client.list_tools()).tools

    async def _call(self, name: str, arguments: dict):
        with anyio.fail_after(CALL_TIMEOUT_S):  # a hang fails the suite
            return await self.client.call_tool(name, arguments)

    def call(self, name: str, arguments: dict):
        COUNT["calls"] += 1
        return self.portal.call(self._call, name, arguments)


@pytest.fixture(scope="module")
def server(tmp_path_factory, standards_index):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "data").mkdir()
    (root / "data" / "load.csv").write_text("time,load_mw\n2024-01-01 00:00,1.0\n")
    env = {**os.environ, "GRIDSAGE_DATA_DIRS": str(root / "data"), "GRIDSAGE_OUTPUT_DIR": str(root / "out"),
           # weather would be the only network: a closed loopback port, so a forecast with coordinates fails typed
           "GRIDSAGE_OPENMETEO_URL": "http://127.0.0.1:9/v1/forecast",
           "GRIDSAGE_OPENMETEO_ARCHIVE_URL": "http://127.0.0.1:9/v1/archive"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "gridsage", "mcp", "--transport", "stdio"],
                                   cwd=str(root), env=env)
    with tempfile.TemporaryFile(mode="w+") as errlog, anyio.from_thread.start_blocking_portal() as portal:
        with portal.wrap_async_context_manager(Client(stdio_client(params, errlog=errlog))) as client:
            yield Server(portal, client, root)


def strings_in(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings_in(k) + strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


def check(result, arguments: dict, name: str) -> None:
    """A valid result or a typed error, echoing no long input."""
    text = "".join(getattr(b, "text", "") for b in result.content)
    everything = text + json.dumps(result.structured_content or {}, default=str)
    for s in strings_in(arguments):
        if len(s) > ECHO_LIMIT:
            assert s[:ECHO_LIMIT + 1] not in everything, f"{name} echoed more than {ECHO_LIMIT} characters of input"
    if result.is_error:
        COUNT["errors"] += 1
        assert text.strip() and not any(u in text for u in UNTYPED), f"{name}({arguments!r:.300}) -> {text[:300]}"
    else:
        COUNT["results"] += 1
        assert result.structured_content is not None and "status" in result.structured_content, name


def realistic(schema: dict, server: Server):
    """Strategy for valid arguments, with grid ids and sources drawn mostly from real ones."""
    props = schema.get("properties", {})
    overrides = {}
    if "grid_id" in props:
        overrides["grid_id"] = st.sampled_from(server.grid_ids) | from_schema(props["grid_id"])
    if "source" in props:
        overrides["source"] = st.sampled_from(SOURCES) | from_schema(props["source"])
    base = from_schema(schema)
    if not overrides:
        return base
    return st.tuples(base, st.fixed_dictionaries(overrides)).map(
        lambda pair: {**pair[0], **{k: v for k, v in pair[1].items() if k in pair[0] or k in schema.get("required", [])}})


@pytest.mark.parametrize("name", NAMES)
def test_valid_inputs_give_a_result_or_a_typed_error(server, name):
    tool = server.tools[name]

    @settings(max_examples=VALID_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(arguments=realistic(tool.input_schema, server))
    def run(arguments):
        check(server.call(name, arguments), arguments, name)

    run()


HUGE = "A" * 100_000
BAD_VALUES = {"huge string": HUGE, "NUL": "case9\x00.json", "path escape": "../../../../etc/passwd",
              "absolute path": "/etc/shadow", "home": "~/.ssh/id_rsa", "empty": "", "1e308": 1e308, "-1e308": -1e308,
              "2**80": 2 ** 80, "-2**80": -(2 ** 80), "Infinity": "Infinity", "NaN": "NaN", "list": [1, [2]],
              "object": {"$ref": "#"}, "null": None, "bool": True}


def adversarial(schema: dict, grid_id: str) -> list[tuple[str, dict]]:
    """Each property in turn set to each bad value (the rest valid where known), an unknown name, nothing at all."""
    props, required = schema.get("properties", {}), schema.get("required", [])
    valid = {k: ({"grid_id": grid_id, "source": "case9"}.get(k, "x")) for k in required}
    cases = [("unknown name", {**valid, "bus_idx": 1}), ("no arguments", {}), ("unknown only", {"zzz": HUGE})]
    for prop in props:
        cases += [(f"{prop}={label}", {**valid, prop: value}) for label, value in BAD_VALUES.items()]
    return cases


@pytest.mark.parametrize("name", NAMES)
def test_adversarial_inputs_give_typed_errors(server, name):
    tool = server.tools[name]
    for label, arguments in adversarial(tool.input_schema, server.grid_ids[0]):
        result = server.call(name, arguments)
        check(result, arguments, f"{name} [{label}]")
        if label in ("unknown name", "unknown only"):
            assert result.is_error, f"{name} accepted an unknown argument name"


def test_the_server_answers_after_everything_and_the_calls_were_counted(server):
    listed = server.call("list_grids", {})
    assert not listed.is_error and listed.structured_content["status"] == "ok"
    assert {t.name for t in server.portal.call(server._list)} == set(NAMES)  # still serving, every tool listed
    assert COUNT["calls"] >= MIN_CALLS, COUNT
    print(f"fuzz: {COUNT['calls']} calls, {COUNT['results']} results, {COUNT['errors']} typed errors")
