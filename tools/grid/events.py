"""What-if events: outages, generator trips, load changes and scaling.

Events are applied to a copy of a loaded grid, which is stored as a new,
*derived* grid (the loaded one never changes), so every later tool can study
the post-event state by its ``grid_id``.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from gridsage.errors import UNION_TAGS, InputError, UnknownElementError
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.grid._elements import element_name
from gridsage.tools.workspace import Grid, current_workspace


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineOutage(_Event):
    """A line taken out of service (trip or forced outage)."""

    type: Literal["line_outage"] = "line_outage"
    line: int = Field(ge=0, description="pandapower line index.")


class TrafoOutage(_Event):
    """A two-winding transformer taken out of service."""

    type: Literal["trafo_outage"] = "trafo_outage"
    trafo: int = Field(ge=0, description="pandapower trafo index.")


class BranchOutage(_Event):
    """Any branch taken out of service: a line, a two- or three-winding transformer, an ``impedance`` branch (how
    pandapower's MATPOWER converter stores transformers with TAP = 1 between kV levels, and series reactors) or a
    DC line."""

    type: Literal["branch_outage"] = "branch_outage"
    element: Literal["line", "trafo", "trafo3w", "impedance", "dcline"] = Field(description="pandapower branch table.")
    index: int = Field(ge=0, description="Index in that table.")


class GenTrip(_Event):
    """A generator tripped; the slack (ext_grid) picks up its output."""

    type: Literal["gen_trip"] = "gen_trip"
    gen: int = Field(ge=0, description="pandapower gen index.")


class LoadChange(_Event):
    """A load set to a new demand, or scaled."""

    type: Literal["load_change"] = "load_change"
    load: int = Field(ge=0, description="pandapower load index.")
    p_mw: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="New active demand [MW].")
    q_mvar: float | None = Field(default=None, allow_inf_nan=False, description="New reactive demand [Mvar]; default keeps the power factor.")
    scale: float | None = Field(default=None, ge=0, le=10, allow_inf_nan=False, description="Factor on the present demand [-].")


class RatingChange(_Event):
    """A branch rating set by the user (e.g. a seasonal or dynamic line rating)."""

    type: Literal["rating_change"] = "rating_change"
    element: Literal["line", "trafo", "impedance"]
    index: int = Field(ge=0, description="Index in the element's table.")
    rating: float = Field(gt=0, allow_inf_nan=False, description=(
        "New rating: max_i_ka [kA] for a line, sn_mva [MVA] for a trafo or an impedance branch."))


Event = Annotated[Union[LineOutage, TrafoOutage, BranchOutage, GenTrip, LoadChange, RatingChange], Field(discriminator="type")]
UNION_TAGS.update(("line_outage", "trafo_outage", "branch_outage", "gen_trip", "load_change", "rating_change"))

_TARGET = {"line_outage": ("line", "line"), "trafo_outage": ("trafo", "trafo"), "branch_outage": (None, "index"),
           "gen_trip": ("gen", "gen"), "load_change": ("load", "load"), "rating_change": (None, "index")}


class DerivedGridResult(ToolResult):
    """A new grid holding the post-event state."""

    status: Literal["applied"] = "applied"
    grid_id: str = Field(description="Id of the derived grid.")
    parent_id: str
    changes: list[str] = Field(description="What was changed, in order.")


def apply_to_net(net, events: list, load_scale: float = 1.0, gen_scale: float = 1.0) -> list[str]:
    """Apply scaling, then events, to ``net`` in place.

    Parameters
    ----------
    net : pandapower.pandapowerNet
    events : list of Event
    load_scale : float, default 1.0
        Factor on every load's p_mw and q_mvar [-].
    gen_scale : float, default 1.0
        Factor on every gen and sgen p_mw [-].

    Returns
    -------
    list of str
        One line per change, e.g. ``'line 96 (bus 68-bus 80) out of service'``.

    Raises
    ------
    UnknownElementError
        If an event names an element that does not exist (``events[i].line``).
    InputError
        If a load change gives neither ``p_mw`` nor ``scale``, or both.
    """
    changes = []
    if load_scale != 1.0:
        net.load[["p_mw", "q_mvar"]] *= load_scale
        changes.append(f"all loads scaled by {load_scale:g}")
    if gen_scale != 1.0:
        net.gen["p_mw"] *= gen_scale
        net.sgen["p_mw"] *= gen_scale
        changes.append(f"all gen and sgen set-points scaled by {gen_scale:g}")
    for i, event in enumerate(events):
        table, key = _TARGET[event.type]
        table = table or event.element
        index = getattr(event, key)
        if index not in net[table].index:
            span = f"{net[table].index.min()}-{net[table].index.max()}" if len(net[table]) else "none"
            raise UnknownElementError(
                f"{table} {index} does not exist in this grid ({len(net[table])} {table}s, indices {span})",
                field=f"events[{i}].{key}", fix=f"use an existing {table} index (see grid_summary or run_power_flow).")
        label = element_name(net, table, index)
        if event.type == "load_change":
            if (event.p_mw is None) == (event.scale is None):
                raise InputError("give exactly one of p_mw or scale", field=f"events[{i}]",
                                 fix="set p_mw to the new demand [MW], or scale to a factor on the present demand.")
            old_p, old_q = float(net.load.at[index, "p_mw"]), float(net.load.at[index, "q_mvar"])
            new_p = event.p_mw if event.p_mw is not None else old_p * event.scale
            new_q = event.q_mvar if event.q_mvar is not None else (old_q * new_p / old_p if old_p else old_q)
            net.load.loc[index, ["p_mw", "q_mvar"]] = [new_p, new_q]
            changes.append(f"{label}: {old_p:.1f} MW -> {new_p:.1f} MW")
        elif event.type == "rating_change":
            column, unit = ("max_i_ka", "kA") if table == "line" else ("sn_mva", "MVA")
            old = float(net[table].at[index, column])
            net[table].at[index, column] = event.rating
            changes.append(f"{label}: rating {old:g} -> {event.rating:g} {unit}")
        else:
            net[table].at[index, "in_service"] = False
            changes.append(f"{label} out of service" + (" (tripped)" if event.type == "gen_trip" else ""))
            if event.type == "gen_trip" and bool(net.gen.at[index, "slack"]):
                changes.append(_move_slack(net, index))
    return changes


def _move_slack(net, tripped: int) -> str:
    """Give the reference role of a tripped slack gen to the largest remaining gen."""
    net.gen.at[tripped, "slack"] = False
    live = net.gen[net.gen.in_service]
    if len(net.ext_grid[net.ext_grid.in_service]) or not len(live):
        return f"{element_name(net, 'gen', tripped)} was the slack; the ext_grid remains the reference"
    size = live.max_p_mw if "max_p_mw" in live and live.max_p_mw.notna().all() else live.p_mw
    new = int(size.idxmax())
    net.gen.at[new, "slack"] = True
    return f"slack (reference) moved to {element_name(net, 'gen', new)}, the largest remaining unit"


def derive_grid(parent: Grid, net, changes: list[str], grid_id: str | None = None) -> Grid:
    """Store a changed copy of ``parent`` as a new grid in the current workspace."""
    return current_workspace().add(Grid(
        grid_id=grid_id or f"{parent.grid_id}:whatif", source=parent.grid_id, net=net,
        base_dispatch=parent.base_dispatch, parent_id=parent.grid_id,
        changes=parent.changes + changes, notes=list(parent.notes)))


@tool
def apply_events(
    grid_id: Annotated[str, Field(description="Grid to start from (left unchanged).")],
    events: Annotated[list[Event], Field(max_length=1000, description="Events in order: line_outage, trafo_outage, branch_outage, gen_trip, load_change, rating_change.")] = [],
    load_scale: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False, description="Factor on all loads [-].")] = 1.0,
    gen_scale: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False, description="Factor on all gen/sgen set-points [-].")] = 1.0,
    new_grid_id: Annotated[str | None, Field(max_length=128, description="Id for the derived grid; default '<grid_id>:whatif'.")] = None,
) -> DerivedGridResult:
    """Apply events to a copy of a grid and hold the result as a new grid.

    Parameters
    ----------
    grid_id : str
        Grid to copy.
    events : list of Event
        Outages, trips and load changes, applied in order after scaling.
    load_scale : float, default 1.0
        Factor on all loads (p_mw and q_mvar) [-].
    gen_scale : float, default 1.0
        Factor on all gen and sgen set-points (p_mw) [-].
    new_grid_id : str, optional
        Id of the derived grid.

    Returns
    -------
    DerivedGridResult
        The derived grid's id and the list of changes.

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    UnknownElementError
        If an event names a missing element; the field is ``events[i].<key>``.
    """
    parent = current_workspace().get(grid_id)
    net = current_workspace().copy_net(grid_id)
    changes = apply_to_net(net, events, load_scale, gen_scale)
    grid = derive_grid(parent, net, changes, new_grid_id)
    return DerivedGridResult(grid_id=grid.grid_id, parent_id=grid_id, changes=changes)
