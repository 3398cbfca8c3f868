"""Shared fixtures: real grids in a fresh workspace per test module."""

from __future__ import annotations

import warnings

import pytest

from gridsage.tools.workspace import Workspace, use_workspace

warnings.filterwarnings("ignore")


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", help="also run the slow and inspector suites (what .ci/run does)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--full"):
        return
    skip = pytest.mark.skip(reason="slow/inspector suite: run with --full (as .ci/run does)")
    for item in items:
        if "slow" in item.keywords or "inspector" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def workspace():
    """A fresh workspace, current for the whole test module."""
    ws = Workspace()
    with use_workspace(ws):
        yield ws


@pytest.fixture(scope="module")
def ieee118(workspace):
    """PGLib-OPF IEEE 118-bus (real ratings) with its OPF base dispatch."""
    from gridsage.tools.grids import load_grid

    return load_grid("pglib_opf_case118_ieee", grid_id="ieee118").grid_id


@pytest.fixture(scope="module")
def case14(workspace):
    from gridsage.tools.grids import load_grid

    return load_grid("case14").grid_id
