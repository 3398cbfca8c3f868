"""A citation: the standard clause a limit, finding or action rests on."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Citation(BaseModel):
    """Where a limit or rule comes from.

    ``entry_id`` names the standards-corpus entry that states it (resolve it
    with :func:`gridsage.knowledge.corpus.get_entry`, the MCP resource
    ``standards://{entry_id}`` or ``gridsage knowledge show``).
    """

    entry_id: str | None = Field(default=None, description="Standards-corpus entry id, e.g. 'ansi-c84-1-range-a'.")
    standard: str = Field(description="Standard or source, e.g. 'ANSI C84.1'.")
    edition: str = Field(description="Edition or year, e.g. '2020'.")
    clause: str = Field(description="Clause, table or section, e.g. 'Table 1, Range A'.")
    note: str | None = Field(default=None, description="How GridSage applies it, in one sentence.")

    def brief(self) -> str:
        """``'ANSI C84.1, Table 1, Range A'``: standard and clause, for inline use."""
        return f"{self.standard}, {self.clause}"

    def short(self) -> str:
        """``'ANSI C84.1-2020 Table 1, Range A'`` style reference."""
        return f"{self.standard}-{self.edition} {self.clause}"
