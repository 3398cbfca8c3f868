"""Shared fixtures: real grids in a fresh workspace per test module."""

from __future__ import annotations

import os
import socket
import tempfile
import warnings

import pytest

from gridsage.graph_store.settings import GraphSettings
from gridsage.graph_store.store import GraphStore, use_store

from gridsage.tools.workspace import Workspace, use_workspace

warnings.filterwarnings("ignore")
# never touch the user's graph folder: anything that reaches for the default store (a CLI subprocess, get_store())
# gets a folder of its own unless a test gives it another
os.environ["GRIDSAGE_GRAPH_DIR"] = tempfile.mkdtemp(prefix="gridsage-test-graph-")
# likewise the standards index: built once per test session in a folder of its own
os.environ["GRIDSAGE_KNOWLEDGE_DIR"] = tempfile.mkdtemp(prefix="gridsage-test-knowledge-")
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


@pytest.fixture(scope="session")
def graph_store(tmp_path_factory):
    """A connected :class:`GraphStore` on an embedded ArcadeDB in a fresh folder; closed at the end.

    Tests share it: tag what you write (e.g. a unique ``grid_id`` or label) and
    count only your own nodes. Use it through ``use_store(graph_store)``.
    """
    store = GraphStore(GraphSettings(uri=None, user="neo4j", password=None, database="gridsage",
                                     data_dir=tmp_path_factory.mktemp("graph")))
    try:
        store.read("RETURN 1 AS ok")  # start now, so a broken engine fails here, once, with its message
        yield store
    finally:
        store.close()


@pytest.fixture
def graph(graph_store):
    """The session graph store, made current for one test."""
    with use_store(graph_store):
        yield graph_store
