"""Standards knowledge: the limits GridSage applies, each with its citation.

Issue 4 adds the cited corpus and its ChromaDB index; until then this package
holds the one source of truth for the limits the tools apply.
"""
