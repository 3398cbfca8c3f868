"""Where the standards corpus, its index and the limit overrides live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .corpus import CORPUS_DIR


@dataclass(frozen=True)
class KnowledgeSettings:
    """Locations of the knowledge layer.

    Parameters
    ----------
    corpus_dir : pathlib.Path
        Folder of entry files (``<topic>/<id>.md``); default the corpus shipped
        with GridSage.
    index_dir : pathlib.Path
        Folder of the index: one ChromaDB folder per build under ``builds/``
        and the pointer file ``current.json`` naming the build in use.  The
        index is built there on first use and rebuilt when the corpus changes;
        a rebuild swaps the new build in atomically, so processes reading the
        folder meanwhile are not disturbed (:mod:`gridsage.knowledge.index`).
    limits_file : pathlib.Path or None
        YAML file of limit overrides, ``{entry_id: {figure: value}}``; ``None``
        applies the corpus figures as they are.
    """

    corpus_dir: Path
    index_dir: Path
    limits_file: Path | None

    @classmethod
    def from_env(cls) -> KnowledgeSettings:
        """Read the settings from the environment.

        Returns
        -------
        KnowledgeSettings
            Built from these variables:

            ============================ ===================================================
            ``GRIDSAGE_CORPUS_DIR``      default: the corpus shipped in ``gridsage.knowledge``
            ``GRIDSAGE_KNOWLEDGE_DIR``   default ``platformdirs.user_cache_path("gridsage") / "knowledge"``
            ``GRIDSAGE_LIMITS_FILE``     default none (corpus figures apply)
            ============================ ===================================================
        """
        index_dir = os.environ.get("GRIDSAGE_KNOWLEDGE_DIR")
        if index_dir:
            index_path = Path(index_dir).expanduser()
        else:
            import platformdirs

            index_path = platformdirs.user_cache_path("gridsage") / "knowledge"
        corpus = os.environ.get("GRIDSAGE_CORPUS_DIR")
        limits = os.environ.get("GRIDSAGE_LIMITS_FILE")
        return cls(corpus_dir=Path(corpus).expanduser() if corpus else CORPUS_DIR, index_dir=index_path,
                   limits_file=Path(limits).expanduser() if limits else None)
