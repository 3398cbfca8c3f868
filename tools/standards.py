"""Standards retrieval: search the cited corpus, and read one entry.

The corpus states the facts, limits and formulas of grid standards in
GridSage's own words, one clause per entry; every hit carries the entry id
(``standards://{entry_id}``) and its citation, so an answer built on it can
name the rule it rests on.  The index (ChromaDB on disk, MiniLM embeddings)
is built on first use and rebuilt when the corpus changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from gridsage.knowledge.citation import Citation
from gridsage.knowledge.index import SearchHit, get_index
from gridsage.knowledge.limits import corpus_entry
from gridsage.tools.base import ToolResult, tool


class StandardsSearchResult(ToolResult):
    """Passages from the standards corpus, best first."""

    query: str
    hits: list[SearchHit] = Field(description="Best first, by the fused rank score (each hit also gives its cosine similarity and BM25 score).")
    index_rebuilt: bool = Field(description="True when this call (re)built the index first.")


class StandardEntryResult(ToolResult):
    """One standards-corpus entry in full."""

    entry_id: str
    title: str
    standard: str
    edition: str
    clause: str
    checked: str | None = Field(default=None, description="Date the entry's facts were last checked against its clause (YYYY-MM-DD).")
    tags: list[str]
    figures: dict[str, Any] = Field(description="Key figures, unit in the name (e.g. vm_pu_min [pu]).")
    text: str = Field(description="The explanation, in GridSage's own words.")
    citation: Citation


@tool
def search_standards(
    query: Annotated[str, Field(min_length=2, max_length=1000, description="A question or keywords, e.g. 'transformer hot-spot limit in an emergency'.")],
    k: Annotated[int, Field(ge=1, le=20, description="Passages to return.")] = 5,
    standard: Annotated[str | None, Field(description="Only this standard, e.g. 'IEEE 1366' (exact name as in hits).")] = None,
    tag: Annotated[str | None, Field(description="Only entries with this tag, e.g. 'dga', 'voltage', 'cyber'.")] = None,
) -> StandardsSearchResult:
    """Search the standards corpus by meaning and return cited passages.

    Parameters
    ----------
    query : str
        Question or keywords [2..1000 characters].
    k : int, default 5
        Passages to return [1..20].
    standard : str, optional
        Only entries of this standard.
    tag : str, optional
        Only entries with this tag.

    Returns
    -------
    StandardsSearchResult
        ``hits`` with entry id, citation, score and key figures.

    Raises
    ------
    InputError
        If ``standard`` or ``tag`` is not in the corpus (the valid values are listed).
    CorpusError
        If a corpus entry is malformed (file and field named).
    KnowledgeIndexError
        If the index folder cannot be opened or written.
    """
    index = get_index()
    report = index.ensure()
    return StandardsSearchResult(status="ok", query=query, hits=index.search(query, k=k, standard=standard, tag=tag),
                                 index_rebuilt=report.rebuilt)


@tool
def read_standard(
    entry_id: Annotated[str, Field(min_length=1, max_length=80, description="Exact corpus entry id, e.g. 'ansi-c84-1-range-a' (from search_standards or a citation); no wildcards.")],
) -> StandardEntryResult:
    """Read one standards-corpus entry: its clause, key figures and explanation.

    Needs no index or embedder: the entry file is read directly.

    Parameters
    ----------
    entry_id : str
        Entry id, as cited in findings (``citation.entry_id``); matched
        exactly, never as a pattern.

    Returns
    -------
    StandardEntryResult

    Raises
    ------
    UnknownEntryError
        If there is no such entry, or ``entry_id`` is not an id (e.g. ``'*'``);
        ``field`` is ``entry_id`` and the fix names the closest ids and
        search_standards.
    """
    entry = corpus_entry(entry_id)
    return StandardEntryResult(status="ok", entry_id=entry.id, title=entry.title, standard=entry.standard,
                               edition=entry.edition, clause=entry.clause,
                               checked=entry.checked.isoformat() if entry.checked else None, tags=entry.tags, figures=entry.figures,
                               text=entry.body, citation=entry.citation())
