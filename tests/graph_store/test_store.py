"""GraphStore against the real engines: the shared ArcadeDB graph server over Bolt, and an external URI nobody serves."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from gridsage.graph_store.settings import GraphSettings
from gridsage.graph_store.store import GraphStore, get_store, use_store
from gridsage.errors import GraphQueryError, GraphUnavailableError, InputError

GRAPH_ENV = ("NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE", "GRIDSAGE_GRAPH_DIR", "GRIDSAGE_GRAPH_IDLE_TIMEOUT",
             "GRIDSAGE_GRAPH_START_TIMEOUT")


def run_python(code: str, cwd: Path, graph_dir: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with the embedded graph in ``graph_dir``."""
    env = {k: v for k, v in os.environ.items() if k not in GRAPH_ENV}
    if graph_dir is not None:
        env["GRIDSAGE_GRAPH_DIR"] = str(graph_dir)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def label() -> str:
    """A label of this test's own, so tests sharing the session store never count each other's nodes."""
    return f"T{uuid.uuid4().hex[:12]}"


# -- no JVM ------------------------------------------------------------------


def test_settings_from_env(monkeypatch, tmp_path):
    for name in GRAPH_ENV:
        monkeypatch.delenv(name, raising=False)
    embedded = GraphSettings.from_env()
    assert (embedded.uri, embedded.user, embedded.password, embedded.database) == (None, "neo4j", None, "gridsage")
    assert embedded.data_dir.parts[-2:] == ("gridsage", "graph")
    monkeypatch.setenv("NEO4J_URI", "bolt://db.example:7687")
    monkeypatch.setenv("NEO4J_PASSWORD", "secret")
    monkeypatch.setenv("GRIDSAGE_GRAPH_DIR", str(tmp_path))
    external = GraphSettings.from_env()
    assert (external.uri, external.password, external.database, external.data_dir) == (
        "bolt://db.example:7687", "secret", "neo4j", tmp_path)
    monkeypatch.setenv("NEO4J_DATABASE", "grid")
    assert GraphSettings.from_env().database == "grid"
    assert (embedded.idle_timeout_s, embedded.start_timeout_s) == (900.0, 90.0)
    monkeypatch.setenv("GRIDSAGE_GRAPH_IDLE_TIMEOUT", "0")
    monkeypatch.setenv("GRIDSAGE_GRAPH_START_TIMEOUT", "30")
    assert (GraphSettings.from_env().idle_timeout_s, GraphSettings.from_env().start_timeout_s) == (0.0, 30.0)
    monkeypatch.setenv("GRIDSAGE_GRAPH_START_TIMEOUT", "0")
    with pytest.raises(InputError) as info:
        GraphSettings.from_env()
    assert info.value.field == "GRIDSAGE_GRAPH_START_TIMEOUT"
    monkeypatch.setenv("GRIDSAGE_GRAPH_START_TIMEOUT", "30")
    monkeypatch.setenv("GRIDSAGE_GRAPH_IDLE_TIMEOUT", "15 min")
    with pytest.raises(InputError, match="number of seconds"):
        GraphSettings.from_env()
    assert GraphStore(external).backend == "external" and GraphStore(embedded).backend == "embedded-arcadedb"


