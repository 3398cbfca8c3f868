"""The workspace: grids loaded once and held under a ``grid_id``.

Tools take a ``grid_id``, never a whole network.  What-if studies work on a
copy (:meth:`Workspace.copy_net`) and may be stored as a *derived* grid with
its own id, so the loaded grid is never changed.  The workspace also owns the
evidence ledger that every tool writes to.

The current workspace is a context variable: a process-wide default serves
the CLI and a single-user MCP server (stdio), and :func:`use_workspace` gives a
caller (a planner run, a test, an MCP HTTP session) its own.  A
:class:`WorkspacePool` holds one workspace per key (the MCP server keys it by
HTTP session), bounded in number and expired when idle.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

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


class WorkspacePool:
    """One :class:`Workspace` per key (e.g. an MCP HTTP session id), bounded and expired when idle.

    Parameters
    ----------
    max_workspaces : int, default 64
        Workspaces held at once.  A new key beyond it evicts the workspace idle
        longest (no call in progress); if every one is in use, the new key is
        refused.
    idle_timeout_s : float, default 1800
        A workspace unused for this long [s] is dropped (with its grids and its
        evidence ledger) the next time the pool is touched.
    max_grids : int, default 32
        ``max_grids`` of each new :class:`Workspace`.
    clock : callable, optional
        Monotonic time [s]; ``time.monotonic`` unless a test gives another.

    Notes
    -----
    Thread-safe.  Use :meth:`session` around every call made for a key, so
    that a workspace in use is never evicted.
    """

    def __init__(self, max_workspaces: int = 64, idle_timeout_s: float = 1800.0, max_grids: int = 32,
                 clock: Callable[[], float] = time.monotonic):
        if max_workspaces < 1 or not idle_timeout_s > 0:
            raise ValueError("max_workspaces must be >= 1 and idle_timeout_s > 0")
        self.max_workspaces = max_workspaces
        self.idle_timeout_s = idle_timeout_s
        self.max_grids = max_grids
        self._clock = clock
        self._entries: OrderedDict[str, list] = OrderedDict()  # key -> [workspace, last_used, calls in progress]
        self._lock = threading.Lock()
        self.evicted = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def _expire(self, now: float) -> None:
        for key in [k for k, (_, used, busy) in self._entries.items() if not busy and now - used > self.idle_timeout_s]:
            del self._entries[key]
            self.expired += 1

    def acquire(self, key: str) -> Workspace:
        """The workspace of ``key`` (created if new), marked in use until :meth:`release`.

        Raises
        ------
        RequestTooLargeError
            If ``max_workspaces`` workspaces are held and every one has a call in progress.
        """
        with self._lock:
            now = self._clock()
            self._expire(now)
            entry = self._entries.get(key)
            if entry is None:
                if len(self._entries) >= self.max_workspaces:
                    idle = next((k for k, (_, _, busy) in self._entries.items() if not busy), None)
                    if idle is None:
                        raise RequestTooLargeError(
                            f"the server holds {len(self._entries)} session workspaces, all busy "
                            f"(limit {self.max_workspaces})", field="session",
                            fix="retry in a moment, or end sessions you no longer use.")
                    del self._entries[idle]  # least recently used first: the pool is kept in use order
                    self.evicted += 1
                entry = self._entries[key] = [Workspace(self.max_grids), now, 0]
            entry[1] = now
            entry[2] += 1
            self._entries.move_to_end(key)
            return entry[0]

    def release(self, key: str) -> None:
        """End a call begun with :meth:`acquire` (its idle time starts now)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry[1] = self._clock()
                entry[2] = max(0, entry[2] - 1)

    @contextlib.contextmanager
    def session(self, key: str) -> Iterator[Workspace]:
        """The workspace of ``key``, current (:func:`use_workspace`) and in use inside the ``with`` block."""
        workspace = self.acquire(key)
        try:
            with use_workspace(workspace):
                yield workspace
        finally:
            self.release(key)

    def discard(self, key: str) -> None:
        """Drop the workspace of ``key`` (its session ended); no error if absent."""
        with self._lock:
            self._entries.pop(key, None)
