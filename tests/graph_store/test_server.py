"""The shared graph server (graph_store/server.py) against the real engine: one ArcadeDB process per graph folder.

Real subprocesses throughout: GridSage clients (``python -c``, the ``gridsage`` CLI, ``gridsage mcp`` over stdio)
and the server they start, ArcadeDB over Bolt with the official neo4j driver. Each test stops the servers it started.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import networkx as nx
import pandapower.networks as pn
import pandapower.topology as top
import pytest

from gridsage.errors import GraphUnavailableError
from gridsage.graph_store import server as graph_server
from gridsage.graph_store.settings import GraphSettings
from gridsage.graph_store.store import GraphStore

pytestmark = pytest.mark.slow

GRAPH_ENV = ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE", "GRIDSAGE_GRAPH_DIR",
             "GRIDSAGE_GRAPH_IDLE_TIMEOUT", "GRIDSAGE_GRAPH_START_TIMEOUT")
#: what a GridSage client process prints: the server it used, and whether a JVM runs in the client itself
CLIENT = """
    import json, os, sys
    from gridsage.graph_store.store import get_store
    from gridsage.graph_store.server import running_server
    store = get_store()
    store.write("MERGE (c:Client {pid: $pid})", pid=os.getpid())
    clients = store.read("MATCH (c:Client) RETURN count(c) AS n")[0]["n"]
    state = running_server(store.settings.data_dir)
    print(json.dumps({"server_pid": state.pid, "uri": state.uri, "clients": clients,
                      "jvm_in_client": any(m in sys.modules for m in ("jpype", "_jpype", "arcadedb_embedded"))}))
"""


def env_for(graph_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in GRAPH_ENV}
    return {**env, "GRIDSAGE_GRAPH_DIR": str(graph_dir), **extra}


def run_python(code: str, graph_dir: Path, timeout: float = 180, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout,
                          cwd=graph_dir.parent, env=env_for(graph_dir, **extra))


def gridsage(*args: str, graph_dir: Path, timeout: float = 180, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridsage", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=graph_dir.parent, env=env_for(graph_dir, **extra))


def server_pids(graph_dir: Path) -> list[int]:
    """Live graph-server processes of ``graph_dir`` (from /proc)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"gridsage.graph_store.server" in argv and str(graph_dir).encode() in argv:
                pids.append(int(entry.name))
    return pids


def hs_err_files(*folders: Path) -> list[Path]:
    return [p for folder in folders if folder.exists() for p in folder.rglob("hs_err*")]


@pytest.fixture
def graph_dir(tmp_path):
    """A fresh graph folder; any server still running in it is stopped at the end."""
    folder = tmp_path / "graph"
    yield folder
    graph_server.stop_server(folder)


def test_two_processes_share_one_server_started_once(graph_dir):
    """Two clients started together: one server (the start lock), both on it, no JVM in either."""
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(CLIENT)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=graph_dir.parent, env=env_for(graph_dir))
             for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr
    first, second = (json.loads(stdout) for stdout, _ in outputs)
    assert first["server_pid"] == second["server_pid"] and first["uri"] == second["uri"]
    assert not first["jvm_in_client"] and not second["jvm_in_client"]
    assert sorted((first["clients"], second["clients"])) in ([1, 2], [2, 2])
    assert server_pids(graph_dir) == [first["server_pid"]]

    third = run_python(CLIENT, graph_dir)  # a later process reuses the running server's state
    assert third.returncode == 0, third.stderr
    later = json.loads(third.stdout)
    assert (later["server_pid"], later["uri"], later["clients"]) == (first["server_pid"], first["uri"], 3)
    state = json.loads((graph_dir / graph_server.STATE_FILE).read_text())
    assert state["status"] == "ready" and state["pid"] == first["server_pid"]

    assert graph_server.stop_server(graph_dir) == first["server_pid"]
    assert server_pids(graph_dir) == [] and graph_server.running_server(graph_dir) is None
    assert not (graph_dir / graph_server.STATE_FILE).exists()
    log = (graph_dir / graph_server.LOG_FILE).read_text()
    assert "stopping (SIGTERM)" in log and log.rstrip().endswith("stopped"), log[-2000:]
    assert log.count("ready at bolt://") == 1
    assert hs_err_files(graph_dir, graph_dir.parent) == []


