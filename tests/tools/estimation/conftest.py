"""Fixtures of the estimation tests: PGLib-OPF case14 in the module's workspace, and plain-pandapower truth."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def case14_pglib(workspace):
    """PGLib-OPF IEEE 14-bus (OPF base dispatch) loaded in the module's workspace; its grid_id."""
    from gridsage.tools.grid import load_grid

    return load_grid("pglib_opf_case14_ieee", grid_id="c14").grid_id
