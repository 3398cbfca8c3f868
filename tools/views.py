"""Compact views: the bounded form of a result that the adapters send to models and MCP clients.

A result type whose full form grows with the grid overrides :meth:`~gridsage.tools.base.ToolResult.compact`,
returning a :class:`CompactView` subclass: counts over everything, the worst few items of each list, ``omitted``
(how many items of each of the full result's lists the view leaves out, by the list's name), each citation once by
its standards-corpus entry id, and elements by their short label (``'line 7'``).  Python callers (the playbooks)
keep the full result; the evidence ledger stores it, and ``read_evidence`` (or the MCP resource ``evidence://{id}``)
reads it a page at a time.  The adapters publish the view through
:attr:`gridsage.tools.toolset.ToolSpec.published`, one mechanism for both.

Budgets, in Qwen2.5 tokens of the view as an MCP client receives it (``benchmarks/result_size.py`` measures them on
the built-in grids): power flow 400, N-1 900, remedial candidates 650.
"""

from __future__ import annotations

from typing import Any, Callable

from pydantic import BaseModel, Field, model_serializer

from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import Limit
from gridsage.tools.base import ToolResult

#: compact views leave out the rest of a result's notes beyond this many, and shorten each to this many characters
NOTES_LISTED, NOTE_CHARS = 2, 120


def cite_id(citation: Citation) -> str:
    """The key a view cites ``citation`` by: its corpus entry id, else its short reference."""
    return citation.entry_id or citation.short()


def label(element: str, index: int) -> str:
    """An element's short label in a view, its table and index: ``'line 7'`` (the full result has the full label)."""
    return f"{element} {index}"


def limit_text(limit: Limit) -> str:
    """``'0.95-1.05 pu [ansi-c84-1-range-a]'``, ``'max 100 % [nerc-tpl-001-facility-ratings]'``: bounds and entry id."""
    bounds = (f"{limit.lower:g}-{limit.upper:g}" if limit.lower is not None and limit.upper is not None else
              f"max {limit.upper:g}" if limit.upper is not None else f"min {limit.lower:g}")
    return f"{bounds} {limit.unit} [{cite_id(limit.citation)}]"


class Brief(BaseModel):
    """An item of a compact view; its empty fields (None, [], {}) are left out of the JSON."""

    @model_serializer(mode="wrap")
    def _drop_empty(self, handler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items() if v is not None and v != [] and v != {}}


class CompactView(ToolResult):
    """Fields every compact view shares: what it leaves out, the limits applied with their clauses, the first notes.

    Fields that are None, and empty ``omitted``, ``citations``, ``notes`` and ``diagnostics``, are left out of the JSON.
    """

    omitted: dict[str, int] = Field(default_factory=dict, description=(
        "Items the view leaves out, by list of the full result: read them with read_evidence(evidence_id, path='/<list>')."))
    limits: dict[str, str] = Field(default_factory=dict, description=(
        "Limits applied, with the standards-corpus entry id of their clause in brackets (read_standard reads it)."))
    citations: list[str] = Field(default_factory=list, description="Entry ids of further clauses the result rests on.")
    notes: list[str] = Field(default_factory=list, description=f"The first {NOTES_LISTED} notes (caveats), shortened.")

    @model_serializer(mode="wrap")
    def _drop_empty(self, handler) -> dict[str, Any]:
        return {k: v for k, v in handler(self).items()
                if v is not None and (v or k not in ("omitted", "citations", "notes", "diagnostics"))}

    @classmethod
    def of(cls, result: ToolResult, limits: list[Limit] = (), notes: list[str] = (), citations: list[Citation] = (),
           lists: dict[str, tuple[list, int]] | None = None, **fields: Any) -> "CompactView":
        """The view of ``result``: its status and evidence id, ``limits``, ``citations`` once each, ``notes``, ``fields``.

        ``lists`` maps a list of the full result to the items the view lists (in its field of that name, if it has
        one) and how many it leaves out, as :func:`head` gives them; the counts become ``omitted``.
        """
        kept, notes_left = head(list(notes), NOTES_LISTED)
        lists = {"notes": ([n if len(n) <= NOTE_CHARS else n[:NOTE_CHARS - 1] + "…" for n in kept], notes_left),
                 **(lists or {})}
        limit_ids = {cite_id(x.citation) for x in limits}
        return cls(status=result.status, evidence_id=result.evidence_id, limits={x.name: limit_text(x) for x in limits},
                   citations=list(dict.fromkeys(i for i in map(cite_id, citations) if i not in limit_ids)),
                   omitted={name: count for name, (_, count) in lists.items() if count},
                   **{name: items for name, (items, _) in lists.items() if name in cls.model_fields}, **fields)

    def one_line(self) -> str:
        return f"{self.headline()} [{self.evidence_id}]"

    def headline(self) -> str:
        """The result in a few words (:meth:`one_line` adds the evidence id)."""
        return self.status


def head(items: list, n: int, brief: Callable[[Any], Any] | None = None) -> tuple[list, int]:
    """The first ``n`` of ``items`` (each passed through ``brief`` when given) and how many are left out."""
    return [brief(x) for x in items[:n]] if brief else items[:n], max(0, len(items) - n)
