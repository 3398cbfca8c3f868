"""The toolset: every tool GridSage publishes, built from the tool functions themselves.

The MCP server, the chat agent and the command line all read :func:`toolset`,
so a new tool is one function with ``@tool`` plus one :class:`ToolSpec` line in
:func:`_build` (``tests/test_architecture.py`` fails when a ``@tool``
function is missing here).  Each spec owns the tool's name (its function's
name), its kind, whether it may reach the network, and the profiles it belongs
to; adapters map the kind to their own vocabulary (MCP annotations, for
example) through :meth:`ToolSpec.hints`.

The tool modules are imported when the toolset is first built, never at
import time of this module, so reading :data:`PROFILES` stays cheap.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Literal

from gridsage.errors import InputError

#: what a call does to GridSage's state: reads only ('analysis'); adds a grid to the workspace ('what_if': a copy,
#: never a change to a loaded grid); removes one ('destructive'); writes a grid into the topology graph
#: ('writes_graph'); writes files into a folder the caller names, replacing files of the same name ('writes_files')
ToolKind = Literal["analysis", "what_if", "destructive", "writes_graph", "writes_files"]

#: behaviour hints per kind, in MCP's terms (``readOnlyHint`` ... ``idempotentHint``).  Every tool records its result
#: in the session's evidence ledger; that bookkeeping is not counted as a change.
KIND_HINTS: dict[str, dict[str, bool]] = {
    "analysis": {"read_only": True, "destructive": False, "idempotent": True},
    "what_if": {"read_only": False, "destructive": False, "idempotent": False},
    "destructive": {"read_only": False, "destructive": True, "idempotent": True},
    "writes_graph": {"read_only": False, "destructive": False, "idempotent": True},
    # the same inputs write the same files again; what was in them before is overwritten
    "writes_files": {"read_only": False, "destructive": True, "idempotent": True},
}

#: what a call costs (see :attr:`ToolSpec.cost`)
ToolCost = Literal["quick", "load", "solve"]

#: environment variable naming the default tool profile of the chat agent
TOOLS_ENV = "GRIDSAGE_TOOLS"
#: named subsets of the tools, for models that cannot read every schema (a small local model reads every schema,
#: ~6,700 prompt tokens for 17 tools, in minutes on 2 cores, and then loses its way); 'all' is every tool
PROFILES = ("all", "study")


@dataclass(frozen=True)
class ToolSpec:
    """One published tool.

    Attributes
    ----------
    function : callable
        The ``@tool`` function; the tool's name is its ``__name__``.
    kind : ToolKind
    open_world : bool
        True if a call may reach the network (only when the caller asks for it, e.g. a weather location).
    profiles : frozenset of str
        Profiles of :data:`PROFILES` besides ``'all'`` that include the tool.
    cost : ToolCost
        What a call costs: ``'quick'`` (milliseconds, from memory), ``'load'`` (parses a grid file: seconds) or
        ``'solve'`` (a computation).  Adapters serving many clients give each cost its own worker lane, so that a
        quick call never waits behind power flows and a power flow never waits behind grid files being parsed.
    """

    function: Callable[..., Any]
    kind: ToolKind
    open_world: bool = False
    profiles: frozenset[str] = frozenset()
    cost: ToolCost = "solve"

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def description(self) -> str:
        """The first paragraph of the function's docstring, on one line (pvlib docstrings are long)."""
        doc = inspect.getdoc(self.function) or ""
        return " ".join(doc.split("\n\n", 1)[0].split())

    def hints(self) -> dict[str, bool]:
        """``{read_only, destructive, idempotent, open_world}``: what a call may do, for adapters' annotations."""
        return {**KIND_HINTS[self.kind], "open_world": self.open_world}

    @property
    def published(self) -> Callable[..., Any]:
        """The function the adapters publish: the tool, returning its result's compact view.

        Its signature is the tool's, with the view type (the return annotation of the result type's
        :meth:`~gridsage.tools.base.ToolResult.compact`) as its return annotation, so an adapter's output schema is
        the view's.  A result type without a view is returned as it is.
        """
        signature = inspect.signature(self.function, eval_str=True)
        returns = signature.return_annotation
        compact = getattr(returns, "compact", None)
        if compact is None or getattr(compact, "__qualname__", "") == "ToolResult.compact":
            return self.function
        view = typing.get_type_hints(compact)["return"]

        @functools.wraps(self.function)
        def published(*args: Any, **kwargs: Any) -> Any:
            return self.function(*args, **kwargs).compact()

        return _with_signature(published, signature.replace(return_annotation=view))

    def narrowed(self, keep: tuple[str, ...], types: dict[str, Any] | None = None, **bound: Any) -> "ToolSpec":
        """This tool with only the parameters ``keep`` in its signature: ``bound`` fixes others, the rest take their defaults.

        What a small model sees in a scenario study: no limit it could copy a wrong figure into (the scenario's limits
        are bound), no knob it need not turn.

        Parameters
        ----------
        keep : tuple of str
            Parameters the caller still gives (those the tool has).
        types : dict, optional
            Narrower annotations for kept parameters, each accepting a subset of what the tool accepts.
        **bound
            Values passed on every call (e.g. the scenario's ``vm_min_pu``).
        """
        signature = inspect.signature(self.function, eval_str=True)
        function = self.function

        @functools.wraps(function)
        def narrowed(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs, **bound)

        types = types or {}
        return dataclasses.replace(self, function=_with_signature(narrowed, signature.replace(parameters=[
            p.replace(annotation=types.get(p.name, p.annotation)) for p in signature.parameters.values() if p.name in keep])))


