"""Reading the evidence ledger: the full result behind an evidence id, a page at a time.

Models and MCP clients receive compact views (:mod:`gridsage.tools.views`); what a view leaves out stays in the
ledger.  :func:`read_evidence` (and the MCP resource ``evidence://{id}``) reads it by a JSON-pointer ``path`` into
the result, e.g. ``/violations`` or ``/top/0/violations``: a list comes back ``limit`` items from ``offset``; an object
comes back whole when it is short, else with each long member replaced by a note of its size and path; every page
stays under :data:`PAGE_CHARS` characters.

References
----------
.. [1] RFC 6901, "JavaScript Object Notation (JSON) Pointer", 2013.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field

from gridsage.errors import InputError
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.evidence import EvidenceRecord
from gridsage.tools.workspace import current_workspace

#: bound on one page [characters of JSON] (about 6,000 Qwen2.5 tokens); a single longer item is outlined
PAGE_CHARS = 20_000
#: in an outlined object, members longer than this [characters of JSON] are replaced by a note of their size and path
MEMBER_CHARS = 600


class EvidencePage(ToolResult):
    """Part of a recorded result: the value at ``path``, a page of it when it is a list."""

    status: Literal["ok"] = "ok"
    tool: str = Field(description="Tool that produced the result.")
    path: str = Field(description="JSON pointer into the result ('' = the whole result).")
    value: Any = Field(description="The value at path: a page of items for a list; an object with its long members "
                                   "outlined ('<list of N items: path /x>') when it is long.")
    total: int | None = Field(default=None, description="Items in the list at path (None for an object or a value).")
    offset: int = Field(default=0, description="Index of the first item given.")
    next_offset: int | None = Field(default=None, description="Offset of the next page; None when this is the last.")

    def one_line(self) -> str:
        items = "" if self.total is None else (f" items {self.offset}-{self.offset + len(self.value) - 1} of {self.total}"
                                                if self.value else f" no items from {self.offset} (of {self.total})")
        more = "" if self.next_offset is None else f"; next page: offset={self.next_offset}"
        return f"{self.evidence_id} ({self.tool}) at '{self.path or '/'}'{items}{more}"


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def _outline(value: Any, path: str) -> Any:
    """``value`` as it is when short; else an object with its long members replaced by a note, a list by a note."""
    if _size(value) <= PAGE_CHARS:
        return value
    if isinstance(value, dict):
        return {key: member if _size(member) <= MEMBER_CHARS else _note(member, f"{path}/{key}")
                for key, member in value.items()}
    return _note(value, path)


def _note(value: Any, path: str) -> str:
    if isinstance(value, list):
        return f"<list of {len(value)} items: path {path}>"
    if isinstance(value, dict):
        return f"<object of {len(value)} fields: path {path}>"
    text = str(value)
    return text[:MEMBER_CHARS] + f"… <{len(text)} characters>"


def resolve(result: Any, path: str) -> Any:
    """The value at JSON pointer ``path`` in ``result`` (``''`` or ``'/'``: all of it; a leading '/' is optional).

    Raises
    ------
    InputError
        If a step of the path names no member or item; the message lists what there is.
    """
    value, walked = result, ""
    for step in [s.replace("~1", "/").replace("~0", "~") for s in path.strip("/").split("/")] if path.strip("/") else []:
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            there = (f"members: {', '.join(list(value)[:40])}" if isinstance(value, dict) else
                     f"items 0-{len(value) - 1}" if isinstance(value, list) and value else "nothing below it")
            raise InputError(f"{walked or '/'} has no {step!r} ({there})", field="path",
                             fix="give a JSON pointer into the result, e.g. '/violations' or '/top/0'; '' reads the top level.")
        walked += f"/{step}"
    return value


def page(record: EvidenceRecord, path: str = "", offset: int = 0, limit: int = 20) -> EvidencePage:
    """A page of ``record``'s result at ``path`` (see :func:`read_evidence`)."""
    value = resolve(record.result, path)
    common = {"evidence_id": record.evidence_id, "tool": record.tool, "path": path}
    if not isinstance(value, list):
        return EvidencePage(value=_outline(value, path.rstrip("/")), **common)
    items, used = [], 0
    for k in range(offset, min(len(value), offset + limit)):
        item = _outline(value[k], f"{path.rstrip('/')}/{k}")
        used += _size(item)
        if items and used > PAGE_CHARS:
            break
        items.append(item)
    end = offset + len(items)
    return EvidencePage(value=items, total=len(value), offset=offset, next_offset=end if end < len(value) else None, **common)


@tool(record=False)
def read_evidence(
    evidence_id: Annotated[str, Field(pattern=r"^ev-\d+$", description="Evidence id a tool returned, e.g. 'ev-0007'.")],
    path: Annotated[str, Field(max_length=500, description="JSON pointer into the full result, e.g. '/violations' or "
                                                            "'/top/0'; '' reads the top level.")] = "",
    offset: Annotated[int, Field(ge=0, description="First list item to return.")] = 0,
    limit: Annotated[int, Field(ge=1, le=200, description="Most list items to return.")] = 20,
) -> EvidencePage:
    """Read the full result behind an evidence id, a page at a time: what a compact tool result left out.

    Parameters
    ----------
    evidence_id : str
        Id from a tool result in this session.
    path : str, default ''
        JSON pointer (RFC 6901) into the recorded result, e.g. ``'/violations'``, ``'/top/0/violations'``.
    offset : int, default 0
        For a list at ``path``: index of the first item returned.
    limit : int, default 20
        For a list: most items returned (fewer when they pass :data:`PAGE_CHARS` characters).

    Returns
    -------
    EvidencePage
        The value at ``path``: for a list, ``value`` holds items ``offset`` onwards, ``total`` counts them all and
        ``next_offset`` says where the next page starts; an object longer than :data:`PAGE_CHARS` characters has each
        member longer than :data:`MEMBER_CHARS` replaced by a note of its size and path.  ``evidence_id`` is the
        id read (reading records no new evidence).

    Raises
    ------
    InputError
        If the id is unknown, or ``path`` names nothing in the result.
    """
    return page(current_workspace().ledger.get(evidence_id), path, offset, limit)
