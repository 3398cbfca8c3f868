"""Grid tools: list what can be loaded, load a grid, summarise it, unload it.

References
----------
.. [1] pandapower built-in networks; PGLib-OPF (see :mod:`._sources`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, Field

from gridsage.errors import GridSageError, InputError, UnknownGridError
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.grid._dispatch import DispatchReport, derive_opf_dispatch
from gridsage.tools.grid._elements import PLACEHOLDER_RATING_MVA, placeholder_rating_count
from gridsage.tools.grid._sources import (MATPOWER_PREFIX, PGLIB_PREFIX, GridCatalogEntry, grid_catalog, is_pglib,
                                          load_net)
from gridsage.tools.paths import readable_file
from gridsage.tools.workspace import Grid, current_workspace

COUNTED = ("bus", "line", "trafo", "trafo3w", "impedance", "switch", "gen", "sgen", "load", "ext_grid", "shunt", "storage")


class LoadedGrid(BaseModel):
    grid_id: str
    source: str
    parent_id: str | None = None
    changes: list[str] = Field(default_factory=list, description="What differs from the parent grid.")


class GridList(ToolResult):
    """Grids loadable by name, and grids loaded now."""

    status: Literal["ok"] = "ok"
    catalog: list[GridCatalogEntry]
    loaded: list[LoadedGrid]


class VoltageLevel(BaseModel):
    vn_kv: float = Field(description="Nominal voltage [kV].")
    buses: int


class ElementCount(BaseModel):
    element: str
    total: int
    in_service: int


class GridSummary(ToolResult):
    """Element counts, voltage levels and totals of a grid (no power flow)."""

    status: Literal["ok"] = "ok"
    grid_id: str
    source: str
    elements: list[ElementCount]
    voltage_levels: list[VoltageLevel]
    load_p_mw: float = Field(description="Total in-service load [MW].")
    load_q_mvar: float = Field(description="Total in-service reactive load [Mvar].")
    gen_p_mw: float = Field(description="In-service gen and sgen set-points [MW].")
    gen_max_p_mw: float | None = Field(description="In-service gen capacity (max_p_mw) [MW], when given.")
    placeholder_rated_branches: int = Field(description=f"Branches rated >= {PLACEHOLDER_RATING_MVA:.0f} MVA (placeholders).")
    branches: int
    base_dispatch: str
    changes: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class GridLoadResult(ToolResult):
    """A grid now held in the workspace."""

    status: Literal["loaded"] = "loaded"
    grid_id: str
    dispatch: DispatchReport | None = Field(default=None, description="How the base dispatch was derived, when by OPF.")
    summary: GridSummary


def rating_notes(net) -> list[str]:
    """Warnings a reader of loading figures must see (placeholder or missing ratings)."""
    notes = []
    placeholder, total = placeholder_rating_count(net)
    if total and placeholder / total > 0.5:
        notes.append(
            f"{placeholder} of {total} branches carry placeholder thermal ratings (>= {PLACEHOLDER_RATING_MVA:.0f} MVA), "
            "so loading_percent is not meaningful here; use a PGLib-OPF case (e.g. pglib_opf_case118_ieee) for real ratings."
        )
    if len(net.impedance):
        unrated = int((~(net.impedance.sn_mva.to_numpy(dtype=float) > 0)).sum()) if "sn_mva" in net.impedance else len(net.impedance)
        if unrated:
            notes.append(f"{unrated} of {len(net.impedance)} impedance branch(es) have no sn_mva rating and are not "
                         "checked for thermal loading.")
    return notes


def summarize(grid: Grid) -> GridSummary:
    """Build the :class:`GridSummary` of a held grid."""
    net = grid.net
    counts = []
    for element in COUNTED:
        if element in net and len(net[element]):
            table = net[element]
            active = int(table.in_service.sum()) if "in_service" in table else len(table)
            counts.append(ElementCount(element=element, total=len(table), in_service=active))
    levels = net.bus.vn_kv.value_counts().sort_index(ascending=False)
    load = net.load[net.load.in_service]
    gens = net.gen[net.gen.in_service]
    sgens = net.sgen[net.sgen.in_service]
    cap = float(gens.max_p_mw.sum()) if "max_p_mw" in gens and gens.max_p_mw.notna().any() else None
    placeholder, total = placeholder_rating_count(net)
    return GridSummary(
        grid_id=grid.grid_id, source=grid.source, elements=counts,
        voltage_levels=[VoltageLevel(vn_kv=float(v), buses=int(n)) for v, n in levels.items()],
        load_p_mw=round(float((load.p_mw * load.scaling).sum()), 3),
        load_q_mvar=round(float((load.q_mvar * load.scaling).sum()), 3),
        gen_p_mw=round(float(gens.p_mw.sum() + (sgens.p_mw * sgens.scaling).sum()), 3),
        gen_max_p_mw=None if cap is None or np.isnan(cap) else round(cap, 3),
        placeholder_rated_branches=placeholder, branches=total, base_dispatch=grid.base_dispatch,
        changes=grid.changes, notes=grid.notes,
    )


@tool
def list_grids() -> GridList:
    """List the grids GridSage can load by name, and the grids loaded now.

    Returns
    -------
    GridList
        ``catalog``: pandapower built-ins and PGLib-OPF cases (real ratings);
        ``loaded``: grid ids in the workspace.
    """
    loaded = [LoadedGrid(grid_id=g.grid_id, source=g.source, parent_id=g.parent_id, changes=g.changes)
              for g in current_workspace().grids()]
    return GridList(catalog=grid_catalog(), loaded=loaded)


#: suffixes that make a grid source a file (read from under a data root)
GRID_FILE_SUFFIXES = (".m", ".mat", ".json")


def _is_network(net) -> bool:
    """Whether ``net`` is a pandapower network with at least one bus."""
    try:
        return hasattr(net, "bus") and len(net.bus.index) > 0
    except Exception:  # anything else a converter may hand back
        return False


def _open(source: str):
    """The network of a grid source: a catalogue name, or a grid file under a data root.

    A file is resolved by :func:`gridsage.tools.paths.readable_file` (field ``source``); a file that is not a
    network (malformed or truncated JSON, a JSON document that is no pandapower net, a ``.m`` file without an
    ``mpc`` case) becomes an :class:`~gridsage.errors.InputError` naming the kind of problem, never the content.
    """
    suffix = Path(source).suffix.lower()
    stem = source[: -len(suffix)] if suffix else source
    if suffix not in GRID_FILE_SUFFIXES:
        return load_net(source)
    if suffix == ".m" and (stem.startswith(MATPOWER_PREFIX) or ("/" not in stem and stem.startswith(PGLIB_PREFIX))):
        return load_net(stem)  # a catalogue name written with its file suffix
    try:
        path = readable_file(source, "source", suffixes=GRID_FILE_SUFFIXES)
    except InputError as exc:
        raise UnknownGridError(exc.message, field="source", fix=exc.fix + " Or use a built-in name (list_grids).") from None
    kind = "pandapower network (JSON, as written by pandapower.to_json)" if suffix == ".json" else \
        "MATPOWER case (a function returning an mpc struct)"
    fix = (f"give a {kind}, or a built-in name (see list_grids / `gridsage grids`); check that the file is complete "
           "and was written by pandapower or MATPOWER.")
    try:
        net = load_net(str(path))
    except GridSageError:
        raise
    except json.JSONDecodeError as exc:
        raise InputError(f"{path.name} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
                         field="source", fix=fix) from None
    except Exception as exc:  # the converters fail in many ways on foreign files; none of their messages is shown
        raise InputError(f"{path.name} could not be read as a {kind} ({type(exc).__name__})", field="source",
                         fix=fix) from None
    if not _is_network(net):
        raise InputError(f"{path.name} holds no {kind}: no bus table", field="source", fix=fix)
    return net


@tool
def load_grid(
    source: Annotated[str, Field(min_length=1, max_length=4096, description="Built-in name (see list_grids), PGLib-OPF name, or path to a .m, .mat or pandapower .json file under a data root (GRIDSAGE_DATA_DIRS).")],
    grid_id: Annotated[str | None, Field(max_length=128, description="Id to hold it under; default: the source's name.")] = None,
    base_dispatch: Annotated[Literal["auto", "file", "opf"], Field(description="'file' keeps stored set-points; 'opf' derives a secure AC-OPF dispatch; 'auto' = 'opf' for PGLib-OPF cases, else 'file'.")] = "auto",
    opf_max_loading_percent: Annotated[float, Field(gt=10, le=100, allow_inf_nan=False, description="Thermal bound for the OPF dispatch [% of rating].")] = 85.0,
) -> GridLoadResult:
    """Load a grid into the workspace under a ``grid_id``.

    Parameters
    ----------
    source : str
        Built-in name, PGLib-OPF case name, ``matpower:`` case name, or the
        path of a ``.m``, ``.mat`` or pandapower ``.json`` file under a data
        root (:func:`gridsage.tools.paths.readable_file`: absolute, or
        relative to a root; ``~`` is not expanded).
    grid_id : str, optional
        Id to use; a taken id gets a numeric suffix.
    base_dispatch : {'auto', 'file', 'opf'}, default 'auto'
        How to set the base-case generation (see :mod:`._dispatch`).
    opf_max_loading_percent : float, default 85
        OPF thermal bound [% of rating].

    Returns
    -------
    GridLoadResult
        The id, the dispatch report (if OPF) and the grid summary.

    Raises
    ------
    UnknownGridError
        If the source is neither a known name nor a grid file under the data
        roots (outside them, or missing).
    InputError
        If a grid file is not a network
        (malformed JSON, no ``mpc`` case, ...); ``field`` is ``source`` and
        no message quotes the file.
    SolverError
        If the OPF dispatch does not converge.
    RequestTooLargeError
        If the workspace is full.

    References
    ----------
    .. [1] PGLib-OPF, arXiv:1908.02788 (real thermal ratings).
    """
    net = _open(source)
    method = ("opf" if is_pglib(source) else "file") if base_dispatch == "auto" else base_dispatch
    report = derive_opf_dispatch(net, opf_max_loading_percent) if method == "opf" else None
    notes = rating_notes(net)
    if report:
        notes.append(f"Base dispatch derived by AC OPF with branches held to {opf_max_loading_percent:g} % of rating.")
    name = grid_id or Path(source).stem
    grid = current_workspace().add(Grid(grid_id=name, source=source, net=net, base_dispatch=method, notes=notes))
    return GridLoadResult(grid_id=grid.grid_id, dispatch=report, summary=summarize(grid))


@tool
def grid_summary(grid_id: Annotated[str, Field(description="Grid to summarise.")]) -> GridSummary:
    """Summarise a loaded grid: element counts, voltage levels, load and generation.

    Parameters
    ----------
    grid_id : str

    Returns
    -------
    GridSummary
        Counts, voltage levels [kV], load [MW, Mvar], generation [MW], ratings.

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    """
    return summarize(current_workspace().get(grid_id))


class UnloadResult(ToolResult):
    status: Literal["unloaded"] = "unloaded"
    grid_id: str


@tool
def unload_grid(grid_id: Annotated[str, Field(description="Grid to drop from the workspace.")]) -> UnloadResult:
    """Drop a grid from the workspace to free memory.

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    """
    current_workspace().remove(grid_id)
    return UnloadResult(grid_id=grid_id)