def _with_signature(function: Callable[..., Any], signature: inspect.Signature) -> Callable[..., Any]:
    """``function`` presenting ``signature`` (evaluated annotations) to ``inspect`` and to ``typing.get_type_hints``."""
    function.__signature__ = signature
    function.__annotations__ = {**{p.name: p.annotation for p in signature.parameters.values()},
                                "return": signature.return_annotation}
    return function


class Toolset:
    """An ordered set of :class:`ToolSpec`, by tool name."""

    def __init__(self, specs: list[ToolSpec]):
        self._specs = {spec.name: spec for spec in specs}

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __getitem__(self, name: str) -> ToolSpec:
        return self._specs[name]

    def names(self) -> list[str]:
        """Tool names, in order."""
        return list(self._specs)

    def functions(self) -> list[Callable[..., Any]]:
        """The tool functions, in order."""
        return [spec.function for spec in self]

    def with_tools(self, *specs: ToolSpec) -> "Toolset":
        """This toolset plus ``specs`` (the chat agent adds its ``load_study`` this way)."""
        return Toolset([*self, *specs])

    def profile(self, name: str) -> "Toolset":
        """The tools of profile ``name`` (see :func:`check_profile`)."""
        check_profile(name)
        return self if name == "all" else Toolset([spec for spec in self if name in spec.profiles])


def check_profile(name: str) -> str:
    """``name`` if it is a profile of :data:`PROFILES`.

    Raises
    ------
    InputError
        If ``name`` is not a known profile.
    """
    if name not in PROFILES:
        raise InputError(f"unknown tool profile {name!r}", field="tools", fix=f"use one of: {', '.join(PROFILES)}.")
    return name


@functools.cache
def toolset() -> Toolset:
    """Every tool GridSage publishes (MCP, the chat agent, the command line), in a stable order."""
    return Toolset(_build())


def _build() -> list[ToolSpec]:
    from gridsage.tools import (causal, cascade, cyber, equipment, estimation, evidence_reader, forecast, grid, reliability,
                                standards, telemetry)

    study = frozenset({"study"})  # the tools a scenario study needs, grid or telemetry (with the agent's load_study)
    return [
        ToolSpec(grid.list_grids, "analysis", cost="quick"),
        ToolSpec(grid.load_grid, "what_if", profiles=study, cost="load"),
        ToolSpec(grid.grid_summary, "analysis", cost="quick"),
        ToolSpec(grid.unload_grid, "destructive", cost="quick"),
        ToolSpec(grid.run_power_flow, "analysis", profiles=study),
        ToolSpec(grid.run_contingency_analysis, "analysis", profiles=study),
        ToolSpec(grid.apply_events, "what_if", profiles=study),
        ToolSpec(grid.propose_remedial_actions, "analysis", profiles=study),
        ToolSpec(cascade.simulate_cascade, "analysis"),
        # sends the grid to the dask scheduler named by DASK_SCHEDULER_ADDRESS when the operator configures one
        ToolSpec(cascade.cascade_risk, "analysis", open_world=True),
        ToolSpec(cascade.plan_restoration, "analysis"),
        ToolSpec(grid.apply_actions, "what_if", profiles=study),
        ToolSpec(grid.sync_graph, "writes_graph"),
        ToolSpec(grid.graph_neighbourhood, "analysis"),
        ToolSpec(grid.graph_elements_at_bus, "analysis"),
        ToolSpec(grid.graph_path, "analysis"),
        ToolSpec(grid.graph_outage_impact, "analysis"),
        ToolSpec(grid.graph_downstream, "analysis"),
        ToolSpec(standards.search_standards, "analysis"),
        ToolSpec(standards.read_standard, "analysis", cost="quick"),
        ToolSpec(evidence_reader.read_evidence, "analysis", cost="quick"),
        ToolSpec(forecast.forecast_load, "analysis", open_world=True),
        ToolSpec(forecast.backtest_load_forecast, "analysis"),
        ToolSpec(equipment.transformer_thermal, "analysis"),
        ToolSpec(equipment.dga_assessment, "analysis"),
        ToolSpec(equipment.transformer_health, "analysis"),
        ToolSpec(telemetry.ingest_telemetry, "analysis"),
        ToolSpec(telemetry.monitor_telemetry, "analysis", profiles=study),
        ToolSpec(telemetry.score_telemetry, "analysis", profiles=study),
        ToolSpec(telemetry.simulate_telemetry, "writes_files"),
        ToolSpec(cyber.ingest_logs, "analysis"),
        ToolSpec(cyber.triage_logs, "analysis", cost="solve"),
        ToolSpec(causal.attribute_anomaly, "analysis"),
        ToolSpec(causal.estimate_effect, "analysis"),
        ToolSpec(causal.explain_change, "analysis"),
        # adds the estimated state as a new grid when save_as is given (a copy; the measured grid is never changed)
        ToolSpec(estimation.estimate_state, "what_if"),
        ToolSpec(estimation.simulate_measurements, "writes_files"),
        ToolSpec(reliability.reliability_indices, "analysis", cost="quick"),
        ToolSpec(reliability.energy_losses, "analysis"),
    ]
