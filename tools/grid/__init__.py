"""Grid analysis tools: grids by name or file, events, AC/DC power flow, N-1, remedial actions, topology queries.

Every tool works on a grid held in the workspace under a ``grid_id``
(:func:`load_grid`); what-if tools (:func:`apply_events`, :func:`apply_actions`)
add derived grids and never change the loaded one.  Modules whose name starts
with ``_`` are this package's own helpers (grid sources, OPF dispatch, element
labels, violation checks); their public types are re-exported here.
"""

from gridsage.tools.grid._elements import BRANCH_TABLES, ElementRef, branch_loading_percent, element_name
from gridsage.tools.grid._sources import GridCatalogEntry, grid_catalog
from gridsage.tools.grid._violations import Violation, solved_violations
from gridsage.tools.grid.contingency import ContingencyResult, run_contingency_analysis
from gridsage.tools.grid.events import DerivedGridResult, Event, apply_events
from gridsage.tools.grid.grids import GridLoadResult, grid_summary, list_grids, load_grid, summarize, unload_grid
from gridsage.tools.grid.power_flow import BranchResult, PowerFlowResult, run_power_flow
from gridsage.tools.grid.remedial import (MIN_TARGET_RELIEF_PERCENT, Candidate, ElementEffect, LoadTransfer, apply_actions,
                                          propose_remedial_actions)
from gridsage.tools.grid.topology import (graph_downstream, graph_elements_at_bus, graph_neighbourhood, graph_outage_impact,
                                          graph_path, sync_graph, sync_progress)

__all__ = [
    # tools
    "list_grids", "load_grid", "grid_summary", "unload_grid", "run_power_flow", "run_contingency_analysis",
    "apply_events", "propose_remedial_actions", "apply_actions", "sync_graph", "graph_neighbourhood",
    "graph_elements_at_bus", "graph_path", "graph_outage_impact", "graph_downstream",
    # results and types other layers read
    "BRANCH_TABLES", "BranchResult", "Candidate", "ContingencyResult", "DerivedGridResult", "ElementEffect", "ElementRef", "Event",
    "GridCatalogEntry", "GridLoadResult", "LoadTransfer", "MIN_TARGET_RELIEF_PERCENT", "PowerFlowResult", "Violation", "branch_loading_percent", "element_name", "grid_catalog",
    "solved_violations", "summarize", "sync_progress",
]