def test_import_and_construction_start_nothing(tmp_path):
    graph_dir = tmp_path / "graph"
    done = run_python(f"""
        import json, sys
        from pathlib import Path
        from gridsage.graph_store import embedded, server, settings, store
        s = store.get_store()
        e = embedded.EmbeddedArcadeDB(Path({str(graph_dir)!r}))
        print(json.dumps(sorted(m for m in ("jpype", "arcadedb_embedded", "neo4j") if m in sys.modules)))
    """, cwd=tmp_path, graph_dir=graph_dir, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    assert not graph_dir.exists()


def test_use_store_overrides_the_process_store(tmp_path):
    mine = GraphStore(GraphSettings(None, "neo4j", None, "gridsage", tmp_path))
    default = get_store()
    assert get_store() is default
    with use_store(mine) as current:
        assert current is mine and get_store() is mine
    assert get_store() is default


def test_unreachable_external_server_fails_fast():
    uri = f"bolt://127.0.0.1:{free_port()}"
    store = GraphStore(GraphSettings(uri=uri, user="neo4j", password="x", database="neo4j", data_dir=Path("unused")))
    start = time.perf_counter()
    with pytest.raises(GraphUnavailableError) as info:
        store.read("RETURN 1 AS x")
    assert time.perf_counter() - start < 15
    assert info.value.field == "NEO4J_URI"
    assert uri in info.value.message and "unset NEO4J_URI" in info.value.fix
    with pytest.raises(GraphUnavailableError, match="not a Bolt URI"):
        GraphStore(GraphSettings("http://127.0.0.1:7474", "neo4j", "x", "neo4j", Path("unused"))).read("RETURN 1")


# -- embedded ArcadeDB ---------------------------------------------------------


@pytest.mark.slow
def test_round_trip_and_agent(graph_store):
    assert graph_store.read("RETURN 1 AS x") == [{"x": 1}]
    assert "Neo4j/5" in graph_store.server_agent
    assert graph_store.backend == "embedded-arcadedb"


@pytest.mark.slow
def test_write_then_read(graph_store):
    t = label()
    graph_store.write(f"UNWIND $names AS n CREATE (:{t} {{name: n}})", names=["a", "b"])
    rows = graph_store.read(f"MATCH (x:{t}) RETURN x.name AS name, x AS node ORDER BY name")
    assert rows == [{"name": "a", "node": {"name": "a"}}, {"name": "b", "node": {"name": "b"}}]


@pytest.mark.slow
def test_failing_batch_rolls_back_alone(graph_store):
    t = label()
    rows = [{"i": i, "zero": 0 if i == 25 else 1} for i in range(35)]
    done = []
    with pytest.raises(GraphQueryError) as info:
        graph_store.write_batches(f"UNWIND $rows AS r CREATE (:{t} {{i: r.i, q: 1 / r.zero}})", rows,
                                  batch_size=10, progress=done.append)
    error = info.value
    assert error.field == "rows[20:30]"
    assert "20..29" in error.message and "rolled back" in error.message and "committed" in error.message
    assert done == [10, 10]
    kept = graph_store.read(f"MATCH (x:{t}) RETURN count(x) AS n, max(x.i) AS last")
    assert kept == [{"n": 20, "last": 19}]
    assert graph_store.write_batches(f"UNWIND $rows AS r MERGE (:{t} {{i: r.i}})", rows, batch_size=10) == 35


@pytest.mark.slow
def test_transaction_is_all_or_nothing(graph_store):
    t = label()

    def two_statements(tx):
        tx.run(f"CREATE (:{t} {{i: 1}})").consume()
        tx.run(f"CREATE (:{t} {{i: 1 / $zero}})", zero=0).consume()

    with pytest.raises(GraphQueryError, match="rolled back"):
        graph_store.run_in_transaction(two_statements)
    assert graph_store.read(f"MATCH (x:{t}) RETURN count(x) AS n") == [{"n": 0}]
    with pytest.raises(GraphQueryError) as info:
        graph_store.read("MATCH (n) RETURN n.x +* 2")
    assert info.value.field == "cypher"
    assert graph_store.run_in_transaction(lambda tx: tx.run(f"CREATE (x:{t}) RETURN 7 AS v").single()["v"]) == 7


@pytest.mark.slow
def test_data_persists_across_processes_and_server_restarts(tmp_path):
    from gridsage.graph_store.server import stop_server

    graph_dir = tmp_path / "graph"
    try:
        _persists(tmp_path, graph_dir, stop_server)
    finally:
        stop_server(graph_dir)


def _persists(tmp_path, graph_dir, stop_server):
    write = run_python("""
        import time
        from gridsage.graph_store.store import get_store
        start = time.perf_counter()
        get_store().read("RETURN 1 AS x")
        took = time.perf_counter() - start
        get_store().write("CREATE (:Persisted {note: $note})", note="kept")
        print(f"started in {took:.2f} s")
    """, cwd=tmp_path, graph_dir=graph_dir)
    assert write.returncode == 0, write.stderr
    assert write.stdout.startswith("started in ") and write.stdout.count("\n") == 1, write.stdout  # clean stdout
    print(write.stdout.strip())
    password = graph_dir / "gridsage-root-password"
    if os.name == "posix":
        assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert stop_server(graph_dir) is not None  # the next process starts a new server on the same folder
    read = run_python("""
        from gridsage.graph_store.store import get_store
        print(get_store().read("MATCH (p:Persisted) RETURN p.note AS note")[0]["note"])
    """, cwd=tmp_path, graph_dir=graph_dir)
    assert read.returncode == 0, read.stderr
    assert read.stdout == "kept\n"
    assert not (tmp_path / "log").exists(), "ArcadeDB must log under the graph folder, not the working directory"
    assert (graph_dir / "log" / "arcadedb.log.0").exists()


@pytest.mark.slow
def test_second_process_on_the_same_folder_shares_the_server(graph_store, tmp_path):
    t = label()
    graph_store.write(f"CREATE (:{t} {{by: 'session'}})")
    done = run_python(f"""
        import json, sys
        from gridsage.graph_store.store import get_store
        from gridsage.graph_store.server import running_server
        store = get_store()
        store.write("MATCH (x:{t}) CREATE (:{t} {{by: 'other'}})")
        print(json.dumps({{"pid": running_server(store.settings.data_dir).pid, "jvm": "jpype" in sys.modules}}))
    """, cwd=tmp_path, graph_dir=graph_store.settings.data_dir)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"pid": graph_store._server.pid, "jvm": False}
    assert graph_store.read(f"MATCH (x:{t}) RETURN x.by AS by ORDER BY by") == [{"by": "other"}, {"by": "session"}]


@pytest.mark.slow
def test_taken_port_is_retried_then_reported(tmp_path):
    """The race between picking a free port and binding it, made certain by handing out a port in use."""
    done = run_python(f"""
        import socket
        from pathlib import Path
        from gridsage.graph_store import embedded
        from gridsage.errors import GraphUnavailableError

        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        real_free_port = embedded._free_port

        embedded._free_port = lambda: busy  # every attempt collides
        try:
            embedded.EmbeddedArcadeDB(Path({str(tmp_path / "a")!r})).start()
        except GraphUnavailableError as e:
            print("busy" if str(busy) in e.message and "4 tries" in e.message else e)

        calls = []
        def collide_once():  # the first attempt's bolt port (second call) is taken, later ones are free
            calls.append(1)
            return busy if len(calls) == 2 else real_free_port()
        embedded._free_port = collide_once
        server = embedded.EmbeddedArcadeDB(Path({str(tmp_path / "b")!r}))
        uri = server.start()
        print("retried" if len(calls) == 4 and not uri.endswith(str(busy)) else calls)
        server.stop()
    """, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["busy", "retried"], done.stdout