def test_cli_graph_start_status_stop(graph_dir):
    started = gridsage("graph", "start", "-f", "json", graph_dir=graph_dir, GRIDSAGE_GRAPH_IDLE_TIMEOUT="120")
    assert started.returncode == 0, started.stderr
    info = json.loads(started.stdout)
    assert info["running"] and info["uri"].startswith("bolt://127.0.0.1:") and info["idle_timeout_s"] == 120
    assert server_pids(graph_dir) == [info["pid"]]
    status = gridsage("graph", "status", graph_dir=graph_dir)
    text = " ".join(status.stdout.split())
    assert status.returncode == 0 and f"pid {info['pid']}" in text and "stops after 120 s" in text, text

    stopped = gridsage("graph", "stop", graph_dir=graph_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert f"stopped the graph server (pid {info['pid']})" in " ".join(stopped.stdout.split())
    assert server_pids(graph_dir) == []
    assert json.loads(gridsage("graph", "status", "-f", "json", graph_dir=graph_dir).stdout)["running"] is False
    again = gridsage("graph", "stop", graph_dir=graph_dir)
    assert again.returncode == 0 and "no graph server was running" in " ".join(again.stdout.split())
    assert hs_err_files(graph_dir, graph_dir.parent) == []


def test_idle_server_stops_itself_and_the_next_call_starts_another(graph_dir):
    settings = GraphSettings(uri=None, user="neo4j", password=None, database="gridsage", data_dir=graph_dir,
                             idle_timeout_s=4.0)
    store = GraphStore(settings)
    try:
        store.write("CREATE (:Kept {n: 1})")
        first = graph_server.running_server(graph_dir)
        assert first is not None and first.idle_timeout_s == 4.0
        for _ in range(3):  # calls keep it alive past its idle time
            time.sleep(2.0)
            assert store.read("MATCH (k:Kept) RETURN count(k) AS n") == [{"n": 1}]
        assert graph_server.running_server(graph_dir).pid == first.pid
        deadline = time.monotonic() + 30
        while server_pids(graph_dir) and time.monotonic() < deadline:  # no call: it stops itself
            time.sleep(0.2)
        assert server_pids(graph_dir) == []
        assert "stopping (idle for 4 s)" in (graph_dir / graph_server.LOG_FILE).read_text()

        assert store.read("MATCH (k:Kept) RETURN count(k) AS n") == [{"n": 1}]  # same store: a new server, same data
        second = graph_server.running_server(graph_dir)
        assert second is not None and second.pid != first.pid
    finally:
        store.close()
    assert hs_err_files(graph_dir, graph_dir.parent) == []


def test_a_failed_start_is_reported_with_its_reason_and_log(graph_dir):
    """A folder that holds a server configuration but lost its password file: the server says why, the client raises."""
    (graph_dir / "config").mkdir(parents=True)
    (graph_dir / "config" / "server-users.jsonl").write_text("{}\n")
    with pytest.raises(GraphUnavailableError) as info:
        graph_server.ensure_server(graph_dir, start_timeout_s=60)
    assert "root password file" in info.value.message and str(graph_dir / graph_server.LOG_FILE) in info.value.message
    assert info.value.field == "GRIDSAGE_GRAPH_DIR" and info.value.fix
    assert graph_server.server_status(graph_dir)["status"] == "failed"


def test_a_server_that_never_gets_ready_times_out_naming_the_log(graph_dir):
    graph_dir.mkdir(parents=True)
    fd = os.open(graph_dir / graph_server.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a server that hangs while starting would
    try:
        start = time.monotonic()
        with pytest.raises(GraphUnavailableError) as info:
            graph_server.ensure_server(graph_dir, start_timeout_s=1.5)
        assert time.monotonic() - start < 10
    finally:
        os.close(fd)
    assert info.value.field == "GRIDSAGE_GRAPH_START_TIMEOUT"
    assert "not ready within 1.5 s" in info.value.message and str(graph_dir / graph_server.LOG_FILE) in info.value.message


@pytest.mark.parametrize("ending", ["stdin EOF", "SIGTERM"])
def test_mcp_over_stdio_exits_cleanly_after_a_graph_call(graph_dir, ending):
    """`gridsage mcp` after sync_graph and graph_neighbourhood: exits in seconds, stdout only JSON-RPC, no JVM report."""
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "graph-test", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "load_grid", "arguments": {"source": "case9"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "sync_graph", "arguments": {"grid_id": "case9"}}},
        {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
         "params": {"name": "graph_neighbourhood", "arguments": {"grid_id": "case9", "bus": 4, "hops": 1}}},
    ]
    cwd = Path(tempfile.mkdtemp(dir=graph_dir.parent))
    with tempfile.TemporaryFile(mode="w+") as errlog:
        proc = subprocess.Popen([sys.executable, "-m", "gridsage", "mcp", "--transport", "stdio"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=errlog, text=True, cwd=cwd, env=env_for(graph_dir))
        watchdog = threading.Timer(240, proc.kill)
        watchdog.start()
        try:
            responses = {}
            for request in requests:
                proc.stdin.write(json.dumps(request) + "\n")
                proc.stdin.flush()
                while "id" in request and request["id"] not in responses:
                    line = proc.stdout.readline()
                    assert line, "server closed stdout early"
                    message = json.loads(line)  # raises on any non-JSON output
                    assert message.get("jsonrpc") == "2.0"
                    if "id" in message:
                        responses[message["id"]] = message
            assert server_pids(graph_dir), "the graph call started no graph server"
            ended = time.monotonic()
            if ending == "SIGTERM":
                proc.send_signal(signal.SIGTERM)
                rest = proc.stdout.read()
                proc.wait(timeout=10)
            else:
                rest, _ = proc.communicate(timeout=10)  # closes stdin
            took = time.monotonic() - ended
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        errlog.seek(0)
        stderr = errlog.read()

    assert took < 10, took
    for line in rest.splitlines():
        assert json.loads(line).get("jsonrpc") == "2.0", line
    assert proc.returncode in ((0,) if ending == "stdin EOF" else (0, -signal.SIGTERM, 128 + signal.SIGTERM)), stderr
    assert "fatal error" not in stderr and "Traceback" not in stderr
    sync = responses[3]["result"]["structuredContent"]
    assert sync["status"] in ("synced", "unchanged") and "ArcadeDB" in sync["server_agent"]
    near = responses[4]["result"]["structuredContent"]
    expected = sorted(int(b) for b in set(nx.ego_graph(top.create_nxgraph(pn.case9()), 4, radius=1)) - {4})
    assert sorted(b["bus"] for b in near["buses"]) == expected
    assert hs_err_files(graph_dir, cwd) == []
    assert server_pids(graph_dir), "the shared graph server outlives its client"


def test_prestart_returns_at_once_and_the_first_call_uses_that_server(graph_dir):
    store = GraphStore(GraphSettings(uri=None, user="neo4j", password=None, database="gridsage", data_dir=graph_dir))
    try:
        start = time.perf_counter()
        store.prestart()
        assert time.perf_counter() - start < 0.5
        assert store.read("RETURN 1 AS x") == [{"x": 1}]  # waits for the server the background thread started
        assert server_pids(graph_dir) == [store._server.pid]
    finally:
        store.close()
