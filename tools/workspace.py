"""The workspace: grids loaded once and held under a ``grid_id``.

Tools take a ``grid_id``, never a whole network.  What-if studies work on a
copy (:meth:`Workspace.copy_net`) and may be stored as a *derived* grid with
its own id, so the loaded grid is never changed.  The workspace also owns the
evidence ledger that every tool writes to.

The current workspace is a context variable: a process-wide default serves
the CLI and the MCP server, and :func:`use_workspace` gives a caller (a
planner run, a test) its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterator

from gridsage.errors import RequestTooLargeError, UnknownGridError
from gridsage.tools.evidence import EvidenceLedger


@dataclass
class Grid:
    """A network held in the workspace.

    Attributes
    ----------
    grid_id : str
        Identifier tools take.
    source : str
        What it was loaded from (name or path), or the parent id for a derived grid.
    net : pandapower.pandapowerNet
        The network.  Treat as read-only; use :meth:`Workspace.copy_net`.
    base_dispatch : str
        ``'file'`` (set-points as stored) or ``'opf'`` (derived secure dispatch).
    parent_id : str or None
        For a derived grid, the grid it was copied from.
    changes : list of str
        Human-readable list of what was changed relative to the parent.
    notes : list of str
        Facts a user must know when reading results (e.g. placeholder ratings).
    cache : dict
        Results derived from ``net`` (e.g. its solved base case), computed
        once: a grid never changes after it is added.
    """

    grid_id: str
    source: str
    net: Any
    base_dispatch: str = "file"
    parent_id: str | None = None
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    loaded_utc: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class Workspace:
    """Grids by id, plus the evidence ledger.

    Parameters
    ----------
    max_grids : int, default 32
        Bound on grids held at once; loading more raises
        :class:`RequestTooLargeError` until one is unloaded.
    """

    def __init__(self, max_grids: int = 32):
        self.max_grids = max_grids
        self.ledger = EvidenceLedger()
        self._grids: dict[str, Grid] = {}
        self._lock = threading.Lock()

    def add(self, grid: Grid) -> Grid:
        """Store ``grid``; a taken ``grid_id`` gets a numeric suffix.

        Raises
        ------
        RequestTooLargeError
            If ``max_grids`` grids are already held.
        """
        with self._lock:
            if len(self._grids) >= self.max_grids:
                raise RequestTooLargeError(
                    f"the workspace already holds {len(self._grids)} grids (limit {self.max_grids})",
                    field="grid_id",
                    fix="unload a grid you no longer need (unload_grid) before loading another.",
                )
            base = re.sub(r"[^A-Za-z0-9_.:-]+", "-", grid.grid_id).strip("-") or "grid"
            grid_id, n = base, 2
            while grid_id in self._grids:
                grid_id, n = f"{base}-{n}", n + 1
            grid.grid_id = grid_id
            self._grids[grid_id] = grid
        return grid

    def get(self, grid_id: str) -> Grid:
        """Return the grid held under ``grid_id``.

        Raises
        ------
        UnknownGridError
            If no grid has that id; the message lists the loaded ids.
        """
        try:
            return self._grids[grid_id]
        except KeyError:
            loaded = ", ".join(self._grids) or "none"
            raise UnknownGridError(
                f"no grid loaded under grid_id {grid_id!r} (loaded: {loaded})",
                field="grid_id",
                fix="load it first with load_grid(source=...) and use the grid_id it returns.",
            ) from None

    def copy_net(self, grid_id: str):
        """A deep copy of the grid's network, for what-if studies."""
        return copy.deepcopy(self.get(grid_id).net)

    def remove(self, grid_id: str) -> None:
        """Drop a grid (raises :class:`UnknownGridError` if absent)."""
        self.get(grid_id)
        with self._lock:
            del self._grids[grid_id]

    def grids(self) -> list[Grid]:
        """All held grids, in load order."""
        return list(self._grids.values())


_default = Workspace()
_current: contextvars.ContextVar[Workspace] = contextvars.ContextVar("gridsage_workspace", default=_default)


def current_workspace() -> Workspace:
    """The workspace tools in this context read and write."""
    return _current.get()


@contextlib.contextmanager
def use_workspace(workspace: Workspace) -> Iterator[Workspace]:
    """Run tools against ``workspace`` inside a ``with`` block (this thread or task only), then restore the previous one."""
    token = _current.set(workspace)
    try:
        yield workspace
    finally:
        _current.reset(token)
